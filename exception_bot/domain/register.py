"""Register entries: one Markdown file per exception, YAML front matter for machines
(docs/explanation/after-approval.md).

The front matter goes through a safe YAML dumper and comes back through ``yaml.safe_load``, never
string building, so no request text can break it. A confidential request's free text stays out
of the register unless the config allows it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import yaml

from exception_bot.domain import charts
from exception_bot.domain.escape import inert, inert_block
from exception_bot.domain.model import Covers, ExceptionRequest, IssueSnapshot
from exception_bot.domain.request_covers import covers_json
from exception_bot.domain.settings import Config

# Request fields written as sections of the entry, in template order.
SECTION_FIELDS = (
    ("summary", "Summary"),
    ("scope", "Scope"),
    ("justification", "Justification"),
    ("alternatives_considered", "Alternatives considered"),
    ("risk_assessment", "Risk assessment"),
    ("compensating_controls", "Compensating controls"),
    ("remediation_plan", "Remediation plan"),
    ("why_timeline_not_met", "Why the original timeline was not met"),
    ("updated_remediation_plan", "Updated remediation plan"),
)
_SLUG_MAX = 48
# Characters YAML reads as line breaks: written raw (allow_unicode) they would come back as
# spaces, so strings holding them are written double-quoted, where the emitter escapes them.
_YAML_BREAKS = frozenset("\x85\u2028\u2029")


class _EntryDumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that keeps every string round-trip exact."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if _YAML_BREAKS.intersection(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_EntryDumper.add_representer(str, _represent_str)
_PATH_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")
_FRONT_MATTER_RE = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n?(.*)\Z", re.S)


@dataclass(frozen=True)
class ApprovalEntry:
    role: str
    user: str
    at: datetime


@dataclass(frozen=True)
class RejectionEntry:
    """A rejection an appeal set aside: who rejected, when, and at which stage (slot titles)."""

    user: str | None  # None for an appeal recorded before the bot kept who rejected
    at: datetime
    stage: str | None


@dataclass(frozen=True)
class EscalationEntry:
    """A decision taken to the CISO after it was made (docs/explanation/escalations.md)."""

    reason: str  # "rejection", "controls" or "activation-deadline"
    escalated_by: str
    escalated_at: datetime
    outcome: str | None  # "reinstated", "rejection confirmed", "accepted without ..." ...
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class RiskAssessmentEntry:
    """The security team's assessment that changed the level (``risk_level`` is the assessed
    one): the level the requester wrote, who assessed it and when, and the CISO who confirmed
    a lowering."""

    requested: str
    by: str
    at: datetime
    confirmed_by: str | None = None


@dataclass(frozen=True)
class RegisterEntry:
    """The machine fields of one exception and the sections of its request text."""

    id: str
    title: str
    status: str
    risk_level: str
    department: str
    policy: str
    environment: str
    requester: str
    source: str
    requested_at: datetime
    expires_at: date
    approvals: tuple[ApprovalEntry, ...] = ()
    approved_at: datetime | None = None
    activated_at: datetime | None = None
    closed_at: datetime | None = None
    revoked_by: str | None = None
    appealed_at: datetime | None = None  # granted on appeal: when the requester appealed
    appeal_granted_at: datetime | None = None
    rejections: tuple[RejectionEntry, ...] = ()
    renewal_of: str | None = None
    renewal_number: int = 0
    incidents: tuple[str, ...] = ()
    confidential: bool = False
    # A confidential request's entry without its title and free text
    # (docs/explanation/after-approval.md).
    redacted: bool = False
    # The digest of the approved terms (fields and title) in the bot's record of the request.
    approved_hash: str | None = None
    # Why the exception is needed and what it covers (docs/reference/request.md): kept even
    # for a redacted entry, since the gates of the covered projects read them from the index.
    kind: str | None = None
    covers: Covers = field(default_factory=Covers)
    sections: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    ciso_escalations: tuple[EscalationEntry, ...] = ()
    risk_assessment: RiskAssessmentEntry | None = None


def exception_id(prefix: str, iid: int) -> str:
    """``EXC-0042``: the prefix and the issue iid, zero-padded to four digits."""
    return f"{prefix}{iid:04d}"


def exception_id_of(issue: IssueSnapshot, config: Config) -> str:
    """``EXC-0042``: the register id, with the prefix of the issue's requests project."""
    prefix = next(
        (p.id_prefix for p in config.gitlab.requests_projects if p.path == issue.project),
        config.gitlab.requests_projects[0].id_prefix,
    )
    return exception_id(prefix, issue.iid)


