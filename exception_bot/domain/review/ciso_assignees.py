"""Whose turn it is when a decision is taken to the CISO (docs/explanation/escalations.md): the
CISO role's holders are assigned as the escalation stage of a route assigns them (their
deputies while they are away, never a requester), and taken off the issue once the CISO has
answered. A mention alone left the request on nobody's list of assigned issues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from exception_bot.domain.actions import AssignUsers, UnassignUsers
from exception_bot.domain.approvals import Slot
from exception_bot.domain.fields import parse_body
from exception_bot.domain.model import ExceptionRequest
from exception_bot.domain.people import holders
from exception_bot.domain.review.asking import whom_to_ask
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.stand_ins import fallback_of
from exception_bot.domain.validation import validate


def answering(review: Review, request: ExceptionRequest) -> tuple[str, frozenset[str]] | None:
    """The role that answers an escalation and who in it may: the CISO role's holders but
    the requesters; when none may (the CISO escalated her own request), the first role down
    the CISO role's fallbacks with someone who may, as a stage falls
    (:mod:`exception_bot.domain.stand_ins`). None: no one may, and it would wait forever."""
    config = review.config
    role, seen = config.escalation.ciso_role, set()
    while role not in seen and role in config.roles:
        found = holders(config, role, request, review.ctx.directory)
        allowed = found - review.requesters
        if allowed:
            return role, allowed
        if found - {review.requester}:
            return None  # named in *Requester contact* only: that text chooses no approver
        seen.add(role)
        role = fallback_of(config, role)
    return None


def assign_ciso(review: Review, walk: Walk) -> Walk:
    """The CISO's holders (or their deputies) assigned: the escalation waits for them."""
    request, config = review.request, review.config
    found = None if request is None else answering(review, request)
    if request is None or found is None:
        return walk
    role, allowed = found
    ciso = config.escalation.ciso_role
    slot = Slot(f"{ciso}_escalation", role, config.escalation.checklist_item)
    asking = whom_to_ask(review, replace(walk, holders={slot.key: allowed}), request, (slot,))
    if not asking.users:
        return walk
    action = AssignUsers(walk.plan.ref, asking.users)
    return replace(walk, plan=walk.plan.assigning(action))


def unassign_ciso(review: Review, walk: Walk) -> Walk:
    """The CISO (and deputies) off the issue: the escalation is answered. Others stay."""
    request, config = filed_request(review), review.config
    if request is None:
        return walk
    ciso = config.escalation.ciso_role
    found = answering(review, request)
    roles = {ciso, found[0] if found else ciso}
    people = frozenset().union(
        *(holders(config, role, request, review.ctx.directory) for role in roles)
    ) | frozenset(d.to_user for d in config.delegations if roles & set(d.roles))
    assignees = review.issue.assignees
    done = tuple(a for a in assignees if a.lower() in people)
    if not done:
        return walk
    keep = tuple(a for a in assignees if a.lower() not in people)
    return replace(walk, plan=walk.plan.assigning(UnassignUsers(walk.plan.ref, done, keep)))


def filed_request(review: Review) -> ExceptionRequest | None:
    """The request, or while its description does not validate today, as it validated on
    the day it was opened (a past expiration date is the usual reason)."""
    if review.request is not None:
        return review.request
    opened = review.issue.created_at
    body = parse_body(review.issue.description)
    return validate(body, review.config, created_at=opened, now=opened).request


def acting(
    review: Review, roles: Iterable[str], request: ExceptionRequest, at: datetime
) -> frozenset[str]:
    """Who may act for ``roles`` on ``request`` on the day of ``at``: their holders, and the
    deputies those holders handed a role to for that day."""
    found: frozenset[str] = frozenset()
    for role in roles:
        held = holders(review.config, role, request, review.ctx.directory)
        found |= held | deputies(review, role, held, at)
    return found


def deputies(review: Review, role: str, allowed: frozenset[str], at: datetime) -> frozenset[str]:
    """Whom the holders in ``allowed`` handed ``role`` to on the day of ``at`` (the config's
    delegations, days in its calendar): they answer for them, as they are assigned for them.
    Never a requester."""
    day = at.astimezone(review.config.calendar.tz).date()
    return frozenset(
        d.to_user
        for d in review.config.delegations
        if d.from_user in allowed and d.covers(role, day) and d.to_user not in review.requesters
    )
