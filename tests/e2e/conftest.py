from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest

from exception_bot.sandbox import Sandbox
from tests.e2e.world import World


@pytest.fixture
def world(sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab]) -> World:
    return World(sandbox, gl)
