"""``risk_assessment.roles``: the roles whose holders assess a request's risk level when the
role is on the request's route (docs/explanation/routing.md, "The security team assesses the
risk"), checked as the rest of the config is by :mod:`exception_bot.config`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from exception_bot.domain.settings import RoleSpec

if TYPE_CHECKING:
    from exception_bot.config import _Reader

# The security stage of the shipped approval matrix: the Security team for Low and Medium, the
# Security Lead for High (the CISO, who confirms a lowering, may set any level).
DEFAULT_ASSESSORS = ("security_team", "security_lead")


def risk_assessors(r: _Reader, value: Any, roles: Mapping[str, RoleSpec]) -> tuple[str, ...]:
    """The configured roles; without the section, those of :data:`DEFAULT_ASSESSORS` the
    config has."""
    if value is None:
        return tuple(role for role in DEFAULT_ASSESSORS if role in roles)
    section = r.mapping(value, "risk_assessment", ("roles",), ("roles",))
    if section is None:
        return ()
    names = r.string_list(section.get("roles"), "risk_assessment.roles")
    unknown = [name for name in names if roles and name not in roles]
    for name in unknown:
        r.error(
            "risk_assessment.roles",
            f"unknown role '{name}': name roles under roles, e.g. [security_team]",
        )
    return tuple(name for name in names if name not in unknown)
