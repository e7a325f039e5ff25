"""Escalations to the CISO after a decision (docs/explanation/escalations.md).

``exception-action::escalate`` on a *rejected* request, from the requester within the appeal
window and once (beside the Legal appeal, not after it): the CISO ticks *CISO reinstates the
request* under ``## CISO escalation`` to put it back into its route, at the stage that rejected
it, or adds ``exception-action::reject`` to confirm the rejection, which is then final. A
rejected renewal is escalated the same way; the CISO is shown the state of the exception it
renews.

``exception-action::escalate`` on an *approved* exception not active yet, from the requester
or Security Compliance (its compensating controls cannot be implemented; the activation
deadline escalates the same way): the CISO ticks *CISO accepts without compensating controls*
to put it in force without them (the register says so), or revokes it with
``exception-action::revoke`` (:func:`~exception_bot.domain.review.appeals.accept_revocation`).

Each answer is a GitLab event by a verified holder of the CISO role: the tick by its checklist
note, the label by its label event, as for every other decision.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from exception_bot.domain import record, renewals
from exception_bot.domain.actions import SetCheckbox
from exception_bot.domain.approvals import Slot, newest_toggles
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.fields import normalise_heading, parse_body
from exception_bot.domain.model import ActionLabel, ExceptionRequest, LabelEvent, State
from exception_bot.domain.review import ciso_review
from exception_bot.domain.review.action_labels import answer, refuse, reply, take
from exception_bot.domain.review.aftercare import Confirmation, confirmed
from exception_bot.domain.review.ciso_assignees import (
    acting,
    answering,
    assign_ciso,
    deputies,
    unassign_ciso,
)
from exception_bot.domain.review.escalation_lapse import rejection_lapsed
from exception_bot.domain.review.routing import role_mentions
from exception_bot.domain.review.slas import watch_sla
from exception_bot.domain.review.tampering import tamper
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.validation import item_key


def accept(review: Review, walk: Walk) -> Walk:
    """``escalate`` on a rejected request, or on an approved one not active yet."""
    if walk.state not in (State.REJECTED, State.APPROVED):
        return walk
    walk, event = take(review, walk, ActionLabel.ESCALATE)
    if event is None:
        return walk
    if walk.state is State.REJECTED:
        return _rejection(review, walk, event)
    return _controls(review, walk, event)


def _rejection(review: Review, walk: Walk, event: LabelEvent) -> Walk:
    """The requester's, within the appeal window, once, and not after an appeal."""
    rec, decision = walk.rec, walk.rec.decision
    days = review.config.limits.appeal_window_days
    if event.user.username.lower() != review.requester:
        reason = "requester"
    elif (
        decision is None
        or "appealed" in rec.milestones
        or any(e.reason == ciso_review.REJECTION for e in rec.ciso_escalations)
    ):
        reason = "again"
    elif event.created_at > decision.at + timedelta(days=days):
        reason = "late"
    elif review.request is not None and answering(review, review.request) is None:
        reason = "no-one"
    else:
        rec = replace(rec, decision=None, rejection=decision).reached("rejected", decision.at)
        walk = replace(walk, rec=rec, state=State.ESCALATED)
        walk = ciso_review.start(
            walk, ciso_review.REJECTION, review.requester, event.created_at, event.id
        )
        return answer(
            walk,
            event,
            "escalate-rejection",
            ciso=_mentions(review),
            item=Markdown(ciso_review.REINSTATE_ITEM),
            original=_original(review),
        )
    return _refused(review, walk, event, reason)


def _controls(review: Review, walk: Walk, event: LabelEvent) -> Walk:
    """The requester's or Security Compliance's: the controls cannot be implemented."""
    request = review.request
    user = event.user.username.lower()
    if request is None:  # a settled request has its approved terms: not expected
        return answer(walk, event, "refused", label=Markdown(event.label), state=walk.state)
    config = review.config
    # Security Compliance is the route's final stage, as for activation (aftercare.py).
    compliance = acting(review, config.stages(request.risk_level)[-1], request, event.created_at)
    if user != review.requester and user not in compliance:
        return tamper(
            review, walk, event, "which only the requester or Security Compliance may add"
        )
    if ciso_review.pending(walk.rec) is not None:
        return _refused(review, walk, event, "pending")
    if answering(review, request) is None:
        return _refused(review, walk, event, "no-one")
    walk = ciso_review.start(walk, ciso_review.CONTROLS, user, event.created_at, event.id)
    walk = assign_ciso(review, walk)
    return answer(
        walk,
        event,
        "escalate-controls",
        ciso=_mentions(review),
        item=Markdown(ciso_review.WAIVE_ITEM),
    )


