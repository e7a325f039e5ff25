"""The bot's own record, kept in a hidden HTML comment in its status note.

Almost everything the bot knows can be rebuilt from GitLab's notes and events; the record holds
what cannot: the hash of the request fields each approval was given on, the decisions taken on
action labels, which events were already answered, and when the current stage started. It is
read only from the bot's own status note (:func:`exception_bot.domain.markers.bot_notes`), and
only from the line just above the note's closing marker, where the bot writes it: text a user
got into a note is shown inert elsewhere in it and is never read as a record.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from exception_bot.domain import assessment
from exception_bot.domain.assessment import RiskRecord
from exception_bot.domain.terms import Terms, from_payload, to_payload

RECORD_VERSION = 1
_RECORD_RE = re.compile(r"<!-- exception-bot:record:([A-Za-z0-9+/=]*) -->")
_MARKER_LINE_RE = re.compile(r"<!-- exception-bot:kind=[a-z-]+:key=[A-Za-z0-9_.:+-]* -->")


@dataclass(frozen=True)
class ApprovalRecord:
    """A verified tick: ``slot`` (a role or the escalation) by ``user``, on ``fields_hash``."""

    slot: str
    user: str
    at: datetime
    note_id: int
    fields_hash: str
    # The role ``user`` approved in when the slot's own role fell to its fallback (nobody
    # holding it could approve the request): "ciso" for a department head's stage.
    role: str | None = None
    for_user: str | None = None  # a delegate's approval: the delegator it counts for


@dataclass(frozen=True)
class Decision:
    """A reject or request-changes action accepted from an approver."""

    kind: str  # "reject" | "request-changes"
    user: str
    at: datetime
    event_id: int
    # The slot keys of the stage it was taken at ("+" between parallel slots), for the register.
    stage: str = ""


@dataclass(frozen=True)
class CisoEscalation:
    """A decision taken to the CISO (docs/explanation/escalations.md): a rejection, or an
    approved exception whose compensating controls are not in place; and the CISO's answer."""

    reason: str  # "rejection" | "controls" | "activation-deadline"
    by: str  # who escalated (the bot's user for the activation deadline)
    at: datetime
    event_id: int  # the escalate label's event; 0 when the bot escalated
    outcome: str | None = None  # None while the CISO has not answered
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Written:
    """The register file the bot last committed for a request, and its content's SHA-256. The
    status note is the bot's alone (no one but its author and an admin edits a note), so a
    file of the register is the bot's when its issue's record names it with this hash: a
    commit's committer, which a ``git push`` may set to anything, is no evidence."""

    path: str
    sha256: str


@dataclass(frozen=True)
class Record:
    """What the bot remembers about one request between runs.

    Which notes were already posted is not kept here: every bot note carries a marker, and the
    notes themselves are the memory of what was said.
    """

    state: str | None = None
    approvals: tuple[ApprovalRecord, ...] = ()
    decision: Decision | None = None
    escalated_by: str | None = None
    stage: str | None = None
    stage_started_at: datetime | None = None
    # When the request reached each milestone after approval ("approved", "activated", ...).
    milestones: Mapping[str, datetime] = field(default_factory=lambda: MappingProxyType({}))
    # The hash of the register entry last committed, so an unchanged entry is not rewritten.
    registered: str | None = None
    # A renewal: the register id it renews and its place in the chain (the original is 0).
    renewal_of: str | None = None
    renewal_number: int = 0
    # Action-label events the bot answered whose label someone else had removed already (the
    # bot's own removal of a label marks the others answered).
    handled: tuple[int, ...] = ()
    # What was approved, frozen at final approval: the lifecycle reads these, not the text.
    terms: Terms | None = None
    # The rejection an accepted appeal set aside: the register keeps who rejected, when, where.
    rejection: Decision | None = None
    # The register file last committed: what the bot vouches for (domain/provenance.py).
    written: Written | None = None
    # Decisions taken to the CISO after they were made, oldest first.
    ciso_escalations: tuple[CisoEscalation, ...] = ()
    # The security team's assessment of the risk level (domain/assessment.py).
    risk: RiskRecord | None = None

    def reached(self, milestone: str, at: datetime) -> Record:
        """The record with ``milestone`` set, unless it was reached before."""
        if milestone in self.milestones:
            return self
        return replace(self, milestones=MappingProxyType({**self.milestones, milestone: at}))


