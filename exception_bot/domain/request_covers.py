"""A request's *Kind* and *Covers* fields (docs/reference/request.md): why the exception is
needed, and as data, the GitLab projects and the findings it applies to.

What an exception covers is what a CI gate lets through while it is active, so the field is
read strictly: every line names one project or one finding by the grammar of
:mod:`exception_bot.domain.covers`, with no wildcard, a bounded count, and findings only
together with the projects they are in (findings without a project would be every project's).
A gate or vulnerability exception must say what it covers: without it, no gate could honour
it, and an approver could not see what they let through.

Covers are part of the approved terms, but requests approved before the field existed hold
none: the hashes of their terms and approvals must not change, so these fields enter a hash
only when they are set (:func:`hashed_terms`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exception_bot.domain.covers import Refused, parse_finding, parse_project
from exception_bot.domain.escape import inert
from exception_bot.domain.model import Covers, ExceptionKind, ExceptionRequest, Problem

# Enough for a service and its libraries, and for the findings of one scan; a longer list is
# not one exception an approver can weigh, but several.
MAX_PROJECTS = 20
MAX_FINDINGS = 100
# Kinds whose exception exists to let findings through: nothing under Covers is a problem.
NEEDS_COVERS = frozenset({ExceptionKind.GATE, ExceptionKind.VULNERABILITY})
KIND_FIX = "Write one of: " + ", ".join(k.label for k in ExceptionKind) + "."
COVERS_FIX = (
    "Write one line per project or finding, e.g. '- project: group/app' and "
    "'- finding: CVE-2024-12345'."
)
# "- project: group/app", "* **Findings:** CVE-1, CVE-2": a list marker, emphasis, a key and
# a colon, read with str methods (a pattern with whitespace runs either side of optional
# emphasis backtracks quadratically over a line of spaces).
_KEY_DECORATION = " \t-*+_`0123456789.)"
_KEYS: Mapping[str, str] = {
    "project": "projects",
    "projects": "projects",
    "finding": "findings",
    "findings": "findings",
}
_MAX_SHOWN_LINES = 3
# The grammar's messages write placeholders as <scanner>:<rule-id>: in a GitLab comment an
# unknown tag is dropped by the sanitizer, so they are shown as code.
_PLACEHOLDER_RE = re.compile(
    r"(?:image:|vulnerability:)?<[a-z][a-z /._:-]{0,40}>(?::<[a-z][a-z /._-]{0,40}>)?"
)


@dataclass(frozen=True)
class _Bad:
    number: int  # 1-based line of the section
    value: str
    refused: Refused


def parse_kind(text: str) -> tuple[ExceptionKind | None, Problem | None]:
    """``False positive``, ``false-positive`` or ``- **Gate**`` -> the kind."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        return None, Problem("kind", "'Kind' must be a single value.", KIND_FIX)
    value = lines[0].lstrip("-*+ ").strip("*_` .").replace("-", " ").replace("_", " ")
    wanted = " ".join(value.split()).lower()
    for kind in ExceptionKind:
        if kind.label.lower() == wanted:
            return kind, None
    return None, Problem("kind", f"{inert(lines[0], limit=60)} is not a known kind.", KIND_FIX)


def parse_covers(text: str) -> tuple[Covers | None, Problem | None]:
    """The section's lines as normalised projects and findings, or the first problem."""
    projects: list[str] = []
    findings: list[str] = []
    bad: list[_Bad] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, values = _split(line)
        if key is None or not values:
            why = "The line names no project or finding."
            bad.append(_Bad(number, line, Refused(why, "")))
            continue
        into, parse = (projects, _project) if key == "projects" else (findings, parse_finding)
        for value in values:
            parsed = parse(value)
            if isinstance(parsed, Refused):
                bad.append(_Bad(number, value, parsed))
            elif parsed not in into:
                into.append(parsed)
        if len(projects) > MAX_PROJECTS or len(findings) > MAX_FINDINGS:
            return None, _too_many(projects, findings)
    if bad:
        return None, _bad_lines(bad)
    covers = Covers(tuple(projects), tuple(findings))
    if covers.findings and not covers.projects:
        return None, Problem(
            "covers",
            "Covers names findings but no project.",
            "Add the projects they are in ('- project: group/app'): an exception never "
            "covers a finding in every project.",
        )
    return covers, None


def _split(line: str) -> tuple[str | None, list[str]]:
    key, colon, rest = line.partition(":")
    key = key.strip(_KEY_DECORATION).lower()
    if not colon or key not in _KEYS:
        return None, []
    # Emphasis closing the key (**Projects:** a/b) goes; a '*' standing as a value stays, to
    # be refused as the wildcard it is.
    rest = rest.lstrip("*_") if rest[:1] in ("*", "_") else rest
    values = (value.strip("`") for value in rest.replace(",", " ").split())
    return _KEYS[key], [value for value in values if value]


