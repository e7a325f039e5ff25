"""The monthly metrics' reads: besides the open requests a survey reads, the requests closed
since the month began (rejected, remediated, expired, revoked), each decided like any other
(nothing applied) for its facts. Read by ``report`` (and the daemon's Monday report) only: a
run does not pay for them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from exception_bot.domain import metrics
from exception_bot.domain.actions import IssueRef
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.review import decide
from exception_bot.domain.review.context import Context
from exception_bot.domain.text import neutralise_quick_actions
from exception_bot.errors import GitLabUnavailable
from exception_bot.gitlab import GitLab
from exception_bot.render import render

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Closed:
    """The closed requests' facts, and those that could not be read (named in the report)."""

    facts: tuple[RequestFacts, ...] = ()
    failed: tuple[str, ...] = ()


def closed_since(gitlab: GitLab, ctx: Context, since: datetime) -> Closed:
    """Every request closed and changed on or after ``since``, as ``decide`` sees it."""
    config = ctx.config
    found: list[RequestFacts] = []
    failed: list[str] = []
    for project in config.gitlab.requests_projects:
        for attrs in gitlab.closed_requests(project.path, config.labels.intake, since):
            ref = IssueRef(project.path, int(attrs["iid"]))
            try:
                # with its links: a renewal's facts name the exception it renews
                snapshot = gitlab.snapshot(ref, attrs)
                facts = decide(snapshot, ctx).facts
            except GitLabUnavailable:
                raise
            except Exception as err:  # one issue's failure is named, not fatal
                log.error("%s: failed: %s", ref, err)
                failed.append(str(ref))
                continue
            if facts is not None:
                found.append(facts)
    return Closed(tuple(found), tuple(failed))


def month_start(month: str, ctx: Context) -> datetime:
    return metrics.month_bounds(month, ctx.config.calendar.tz)[0]


def month_metrics(
    month: str, ctx: Context, *groups: Iterable[RequestFacts]
) -> metrics.MonthlyMetrics:
    return metrics.monthly(
        (f for group in groups for f in group), month, ctx.now, ctx.config.calendar.tz
    )


def this_month(ctx: Context) -> str:
    return metrics.month_of(ctx.now, ctx.config.calendar.tz)


def closed_this_month(gitlab: GitLab, ctx: Context) -> Closed:
    """The closed requests the weekly report's *This month so far* needs."""
    return closed_since(gitlab, ctx, month_start(this_month(ctx), ctx))


def month_report(
    gitlab: GitLab,
    ctx: Context,
    month: str,
    open_facts: Iterable[RequestFacts],
    failed: Iterable[str],
    *,
    as_json: bool,
) -> str:
    """``report --month``: the month's figures as Markdown (or JSON), from the requests open
    now (``open_facts``, a survey's) and those closed since the month began. ``month`` is
    ``YYYY-MM``, or ``current`` for the month under way. ValueError for any other text."""
    month = this_month(ctx) if month.strip().lower() == "current" else month.strip()
    metrics.parse_month(month)
    closed = closed_since(gitlab, ctx, month_start(month, ctx))
    figures = month_metrics(month, ctx, open_facts, closed.facts)
    uncounted = sorted({*failed, *closed.failed})
    if as_json:
        return json.dumps({**metrics.metrics_json(figures), "failed": uncounted})
    context = metrics.metrics_context(figures)
    body = render("report/monthly.md.j2", month=context, uncounted=uncounted).strip()
    return neutralise_quick_actions(body)
