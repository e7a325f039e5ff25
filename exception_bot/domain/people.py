"""Who holds a role for a given request.

The shell resolves every group the config names through GitLab's ``members/all`` (inherited
members and those of groups it is shared with, as in GitLab), keeps the :func:`approvers`,
and hands the core a :class:`Directory`; the core never asks. Who may approve is everyone
``members/all`` lists; whom a stage is assigned to are the group's own members first
(``/groups/:id/members``), as a parent group's owner is rarely the person to ask.
Usernames are compared case-insensitively, as GitLab treats them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from exception_bot.domain.settings import Config

# A user reference as GitLab finds one in text (app/models/user.rb, reference_pattern): ``@``
# not preceded by a word character (so ``bob@example.com`` names no one), then a username
# (lib/gitlab/path_regex.rb, NAMESPACE_FORMAT_REGEX: it does not end with a dot). ASCII
# classes, as Ruby's ``\w`` is.
_HANDLE_RE = re.compile(
    r"(?<![A-Za-z0-9_])@([A-Za-z0-9_.][A-Za-z0-9_.-]*[A-Za-z0-9_-]|[A-Za-z0-9_])"
)


class Unit(Protocol):
    """What decides per-department and per-policy roles: a request, or an exception file."""

    @property
    def department(self) -> str: ...

    @property
    def policy(self) -> str: ...


@dataclass(frozen=True)
class Member:
    """One row of a group's ``members/all`` (lib/api/entities/member.rb): the user's state
    (``active``, ``blocked``, ``deactivated``...) and their highest access level there."""

    username: str
    access_level: int
    state: str = "active"
    membership_state: str | None = None  # "awaiting" while a seat is pending (Premium)


def approvers(members: Iterable[Member], least_level: int) -> frozenset[str]:
    """The members who may hold a role, lower-cased: active users whose membership is active,
    at ``least_level`` or above. ``members/all`` also lists blocked users, Guests, and the
    members of groups the group is shared with at the level the share caps them to."""
    return frozenset(
        m.username.lower()
        for m in members
        if m.state == "active"
        and m.membership_state in (None, "active")
        and m.access_level >= least_level
    )


@dataclass(frozen=True)
class Directory:
    """Members of the groups named in the config, by group path (lower-case usernames): all
    of them as ``members/all`` lists them, and the group's own (``direct_members``)."""

    group_members: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    direct_members: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Username -> ``availability`` of their GitLab status (``busy``, ``not_set``): the shell
    # reads one the first time the review asks, for the holders of a stage being assigned.
    availability: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def members(self, group: str) -> frozenset[str]:
        return self.group_members.get(group, frozenset())

    def direct(self, group: str) -> frozenset[str]:
        return self.direct_members.get(group, frozenset())

    def busy(self, username: str) -> bool:
        """Whether the user's GitLab status says they are busy (doc/api/users.md)."""
        return self.availability.get(username.lower()) == "busy"


def named_users(config: Config, role: str, request: Unit) -> tuple[str, ...]:
    """The users the config names for ``role`` on this request (no group expansion)."""
    spec = config.roles[role]
    return (
        *spec.users,
        *spec.by_department.get(request.department, ()),
        *spec.by_policy.get(request.policy, ()),
    )


def holders(config: Config, role: str, request: Unit, directory: Directory) -> frozenset[str]:
    """Everyone who may act as ``role`` for this request, lower-cased."""
    spec = config.roles[role]
    names = {name.lower() for name in named_users(config, role, request)}
    if spec.group:
        names |= directory.members(spec.group)
    return frozenset(names)


def roles_held(
    config: Config, username: str, own_members: Mapping[str, Iterable[str]]
) -> tuple[str, ...]:
    """What ``username`` is in the config, in words, for a list of people: each role's title,
    with the departments or policies it is held for (``Department Head for finance``).
    ``own_members`` maps a group path to its own members: a parent group's members may act
    for a subgroup's role, but are not introduced as holding it."""
    name = username.lower()
    held = []
    for spec in config.roles.values():
        units = [
            unit
            for mapping in (spec.by_department, spec.by_policy)
            for unit, users in mapping.items()
            if name in {u.lower() for u in users}
        ]
        in_group = spec.group is not None and name in {
            m.lower() for m in own_members.get(spec.group, ())
        }
        if units:
            held.append(f"{spec.title} for {_and(units)}")
        elif name in {u.lower() for u in spec.users} or in_group:
            held.append(spec.title)
    return tuple(held)


def _and(words: Iterable[str]) -> str:
    listed = list(words)
    return ", ".join(listed[:-1]) + (" and " if len(listed) > 1 else "") + listed[-1]


def mentions(config: Config, role: str, request: Unit) -> tuple[str, ...]:
    """``@user`` for named users and ``@group/path`` for a group (GitLab notifies its members)."""
    spec = config.roles[role]
    found = [f"@{name}" for name in named_users(config, role, request)]
    if spec.group:
        found.append(f"@{spec.group}")
    return tuple(found)


def requesters(author: str, contact: str | None) -> frozenset[str]:
    """Who asked for an exception, lower-cased: the issue's author and every ``@handle`` in
    *Requester contact* (which may also hold a name and an e-mail address). Neither may
    approve it. The field is text anyone who can edit the issue may change, so it only ever
    takes rights away: the requester's rights (appeal, escalate, confirm activation) stay
    with the author."""
    handles = _HANDLE_RE.findall(contact or "")
    return frozenset({author.lower(), *(handle.lower() for handle in handles)})
