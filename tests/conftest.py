"""Fixtures shared by every test directory: the sandbox GitLab and python-gitlab clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import gitlab
import pytest

from exception_bot.sandbox import DEMO, Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox GitLab with the demo organisation, on a free loopback port."""
    with Sandbox(DEMO) as running:
        yield running


@pytest.fixture
def gl(sandbox: Sandbox) -> Callable[[str], gitlab.Gitlab]:
    """``gl("bob")``: a python-gitlab client acting as that sandbox user."""
    clients: dict[str, gitlab.Gitlab] = {}

    def client(username: str) -> gitlab.Gitlab:
        if username not in clients:
            clients[username] = gitlab.Gitlab(
                sandbox.url, private_token=sandbox.token(username), per_page=100
            )
        return clients[username]

    return client
