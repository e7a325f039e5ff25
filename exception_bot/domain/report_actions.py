"""What the weekly report phase writes, decided from what it read: the week's report issue
opened when missing, its text replaced when a pass that brings it up to date finds it differs.
No reads here: :mod:`exception_bot.weekly` reads, this decides, the run's sink applies (or, in
a dry run, records). The text comes from the renderer the shell hands in, ``ctx.renderer``."""

from __future__ import annotations

from dataclasses import dataclass

from exception_bot.domain.actions import Action, IssueRef, OpenIssue, SetDescription
from exception_bot.domain.report import WeeklyReport
from exception_bot.domain.review.context import Context


@dataclass(frozen=True)
class ReportIssue:
    """The week's report issue as found on GitLab: its iid and its description, read only by a
    pass that brings the report up to date (None: not read, so the issue is left alone)."""

    iid: int
    text: str | None


def report_issue_actions(
    report: WeeklyReport, found: ReportIssue | None, ctx: Context
) -> tuple[Action, ...]:
    """The week's report issue opened when ``found`` is None; its text replaced when it was
    read and differs. Renders only when it may be written."""
    project = ctx.config.gitlab.register_project
    if found is None:
        text = ctx.renderer.render_report(report)
        return (OpenIssue(project, report.title, text, report.marker),)
    if found.text is None:
        return ()  # posted this week already: a run does not rewrite it, so no render
    text = ctx.renderer.render_report(report)
    # GitLab keeps a description without its trailing blank (it strips what its quick actions
    # leave, lib/gitlab/quick_actions/extractor.rb): compared as kept, an unchanged report is
    # not written again.
    if found.text.rstrip() == text.rstrip():
        return ()
    return (SetDescription(IssueRef(project, found.iid), text),)
