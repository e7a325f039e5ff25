"""Keeping the bot under GitLab's rate limits instead of running into them.

A sliding window lets at most ``limit`` events through in any ``period``; the next one waits
for the oldest to leave the window. Short runs never wait; a cold run over thousands of
requests spreads its writes. ``RateLimit-Remaining`` on GitLab's answers slows the bot before
it would be answered 429: GitLab.com sends the headers on every answer
(lib/gitlab/middleware/rack_attack_headers.rb), self-managed GitLab only with the 429, which
python-gitlab retries after its ``Retry-After``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

# Below this share of the limit left (and never fewer than the requests a run may have in
# flight at once: runner.READ_WORKERS reading threads and the writer), wait for the window
# GitLab reports to reset.
LOW_WATER = 0.1
MIN_RESERVE = 10
MAX_PAUSE_S = 60.0


class SlidingWindow:
    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.period = limit, period
        self._clock, self._sleep = clock, sleep
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until one more event fits; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            while self._times and self._times[0] <= now - self.period:
                self._times.popleft()
            waited = 0.0
            if len(self._times) >= self.limit:
                waited = self._times[0] + self.period - now
                self._sleep(waited)
                self._times.popleft()
            self._times.append(now + waited)
            return waited


def pause_for(headers: Mapping[str, str], now: float) -> float:
    """Seconds to wait before the next request, from GitLab's ``RateLimit-*`` headers."""
    try:
        remaining = int(headers["RateLimit-Remaining"])
        reset = float(headers["RateLimit-Reset"])
        limit = _real_limit(headers, remaining)
    except (KeyError, ValueError):
        return 0.0
    if limit <= 0 or remaining > max(limit * LOW_WATER, MIN_RESERVE):
        return 0.0
    # RateLimit-Reset is a whole second: wait into the next one, not just up to it.
    return max(0.0, min(reset - now + 1.0, MAX_PAUSE_S))


def _real_limit(headers: Mapping[str, str], remaining: int) -> int:
    """The requests the window allows. ``RateLimit-Limit`` is rounded to a minute
    (``limit * 60 / period``, lib/gitlab/rack_attack/request_throttle_data.rb ``rounded_limit``)
    while ``RateLimit-Remaining`` counts against the throttle's own period: for an hour's
    window the header shows a sixtieth of the limit, for a second's sixty times it. Observed
    and remaining add up to the real limit; without ``RateLimit-Observed`` the header is all
    there is."""
    if "RateLimit-Observed" in headers:
        return int(headers["RateLimit-Observed"]) + remaining
    return int(headers["RateLimit-Limit"])
