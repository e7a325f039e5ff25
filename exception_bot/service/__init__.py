"""``exception-bot serve``: GitLab's webhooks answered in seconds, beside the schedule.

The HTTP side (:mod:`.app`) checks a delivery and queues its issue (:mod:`.queue`); one worker
(:mod:`.worker`) runs the queued issues as ``run --issue`` runs and the full pass on the
daemon's schedule; :mod:`.health` and :mod:`.metrics` say how it goes. Why it is built so:
docs/explanation/webhook-service.md.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from urllib.parse import urlsplit

from uvicorn.config import STARTUP_FAILURE

from exception_bot.domain.settings import Config
from exception_bot.gitlab import GitLab
from exception_bot.service.app import MAX_BODY, Hooks, create_app
from exception_bot.service.health import Health
from exception_bot.service.metrics import Metrics
from exception_bot.service.queue import WorkQueue
from exception_bot.service.server import free_socket, uvicorn_server
from exception_bot.service.worker import Settings, Worker

log = logging.getLogger(__name__)
DEFAULT_PATH = "/webhook"


def hook_path(url: str | None) -> str:
    """The path GitLab's deliveries come to: that of the configured hook URL, else
    :data:`DEFAULT_PATH`."""
    path = urlsplit(url).path if url else ""
    return path if path not in ("", "/healthz", "/metrics") else DEFAULT_PATH


def _stopped(signum: int, frame: FrameType | None) -> None:
    log.info("signal %s: stopped", signum)


class Service:
    """The queue, the worker, the metrics and health, and the ASGI app over them."""

    def __init__(
        self,
        gitlab: GitLab,
        config: Config,
        secret: str,
        clock: Callable[[], datetime],
        settings: Settings,
        path: str = DEFAULT_PATH,
        max_body: int = MAX_BODY,
    ) -> None:
        self.queue = WorkQueue(
            cooldown=settings.cooldown,
            limit=settings.waiting,
            watch_cooldown=settings.watch_cooldown,
        )
        self.metrics = Metrics(clock, self.queue.depth)
        self.health = Health(settings.every.total_seconds())

        def answered(method: str, path: str, status: int) -> None:
            self.metrics.answer(method, path, status)
            self.health.answered()

        gitlab.observe(answered, self.metrics.paused)
        self.worker = Worker(gitlab, config, self.queue, self.metrics, self.health, clock, settings)
        hooks = Hooks(secret, config, self.queue, self.metrics, max_body)
        self.app = create_app(hooks, self.health, path)

    def serve(self, host: str, port: int) -> None:
        """Serve until SIGINT or SIGTERM (uvicorn's), then stop the worker after its run."""
        # uvicorn stops on SIGINT or SIGTERM, then raises the signal again for the handler it
        # found: a no-op one lets the worker finish its run and the command end with exit 0.
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, _stopped) for sig in stops}
        self.worker.start()
        try:
            served = uvicorn_server(self.app, host, port)
            served.run()
            if not served.started:  # as uvicorn.run: the port is taken, or not ours to bind
                sys.exit(STARTUP_FAILURE)
        finally:
            log.info("stopping: the worker finishes its run first")
            self.worker.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    @contextmanager
    def running(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve on a free port of ``host`` in threads of this process (the tests, the
        benchmark and the demo); yields the service's base URL."""
        sock = free_socket(host)
        port = sock.getsockname()[1]
        served = uvicorn_server(self.app)
        thread = threading.Thread(
            target=served.run, kwargs={"sockets": [sock]}, name="exception-bot-http"
        )
        thread.start()
        self.worker.start()
        try:
            while not served.started and thread.is_alive():
                threading.Event().wait(0.01)
            yield f"http://{host}:{port}"
        finally:
            served.should_exit = True
            thread.join()
            self.worker.stop()
            sock.close()
