"""``GET /healthz``: whether the service does its job, and why not.

Webhooks only speed the bot up; the scheduled full pass is what guarantees every request is
seen. So the service is healthy when its latest full pass succeeded, not longer ago than two
intervals (a pass that takes a whole interval is late, not broken), and GitLab answered its
latest request. Before its first full pass ends it is not ready yet (503): as a readiness
probe, that keeps it out of a load balancer until it has looked at everything once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# A URL's user and password (``https://user:pass@host``): never shown by /healthz
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")
MAX_REASON = 500


def _shown(why: str) -> str:
    """An error as /healthz shows it to whoever reaches the port: without the credentials a
    URL in it may hold, bounded."""
    return _USERINFO.sub("", why)[:MAX_REASON]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reasons: tuple[str, ...]


class Health:
    """What the worker and the GitLab adapter report; thread-safe."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pass_at: float | None = None  # self._clock() of the latest full pass's end
        self._pass_error: str | None = None
        self._answered_at = 0.0
        self._unreachable_at = 0.0
        self._unreachable: str | None = None

    def full_pass(self, error: str | None) -> None:
        with self._lock:
            self._pass_at = self._clock()
            self._pass_error = None if error is None else _shown(error)

    def answered(self) -> None:
        """GitLab answered a request (any answer: it is reachable)."""
        with self._lock:
            self._answered_at = self._clock()

    def unreachable(self, why: str) -> None:
        with self._lock:
            self._unreachable_at = self._clock()
            self._unreachable = _shown(why)

    def verdict(self) -> Verdict:
        now = self._clock()
        reasons: list[str] = []
        with self._lock:
            if self._pass_at is None:
                reasons.append("the first full pass has not finished yet")
            elif self._pass_error is not None:
                reasons.append(f"the latest full pass failed: {self._pass_error}")
            elif now - self._pass_at > 2 * self.interval:
                reasons.append(
                    f"the latest full pass ended {now - self._pass_at:.0f} s ago, more than "
                    f"two intervals ({2 * self.interval:.0f} s)"
                )
            if self._unreachable_at > self._answered_at:
                reasons.append(f"GitLab is unreachable: {self._unreachable}")
        return Verdict(not reasons, tuple(reasons))
