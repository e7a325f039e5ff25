"""Fixtures shared by every test directory: the sandbox GitLab and python-gitlab clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

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


# Folders whose every test drives the sandbox (or a real GitLab) over HTTP.
E2E_FOLDERS = frozenset({"e2e", "functional", "sandbox"})
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ``e2e`` marker on every test that talks to the sandbox over HTTP: those of the
    folders above, and any other that asks for the ``sandbox`` fixture. The rest is the fast
    tier, ``pytest -m "not e2e"`` (docs/how-to/develop.md); CI runs both."""
    for item in items:
        folder = item.path.resolve().relative_to(TESTS).parts[0]
        if folder in E2E_FOLDERS or "sandbox" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
