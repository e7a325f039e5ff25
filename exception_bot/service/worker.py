"""The service's one worker thread: the queued issues, the scheduled full passes and the weekly
report, one after the other.

One thread does every write, so a webhook's run of an issue never races the full pass in this
process, and an issue is processed by one run at a time. Against runs elsewhere (a CI job, a
manual ``run``) each run takes the run lock as ``run`` does (:mod:`exception_bot.run_lock`),
waiting up to ``lock_wait`` for it: the webhooks' runs are ``run --issue`` runs, the full pass
is ``run``. Taking the lock per run, not for the service's lifetime, costs three requests a
run (a read and two commits to the lock branch), and keeps a manual ``run`` possible while the
service is up; a batch of queued issues is one run, so a burst takes the lock once a batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from exception_bot.daemon import Daemon
from exception_bot.domain.actions import IssueRef
from exception_bot.domain.review.context import Context
from exception_bot.domain.settings import Config
from exception_bot.errors import GitLabUnavailable
from exception_bot.gitlab import GitLab
from exception_bot.monday_report import post_monday_report
from exception_bot.runner import IssueResult, Progress, RunSummary, context, run_once
from exception_bot.service.events import IssueWork, WatchWork
from exception_bot.service.health import Health
from exception_bot.service.metrics import Metrics, Standing
from exception_bot.service.queue import (
    COOLDOWN,
    MAX_WAITING,
    WATCH_COOLDOWN,
    Waiting,
    WorkQueue,
)

log = logging.getLogger(__name__)
BATCH = 50  # issues a run: a tick that comes during a burst waits for one batch, not the burst
RETRY_AFTER = 5.0  # seconds before a batch whose run failed is tried again
LOCK_WAIT = 60.0  # seconds a run waits for another's run lock before it is tried again later


@dataclass(frozen=True)
class Settings:
    """How the worker runs: the full pass's interval, the lock wait, the batch size, the
    cooldown between two runs of one issue."""

    every: timedelta
    lock_wait: float = LOCK_WAIT
    batch: int = BATCH
    first_pass_now: bool = True
    cooldown: float = COOLDOWN  # seconds from the end of an issue's run to its next
    waiting: int = MAX_WAITING  # entries the queue holds at most
    watch_cooldown: float = WATCH_COOLDOWN  # seconds between two webhook-asked register watches


class Worker:
    """Takes the queue's entries and runs them; runs the full pass on the daemon's schedule."""

    def __init__(
        self,
        gitlab: GitLab,
        config: Config,
        queue: WorkQueue,
        metrics: Metrics,
        health: Health,
        clock: Callable[[], datetime],
        settings: Settings,
    ) -> None:
        self.gitlab, self.config, self.queue = gitlab, config, queue
        self.metrics, self.health, self.clock = metrics, health, clock
        self.settings = settings
        self.stopping = threading.Event()
        self.runs: Counter[str] = Counter()  # runs of each issue (the benchmark reads it)
        self.full_passes = 0
        # Told of each request's decision: (result, "webhook" or "schedule", reaction seconds
        # for a webhook's run that wrote, else None); the demo prints them.
        self.listeners: list[Callable[[IssueResult, str, float | None], None]] = []
        self.busy = threading.Event()  # set while a run is under way
        self._daemon = Daemon(self.full_pass, settings.every, self.weekly_report)
        self._thread = threading.Thread(target=self._loop, name="exception-bot-worker")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the run under way (the queue's entries are left: the next start's full
        pass covers them)."""
        self.stopping.set()
        self.queue.wake()
        self._thread.join(timeout)

    def _loop(self) -> None:
        scheduler = self._daemon.scheduler
        if self.settings.first_pass_now:
            self.busy.set()
            self.full_pass()
            self.busy.clear()
        while not self.stopping.is_set():
            idle = scheduler.idle_seconds
            wait = 1.0 if idle is None else min(max(idle, 0.0), 1.0)
            entries = self.queue.take(wait, self.settings.batch)
            self.busy.set()
            if entries and not self.stopping.is_set():
                self.process(entries)
            elif entries:
                self.queue.put_back(entries)
            self.queue.done()
            if not self.stopping.is_set():
                scheduler.run_pending()
            self.busy.clear()

    def idle(self) -> bool:
        """Nothing queued and no run under way."""
        return self.queue.depth() == 0 and not self.queue.in_flight and not self.busy.is_set()

    # -- webhooks' runs -------------------------------------------------------------------------

    def process(self, entries: list[Waiting]) -> None:
        """Run the entries' issues as one ``run --issue`` run (and the watch, when asked); a
        run that could not start (GitLab down, the lock held elsewhere) puts them back."""
        issues = [(e.work, e.since) for e in entries if isinstance(e.work, IssueWork)]
        watch = any(isinstance(e.work, WatchWork) for e in entries)
        try:
            if issues:
                self._run_issues(issues)
            if watch:
                self.full_pass(weekly=False)
        except Exception as err:  # every issue's failure is the run's: try again later
            self._failed(err, "webhook run")
            self.queue.put_back(entries)
            self.stopping.wait(RETRY_AFTER)

    def _run_issues(self, issues: list[tuple[IssueWork, float]]) -> None:
        """The ``issues`` (with when their first waiting event came), each in its own
        project: #7 of one requests project is not #7 of another, neither to run nor to
        time."""
        self.gitlab.new_run()
        ctx = context(self.gitlab, self.config, self.clock())
        # The results name a project by its path; the config may name it by its id.
        given, found = self.config.gitlab.requests_projects, ctx.config.gitlab.requests_projects
        path_of = {g.path: f.path for g, f in zip(given, found, strict=True)}
        refs = [IssueRef(work.project, work.iid) for work, _ in issues]
        since = {
            str(IssueRef(path_of.get(work.project, work.project), work.iid)): at
            for work, at in issues
        }

        def done(count: int, total: int, result: IssueResult) -> None:
            self._heard(result, since, "webhook")

        summary = self._run(False, done, refs, ctx)
        self.metrics.requests.update(_standing(summary))

    def _run(
        self,
        weekly: bool,
        progress: Progress,
        issues: list[IssueRef] | None = None,
        ctx: Context | None = None,
    ) -> RunSummary:
        return run_once(
            self.gitlab,
            self.config,
            self.clock() if ctx is None else ctx.now,
            issues=issues or (),
            weekly=weekly,
            ctx=ctx,
            progress=progress,
            lock_wait=self.settings.lock_wait,
        )

    def _heard(self, result: IssueResult, since: dict[str, float], trigger: str) -> None:
        """Count one issue's decision; a webhook's run that wrote is a reaction."""
        if trigger == "webhook":
            self.runs[result.issue] += 1
        if result.error is not None:
            outcome = "failed"
        elif result.skipped:
            outcome = "skipped"
        else:
            outcome = "changed" if result.actions else "unchanged"
        self.metrics.decisions.labels(outcome, trigger).inc()
        self.metrics.applied(str(a.get("action")) for a in result.actions)
        reaction = None
        if result.actions and result.error is None and result.issue in since:
            reaction = time.monotonic() - since[result.issue]
            self.metrics.reaction.observe(reaction)
        for listener in self.listeners:
            listener(result, trigger, reaction)

    def _failed(self, err: Exception, what: str) -> None:
        if isinstance(err, GitLabUnavailable):
            self.health.unreachable(str(err))
        log.error("%s failed (%s); trying again later", what, err)
        log.debug("%s: traceback", what, exc_info=(type(err), err, err.__traceback__))

    # -- the schedule ---------------------------------------------------------------------------

    def full_pass(self, weekly: bool = True) -> None:
        """``run``: every open request, the register watch, the week's report when due."""
        started = time.monotonic()
        try:
            summary = self._run(
                weekly, lambda count, total, result: self._heard(result, {}, "schedule")
            )
        except Exception as err:
            self.metrics.full_pass_failures.inc()
            self.health.full_pass(str(err) or type(err).__name__)
            self._failed(err, "full pass")
            return
        self.full_passes += 1
        self.metrics.full_pass.observe(time.monotonic() - started)
        self.metrics.requests.replace(_standing(summary))
        # One request's failure is that request's (the next pass tries it again), not the
        # service's; a failed register watch leaves every merge-request exception unwatched.
        self.health.full_pass(summary.watch_error)

    def weekly_report(self) -> None:
        """The daemon's Monday report, brought up to date (``daemon`` does the same)."""
        try:
            post_monday_report(self.gitlab, context(self.gitlab, self.config, self.clock()))
        except Exception as err:
            self._failed(err, "weekly report")


def _standing(summary: RunSummary) -> dict[str, Standing]:
    return {r.issue: Standing.of(r.facts) for r in summary.results if r.facts is not None}
