"""The sandbox's HTTP side: GitLab's API under ``/api/v4``, the test control plane under
``/-/sandbox``, and the misbehaviour tests ask for (latency, rate limits, faults)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from exception_bot.sandbox import api, routes, seed, webhooks
from exception_bot.sandbox.deliveries import Deliverer, Delivery
from exception_bot.sandbox.store import ApiError, Store
from exception_bot.sandbox.throttles import (
    ACTIONS,
    MODES,
    SELF_MANAGED,
    ApplicationLimits,
    Throttle,
    Windows,
)

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/-/sandbox/"
# What GET /-/sandbox/ lists, for driving a served sandbox by hand with curl.
CONTROL_ACTIONS = {
    "POST reset": "back to the seed the sandbox started with",
    "POST seed": "load a seed scenario (JSON body: users, groups, projects)",
    "PUT clock": '{"now": "2027-01-04T09:00:00+00:00"} or {"advance_seconds": 3600}',
    "POST faults": '{"method": "PUT", "path": "regex", "nth": 1, "status": 500 | "drop", '
    '"times": 1, "message": "...", "applied": false}; applied: the request is carried out '
    "first and only its answer is lost (dropped, or a proxy's status)",
    "POST latency": '{"seconds": 0.2, "path": "regex"}',
    "POST rate-limit": '{"limit": 10, "window": 60, "mode": "self-managed" | "gitlab.com"}: '
    "Rack::Attack's throttle per user; gitlab.com sends RateLimit-* on every answer",
    "POST application-limits": '{"notes_create": 60, "issues_create": 200, "interval": 60}: '
    "GitLab's per-user action limits, answered 429 in JSON without headers",
    "GET log": "every request with its endpoint and status, and counts per endpoint",
    "GET users": "each user's token",
    "PUT webhook-settings": '{"allow_local": true}: the admin setting that lets hooks reach '
    "loopback and private addresses (off, as on a new GitLab)",
    "POST webhook-faults": '{"drop": 0.1, "delay": 2.0, "seed": 0}: lose a fraction of the '
    "webhook deliveries, send the others late",
    "GET deliveries": "every webhook delivery: hook, url, event, status or error, dropped",
}
READS = frozenset({"GET", "HEAD"})
BLOCKED = "Your account has been blocked."


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    endpoint: str  # the route, e.g. "GET /projects/:id/issues/:iid"
    status: int
    username: str | None
    branch: str | None = None  # the branch a write names (a commit's, a new branch's)


@dataclass
class Fault:
    """From the ``nth`` request matching ``method`` and ``path``, ``times`` requests in a row
    answer ``status`` or are dropped (a client that retries needs ``times`` > its retries).

    With ``applied`` the request is carried out first and only its answer is lost: GitLab
    wrote the note, but the connection broke on the way back, or the proxy in front of
    GitLab (Workhorse, a load balancer) timed out waiting and answered 502 itself.
    """

    method: str
    path: re.Pattern[str]
    nth: int
    status: int | str  # an HTTP status, or "drop" to close the connection unanswered
    times: int = 1
    message: str | None = None  # the answer's "message"; "<status> injected" when None
    applied: bool = False  # carry the request out, then lose its answer
    branch: str | None = None  # only writes naming this branch (a commit's "branch")
    seen: int = 0

    def reply(self) -> api.Reply:
        if self.status == "drop":
            return api.Reply(-1, None)
        message = self.message or f"{self.status} injected"
        if self.applied:  # a proxy's own error page, not GitLab's JSON
            return api.Reply(int(self.status), f"{message}\n")
        return api.Reply(int(self.status), {"message": message})


@dataclass
class Hook:
    """Before the ``nth`` request matching ``method`` and ``path`` is answered, ``act`` runs on
    the store: another user's concurrent change, landing while the bot is mid-way."""

    method: str
    path: re.Pattern[str]
    nth: int
    act: Callable[[Store], None]
    seen: int = 0


