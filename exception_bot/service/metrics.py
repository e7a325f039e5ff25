"""The service's Prometheus metrics, in a registry of its own (two services in one process,
as the tests start them, count apart).

Label values are bounded: GitLab's endpoints are counted by their shape
(``/projects/:id/issues/:id/notes``), never by the project or issue they name, and states and
stages come from the config's tables, not from what anyone typed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from exception_bot.domain.report import RequestFacts

# Tick to reaction: the goal is under 3 s at the 95th percentile; a webhook missed waits for
# the full pass (minutes).
REACTION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0)
PASS_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
# Segments after these name one thing (an id, an url-encoded path, a branch, a file).
_NAMED_BY_NEXT = frozenset(
    [
        "projects",
        "groups",
        "users",
        "issues",
        "merge_requests",
        "notes",
        "members",
        "files",
        "branches",
        "commits",
        "labels",
        "discussions",
        "tags",
        "links",
        "award_emoji",
        "resource_label_events",
        "hooks",
    ]
)
_WORD = re.compile(r"[a-z_]{1,40}")
MAX_ENDPOINTS = 200  # distinct endpoint labels; further ones count as "other"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def endpoint(path: str) -> str:
    """The shape of a GitLab API path: ``/api/v4/projects/a%2Fb/issues/7`` is
    ``/projects/:id/issues/:id``."""
    parts = path.split("/api/v4", 1)[-1].strip("/").split("/")
    shaped: list[str] = []
    for n, part in enumerate(parts):
        named = n > 0 and parts[n - 1] in _NAMED_BY_NEXT
        word = _WORD.fullmatch(part) is not None and (not named or part == "all")
        shaped.append(part if word else ":id")
    return "/" + "/".join(shaped)


@dataclass(frozen=True)
class Standing:
    """Where one request stands, for the gauges: its state, stage and since when."""

    state: str
    stage: str | None
    stage_since: datetime | None

    @classmethod
    def of(cls, facts: RequestFacts) -> Standing:
        return cls(facts.state.value, facts.stage, facts.stage_started_at)


class Requests(Collector):
    """Requests per state and stage, and the oldest waiting in each stage, as of the latest
    runs: computed at each scrape, so the oldest's age grows between runs."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._standing: dict[str, Standing] = {}

    def replace(self, standing: dict[str, Standing]) -> None:
        """A full pass saw every open request."""
        with self._lock:
            self._standing = dict(standing)

    def update(self, standing: dict[str, Standing]) -> None:
        """A run of some issues saw these."""
        with self._lock:
            self._standing.update(standing)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            standing = list(self._standing.values())
        counts = GaugeMetricFamily(
            "exception_bot_requests",
            "Open requests by state and stage, as the latest runs saw them.",
            labels=["state", "stage"],
        )
        tally: dict[tuple[str, str], int] = {}
        for one in standing:
            key = (one.state, one.stage or "")
            tally[key] = tally.get(key, 0) + 1
        for (state, stage), count in sorted(tally.items()):
            counts.add_metric([state, stage], count)
        yield counts
        oldest = GaugeMetricFamily(
            "exception_bot_oldest_waiting_seconds",
            "How long the request waiting longest in each stage has waited there.",
            labels=["stage"],
        )
        now = self._clock()
        ages: dict[str, float] = {}
        for one in standing:
            if one.stage and one.stage_since is not None:
                age = max(0.0, (now - one.stage_since).total_seconds())
                ages[one.stage] = max(age, ages.get(one.stage, 0.0))
        for stage, age in sorted(ages.items()):
            oldest.add_metric([stage], age)
        yield oldest


class Metrics:
    """Every metric ``serve`` exports."""

    def __init__(self, clock: Callable[[], datetime], depth: Callable[[], float]) -> None:
        # The *_created series only double the exposition: a counter's start is the process's.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "exception_bot_webhook_deliveries",
            "Webhook deliveries received, by X-Gitlab-Event.",
            ["hook"],
            registry=r,
        )
        self.rejected = Counter(
            "exception_bot_webhook_rejected",
            "Deliveries that asked nothing of the bot, by reason (unauthorized, too_large, "
            "too_slow, malformed, unknown_event, unknown_project, not_a_request, replayed, "
            "own_event, queue_full).",
            ["reason"],
            registry=r,
        )
        self.queued = Counter(
            "exception_bot_webhook_queued",
            "Deliveries that queued work: new (a new entry) or coalesced (joined one waiting).",
            ["how"],
            registry=r,
        )
        self.depth = Gauge("exception_bot_queue_depth", "Entries waiting.", registry=r)
        self.depth.set_function(depth)
        self.decisions = Counter(
            "exception_bot_decisions",
            "Requests decided, by outcome (changed, unchanged, failed, skipped) and trigger "
            "(webhook, schedule).",
            ["outcome", "trigger"],
            registry=r,
        )
        self.actions = Counter(
            "exception_bot_actions", "Actions applied, by kind.", ["kind"], registry=r
        )
        self._api_init(r)
        self.full_pass = Histogram(
            "exception_bot_full_pass_seconds",
            "Duration of the scheduled full passes.",
            buckets=PASS_BUCKETS,
            registry=r,
        )
        self.full_pass_failures = Counter(
            "exception_bot_full_pass_failures", "Full passes that failed.", registry=r
        )
        self.reaction = Histogram(
            "exception_bot_reaction_seconds",
            "From a delivery's arrival to the end of the bot's writes on its issue, for the "
            "runs a webhook triggered that wrote.",
            buckets=REACTION_BUCKETS,
            registry=r,
        )
        self.requests = Requests(clock)
        r.register(self.requests)

    def _api_init(self, r: CollectorRegistry) -> None:
        self.api = Counter(
            "exception_bot_gitlab_requests",
            "GitLab API answers, by method and endpoint.",
            ["method", "endpoint"],
            registry=r,
        )
        self.api_errors = Counter(
            "exception_bot_gitlab_errors",
            "GitLab API answers with a 4xx or 5xx status, by method, endpoint and status.",
            ["method", "endpoint", "status"],
            registry=r,
        )
        self.rate_waits = Counter(
            "exception_bot_rate_limit_waits",
            "Pauses GitLab's RateLimit headers asked for.",
            registry=r,
        )
        self.rate_wait_seconds = Counter(
            "exception_bot_rate_limit_wait_seconds", "Seconds paused for them.", registry=r
        )
        self._endpoints: set[str] = set()
        self._lock = threading.Lock()

    def answer(self, method: str, path: str, status: int) -> None:
        """The GitLab adapter's observer (gitlab.GitLab.observe)."""
        shape = endpoint(path)
        with self._lock:
            if shape not in self._endpoints and len(self._endpoints) >= MAX_ENDPOINTS:
                shape = "other"
            self._endpoints.add(shape)
        self.api.labels(method, shape).inc()
        if status >= 400:
            self.api_errors.labels(method, shape, str(status)).inc()

    def paused(self, seconds: float) -> None:
        self.rate_waits.inc()
        self.rate_wait_seconds.inc(seconds)

    def applied(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            self.actions.labels(kind).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
