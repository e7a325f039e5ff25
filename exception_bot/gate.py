"""``exception-bot gate`` and ``exception-bot suppressions``: the register asked, from a
project's pipeline, which of its findings an active exception lets through (the decision:
:mod:`exception_bot.domain.gate`).

It only reads: ``register.json`` on the register branch, the entry files that claim to cover
this project's findings, and what proves each of them (the bot's record on its request issue,
or its merge request's approvals: :mod:`exception_bot.provenance`). A token of a user who may
read the register project and the requests projects' issues (Reporter, ``read_api``) will do.
When the register cannot be read the gate fails closed: nothing is let through.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from exception_bot.domain.actions import IssueRef
from exception_bot.domain.covers import Refused, parse_project
from exception_bot.domain.gate import (
    BELOW,
    BLOCKED,
    LET_THROUGH,
    SEVERITIES,
    ActiveException,
    Decision,
    candidates,
    in_force,
    judge,
    let_through,
    shown,
    summary,
    wanted,
)
from exception_bot.domain.model import Note
from exception_bot.domain.people import Directory
from exception_bot.domain.register import (
    INDEX_JSON,
    RegisterFormatError,
    parse_front_matter,
    read_index,
)
from exception_bot.domain.settings import Config
from exception_bot.domain.watch import from_issue_route
from exception_bot.errors import ExceptionBotError, UsageError
from exception_bot.gitlab import GitLab
from exception_bot.provenance import judge_file
from exception_bot.runner import READ_WORKERS, directory, with_project_paths
from exception_bot.security_reports import SecurityReport, filtered_text

SUMMARY_FILE = "exception-bot-gate.json"


class RegisterUnreadable(ExceptionBotError):
    """The gate cannot read the register: it lets nothing through (exit 1)."""


@dataclass(frozen=True)
class Proven:
    """The exceptions in force for the project, and a line for each one that claimed to be
    and is not (why it does not count)."""

    exceptions: tuple[ActiveException, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class GateResult:
    project: str
    today: date
    threshold: str
    decisions: tuple[Decision, ...]
    notes: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not any(d.outcome == BLOCKED for d in self.decisions)

    def summary(self) -> dict[str, Any]:
        return summary(self.project, self.today, self.threshold, self.decisions, self.notes)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a report is read and judged: a 50,000-finding
    report is millions of objects, which each collection walks again as the decisions are
    made (it halves the gate's time). Nothing the gate builds holds a cycle; reference
    counting frees the rest."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            # What was built stays until the process ends: out of the collector's sight, or
            # the first collection after this walks all of it again (0.1 s).
            gc.freeze()
            gc.enable()


def today_at(now: datetime, config: Config) -> date:
    """The calendar's date at ``now``: an expiry day ends at midnight in that time zone."""
    return now.astimezone(config.calendar.tz).date()


def run_gate(
    gitlab: GitLab,
    config: Config,
    reports: Sequence[SecurityReport],
    project: str,
    now: datetime,
    threshold: str,
) -> GateResult:
    judged = judge([(r.name, r.findings) for r in reports], threshold)
    needed = wanted(judged)
    # Nothing blocks that an exception could name: nothing to ask the register.
    proven = active_exceptions(gitlab, config, project, now, needed) if needed else Proven((), ())
    decisions = let_through(judged, proven.exceptions)
    return GateResult(project, today_at(now, config), threshold, decisions, proven.notes)


def active_exceptions(
    gitlab: GitLab, config: Config, project: str, now: datetime, wanted: frozenset[str] | None
) -> Proven:
    """The exceptions whose entry files are proven and say they are in force for ``project``
    today; only rows that claim to cover ``project`` (and one of ``wanted``) are looked at."""
    config = with_project_paths(gitlab, config)
    settings = config.gitlab
    where = f"{settings.register_project} (branch {settings.register_branch})"
    text = gitlab.read_file(settings.register_project, settings.register_branch, INDEX_JSON)
    if text is None:
        raise RegisterUnreadable(
            f"{INDEX_JSON} of {where} cannot be read, so no exception counts: the token must "
            "be a user's who may read the register project and the requests' issues "
            "(Reporter, read_api)"
        )
    try:
        rows = read_index(text)
    except RegisterFormatError as err:
        raise RegisterUnreadable(f"{err}, so no exception counts") from None
    found = candidates(rows, project, wanted, config.register.directory)
    today = today_at(now, config)
    proof = _Proof(gitlab, config)
    # Each proof is two reads (the file, its issue's notes): overlapped, as run overlaps its
    # reads of different issues (runner.READ_WORKERS).
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        outcomes = list(pool.map(lambda c: proof.exception(c[1], project, now, today), found))
    exceptions: list[ActiveException] = []
    notes: list[str] = []
    for (ident, _), outcome in zip(found, outcomes, strict=True):
        if isinstance(outcome, ActiveException):
            exceptions.append(outcome)
        else:
            # why may quote people's text (the name a commit was made under): shown safely
            notes.append(f"{shown(ident, 60)} does not count: {shown(outcome, 400)}")
    return Proven(tuple(exceptions), tuple(notes))


