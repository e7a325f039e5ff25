"""GitLab throttles the touch of a comment, a label or an assignee change
(app/models/concerns/throttled_touch.rb): within a minute of the issue's last update it leaves
``updated_at`` as it was. The state file must not skip an issue for a change it hid."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import gitlab

from exception_bot.sandbox import Sandbox
from tests.e2e.world import World
from tests.requests import body
from tests.support.stories import stateful

LOW = body("low_staging")
REJECTED = "exception::rejected"


def commented(sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path) -> World:
    """A request the bot has read and recorded, then a department head's question: it moves
    ``updated_at`` (the issue was quiet for an hour)."""
    world = stateful(sandbox, gl, tmp_path)
    iid = world.open("bob", LOW)
    world.run()
    world.later(minutes=10).run()  # read once more after its own writes
    assert world.later(minutes=10).run().summary["skipped"] == 1
    world.later(hours=1).comment("carol", iid, "Payroll data in staging?")
    return world


def test_a_decision_within_a_minute_of_a_comment_read_by_a_run_is_acted_on(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """The hard case: the label is added and removed again, so the list page shows the labels
    the run read. The rejection is the department head's label event, and the requester's
    removal of it is tampering (review/tampering.py): both are seen only by reading the issue."""
    world = commented(sandbox, gl, tmp_path)
    commented_at = world.issue(1).updated_at
    read = world.later(seconds=30).run()  # reads the comment: nothing to do
    assert (read.summary["skipped"], read.summary["changed"]) == (0, 0)
    world.later(seconds=20).label("carol", 1, add=["exception-action::reject"])
    world.later(seconds=5).label("bob", 1, remove=["exception-action::reject"])
    assert world.issue(1).updated_at == commented_at  # both touches were throttled
    world.later(minutes=10).run()
    assert world.state(1) == REJECTED
    # The window costs a read, not the state file: once quiet, the issue is skipped again.
    world.later(minutes=10).run()
    assert world.later(minutes=10).run().summary["skipped"] == 1


def test_the_window_is_measured_by_gitlabs_clock_not_the_bots(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """Its clock five minutes ahead of GitLab's, the bot reads 30 s after the comment by
    GitLab's clock: the hidden decision is read next run all the same."""
    world = commented(sandbox, gl, tmp_path)

    def run_at(moment: datetime) -> None:
        assert world.cli("run", "--now", moment.isoformat()).exit_code == 0

    run_at(world.later(seconds=30).clock + timedelta(minutes=5))
    world.later(seconds=20).label("carol", 1, add=["exception-action::reject"])
    world.later(seconds=5).label("bob", 1, remove=["exception-action::reject"])
    run_at(world.later(minutes=10).clock + timedelta(minutes=5))
    assert world.state(1) == REJECTED
