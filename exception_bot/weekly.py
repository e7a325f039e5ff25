"""The weekly report phase: this week's report issue in the register project, made from what a
run (or a survey) found, written through a sink like every other write of the bot.

A run opens the week's issue when it is missing and leaves it alone after (one search a run);
``report --post`` and the daemon's Monday report also bring its text up to date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from exception_bot.domain import metrics
from exception_bot.domain.actions import Action, OpenIssue, SetDescription
from exception_bot.domain.remediation import GateSeen, remediation_rows
from exception_bot.domain.report import RequestFacts, WeeklyReport, weekly_report
from exception_bot.domain.report_actions import ReportIssue, report_issue_actions
from exception_bot.domain.review.context import Context
from exception_bot.errors import GitLabUnavailable
from exception_bot.executor import GitLabSink, Sink
from exception_bot.gitlab import GitLab
from exception_bot.monthly import Closed, month_metrics

if TYPE_CHECKING:
    from exception_bot.runner import IssueResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reported:
    """What the report phase did: the issue it wrote to (None when it wrote nothing, or in a
    dry run) and its actions (done, or for a dry run to print)."""

    posted: str | None
    actions: tuple[Action, ...] = ()


def weekly(
    results: Iterable[IssueResult],
    ctx: Context,
    extra: Iterable[RequestFacts] = (),
    closed: Closed | None = None,
    gates: Mapping[str, GateSeen] | None = None,
) -> WeeklyReport:
    """``closed``: the requests closed this month, read by ``report`` and the daemon's
    Monday report; with them the report shows the month so far's figures. ``gates``: the
    covered projects' gate summaries, which they read too, for the remediation progress."""
    listed = list(results)
    facts = [*(r.facts for r in listed if r.facts is not None), *extra]
    failed = [r.issue for r in listed if r.error is not None]
    month = None
    if closed is not None:
        failed += closed.failed
        this_month = metrics.month_of(ctx.now, ctx.config.calendar.tz)
        month = metrics.metrics_context(month_metrics(this_month, ctx, facts, closed.facts))
    remediation = remediation_rows(facts, gates) if gates is not None else None
    return weekly_report(facts, ctx.now, ctx.config.calendar, failed, month, remediation)


def report_actions(
    gitlab: GitLab, ctx: Context, report: WeeklyReport, *, update: bool
) -> tuple[Action, ...]:
    """Reads the week's report issue (a search; its text only when ``update``), then leaves the
    deciding to :mod:`~exception_bot.domain.report_actions`."""
    project = ctx.config.gitlab.register_project
    iid = gitlab.find_issue(project, report.title, report.marker, ctx.bot.id)
    if iid is None:
        return report_issue_actions(report, None, ctx)
    text = gitlab.issue_description(project, iid) if update else None
    return report_issue_actions(report, ReportIssue(iid, text), ctx)


def report_phase(
    gitlab: GitLab,
    ctx: Context,
    report: WeeklyReport,
    sink: Sink,
    *,
    update: bool,
) -> Reported:
    """Decide the report's actions and apply them to ``sink``. A failure is logged, not
    raised: the report must not fail the run that processed the requests (GitLab itself
    gone, or the token refused, still stops it)."""
    project = ctx.config.gitlab.register_project
    try:
        actions = report_actions(gitlab, ctx, report, update=update)
        wrote = [action for action in actions if sink.apply(action)]
    except GitLabUnavailable:
        raise
    except Exception as err:
        log.error("weekly report for %s in %s: failed: %s", report.week, project, err)
        return Reported(None)
    return Reported(_posted(wrote, sink), actions)


def _posted(wrote: Iterable[Action], sink: Sink) -> str | None:
    """The issue written to: the one a :class:`GitLabSink` opened, or the one rewritten."""
    for action in wrote:
        if isinstance(action, SetDescription):
            return str(action.issue)
        if isinstance(action, OpenIssue) and isinstance(sink, GitLabSink) and sink.opened:
            return str(sink.opened[-1])
    return None


def post_report(
    gitlab: GitLab,
    ctx: Context,
    results: Iterable[IssueResult],
    *,
    update: bool,
    extra: Iterable[RequestFacts] = (),
    closed: Closed | None = None,
    gates: Mapping[str, GateSeen] | None = None,
) -> str | None:
    """This week's report issue in the register project: created when missing; its text
    brought up to date only when ``update`` (the report command), so a run costs one search.

    Returns a reference to the issue when something was written.
    """
    settings = ctx.config.gitlab
    sink = GitLabSink(gitlab, settings.register_project, settings.register_branch)
    report = weekly(results, ctx, extra, closed, gates)
    return report_phase(gitlab, ctx, report, sink, update=update).posted