class _Proof:
    """Entry files judged as ``run`` and ``register verify`` judge them. The roles' groups,
    which only the merge-request route needs, are read when first asked for (runner.py)."""

    def __init__(self, gitlab: GitLab, config: Config) -> None:
        self._gitlab, self._config = gitlab, config
        self._people: Directory = directory(gitlab, config)

    def _notes(self, ref: IssueRef) -> tuple[Note, ...]:
        return self._gitlab.notes(ref)

    def exception(
        self, path: str, project: str, now: datetime, today: date
    ) -> ActiveException | str:
        settings = self._config.gitlab
        text = self._gitlab.read_file(settings.register_project, settings.register_branch, path)
        if text is None:
            return f"its file {shown(path, 120)} is not on the register branch"
        data = parse_front_matter(text).data
        if data is None:
            return "its file's front matter cannot be read"
        verdict = judge_file(
            self._gitlab,
            self._config,
            self._people,
            settings.bot_user,
            (path, text, ""),
            self._notes,
        )
        if not verdict.verified:
            return f"its file is not proven ({verdict.why})"
        return in_force(data, path, project, now, today, from_issue_route(data, self._config))


# A job log is capped (4 MB on GitLab by default): past this many, the blocking findings are
# counted, not listed; they are all in the summary and the filtered reports. A finding let
# through is always listed.
MAX_BLOCKING_LINES = 200


def log_lines(result: GateResult) -> list[str]:
    """The job log: each finding let through, with its exception, expiry and days left; the
    findings that block, and why; the exceptions that claimed to count and do not; the verdict."""
    lines: list[str] = []
    blocking = 0
    for d in result.decisions:
        if d.outcome == LET_THROUGH and d.exception is not None:
            where = f"({d.severity}, {shown(d.report, 200)})"
            lines.append(
                f"let through: {d.label} {where} by {_exception_words(d.exception, result.today)}"
            )
        elif d.outcome == BLOCKED:
            blocking += 1
            if blocking <= MAX_BLOCKING_LINES:
                lines.append(f"blocks: {d.label} ({d.severity}, {shown(d.report, 200)}): {d.why}")
    if blocking > MAX_BLOCKING_LINES:
        lines.append(
            f"blocks: {blocking - MAX_BLOCKING_LINES} more findings, all in {SUMMARY_FILE} and "
            "the .blocking.json reports"
        )
    lines += [f"note: {shown(note, 500)}" for note in result.notes]
    counts = {o: sum(1 for d in result.decisions if d.outcome == o) for o in (LET_THROUGH, BELOW)}
    verdict = "passed" if result.passed else "blocked"
    lines.append(
        f"gate {verdict}: {blocking} blocking at or above {result.threshold}, "
        f"{counts[LET_THROUGH]} let through by exceptions, {counts[BELOW]} below the threshold "
        f"({shown(result.project, 120)}, {result.today.isoformat()})"
    )
    return lines


def _exception_words(e: ActiveException, today: date) -> str:
    left = e.days_left(today)
    days = "last day" if left == 0 else f"{left} day{'s' if left != 1 else ''} left"
    return f"exception {shown(e.id, 60)}, expires {e.expires.isoformat()} ({days})"


def write_outputs(result: GateResult, reports: Sequence[SecurityReport], out: Path) -> list[Path]:
    """The summary and, per report, the report with only the findings that still block."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / SUMMARY_FILE]
    written[0].write_text(_json(result.summary()))
    used: set[str] = set()
    for number, report in enumerate(reports):
        keep = {
            d.index for d in result.decisions if d.report == report.name and d.outcome == BLOCKED
        }
        stem = Path(report.name).name.removesuffix(".json") or "report"
        name = f"{stem}.blocking.json" if stem not in used else f"{stem}.{number}.blocking.json"
        used.add(stem)
        path = out / name
        path.write_text(filtered_text(report, keep))
        written.append(path)
    return written


def _json(data: object) -> str:
    """Compact ASCII JSON: every character past ASCII escaped, no cycle check (the data is
    JSON just read, or built here), no spaces: tens of megabytes for a big report."""
    return json.dumps(data, ensure_ascii=True, check_circular=False, separators=(",", ":")) + "\n"


def severity_option(text: str) -> str:
    """``--severity-threshold``, in any case, as the schema spells it."""
    for severity in SEVERITIES:
        if severity.lower() == text.strip().lower():
            return severity
    raise UsageError(
        f"--severity-threshold: {shown(text, 20)!r} is not a severity; write one of "
        + ", ".join(reversed(SEVERITIES))
    )


def project_option(text: str | None) -> str:
    """``--project`` or CI_PROJECT_PATH, as a project path (a URL or a glob is refused)."""
    if not text:
        raise UsageError("--project: name the project (group/project); in CI, CI_PROJECT_PATH does")
    parsed = parse_project(text, host="")
    if isinstance(parsed, Refused):
        raise UsageError(f"--project: {parsed.what} {parsed.fix}")
    return parsed


def skipped_lines(fmt: str, skipped: Sequence[str]) -> list[str]:
    return [
        f"{shown(finding, 80)} has no {fmt} ignore entry (it stays in the gate's hands)"
        for finding in skipped
    ]
