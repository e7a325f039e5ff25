"""The security team assesses the risk (docs/explanation/routing.md, "The security team
assesses the risk"): ``exception-action::risk-<level>`` labels, before the route is followed.

Who may: a holder of a ``risk_assessment.roles`` role that is on the request's route (for its
level as assessed so far), or the CISO; never a requester. The label *event* decides, by its
actor, as for every action label (:mod:`~exception_bot.domain.review.action_labels`); anyone
else's is reported as tampering and removed. A raise by the security team takes effect at
once; a lowering is proposed until a holder of the CISO role adds the same label (the CISO's
own label takes effect at once). A decided request keeps the level it was decided on: the
labels are refused there, as during an appeal or while the request does not validate.

The request the review goes by then carries the assessed level (its route, labels, SLA and
register entry follow it); what the requester wrote stays what the approvals' hashes and the
approved terms are of (:attr:`Review.as_written`), so the approvals already given that the new
route also needs stand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from exception_bot.domain import record
from exception_bot.domain.assessment import Assessment, RiskRecord, effective, lower
from exception_bot.domain.escape import Markdown
from exception_bot.domain.model import (
    ActionLabel,
    ExceptionRequest,
    Flag,
    LabelEvent,
    RiskLevel,
    State,
)
from exception_bot.domain.people import holders, mentions
from exception_bot.domain.review.action_labels import refuse, reply, take
from exception_bot.domain.review.ciso_assignees import deputies
from exception_bot.domain.review.tampering import tamper
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.settings import CriticalInProduction

RISK_ACTIONS = {
    ActionLabel.RISK_CRITICAL: RiskLevel.CRITICAL,
    ActionLabel.RISK_HIGH: RiskLevel.HIGH,
    ActionLabel.RISK_MEDIUM: RiskLevel.MEDIUM,
    ActionLabel.RISK_LOW: RiskLevel.LOW,
}
# States a request's level may be assessed in: being routed, not decided nor appealed.
ASSESSABLE = frozenset({State.SUBMITTED, State.NEEDS_INFO, State.IN_REVIEW, State.ESCALATED})
REFUSED = "which only an approver of the security stage or the CISO may add"


def assess_risk(review: Review, walk: Walk) -> tuple[Review, Walk]:
    """The risk labels answered, and the review as it goes on: with the assessed level."""
    request = review.request
    if request is None or walk.state not in ASSESSABLE:
        walk = refuse(review, walk, *RISK_ACTIONS)
        return assessed(review, walk), walk
    found = []
    for action in RISK_ACTIONS:
        walk, event = take(review, walk, action)
        if event is not None:
            found.append((event, RISK_ACTIONS[action]))
    for event, level in sorted(found, key=lambda f: (f[0].created_at, f[0].id)):
        walk = _one(review, walk, request, event, level)
    return assessed(review, walk), walk


def assessed(review: Review, walk: Walk) -> Review:
    """``review`` going by the level in force: the request with it, and its flags."""
    written = review.request
    if written is None:
        return review
    level = effective(written.risk_level, walk.rec.risk)
    if level is written.risk_level:
        return review
    request = replace(written, risk_level=level)
    flags = tuple(f for f in review.flags if f is not Flag.NEEDS_CISO_ESCALATION)
    if _needs_ciso(review, request):
        flags = (*flags, Flag.NEEDS_CISO_ESCALATION)
    return replace(review, request=request, written=written, flags=flags)


def _needs_ciso(review: Review, request: ExceptionRequest) -> bool:
    """Critical in production goes to the CISO first, as validation decides for a request
    written so (domain/validation.py)."""
    config = review.config
    return (
        request.risk_level is RiskLevel.CRITICAL
        and config.is_production(request.environment)
        and config.limits.critical_in_production is CriticalInProduction.ESCALATE
    )


def _one(
    review: Review, walk: Walk, written: ExceptionRequest, event: LabelEvent, level: RiskLevel
) -> Walk:
    """One risk label event, by its actor."""
    user = event.user.username.lower()
    risk = walk.rec.risk or RiskRecord()
    current = effective(written.risk_level, risk)
    by = Assessment(level, user, event.created_at, event.id, written=written.risk_level)
    ciso = _ciso(review, written)
    # A deputy the CISO handed the role to answers for her on the delegation's days.
    if user in ciso | deputies(review, review.config.escalation.ciso_role, ciso, event.created_at):
        proposed = risk.proposed
        if proposed is not None and proposed.level is level:
            by = replace(proposed, confirmed_by=user)  # the security team's, confirmed
        kind = "confirmed" if by.confirmed_by else "set"
        return _answer(review, _keep(walk, RiskRecord(by, None)), event, kind, current, level)
    if user not in _assessors(review, written, current, event.created_at):
        return tamper(review, walk, event, REFUSED)
    if level is current:
        return _answer(review, _keep(walk, replace(risk, proposed=None)), event, "same", current)
    if lower(level, current):
        return _answer(review, _keep(walk, replace(risk, proposed=by)), event, "proposed", current)
    return _answer(review, _keep(walk, RiskRecord(by, None)), event, "raised", current, level)


def _keep(walk: Walk, risk: RiskRecord) -> Walk:
    return replace(walk, rec=replace(walk.rec, risk=risk))


def _assessors(
    review: Review, request: ExceptionRequest, level: RiskLevel, at: datetime
) -> frozenset[str]:
    """Holders of an assessing role on the route for ``level`` and their deputies on the
    day of ``at``, requesters left out."""
    config = review.config
    on_route = {role for stage in config.stages(level) for role in stage}
    found: set[str] = set()
    for role in config.risk_assessors:
        if role in on_route:
            held = holders(config, role, request, review.ctx.directory) - review.requesters
            found |= held | deputies(review, role, held, at)
    return frozenset(found - review.requesters)


def _ciso(review: Review, request: ExceptionRequest) -> frozenset[str]:
    role = review.config.escalation.ciso_role
    return holders(review.config, role, request, review.ctx.directory) - review.requesters


def _answer(
    review: Review,
    walk: Walk,
    event: LabelEvent,
    kind: str,
    was: RiskLevel,
    now: RiskLevel | None = None,
) -> Walk:
    """The one comment that answers a risk label: what changed, and the route it goes on."""
    config, request = review.config, review.request
    level = now or was
    route = " → ".join(
        " + ".join(config.roles[role].title for role in stage) for stage in config.stages(level)
    )
    ciso = config.escalation.ciso_role
    # The config's words (reviewed like code), the user's name shown by its filter.
    return reply(
        walk,
        event,
        "risk.md.j2",
        change=kind,
        was=Markdown(was.label),
        level=Markdown(level.label),
        route=Markdown(route),
        ciso=Markdown(" ".join(mentions(config, ciso, request)) if request else ""),
        ciso_title=Markdown(config.roles[ciso].title),
        label=Markdown(event.label),
    )


def risk_status(review: Review, rec: record.Record) -> dict[str, object] | None:
    """What the status note says of the levels, once anyone assessed the risk: the level in
    force, the one requested, who assessed it, and a lowering waiting for the CISO."""
    written = review.as_written
    if rec.risk is None or written is None:
        return None
    assessed, proposed = rec.risk.assessed, rec.risk.proposed
    return {
        "level": Markdown(effective(written.risk_level, rec.risk).label),
        "requested": Markdown(written.risk_level.label),
        "by": assessed.by if assessed else None,
        "confirmed_by": assessed.confirmed_by if assessed else None,
        "proposed": Markdown(proposed.level.label) if proposed else None,
        "proposed_by": proposed.by if proposed else None,
    }