def _project(text: str) -> str | Refused:
    if "://" in text:
        # The bot's config holds no GitLab URL to compare a URL's host with: a path is
        # unambiguous, a URL might name another GitLab's project.
        return Refused(
            "A project is written as a URL.",
            "Write its path as GitLab shows it (group/subgroup/project), without the host.",
        )
    return parse_project(text, "")


def _too_many(projects: list[str], findings: list[str]) -> Problem:
    what = (
        f"Covers names more than {MAX_PROJECTS} projects."
        if len(projects) > MAX_PROJECTS
        else f"Covers names more than {MAX_FINDINGS} findings."
    )
    return Problem(
        "covers",
        what,
        f"Keep it to at most {MAX_PROJECTS} projects and {MAX_FINDINGS} findings; "
        "request one exception per system or release instead.",
    )


def _bad_lines(bad: list[_Bad]) -> Problem:
    shown = [f"Line {b.number} ({inert(b.value, limit=60)}): {_code(b.refused.what)}" for b in bad]
    more = len(bad) - _MAX_SHOWN_LINES
    what = " ".join(shown[:_MAX_SHOWN_LINES])
    if more > 0:
        what += f" And {more} more."
    return Problem("covers", what, _code(bad[0].refused.fix) or COVERS_FIX)


def _code(text: str) -> str:
    """The grammar's own words with each ``<placeholder>`` as a code span."""
    return _PLACEHOLDER_RE.sub(lambda m: f"`{m.group(0)}`", text)


def kind_problems(kind: object, covers: object) -> list[Problem]:
    """A gate or vulnerability exception must name what it covers."""
    if kind not in NEEDS_COVERS or not isinstance(kind, ExceptionKind):
        return []
    if isinstance(covers, Covers) and covers.projects and covers.findings:
        return []
    return [
        Problem(
            "covers",
            f"A {kind.label.lower()} exception must name the projects and the findings it covers.",
            f"Under '## Covers', {COVERS_FIX[0].lower()}{COVERS_FIX[1:]}",
        )
    ]


def covers_json(covers: Covers) -> dict[str, list[str]]:
    """As the register and the record keep it."""
    return {"projects": list(covers.projects), "findings": list(covers.findings)}


def covers_from_json(data: object) -> Covers:
    """From the record's JSON; ``None`` (terms recorded before the field) covers nothing.
    ValueError when it is not what the bot wrote."""
    if data is None:
        return Covers()
    if not isinstance(data, Mapping):
        raise ValueError("covers is not an object")
    projects, findings = data.get("projects", []), data.get("findings", [])
    if not isinstance(projects, list) or not isinstance(findings, list):
        raise ValueError("covers holds no lists")
    return Covers(tuple(map(str, projects)), tuple(map(str, findings)))


def kind_from_json(data: object) -> ExceptionKind | None:
    return None if data is None else ExceptionKind(str(data))


LATER_FIELDS = ("kind", "covers")


def hashed_terms(request: ExceptionRequest) -> dict[str, Any]:
    """The fields added after approvals were first recorded, as a hash includes them: only
    when set, so that every hash recorded before them stays what it was."""
    out: dict[str, Any] = {}
    if request.kind is not None:
        out["kind"] = request.kind.value
    if not request.covers.empty:
        out["covers"] = covers_json(request.covers)
    return out


def cover_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """``kind`` and ``covers`` of an entry file a person wrote (the merge-request route), as
    its ``register.json`` row holds them: only a known kind and only the projects and findings
    that parse. What does not parse covers nothing (``lint`` and ``mr-check`` name it)."""
    kind = data.get("kind")
    known = {k.value for k in ExceptionKind}
    covers, _ = read_covers(data.get("covers"))
    return {"kind": kind if kind in known else None, "covers": covers_json(covers)}


def read_covers(value: object) -> tuple[Covers, list[str]]:
    """A file's ``covers`` front matter: what parses, and a message for each thing that
    does not."""
    if value is None:
        return Covers(), []
    if not isinstance(value, Mapping):
        return Covers(), ["'covers' must hold 'projects' and 'findings' lists"]
    parsed: dict[str, list[str]] = {"projects": [], "findings": []}
    problems: list[str] = []
    limits = {"projects": MAX_PROJECTS, "findings": MAX_FINDINGS}
    parse = {"projects": _project, "findings": parse_finding}
    for key, into in parsed.items():
        items = value.get(key, [])
        if not isinstance(items, list) or len(items) > limits[key]:
            problems.append(f"covers.{key} must be a list of at most {limits[key]} items")
            continue
        for n, item in enumerate(items):
            result = parse[key](str(item)[:500]) if isinstance(item, str) else Refused("", "")
            if isinstance(result, Refused):
                problems.append(f"covers.{key}[{n}] is not a {key[:-1]}: {result.what}".strip())
            elif result not in into:
                into.append(result)
    if parsed["findings"] and not parsed["projects"]:
        problems.append("covers names findings but no project")
        parsed["findings"] = []
    return Covers(tuple(parsed["projects"]), tuple(parsed["findings"])), problems
