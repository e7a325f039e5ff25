from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest

from exception_bot.sandbox import Sandbox
from exception_bot.sandbox.store import EDITIONS
from tests.e2e.world import World


@pytest.fixture
def world(sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab]) -> World:
    return World(sandbox, gl)


@pytest.fixture(params=EDITIONS)
def edition_world(request: pytest.FixtureRequest, world: World) -> World:
    """The world on GitLab Free, then on Premium (one label per scope: adding ``a::y`` removes
    ``a::x``): for the core scenarios, which must go the same on both."""
    world.sandbox.edition(request.param)
    return world
