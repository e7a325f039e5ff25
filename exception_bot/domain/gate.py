"""The gate's decision: which findings of a pipeline's security reports block, and which an
exception active for this project today lets through (docs/how-to/gate-a-pipeline.md).

``register.json`` is only an index here: anyone who may push to the register may write a row,
so a row decides nothing but which entry files are worth proving. An exception counts when its
entry file is proven the bot's (or a merged, approved merge request's: the provenance check
``run`` and ``register verify`` share), and then by that file's own status, expiry and covers.
Everything else blocks: a finding no exception names, a finding without identifiers, a
severity outside the schema's list.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from exception_bot.domain.calendar import day_of
from exception_bot.domain.covers import (
    bare_id,
    finding_keys,
    parse_finding,
    project_covered,
    report_key,
)

# The schema's severities (security-report-format.json, vulnerabilities[].severity), in
# GitLab's order (Enums::Vulnerability: info 1, unknown 2, low 4, medium 5, high 6, critical 7).
SEVERITIES = ("Info", "Unknown", "Low", "Medium", "High", "Critical")
DEFAULT_THRESHOLD = "High"
_BY_LOWER = {s.lower(): s for s in SEVERITIES}
_EXACT = frozenset(SEVERITIES)
BLOCKED, LET_THROUGH, BELOW = "blocked", "let-through", "below-threshold"
NOT_COVERED = "no exception active for this project covers it"
NO_IDENTIFIERS = "it has no identifiers an exception could name"
# The issue route's exception lets findings through once compensating controls are confirmed
# (exception::active); an exception of the merge-request route is in force when merged
# (domain/watch.py reads a file without a status as approved).
ISSUE_ROUTE_STATUSES = frozenset({"active"})
MERGE_ROUTE_STATUSES = frozenset({"approved", "active"})


@dataclass(frozen=True)
class ActiveException:
    """An exception proven in force for this project today, as its entry file says."""

    id: str
    path: str
    expires: date
    findings: frozenset[str]
    started: datetime | None = None  # activated (or approved) at, when the file says

    def days_left(self, today: date) -> int:
        return (self.expires - today).days


@dataclass(frozen=True)
class Decision:
    """One finding of one report, and what the gate made of it."""

    report: str
    index: int  # in the report's vulnerabilities
    finding_id: str
    label: str  # what people call it: its first identifier, else its id
    severity: str
    keys: tuple[str, ...]
    outcome: str  # BLOCKED, LET_THROUGH or BELOW
    exception: ActiveException | None = None
    why: str = ""


def severity_of(finding: Mapping[str, Any]) -> str:
    """The finding's severity; a report may leave it out (15.x), which GitLab reads as
    Unknown. A value outside the schema's list comes back as it is, shown safely."""
    value = finding.get("severity")
    if value is None:
        return "Unknown"
    if isinstance(value, str) and value in _EXACT:  # as the schema spells it: most findings
        return str(value)
    text = str(value)
    return _BY_LOWER.get(text.lower()) or shown(text, 20)


def at_or_above(severity: str, threshold: str) -> bool:
    """A severity outside the schema's list is at any threshold: a report the gate cannot
    read blocks rather than passes. So is Unknown (and a finding without a severity, which
    GitLab reads as Unknown): nobody has rated it yet, as with a fresh CVE the databases have
    not scored, and it may be critical."""
    if severity not in SEVERITIES or severity == "Unknown":
        return True
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)


def has_identifiers(finding: Mapping[str, Any]) -> bool:
    found = finding.get("identifiers")
    return isinstance(found, list) and any(isinstance(i, dict) for i in found)


def candidates(
    rows: Iterable[Mapping[str, Any]], project: str, wanted: frozenset[str] | None, folder: str
) -> list[tuple[str, str]]:
    """(id, path) of each row that claims to cover ``project`` and one of ``wanted`` (any
    finding when None), with an entry file in the register's folder of exceptions in force.
    Only a hint of where to look: the file, once proven, decides."""
    found: list[tuple[str, str]] = []
    paths: set[str] = set()
    for row in rows:
        covers = row.get("covers")
        path = row.get("path")
        if not isinstance(covers, Mapping) or not isinstance(path, str) or path in paths:
            continue  # a second row of one file would only cost a second proof
        if not path.startswith(f"{folder}/") or ".." in path.split("/"):
            continue
        if not project_covered(_strings(covers.get("projects")), project):
            continue
        claimed = set(_strings(covers.get("findings")))
        if wanted is None or claimed & wanted:
            found.append((str(row.get("id") or path), path))
            paths.add(path)
    return found