def slug(text: str) -> str:
    """``Keep TLS 1.1 on fin-report-01!`` -> ``keep-tls-1-1-on-fin-report-01``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > _SLUG_MAX:
            break
        out = candidate
    return out or "exception"


def entry_path(config: Config, entry: RegisterEntry, *, archived: bool = False) -> str:
    directory = config.register.archive_directory if archived else config.register.directory
    name = "confidential" if entry.redacted else slug(entry.title)
    return f"{directory}/{entry.id}-{name}.md"


def redacts(confidential: bool, config: Config) -> bool:
    """Whether a request's register entry, index rows and report rows leave out its title and
    free text: a confidential request's, unless the config keeps its details."""
    return confidential and not config.register.include_confidential_details


def neutral_title(exception_id: str) -> str:
    """What the register and the weekly report call a confidential request."""
    return f"Confidential exception {exception_id}"


def shown_title(title: str, exception_id: str, confidential: bool, config: Config) -> str:
    """The request's title as the register and the report show it."""
    return neutral_title(exception_id) if redacts(confidential, config) else title


def sections_for(request: ExceptionRequest, confidential: bool, config: Config) -> dict[str, str]:
    """The request text to keep in the register: none of it for a redacted entry, whose free
    text (the summary and a renewal's fields included) stays in the confidential issue."""
    if redacts(confidential, config):
        return {}
    out: dict[str, str] = {}
    for key, heading in SECTION_FIELDS:
        value = getattr(request, key)
        if value is not None:
            out[heading] = str(value)
    return out


def front_matter(entry: RegisterEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "status": entry.status,
        "risk_level": entry.risk_level,
        "department": entry.department,
        "policy": entry.policy,
        "environment": entry.environment,
        "kind": entry.kind,
        "covers": covers_json(entry.covers),
        "requester": entry.requester,
        "source": entry.source,
        "requested_at": _iso(entry.requested_at),
        "approved_at": _iso(entry.approved_at),
        "activated_at": _iso(entry.activated_at),
        "expires_at": entry.expires_at.isoformat(),
        "closed_at": _iso(entry.closed_at),
        "revoked_by": entry.revoked_by,
        "appealed_at": _iso(entry.appealed_at),
        "appeal_granted_at": _iso(entry.appeal_granted_at),
        "rejections": [
            {"user": r.user, "at": _iso(r.at), "stage": r.stage} for r in entry.rejections
        ],
        "approvals": [{"role": a.role, "user": a.user, "at": _iso(a.at)} for a in entry.approvals],
        "renewal_of": entry.renewal_of,
        "renewal_number": entry.renewal_number,
        "incidents": list(entry.incidents),
        "confidential": entry.confidential,
        "redacted": entry.redacted,
        "approved_hash": entry.approved_hash,
        # Only when there were any: the entries written before them stay as they were.
        **({"ciso_escalations": _escalations(entry)} if entry.ciso_escalations else {}),
        **_assessment(entry.risk_assessment),
    }


def _assessment(a: RiskAssessmentEntry | None) -> dict[str, Any]:
    """Only for an entry whose level the security team changed: the others stay as they were."""
    if a is None:
        return {}
    return {
        "requested_risk_level": a.requested,
        "risk_assessed_by": a.by,
        "risk_assessed_at": _iso(a.at),
        "risk_confirmed_by": a.confirmed_by,
    }


