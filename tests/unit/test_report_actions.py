"""The weekly report's decisions, made from what the shell read
(exception_bot/domain/report_actions.py): the week's issue opened when missing, left alone by a
run, rewritten by a pass that brings it up to date only when its text differs as GitLab keeps it."""

from __future__ import annotations

from exception_bot.domain.actions import IssueRef, OpenIssue, SetDescription
from exception_bot.domain.report import weekly_report
from exception_bot.domain.report_actions import ReportIssue, report_issue_actions
from exception_bot.domain.review.context import Context
from exception_bot.domain.settings import Config
from exception_bot.render import TEMPLATES
from tests.issues import BOT
from tests.support.decisions import DIRECTORY, T0


def test_a_missing_report_issue_is_opened_with_the_rendered_report(config: Config) -> None:
    ctx = Context(config, DIRECTORY, BOT, T0, TEMPLATES)
    report = weekly_report([], T0, config.calendar)
    (opened,) = report_issue_actions(report, None, ctx)
    assert opened == OpenIssue(
        config.gitlab.register_project,
        report.title,
        TEMPLATES.render_report(report),
        report.marker,
    )


def test_a_found_report_is_rewritten_only_when_read_and_different(config: Config) -> None:
    ctx = Context(config, DIRECTORY, BOT, T0, TEMPLATES)
    report = weekly_report([], T0, config.calendar)
    text = TEMPLATES.render_report(report)
    assert report_issue_actions(report, ReportIssue(7, None), ctx) == ()
    # GitLab keeps the description without its trailing blank: that is not a change.
    assert report_issue_actions(report, ReportIssue(7, text.rstrip()), ctx) == ()
    (rewritten,) = report_issue_actions(report, ReportIssue(7, "last week's text"), ctx)
    assert rewritten == SetDescription(IssueRef(config.gitlab.register_project, 7), text)
