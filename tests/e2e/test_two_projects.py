"""Several requests projects (`gitlab.requests_project` as a list, each with its id prefix): one
register, ids that do not collide although the issues share their numbers, and a renewal in
one project of an exception from the other, watched with a state file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gitlab
import yaml

from exception_bot.domain.register import read_front_matter
from exception_bot.sandbox import DEMO, Sandbox
from tests.e2e.world import REGISTER, REQUESTS, World, edit_config
from tests.requests import body, set_field
from tests.support.stories import ACTIVATION, ROUTE

PAYMENTS = "security/payment-exceptions"
LOW = body("low_staging")


def two_projects(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> tuple[World, World]:
    """People opening requests in each project; the same bot, with a state file, for both."""
    seed = yaml.safe_load(DEMO.read_text())
    (first,) = [p for p in seed["projects"] if p["path"] == REQUESTS]
    sandbox.load({"projects": [{**first, "path": PAYMENTS}]})
    state_file = str(tmp_path / "exception-bot.json")

    def change(data: dict[str, Any]) -> None:
        data["gitlab"]["requests_project"] = [
            {"path": REQUESTS, "id_prefix": "EXC-"},
            {"path": PAYMENTS, "id_prefix": "EXC-PAY-"},
        ]
        data["state_file"] = state_file

    config = edit_config(tmp_path / "config.yml", change)
    return World(sandbox, gl, config), World(sandbox, gl, config, requests=PAYMENTS)


def test_two_projects_share_one_register_and_renew_across(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    security, payments = two_projects(sandbox, gl, tmp_path)
    ours, theirs = security.open("bob", LOW), payments.open("bob", LOW)
    assert ours == theirs == 1
    security.approve(ours, ROUTE)
    payments.approve(theirs, ROUTE)
    index = json.loads(security.register_file("register.json") or "[]")
    assert sorted(row["id"] for row in index) == ["EXC-0001", "EXC-PAY-0001"]
    files = sorted(security.sandbox.files(REGISTER))
    assert "exceptions/EXC-0001-confidential.md" in files
    assert "exceptions/EXC-PAY-0001-confidential.md" in files
    renewal = security.open("bob", set_field(body("renewal"), "Renews", "EXC-PAY-0001"))
    security.approve(renewal, ROUTE)
    security.later(hours=1).tick("bob", renewal, ACTIVATION)
    security.later(minutes=10).run()
    assert security.state(renewal) == "exception::active"
    security.later(minutes=10).run()
    assert payments.state(theirs) == "exception::renewed"
    assert payments.issue(theirs).state == "closed"
    entry = security.register_entry(renewal)
    assert (entry["renewal_of"], entry["renewal_number"]) == ("EXC-PAY-0001", 1)
    archived = read_front_matter(
        security.register_file("archive/EXC-PAY-0001-confidential.md") or ""
    )
    assert archived is not None
    assert archived["status"] == "renewed"