def encode(record: Record) -> str:
    """The record as an HTML comment (base64 JSON: no ``--`` can end the comment early)."""
    payload = {
        "v": RECORD_VERSION,
        "approvals": [
            {
                "slot": a.slot,
                "user": a.user,
                "at": a.at.isoformat(),
                "note": a.note_id,
                "hash": a.fields_hash,
                # only when set: the records of approvals by holders read as they always have
                **({"role": a.role} if a.role else {}),
                **({"for": a.for_user} if a.for_user else {}),
            }
            for a in record.approvals
        ],
        "state": record.state,
        "decision": _decision_payload(record.decision),
        "escalated_by": record.escalated_by,
        "stage": record.stage,
        "stage_started_at": None
        if record.stage_started_at is None
        else record.stage_started_at.isoformat(),
        "milestones": {name: at.isoformat() for name, at in record.milestones.items()},
        "registered": record.registered,
        "renewal_of": record.renewal_of,
        "renewal_number": record.renewal_number,
    }
    if record.handled:  # left out when empty, so records written before it stay unchanged
        payload["handled"] = list(record.handled)
    if record.rejection is not None:  # likewise
        payload["rejection"] = _decision_payload(record.rejection)
    if record.terms is not None:
        payload["terms"] = to_payload(record.terms)
    if record.written is not None:
        payload["written"] = {"path": record.written.path, "sha256": record.written.sha256}
    if record.risk is not None:  # likewise
        payload["risk"] = assessment.to_payload(record.risk)
    if record.ciso_escalations:  # left out when empty, so older records stay unchanged
        payload["ciso_escalations"] = [_escalation_payload(e) for e in record.ciso_escalations]
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return f"<!-- exception-bot:record:{base64.b64encode(raw).decode()} -->"


def _decision_payload(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    payload: dict[str, Any] = {
        "kind": decision.kind,
        "user": decision.user,
        "at": decision.at.isoformat(),
        "event": decision.event_id,
    }
    if decision.stage:  # left out when empty, so records written before it stay unchanged
        payload["stage"] = decision.stage
    return payload


def _escalation_payload(escalation: CisoEscalation) -> dict[str, Any]:
    at = escalation.decided_at
    return {
        "reason": escalation.reason,
        "by": escalation.by,
        "at": escalation.at.isoformat(),
        "event": escalation.event_id,
        "outcome": escalation.outcome,
        "decided_by": escalation.decided_by,
        "decided_at": at.isoformat() if at else None,
    }


def _escalations(payload: Any) -> tuple[CisoEscalation, ...]:
    return tuple(
        CisoEscalation(
            str(e["reason"]),
            str(e["by"]),
            datetime.fromisoformat(e["at"]),
            int(e["event"]),
            _text(e.get("outcome")),
            _text(e.get("decided_by")),
            datetime.fromisoformat(e["decided_at"]) if e.get("decided_at") else None,
        )
        for e in payload or ()
    )


def _decision(payload: dict[str, Any] | None) -> Decision | None:
    if not payload:
        return None
    return Decision(
        payload["kind"],
        payload["user"],
        datetime.fromisoformat(payload["at"]),
        int(payload["event"]),
        str(payload.get("stage") or ""),
    )


def _record_line(text: str) -> re.Match[str] | None:
    """The record where the bot writes it: the last line of the note, or the last before the
    note's closing marker."""
    lines = [line.strip() for line in text.rstrip().rsplit("\n", 4)]
    lines = [line for line in lines if line]
    if lines and _MARKER_LINE_RE.fullmatch(lines[-1]):
        lines.pop()
    return _RECORD_RE.fullmatch(lines[-1]) if lines else None


def comment(text: str) -> str | None:
    """The record's HTML comment as it stands in a status note body."""
    match = _record_line(text)
    return match.group(0) if match else None


def decode(text: str) -> Record | None:
    """Read the record out of a status note body; None when absent or unreadable."""
    match = _record_line(text)
    if match is None:
        return None
    try:
        payload = json.loads(base64.b64decode(match.group(1), validate=True))
        return _from_payload(payload)
    # Only the bot writes records, but an admin can edit any note: whatever is in it (nesting
    # too deep for the parser, a number too big for an int), an unreadable record is no record.
    except Exception:
        return None


def _from_payload(payload: dict[str, Any]) -> Record:
    started = payload.get("stage_started_at")
    return Record(
        approvals=tuple(
            ApprovalRecord(
                a["slot"],
                a["user"],
                datetime.fromisoformat(a["at"]),
                int(a["note"]),
                a["hash"],
                _text(a.get("role")),
                _text(a.get("for")),
            )
            for a in payload.get("approvals", [])
        ),
        state=payload.get("state"),
        decision=_decision(payload.get("decision")),
        escalated_by=payload.get("escalated_by"),
        stage=payload.get("stage"),
        stage_started_at=datetime.fromisoformat(started) if started else None,
        milestones=MappingProxyType(
            {
                str(name): datetime.fromisoformat(at)
                for name, at in (payload.get("milestones") or {}).items()
            }
        ),
        registered=payload.get("registered"),
        renewal_of=payload.get("renewal_of"),
        renewal_number=int(payload.get("renewal_number") or 0),
        handled=tuple(int(event) for event in payload.get("handled") or ()),
        terms=from_payload(payload["terms"]) if payload.get("terms") else None,
        rejection=_decision(payload.get("rejection")),
        written=_written(payload.get("written")),
        ciso_escalations=_escalations(payload.get("ciso_escalations")),
        risk=assessment.from_payload(payload.get("risk")),
    )


def _written(payload: dict[str, Any] | None) -> Written | None:
    if not payload:
        return None
    return Written(str(payload["path"]), str(payload["sha256"]))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
