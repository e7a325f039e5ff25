"""How far a long run has got, for a log: a CI job's output says so as it goes, instead of
nothing for ten minutes and then the summary.

A terminal gets the CLI's one-line counter; anywhere else (a CI job, output piped to a file)
:class:`ProgressLines` says a line on stderr once every :data:`EVERY_REQUESTS` requests, or
once :data:`EVERY_SECONDS` have passed since the last line, whichever comes first. A run done
before either says nothing more than its summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exception_bot.runner import IssueResult

EVERY_REQUESTS = 100
EVERY_SECONDS = 30.0


class ProgressLines:
    """A runner ``Progress``: ``say`` hears ``exception-bot: 120/1000 requests done, 14
    actions so far`` (and how many failed, when any did) when a line is due, and the last
    count once the run is done, if it said anything before."""

    def __init__(
        self,
        say: Callable[[str], None],
        every: int | None = None,
        seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._say = say
        self._every = every or EVERY_REQUESTS  # read here, so that a test may lower them
        self._seconds = seconds or EVERY_SECONDS
        self._clock = clock
        self._said_at = clock()
        self._said_done = 0
        self._spoke = False
        self._actions = 0
        self._failed = 0

    def __call__(self, done: int, total: int, result: IssueResult) -> None:
        self._actions += len(result.actions)
        self._failed += result.error is not None
        now = self._clock()
        due = done - self._said_done >= self._every or now - self._said_at >= self._seconds
        if due or (done == total and self._spoke):
            self._say(self._line(done, total))
            self._said_at, self._said_done, self._spoke = now, done, True

    def _line(self, done: int, total: int) -> str:
        failed = f", {self._failed} failed" if self._failed else ""
        return (
            f"exception-bot: {done}/{total} requests done, {self._actions} "
            f"{'action' if self._actions == 1 else 'actions'} so far{failed}"
        )
