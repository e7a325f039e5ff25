"""Delegation and away approvers (docs/explanation/approvals.md, "Delegation").

carol, head of finance, hands her role to tom while she is away: the stage is assigned to
him, his tick counts for her in the period only, and the register says "tom for carol".
A holder whose GitLab status says busy is not assigned when another holder can be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.world import START, World, edit_config
from tests.support.stories import LOW, ROUTE

DEPARTMENT_HEAD = "Department head approval"
UNTIL = "2026-11-25"  # START is Monday 2026-11-23


def delegating(world: World, tmp_path: Path) -> World:
    def change(data: dict[str, Any]) -> None:
        data["delegations"] = [
            {"from": "carol", "to": "tom", "roles": ["department_head"], "until": UNTIL}
        ]

    world.config = edit_config(tmp_path / "config.yml", change)
    return world


def test_a_deputy_approves_for_the_department_head_while_she_is_away(
    world: World, tmp_path: Path
) -> None:
    world = delegating(world, tmp_path)
    iid = world.open("bob", LOW)
    world.run()
    assert world.assignees(iid) == ["tom"]
    (turn,) = world.bot_comments(iid, "turn")
    assert f"carol is away until {UNTIL}: @tom approves for carol" in turn

    world.later(hours=2).tick("tom", iid, DEPARTMENT_HEAD)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team", world.status(iid)
    assert "tom for carol" in world.status(iid)
    assert world.assignees(iid) != ["tom"]  # his stage is over

    for stage in (
        "exception-stage::security-team",
        "exception-stage::policy-owner",
        "exception-stage::security-compliance",
    ):
        user, item = ROUTE[stage]
        world.later(hours=1).tick(user, iid, item).later(minutes=10).run()
    assert world.state(iid) == "exception::approved", world.status(iid)
    approvals = world.register_entry(iid)["approvals"]
    assert {"role": "Department Head", "user": "tom for carol"} in [
        {"role": a["role"], "user": a["user"]} for a in approvals
    ]
    verified = world.cli("register verify")
    assert verified.exit_code == 0, verified.output


def test_a_deputys_tick_after_the_period_does_not_count(world: World, tmp_path: Path) -> None:
    world = delegating(world, tmp_path)
    iid = world.open("bob", LOW)
    world.run()
    # Thursday: the delegation ended on Wednesday (inclusive, in the calendar's UTC)
    world.at(START.replace(day=26)).tick("tom", iid, DEPARTMENT_HEAD)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::department-head"
    assert not world.box(iid, DEPARTMENT_HEAD)
    assert any(
        "@tom, I unticked **Department head approval**" in c for c in world.bot_comments(iid)
    )


def test_a_busy_holder_is_not_assigned_when_another_can_be(world: World) -> None:
    sid = world.gl("sid")  # sid says so in GitLab himself, with his own token
    sid.auth()
    assert sid.user is not None
    status = sid.user.status.get()
    status.availability = "busy"
    status.message = "On leave"
    status.save()
    iid = world.open("bob", LOW)
    world.run()
    world.sandbox.clear_log()
    while (stage := world.stage(iid)) != "exception-stage::security-compliance":
        assert stage is not None, world.status(iid)
        user, item = ROUTE[stage]
        world.later(hours=1).tick(user, iid, item).later(minutes=10).run()
    assert world.assignees(iid) == ["sue"]  # not sid, the first of the two otherwise
    (turn,) = [t for t in world.bot_comments(iid, "turn") if "Security Compliance" in t]
    assert "sid is away (busy in their GitLab status)" in turn
    # Statuses are read for the holders of each stage being assigned, once each.
    read = sorted(r.path.split("/")[-2] for r in world.sandbox.matching("GET", r"/status$"))
    assert read == ["erin", "sam", "sid", "sue", "victor"], read