def _escalations(entry: RegisterEntry) -> list[dict[str, Any]]:
    return [
        {
            "reason": e.reason,
            "escalated_by": e.escalated_by,
            "escalated_at": _iso(e.escalated_at),
            "outcome": e.outcome,
            "decided_by": e.decided_by,
            "decided_at": _iso(e.decided_at),
        }
        for e in entry.ciso_escalations
    ]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def render_entry(entry: RegisterEntry) -> str:
    """The entry file: YAML front matter, then one ``##`` section per request field."""
    yaml_text = yaml.dump(
        front_matter(entry), Dumper=_EntryDumper, sort_keys=False, allow_unicode=True, width=1000
    )
    # The request's text is the requester's: shown as written, in code blocks, it cannot link,
    # mention, embed an image or forge a heading in the register an auditor reads.
    body = "\n\n".join(
        f"## {heading}\n\n{inert_block(text.strip())}" for heading, text in entry.sections.items()
    )
    if entry.redacted:
        body = "The request is confidential: its text is kept in the request issue only."
    return f"---\n{yaml_text}---\n\n# {entry.id}: {inert(entry.title, limit=200)}\n\n{body}\n"


def read_front_matter(text: str) -> dict[str, Any] | None:
    """The front matter of an entry file, or None when it has none that can be read."""
    return parse_front_matter(text).data


@dataclass(frozen=True)
class FrontMatter:
    """An entry file's front matter, or why it has none that can be read, and on which line."""

    data: dict[str, Any] | None
    problem: str = ""
    line: int = 1  # 1-based, in the file


def parse_front_matter(text: str) -> FrontMatter:
    """Files of the merge-request route are written by hand: PyYAML raises ValueError for a
    date that does not exist (``2026-02-30``) and RecursionError for nesting deep enough,
    neither of them a YAMLError. No file may stop the watch or the lint."""
    match = _FRONT_MATTER_RE.match(text)
    if match is None:
        return FrontMatter(
            None, "no YAML front matter: start the file with --- , the fields, and --- again"
        )
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        # The front matter starts on the file's second line, after its ---.
        line = mark.line + 2 if mark else 1
        why = err.problem or err.context or "unreadable"
        return FrontMatter(None, f"the front matter is not valid YAML ({why} on line {line})", line)
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        why = "nested too deep" if isinstance(err, RecursionError) else _one_line(str(err))
        return FrontMatter(None, f"the front matter is not valid YAML ({why or 'unreadable'})")
    if not isinstance(data, dict):
        return FrontMatter(
            None, "the front matter is not a list of fields (key: value, one per line)"
        )
    return FrontMatter(data)


def _one_line(text: str) -> str:
    return " ".join(text.split())


INDEX_FIELDS = (
    "id",
    "title",
    "status",
    "risk_level",
    "department",
    "policy",
    "environment",
    "requester",
    "requested_at",
    "expires_at",
    "source",
)
# Also in each row, for the Gantt chart of REGISTER.md (domain/charts.py): when the exception
# took effect. Not index fields: a file of the merge-request route may leave them out, and rows
# written before they were added lack them.
CHART_FIELDS = ("approved_at", "activated_at")
# Also in each row, for the gates of the covered projects: why the exception is needed and
# what it covers ({"projects": [...], "findings": [...]}). Rows and files written before they
# were added lack them: such an exception covers nothing.
COVER_FIELDS = ("kind", "covers")
INDEX_JSON = "register.json"
INDEX_MARKDOWN = "REGISTER.md"


class RegisterFormatError(ValueError):
    """``register.json`` on the branch is not a list of rows: a person must repair it."""


def index_row(entry: RegisterEntry, path: str) -> dict[str, Any]:
    """The entry's row of ``register.json``: the index fields and the entry file's path."""
    matter = front_matter(entry)
    row = {key: matter[key] for key in (*INDEX_FIELDS, *CHART_FIELDS, *COVER_FIELDS)}
    return {**row, "path": path}


