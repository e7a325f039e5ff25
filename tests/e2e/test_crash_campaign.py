"""A run cut short loses nothing (docs/explanation/design.md): a run that loses its k-th write, or
dies there, for every k; the rerun must leave exactly what a run without faults leaves: no lost
approval, no duplicate comment, no duplicate or missing register entry, no reminder issue left
unassigned. Every write the adapter sends counts: the actions on requests, the register watch's and
the weekly report's."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest

from exception_bot.gitlab import writes
from exception_bot.gitlab.client import Client
from exception_bot.sandbox import Sandbox
from tests.e2e.world import LOW_ROUTE as ROUTE
from tests.e2e.world import World, final_state, new_world
from tests.requests import body, set_field
from tests.support.merge_route import merged
from tests.support.stories import activate, rejected

LOW = body("low_staging")


class Crash(BaseException):
    """The process dying mid-run: not an Exception, so no per-issue handler catches it."""


def approvals(world: World) -> None:
    """Two requests handled once, then people act, and an exception that expires in 6 days is
    merged into the register; the next run is the one that fails. It moves one request to its
    next stage (new assignees), approves the other (register entry), reverts tampering,
    indexes the merged exception and opens its reminder issue, assigned to its requester."""
    first, second = world.open("bob", LOW), world.open("bob", LOW)
    world.run()
    world.later(hours=1)
    for user, item in ROUTE:  # every box of the second request, each by its holder
        world.tick(user, second, item)
    world.tick("carol", first, ROUTE[0][1])
    world.label("bob", first, add=["exception::approved"])  # and some tampering
    merged(world.sandbox, expires_at=date(2026, 11, 29))
    world.later(minutes=10)


def lifecycle(world: World) -> None:
    """Requests further on: the next run revokes an active exception (its register entry moves
    to the archive, the issue closes), accepts an appeal (the Appeal checklist is added to the
    description) and unticks a box the requester ticked himself, with its explanation."""
    revoked = world.open("bob", LOW)
    activate(world, revoked)
    appealing = rejected(world)
    self_approved = world.open("bob", LOW)
    world.run()
    world.later(hours=1)
    world.label("sue", revoked, add=["exception-action::revoke"])
    world.label("bob", appealing, add=["exception-action::appeal"])
    world.tick("bob", self_approved, ROUTE[0][1])
    world.later(minutes=10)


def endings(world: World) -> None:
    """Two active exceptions, one of them renewed by an active renewal; the next run, after
    their expiry date, expires the one (register entry, expiry note) and ends the other as
    renewed (its issue closed, its entry archived)."""
    expiring, renewed = world.open("bob", LOW), world.open("bob", LOW)
    activate(world, expiring)
    activate(world, renewed)
    renewal = world.open("bob", set_field(body("renewal"), "Renews", f"#{renewed}"))
    activate(world, renewal)
    world.at(datetime(2027, 1, 16, 0, 30, tzinfo=UTC))


def failing_writes(
    monkeypatch: pytest.MonkeyPatch, k: int, error: type[BaseException]
) -> list[int]:
    """Make the k-th write the adapter sends in the next run raise ``error`` (k = 0: none);
    returns a counter of writes."""
    calls = [0]
    write = Client.before_write

    def write_or_fail(self: Client, note: bool = False) -> None:
        calls[0] += 1
        if calls[0] == k:
            raise error(f"write {k} lost")
        write(self, note)

    monkeypatch.setattr(Client, "before_write", write_or_fail)
    return calls


@pytest.fixture
def fresh_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], World]]:
    """A new sandbox and world for each attempt; with a state file (the parameter), each its
    own."""
    running: list[Sandbox] = []

    def make() -> World:
        world = new_world(tmp_path_factory.mktemp("world"), state_file=request.param)
        running.append(world.sandbox)
        return world

    yield make
    for sandbox in running:
        sandbox.stop()


@pytest.mark.parametrize(
    ("fresh_world", "story"),
    [
        (False, approvals),
        (True, approvals),
        (False, lifecycle),
        (True, lifecycle),
        (True, endings),  # long to set up: with a state file only
    ],
    ids=[
        "approvals-no-state-file",
        "approvals-state-file",
        "lifecycle-no-state-file",
        "lifecycle-state-file",
        "endings-state-file",
    ],
    indirect=["fresh_world"],
)
@pytest.mark.parametrize("error", [RuntimeError, Crash], ids=["write-fails", "process-dies"])
def test_every_lost_write_is_made_good_by_the_rerun(
    fresh_world: Callable[[], World],
    monkeypatch: pytest.MonkeyPatch,
    error: type[BaseException],
    story: Callable[[World], None],
) -> None:
    baseline = fresh_world()
    story(baseline)
    with monkeypatch.context() as patch:
        counted = failing_writes(patch, 0, error)  # count only
        baseline.run()
    writes = counted[0]
    baseline.run()
    baseline.run()
    # A weekly report is what the run that posted it saw: it names a request that run failed
    # on as not counted (`report --post` refreshes it), so reports are compared by title.
    expected = final_state(baseline, reports=False)
    assert writes >= 8  # notes, labels, assignees, register commits, descriptions...
    for k in range(1, writes + 1):
        world = fresh_world()
        story(world)
        with monkeypatch.context() as patch:
            failing_writes(patch, k, error)
            with contextlib.suppress(Crash):  # the process died; the scheduler runs it again
                world.run()
        world.run()  # the rerun, at the same moment
        world.run()  # and the next: with a state file, what the rerun kept must hold
        assert final_state(world, reports=False) == expected, f"after losing write {k}"
        world.sandbox.stop()


@pytest.mark.parametrize(
    ("fresh_world", "story"),
    [(False, approvals), (False, lifecycle), (True, endings)],
    ids=["approvals-no-state-file", "lifecycle-no-state-file", "endings-state-file"],
    indirect=["fresh_world"],
)
def test_every_lost_answer_is_looked_for_not_sent_again(
    fresh_world: Callable[[], World],
    monkeypatch: pytest.MonkeyPatch,
    story: Callable[[World], None],
) -> None:
    """Item 7 of the forged-decision issue: GitLab carries out the run's k-th POST (a note, an
    issue, a commit) and its answer is lost, dropped or as a proxy's 502, for every k. The bot
    looks for what it wrote before sending it again, so that very run leaves what a run
    without faults leaves."""
    monkeypatch.setattr(writes, "LOST_ANSWER_PAUSE", 0.001)
    baseline = fresh_world()
    story(baseline)
    baseline.sandbox.clear_log()
    assert baseline.run().exit_code == 0
    posts = len(baseline.sandbox.matching("POST", "."))
    expected = final_state(baseline, reports=False)
    assert posts >= 3
    for k in range(1, posts + 1):
        world = fresh_world()
        story(world)
        status = "drop" if k % 2 else 502
        world.sandbox.fault("POST", ".", nth=k, status=status, applied=True)
        result = world.run()
        assert result.exit_code == 0, f"losing the answer to POST {k}: {result.output}"
        assert final_state(world, reports=False) == expected, f"after losing POST {k}'s answer"
        world.sandbox.stop()
