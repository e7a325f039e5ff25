"""Stories several end-to-end tests share: a low-risk request through its route to active, a
rejected request, and a world whose bot keeps a state file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gitlab

from exception_bot.sandbox import Sandbox
from tests.e2e.world import World, edit_config
from tests.requests import body

LOW = body("low_staging")
# The low route of config/exception-bot.yml: who ticks which item at each stage.
ROUTE = {
    "exception-stage::department-head": ("carol", "Department head approval"),
    "exception-stage::security-team": ("victor", "Security team approval"),
    "exception-stage::policy-owner": ("erin", "Policy owner approval"),
    "exception-stage::security-compliance": ("sue", "Security Compliance review"),
}
ACTIVATION = "Compensating controls implemented"


def activate(world: World, iid: int) -> None:
    world.approve(iid, ROUTE)
    world.later(hours=1).tick("bob", iid, ACTIVATION)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"


def rejected(world: World) -> int:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).comment("carol", iid, "Payroll data: no.")
    world.label("carol", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    return iid


def stateful(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path, **gitlab_settings: object
) -> World:
    state_file = str(tmp_path / "state" / "exception-bot.json")

    def change(data: dict[str, Any]) -> None:
        data["state_file"] = state_file
        data["gitlab"].update(gitlab_settings)

    return World(sandbox, gl, edit_config(tmp_path / "config.yml", change))
