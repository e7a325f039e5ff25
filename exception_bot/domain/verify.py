"""``register verify``: the register checked against GitLab, one discrepancy at a time.

The register is what an auditor reads; the request issue is where the approvals happened. An
entry is evidence only when the two agree: its index row is its file's, its approvals are the
ones the bot recorded from GitLab's own checklist notes by people holding the role, and its
``approved_hash`` is the hash of the terms the bot froze at final approval. These checks are
pure: the shell (:mod:`exception_bot.verify`) reads the files, the issues and the groups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from exception_bot.domain import record as records
from exception_bot.domain.approvals import (
    APPEAL_PREFIX,
    approval_names,
    fields_hash,
    slot_title,
    toggles,
)
from exception_bot.domain.assessment import RiskRecord, effective
from exception_bot.domain.model import Covers, IssueSnapshot, Note
from exception_bot.domain.people import Directory, holders, requesters
from exception_bot.domain.provenance import Verdict, bot_record
from exception_bot.domain.register import COVER_FIELDS, INDEX_FIELDS, FrontMatter, shown_title
from exception_bot.domain.request_covers import cover_fields, covers_json
from exception_bot.domain.settings import Config
from exception_bot.domain.terms import Terms
from exception_bot.domain.validation import item_key

_UNPRINTABLE_RE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Discrepancy:
    """One way the register and GitLab disagree: ``kind`` for tooling, ``what`` for people."""

    exception_id: str
    path: str
    kind: str
    what: str

    def line(self) -> str:
        ident = _printable(self.exception_id)
        return (
            f"{ident} ({_printable(self.path)}): {self.what}"
            if self.path
            else f"{ident}: {self.what}"
        )


@dataclass(frozen=True)
class EntryFile:
    """A file of the register's ``exceptions/`` or archive folder, as read from the branch."""

    path: str
    matter: FrontMatter
    text: str = ""

    @property
    def exception_id(self) -> str:
        data = self.matter.data or {}
        return str(data.get("id") or self.path)


def check_index(rows: Iterable[Mapping[str, Any]], files: Iterable[EntryFile]) -> list[Discrepancy]:
    """``register.json`` against the entry files: each row names a file that says what the
    row says, each file has a row, and no exception has two files."""
    by_path = {f.path: f for f in files}
    found: list[Discrepancy] = []
    indexed: set[str] = set()
    for row in rows:
        ident, path = str(row["id"]), str(row.get("path") or "")
        indexed.add(path)
        file = by_path.get(path)
        if file is None:
            found.append(_found(ident, path, "index-missing-file", "the index names no such file"))
        elif file.matter.data is not None:
            found += _row_differs(ident, row, file)
    for file in by_path.values():
        # A file whose front matter cannot be read has its line from check_provenance.
        if file.matter.data is not None and file.path not in indexed:
            what = "the file has no row in register.json"
            found.append(_found(file.exception_id, file.path, "unindexed", what))
    return found + _duplicates(by_path.values())


def _row_differs(ident: str, row: Mapping[str, Any], file: EntryFile) -> list[Discrepancy]:
    data = file.matter.data or {}
    # What a row says it covers is the file's as far as it parses (cover_fields: how the watch
    # indexes a hand-written file); rows and files from before Covers cover nothing.
    row_covers, file_covers = cover_fields(row), cover_fields(data)
    differs = [key for key in INDEX_FIELDS if _plain(row.get(key)) != _plain(data.get(key))]
    differs += [key for key in COVER_FIELDS if row_covers[key] != file_covers[key]]
    return [
        _found(
            ident,
            file.path,
            "index-differs",
            f"register.json says {key} {_shown(row.get(key))}, the file {_shown(data.get(key))}",
        )
        for key in differs
    ]


def _duplicates(files: Iterable[EntryFile]) -> list[Discrepancy]:
    """An exception has one file: a second (a rename or an archive that left the old one)
    would keep a stale entry in force."""
    paths: dict[str, list[str]] = {}
    for file in files:
        if file.matter.data is not None:
            paths.setdefault(file.exception_id, []).append(file.path)
    return [
        _found(ident, "", "duplicate", f"{len(found)} files: {', '.join(sorted(found))}")
        for ident, found in sorted(paths.items())
        if len(found) > 1
    ]


