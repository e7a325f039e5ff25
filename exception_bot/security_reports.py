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
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    # The report's text and where each finding and the vulnerabilities list are in it, when
    # read from a file: the filtered report is cut from it rather than encoded again.
    source: Source | None = None

    @property
    def scan_type(self) -> str:
        scan = self.data.get("scan")
        kind = scan.get("type") if isinstance(scan, Mapping) else None
        return kind if isinstance(kind, str) else ""


@dataclass(frozen=True)
class Source:
    text: str
    array: tuple[int, int]  # the vulnerabilities list, brackets included
    spans: tuple[tuple[int, int], ...]  # each finding's text


def read_report(path: Path, max_mb: int = DEFAULT_MAX_MB) -> SecurityReport:
    """The report at ``path``, or a :class:`UsageError` naming the file and what is wrong."""
    raw = _read_capped(path, max_mb)
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")  # as json.loads does
        data, source = _parse_top(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError; so is a
        # number of more than 4,300 digits, and a deep enough nesting overflows the parser.
        why = "nested too deep" if isinstance(err, RecursionError) else _first_line(str(err))
        raise UsageError(f"{path}: not a JSON security report ({why})") from None
    report = parse_report(str(path), data)
    return replace(report, source=source) if isinstance(data, dict) else report


_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace


def _skip(text: str, at: int) -> int:
    found = _WHITESPACE.match(text, at)
    return found.end() if found else at


def _parse_top(text: str) -> tuple[object, Source | None]:
    """The document, parsed by json's own decoder value by value at the top level, so that
    where the vulnerabilities list and each finding lie in ``text`` is known; anything but an
    object is parsed whole."""
    at = _skip(text, 0)
    if not text.startswith("{", at):
        return _DECODER.decode(text), None
    pairs: list[tuple[str, Any]] = []
    source: Source | None = None
    at = _skip(text, at + 1)
    while not (text.startswith("}", at) and not pairs):
        if not text.startswith('"', at):
            raise ValueError(f"expecting a property name at {at}")
        key, at = _DECODER.raw_decode(text, at)  # a string, as it starts with a quote
        at = _skip(text, at)
        if not text.startswith(":", at):
            raise ValueError(f"expecting ':' at {at}")
        at = _skip(text, at + 1)
        start = at
        if key == "vulnerabilities" and text.startswith("[", at):
            value, spans, at = _findings(text, at)
            source = Source(text, (start, at), spans)
        else:
            value, at = _DECODER.raw_decode(text, at)
        pairs.append((key, value))
        at = _skip(text, at)
        if text.startswith(",", at):
            at = _skip(text, at + 1)
            continue
        if not text.startswith("}", at):
            raise ValueError(f"expecting ',' or '}}' at {at}")
        break
    end = _skip(text, at + 1)
    if end != len(text):
        raise ValueError(f"extra data at {end}")
    return _unique_keys(pairs), source


def _findings(text: str, at: int) -> tuple[list[Any], tuple[tuple[int, int], ...], int]:
    """The list at ``at`` (its ``[``), each item's span, and where the list ends."""
    items: list[Any] = []
    spans: list[tuple[int, int]] = []
    at = _skip(text, at + 1)
    if text.startswith("]", at):
        return items, (), at + 1
    while True:
        item, end = _DECODER.raw_decode(text, at)
        items.append(item)
        spans.append((at, end))
        at = _skip(text, end)
        if text.startswith("]", at):
            return items, tuple(spans), at + 1
        if not text.startswith(",", at):
            raise ValueError(f"expecting ',' or ']' at {at}")
        at = _skip(text, at + 1)


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


def filtered_text(report: SecurityReport, keep: set[int]) -> str:
    """:func:`filtered_report` as JSON text: cut from the report's own text when it was read
    from a file (each kept finding as the scanner wrote it, every character past ASCII
    escaped), else encoded."""
    source = report.source
    if source is None or len(source.spans) != len(report.findings):
        return json.dumps(filtered_report(report, keep), ensure_ascii=True) + "\n"
    text = source.text
    kept = ",".join(text[a:b] for i, (a, b) in enumerate(source.spans) if i in keep)
    start, end = source.array
    whole = text[:start] + "[" + kept + "]" + text[end:]
    return (whole if whole.isascii() else _NON_ASCII.sub(_escaped, whole)).strip() + "\n"


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _escaped(match: re.Match[str]) -> str:
    """A character past ASCII as JSON escapes it (json.dumps' ensure_ascii): valid inside a
    string, and JSON has no such character outside one."""
    return json.dumps(match.group())[1:-1]


def filtered_report(report: SecurityReport, keep: set[int]) -> dict[str, Any]:
    """The report with only the findings at the indexes ``keep``, every other key as it was:
    the same schema, so GitLab's tools and the next job read it as they read the original."""
    found = report.data.get("vulnerabilities")
    findings = [f for i, f in enumerate(found if isinstance(found, list) else ()) if i in keep]
    return {**report.data, "vulnerabilities": findings}


_DECODER = json.JSONDecoder(parse_constant=_not_json, object_pairs_hook=_unique_keys)