@dataclass
class Misbehaviour:
    latency: list[tuple[re.Pattern[str], float]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    rate_limit: Throttle | None = None
    application_limits: ApplicationLimits | None = None
    windows: Windows = field(default_factory=Windows)


class App:
    """The sandbox GitLab: the store, the request log and the misbehaviour settings."""

    areas = routes.AREAS  # importing them registered every endpoint in api.ROUTES

    def __init__(self, initial: seed.Seed | None = None) -> None:
        self.store = Store()
        self.lock = threading.Lock()
        self.log: list[LoggedRequest] = []
        self.misbehaviour = Misbehaviour()
        self.seed = initial  # what reset() loads again
        self.deliverer = Deliverer(self._delivered)  # webhooks, sent after each request

    def reset(self) -> None:
        """Back to the state the sandbox started in: its seed, real time, no log, no faults."""
        with self.lock:
            base = self.store.base_url
            self.store = Store(base)
            self.log.clear()
            self.misbehaviour = Misbehaviour()
            self.deliverer.clear()
            if self.seed is not None:
                seed.load(self.store, self.seed)

    def handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        try:
            body = _read_body(handler)
        except ValueError:
            _send(handler, 400, {"message": "400 Bad request - the body is not valid JSON"}, {})
            return
        if parts.path.startswith(CONTROL_PREFIX):
            status, data = self._control(handler.command, parts.path, body)
            _send(handler, status, data, {})
            return
        self._delay(parts.path)
        reply = self._answer(handler, parts.path, params, body)
        if reply is None:  # a "drop" fault: close without answering
            handler.close_connection = True
            return
        _send(handler, reply.status, reply.body, reply.headers)

    def _token_refuses(self, token: str, method: str) -> api.Reply | None:
        """An administrator's personal access token as GitLab checks it (lib/api/api_guard.rb,
        lib/gitlab/auth/auth_finders.rb): an expired one is 401; ``read_api`` reads only, and a
        token with neither ``api`` nor ``read_api`` may not use the API (403
        insufficient_scope). The seed's own tokens carry every scope."""
        found = self.store.personal_tokens.get(token)
        if found is None:
            return None
        if found.expires_at is not None and found.expires_at < self.store.now().date():
            return api.Reply(401, {"message": "401 Unauthorized - Token has expired"})
        if "api" in found.scopes or ("read_api" in found.scopes and method in READS):
            return None
        return api.Reply(
            403,
            {
                "error": "insufficient_scope",
                "error_description": "The request requires higher privileges than provided by "
                "the access token.",
                "scope": "api" if "read_api" in found.scopes else "api read_api",
            },
        )

    def _answer(
        self, handler: _Handler, path: str, params: dict[str, list[str]], body: dict[str, Any]
    ) -> api.Reply | None:
        method = handler.command
        found = api.find_route(method, path)
        endpoint = found[2] if found else f"{method} (unknown)"
        with self.lock:
            token = handler.headers.get("PRIVATE-TOKEN") or _bearer(handler.headers)
            user = self.store.user_by_token(token) if token else None
            username = user.username if user else None
            # Rack::Attack counts a user's requests by their id, anyone else's by address.
            reply, throttle_headers = self._rate_limited(username or "anonymous")
            branch = None if method in READS else body.get("branch")
            branch = str(branch) if branch is not None else None
            fault = self._due_fault(method, path, branch) if reply is None else None
            if fault is not None and not fault.applied:
                reply = fault.reply()
            if reply is None and user is None:
                reply = api.Reply(401, {"message": "401 Unauthorized"})
            if reply is None and user is not None and user.state != "active":
                # lib/api/api_guard.rb refuses the token of a user who may not use the API
                # (api_access_allowed?), with lib/gitlab/auth/user_access_denied_reason.rb's words
                reply = api.Reply(403, {"message": f"403 Forbidden - {BLOCKED}"})
            if reply is None and user is not None and token:
                reply = self._token_refuses(token, method)
            if reply is None and found is None:
                reply = api.Reply(404, {"error": "404 Not Found"})
            if reply is None and found is not None and user is not None:
                reply = self._over_application_limit(user.username, found[2])
            if reply is None and found is not None and user is not None:
                self._run_hooks(method, path)
                self.store.settle()  # checklist notes due by now are written first
                # changes made outside a request (a seed, a test's act) call hooks as they were
                webhooks.dispatch(self.store, self.deliverer)
                handler_fn, args, _ = found
                host = handler.headers.get("Host", "127.0.0.1")
                call = api.Call(method, path, params, body, user, f"http://{host}", args)
                try:
                    reply = handler_fn(self.store, call)
                except ApiError as err:
                    reply = api.Reply(err.status, {"message": err.message})
                except Exception:
                    # A bug of the sandbox: answer 500 as GitLab would, and keep serving.
                    log.exception("sandbox: %s %s failed", method, path)
                    reply = api.Reply(500, {"message": "500 Internal Server Error"})
            self._send_hooks(handler, reply)
            if fault is not None and fault.applied:  # done; the answer is lost on the way
                reply = fault.reply()
            if reply is not None and reply.status != -1 and throttle_headers:
                reply = api.Reply(reply.status, reply.body, {**reply.headers, **throttle_headers})
            status = reply.status if reply else 0
            self.log.append(LoggedRequest(method, path, endpoint, status, username, branch))
            return None if reply is not None and reply.status == -1 else reply

    def _send_hooks(self, handler: _Handler, reply: api.Reply | None) -> None:
        """Queue the webhooks of the changes the request made; a failed request made none
        (GitLab's transaction is rolled back, its hooks never queued)."""
        if reply is None or reply.status >= 400:
            self.store.hook_events.clear()
        else:
            webhooks.dispatch(
                self.store, self.deliverer, handler.headers.get("X-Gitlab-Event-UUID")
            )

    def _delivered(self, delivery: Delivery) -> None:
        """A delivery's outcome counts toward its hook's backoff (WebHooks::LogExecutionService)."""
        with self.lock:
            hook = self.store.hooks.get(delivery.hook_id)
            if hook is not None:
                hook.record(delivery.ok, self.store.now())

    def _due_fault(self, method: str, path: str, branch: str | None) -> Fault | None:
        """The injected fault due for this request, if any."""
        for fault in self.misbehaviour.faults:
            if fault.branch is not None and fault.branch != branch:
                continue
            if fault.method in (method, "*") and fault.path.search(path):
                fault.seen += 1
                if fault.nth <= fault.seen < fault.nth + fault.times:
                    return fault
        return None

    def _run_hooks(self, method: str, path: str) -> None:
        for hook in self.misbehaviour.hooks:
            if hook.method in (method, "*") and hook.path.search(path):
                hook.seen += 1
                if hook.seen == hook.nth:
                    hook.act(self.store)

    def _rate_limited(self, key: str) -> tuple[api.Reply | None, dict[str, str]]:
        """Rack::Attack's 429, or the headers the answer carries (real time: the sandbox's
        clock is a test's fiction, GitLab's throttles count seconds as they pass)."""
        rule = self.misbehaviour.rate_limit
        if rule is None:
            return None, {}
        return rule.check(self.misbehaviour.windows, key, time.time())

    def _over_application_limit(self, username: str, endpoint: str) -> api.Reply | None:
        limits = self.misbehaviour.application_limits
        if limits is None:
            return None
        return limits.check(self.misbehaviour.windows, username, endpoint, time.time())

    def set_rate_limit(self, limit: int, window: float, mode: str = SELF_MANAGED) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: one of {', '.join(MODES)}")
        # GitLab's throttle periods are whole seconds (application settings)
        rule = Throttle(limit, max(1, round(window)), mode)
        with self.lock:
            self.misbehaviour.rate_limit = rule

    def set_application_limits(self, thresholds: dict[str, int], interval: float = 60) -> None:
        unknown = sorted(set(thresholds) - set(ACTIONS))
        if unknown:
            raise ValueError(f"no application limit {unknown[0]!r} (known: {', '.join(ACTIONS)})")
        limits = ApplicationLimits(dict(thresholds), max(1, round(interval)))
        with self.lock:
            self.misbehaviour.application_limits = limits

    def _delay(self, path: str) -> None:
        delay = sum(s for pattern, s in self.misbehaviour.latency if pattern.search(path))
        if delay:
            time.sleep(delay)

    # -- control plane ----------------------------------------------------------------------

    def _control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        action = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            if (method, action) == ("POST", "reset"):
                self.reset()
            elif (method, action) == ("POST", "seed"):
                with self.lock:
                    seed.load(self.store, body)
            elif (method, action) == ("PUT", "clock"):
                with self.lock:
                    if "now" in body:
                        self.store.clock = datetime.fromisoformat(str(body["now"]))
                    if "advance_seconds" in body:
                        start = self.store.now()
                        self.store.clock = start + timedelta(seconds=float(body["advance_seconds"]))
            elif (method, action) == ("POST", "faults"):
                self.add_fault(
                    str(body.get("method", "*")),
                    str(body["path"]),
                    int(body.get("nth", 1)),
                    body.get("status", 500),
                    int(body.get("times", 1)),
                    body.get("message"),
                    applied=bool(body.get("applied", False)),
                )
            elif (method, action) == ("POST", "latency"):
                self.add_latency(float(body["seconds"]), str(body.get("path", "")))
            elif (method, action) == ("POST", "rate-limit"):
                mode = str(body.get("mode", SELF_MANAGED))
                self.set_rate_limit(int(body["limit"]), float(body["window"]), mode)
            elif (method, action) == ("POST", "application-limits"):
                interval = float(body.pop("interval", 60))
                self.set_application_limits({str(k): int(v) for k, v in body.items()}, interval)
            elif (method, action) == ("GET", "log"):
                return 200, {
                    "requests": [vars(r) for r in self.log],
                    "counts": dict(Counter(r.endpoint for r in self.log)),
                }
            elif action in ("webhook-settings", "webhook-faults", "deliveries"):
                return self._webhook_control(method, action, body)
            elif (method, action) == ("GET", "users"):
                with self.lock:
                    return 200, {u.username: u.token for u in self.store.users.values()}
            elif (method, action) == ("GET", ""):
                return 200, {"actions": CONTROL_ACTIONS}
            else:
                message = f"no control action {method} {action}"
                return 404, {"message": message, "actions": CONTROL_ACTIONS}
        except (KeyError, ValueError, TypeError) as err:
            return 400, {"message": f"bad control request: {err}"}
        return 200, {"ok": True}

    def _webhook_control(self, method: str, action: str, body: dict[str, Any]) -> tuple[int, Any]:
        if (method, action) == ("PUT", "webhook-settings"):
            with self.lock:
                self.store.allow_local_hooks = bool(body["allow_local"])
        elif (method, action) == ("POST", "webhook-faults"):
            drop, delay = float(body.get("drop", 0)), float(body.get("delay", 0))
            self.deliverer.set_faults(drop, delay, int(body.get("seed", 0)))
        elif (method, action) == ("GET", "deliveries"):
            return 200, [_delivery_record(d) for d in self.deliverer.log]
        else:
            return 404, {"message": f"no control action {method} {action}"}
        return 200, {"ok": True}

    def add_fault(
        self,
        method: str,
        path: str,
        nth: int,
        status: int | str,
        times: int = 1,
        message: str | None = None,
        *,
        applied: bool = False,
        branch: str | None = None,
    ) -> None:
        with self.lock:
            fault = Fault(method, re.compile(path), nth, status, times, message, applied, branch)
            self.misbehaviour.faults.append(fault)

    def add_latency(self, seconds: float, path: str = "") -> None:
        with self.lock:
            self.misbehaviour.latency.append((re.compile(path), seconds))


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive: python-gitlab's requests session reuses the connection (HTTP/1.1 needs a
    # Content-Length on every answer, which _send always writes).
    protocol_version = "HTTP/1.1"
    # With Nagle's algorithm and the client's delayed ACK an answer written in two pieces would
    # wait ~40 ms; buffering (wbufsize -1) makes it one write, flushed by handle_one_request.
    disable_nagle_algorithm = True
    wbufsize = -1
    server: SandboxHTTPServer
    raw_requestline: bytes  # set by handle_one_request; typeshed does not declare it

    def parse_request(self) -> bool:
        """http.server's parse_request without the email package for headers, which cost a
        third of each request; odd request lines still go the standard way."""
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = line.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return super().parse_request()
        self.requestline = line
        self.command, self.path, self.request_version = words
        headers = _Headers()
        while (raw := self.rfile.readline(_MAX_LINE + 1)) not in (b"\r\n", b"\n", b""):
            if len(raw) > _MAX_LINE or len(headers) >= _MAX_HEADERS:
                self.send_error(431, "Request header fields too large")
                return False
            name, _, value = str(raw, "iso-8859-1").partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        # handlers only ever call .get() on the headers
        self.headers = headers  # type: ignore[assignment]
        connection = (headers.get("Connection") or "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if (headers.get("Expect") or "").lower() == "100-continue":
            return self.handle_expect_100()
        return True

    def do_GET(self) -> None:
        self.server.app.handle(self)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header of every answer, as GitLab's comes from its server's clock: here
        the sandbox's clock, so a client that times things by GitLab's clock (the run lock's
        lease) sees the time the test set."""
        if timestamp is None:
            timestamp = self.server.app.store.now().timestamp()
        return formatdate(timestamp, usegmt=True)

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is in :class:`App`, not on stderr."""


_MAX_LINE = 65536  # http.client's _MAXLINE
_MAX_HEADERS = 100  # http.client's _MAXHEADERS


class _Headers(dict[str, str]):
    """Request headers by lower-case name, with the case-insensitive ``get`` handlers use."""

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app


def _delivery_record(d: Delivery) -> dict[str, Any]:
    """A delivery for the control plane, without its token."""
    headers = {k: v for k, v in d.headers.items() if k != "X-Gitlab-Token"}
    return {
        "hook_id": d.hook_id,
        "url": d.url,
        "event": d.event,
        "headers": headers,
        "status": d.status,
        "error": d.error,
        "dropped": d.dropped,
        "object_kind": d.payload.get("object_kind"),
    }


def _bearer(headers: Any) -> str | None:
    value = str(headers.get("Authorization") or "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


def _read_body(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if not raw:
        return {}
    kind = handler.headers.get("Content-Type") or ""
    if "json" in kind:
        data = json.loads(raw)
        return data if isinstance(data, dict) else {}
    form = parse_qs(raw.decode(), keep_blank_values=True)
    return {k.removesuffix("[]"): v if k.endswith("[]") else v[-1] for k, v in form.items()}


def _send(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str]) -> None:
    if isinstance(body, str):
        data, kind = body.encode(), "text/plain; charset=utf-8"
    elif body is None:
        data, kind = b"", "application/json"
    else:
        data, kind = json.dumps(body).encode(), "application/json"
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)