def in_force(
    data: Mapping[str, Any], path: str, project: str, now: datetime, today: date, issue_route: bool
) -> ActiveException | str:
    """The exception a proven entry file holds, when it is in force for ``project`` on
    ``today``; else why not, in a few words. ``today`` is the calendar's date at ``now``: the
    exception holds through its expiry day and ends when the next day begins, as ``run``
    decides expiry (domain/review/aftercare.py)."""
    ident = shown(data.get("id") or path, 60)
    status = str(data.get("status") or ("" if issue_route else "approved"))
    allowed = ISSUE_ROUTE_STATUSES if issue_route else MERGE_ROUTE_STATUSES
    if status not in allowed:
        return f"{ident} is {shown(status, 20) or 'without a status'}, not active"
    expires = day_of(data.get("expires_at"))
    if expires is None:
        return f"{ident} has no expiry date"
    if today > expires:
        return f"{ident} expired on {expires.isoformat()}"
    started = _moment(data.get("activated_at")) or _moment(data.get("approved_at"))
    if started is not None and started > now:
        return f"{ident} takes effect only at {started.isoformat()}"
    covers = data.get("covers")
    if not isinstance(covers, Mapping) or not project_covered(
        _strings(covers.get("projects")), project
    ):
        return f"{ident} does not cover this project"
    findings = frozenset(
        f for f in map(parse_finding, _strings(covers.get("findings"))) if isinstance(f, str)
    )
    if not findings:
        return f"{ident} covers no finding"
    return ActiveException(str(data.get("id") or path), path, expires, findings, started)


def decide(
    reports: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
    threshold: str,
    exceptions: Iterable[ActiveException],
) -> tuple[Decision, ...]:
    """Each finding of each report (name, findings), blocked, let through or below the
    threshold."""
    return let_through(judge(reports, threshold), exceptions)


def judge(
    reports: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], threshold: str
) -> tuple[Decision, ...]:
    """Each finding before any exception: below the threshold, or blocked (and why). Each
    finding's identifiers are read once, here."""
    decisions = tuple(
        _judge_one(name, index, finding, threshold)
        for name, findings in reports
        for index, finding in enumerate(findings)
    )
    shared = _shared_report_ids(reports)
    if not shared:
        return decisions
    return tuple(
        replace(d, keys=tuple(k for k in d.keys if k not in shared))
        if shared.intersection(d.keys)
        else d
        for d in decisions
    )


def _shared_report_ids(
    reports: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
) -> frozenset[str]:
    """The ``vulnerability:<id>`` keys two findings share (ids equal but for case count): a
    report id names one finding, so such a key names none and lets neither through."""
    seen: set[str] = set()
    twice: set[str] = set()
    for _, findings in reports:
        for finding in findings:
            ident = finding.get("id")
            if isinstance(ident, str):
                flat = ident.strip().lower()  # what report_key would make the same key
                (twice if flat in seen else seen).add(flat)
    return frozenset(k for k in map(report_key, twice) if k is not None)


def wanted(decisions: Iterable[Decision]) -> frozenset[str]:
    """Every covered id that could let a blocked finding through: the only ids whose
    exceptions are worth proving."""
    return frozenset(k for d in decisions if d.why == NOT_COVERED for k in d.keys)


def let_through(
    decisions: Sequence[Decision], exceptions: Iterable[ActiveException]
) -> tuple[Decision, ...]:
    """``decisions`` with each blocked finding an exception covers let through. A finding
    two exceptions cover is let through by the one that lasts longest."""
    by_key: dict[str, ActiveException] = {}
    for exception in sorted(exceptions, key=lambda e: (e.expires, e.id)):
        for key in exception.findings:
            by_key[key] = exception
    if not by_key:
        return tuple(decisions)
    out: list[Decision] = []
    for d in decisions:
        if d.why == NOT_COVERED and any(k in by_key for k in d.keys):
            d = _covered(d, by_key)
        out.append(d)
    return tuple(out)


