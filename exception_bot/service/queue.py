"""The service's work queue: one entry per issue (or the register watch), however many events
came for it.

A tick fires an Issue Hook, a comment a Note Hook, and a burst of edits a burst of both; the
bot reads the whole issue whatever the event said, so ten events waiting for one issue ask for
one run of it. An event that comes while its issue is being processed queues it again: the run
under way may have read the issue before that change. Each entry keeps when its first waiting
event came, for the tick-to-reaction latency, and the queue keeps the delivery ids it has seen
(a bounded LRU), for GitLab's replays.

The register watch (a full pass) is run at most once per :data:`WATCH_COOLDOWN`. An issue is
run at most once per :data:`COOLDOWN`: the first event of a quiet issue is taken
at once, and the events that come within the cooldown after its run ended wait for the
cooldown's end, then ask for one run together. A burst of edits, or someone (or something)
commenting in a loop, costs an issue one run per cooldown, not one per event, and cannot keep
the worker from the other issues.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from exception_bot.service.events import WatchWork, Work

SEEN_DELIVERIES = 10_000  # X-Gitlab-Event-UUIDs remembered: hours of a busy instance's events
# Entries waiting at most: anyone with the secret could post every iid there is, and each
# entry is memory and a place in the worker's line. Past it a new issue is refused (the full
# pass sees it); 20 times the benchmark's 500 issues in one burst.
MAX_WAITING = 10_000
COOLDOWN = 10.0  # seconds from the end of an issue's run before its next run may start
# The register watch is a full pass (every open request read): anyone who may comment on a
# register merge request could otherwise have the service read everything every cooldown.
WATCH_COOLDOWN = 60.0


class QueueFull(Exception):
    """:data:`MAX_WAITING` entries wait already: this new one is left to the full pass."""


@dataclass(frozen=True)
class Waiting:
    """A queued entry: its work, when its first waiting event came (time.monotonic()), and
    how many events it stands for."""

    work: Work
    since: float
    events: int


class WorkQueue:
    """Thread-safe: the web server's threads put, the service's one worker takes."""

    def __init__(
        self,
        seen: int = SEEN_DELIVERIES,
        cooldown: float = COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
        limit: int = MAX_WAITING,
        watch_cooldown: float = WATCH_COOLDOWN,
    ) -> None:
        self._limit = limit
        self._watch_cooldown = max(cooldown, watch_cooldown)
        self._cond = threading.Condition()
        self._waiting: OrderedDict[Work, Waiting] = OrderedDict()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_limit = seen
        self._cooldown = cooldown
        self._clock = clock
        self._ran: OrderedDict[Work, float] = OrderedDict()  # runs ended within the cooldown
        self._watched: float | None = None  # the latest watch's end, within its cooldown
        self.in_flight = 0  # entries the last take gave, until the worker is done with them
        self._taken: list[Work] = []

    def put(self, work: Work, at: float | None = None) -> bool:
        """Queue ``work``; False when it was waiting already (this event joined it);
        :class:`QueueFull` when it was not and the queue is at its limit."""
        at = self._clock() if at is None else at
        with self._cond:
            found = self._waiting.get(work)
            if found is not None:
                self._waiting[work] = Waiting(work, min(found.since, at), found.events + 1)
                return False
            if len(self._waiting) >= self._limit:
                raise QueueFull
            self._waiting[work] = Waiting(work, at, 1)
            self._cond.notify()
            return True

    def take(self, timeout: float, limit: int = 0) -> list[Waiting]:
        """The waiting entries out of their cooldown (the ``limit`` oldest, when given), once
        there is one or ``timeout`` seconds have passed (then none); :meth:`done` says when
        their run ended."""
        with self._cond:
            end = self._clock() + timeout
            while True:
                now = self._clock()
                self._forget_runs_before(now - self._cooldown)
                ready = [w for w in self._waiting.values() if self._ready_at(w) <= now]
                if ready or now >= end:
                    break
                soonest = min((self._ready_at(w) for w in self._waiting.values()), default=end)
                self._cond.wait(max(0.0, min(end, soonest) - now))
            taken = ready if limit <= 0 else ready[:limit]
            self.in_flight = len(taken)
            self._taken = [entry.work for entry in taken]
            for entry in taken:
                del self._waiting[entry.work]
            return taken

    def _ready_at(self, entry: Waiting) -> float:
        if isinstance(entry.work, WatchWork):
            ran, cooldown = self._watched, self._watch_cooldown
        else:
            ran, cooldown = self._ran.get(entry.work), self._cooldown
        return entry.since if ran is None else max(entry.since, ran + cooldown)

    def _forget_runs_before(self, moment: float) -> None:
        while self._ran and next(iter(self._ran.values())) <= moment:
            self._ran.popitem(last=False)

    def put_back(self, entries: list[Waiting]) -> None:
        """Queue again entries a failed run took, keeping their first event's time; they
        are out of their cooldown (the run did not happen)."""
        with self._cond:
            for entry in entries:
                self._ran.pop(entry.work, None)
                if entry.work in self._taken:  # its run did not happen: no cooldown
                    self._taken.remove(entry.work)
                found = self._waiting.get(entry.work)
                since = entry.since if found is None else min(found.since, entry.since)
                events = entry.events + (found.events if found else 0)
                self._waiting[entry.work] = Waiting(entry.work, since, events)
                self._waiting.move_to_end(entry.work, last=False)
            self._cond.notify()

    def done(self) -> None:
        """The worker is done with the entries it took: their cooldown starts now, so two
        runs of an issue read it at least a cooldown apart, however long a batch takes."""
        with self._cond:
            now = self._clock()
            for work in self._taken:
                if isinstance(work, WatchWork):
                    self._watched = now
                    continue
                self._ran[work] = now
                self._ran.move_to_end(work)
            self.in_flight, self._taken = 0, []
            self._cond.notify()

    def depth(self) -> int:
        with self._cond:
            return len(self._waiting)

    def oldest(self, now: float | None = None) -> float:
        """Seconds the oldest waiting entry has waited (0 when none waits)."""
        now = self._clock() if now is None else now
        with self._cond:
            if not self._waiting:
                return 0.0
            return max(0.0, now - min(w.since for w in self._waiting.values()))

    def first_delivery(self, uuid: str) -> bool:
        """True the first time ``uuid`` is seen (it is remembered); False for a replay."""
        with self._cond:
            if uuid in self._seen:
                self._seen.move_to_end(uuid)
                return False
            self._seen[uuid] = None
            if len(self._seen) > self._seen_limit:
                self._seen.popitem(last=False)
            return True

    def forget(self, uuid: str) -> None:
        """Forget a delivery id: its work was not queued, so a redelivery is not a replay."""
        with self._cond:
            self._seen.pop(uuid, None)

    def wake(self) -> None:
        """Wake the worker waiting in :meth:`take` (the service is stopping)."""
        with self._cond:
            self._cond.notify_all()
