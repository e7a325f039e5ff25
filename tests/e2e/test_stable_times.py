"""Decide from scratch (docs/explanation/design.md): the times the bot records come from GitLab's
events, never from the moment it read them, so runs over unchanged issues write nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from exception_bot.domain import record
from tests.e2e.world import RunResult, World, writes_besides_the_lock
from tests.requests import set_field
from tests.support.stories import LOW, ROUTE

# GitLab stamps what a run writes a moment after the run read its clock.
WRITES_LAG = timedelta(milliseconds=250)


def run_as_on_gitlab(world: World) -> RunResult:
    """A run that reads the clock when it starts, against a GitLab whose clock has moved on
    by the time the run's writes reach it (the world's clock stamps both alike)."""
    started = world.clock
    world.sandbox.set_now(started + WRITES_LAG)
    result = world.cli("run", "--now", started.isoformat())
    world.sandbox.set_now(started)
    return result


def route_to(world: World, iid: int, last_stage: str) -> None:
    """Each stage's approver ticks, the bot runs, until the request waits for ``last_stage``."""
    world.run()
    while (stage := world.stage(iid)) != last_stage:
        assert stage is not None, world.status(iid)
        user, item = ROUTE[stage]
        world.later(hours=1).tick(user, iid, item).later(minutes=10).run()


def tick(world: World, iid: int) -> datetime:
    """The approver of the request's stage ticks; when."""
    stage = world.stage(iid)
    assert stage is not None, world.status(iid)
    user, item = ROUTE[stage]
    world.later(minutes=2).tick(user, iid, item)
    return world.clock


def test_runs_over_unchanged_issues_write_nothing(world: World) -> None:
    approved = world.open("bob", LOW, title="Approved by this run")
    moved = world.open("bob", LOW, title="Moved on by this run")
    route_to(world, approved, "exception-stage::security-compliance")
    approved_at = tick(world, approved)
    moved_at = tick(world, moved)
    opened = world.open("bob", LOW, title="Routed by this run")
    opened_at = world.clock
    invalid = world.open("bob", set_field(LOW, "Expiration date", "soon"), title="Invalid")
    world.later(minutes=10)
    first = run_as_on_gitlab(world)
    assert (first.exit_code, first.summary["changed"]) == (0, 4), first.output
    assert world.state(approved) == "exception::approved"
    assert world.stage(moved) == "exception-stage::security-team"
    assert world.stage(opened) == "exception-stage::department-head"
    assert world.state(invalid) == "exception::needs-info"
    for _ in range(2):
        world.later(seconds=3)
        world.sandbox.clear_log()
        again = run_as_on_gitlab(world)
        assert (again.exit_code, again.summary["changed"]) == (0, 0), again.output
        assert writes_besides_the_lock(world.sandbox) == []
    # Dated by what began them, not by the run that saw it: the tick, the opening.
    assert world.register_entry(approved)["approved_at"] == approved_at.isoformat()
    assert started(world, moved) == moved_at
    assert started(world, opened) == opened_at


def started(world: World, iid: int) -> datetime | None:
    """When the bot's record says the request's stage began."""
    kept = record.decode(world.status(iid))
    assert kept is not None
    return kept.stage_started_at
