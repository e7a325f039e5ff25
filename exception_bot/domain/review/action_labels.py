"""Action labels (docs/explanation/action-labels.md): reject and request-changes from an approver
of the current stage, escalate from the requester or any approver; any other action label is
refused where it does not apply. The bot removes each after acting on it.

What counts is the label *event* by an allowed person, not the label's presence: one that
someone else removed before the run is acted on all the same (tampering reports the removal);
one removed by whoever added it was withdrawn. Appeal and revoke are in ``appeals``.
"""

from __future__ import annotations

from dataclasses import replace

from exception_bot.domain import record
from exception_bot.domain.escape import Markdown
from exception_bot.domain.model import ActionLabel, ExceptionRequest, LabelAction, LabelEvent
from exception_bot.domain.review.ciso_assignees import acting, deputies
from exception_bot.domain.review.ciso_review import contest_ways
from exception_bot.domain.review.routing import role_mentions
from exception_bot.domain.review.tampering import tamper
from exception_bot.domain.review.walk import Review, Walk


def take(review: Review, walk: Walk, action: ActionLabel) -> tuple[Walk, LabelEvent | None]:
    """The oldest addition of ``action``'s label by a person that the bot has not dealt with,
    now dealt with (see :func:`_dealt_with`); None when there is none."""
    walk, event = _action_event(review, walk, action)
    if event is None:
        return walk, None
    return _dealt_with(review, walk, event), event


def _action_event(
    review: Review, walk: Walk, action: ActionLabel
) -> tuple[Walk, LabelEvent | None]:
    """The oldest addition of an action label by a person that the bot has not dealt with.

    The bot deals with an event by removing the label (its removal then marks every earlier
    addition done) or, when the label is gone already, by keeping the event's id in its record.
    """
    name = review.labels.action(action)
    if name in walk.consumed:  # dealt with earlier in this run
        return walk, None
    bot = review.ctx.bot.id
    events = [e for e in review.issue.label_events if e.label == name]
    decided = walk.rec.decision.event_id if walk.rec.decision else None
    for n, event in enumerate(events):
        if event.id == decided:
            # Acted on by a run that stopped before removing the label: remove it now.
            walk = replace(walk, consumed=walk.consumed | {name})
            continue
        if (
            event.action is not LabelAction.ADD
            or event.user.id == bot
            or event.id in walk.rec.handled
        ):
            continue
        undone = next((e for e in events[n + 1 :] if e.action is LabelAction.REMOVE), None)
        if undone is None or undone.user.id not in (bot, event.user.id):
            return walk, event
    return walk, None


def _dealt_with(review: Review, walk: Walk, event: LabelEvent) -> Walk:
    """The bot has answered ``event``: remove its label, or remember the event if the label
    is gone (the record is written before the labels, so a rerun after a crash answers
    again, and the answer's marker keeps it from being posted twice)."""
    walk = replace(walk, consumed=walk.consumed | {event.label})
    rec = walk.rec
    if event.label not in review.issue.labels and event.id not in rec.handled:
        walk = replace(walk, rec=replace(rec, handled=(*rec.handled, event.id)))
    return walk


def answer(walk: Walk, event: LabelEvent, action: str, **context: object) -> Walk:
    """The one comment that answers an action label, naming who added it."""
    return reply(walk, event, "action.md.j2", action=action, **context)


def reply(walk: Walk, event: LabelEvent, template: str, **context: object) -> Walk:
    """The one comment ``template`` writes in answer to the label event ``event``, posted once
    (the event's id keys it), with ``user``: who added the label."""
    return walk.post_once("action", str(event.id), template, user=event.user.username, **context)


def refuse(review: Review, walk: Walk, *actions: ActionLabel) -> Walk:
    """Action labels that do not apply in the request's state: answered and removed."""
    for action in actions:
        walk, event = take(review, walk, action)
        if event is not None:
            label = review.labels.action(action)
            walk = answer(walk, event, "refused", label=Markdown(label), state=walk.state)
    return walk


def accept_escalation(review: Review, walk: Walk, request: ExceptionRequest) -> Walk:
    """``escalate`` from the requester or any approver: the CISO's approval comes first."""
    walk, event = take(review, walk, ActionLabel.ESCALATE)
    if event is None:
        return walk
    user = event.user.username.lower()
    if user != review.requester and user not in _all_approvers(review, request, event):
        return tamper(review, walk, event, "which only the requester or an approver may add")
    if walk.rec.escalated_by is None:
        walk = replace(walk, rec=replace(walk.rec, escalated_by=user))
    ciso = role_mentions(review, review.config.escalation.ciso_role)
    return answer(walk, event, "escalate", ciso=ciso)


def _all_approvers(review: Review, request: ExceptionRequest, event: LabelEvent) -> frozenset[str]:
    """Every holder of a role of the route or the CISO's, and their deputies that day."""
    config = review.config
    roles = {role for stage in config.stages(request.risk_level) for role in stage} | {
        config.escalation.ciso_role
    }
    return acting(review, roles, request, event.created_at)


def accept_decisions(review: Review, walk: Walk) -> Walk:
    """``reject`` and ``request-changes`` from an approver of the current stage, recorded as
    the request's decision."""
    for action in (ActionLabel.REJECT, ActionLabel.REQUEST_CHANGES):
        walk, event = take(review, walk, action)
        if event is None:
            continue
        stage = walk.current or ()
        stage_holders = frozenset().union(*(walk.holders.get(s.key, frozenset()) for s in stage))
        # the deputies assigned in a holder's place decide for them, as they tick for them
        stage_holders |= frozenset().union(
            *(
                deputies(review, s.role, walk.holders.get(s.key, frozenset()), event.created_at)
                for s in stage
            )
        )
        if event.user.username.lower() not in stage_holders:
            walk = tamper(
                review, walk, event, "which only an approver of the current stage may add"
            )
            continue
        decision = record.Decision(
            action.value,
            event.user.username.lower(),
            event.created_at,
            event.id,
            "+".join(s.key for s in stage),
        )
        walk = replace(walk, rec=replace(walk.rec, decision=decision))
        ways = contest_ways(review.config, walk.rec, walk.state)
        walk = answer(walk, event, action.value, requester=review.requester, **ways)
    return walk
