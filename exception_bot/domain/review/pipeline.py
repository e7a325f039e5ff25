"""The order of the review's steps: each takes the :class:`Walk` so far and returns the next.

A settled request (rejected, approved and after, or over) is no longer routed: its action
labels are answered or refused, and aftercare looks after it. Any other is routed: its
action labels, the route and the ticks that count, the state they give, whose turn it is,
the stage's SLA, and aftercare once it is approved.
"""

from __future__ import annotations

from dataclasses import replace

from exception_bot.domain.actions import CloseIssue
from exception_bot.domain.approvals import fields_hash
from exception_bot.domain.model import ActionLabel, ExceptionRequest, State
from exception_bot.domain.review import action_labels, appeals, escalations, renewal, routing
from exception_bot.domain.review.aftercare import aftercare
from exception_bot.domain.review.assignees import notify
from exception_bot.domain.review.escalation_item import escalation_item
from exception_bot.domain.review.slas import watch_sla
from exception_bot.domain.review.states import AFTERCARE, ENDED, SETTLED
from exception_bot.domain.review.tampering import report_tampering
from exception_bot.domain.review.ticks import undo_rejected
from exception_bot.domain.review.walk import Review, Walk


def run(review: Review, walk: Walk) -> Walk:
    """Every step, in order, for one issue."""
    walk = report_tampering(review, walk)
    if walk.state is State.REJECTED:
        walk = appeals.accept_appeal(review, walk)
    else:
        walk = action_labels.refuse(review, walk, ActionLabel.APPEAL)
    walk = escalations.decide(review, escalations.accept(review, walk))
    if escalations.waiting_for_ciso(walk):
        return walk
    walk = settled(review, walk) if walk.state in SETTLED else unsettled(review, walk)
    if walk.state is State.REJECTED:
        return appeals.close_when_final(review, walk)
    if walk.state in ENDED and review.issue.state != "closed":
        # The request's state, not the run that ended it, says the issue is done: a rerun
        # closes it when that run died before closing it (or a person reopened it).
        return walk.edit(CloseIssue(walk.plan.ref))
    return walk


def settled(review: Review, walk: Walk) -> Walk:
    """A decided request: no more routing; revocation, renewal and aftercare."""
    walk = action_labels.refuse(
        review, walk, ActionLabel.REJECT, ActionLabel.REQUEST_CHANGES, ActionLabel.ESCALATE
    )
    walk = routing.freeze(review, walk)
    walk = escalations.revoked(review, appeals.accept_revocation(review, walk))
    if walk.state in AFTERCARE:
        walk = renewal.renewed(review, walk)
    return aftercare(review, walk)


def unsettled(review: Review, walk: Walk) -> Walk:
    """A request being decided: needs-info while it has problems, else routed."""
    walk = action_labels.refuse(review, walk, ActionLabel.REVOKE)
    if walk.state is State.NEEDS_INFO and routing.appeal_pending(walk.rec):
        # An appeal accepted, or under way, when the text stopped validating: it waited in
        # needs-info and is still the appeal, not the route that rejected the request.
        walk = replace(walk, state=State.APPEAL)
    if walk.state is State.APPEAL:
        walk = appeals.appeal_checklist(review, walk)
    if review.request is None:
        return replace(walk, state=State.NEEDS_INFO)
    return routed(review, walk, review.request)


def routed(review: Review, walk: Walk, request: ExceptionRequest) -> Walk:
    """A valid request on its route."""
    digest = fields_hash(review.as_written or request)  # approvals are of what was written
    if walk.state is State.APPEAL:
        walk = action_labels.refuse(review, walk, ActionLabel.ESCALATE, ActionLabel.REQUEST_CHANGES)
    else:
        walk = action_labels.accept_escalation(review, walk, request)
    walk = renewal.link_original(review, walk)
    walk = routing.follow_route(review, walk, request, digest)
    walk = escalation_item(review, walk)
    walk = undo_rejected(review, walk)
    walk = action_labels.accept_decisions(review, walk)
    walk = routing.routing_state(review, walk)
    walk = notify(review, walk, request, digest)
    walk = watch_sla(review, walk)
    return aftercare(review, walk)
