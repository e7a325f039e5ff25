"""Routing (docs/explanation/routing.md): the route's stages for the request's risk,
the stage being waited for, and the state that follows from them.

A settled request keeps the route it was decided on (:func:`freeze`); an appeal has a route of
its own (Legal, then the CEO and CFO).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from exception_bot.domain import record
from exception_bot.domain.approvals import (
    APPEAL_PREFIX,
    Approval,
    ApprovalState,
    Slot,
    TickContext,
    appeal_route,
    evaluate,
    last_description_change,
    note_due,
    route,
)
from exception_bot.domain.escape import Markdown
from exception_bot.domain.fields import normalise_heading, parse_body
from exception_bot.domain.model import ActionLabel, ExceptionRequest, Flag, State
from exception_bot.domain.people import holders, mentions, named_users
from exception_bot.domain.review.states import ROUTING
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.stand_ins import Eligibility, Fall, fall_back
from exception_bot.domain.validation import APPROVALS_HEADING

APPEAL_HEADING = "Appeal"


def follow_route(review: Review, walk: Walk, request: ExceptionRequest, digest: str) -> Walk:
    """The route, who holds each of its roles, the ticks that count, and the stage being
    waited for: the first with a box not validly ticked."""
    config, issue = review.config, review.issue
    escalated = (
        Flag.NEEDS_CISO_ESCALATION in review.flags
        or walk.rec.escalated_by is not None
        or past_max_renewals(review, walk.rec)
    )
    if walk.state is State.APPEAL:
        stages = appeal_route(config)
    else:
        stages = route(config, request.risk_level, escalated)
    slots = [slot for stage in stages for slot in stage]
    found = {s.key: holders(config, s.role, request, review.ctx.directory) for s in slots}
    tick_ctx = TickContext(
        parse_body(issue.description),
        issue.notes,
        found,
        review.requesters,
        review.ctx.bot.id,
        walk.rec,
        digest,
        config.allow_same_person_multiple_roles,
        normalise_heading(heading(walk.state)),
        note_due(issue.created_at, issue.updated_at, config.note_grace, review.ctx.now),
        config.delegations,
        config.calendar.tz,
    )
    state = evaluate(tick_ctx, slots)
    stages, found, falls = _stand_ins(review, walk, request, stages, found, state)
    if falls:  # the ticks count for the fallen slots' roles
        tick_ctx = replace(tick_ctx, holders=found)
        state = evaluate(tick_ctx, [slot for stage in stages for slot in stage])
    if state.waiting and tick_ctx.note_due is not None:
        # the notes write nothing that moves updated_at: come back when the wait is over
        walk = walk.wake_at(tick_ctx.note_due)
    current = next(
        (stage for stage in stages if any(s.key not in state.approvals for s in stage)), None
    )
    return replace(
        walk, stages=stages, holders=found, approvals=state, current=current, falls=falls
    )


def _stand_ins(
    review: Review,
    walk: Walk,
    request: ExceptionRequest,
    stages: tuple[tuple[Slot, ...], ...],
    found: dict[str, frozenset[str]],
    state: ApprovalState,
) -> tuple[tuple[tuple[Slot, ...], ...], dict[str, frozenset[str]], tuple[Fall, ...]]:
    """The route with each slot no holder may approve fallen to its fallback role."""
    config = review.config
    slots = [slot for stage in stages for slot in stage]
    who = Eligibility(
        review.requesters,
        state.approvals,
        walk.rec.approvals,
        config.allow_same_person_multiple_roles,
        # the role each approval was given in: a fallback's, once recorded in it
        {s.key: s.role for s in slots} | {a.slot: a.role for a in walk.rec.approvals if a.role},
        review.requester,
    )

    def holders_of(role: str) -> frozenset[str]:
        return holders(config, role, request, review.ctx.directory)

    fallen, found, falls = fall_back(config, slots, found, who, holders_of)
    by_key = {slot.key: slot for slot in fallen}
    return tuple(tuple(by_key[s.key] for s in stage) for stage in stages), found, falls


def freeze(review: Review, walk: Walk) -> Walk:
    """A settled request keeps the approvals it was decided on; ticks no longer count."""
    rec, stages = walk.rec, walk.stages
    if review.request is not None:
        escalated = rec.escalated_by is not None or any(
            a.slot.endswith("_escalation") for a in rec.approvals
        )
        stages = route(review.config, review.request.risk_level, escalated)
    if "appeal_granted" in rec.milestones:  # the decision that counts is the appeal's
        stages = appeal_route(review.config)
    approvals = ApprovalState(
        {a.slot: Approval(a.slot, a.user, a.at, a.note_id) for a in rec.approvals},
        (),
        rec.approvals,
    )
    return replace(walk, stages=stages, approvals=approvals)


def routing_state(review: Review, walk: Walk) -> Walk:
    """The state the route and the recorded decision put the request in."""
    decision = walk.rec.decision
    if decision is not None and decision.kind == ActionLabel.REJECT.value:
        return replace(walk, state=State.REJECTED)
    if walk.state is State.APPEAL:
        if walk.current is None:
            rec = walk.rec.reached("appeal_granted", last_approval(review, walk))
            return replace(walk, state=State.APPROVED, rec=rec)
        return walk
    if decision is not None and decision.kind == ActionLabel.REQUEST_CHANGES.value:
        changed = last_description_change(review.issue.notes, review.ctx.bot.id)
        if changed is None or changed <= decision.at:
            return replace(walk, state=State.NEEDS_INFO)
        walk = replace(walk, rec=replace(walk.rec, decision=None))  # the requester answered
    if walk.current is None:
        return replace(walk, state=State.APPROVED)
    if walk.stages and walk.current is walk.stages[0] and _is_escalation(review, walk.current):
        return replace(walk, state=State.ESCALATED)
    return replace(walk, state=State.IN_REVIEW)


def _is_escalation(review: Review, stage: tuple[Slot, ...]) -> bool:
    return stage[0].key == f"{review.config.escalation.ciso_role}_escalation"


def last_approval(review: Review, walk: Walk) -> datetime:
    """When the last approval counted was given (its checklist note's time)."""
    approved = walk.approvals.approvals if walk.approvals else {}
    return max(
        (a.at for a in approved.values()),
        default=review.issue.last_change_by_others(review.ctx.bot.id),
    )


def appeal_pending(rec: record.Record) -> bool:
    """An appeal was accepted (the rejection set aside) and neither granted nor denied."""
    milestones = rec.milestones
    return "appealed" in milestones and "appeal_granted" not in milestones and rec.decision is None


def past_max_renewals(review: Review, rec: record.Record) -> bool:
    return rec.renewal_number > review.config.limits.max_renewals


def heading(state: State) -> str:
    """The section whose checklist the approvals are ticked in."""
    return APPEAL_HEADING if state is State.APPEAL else APPROVALS_HEADING


def records(walk: Walk) -> tuple[record.ApprovalRecord, ...]:
    """The recorded approvals: the route's, and the appeal's next to them."""
    if walk.approvals is None:
        return walk.rec.approvals
    if walk.state is not State.APPEAL:
        return walk.approvals.records
    kept = tuple(a for a in walk.rec.approvals if not a.slot.startswith(APPEAL_PREFIX))
    return kept + walk.approvals.records


def stage_label(review: Review, walk: Walk) -> str | None:
    """The label of the stage being waited for, while one is."""
    if walk.state not in ROUTING or walk.current is None:
        return None
    return review.labels.stage([s.key for s in walk.current])


def waiting_for(review: Review, walk: Walk) -> list[dict[str, object]]:
    """The current stage's boxes not validly ticked yet, and whom they wait for."""
    approved = walk.approvals.approvals if walk.approvals else {}
    return [
        {
            "item": Markdown(s.item),
            "role": acting_title(review, s),
            "mentions": Markdown(" ".join([role_mentions(review, s.role), *deputies(review, s)])),
        }
        for s in walk.current or ()
        if s.key not in approved
    ]


def acting_title(review: Review, slot: Slot) -> Markdown:
    """The role a slot is approved in: ``CISO for Department Head`` when it fell back."""
    if slot.stands_in is None:
        return review.title(slot.role)
    return Markdown(f"{review.title(slot.role)} for {review.title(slot.stands_in)}")


def deputies(review: Review, slot: Slot) -> list[str]:
    """``@bob`` for each named holder of the slot's role who handed it to a deputy for today
    (docs/explanation/approvals.md, "Delegation"): the turn comment and the reminders ask them
    too."""
    if review.request is None:
        return []
    day = review.ctx.now.astimezone(review.config.calendar.tz).date()
    named = {u.lower() for u in named_users(review.config, slot.role, review.request)}
    return [
        f"@{d.to_user}"
        for d in review.config.delegations
        if d.from_user in named and d.covers(slot.role, day) and d.to_user not in review.requesters
    ]


def role_mentions(review: Review, role: str) -> Markdown:
    """The role's holders as the config names them: mentioning them is the point."""
    if review.request is None:
        return Markdown("")
    return Markdown(" ".join(mentions(review.config, role, review.request)))
