"""The GitLab the functional stories run on: the sandbox, or the GitLab at
``GITLAB_FUNCTIONAL_URL`` with an administrator's token in ``GITLAB_FUNCTIONAL_TOKEN``."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from exception_bot.sandbox import Sandbox
from tests.functional.instance import (
    BOT,
    People,
    Target,
    demote_bot,
    make_people,
    make_projects,
    write_config,
)
from tests.functional.story import Story

URL, TOKEN = "GITLAB_FUNCTIONAL_URL", "GITLAB_FUNCTIONAL_TOKEN"


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    """The GitLab under test. Without GITLAB_FUNCTIONAL_URL: a sandbox that starts as a new
    GitLab does, with its administrator alone, and runs on the real clock (the stories never
    touch its control plane)."""
    url = os.environ.get(URL)
    if url:
        token = os.environ.get(TOKEN)
        if not token:
            pytest.fail(f"{URL} is set, {TOKEN} is not: give an administrator's token (api scope)")
        yield Target(url.rstrip("/"), token)
        return
    root = f"glpat-{secrets.token_urlsafe(15)}"
    seed = {"users": [{"username": "root", "name": "Administrator", "admin": True, "token": root}]}
    with Sandbox(seed) as sandbox:
        yield Target(sandbox.url, root)


@pytest.fixture(scope="session")
def people(target: Target) -> People:
    return make_people(target)


@pytest.fixture
def story(request: pytest.FixtureRequest, tmp_path: Path, target: Target, people: People) -> Story:
    """The test's own requests and register projects, set up by ``exception-bot setup --apply`` as
    docs/tutorial/your-gitlab.md says, then the bot brought down to Reporter of the requests."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower())[:40]
    projects = make_projects(target, people, name.strip("-"))
    config = write_config(tmp_path / "exception-bot.yml", people, projects)
    world = Story(target, people, projects, config)
    setup = world.cli("setup", "--apply", name=BOT)
    assert setup.exit_code == 0, setup.output
    demote_bot(target, people, projects)
    return world
