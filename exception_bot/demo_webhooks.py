"""``exception-bot demo --webhooks``: the demo's bot is ``serve``'s service, on a loopback
port, with the sandbox's project hooks pointing at it.

After each round of people's actions the sandbox delivers the round's webhooks (as GitLab
does once the requests that made the changes are answered); the service runs each issue they
name and the demo prints what it did and how long after the delivery came. Then the full pass
the service runs on its schedule stands in for the time the story skips (days of waiting: SLA
reminders, expiry), so the story ends as the demo without webhooks ends it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from typing import NamedTuple

from exception_bot.demo import START, BotRound
from exception_bot.domain.settings import Config
from exception_bot.gitlab import GitLab
from exception_bot.runner import IssueResult
from exception_bot.sandbox import Sandbox
from exception_bot.sandbox import webhooks as sandbox_hooks
from exception_bot.service import Service
from exception_bot.service.worker import Settings
from exception_bot.webhook_setup import HOOK_EVENTS

SETTLE_TIMEOUT = 60.0


class Heard(NamedTuple):
    result: IssueResult
    trigger: str  # "webhook" or "schedule"
    reaction: float | None  # seconds from the delivery to the writes' end


class WebhookBot:
    """The service, fed by the sandbox's hooks; :meth:`round` is one round's reactions."""

    def __init__(self, sandbox: Sandbox, config: Config, bot: str) -> None:
        self.sandbox, self.config, self.bot = sandbox, config, bot
        self.now = START
        self.gitlab = GitLab.connect(sandbox.url, sandbox.token(bot))
        self.secret = secrets.token_hex(16)
        # No cooldown: the story's people act on one request faster than anyone would.
        settings = Settings(timedelta(days=1), first_pass_now=False, cooldown=0.0)
        self.service = Service(self.gitlab, config, self.secret, lambda: self.now, settings)
        self._heard: list[Heard] = []
        self._lock = threading.Lock()
        self.service.worker.listeners.append(self._hear)

    def _hear(self, result: IssueResult, trigger: str, reaction: float | None) -> None:
        with self._lock:
            self._heard.append(Heard(result, trigger, reaction))

    @contextmanager
    def running(self) -> Iterator[WebhookBot]:
        with self.service.running() as url:
            self.sandbox.allow_local_webhooks()
            projects = [p.path for p in self.config.gitlab.requests_projects]
            for path in (*projects, self.config.gitlab.register_project):
                self.gitlab.add_webhook(
                    "project", path, f"{url}/webhook", dict(HOOK_EVENTS), self.secret
                )
            yield self

    def round(self, now: datetime) -> list[Heard]:
        """Deliver the round's webhooks and wait for the service's reactions; then the full
        pass of its schedule, at ``now``."""
        self.now = now
        with self.sandbox.app.lock:
            sandbox_hooks.dispatch(self.sandbox.store, self.sandbox.app.deliverer)
        self._settle()
        # The schedule's pass, brought forward; the worker waits on its empty queue, and the
        # pass's own writes fire hooks it answers without a run.
        self.service.worker.full_pass()
        self._settle()
        with self._lock:
            heard, self._heard = self._heard, []
        return heard

    def _settle(self) -> None:
        """Until the sandbox has sent every delivery and the service has run what they ask
        (the bot's own writes fire hooks too, which it answers without a run)."""
        end = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < end:
            self.sandbox.wait_for_deliveries(SETTLE_TIMEOUT)
            if self.service.worker.idle() and self.sandbox.wait_for_deliveries(0.0):
                time.sleep(0.05)  # a delivery on its way from the sandbox's thread
                if self.service.worker.idle():
                    return
            time.sleep(0.01)


def webhook_rounds(
    stack: ExitStack, sandbox: Sandbox, config: Config, bot: str
) -> Callable[[datetime], BotRound]:
    """The demo's bot rounds in webhook mode; the service stops when ``stack`` closes."""
    hooked = stack.enter_context(WebhookBot(sandbox, config, bot).running())

    def round_(now: datetime) -> BotRound:
        heard = hooked.round(now)
        told = tuple((h.result, _note(h)) for h in heard)
        reactions = [h.reaction for h in heard if h.reaction is not None]
        runs = sum(1 for h in heard if h.trigger == "webhook")
        passed = tuple(h.result for h in heard if h.trigger == "schedule")
        line = f"webhooks: {runs} runs"
        if reactions:
            line += f", reactions {min(reactions):.2f}-{max(reactions):.2f} s"
        line += f"; then the scheduled pass over {len(passed)} requests"
        failed = sum(1 for h in heard if h.result.error)
        return BotRound(told, line, passed, failed)

    return round_


def _note(heard: Heard) -> str:
    if heard.reaction is not None:
        return f"  [{heard.reaction:.2f} s after the webhook]"
    return "  [the scheduled pass]" if heard.trigger == "schedule" else ""
