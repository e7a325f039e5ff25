"""Who stands in when a role's holders cannot approve (docs/explanation/approvals.md,
"Fallbacks" and "Delegation").

A stage no holder of its role may approve (each is a requester, or approved for another role
where one person approves for one role) would wait forever: its slot falls to the role's
fallback (``roles.<role>.fallback``, the CISO role by default), and then to that role's, until
a role has someone who may approve. A slot that fell stays fallen once an approval was
recorded in the fallback role, so the approval keeps counting as it was given.

A delegation hands a role to a deputy for a period: which ticks count for whom is
:func:`exception_bot.domain.approvals.evaluate`'s rule, whom to ask while a holder is away
:mod:`exception_bot.domain.review.asking`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from exception_bot.domain.approvals import Approval, Slot
from exception_bot.domain.record import ApprovalRecord
from exception_bot.domain.settings import Config


@dataclass(frozen=True)
class Fall:
    """A slot no holder of its role may approve: to whom it fell (None: to no one, every
    fallback's holders being unable too) and who held the role."""

    slot: Slot  # as the route has it, before the fall
    to_role: str | None
    holders: frozenset[str]


def fallback_of(config: Config, role: str) -> str:
    """The role a stage of ``role`` falls to: its configured fallback, else the CISO role."""
    spec = config.roles.get(role)
    return (spec.fallback if spec else None) or config.escalation.ciso_role


@dataclass(frozen=True)
class Eligibility:
    """What decides who may approve a slot: the requesters, the approvals so far (one person,
    one role, unless the config allows more) and the records of approvals given earlier."""

    requesters: frozenset[str]
    approvals: Mapping[str, Approval]
    recorded: tuple[ApprovalRecord, ...]
    allow_multiple_roles: bool
    roles: Mapping[str, str]  # slot key -> the role its approval was given in
    # The author. The others in ``requesters`` are only named in *Requester contact*,
    # text the requester writes: it may take an approver's rights away, never choose who
    # approves instead, so holders excluded by it alone do not make a slot fall.
    author: str = ""

    def taken(self, role: str) -> frozenset[str]:
        """Who approved for a role other than ``role`` (and the holders their deputies
        approved for): they may not approve for ``role`` too."""
        if self.allow_multiple_roles:
            return frozenset()
        return frozenset(
            person
            for key, a in self.approvals.items()
            if self.roles.get(key, role) != role
            for person in (a.user, a.for_user)
            if person
        )

    def eligible(self, role: str, holders: frozenset[str]) -> frozenset[str]:
        return holders - self.requesters - self.taken(role)

    def falls(self, role: str, holders: frozenset[str]) -> bool:
        """No holder may approve, and not because *Requester contact* names them."""
        if self.eligible(role, holders):
            return False
        return not self.author or not (holders - {self.author} - self.taken(role))


def fall_back(
    config: Config,
    slots: Iterable[Slot],
    found: Mapping[str, frozenset[str]],
    who: Eligibility,
    holders_of: Callable[[str], frozenset[str]],
) -> tuple[tuple[Slot, ...], dict[str, frozenset[str]], tuple[Fall, ...]]:
    """The route's slots with those no holder may approve fallen to a fallback role, each
    slot's holders (the fallback's for a fallen slot), and the falls."""
    out: list[Slot] = []
    holders = dict(found)
    falls: list[Fall] = []
    for slot in slots:
        kept = _recorded_role(who.recorded, slot)
        if slot.key in who.approvals and kept is None:
            out.append(slot)
            continue
        if kept is None and not who.falls(slot.role, found.get(slot.key, frozenset())):
            out.append(slot)
            continue
        to_role = kept or _first_able(config, slot.role, who, holders_of)
        if to_role is None:
            falls.append(Fall(slot, None, found.get(slot.key, frozenset())))
            out.append(slot)
            continue
        falls.append(Fall(slot, to_role, found.get(slot.key, frozenset())))
        out.append(replace(slot, role=to_role, stands_in=slot.role))
        holders[slot.key] = holders_of(to_role)
    return tuple(out), holders, tuple(falls)


def _recorded_role(recorded: Iterable[ApprovalRecord], slot: Slot) -> str | None:
    return next((a.role for a in recorded if a.slot == slot.key and a.role), None)


def _first_able(
    config: Config, role: str, who: Eligibility, holders_of: Callable[[str], frozenset[str]]
) -> str | None:
    """The first role down the fallback chain from ``role`` with someone who may approve."""
    seen = {role}
    current = fallback_of(config, role)
    while current not in seen and current in config.roles:
        if who.eligible(current, holders_of(current)):
            return current
        seen.add(current)
        current = fallback_of(config, current)
    return None