@dataclass(frozen=True)
class Evidence:
    """What GitLab holds for one issue-route entry: its issue (None when it cannot be read),
    the config's bot user, and the members of the config's groups."""

    issue: IssueSnapshot | None
    bot_user: str
    directory: Directory


def check_provenance(file: EntryFile, verdict: Verdict) -> list[Discrepancy]:
    """A file neither the bot's record nor an approved merge request accounts for
    (:mod:`exception_bot.domain.provenance`). Its ``why`` quotes what a pusher wrote (a
    committer's name), so it is shown as printable characters only."""
    if verdict.verified:
        return []
    what = "unverified: " + _UNPRINTABLE_RE.sub("?", verdict.why)[:300]
    kind = "unverified" if file.matter.data is not None else "unreadable"
    return [_found(file.exception_id, file.path, kind, what)]


def check_entry(file: EntryFile, evidence: Evidence, config: Config) -> list[Discrepancy]:
    """An issue-route entry against its issue: the source, the bot's record, the approved
    terms and every approval."""
    data, issue = file.matter.data or {}, evidence.issue
    ident = file.exception_id

    def found(kind: str, what: str) -> Discrepancy:
        return _found(ident, file.path, kind, what)

    if issue is None:
        return [found("issue-unreadable", f"its issue {_shown(data.get('source'))} cannot be read")]
    if issue.web_url != str(data.get("source")):
        return [found("source", f"its source is not the issue at {issue.web_url}")]
    rec = bot_record(issue.notes, evidence.bot_user)
    if rec is None or rec.terms is None:
        return [found("no-record", "the issue holds no record of approved terms by the bot")]
    out = [found(kind, what) for kind, what in _terms_problems(data, rec, issue, ident, config)]
    problems = _approval_problems(data, rec, issue, evidence, config)
    out += [found(kind, what) for kind, what in problems]
    return out


def _terms_problems(
    data: Mapping[str, Any], rec: records.Record, issue: IssueSnapshot, ident: str, config: Config
) -> list[tuple[str, str]]:
    terms = rec.terms
    assert terms is not None  # noqa: S101 - check_entry returned otherwise
    out: list[tuple[str, str]] = []
    if data.get("approved_hash") != terms.hash:
        what = f"approved_hash {_shown(data.get('approved_hash'))}, the issue's record {terms.hash}"
        out.append(("approved-hash", what))
    for key, wanted in _approved_fields(terms, issue, ident, config, rec.risk).items():
        if _entry_value(data, key) != wanted:
            what = f"{key} {_shown(data.get(key))}, the approved terms {_shown(wanted)}"
            out.append(("terms", what))
    if rec.state is not None and data.get("status") != rec.state:
        what = f"status {_shown(data.get('status'))}, the issue's record {rec.state}"
        out.append(("status", what))
    return out


def _approved_fields(
    terms: Terms, issue: IssueSnapshot, ident: str, config: Config, risk: RiskRecord | None
) -> dict[str, object]:
    """The entry's fields as the approved terms and the issue give them (the risk level as
    the security team assessed it, the terms holding what was written)."""
    request = terms.request
    level = effective(request.risk_level, risk)
    return {
        "title": shown_title(terms.title, ident, issue.confidential, config),
        "risk_level": level.value,
        # only when the assessment changed the level (register.RiskAssessmentEntry)
        "requested_risk_level": None if level is request.risk_level else request.risk_level.value,
        "department": request.department,
        "policy": request.policy,
        "environment": request.environment,
        "expires_at": request.expiration_date.isoformat(),
        "requester": issue.author.username,
        "kind": request.kind.value if request.kind else None,
        "covers": covers_json(request.covers),
    }


def _entry_value(data: Mapping[str, Any], key: str) -> object:
    """An entry's field as the bot writes it; an entry written before Covers covers nothing."""
    value = _plain(data.get(key))
    return covers_json(Covers()) if key == "covers" and value is None else value


def _approval_problems(
    data: Mapping[str, Any],
    rec: records.Record,
    issue: IssueSnapshot,
    evidence: Evidence,
    config: Config,
) -> list[tuple[str, str]]:
    """The entry's approvals are the record's, and each recorded approval is a tick GitLab
    noted, by a holder of the role who is not the requester, on the approved text."""
    out: list[tuple[str, str]] = []
    recorded = {(*approval_names(config, a), a.at.isoformat()) for a in rec.approvals}
    listed = {_approval_key(item) for item in _list(data.get("approvals"))}
    for role, user, at in sorted(listed - recorded):
        out.append(("approval-unrecorded", f"{role}: {user} at {at} is not in the issue's record"))
    for role, user, at in sorted(recorded - listed):
        out.append(("approval-missing", f"{role}: {user} at {at} is recorded but not listed"))
    notes = {n.id: n for n in issue.notes}
    for approval in rec.approvals:
        note = notes.get(approval.note_id)
        out += _approval_evidence(approval, rec.terms, issue, note, evidence, config)
    return out


