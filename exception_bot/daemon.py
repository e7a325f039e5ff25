"""``exception-bot daemon``: ``run`` on an interval and the weekly report on its own schedule.

The ``schedule`` library keeps the timetable; this module keeps the loop: a failed run is logged
and tried again at the next interval, and SIGINT or SIGTERM stop the loop between runs, never
in the middle of one (a run half done would be finished by the next anyway, but a clean stop
keeps CI logs and process supervisors simple).
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType

import schedule

log = logging.getLogger(__name__)
_EVERY_RE = re.compile(r"^\s*(\d+)\s*([smh])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours"}


def parse_every(text: str) -> timedelta:
    """``30s``, ``15m`` or ``1h``."""
    match = _EVERY_RE.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"'{text}' is not an interval; write 30s, 15m or 1h")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Daemon:
    """Runs ``job`` every ``every`` and ``weekly`` on Monday mornings until told to stop."""

    def __init__(
        self,
        job: Callable[[], None],
        every: timedelta,
        weekly: Callable[[], None] | None = None,
        weekly_at: str = "07:00",
    ) -> None:
        self.scheduler = schedule.Scheduler()
        self.stopping = threading.Event()
        self.scheduler.every(int(every.total_seconds())).seconds.do(self._guarded, job, "run")
        if weekly is not None:
            self.scheduler.every().monday.at(weekly_at).do(self._guarded, weekly, "report")

    def _guarded(self, job: Callable[[], None], name: str) -> None:
        try:
            job()
        except Exception as err:  # a failed run must not end the daemon: the next interval retries
            log.error("%s failed (%s); trying again at the next interval", name, err)
            log.debug("%s: traceback", name, exc_info=(type(err), err, err.__traceback__))

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current run", signum)
        self.stopping.set()

    def serve(self, first_run_now: bool = True) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            if first_run_now:
                self.scheduler.run_all()
            while not self.stopping.is_set():
                self.scheduler.run_pending()
                idle = self.scheduler.idle_seconds
                self.stopping.wait(timeout=max(0.05, min(idle if idle is not None else 1, 1.0)))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
