"""Remediation progress in the weekly report (docs/explanation/after-approval.md): per exception
that covers findings, which of them the latest gate summary of each covered project still
lists. The summary is ``exception-bot-gate.json``, which ``exception-bot gate`` writes in the
project's pipeline (:func:`exception_bot.domain.gate.summary`); the shell reads it, this module
makes sense of it.

A summary is the project's pipeline's say, written by whoever may change that pipeline: it is
read as hostile JSON, and only the covered ids the register holds are shown, never its text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.model import State
from exception_bot.domain.report import RequestFacts

# The gate job of the CI snippet (ci/exception-gate.gitlab-ci.yml) and the summary it keeps
# in its artifacts (``--out exception-gate``).
GATE_JOB = "exception-gate"
SUMMARY_FILE = "exception-gate/exception-bot-gate.json"
# A report reads at most this many projects' summaries (two requests each) and each up to
# this size: a 50,000-finding summary is about 15 MB.
MAX_PROJECTS = 50
MAX_SUMMARY_BYTES = 32 * 2**20
# Shown per project; the rest are counted.
MAX_SHOWN = 10
# The exceptions whose remediation is followed: in force, and expired until the fix is
# verified.
FOLLOWED = frozenset({State.APPROVED, State.ACTIVE, State.EXPIRED})
_MAX_KEY = 600


@dataclass(frozen=True)
class GateSeen:
    """A project's latest gate summary as the report needs it: its day and every finding key
    it lists, or why there is none."""

    project: str
    day: date | None = None
    keys: frozenset[str] = field(default_factory=frozenset)
    problem: str | None = None


def followed(facts: Iterable[RequestFacts]) -> list[RequestFacts]:
    """The exceptions the report follows, by reference."""
    return sorted(
        (
            f
            for f in facts
            if f.state in FOLLOWED
            and f.covered_findings
            and f.covered_projects
            and not f.unverified
        ),
        key=lambda f: f.reference,
    )


def projects_to_read(facts: Iterable[RequestFacts]) -> list[str]:
    """The covered projects whose summaries a report reads, at most :data:`MAX_PROJECTS`."""
    projects = sorted({p for f in followed(facts) for p in f.covered_projects})
    return projects[:MAX_PROJECTS]


def read_summary(project: str, data: bytes | None, why: str = "") -> GateSeen:
    """The summary's day and keys, or why it says nothing (``why``: the shell's reason for no
    data, in the bot's own words, shown as written)."""
    if data is None:
        return GateSeen(project, problem=why or "no gate summary")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return GateSeen(project, problem="its gate summary is not JSON")
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, dict):
        return GateSeen(project, problem="its gate summary has no findings object")
    said = doc.get("project")
    if not isinstance(said, str) or said.strip("/").lower() != project.lower():
        return GateSeen(project, problem="its gate summary names another project")
    keys = frozenset(
        key
        for entry in findings.values()
        if isinstance(entry, dict) and isinstance(entry.get("keys"), list)
        for key in entry["keys"]
        if isinstance(key, str) and len(key) <= _MAX_KEY
    )
    return GateSeen(project, _day(doc.get("date")), keys)


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def remediation_rows(
    facts: Iterable[RequestFacts], seen: Mapping[str, GateSeen]
) -> list[dict[str, Any]]:
    """One row per followed exception and covered project: the covered findings the project's
    summary still lists, or why it could not be read."""
    rows: list[dict[str, Any]] = []
    for f in followed(facts):
        for project in f.covered_projects:
            gate = seen.get(project) or GateSeen(
                project, problem=f"not read: a report reads {MAX_PROJECTS} projects at most"
            )
            present = [k for k in f.covered_findings if k in gate.keys]
            rows.append(
                {
                    "id": f.exception_id or f.reference,
                    "url": url(f.web_url),
                    "state": Markdown(f.state.value),
                    "project": project,
                    "day": gate.day,
                    "problem": Markdown(gate.problem) if gate.problem else None,
                    "present": present[:MAX_SHOWN],
                    "more": max(0, len(present) - MAX_SHOWN),
                    "count": len(present),
                    "covered": len(f.covered_findings),
                }
            )
    return rows