def _refused(review: Review, walk: Walk, event: LabelEvent, reason: str) -> Walk:
    return reply(
        walk,
        event,
        "escalation_refused.md.j2",
        reason=reason,
        requester=review.requester,
        days=review.config.limits.appeal_window_days,
        ciso_role=Markdown(review.config.escalation.ciso_role),
    )


def _mentions(review: Review) -> Markdown:
    """Whoever answers the escalation: the CISO role's holders, or its fallback's."""
    found = None if review.request is None else answering(review, review.request)
    return role_mentions(review, found[0] if found else review.config.escalation.ciso_role)


def _answering(review: Review, request: ExceptionRequest) -> tuple[str, frozenset[str]]:
    ciso = review.config.escalation.ciso_role
    return answering(review, request) or (ciso, frozenset())


def _original(review: Review) -> dict[str, object] | None:
    """The exception a rejected renewal renews, as the bot's record on it says: the CISO
    decides knowing whether the business is still covered."""
    if review.original is None:
        return None
    found = renewals.original(review.original, review.config, review.ctx.bot.id)
    return {
        "id": Markdown(found.exception_id),
        "url": url(found.web_url),
        "state": Markdown(found.state.value) if found.state else Markdown("not decided"),
    }


def decide(review: Review, walk: Walk) -> Walk:
    """The CISO's answer to the escalation waiting for it, if it came."""
    escalation = ciso_review.pending(walk.rec)
    if escalation is None:
        return walk
    if escalation.reason == ciso_review.REJECTION:
        return _rejection_review(review, walk)
    if walk.state is State.APPROVED:
        return _controls_review(review, walk)
    if walk.state is State.ACTIVE:  # activated after all, with the controls
        at = walk.rec.milestones.get("activated", escalation.at)
        walk = ciso_review.answered(walk, ciso_review.WITHDRAWN, review.ctx.bot.username, at)
        return unassign_ciso(review, walk)
    return walk


def revoked(review: Review, walk: Walk) -> Walk:
    """A revocation answers the escalation that waited for the CISO."""
    decision = walk.rec.decision
    if walk.state is not State.REVOKED or decision is None:
        return walk
    if ciso_review.pending(walk.rec) is None:
        return walk
    walk = ciso_review.answered(walk, ciso_review.REVOKED, decision.user, decision.at)
    return unassign_ciso(review, walk)


def waiting_for_ciso(walk: Walk) -> bool:
    """A rejection with the CISO: no route moves it until the CISO answers."""
    escalation = ciso_review.pending(walk.rec)
    return (
        walk.state is State.ESCALATED
        and escalation is not None
        and escalation.reason == ciso_review.REJECTION
    )