def _approval_evidence(
    approval: records.ApprovalRecord,
    terms: Terms | None,
    issue: IssueSnapshot,
    note: Note | None,
    evidence: Evidence,
    config: Config,
) -> list[tuple[str, str]]:
    who = f"{slot_title(config, approval.slot)}: {approval.user}"
    assert terms is not None  # noqa: S101 - check_entry returned otherwise
    out: list[tuple[str, str]] = []
    if not _ticked(approval, note, config):
        what = f"{who}: no checklist note {approval.note_id} of this user ticking this role's box"
        out.append(("approval-note", what))
    if not _holds(approval, terms, evidence, config):
        out.append(("approval-role", f"{who} does not hold this role (config and groups today)"))
    if approval.user in requesters(issue.author.username, terms.request.requester_contact):
        out.append(("approval-requester", f"{who} is the requester"))
    if approval.fields_hash != fields_hash(terms.request):
        out.append(("approval-text", f"{who} approved other text than the approved terms"))
    return out


def _holds(
    approval: records.ApprovalRecord, terms: Terms, evidence: Evidence, config: Config
) -> bool:
    """Whether the approver holds the role the approval was given in (the fallback's when the
    slot fell to it); a delegate's, whether the delegator does and the config's delegations
    hand the role to the delegate for the day of the tick."""
    role = approval.role or _role(approval.slot)
    if role not in config.roles:
        return True
    found = holders(config, role, terms.request, evidence.directory)
    if approval.for_user is None:
        return approval.user in found
    day = approval.at.astimezone(config.calendar.tz).date()
    return approval.for_user in found and any(
        d.from_user == approval.for_user and d.to_user == approval.user and d.covers(role, day)
        for d in config.delegations
    )


def _ticked(approval: records.ApprovalRecord, note: Note | None, config: Config) -> bool:
    """Whether ``note`` is GitLab's note of ``approval.user`` ticking the slot's box at
    ``approval.at`` (app/services/system_notes/issuables_service.rb, change_task_status)."""
    item = slot_item(config, approval.slot)
    if note is None or item is None:
        return False
    return any(
        t.completed
        and item_key(t.item) == item_key(item)
        and t.note.author.username.lower() == approval.user.lower()
        and t.note.created_at == approval.at
        for t in toggles((note,))
    )


def slot_item(config: Config, slot: str) -> str | None:
    """The checklist item a slot is ticked in: the escalation's, an appeal role's, a role's."""
    if slot.endswith("_escalation"):
        return config.escalation.checklist_item
    if slot.startswith(APPEAL_PREFIX):
        return config.appeal.checklist.get(slot.removeprefix(APPEAL_PREFIX))
    return config.checklist.get(slot)


def _role(slot: str) -> str:
    return slot.removesuffix("_escalation").removeprefix(APPEAL_PREFIX)


def _approval_key(item: object) -> tuple[str, str, str]:
    """An approval of the entry's front matter as (role, user, at), whatever a hand edit made
    of it."""
    if not isinstance(item, dict):
        return (_shown(item), "", "")
    return (str(item.get("role")), str(item.get("user")), str(_plain(item.get("at"))))


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _plain(value: object) -> object:
    """A front-matter value as the bot writes it: YAML reads an unquoted date or timestamp
    written by hand as a date, and the bot writes ISO text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _shown(value: object) -> str:
    """A value for a discrepancy line: the register is text anyone with push access wrote, so
    it is shown as a quoted one-line repr, cut short, never as it stands."""
    return "(none)" if value is None else repr(_plain(value))[:80]


def _printable(text: str) -> str:
    """An id or a path from the register, which a person may have written: one line of
    printable characters, so no control sequence reaches the auditor's terminal."""
    return _UNPRINTABLE_RE.sub("?", text)[:120]


def _found(ident: str, path: str, kind: str, what: str) -> Discrepancy:
    return Discrepancy(ident, path, kind, what)
