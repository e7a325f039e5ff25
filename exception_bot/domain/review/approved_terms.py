"""Approved terms (docs/explanation/approvals.md): from final approval on, the exception is
what was approved (:mod:`exception_bot.domain.terms`); an edit of the description after it
changes nothing and gets one comment saying the approved terms stand.
"""

from __future__ import annotations

from dataclasses import fields

from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.model import ExceptionRequest, IssueSnapshot
from exception_bot.domain.review.context import Context
from exception_bot.domain.review.plan import Plan
from exception_bot.domain.review.renewal import renewal_url
from exception_bot.domain.terms import Terms
from exception_bot.domain.validation import FIELD_BY_KEY


def changed_after_approval(
    plan: Plan,
    issue: IssueSnapshot,
    ctx: Context,
    approved: Terms,
    current: ExceptionRequest | None,
) -> tuple[Plan, bool]:
    """Whether the request says something else today than what was approved; the first time
    it does, one comment says the approved terms stand and how to change them (a renewal)."""
    if approved.matches(current, issue.title):
        return plan, False
    names = [] if current is None else _changed_fields(approved, current, issue.title)
    plan = plan.post_once(
        "changed",
        approved.hash,
        "changed.md.j2",
        fields=names,
        expires=approved.request.expiration_date,
        alert=Markdown(ctx.config.labels.changed_after_approval),
        requester=issue.author.username,
        renewal_url=url(renewal_url(issue, ctx)),
    )
    return plan, True


def _changed_fields(approved: Terms, current: ExceptionRequest, title: str) -> list[Markdown]:
    """The headings of the fields that differ from the approved ones, the title first."""
    names = [f.name for f in fields(ExceptionRequest)]
    changed = [n for n in names if getattr(current, n) != getattr(approved.request, n)]
    headings = [FIELD_BY_KEY[n].heading if n in FIELD_BY_KEY else n for n in changed]
    return [Markdown(h) for h in (["Title"] if title != approved.title else []) + headings]
