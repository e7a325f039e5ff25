"""After approval (docs/explanation/after-approval.md): the terms that stand, the due date,
activation, expiry reminders, expiry and fix verification; then the register entry
(:mod:`~exception_bot.domain.review.register_entry`) that follows every state change.

Activation and fix verification are confirmations, not approvals: the box counts when GitLab's
checklist note shows a person allowed to confirm ticked it (the requester may confirm
activation). Any other tick is unticked and explained, as for approvals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from exception_bot.domain.actions import AppendChecklist, SetCheckbox, SetDueDate
from exception_bot.domain.approvals import newest_toggles, note_due
from exception_bot.domain.calendar import day_start
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.fields import normalise_heading, parse_body
from exception_bot.domain.model import ExceptionRequest, State
from exception_bot.domain.people import holders, mentions
from exception_bot.domain.review import ciso_review, tracking
from exception_bot.domain.review.activation_deadline import activation_deadline
from exception_bot.domain.review.ciso_assignees import deputies
from exception_bot.domain.review.escalation_lapse import lapse_at_expiry
from exception_bot.domain.review.register_entry import ACTIVATION, VERIFICATION, register
from exception_bot.domain.review.renewal import renewal_url
from exception_bot.domain.review.routing import records
from exception_bot.domain.review.states import AFTERCARE, REGISTERED
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.terms import terms_of
from exception_bot.domain.validation import item_key


@dataclass(frozen=True)
class Confirmation:
    """Who may tick a confirmation box, and how the explanation names them."""

    heading: str
    item: str
    allowed: frozenset[str]
    who: str
    # Holders of these roles (in ``holders``) who handed them to a deputy: the deputy may
    # confirm for them on the delegation's days.
    roles: tuple[str, ...] = ()
    holders: frozenset[str] = frozenset()


def aftercare(review: Review, walk: Walk) -> Walk:
    """Moves an approved request along its life; the labels follow from the state."""
    request = review.request
    if walk.state not in REGISTERED or request is None:
        return walk
    rec = replace(walk.rec, approvals=records(walk))  # this run's approvals count too
    if rec.terms is None:  # final approval: what was approved is what stands
        # as written: an assessed risk level is the record's (domain/assessment.py)
        rec = replace(rec, terms=terms_of(review.as_written or request, review.issue.title))
    # Approved when the last approval was given, not when a run saw it: a run that stops
    # before its status note is written records the same time again.
    last = max((a.at for a in rec.approvals), default=None)
    rec = rec.reached("approved", last or changed_at(review))
    walk = replace(walk, rec=rec)
    # Security Compliance is the route's final stage; a config that ends its routes with
    # another role gets that role as the confirmer.
    confirmers = review.config.stages(request.risk_level)[-1]
    compliance = frozenset().union(
        *(holders(review.config, role, request, review.ctx.directory) for role in confirmers)
    )
    if walk.state in AFTERCARE and review.issue.due_date != request.expiration_date:
        walk = walk.edit(SetDueDate(walk.plan.ref, request.expiration_date))
    if walk.state is State.APPROVED:
        walk = _activation(review, walk, compliance)
    if walk.state is State.APPROVED:
        walk = activation_deadline(review, walk, confirmers)
    if walk.state in (State.APPROVED, State.ACTIVE):
        walk = _expiry(review, walk, request)
    if walk.state is State.EXPIRED:
        walk = lapse_at_expiry(review, walk)
        walk = _verification(review, walk, request, confirmers, compliance)
    return register(review, walk, request)


def changed_at(review: Review) -> datetime:
    """The last change a person made to the issue: what the bot answers when no approval
    or confirmation dates it (a linked incident, the issue made confidential)."""
    return review.issue.last_change_by_others(review.ctx.bot.id)


def _activation(review: Review, walk: Walk, compliance: frozenset[str]) -> Walk:
    heading, item = ACTIVATION
    allowed = compliance | {review.issue.author.username.lower()}
    who = "the requester or Security Compliance"
    request = review.request
    roles = review.config.stages(request.risk_level)[-1] if request else ()
    confirmation = Confirmation(heading, item, allowed, who, roles, compliance)
    walk, at = confirmed(review, walk, confirmation)
    if at is None:
        return walk
    return replace(walk, state=State.ACTIVE, rec=walk.rec.reached("activated", at))


def _expiry(review: Review, walk: Walk, request: ExceptionRequest) -> Walk:
    """Expired once the expiry day is over; until then, the nearest reminder due."""
    config, now = review.config, review.ctx.now
    expires = request.expiration_date
    end = day_start(expires + timedelta(days=1), config.calendar)
    if now >= end:
        return replace(walk, state=State.EXPIRED, rec=walk.rec.reached("expired", end))
    days_left = (expires - now.astimezone(config.calendar.tz).date()).days
    walk = walk.wake_at(end)
    walk = walk.wake_at(
        *(
            day_start(expires - timedelta(days=days), config.calendar)
            for days in config.reminder_days
            if days_left > days
        )
    )
    due = [days for days in config.reminder_days if days_left <= days]
    if not due:
        return walk
    # Only the nearest reminder: a bot that starts late does not post 14, 7 and 1 at once.
    return walk.post_once(
        "expiry",
        str(min(due)),
        "expiry.md.j2",
        requester=review.issue.author.username,
        expires=expires,
        days_left=days_left,
        renewal_url=url(renewal_url(review.issue, review.ctx)),
    )


def _verification(
    review: Review,
    walk: Walk,
    request: ExceptionRequest,
    confirmers: tuple[str, ...],
    compliance: frozenset[str],
) -> Walk:
    heading, item = VERIFICATION
    confirmation = Confirmation(
        heading, item, compliance, "Security Compliance", confirmers, compliance
    )
    walk, at = confirmed(review, walk, confirmation)
    if at is not None:  # closed: the review closes the issue of a closed request
        walk = replace(walk, state=State.CLOSED, rec=walk.rec.reached("closed", at))
        return tracking.at_closure(review, walk)
    named = (m for role in confirmers for m in mentions(review.config, role, request))
    linked = tracking.tracking_issues(review.issue, review.config)
    return walk.post_once(
        "expired",
        "",
        "expired.md.j2",
        item=Markdown(item),
        expires=request.expiration_date,
        compliance=Markdown(" ".join(named)),
        tracking=linked.rows(),
        tracking_more=linked.more,
        lapsed=ciso_review.lapsed(walk.rec),
    )


def confirmed(
    review: Review, walk: Walk, confirmation: Confirmation
) -> tuple[Walk, datetime | None]:
    """When the confirmation box was validly ticked; appends it and undoes bad ticks."""
    issue, config = review.issue, review.config
    body = parse_body(issue.description)
    key = normalise_heading(confirmation.heading)
    items = [i for i in body.items_in(key) if not i.nested]
    if body.section(key) is None:
        append = AppendChecklist(walk.plan.ref, confirmation.heading, (confirmation.item,))
        return walk.edit(append), None
    box = next((i for i in items if item_key(i.text) == item_key(confirmation.item)), None)
    if box is None or not box.checked:
        return walk, None
    toggle = newest_toggles(issue.notes).get(item_key(confirmation.item))
    if toggle is not None and toggle.completed:
        user = toggle.note.author.username.lower()
        at = toggle.note.created_at
        allowed = confirmation.allowed.union(
            *(deputies(review, r, confirmation.holders, at) for r in confirmation.roles)
        )
        if user in allowed and toggle.note.author.id != review.ctx.bot.id:
            return walk, toggle.note.created_at
    else:
        # Ticked, and GitLab may not have written its checklist note yet (note_due).
        due = note_due(issue.created_at, issue.updated_at, config.note_grace, review.ctx.now)
        if due is not None:
            return walk.wake_at(due), None
    walk = walk.post_once(
        "untick",
        f"{key}:{toggle.note.id if toggle else 0}",
        "unconfirm.md.j2",
        item=Markdown(confirmation.item),
        user=toggle.note.author.username if toggle and toggle.completed else None,
        who=Markdown(confirmation.who),
        who_first=Markdown(confirmation.who[:1].upper() + confirmation.who[1:]),
    )
    untick = SetCheckbox(walk.plan.ref, confirmation.heading, confirmation.item, checked=False)
    return replace(walk, plan=walk.plan.untick(untick)), None
