"""GitLab security report files, read for the gate: ``gl-dependency-scanning-report.json``,
``gl-container-scanning-report.json``, ``gl-sast-report.json`` and any other file in GitLab's
security report format.

The format is gitlab-org/security-products/security-report-schemas, which GitLab vendors per
version in gitlabhq ``lib/gitlab/ci/parsers/security/validators/schemas/<version>/``: every
report has ``version`` (``^[0-9]+\\.[0-9]+\\.[0-9]+$``) and ``vulnerabilities``; each of those has
``id``, ``identifiers`` (at least one: ``type``, ``name``, ``value``) and ``location``, and
``severity`` is one of Info, Unknown, Low, Medium, High, Critical (optional since 15.0.0). The
gate knows the 14.x and 15.x schemas; GitLab itself refuses a report of a version it does not
know (``schema_validator.rb``), and so does the gate, rather than guess at a new layout.

A report is the scanner's, but whoever controls the repository controls what the scanner sees
and so what the report says: it is read with a size cap, and nothing in it is trusted beyond
its shape (its text is escaped before it is printed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exception_bot.errors import UsageError

SUPPORTED_MAJORS = frozenset({14, 15})
# A 50,000-finding dependency scanning report is about 50 MB; a report five times the largest
# GitLab ingests in one job is not one to hold in memory in a CI job.
DEFAULT_MAX_MB = 64


@dataclass(frozen=True)
class SecurityReport:
    """One report file: its name as given, the whole JSON (the filtered report keeps every key
    but its vulnerabilities), and its findings."""

    name: str
    data: Mapping[str, Any]
    findings: tuple[Mapping[str, Any], ...]

    @property
    def scan_type(self) -> str:
        scan = self.data.get("scan")
        kind = scan.get("type") if isinstance(scan, Mapping) else None
        return kind if isinstance(kind, str) else ""


def read_report(path: Path, max_mb: int = DEFAULT_MAX_MB) -> SecurityReport:
    """The report at ``path``, or a :class:`UsageError` naming the file and what is wrong."""
    raw = _read_capped(path, max_mb)
    try:
        data = json.loads(raw, parse_constant=_not_json, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError; so is a
        # number of more than 4,300 digits, and a deep enough nesting overflows the parser.
        why = "nested too deep" if isinstance(err, RecursionError) else _first_line(str(err))
        raise UsageError(f"{path}: not a JSON security report ({why})") from None
    return parse_report(str(path), data)


def parse_report(name: str, data: object) -> SecurityReport:
    if not isinstance(data, dict):
        raise UsageError(f"{name}: not a GitLab security report (its JSON is not an object)")
    version = data.get("version")
    major = _major(version)
    if major is None:
        raise UsageError(f"{name}: not a GitLab security report (no schema version)")
    if major not in SUPPORTED_MAJORS:
        shown = str(version)[:20].encode("ascii", "replace").decode()
        raise UsageError(
            f"{name}: schema version {shown!r} is not one the gate knows (14.x, 15.x); "
            "upgrade exception-bot, or pin the scanner's template to a known version"
        )
    found = data.get("vulnerabilities")
    if not isinstance(found, list):
        raise UsageError(f"{name}: its vulnerabilities are not a list")
    _scan_succeeded(name, data.get("scan"))
    # A finding that is not an object still counts: as a finding nobody can name, it blocks.
    findings = tuple(f if isinstance(f, dict) else {} for f in found)
    return SecurityReport(name, data, findings)


def _scan_succeeded(name: str, scan: object) -> None:
    """The schema's ``scan.status`` (required, success or failure): a scanner that failed
    writes what it found before it failed, or nothing, and the gate would pass a pipeline
    whose scanner never looked."""
    status = scan.get("status", _ABSENT) if isinstance(scan, dict) else _ABSENT
    if status is _ABSENT:
        raise UsageError(
            f"{name}: no scan.status, which the schema requires: the gate cannot tell the scan "
            "ran to its end"
        )
    if status != "success":
        raise UsageError(
            f"{name}: the scanner reports its scan as {_safe(status)!r}, not success: its "
            "findings may not be all; fix the scanner job"
        )


_ABSENT = object()


def _not_json(constant: str) -> Any:
    """NaN and Infinity: Python's json reads them, no other reader of the report does."""
    raise ValueError(f"{constant} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object, refused when it holds a key twice: readers keep different copies (Python's
    and Ruby's the last), so a report could show one reader a finding another never sees."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"it holds the key {_safe(key)!r} twice in one object")
            seen.add(key)
    return data


def _safe(value: object) -> str:
    return str(value)[:40].encode("ascii", "replace").decode()


def _major(version: object) -> int | None:
    if not isinstance(version, str) or len(version) > 20:
        return None
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdecimal() and p.isascii() for p in parts):
        return None
    return int(parts[0])


def _read_capped(path: Path, max_mb: int) -> bytes:
    cap = max_mb * 1024 * 1024
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > cap:
                raise UsageError(_too_big(path, size, max_mb))
            raw = handle.read(cap + 1)  # a pipe or a special file states no size
    except FileNotFoundError:
        raise UsageError(f"{path}: no such report file; did the scanner job run?") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; give the report's JSON file") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read it ({err.strerror})") from None
    if len(raw) > cap:
        raise UsageError(_too_big(path, len(raw), max_mb))
    return raw


def _too_big(path: Path, size: int, max_mb: int) -> str:
    return (
        f"{path}: {size / 1024 / 1024:.0f} MB is over the gate's limit of {max_mb} MB; "
        "raise --max-report-mb if the report is genuine"
    )


def _first_line(text: str) -> str:
    return " ".join(text.split())[:200]


def filtered_report(report: SecurityReport, keep: set[int]) -> dict[str, Any]:
    """The report with only the findings at the indexes ``keep``, every other key as it was:
    the same schema, so GitLab's tools and the next job read it as they read the original."""
    found = report.data.get("vulnerabilities")
    findings = [f for i, f in enumerate(found if isinstance(found, list) else ()) if i in keep]
    return {**report.data, "vulnerabilities": findings}
