"""GitLab's two kinds of rate limit, imposed when a test asks for them.

**Rack::Attack's throttles** (``lib/gitlab/rack_attack.rb``,
``lib/gitlab/rack_attack/request_throttle_data.rb``) count every API request of a user in
fixed windows aligned on the Unix epoch (``period - now % period`` is left of the window), and
answer the request past the limit 429 with the plain text ``Retry later`` and the
``RateLimit-*`` headers, ``Retry-After`` and ``RateLimit-ResetTime``. GitLab.com also sends
the common headers (name, limit, observed, remaining, reset) on every answer that is not a 429
(``lib/gitlab/middleware/rack_attack_headers.rb``, feature flag
``rate_limiting_headers_for_unthrottled_requests``); self-managed sends them only with the 429.
``RateLimit-Limit`` is rounded to a minute (``limit * 60 / period``, rounded up) while
``RateLimit-Remaining`` counts against the real limit.

**The application rate limiter** (``lib/gitlab/application_rate_limiter.rb``) counts some
actions per user in fixed windows of one minute, among them ``notes_create``
(``lib/api/notes.rb``) and ``issues_create`` (``lib/api/issues.rb``), each checked before
anything else is looked at. An action past its limit is answered by
``lib/api/helpers/rate_limiter.rb``: 429 with a JSON body and no header at all. Both limiters
count the refused requests too (the counter is incremented, then compared).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from email.utils import formatdate

from exception_bot.sandbox import api

GITLAB_COM = "gitlab.com"
SELF_MANAGED = "self-managed"
MODES = (GITLAB_COM, SELF_MANAGED)
# Gitlab::Throttle.rate_limiting_response_text's default (an admin may change it).
RETRY_LATER = "Retry later\n"
TOO_MANY = "This endpoint has been requested too many times. Try again later."
# The endpoints each application limit counts, among those the sandbox serves.
ACTIONS = {
    "notes_create": frozenset({"POST /projects/:id/issues/:iid/notes"}),
    "issues_create": frozenset({"POST /projects/:id/issues"}),
}


@dataclass
class Windows:
    """Counts per (limit, key) in the current epoch-aligned window; older windows are gone."""

    counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def hit(self, name: str, key: str, period: int, now: int) -> tuple[int, int]:
        """Count one more; returns the count in this window and the seconds left of it."""
        window, elapsed = divmod(now, period)
        last, count = self.counts.get((name, key), (window, 0))
        count = count + 1 if last == window else 1
        self.counts[name, key] = (window, count)
        return count, period - elapsed


@dataclass(frozen=True)
class Throttle:
    """A Rack::Attack throttle: ``limit`` API requests per user in each ``period`` seconds."""

    limit: int
    period: int
    mode: str = SELF_MANAGED
    name: str = "throttle_authenticated_api"

    def check(
        self, windows: Windows, key: str, now: float
    ) -> tuple[api.Reply | None, dict[str, str]]:
        """The 429 when this request is past the limit, else None; and the headers every
        other answer carries (none on self-managed)."""
        at = int(now)
        observed, retry_after = windows.hit(self.name, key, self.period, at)
        reset = at + retry_after
        headers = {
            "RateLimit-Name": self.name,
            "RateLimit-Limit": str(math.ceil(self.limit * 60 / self.period)),
            "RateLimit-Observed": str(observed),
            "RateLimit-Remaining": str(max(0, self.limit - observed)),
            "RateLimit-Reset": str(reset),
        }
        if observed > self.limit:
            headers["Retry-After"] = str(retry_after)
            headers["RateLimit-ResetTime"] = formatdate(reset, usegmt=True)
            return api.Reply(429, RETRY_LATER, headers), {}
        return None, headers if self.mode == GITLAB_COM else {}


@dataclass(frozen=True)
class ApplicationLimits:
    """Application limits per user: action name -> at most so many in each ``interval``.

    GitLab's interval is one minute; a test may shorten it to keep its run short.
    """

    thresholds: dict[str, int]
    interval: int = 60

    def check(self, windows: Windows, key: str, endpoint: str, now: float) -> api.Reply | None:
        for action, threshold in self.thresholds.items():
            if threshold > 0 and endpoint in ACTIONS[action]:  # 0: no limit
                count, _ = windows.hit(action, key, self.interval, int(now))
                if count > threshold:
                    return api.Reply(429, {"message": {"error": TOO_MANY}})
        return None
