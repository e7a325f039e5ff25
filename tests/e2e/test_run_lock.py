"""Two runs at once never duplicate: a run that writes holds the run lock, which GitLab
arbitrates (exception_bot/run_lock.py). The other run is a second process, against the same
sandbox, slowed down by latency on note creation so that the two really overlap."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from exception_bot import run_lock
from exception_bot.run_lock import LOCK_BRANCH
from tests.e2e.world import BOT, REGISTER, World, new_world
from tests.support.stories import LOW

HELD = "error: another run holds the lock (run on "
MARKER = re.compile(r"<!-- exception-bot:kind=[a-z-]+:key=\S* -->")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A world whose bot keeps a state file, with three fresh requests."""
    made = new_world(tmp_path, state_file=True)
    for _ in range(3):
        made.open("bob", LOW)
    yield made
    made.sandbox.stop()


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run waiting for the lock looks again every 0.1 s instead of every 5 s."""
    monkeypatch.setattr(run_lock, "POLL", 0.1)


def start_slow_run(world: World) -> subprocess.Popen[str]:
    """``exception-bot run`` in a process of its own, each note taking half a second, once it
    holds the lock."""
    world.sandbox.latency(0.5, r"/notes$")
    env = {
        **os.environ,
        "GITLAB_URL": world.sandbox.url,
        "GITLAB_TOKEN": world.sandbox.token(BOT),
    }
    command = [sys.executable, "-m", "exception_bot", "run", "--now", world.clock.isoformat()]
    first = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [*command, "--config", str(world.config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not bot_notes(world) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_message(world).startswith("exception-bot run takes the run lock"), first
    return first


def lock_message(world: World) -> str:
    project = world.sandbox.store.project(REGISTER)
    assert project is not None
    head = project.branches.get(LOCK_BRANCH)
    return project.commits[head].message if head else ""


def bot_notes(world: World) -> list[str]:
    """Every note of the bot's on the three requests."""
    return [body for iid in (1, 2, 3) for body in world.bot_comments(iid)]


def assert_no_duplicates(world: World) -> None:
    """Each request has one status note, and no note of the bot's was posted twice."""
    for iid in (1, 2, 3):
        found = Counter(MARKER.findall("\n".join(world.bot_comments(iid))))
        assert found, iid
        assert max(found.values()) == 1, (iid, found)
        assert len(world.bot_comments(iid, "status")) == 1


def test_a_second_run_while_one_is_at_work_exits_3_and_writes_nothing(world: World) -> None:
    first = start_slow_run(world)
    second = world.run()
    assert second.exit_code == 3, second.output
    assert second.output.startswith(HELD), second.output
    assert "try again later, or pass --wait-lock SECONDS" in second.output
    assert first.wait(timeout=60) == 0, first.stdout.read() if first.stdout else ""
    assert_no_duplicates(world)
    # The first run released the lock: the next run goes ahead at once, with nothing to do.
    world.sandbox.app.misbehaviour.latency.clear()
    again = world.later(minutes=10).run()
    assert (again.exit_code, again.summary["changed"]) == (0, 0), again.output
    assert_no_duplicates(world)


def test_a_run_told_to_wait_waits_for_the_other_and_duplicates_nothing(world: World) -> None:
    first = start_slow_run(world)
    second = world.run("--wait-lock", "60")
    assert first.wait(timeout=60) == 0
    assert second.exit_code == 0, second.output
    assert_no_duplicates(world)


def test_a_crashed_runs_lease_expires_and_the_next_run_finishes_its_work(world: World) -> None:
    first = start_slow_run(world)
    first.send_signal(signal.SIGKILL)  # no finally: the lease stays until it expires
    first.wait(timeout=10)
    world.sandbox.app.misbehaviour.latency.clear()
    blocked = world.later(minutes=9).run()
    assert blocked.exit_code == 3, blocked.output
    assert blocked.output.startswith(HELD), blocked.output
    # Every command that writes waits for the lease; a dry run writes nothing and goes ahead.
    assert world.cli("report", "--post", "--now", world.clock.isoformat()).exit_code == 3
    assert world.cli("setup", "--apply").exit_code == 3
    assert world.run("--dry-run").exit_code == 0
    finished = world.later(minutes=2).run()  # GitLab's clock: the lease ended 10 minutes in
    assert (finished.exit_code, finished.summary["changed"] > 0) == (0, True), finished.output
    assert_no_duplicates(world)


def test_a_run_that_fails_releases_the_lock(world: World) -> None:
    world.sandbox.fault("GET", r"/projects/[^/]+/issues$", status=403)
    failed = world.run()
    assert failed.exit_code == 1
    assert "cannot list the open requests" in failed.output
    assert "releases the run lock" in lock_message(world)
    assert world.run().exit_code == 0
