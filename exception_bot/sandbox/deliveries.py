"""The sandbox's webhook deliveries: POSTed from background threads, as GitLab's Sidekiq jobs
do, so no API request waits on a hook; with switches to lose or delay them.

Read from gitlabhq:

- app/services/web_hook_service.rb: ``async_execute`` queues a ``WebHookWorker`` job per hook;
  the job POSTs the JSON with ``Content-Type``, ``User-Agent: GitLab/<version>``,
  ``Idempotency-Key``, ``X-Gitlab-Event``, ``X-Gitlab-Webhook-UUID`` (new for each delivery),
  ``X-Gitlab-Instance`` (the instance's URL), ``X-Gitlab-Event-UUID`` and ``X-Gitlab-Token``
  when the hook has a token. A connection error or timeout is logged (``log_execution``,
  ``WebHook Error after ...``) and the delivery is not retried; the hook's failures count
  toward its backoff (:mod:`exception_bot.sandbox.webhook_model`).
- lib/gitlab/web_hooks/recursion_detection/uuid.rb: ``X-Gitlab-Event-UUID`` is new for each
  job, unless the API request that caused it carried one itself (it was made by a webhook's
  receiver): then every delivery it causes carries that same UUID.
- Sidekiq runs several jobs at once: deliveries can arrive out of order.
"""

from __future__ import annotations

import heapq
import http.client
import json
import logging
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from exception_bot.sandbox.webhook_model import VERSION

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # gitlab.yml webhook_timeout's default, in seconds
WORKERS = 4


@dataclass
class Delivery:
    """One POST of one event to one hook, and what became of it."""

    hook_id: int
    url: str
    event: str  # X-Gitlab-Event
    headers: dict[str, str]
    payload: dict[str, Any]
    queued_at: float  # time.monotonic()
    due_at: float
    status: int | None = None  # the receiver's answer
    error: str | None = None  # why nothing was answered
    dropped: bool = False  # lost on purpose (drop switch)
    sent_at: float | None = None  # time.monotonic() when the answer came
    verify: bool = True  # the hook's enable_ssl_verification
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def ok(self) -> bool:
        """WebHookService#response_category: a 2xx or 3xx answer."""
        return self.status is not None and 200 <= self.status < 400


@dataclass
class DeliveryFaults:
    """What the drop and delay switches do; ``rng`` is seeded so a test can repeat a run."""

    drop: float = 0.0
    delay: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311 - a fault switch


class Deliverer:
    """A queue of deliveries and the worker threads that send them when due."""

    def __init__(self, on_result: Callable[[Delivery], None]) -> None:
        self._on_result = on_result
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = 0
        self._pending = 0
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.faults = DeliveryFaults()
        self.log: list[Delivery] = []

    def headers(
        self, event: str, token: str, instance: str, event_uuid: str | None
    ) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"GitLab/{VERSION}",
            "Idempotency-Key": str(uuid.uuid4()),
            "X-Gitlab-Event": event,
            "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
            "X-Gitlab-Instance": instance,
            "X-Gitlab-Event-UUID": event_uuid or str(uuid.uuid4()),
        }
        if token:
            # WebHookService#build_headers: Gitlab::Utils.remove_line_breaks(hook.token)
            headers["X-Gitlab-Token"] = token.replace("\r", "").replace("\n", "")
        return headers

    def submit(
        self,
        hook_id: int,
        url: str,
        headers: dict[str, str],
        payload: dict[str, Any],
        verify: bool = True,
    ) -> Delivery:
        now = time.monotonic()
        with self._cond:
            due = now + self.faults.delay
            event = headers["X-Gitlab-Event"]
            made = Delivery(hook_id, url, event, headers, payload, now, due, verify=verify)
            self.log.append(made)
            if self.faults.drop and self.faults.rng.random() < self.faults.drop:
                made.dropped = True
                made.error = "dropped by the sandbox's drop switch"
                made.done.set()
                return made
            self._seq += 1
            self._pending += 1
            heapq.heappush(self._heap, (made.due_at, self._seq, made))
            self._start()
            self._cond.notify()
        return made

    def set_faults(self, drop: float = 0.0, delay: float = 0.0, seed: int = 0) -> None:
        if not 0.0 <= drop <= 1.0 or delay < 0:
            raise ValueError("drop is a fraction from 0 to 1 and delay a number of seconds >= 0")
        with self._cond:
            self.faults = DeliveryFaults(drop, delay, random.Random(seed))  # noqa: S311

    def clear(self) -> None:
        """Forget the log and the switches (pending deliveries are still sent)."""
        with self._cond:
            self.log = []
            self.faults = DeliveryFaults()

    def wait(self, timeout: float = 10.0) -> bool:
        """Until every queued delivery has been sent (or failed); False on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=TIMEOUT + 1)
        with self._cond:
            self._threads, self._stopping = [], False

    # -- the workers -------------------------------------------------------------------------

    def _start(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < WORKERS:
            thread = threading.Thread(target=self._work, name="sandbox-webhooks", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._stopping:
                if self._heap and self._heap[0][0] <= time.monotonic():
                    return heapq.heappop(self._heap)[2]
                wait = self._heap[0][0] - time.monotonic() if self._heap else None
                self._cond.wait(wait)
            return None

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            try:
                _post(delivery)
                self._on_result(delivery)
            except Exception:  # a bug here must not kill the worker
                log.exception("sandbox webhook delivery to %s failed", delivery.url)
            finally:
                delivery.done.set()
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()


def _post(delivery: Delivery) -> None:
    """One POST; an unreachable receiver is logged and dropped, never retried."""
    parts = urlsplit(delivery.url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        # enable_ssl_verification false: GitLab posts with verify: false
        context = ssl.create_default_context() if delivery.verify else _unverified()
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=TIMEOUT, context=context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        # Net::HTTP writes a header value's bytes, UTF-8 for a token with non-ASCII letters;
        # http.client would write a str as Latin-1 (and fail past U+00FF)
        headers = {name: value.encode() for name, value in delivery.headers.items()}
        connection.request("POST", path, json.dumps(delivery.payload).encode(), headers)
        answer = connection.getresponse()
        answer.read(8192)  # RESPONSE_BODY_SIZE_LIMIT: kept for the UI only
        delivery.status = answer.status
    except (OSError, http.client.HTTPException) as err:
        delivery.error = f"{type(err).__name__}: {err}"
        log.warning("WebHook Error => %s (%s)", err, delivery.url)
    finally:
        delivery.sent_at = time.monotonic()
        connection.close()


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
