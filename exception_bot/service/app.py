"""The service's HTTP routes: GitLab's webhook deliveries, ``/healthz`` and ``/metrics``.

A delivery is answered as soon as its work is queued: GitLab waits at most 10 s for an answer
and counts a slow one as failed (doc/user/project/integrations/webhooks.md, "Webhook
requirements"), and the bot's run of an issue takes longer than that under load. Each
check answers a delivery that asks nothing of the bot, changes nothing, and counts it:

- a missing or wrong ``X-Gitlab-Token``: 401, compared in constant time, logged without it
  (a line a minute at most);
- a body over :data:`MAX_BODY` (or of more objects than a payload has): 202 ``too_large``,
  read no further than the limit (a requester can make GitLab send such a payload: a 4xx
  would let them get the hook disabled);
- a body slower than GitLab's own timeout: 408;
- a body that is not JSON, or not the payload its ``X-Gitlab-Event`` names: 400;
- an event kind the bot does not act on, a project the config does not name, a replayed
  ``X-Gitlab-Event-UUID``, a new issue when the queue is full: 202 with the reason (a 4xx
  would make GitLab count failures and disable the hook, for deliveries that did nothing
  wrong; the full pass sees what was not queued).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from exception_bot.domain.escape import inert
from exception_bot.domain.settings import Config
from exception_bot.service.events import HOOKS, Ignored, Malformed, Work, work_for
from exception_bot.service.health import Health
from exception_bot.service.metrics import CONTENT_TYPE, Metrics
from exception_bot.service.queue import QueueFull, WorkQueue

log = logging.getLogger(__name__)
# GitLab's descriptions hold up to 1,048,576 characters, and an Issue Hook carries the
# description and, when it changed, the old and new one again: most payloads stay under a few
# MB. A larger body is not read (202 too_large); the full pass still sees the issue.
MAX_BODY = 8 * 1024 * 1024
MAX_UUID = 64
REFUSALS_LOGGED_EVERY = 60.0  # seconds between two log lines about refused tokens
BODIES = 4  # bodies read and parsed at once; the others wait, unread, in the socket
# GitLab gives up on a delivery after 10 s (gitlab.yml webhook_timeout): a slower body is not
# GitLab's, and would hold one of the BODIES places
BODY_TIMEOUT = 10.0
MAX_CONTAINERS = 100_000  # JSON objects and arrays a body may open (see _parse)
_PARSING = threading.Lock()


class TooLarge(Exception):
    pass


class Sparing:
    """A warning logged at most once per ``period`` seconds, the next saying how many were
    left out: anyone who reaches the port may post wrong tokens as fast as they like, and a
    container's log is unbounded by default. The metrics count every one."""

    def __init__(self, period: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._period, self._clock = period, clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._left_out = 0

    def warn(self, message: str, *args: object) -> None:
        now = self._clock()
        with self._lock:
            if now < self._next:
                self._left_out += 1
                return
            left_out, self._left_out, self._next = self._left_out, 0, now + self._period
        if left_out:
            message += f" ({left_out} more since the last such line)"
        log.warning(message, *args)


@dataclass(frozen=True)
class Hooks:
    """What the webhook route needs: the secret, the config, the queue and the metrics."""

    secret: str
    config: Config
    queue: WorkQueue
    metrics: Metrics
    max_body: int = MAX_BODY
    refusals: Sparing = field(default_factory=lambda: Sparing(REFUSALS_LOGGED_EVERY))


def create_app(hooks: Hooks, health: Health, path: str = "/webhook") -> Starlette:
    """The service's ASGI application; GitLab's deliveries are POSTed to ``path``."""

    bodies = asyncio.Semaphore(BODIES)

    async def webhook(request: Request) -> Response:
        return await _delivery(hooks, bodies, request)

    async def healthz(request: Request) -> Response:
        verdict = health.verdict()
        body = {"status": "ok" if verdict.ok else "unhealthy", "reasons": list(verdict.reasons)}
        return JSONResponse(body, status_code=200 if verdict.ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(hooks.metrics.exposition(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route(path, webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


def _answer(hooks: Hooks, status: int, reason: str, detail: str = "") -> Response:
    hooks.metrics.rejected.labels(reason).inc()
    body = {"status": "ignored" if status < 300 else "refused", "reason": reason}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


async def _delivery(hooks: Hooks, bodies: asyncio.Semaphore, request: Request) -> Response:
    received = time.monotonic()
    hook = request.headers.get("x-gitlab-event", "")
    hooks.metrics.received.labels(hook if hook in HOOKS else "other").inc()
    if not _authentic(request, hooks.secret):
        # The client's address and the event, never the token that was sent.
        client = request.client.host if request.client else "?"
        hooks.refusals.warn("webhook from %s refused: missing or wrong X-Gitlab-Token", client)
        return _answer(hooks, 401, "unauthorized", "missing or wrong X-Gitlab-Token")
    try:
        async with bodies:  # a few bodies in memory at once; the others wait unread
            body = await asyncio.wait_for(_read(request, hooks.max_body), BODY_TIMEOUT)
            payload = await asyncio.to_thread(_parse, body)
        work = work_for(hook, payload, hooks.config)
    except TooLarge:
        # 2xx: GitLab sends up to 25 MB (Gitlab::Json::LimitedEncoder), and any requester can
        # make a payload that large by editing a description; a 4xx would count towards GitLab
        # disabling the hook. The full pass sees the change.
        why = f"the body is over {hooks.max_body} bytes or {MAX_CONTAINERS} objects"
        return _answer(hooks, 202, "too_large", why)
    except TimeoutError:
        return _answer(hooks, 408, "too_slow", f"the body took over {BODY_TIMEOUT:.0f} s")
    except (ValueError, RecursionError) as err:  # JSONDecodeError, UnicodeDecodeError, Malformed
        why = str(err) if isinstance(err, Malformed) else "the body is not JSON"
        log.warning("webhook %s refused: %s", inert(hook, 60), why)
        return _answer(hooks, 400, "malformed", why)
    uuid = _delivery_id(request, hook, work)
    if isinstance(work, Ignored):
        if work is not Ignored.UNKNOWN_EVENT and uuid:
            hooks.queue.first_delivery(uuid)
        return _answer(hooks, 202, work.value)
    if uuid and not hooks.queue.first_delivery(uuid):
        return _answer(hooks, 202, Ignored.REPLAYED.value)
    try:
        new = hooks.queue.put(work, received)
    except QueueFull:
        hooks.queue.forget(uuid)
        log.warning(
            "webhook for %s not queued: the queue is full (the full pass will see it)", work
        )
        return _answer(hooks, 202, "queue_full", "the queue is full; the full pass will see it")
    hooks.metrics.queued.labels("new" if new else "coalesced").inc()
    return JSONResponse({"status": "queued", "work": str(work)}, status_code=202)


def _delivery_id(request: Request, hook: str, work: Work | Ignored) -> str:
    """What makes a delivery a replay: its ``X-Gitlab-Event-UUID`` with what it asks for.

    The UUID alone does not: GitLab's recursion detection gives every delivery an API request
    causes the UUID that request carried (lib/gitlab/web_hooks/recursion_detection/uuid.rb),
    so another receiver's edits of several requests, or anyone's who saw one UUID, share it.
    A resent delivery asks for the same work under the same hook."""
    uuid = request.headers.get("x-gitlab-event-uuid", "")[:MAX_UUID]
    return f"{uuid} {hook} {work}" if uuid else ""


def _authentic(request: Request, secret: str) -> bool:
    """One ``X-Gitlab-Token`` holding the secret's bytes, compared in constant time.

    Starlette reads header values as Latin-1; GitLab sends the secret's UTF-8 bytes, so the
    value is turned back into the bytes that came (a non-ASCII secret matches). A repeated
    header is refused whichever copy is right: the first or the last wins depending on the
    proxy, and a token a client or proxy adds must not decide."""
    sent = request.headers.getlist("x-gitlab-token")
    token = sent[0].encode("latin-1") if len(sent) == 1 else b""
    return hmac.compare_digest(token, secret.encode()) and len(sent) == 1


def _parse(body: bytes) -> object:
    """The JSON body, parsed one at a time (on a thread: the event loop keeps answering).

    Parsed, 8 MB of ``[{},{},...]`` is 200 MB of dicts; a GitLab payload has a few hundred
    objects (labels, assignees, changes), and braces in its texts are few. So a body with more
    than :data:`MAX_CONTAINERS` opening brackets, inside strings or not, is not parsed, and
    one parse at a time bounds the memory the others could add."""
    if body.count(b"{") + body.count(b"[") > MAX_CONTAINERS:
        raise TooLarge
    with _PARSING:
        return json.loads(body)


async def _read(request: Request, limit: int) -> bytes:
    """The body, refused once it is over ``limit`` bytes, declared or as it arrives."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    stream: AsyncIterator[bytes] = request.stream()
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
