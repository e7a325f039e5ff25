"""Issue 20, point 2 end to end: every file of the register's exceptions folder is accounted
for, by the bot's commits or by a merged merge request whose approvals satisfy mr-check; and
mr-check refuses the approval of the file's requester."""

from __future__ import annotations

import json
from datetime import date

from exception_bot.sandbox import Sandbox
from tests.e2e.test_register_and_lifecycle import ROUTE
from tests.e2e.world import REGISTER, World
from tests.requests import body
from tests.support.merge_route import HIGH_APPROVERS, exception_file, merge_request, push


def index_row(world: World, ident: str) -> dict[str, object]:
    rows = json.loads(world.register_file("register.json") or "[]")
    (row,) = [r for r in rows if r["id"] == ident]
    assert isinstance(row, dict)
    return row


def alerts(sandbox: Sandbox) -> list[str]:
    project = sandbox.store.project(REGISTER)
    assert project is not None
    return [i.title for i in project.issues.values() if "unverified" in i.title.lower()]


def test_a_direct_push_is_unverified_with_one_alert(world: World, sandbox: Sandbox) -> None:
    hostile = exception_file(risk_level="critical", environment="production", requester="mallory")
    push(world, "bob", "main", hostile)
    world.run()
    row = index_row(world, "EXC-0042")
    assert row["status"] == "unverified"
    assert "| `unverified` |" in (world.register_file("REGISTER.md") or "")
    chart = (world.register_file("REGISTER.md") or "").partition("```mermaid")[2]
    assert "EXC-0042" not in chart  # the Gantt chart of exceptions in force
    assert alerts(sandbox) == ["Unverified register file: EXC-0042"]
    text = world.cli("report", "--now", world.clock.isoformat()).output
    in_force = text.split("## Exceptions in force", 1)[1].split("##", 1)[0]
    assert "EXC-0042" not in in_force
    assert "EXC-0042" in text.split("## Unverified register files", 1)[1]
    world.later(hours=1).run()
    world.later(days=1).run()
    assert alerts(sandbox) == ["Unverified register file: EXC-0042"]  # one per file


def test_a_merge_request_without_the_approvals_is_unverified(world: World) -> None:
    merge_request(world, exception_file(), approvers=["carol", "frank"])
    world.run()
    assert index_row(world, "EXC-0042")["status"] == "unverified"


def test_a_merge_request_approved_by_the_requester_is_unverified(world: World) -> None:
    merge_request(world, exception_file(requester="frank"), approvers=HIGH_APPROVERS)
    world.run()
    assert index_row(world, "EXC-0042")["status"] == "unverified"


def test_a_merge_request_with_the_approvals_is_verified(world: World, sandbox: Sandbox) -> None:
    merge_request(world, exception_file(), approvers=HIGH_APPROVERS)
    world.run()
    assert index_row(world, "EXC-0042")["status"] == "approved"
    assert alerts(sandbox) == []
    # A later direct push over the merged file is the pusher's text, not the approved one.
    push(world, "bob", "main", exception_file(expires_at=date(2027, 12, 31)))
    world.later(hours=1).run()
    assert index_row(world, "EXC-0042")["status"] == "unverified"


def test_a_human_edit_of_a_bot_entry_is_unverified(world: World, sandbox: Sandbox) -> None:
    iid = world.open("alice", body("low_staging"))
    world.approve(iid, ROUTE)
    path = world.register_entry(iid)["path"]
    assert isinstance(path, str)
    ident = f"EXC-{iid:04d}"
    world.later(hours=1).run()
    assert alerts(sandbox) == []  # the bot's own entry
    text = world.register_file(path) or ""
    push(world, "alice", "main", text.replace("2027-01-15", "2029-01-15"), path=path)
    world.later(hours=1).run()
    assert index_row(world, ident)["status"] == "unverified"
    assert alerts(sandbox) == [f"Unverified register file: {ident}"]