def _covered(d: Decision, by_key: Mapping[str, ActiveException]) -> Decision:
    """``d`` let through, when what covers it names all of it. A scanner's advisory or rule id,
    the report id or the image name this one finding; a CVE names one vulnerability of those a
    finding may list (a GHSA merging two CVEs, a container finding with its kin), so when only
    CVEs or GHSAs match, every CVE the finding names must be covered (every GHSA, when it
    names no CVE): an exception reviewed for one is not one for the other. The exception named
    is then the one that ends first, when the finding blocks again."""
    exact = [by_key[k] for k in d.keys if k in by_key and not _is_name(k)]
    if exact:
        chosen = max(exact, key=lambda e: (e.expires, e.id))
        return replace(d, outcome=LET_THROUGH, exception=chosen, why="")
    names = [k for k in d.keys if k.startswith("CVE-")] or [k for k in d.keys if _is_name(k)]
    missing = [k for k in names if k not in by_key]
    if missing:
        return replace(d, why=f"no exception active for this project covers {', '.join(missing)}")
    chosen = min((by_key[k] for k in names), key=lambda e: (e.expires, e.id))
    return replace(d, outcome=LET_THROUGH, exception=chosen, why="")


def _is_name(key: str) -> bool:
    return key.startswith(("CVE-", "GHSA-"))


def _judge_one(name: str, index: int, finding: Mapping[str, Any], threshold: str) -> Decision:
    severity = severity_of(finding)
    if not at_or_above(severity, threshold):
        # Neither printed nor listed in the summary, only counted: neither its id nor its
        # identifiers are worth reading.
        return Decision(name, index, "", "", severity, (), BELOW)
    ident = _finding_id(finding, name, index)
    why = NOT_COVERED if has_identifiers(finding) else NO_IDENTIFIERS
    keys = tuple(sorted(finding_keys(finding)))
    return Decision(name, index, ident, _label(finding), severity, keys, BLOCKED, None, why)


def _finding_id(finding: Mapping[str, Any], report: str, index: int) -> str:
    value = finding.get("id")
    if isinstance(value, str) and value.strip():
        return shown(value, 100)
    return f"{report}#{index}"


def _label(finding: Mapping[str, Any]) -> str:
    """What people call the finding: its CVE or GHSA when it has one, else its first
    identifier's name (a gemnasium finding leads with an advisory UUID nobody knows)."""
    found = finding.get("identifiers")
    identifiers = [i for i in (found if isinstance(found, list) else ()) if isinstance(i, dict)]
    for identifier in identifiers:
        for field in ("value", "name"):
            text = identifier.get(field)
            bare = bare_id(text) if isinstance(text, str) else None
            if bare is not None:
                return bare
    names = [i.get("name") or i.get("value") for i in identifiers]
    named = [n for n in names if isinstance(n, str) and n.strip()]
    return shown(named[0] if named else finding.get("id") or "(a finding without identifiers)", 80)


def summary(
    project: str, today: date, threshold: str, decisions: Sequence[Decision], notes: Sequence[str]
) -> dict[str, Any]:
    """``exception-bot-gate.json``: what the pipeline's gate decided, per finding at or above
    the threshold by its id (the weekly report reads which covered findings are still present
    from it); those below are only counted."""
    findings: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}  # each report's name, shown once
    for d in decisions:
        if d.outcome == BELOW:
            continue
        entry: dict[str, Any] = {
            "status": d.outcome,
            "severity": d.severity,
            "report": names.get(d.report) or names.setdefault(d.report, shown(d.report, 200)),
            "name": d.label,
            "keys": list(d.keys),
        }
        if d.exception is not None:
            entry |= {
                "exception": d.exception.id,
                "expires_at": d.exception.expires.isoformat(),
                "days_left": d.exception.days_left(today),
            }
        if d.why:
            entry["why"] = d.why
        if findings.get(d.finding_id, {}).get("status") != BLOCKED:  # a blocked twin wins
            findings[d.finding_id] = entry
    blocked = sum(1 for d in decisions if d.outcome == BLOCKED)
    return {
        "project": project,
        "date": today.isoformat(),
        "threshold": threshold,
        "passed": blocked == 0,
        "counts": {
            outcome: sum(1 for d in decisions if d.outcome == outcome)
            for outcome in (BLOCKED, LET_THROUGH, BELOW)
        },
        "notes": list(notes),
        "findings": findings,
    }


def shown(value: object, limit: int = 80) -> str:
    """Report text for a terminal or a summary: control and format characters (ANSI escapes,
    bidi overrides) become U+FFFD, whitespace one space, at most ``limit`` characters."""
    text = str(value)
    if len(text) <= limit and text.isprintable() and "  " not in text and text == text.strip():
        return text  # isprintable: no control, format or separator character but the space
    flat = " ".join(text[: limit * 4].split())
    flat = "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf") else c for c in flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else None
