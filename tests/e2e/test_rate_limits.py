"""GitLab's rate limits as GitLab sends them (exception_bot/sandbox/throttles.py
cites the sources). GitLab.com's headers on every answer pace the bot before any 429; the limits
on note creation answer 429 in JSON with no Retry-After, which python-gitlab retries blindly."""

from __future__ import annotations

import logging
import time

import gitlab.utils
import pytest

from exception_bot.sandbox import Sandbox
from tests.e2e.world import BOT, World
from tests.requests import body

LOW = body("low_staging")
NOTES = "POST /projects/:id/issues/:iid/notes"
PAUSE = "rate limit is nearly used up"


def bot_statuses(sandbox: Sandbox, endpoint: str | None = None) -> list[int]:
    return [
        r.status
        for r in sandbox.requests
        if r.username == BOT and (endpoint is None or r.endpoint == endpoint)
    ]


def test_on_gitlab_com_the_headers_pace_the_run_before_any_429(
    world: World, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    iids = [world.open("bob", LOW) for _ in range(2)]
    sandbox.clear_log()
    sandbox.rate_limit(20, window_seconds=1, mode="gitlab.com")
    with caplog.at_level(logging.INFO, logger="exception_bot.gitlab.session"):
        result = world.run()
    assert result.exit_code == 0, result.output
    assert result.summary["changed"] == 2
    statuses = bot_statuses(sandbox)
    assert 429 not in statuses
    # each answer near the limit says so; a pause lasts until the window's reset
    windows = {
        r.args[1] for r in caplog.records if PAUSE in r.getMessage() and isinstance(r.args, tuple)
    }
    assert windows  # the run needed more than one window: the headers slowed it
    # RateLimit-Limit says 1,200 (a minute's worth of 20 a second): read as the limit, every
    # answer would look nearly used up and the bot would wait for a new window after each
    # request. Observed plus remaining is the real 20: a pause once 10 are spent (10 kept in
    # reserve for the requests in flight).
    assert len(windows) <= len(statuses) // 10 + 1
    assert all(world.state(iid) == "exception::in-review" for iid in iids)


def test_the_json_429_on_note_creation_is_waited_out(world: World, sandbox: Sandbox) -> None:
    iids = [world.open("bob", LOW) for _ in range(3)]
    sandbox.clear_log()
    sandbox.application_limits(interval_seconds=1, notes_create=1)
    result = world.run()
    assert result.exit_code == 0, result.output
    assert result.summary["changed"] == 3
    assert 429 in bot_statuses(sandbox, NOTES)  # the limit was met, and python-gitlab retried
    notes = {iid: world.bot_comments(iid) for iid in iids}
    assert all(notes.values())
    again = world.later(minutes=10).run()
    assert (again.exit_code, again.summary["changed"]) == (0, 0)
    assert {iid: world.bot_comments(iid) for iid in iids} == notes  # no note twice


class Backoff:
    """python-gitlab's clock and sleep (gitlab/utils.py ``Retry``), its sleeps recorded and
    skipped: the sandbox still refuses, without the test waiting out the real 102 s."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def time(self) -> float:
        return time.time()


def test_a_note_limit_that_never_clears_fails_the_issue_in_one_line(
    world: World, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = world.open("bob", LOW)
    sandbox.application_limits(interval_seconds=3600, notes_create=1)
    # the bot's user spends the hour's budget elsewhere: another script with the same token
    world.gl(BOT).projects.get(world.requests).issues.get(iid).notes.create({"body": "hi"})
    backoff = Backoff()
    monkeypatch.setattr(gitlab.utils, "time", backoff)
    result = world.run()
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if "failed:" in line]
    assert len(failed) == 1
    assert f"#{iid}: failed: " in failed[0]
    assert "GitLab still answered 429 after python-gitlab's retries" in failed[0]
    assert "This endpoint has been requested too many times. Try again later." in failed[0]
    assert "{" not in failed[0]  # not the raw JSON body
    assert sum(backoff.slept) == pytest.approx(102.3)  # 0.1 s doubled, ten times
    monkeypatch.undo()
    sandbox.application_limits(notes_create=0)  # 0: no limit, as in GitLab's settings
    assert world.later(minutes=10).run().exit_code == 0
    assert world.state(iid) == "exception::in-review"
    assert world.bot_comments(iid)
