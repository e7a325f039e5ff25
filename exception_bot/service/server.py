"""How uvicorn serves the app: its HTTP protocol with a deadline for each request's head.

uvicorn closes a connection idle after a response (``timeout_keep_alive``), but not one that
never finishes sending a request's head: a client that opens connections and trickles a
header byte now and then (slowloris) holds each connection, and its file descriptor, for as
long as it likes, until the service can accept no delivery. GitLab sends a delivery's head at
once, so a head not complete :data:`HEAD_TIMEOUT` seconds after the connection opened (or
after the previous response) is not GitLab's: the connection is closed. A body slower than
GitLab's own timeout is the app's to refuse (:data:`exception_bot.service.app.BODY_TIMEOUT`).
The pure-Python h11 protocol is named, not ``auto``: the deadline hooks into it, and it is the
one installed (httptools is not a dependency).
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 10.0  # seconds for a request's head, from the connection or the last response
KEEP_ALIVE = 5.0  # seconds an idle connection is kept after a response (uvicorn's default)
MAX_HEAD = 64 * 1024  # bytes of a request's head (h11's default): GitLab sends a few hundred


class TimelyH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is late."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(HEAD_TIMEOUT, self._late)

    def _late(self) -> None:
        self._deadline = None
        # a request under way had its head in time; its body is the app's to time
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


def uvicorn_server(app: Starlette, host: str = "127.0.0.1", port: int = 8080) -> uvicorn.Server:
    """uvicorn's server for ``app``, with :class:`TimelyH11` and bounded heads."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=TimelyH11,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=int(KEEP_ALIVE),
        h11_max_incomplete_event_size=MAX_HEAD,
    )
    return uvicorn.Server(config)


def free_socket(host: str) -> socket.socket:
    """A socket bound to a free port of ``host``, for a server in this process."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock
