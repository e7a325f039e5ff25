"""A long run says how far it has got (docs/how-to/gitlab-ci.md): the lines a CI job's log gets."""

from __future__ import annotations

from exception_bot.progress import ProgressLines
from exception_bot.runner import IssueResult

ACTION = {"action": "PostNote"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def result(actions: int = 0, error: str | None = None) -> IssueResult:
    return IssueResult("security/exceptions#1", None, None, (ACTION,) * actions, error)


def test_a_line_every_hundred_requests_and_the_last_count() -> None:
    said: list[str] = []
    progress = ProgressLines(said.append, clock=Clock())
    for done in range(1, 251):
        progress(done, 250, result(actions=1 if done % 10 == 0 else 0))
    assert said == [
        "exception-bot: 100/250 requests done, 10 actions so far",
        "exception-bot: 200/250 requests done, 20 actions so far",
        "exception-bot: 250/250 requests done, 25 actions so far",
    ]


def test_a_line_once_thirty_seconds_have_passed_whatever_the_count() -> None:
    said: list[str] = []
    clock = Clock()
    progress = ProgressLines(said.append, clock=clock)
    progress(1, 40, result())
    clock.now += 29
    progress(2, 40, result(error="boom"))
    assert said == []
    clock.now += 2  # 31 s since the start
    progress(3, 40, result(actions=1))
    clock.now += 20  # 20 s since that line: none yet
    progress(4, 40, result())
    clock.now += 10
    progress(5, 40, result())
    assert said == [
        "exception-bot: 3/40 requests done, 1 action so far, 1 failed",
        "exception-bot: 5/40 requests done, 1 action so far, 1 failed",
    ]


def test_a_short_run_says_nothing_but_its_summary() -> None:
    said: list[str] = []
    progress = ProgressLines(said.append, clock=Clock())
    for done in range(1, 51):
        progress(done, 50, result(actions=2))
    assert said == []
