"""The config's stand-ins (docs/explanation/approvals.md, "Fallbacks" and "Delegation"):
``roles.<role>.fallback`` and ``delegations``, checked as the rest of the config is by
:mod:`exception_bot.config`, whose reader collects ``path: problem. fix`` lines; and the
warnings ``check-config`` prints about roles one person holds alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from exception_bot.domain.model import RiskLevel
from exception_bot.domain.settings import Delegation, RoleSpec

if TYPE_CHECKING:
    from exception_bot.config import _Reader
    from exception_bot.domain.settings import Config

_DELEGATION_KEYS = ("from", "to", "roles", "until", "since")
# A config is read by people: a few deputies, not a directory.
MAX_DELEGATIONS = 100


def with_fallbacks(r: _Reader, raw: Any, roles: dict[str, RoleSpec]) -> dict[str, RoleSpec]:
    """Each role with its ``fallback``, a role the config names (none: the CISO role)."""
    if not isinstance(raw, dict):
        return roles
    out = dict(roles)
    for name, spec in raw.items():
        if not isinstance(spec, dict) or "fallback" not in spec or str(name) not in roles:
            continue
        path = f"roles.{name}.fallback"
        to = r.string(spec["fallback"], path)
        if to is None:
            continue
        if to not in roles:
            r.error(path, f"unknown role '{to}': name a role under roles, or leave it out")
        elif to == str(name):
            r.error(path, "a role cannot fall back to itself; name another role")
        else:
            out[str(name)] = replace(roles[str(name)], fallback=to)
    for name in sorted(_circles(out)):
        r.error(
            f"roles.{name}.fallback",
            f"falls back in a circle ({_chain(out, name)}): a stage no one in it may approve "
            "would fall to no one; end the chain at a role without a fallback (it falls to "
            "the CISO role)",
        )
    return out


def _circles(roles: Mapping[str, RoleSpec]) -> set[str]:
    """The roles whose written fallbacks lead back to themselves."""
    found = set()
    for name in roles:
        seen = {name}
        to = roles[name].fallback
        while to is not None and to in roles and to not in seen:
            seen.add(to)
            to = roles[to].fallback
        if to == name:
            found.add(name)
    return found


def _chain(roles: Mapping[str, RoleSpec], name: str) -> str:
    chain, to = [name], roles[name].fallback
    while to is not None and to != name and to not in chain:
        chain.append(to)
        to = roles[to].fallback
    return " → ".join([*chain, name])


def delegations(r: _Reader, value: Any, roles: Mapping[str, RoleSpec]) -> tuple[Delegation, ...]:
    """``delegations: [{from, to, roles, until, since}]``: each a deputy for a period."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_DELEGATIONS:
        r.error(
            "delegations",
            f"expected a list of at most {MAX_DELEGATIONS} "
            "{from: user, to: user, roles: [role], until: YYYY-MM-DD}",
        )
        return ()
    found = (_delegation(r, item, f"delegations[{i}]", roles) for i, item in enumerate(value))
    return tuple(d for d in found if d is not None)


def _delegation(
    r: _Reader, value: Any, path: str, roles: Mapping[str, RoleSpec]
) -> Delegation | None:
    from exception_bot.config import _username

    section = r.mapping(value, path, _DELEGATION_KEYS, ("from", "to", "roles", "until"))
    if section is None or not {"from", "to", "roles", "until"} <= section.keys():
        return None
    giver = _username(r, section["from"], f"{path}.from")
    deputy = _username(r, section["to"], f"{path}.to")
    named = r.string_list(section["roles"], f"{path}.roles", allow_single=True)
    for role in named:
        if role not in roles:
            r.error(f"{path}.roles", f"unknown role '{role}': name roles listed under roles")
    until = _day(r, section["until"], f"{path}.until")
    since = _day(r, section["since"], f"{path}.since") if "since" in section else None
    if giver and deputy and giver.lower() == deputy.lower():
        r.error(f"{path}.to", "a delegation is to someone else; name the deputy")
        return None
    if until and since and since > until:
        r.error(f"{path}.since", f"{since} is after until ({until}); swap them")
        return None
    if not (giver and deputy and until) or any(role not in roles for role in named):
        return None
    return Delegation(giver.lower(), deputy.lower(), named, until, since)


def _day(r: _Reader, value: Any, path: str) -> date | None:
    """A day as YAML reads ``2027-01-10`` (a date) or as quoted text."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        r.error(path, f"expected a date like 2027-01-10, got {str(value)[:40]!r}")
        return None


def lone_holders(config: Config) -> list[str]:
    """``check-config``'s warnings: each role (or department's, policy's holder) named as one
    person and no group, whose own requests no one else holding the role can approve; their
    stage then falls to the fallback. Group roles are counted by ``--online`` only."""
    lines = []
    for name, spec in config.roles.items():
        if spec.group:
            continue
        alone = [
            f"{unit}: @{users[0]}"
            for mapping in (spec.by_department, spec.by_policy)
            for unit, users in mapping.items()
            if len(users) == 1
        ]
        if len(spec.users) == 1 and not spec.by_department and not spec.by_policy:
            alone.append(f"@{spec.users[0]}")
        if not alone:
            continue
        to = spec.fallback or config.escalation.ciso_role
        falls = (
            f"fall to the {to} role (roles.{name}.fallback)"
            if to != name
            else f"wait for a config change (set roles.{name}.fallback)"
        )
        lines.append(
            f"roles.{name}: held by one person only ({', '.join(alone)}); their own "
            f"requests {falls}. Name a second holder to avoid it."
        )
    return lines


def deputy_warnings(config: Config) -> list[str]:
    """``check-config``'s warnings about deputies who hold, by name, another role of a route
    the delegated role is on (or the CISO role, which any request may reach): where one
    person approves for one role, a deputy who approves for the delegator may not approve in
    their own role on the same request, and that stage falls to its fallback (to no one, when
    the deputy holds the CISO role and it has none)."""
    if config.allow_same_person_multiple_roles:
        return []
    ciso = config.escalation.ciso_role
    routes = [{r for stage in config.stages(level) for r in stage} for level in RiskLevel]
    lines = []
    for i, d in enumerate(config.delegations):
        handed = set(d.roles)
        both = sorted(
            name
            for name, spec in config.roles.items()
            if name not in handed
            and _names(spec, d.to_user)
            and (name == ciso or any(name in route and handed & route for route in routes))
        )
        if both:
            titles = ", ".join(config.roles[r].title for r in both)
            lines.append(
                f"delegations[{i}]: @{d.to_user} also holds {titles}: on a request where they "
                f"approve for @{d.from_user}, they may not approve in that role too, and its "
                "stage falls to its fallback. Name a deputy who holds no other role there."
            )
    return lines


def _names(spec: RoleSpec, user: str) -> bool:
    named = {*spec.users, *(u for us in spec.by_department.values() for u in us)}
    named |= {u for us in spec.by_policy.values() for u in us}
    return user in {n.lower() for n in named}


def stand_in_warnings(config: Config) -> list[str]:
    """``check-config``'s warnings about stand-ins: lone holders, then deputies."""
    return [*lone_holders(config), *deputy_warnings(config)]
