"""Tampering (docs/explanation/tampering.md): a change to a label only the bot sets, an action
label from someone not allowed, or someone else's action label removed, is reported in one
comment naming the user and marked with the alert label, which only Security Compliance or
the CISO may clear.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from exception_bot.domain import markers
from exception_bot.domain.escape import Markdown
from exception_bot.domain.labels import scope
from exception_bot.domain.model import (
    ActionLabel,
    ExceptionRequest,
    LabelAction,
    LabelEvent,
    RiskLevel,
    State,
)
from exception_bot.domain.people import holders
from exception_bot.domain.review.ciso_assignees import deputies
from exception_bot.domain.review.issue_labels import bot_owned
from exception_bot.domain.review.walk import Review, Walk

# The template's own labels, applied by the requester's quick action when the issue is opened.
CREATION_GRACE = timedelta(minutes=1)


@dataclass(frozen=True)
class _AnyUnit:
    """A department and policy to look role holders up by, when the request names none."""

    department: str
    policy: str


def report_tampering(review: Review, walk: Walk) -> Walk:
    """Changes to labels only the bot sets; removals of people's action labels by someone
    else (a decision cannot be suppressed: it is acted on, see
    :func:`~exception_bot.domain.review.action_labels.action_event`); and the alert removed by
    anyone but Security Compliance and the CISO, who clear it after review."""
    actions = {review.labels.action(a) for a in ActionLabel}
    events = review.issue.label_events
    bot = review.ctx.bot.id
    for n, event in enumerate(events):
        if event.user.id == bot or _expected_at_creation(review, event):
            continue
        if _scope_swap(review, event, actions):
            continue
        if bot_owned(review.config, event.label):
            walk = tamper(review, walk, event)
        elif event.action is LabelAction.REMOVE and event.label in actions:
            added = next(
                (
                    e
                    for e in reversed(events[:n])
                    if e.label == event.label and e.action is LabelAction.ADD
                ),
                None,
            )
            if added is not None and added.user.id not in (event.user.id, bot):
                walk = tamper(review, walk, event)
        elif (
            event.action is LabelAction.REMOVE
            and event.label == review.labels.tampering
            and event.user.username.lower() not in _alert_reviewers(review, event)
        ):
            walk = tamper(review, walk, event)
    return walk


def _expected_at_creation(review: Review, event: LabelEvent) -> bool:
    return (
        event.action is LabelAction.ADD
        and event.label == review.labels.state(State.SUBMITTED)
        and event.user.id == review.issue.author.id
        and event.created_at - review.issue.created_at <= CREATION_GRACE
    )


def _scope_swap(review: Review, event: LabelEvent, actions: set[str]) -> bool:
    """A removal that came with its remover's addition of a label of the same scope, which
    is answered on its own: reported (a label only the bot sets) or acted on (an action
    label; a decision it removed is acted on all the same). On GitLab Premium adding a
    scoped label removes the other label of its scope, written as a removal by the same
    user at the same time (gitlabhq ee/app/services/ee/issuable/callbacks/labels.rb,
    resource_events/change_labels_service.rb): one act, told once. On Free the same two
    events are a swap by hand, which the addition's answer covers as well. Any other
    addition (the tampering alert taken off by adding ``exception-alert::x``) is no
    cover: the removal is reported."""
    key = scope(event.label)
    return (
        event.action is LabelAction.REMOVE
        and key is not None
        and any(
            other.action is LabelAction.ADD
            and other.user.id == event.user.id
            and other.created_at == event.created_at
            and other.label != event.label
            and scope(other.label) == key
            and (bot_owned(review.config, other.label) or other.label in actions)
            for other in review.issue.label_events
        )
    )


def _alert_reviewers(review: Review, event: LabelEvent) -> frozenset[str]:
    """Who may clear the tampering alert: the route's final stage (Security Compliance)
    and the CISO, for this request; for one that does not validate, for any request; and
    a deputy one of them handed the role to, on the delegation's days."""
    config, request = review.config, review.request
    units: list[ExceptionRequest | _AnyUnit] = (
        [request] if request else [_AnyUnit(d, "") for d in config.departments]
    )
    risks = [request.risk_level] if request else list(RiskLevel)
    roles = {config.escalation.ciso_role} | {
        role for risk in risks for role in config.stages(risk)[-1]
    }
    found: frozenset[str] = frozenset()
    for r in roles:
        held = frozenset().union(*(holders(config, r, u, review.ctx.directory) for u in units))
        found |= held | deputies(review, r, held, event.created_at)
    return found


def tamper(review: Review, walk: Walk, event: LabelEvent, reason: str = "") -> Walk:
    """Report a label change nobody may make; the label name is the changer's text, so
    the note shows it inert, never as a label reference."""
    mark = markers.marker("tampering", str(event.id))
    if not walk.plan.said.has(mark):
        walk = replace(walk, tampered=(*walk.tampered, event.id))
        return walk.post_once(
            "tampering",
            str(event.id),
            "tampering.md.j2",
            user=event.user.username,
            verb=Markdown("added" if event.action is LabelAction.ADD else "removed"),
            label=event.label,
            reason=Markdown(reason),
            alert=Markdown(review.labels.tampering),
        )
    if not _alert_set_since(review, mark):
        # Reported, but the run stopped before the alert label: it is still owed. (Once
        # the bot has set it, a person may remove it after looking into the report.)
        return replace(walk, tampered=(*walk.tampered, event.id))
    return walk


def _alert_set_since(review: Review, mark: str) -> bool:
    issue, bot = review.issue, review.ctx.bot.id
    reported = min(
        (
            n.created_at
            for n in issue.notes
            if n.author.id == bot and markers.trailing(n.body) == mark
        ),
        default=None,
    )
    return reported is not None and any(
        e.label == review.labels.tampering
        and e.action is LabelAction.ADD
        and e.user.id == bot
        and e.created_at >= reported
        for e in issue.label_events
    )
