"""Keeping the bot under GitLab's rate limits instead of running into them.

A sliding window lets at most ``limit`` events through in any ``period``; the next one waits
for the oldest to leave the window. Short runs never wait; a cold run over thousands of
requests spreads its writes. ``RateLimit-Remaining`` on GitLab's answers slows the bot before
it would be answered 429 (doc/user/gitlab_com/index.md, rate limits; python-gitlab still
retries a 429 after ``Retry-After``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

# Below this share of the limit left (and never fewer than the requests several reading threads
# may have in flight at once), wait for the window GitLab reports to reset.
LOW_WATER = 0.1
MIN_RESERVE = 5
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
        limit = int(headers["RateLimit-Limit"])
        remaining = int(headers["RateLimit-Remaining"])
        reset = float(headers["RateLimit-Reset"])
    except (KeyError, ValueError):
        return 0.0
    if limit <= 0 or remaining > max(limit * LOW_WATER, MIN_RESERVE):
        return 0.0
    # RateLimit-Reset is a whole second: wait into the next one, not just up to it.
    return max(0.0, min(reset - now + 1.0, MAX_PAUSE_S))
