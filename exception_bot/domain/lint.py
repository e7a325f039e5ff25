"""Exceptions as code: checking exception files the way the register writes them.

A team may skip the issue route and open a merge request adding
``exceptions/EXC-0042-short-description.md`` (YAML front matter, then one ``##`` section per
request field). ``lint_entry`` checks one such file against the config: the same rules the
issue route enforces, restated for a file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from exception_bot.domain.model import ExceptionKind, RiskLevel
from exception_bot.domain.register import INDEX_FIELDS, parse_front_matter
from exception_bot.domain.request_covers import NEEDS_COVERS, read_covers
from exception_bot.domain.settings import Config

# Every index field but the source: a merge request is its own source.
REQUIRED = tuple(key for key in INDEX_FIELDS if key != "source")
REQUIRED_SECTIONS = (
    "Summary",
    "Justification",
    "Risk assessment",
    "Compensating controls",
    "Remediation plan",
)
# Compiled once, here, where tests/unit/test_linear_patterns.py finds and checks them.
_SECTION_RES = {
    heading: re.compile(rf"^## {re.escape(heading)}\s*$", re.M | re.I)
    for heading in REQUIRED_SECTIONS
}
# report(field, check, message): one problem, placed on the line of that front-matter field.
Report = Callable[[str, str, str], None]
CLOSED_STATUSES = frozenset({"closed", "revoked", "renewed", "expired"})


@dataclass(frozen=True)
class LintProblem:
    path: str
    line: int  # 1-based; 1 for problems of the whole file
    check: str  # a stable name, e.g. "expiry-too-late"
    message: str


def lint_entry(path: str, text: str, config: Config, today: date) -> list[LintProblem]:
    """Every problem of one exception file."""
    front_matter = parse_front_matter(text)
    data = front_matter.data
    if data is None:
        return [LintProblem(path, front_matter.line, "front-matter", front_matter.problem)]
    lines = _field_lines(text)
    problems: list[LintProblem] = []

    def report(key: str, check: str, message: str) -> None:
        problems.append(LintProblem(path, lines.get(key, 1), check, message))

    for key in REQUIRED:
        if data.get(key) in (None, ""):
            report(key, "missing-field", f"'{key}' is missing or empty")
    _check_id(path, data, report)
    _check_values(data, config, report)
    _check_dates(data, config, today, path, report)
    _check_shapes(data, report)
    _check_covers(data, report)
    _check_route(data, config, report)
    for heading, section_re in _SECTION_RES.items():
        if not section_re.search(text):
            problems.append(LintProblem(path, 1, "missing-section", f"no '## {heading}' section"))
    return problems


def _field_lines(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^([a-z_]+):", line)
        if match and match.group(1) not in found:
            found[match.group(1)] = number
    return found


def _check_id(path: str, data: Mapping[str, Any], report: Report) -> None:
    ident = str(data.get("id") or "")
    name = path.rsplit("/", 1)[-1]
    if ident and not (name.startswith(f"{ident}-") or name == f"{ident}.md"):
        report("id", "id-mismatch", f"id '{ident}' does not match the file name '{name}'")


def _check_values(data: Mapping[str, Any], config: Config, report: Report) -> None:
    risk = str(data.get("risk_level") or "").lower()
    if risk and risk not in {r.value for r in RiskLevel}:
        report(
            "risk_level", "bad-risk", f"risk_level '{risk}' is not critical, high, medium or low"
        )
    for key, allowed in (
        ("department", config.departments),
        ("policy", config.policies),
        ("environment", config.environments),
    ):
        value = str(data.get(key) or "")
        if value and value.lower() not in {a.lower() for a in allowed}:
            report(key, f"bad-{key}", f"{key} '{value}' is not one of {', '.join(allowed)}")


def _check_dates(
    data: Mapping[str, Any], config: Config, today: date, path: str, report: Report
) -> None:
    requested = _date(data.get("requested_at"))
    expires = _date(data.get("expires_at"))
    if data.get("requested_at") and requested is None:
        report("requested_at", "bad-date", "requested_at is not a date or timestamp")
    if data.get("expires_at") and expires is None:
        report("expires_at", "bad-date", "expires_at is not a date (YYYY-MM-DD)")
    if requested and expires:
        latest = requested + timedelta(days=config.limits.max_duration_days)
        if expires > latest:
            report(
                "expires_at",
                "expiry-too-late",
                f"expires_at {expires} is more than {config.limits.max_duration_days} days "
                f"after requested_at {requested} (latest {latest})",
            )
    active_dir = f"{config.register.directory}/"
    status = str(data.get("status") or "")
    if expires and expires < today and status not in CLOSED_STATUSES and active_dir in f"/{path}":
        report(
            "expires_at",
            "expired-in-active-folder",
            f"expired on {expires} but still in {config.register.directory}/: verify the fix "
            f"and move it to {config.register.archive_directory}/, or renew it",
        )


def _check_covers(data: Mapping[str, Any], report: Report) -> None:
    """Kind and Covers as the request's fields allow them (docs/reference/request.md): what
    does not parse covers nothing, so a gate would block what the author meant to let by."""
    kind = data.get("kind")
    if kind is not None and kind not in {k.value for k in ExceptionKind}:
        known = ", ".join(k.value for k in ExceptionKind)
        report("kind", "bad-kind", f"kind must be one of: {known}")
    _, problems = read_covers(data.get("covers"))
    for problem in problems:
        report("covers", "bad-covers", problem)
    if kind in {k.value for k in NEEDS_COVERS}:
        covers = data.get("covers")
        named = isinstance(covers, Mapping) and covers.get("projects") and covers.get("findings")
        if not named:
            report(
                "covers",
                "missing-covers",
                f"a {kind} exception must name covers.projects and covers.findings",
            )


def _check_shapes(data: Mapping[str, Any], report: Report) -> None:
    """Fields that must be a number or a list: the bot reads anything else as absent."""
    number = data.get("renewal_number")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
        report(
            "renewal_number",
            "bad-renewal-number",
            "renewal_number must be a whole number: 0 for an exception, 1 for its first renewal",
        )
    approvals = data.get("approvals")
    if approvals is not None and not (
        isinstance(approvals, list) and all(isinstance(a, Mapping) for a in approvals)
    ):
        report(
            "approvals",
            "bad-approvals",
            "approvals must be a list of entries, each with role, user and at "
            "(- role: department_head)",
        )
    incidents = data.get("incidents")
    if incidents is not None and not isinstance(incidents, list):
        report("incidents", "bad-incidents", "incidents must be a list, [] when there is none")


def _check_route(data: Mapping[str, Any], config: Config, report: Report) -> None:
    approvals = data.get("approvals")
    listed = approvals if isinstance(approvals, list) else []  # written by hand: anything
    roles = {str(a.get("role", "")).lower() for a in listed if isinstance(a, Mapping)}
    escalated = any("escalation" in role for role in roles) or bool(data.get("escalation"))
    number = data.get("renewal_number") or 0
    if isinstance(number, int) and number > config.limits.max_renewals and not escalated:
        report(
            "renewal_number",
            "too-many-renewals",
            f"renewal {number} is past the maximum of {config.limits.max_renewals}: it needs a "
            "CISO escalation approval",
        )
    risk = str(data.get("risk_level") or "").lower()
    environment = str(data.get("environment") or "")
    if risk == RiskLevel.CRITICAL.value and config.is_production(environment) and not escalated:
        report(
            "environment",
            "critical-in-production",
            "a Critical exception in production needs a CISO escalation record in approvals",
        )


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def codequality(problems: list[LintProblem]) -> list[dict[str, Any]]:
    """GitLab's Code Quality report format (doc/ci/testing/code_quality.md): one issue each."""
    return [
        {
            "description": p.message,
            "check_name": p.check,
            "fingerprint": hashlib.sha256(f"{p.path}:{p.check}:{p.message}".encode()).hexdigest(),
            "severity": "major",
            "location": {"path": p.path, "lines": {"begin": p.line}},
        }
        for p in problems
    ]
