"""Appeals and revocation (docs/explanation/after-approval.md): the requester's appeal of a
rejection within the appeal window, the ``## Appeal`` checklist it is decided on, the close of
a rejection once final, and the revocation of an approved or active exception by Security
Compliance or the CISO.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from exception_bot.domain import record
from exception_bot.domain.actions import AppendChecklist, CloseIssue
from exception_bot.domain.approvals import appeal_route
from exception_bot.domain.fields import normalise_heading, parse_body
from exception_bot.domain.model import ActionLabel, State
from exception_bot.domain.review import ciso_review
from exception_bot.domain.review.action_labels import answer, refuse, reply, take
from exception_bot.domain.review.ciso_assignees import acting
from exception_bot.domain.review.routing import APPEAL_HEADING
from exception_bot.domain.review.states import REVOCABLE
from exception_bot.domain.review.tampering import tamper
from exception_bot.domain.review.walk import Review, Walk


def accept_appeal(review: Review, walk: Walk) -> Walk:
    """``appeal`` from the requester, once, within the window after the rejection."""
    walk, event = take(review, walk, ActionLabel.APPEAL)
    if event is None:
        return walk
    decision = walk.rec.decision
    days = review.config.limits.appeal_window_days
    if event.user.username.lower() != review.requester:
        reason = "requester"
    elif "appealed" in walk.rec.milestones or decision is None:
        reason = "again"
    elif ciso_review.confirmed(walk.rec) or ciso_review.lapsed(walk.rec):
        reason = "escalated"  # the CISO confirmed it: one way to contest a rejection, not two
    elif event.created_at > decision.at + timedelta(days=days):
        reason = "late"
    else:
        rec = (
            replace(walk.rec, decision=None, rejection=decision, stage=None, stage_started_at=None)
            .reached("rejected", decision.at)
            .reached("appealed", event.created_at)
        )
        # The walk goes on to add the Appeal checklist.
        return answer(replace(walk, rec=rec, state=State.APPEAL), event, "appeal")
    return reply(
        walk,
        event,
        "appeal_refused.md.j2",
        reason=reason,
        requester=review.requester,
        days=days,
    )


def appeal_checklist(review: Review, walk: Walk) -> Walk:
    """An appeal is ticked under ``## Appeal``: add it while the description lacks it. Going
    by the description, not by the run that accepted the appeal, a rerun adds it when that
    run recorded the appeal but died before the description was saved."""
    body = parse_body(review.issue.description)
    if body.section(normalise_heading(APPEAL_HEADING)) is not None:
        return walk
    items = tuple(s.item for stage in appeal_route(review.config) for s in stage)
    return walk.edit(AppendChecklist(walk.plan.ref, APPEAL_HEADING, items))


def close_when_final(review: Review, walk: Walk) -> Walk:
    """A rejection is final after a denied appeal, or once the appeal window has passed."""
    decision = walk.rec.decision
    if decision is None or review.issue.state == "closed":
        return walk
    window = timedelta(days=review.config.limits.appeal_window_days)
    appealed = "appealed" in walk.rec.milestones
    # Confirmed by the CISO on escalation (escalations.py): as final as a denied appeal.
    confirmed = ciso_review.confirmed(walk.rec)
    lapsed = ciso_review.lapsed(walk.rec) and not appealed
    walk = walk.wake_at(decision.at + window + timedelta(seconds=1))
    if appealed or confirmed or lapsed or review.ctx.now > decision.at + window:
        walk = walk.post_once(
            "final",
            "",
            "final.md.j2",
            appealed=appealed,
            confirmed=confirmed and not appealed,
            lapsed=lapsed,
        )
        walk = walk.edit(CloseIssue(walk.plan.ref))
    return walk


def legal_opinion_url(review: Review, walk: Walk) -> str | None:
    """The newest comment of whoever ticked the appeal's first item, before the tick."""
    first = appeal_route(review.config)[0]
    approved = walk.approvals.approvals if walk.approvals else {}
    tick = next((approved[s.key] for s in first if s.key in approved), None)
    if walk.state is not State.APPEAL or tick is None:
        return None
    issue = review.issue
    notes = [
        n
        for n in issue.notes
        if not n.system and n.author.username.lower() == tick.user and n.created_at <= tick.at
    ]
    return f"{issue.web_url}#note_{notes[-1].id}" if notes else None


def accept_revocation(review: Review, walk: Walk) -> Walk:
    """``revoke`` from Security Compliance (the route's final stage) or the CISO."""
    request = review.request
    if walk.state not in REVOCABLE or request is None:
        return refuse(review, walk, ActionLabel.REVOKE)
    walk, event = take(review, walk, ActionLabel.REVOKE)
    if event is None:
        return walk
    config = review.config
    roles = (*config.stages(request.risk_level)[-1], config.escalation.ciso_role)
    # and a deputy a holder handed the role to, on the delegation's days
    allowed = acting(review, roles, request, event.created_at)
    user = event.user.username.lower()
    if user not in allowed:
        who = " or ".join(review.title(role) for role in roles)
        return tamper(review, walk, event, f"which only {who} may add")
    decision = record.Decision(ActionLabel.REVOKE.value, user, event.created_at, event.id)
    rec = replace(walk.rec, decision=decision).reached("revoked", event.created_at)
    walk = replace(walk, rec=rec, state=State.REVOKED)
    return answer(walk, event, "revoke", requester=review.requester)