def index_rows(entries: Iterable[RegisterEntry], paths: Mapping[str, str]) -> list[dict[str, Any]]:
    return sorted((index_row(e, paths.get(e.id, "")) for e in entries), key=lambda r: str(r["id"]))


def read_index(text: str | None) -> list[dict[str, Any]]:
    """The rows of ``register.json``; none when the file does not exist yet.

    A file that is not a JSON list of objects with an ``id`` is refused rather than replaced:
    rewriting it would drop whatever a person wrote there.
    """
    if text is None:
        return []
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:  # RecursionError: nested too deep to parse
        why = "nested too deep" if isinstance(err, RecursionError) else str(err)
        raise RegisterFormatError(f"{INDEX_JSON} is not valid JSON ({why}): repair it") from None
    if not isinstance(data, list) or not all(
        isinstance(row, dict) and isinstance(row.get("id"), str) for row in data
    ):
        raise RegisterFormatError(
            f'{INDEX_JSON} must be a JSON list of objects that each have an "id": repair it'
        )
    return data


def merge_row(rows: Iterable[Mapping[str, Any]], row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``rows`` with ``row`` replacing the row of the same id; every other row kept as it is."""
    merged = {str(r["id"]): dict(r) for r in rows}
    merged[str(row["id"])] = dict(row)
    return [merged[key] for key in sorted(merged)]


def index_json(rows: Iterable[Mapping[str, Any]]) -> str:
    return json.dumps(list(rows), indent=2, ensure_ascii=False) + "\n"


def index_markdown(rows: Iterable[Mapping[str, Any]]) -> str:
    """``REGISTER.md``: the table of every exception and a Gantt chart of the active ones."""
    listed = list(rows)
    lines = [
        "# Exception register",
        "",
        "| ID | Title | Status | Risk | Department | Policy | Expires |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in listed:
        # Rows of files that came by merge request are whatever their author wrote.
        target = _link_target(row.get("path"))
        link = f"[{inert(row['id'])}]({target})" if target else inert(row["id"])
        cells = [link] + [
            "" if row.get(k) is None else inert(row.get(k))
            for k in ("title", "status", "risk_level", "department", "policy", "expires_at")
        ]
        lines.append("| " + " | ".join(cells) + " |")
    active = [r for r in listed if r.get("status") in ("approved", "active")]
    chart = charts.gantt("Active exceptions", (_bar(row) for row in active))
    if chart:
        lines += ["", chart]
    return "\n".join(lines) + "\n"


def _link_target(path: object) -> str:
    """A row's file, linked only when it is a register file's path (ours are made of ids and
    slugs): a hand-written row's path may be anything."""
    text = str(path or "")
    ours = text.endswith(".md") and _PATH_CHARACTERS.issuperset(text) and ".." not in text
    return text if ours and not text.startswith(("/", ".")) else ""


def _bar(row: Mapping[str, Any]) -> charts.Bar:
    start = charts.started(row.get("approved_at"), row.get("activated_at"))
    end = charts.chart_date(row.get("expires_at"))
    return charts.Bar(str(row["id"]), str(row.get("title") or ""), start, end)


def register_files(
    current: Mapping[str, str | None],
    path: str,
    content: str,
    row: Mapping[str, Any],
    remove: Iterable[str] = (),
) -> dict[str, str | None]:
    """The files one register write changes: path -> new content, or None to delete.

    ``current`` holds what the branch has now for the entry's paths and the two index files
    (None when missing). Unchanged files are left out, so an empty result means nothing to
    commit: writing the same entry twice makes no commit.
    """
    rows = merge_row(read_index(current.get(INDEX_JSON)), row)
    wanted: dict[str, str | None] = {
        path: content,
        INDEX_JSON: index_json(rows),
        INDEX_MARKDOWN: index_markdown(rows),
    }
    for old in remove:
        if old != path:
            wanted[old] = None
    return {name: text for name, text in wanted.items() if current.get(name) != text}


@dataclass(frozen=True)
class Trail:
    """What a register commit records: the event, and the GitLab user whose action caused it
    (the bot's user for what time or the bot itself does) at that action's time."""

    event: str
    actor: str
    at: datetime


# Printable ASCII but the space: a trailer value stays one token on one line whatever it holds.
_TRAILER_UNSAFE_RE = re.compile(r"[^\x21-\x7e]")
_TRAILER_MAX = 200


def commit_message(entry: RegisterEntry, trail: Trail) -> str:
    """An entry's commit: its trail and its issue (see :func:`trail_message`)."""
    return trail_message(entry.id, trail, (("Issue", entry.source),))


def trail_message(ident: str, trail: Trail, links: Iterable[tuple[str, str]] = ()) -> str:
    """The subject, then git trailers (a blank line, ``Key: value`` lines at the end), so that
    ``git log --grep='^Actor: sue$'`` or ``git interpret-trailers --parse`` answer without the
    issues: the exception, the event, who caused it and when, then ``links`` (the issue, or
    the merge request). Usernames are people's choice within GitLab's rules, and the id of a
    file that came by merge request whoever wrote it: each value is kept to one line of
    printable characters all the same."""
    trailers = (
        ("Exception-Id", ident),
        ("Event", trail.event),
        ("Actor", trail.actor),
        ("Acted-At", trail.at.isoformat()),
        *links,
    )
    lines = [f"{key}: {_trailer_value(value)}" for key, value in trailers]
    subject = f"{_trailer_value(ident)}: {_trailer_value(trail.event)}"
    return "\n".join([subject, "", *lines]) + "\n"


def _trailer_value(text: str) -> str:
    return _TRAILER_UNSAFE_RE.sub("", text)[:_TRAILER_MAX] or "-"


# The export's CSV columns: the index's, the dates, the approvals and the renewal chain.
EXPORT_FIELDS = (
    "id",
    "title",
    "status",
    "risk_level",
    "department",
    "policy",
    "environment",
    "kind",
    "covers",
    "requester",
    "requested_at",
    "approved_at",
    "activated_at",
    "expires_at",
    "closed_at",
    "revoked_by",
    "approvals",
    "rejections",
    "appealed_at",
    "appeal_granted_at",
    "renewal_of",
    "renewal_number",
    "incidents",
    "confidential",
    "approved_hash",
    "source",
    "path",
)


def entry_file(row: Mapping[str, Any]) -> str:
    """The entry file an index row names, when it is a register file's path; else ''."""
    return _link_target(row.get("path"))


def export_entry(row: Mapping[str, Any], text: str | None) -> dict[str, Any]:
    """One exception as the export gives it: its entry file's front matter and its path, or
    its index row when the file is missing or has no front matter that can be read."""
    data = read_front_matter(text) if text is not None else None
    return {**(data if data is not None else row), "path": row.get("path", "")}


def export_rows(entries: Iterable[Mapping[str, Any]], fmt: str) -> str:
    """The entries as JSON (each whole), or as CSV: one row per exception, with its approvals,
    rejections and incidents joined into one cell each."""
    listed = list(entries)
    if fmt == "json":
        return json.dumps(listed, indent=2, ensure_ascii=False, default=_json_value) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in listed:
        # A cell starting with = + - @ is a formula to a spreadsheet: quote it as text.
        writer.writerow({k: _csv_safe(_cell(entry.get(k))) for k in EXPORT_FIELDS})
    return out.getvalue()


def _json_value(value: object) -> str:
    """Dates a hand-written file's YAML gave (``expires_at: 2027-01-15``) as ISO text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _cell(value: object) -> object:
    """A list (the approvals, the incidents) as one cell: ``Role: user at`` parts and ``; ``;
    the covers as ``projects: a/b; findings: CVE-1 CVE-2``."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in value.items() if v)
    if not isinstance(value, list):
        return value
    return "; ".join(_part(item) for item in value)


def _part(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    who = " ".join(str(item[k]) for k in ("user", "at") if item.get(k) is not None)
    where = item.get("role") or item.get("stage")
    return f"{where}: {who}" if where else who


def _csv_safe(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
