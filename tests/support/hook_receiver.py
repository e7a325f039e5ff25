"""A webhook receiver on a loopback port that keeps what GitLab (the sandbox) POSTs to it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic()

    @property
    def event(self) -> str:
        return self.headers.get("X-Gitlab-Event", "")


class Receiver:
    """``with Receiver() as hooks: ... hooks.url ... hooks.wait_for(1)``; ``status`` is what it
    answers, ``pause`` how long it takes to."""

    def __init__(self, status: int = 200, pause: float = 0.0) -> None:
        self.status, self.pause = status, pause
        self.received: list[Received] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                time.sleep(receiver.pause)
                got = Received(self.path, dict(self.headers.items()), body, time.monotonic())
                with receiver._cond:
                    receiver.received.append(got)
                    receiver._cond.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` deliveries, waiting for them; fails after ``timeout``."""
        end = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                left = end - time.monotonic()
                assert left > 0, f"{len(self.received)} deliveries of {count} in {timeout} s"
                self._cond.wait(left)
            return list(self.received[:count])

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
