"""Exceptions as code: does a merge request carry the approvals its exception files need?

Approval is the merge request's approvals (``approved_by``), checked against the same matrix,
roles and rules as the issue route: every role of the risk level's route needs an approver who
holds it, neither the merge request's author nor the file's ``requester`` can approve the
exception (the issue route refuses the requester's ticks too), and one person approves for one
role.
Works on GitLab Free: no approval rules are needed, the bot reads who approved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from exception_bot.domain.model import RiskLevel
from exception_bot.domain.people import Directory, holders
from exception_bot.domain.register import parse_front_matter
from exception_bot.domain.settings import Config


@dataclass(frozen=True)
class FileUnit:
    department: str
    policy: str


@dataclass(frozen=True)
class FileApprovals:
    """One exception file of the merge request: who counted for which role, what is missing."""

    path: str
    exception_id: str
    given: Mapping[str, str]  # role title -> approver
    missing: tuple[str, ...]  # role titles
    problem: str | None = None  # a file the check cannot read

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.missing


def is_exception_file(path: str, config: Config) -> bool:
    return path.startswith(f"{config.register.directory}/") and path.endswith(".md")


def check_file(
    path: str,
    text: str,
    author: str,
    approvers: Sequence[str],
    config: Config,
    directory: Directory,
) -> FileApprovals:
    front_matter = parse_front_matter(text)
    data = front_matter.data
    if data is None:
        return FileApprovals(path, "", {}, (), f"{front_matter.problem}; run exception-bot lint")
    ident = str(data.get("id") or path)
    try:
        risk = RiskLevel(str(data.get("risk_level") or "").lower())
    except ValueError:
        return FileApprovals(path, ident, {}, (), "no valid risk_level: run exception-bot lint")
    unit = FileUnit(str(data.get("department") or ""), str(data.get("policy") or ""))
    roles = [role for stage in config.stages(risk) for role in stage]
    if risk is RiskLevel.CRITICAL and config.is_production(str(data.get("environment") or "")):
        roles.insert(0, config.escalation.ciso_role)
    requester = str(data.get("requester") or "").lstrip("@")
    given, missing = _assign(roles, {author, requester}, approvers, config, unit, directory)
    return FileApprovals(path, ident, given, missing)


def _assign(
    roles: Iterable[str],
    excluded: Iterable[str],
    approvers: Sequence[str],
    config: Config,
    unit: FileUnit,
    directory: Directory,
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Each role in order takes the first approver who holds it and has not approved yet;
    ``excluded`` (the author and the requester) approve for no role."""
    barred = {name.lower() for name in excluded if name}
    free = [a.lower() for a in approvers if a.lower() not in barred]
    given: dict[str, str] = {}
    missing: list[str] = []
    for role in dict.fromkeys(roles):
        title = config.roles[role].title
        allowed = holders(config, role, unit, directory)
        match = next((a for a in free if a in allowed), None)
        if match is None:
            missing.append(title)
            continue
        given[title] = match
        free.remove(match)
    return given, tuple(missing)