def _rejection_review(review: Review, walk: Walk) -> Walk:
    """Reinstated by the CISO's tick, confirmed by the CISO's reject; nothing else moves it."""
    config, request = review.config, review.request
    ciso = config.escalation.ciso_role
    role, allowed = _answering(review, request) if request else (ciso, frozenset())
    stands_in = ciso if role != ciso else None
    slot = Slot(f"{ciso}_escalation", role, ciso_review.REINSTATE_ITEM, stands_in)
    walk = replace(walk, state=State.ESCALATED, stages=((slot,),), current=(slot,))
    walk = refuse(
        review, walk, ActionLabel.REQUEST_CHANGES, ActionLabel.REVOKE, ActionLabel.ESCALATE
    )
    walk, over = rejection_lapsed(review, walk)
    if over or request is None:
        return walk  # lapsed, or waits for a description that validates, as a route would
    walk = replace(walk, holders={slot.key: allowed})
    if review.labels.stage([slot.key]) != walk.rec.stage:  # the escalation's first run
        walk = assign_ciso(review, walk)
    walk, event = take(review, walk, ActionLabel.REJECT)
    escalation = ciso_review.pending(walk.rec)
    if event is not None and escalation is not None and event.created_at < escalation.at:
        # Added before the escalation asked anything (as a tick before it is: _ticked).
        walk = answer(walk, event, "refused", label=Markdown(event.label), state=State.REJECTED)
        event = None
    if event is not None and event.user.username.lower() not in allowed | deputies(
        review, role, allowed, event.created_at
    ):
        walk = tamper(review, walk, event, "which only the CISO may add to an escalation")
    elif event is not None:
        ciso_user = event.user.username.lower()
        decision = record.Decision("reject", ciso_user, event.created_at, event.id, slot.key)
        walk = ciso_review.answered(walk, ciso_review.CONFIRMED, ciso_user, event.created_at)
        walk = replace(walk, rec=replace(walk.rec, decision=decision), state=State.REJECTED)
        walk = unassign_ciso(review, walk)
        return answer(walk, event, "escalation-confirmed", requester=review.requester)
    walk, user, at = _ticked(review, walk, ciso_review.REINSTATE_ITEM, (role, allowed))
    if user is None or at is None:
        return watch_sla(review, walk)  # the escalation stage's deadline (review_sla.escalation)
    walk = ciso_review.answered(walk, ciso_review.REINSTATED, user, at)
    walk = walk.post_once(
        "ciso", f"reinstated:{at.isoformat()}", "ciso_answer.md.j2", outcome="reinstated"
    )
    # Back into the route it was rejected on: the approvals given stand, and the stage that
    # rejected it reviews it again.
    return replace(walk, state=State.IN_REVIEW, stages=(), current=None, holders={})


def _controls_review(review: Review, walk: Walk) -> Walk:
    """In force without the controls by the CISO's tick; a revocation is the other answer."""
    request = review.request
    if request is None:
        return walk
    walk, user, at = _ticked(review, walk, ciso_review.WAIVE_ITEM, _answering(review, request))
    if user is None or at is None:
        return walk
    walk = unassign_ciso(review, ciso_review.answered(walk, ciso_review.ACCEPTED, user, at))
    walk = walk.post_once(
        "ciso", f"accepted:{at.isoformat()}", "ciso_answer.md.j2", outcome="accepted"
    )
    return replace(walk, state=State.ACTIVE, rec=walk.rec.reached("activated", at))


def _ticked(
    review: Review, walk: Walk, item: str, answering: tuple[str, frozenset[str]]
) -> tuple[Walk, str | None, datetime | None]:
    """Who validly ticked the CISO's box, and when. The box is added while the description
    lacks it; a tick by anyone else is undone and explained (aftercare's confirmation)."""
    body = parse_body(review.issue.description)
    items = body.items_in(normalise_heading(ciso_review.HEADING))
    if not any(item_key(i.text) == item_key(item) for i in items if not i.nested):
        return ciso_review.checklist(review.issue.description, walk, item), None, None
    role, allowed = answering
    newest = newest_toggles(review.issue.notes).get(item_key(item))
    if newest is not None:  # a deputy's tick counts on a day the delegation covers
        allowed |= deputies(review, role, allowed, newest.note.created_at)
    confirmation = Confirmation(ciso_review.HEADING, item, allowed, "the CISO")
    walk, at = confirmed(review, walk, confirmation)
    toggle = newest_toggles(review.issue.notes).get(item_key(item))
    if at is None or toggle is None:
        return walk, None, None
    escalation = ciso_review.pending(walk.rec)
    if escalation is not None and at < escalation.at:
        # A box the requester wrote in early and got ticked answers no question: only a
        # tick after the escalation is the CISO's answer to it.
        walk = walk.post_once(
            "untick",
            f"ciso-early:{toggle.note.id}",
            "ciso_early_tick.md.j2",
            user=toggle.note.author.username,
            item=Markdown(item),
        )
        untick = SetCheckbox(walk.plan.ref, ciso_review.HEADING, item, checked=False)
        return replace(walk, plan=walk.plan.untick(untick)), None, None
    return walk, toggle.note.author.username.lower(), at
