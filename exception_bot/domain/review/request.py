"""Which request the review goes by: the description as validated, or none while it has
problems; for a settled request, the terms that were approved, whatever the description says
now (docs/explanation/how-run-decides.md: Validation; security.md; after-approval.md:
Renewals; approvals.md: Approved terms).
"""

from __future__ import annotations

from dataclasses import dataclass

from exception_bot.domain import record
from exception_bot.domain.calendar import day_start
from exception_bot.domain.fields import parse_body
from exception_bot.domain.model import ExceptionRequest, Flag, IssueSnapshot, Problem, State
from exception_bot.domain.review.approved_terms import changed_after_approval
from exception_bot.domain.review.context import Context
from exception_bot.domain.review.plan import Plan
from exception_bot.domain.review.problems import command_problems
from exception_bot.domain.review.renewal import check_renewal
from exception_bot.domain.review.states import SETTLED
from exception_bot.domain.validation import validate


@dataclass(frozen=True)
class Intake:
    """The request the review goes by, and what reading it found."""

    request: ExceptionRequest | None  # None: it has problems (needs-info)
    flags: tuple[Flag, ...]
    problems: tuple[Problem, ...]
    unsafe: bool  # the description holds lines GitLab would run: the bot must not save it
    changed: bool | None  # differs from the approved terms (None: there are none yet)
    rec: record.Record
    plan: Plan


def intake(
    issue: IssueSnapshot,
    ctx: Context,
    rec: record.Record,
    plan: Plan,
    original: IssueSnapshot | None,
) -> Intake:
    """``original`` is the issue a renewal renews, when its *Renews* names one that exists."""
    # "Expires after today" is a rule for deciding a request, not for watching an approved one.
    settled = rec.state is not None and State(rec.state) in SETTLED
    validation = validate(
        parse_body(issue.description),
        ctx.config,
        created_at=issue.created_at,
        now=issue.created_at if settled else ctx.now,
    )
    request = validation.request
    if request is not None and not settled:
        # It passed "expires after today" now: that stops holding when its expiry day begins.
        plan = plan.wake_at(day_start(request.expiration_date, ctx.config.calendar))
    unsafe = command_problems(issue.description)
    problems = (*validation.problems, *unsafe)
    if problems:
        request = None
    if request is not None and request.renews is not None and not settled:
        rec, renewal_problems = check_renewal(issue, ctx, rec, original)
        if renewal_problems:
            request, problems = None, (*problems, *renewal_problems)
    changed = None
    if settled and rec.terms is not None:
        # From final approval on, the exception is what was approved (domain/terms.py): the
        # description as it is now only decides whether to say that the terms stand.
        plan, changed = changed_after_approval(plan, issue, ctx, rec.terms, request)
        request, problems = rec.terms.request, ()
    return Intake(request, validation.flags, problems, bool(unsafe), changed, rec, plan)
