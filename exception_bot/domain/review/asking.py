"""Whom a stage is assigned to (docs/explanation/routing.md, "Whose turn it is"): the named
holders of its roles, or for a stage of group roles only, a few of the groups' own members;
never a requester; a holder who handed the role to a deputy (``delegations``) is replaced by
the deputy while the delegation lasts, and a holder whose GitLab status says busy is left out
when someone else can be asked. The turn comment says who is away.

Statuses are read for these holders only, and only when a stage is assigned: the shell reads
one user's status the first time :meth:`Directory.busy` asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from exception_bot.domain.approvals import Slot
from exception_bot.domain.model import ExceptionRequest
from exception_bot.domain.people import named_users
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.settings import Delegation

MAX_GROUP_ASSIGNEES = 5


@dataclass(frozen=True)
class Away:
    """A holder not asked: handed the role to ``deputy`` until ``until``, or busy."""

    user: str
    deputy: str | None = None
    until: date | None = None


@dataclass(frozen=True)
class Asking:
    users: tuple[str, ...]
    away: tuple[Away, ...]


def whom_to_ask(
    review: Review, walk: Walk, request: ExceptionRequest, stage: tuple[Slot, ...]
) -> Asking:
    """The stage's assignees and the holders away."""
    named = {slot.key: _named(review, request, slot) for slot in stage}
    groups = not any(named.values())
    users: list[str] = []
    away: list[Away] = []
    for slot in stage:
        # A group's members are many: their statuses are read for a few of them only.
        found = sorted(_askable(review, walk, slot))[: 2 * MAX_GROUP_ASSIGNEES]
        asked, gone = _present(review, slot, found if groups else named[slot.key])
        users += asked
        away += gone
    users = list(dict.fromkeys(users))
    return Asking(tuple(users[:MAX_GROUP_ASSIGNEES] if groups else users), tuple(away))


def _named(review: Review, request: ExceptionRequest, slot: Slot) -> list[str]:
    return [
        u
        for u in named_users(review.config, slot.role, request)
        if u.lower() not in review.requesters
    ]


def _present(review: Review, slot: Slot, holders: list[str]) -> tuple[list[str], list[Away]]:
    """``holders`` with each one's deputy in their place, less those busy while another
    may be asked."""
    day = review.ctx.now.astimezone(review.config.calendar.tz).date()
    asked: list[str] = []
    away: list[Away] = []
    for user in holders:
        handed = _handed(review.config.delegations, user, slot.role, day)
        if handed is not None and handed.to_user not in review.requesters:
            asked.append(handed.to_user)
            away.append(Away(user, handed.to_user, handed.until))
        else:
            asked.append(user)
    free = [u for u in asked if not review.ctx.directory.busy(u)]
    if not free:  # everyone busy: still theirs to approve
        return asked, away
    away += [Away(u) for u in asked if u not in free]
    return free, away


def _handed(
    delegations: tuple[Delegation, ...], user: str, role: str, day: date
) -> Delegation | None:
    name = user.lower()
    return next((d for d in delegations if d.from_user == name and d.covers(role, day)), None)


def _askable(review: Review, walk: Walk, slot: Slot) -> frozenset[str]:
    """Whom to assign a slot of a group role: the members of the group itself, when any
    holds the role; else everyone who does (members/all). A parent group's members hold
    the role too, as in GitLab, but the head of sales, Owner of the top-level group, is
    not whom a Security Compliance review is for."""
    held = walk.holders.get(slot.key, frozenset()) - review.requesters
    group = review.config.roles[slot.role].group
    own = review.ctx.directory.direct(group) & held if group else frozenset()
    return own or held
