"""The HTTP session python-gitlab is given (``gitlab.Gitlab(..., session=...)``).

python-gitlab handles what it can express itself, and the bot leaves that to it
(gitlab/client.py ``http_request``, gitlab/utils.py ``Retry``):

- a 429 is retried, ``max_retries`` (10) times: after ``Retry-After``, else until
  ``RateLimit-Reset``, else 0.1 s doubled. GitLab's limits on note and issue creation answer
  429 in JSON with neither header (lib/api/helpers/rate_limiter.rb), so those wait 102 s at most;
  ``writes.still_throttled`` puts what is left into words;
- with ``retry_transient_errors``, a 5xx, 52x or a dropped connection is retried the same way.
  Writes that must not be sent twice turn it off per call (``writes.ONCE``).

It cannot slow down *before* a 429, nor say anything about a connection it cannot make. Both
are the transport adapter's below it, which every request and each of python-gitlab's retries
goes through:

- :class:`Meter`, a response hook, counts the answers, keeps GitLab's clock (``Date``) and reads
  the ``RateLimit-*`` headers GitLab.com sends on every answer (pacing.py); the adapter waits
  out the pause they ask for before the next request, from any thread;
- connection.py's :class:`Guard` retries a connection that could not be made, aloud, and its
  response hook turns a 401 into TokenRefused. (urllib3's ``Retry``, the adapter's
  ``max_retries``, retries connections too, but says nothing while it waits, counts attempts
  rather than seconds, and forgets between requests that it gave up.)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from exception_bot.connection import Guard
from exception_bot.pacing import pause_for

log = logging.getLogger(__name__)


# Told of each answer (method, path, status) and of each pause GitLab's headers asked for
# (seconds): how a caller that keeps metrics (``serve``) counts them without the adapter
# importing a metrics library.
Observer = Callable[[str, str, int], None]
PauseObserver = Callable[[float], None]


class Meter:
    """What GitLab's answers say: how many came, GitLab's clock, and when to go on."""

    def __init__(self) -> None:
        self.observer: Observer | None = None
        self.pause_observer: PauseObserver | None = None
        self.requests = 0
        self.server_time: datetime | None = None  # GitLab's clock at its latest answer
        self._paused_until = 0.0
        self._lock = threading.Lock()  # reads run in several threads

    def read(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A response hook (a request whose answer was lost has none to count)."""
        with self._lock:
            self.requests += 1
        if self.observer is not None:
            request = response.request
            path = urlsplit(request.url or "").path if request is not None else ""
            method = (request.method or "") if request is not None else ""
            self.observer(method, path, response.status_code)
        stamp = response.headers.get("Date")
        if stamp:
            with contextlib.suppress(TypeError, ValueError):
                self.server_time = parsedate_to_datetime(stamp)
        pause = pause_for(response.headers, time.time())
        if pause > 0:
            log.info(
                "GitLab's rate limit is nearly used up (%s left until %s): pausing %.1f s",
                response.headers.get("RateLimit-Remaining"),
                response.headers.get("RateLimit-Reset"),
                pause,
            )
            with self._lock:
                self._paused_until = max(self._paused_until, time.time() + pause)
            if self.pause_observer is not None:
                self.pause_observer(pause)

    def wait(self) -> None:
        """Wait out a pause GitLab's headers asked for."""
        wait = self._paused_until - time.time()
        if wait > 0:
            time.sleep(wait)


class _Adapter(HTTPAdapter):
    """Sends each request once the meter allows it, through the guard."""

    def __init__(self, guard: Guard, meter: Meter) -> None:
        super().__init__()
        self._guard, self._meter = guard, meter

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        self._meter.wait()
        options = {
            "stream": stream,
            "timeout": timeout,
            "verify": verify,
            "cert": cert,
            "proxies": proxies,
        }
        return self._guard.send(super().send, request, options)


def session(guard: Guard, meter: Meter) -> requests.Session:
    """A session for python-gitlab whose every request goes through ``guard`` and ``meter``."""
    made = requests.Session()
    adapter = _Adapter(guard, meter)
    made.mount("http://", adapter)
    made.mount("https://", adapter)
    # Counted first: a refused token's answer is an answer too.
    made.hooks["response"] = [meter.read, guard.check]
    return made
