"""Values that cross module lines in the pure core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class RiskLevel(StrEnum):
    """Risk levels, in the order a request's template lists them."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def label(self) -> str:
        """``High``: as requesters write it."""
        return self.value.capitalize()


class DataClassification(StrEnum):
    RED = "RED"
    ORANGE = "ORANGE"
    YELLOW = "YELLOW"
    GREEN = "GREEN"


class ExceptionKind(StrEnum):
    """Why the exception is needed: the source process's four reasons to request one
    (docs/reference/request.md)."""

    GATE = "gate"  # a security gate blocks a deployment that cannot wait
    VULNERABILITY = "vulnerability"  # a vulnerability cannot be fixed within its SLA
    LEGACY = "legacy"  # a legacy system needs temporary non-compliance
    FALSE_POSITIVE = "false-positive"  # a finding needs time to be investigated

    @property
    def label(self) -> str:
        """``False positive``: as requesters write it."""
        return self.value.replace("-", " ").capitalize()


@dataclass(frozen=True)
class Covers:
    """What an exception covers, as data: GitLab project paths and finding ids, each
    normalised (:mod:`exception_bot.domain.covers`). Empty when the request names none, and
    in entries written before requests had the field: such an exception covers nothing."""

    projects: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.projects and not self.findings


class Flag(StrEnum):
    """Facts about a valid request that change its route (not problems)."""

    NEEDS_CISO_ESCALATION = "needs_ciso_escalation"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request, written for the requester.

    Attributes:
        field: snake_case name of the field (``expiration_date``), as ``validate --json`` prints.
        what: what is wrong, quoting the requester's value where it helps.
        fix: what to write instead.
    """

    field: str
    what: str
    fix: str

    @property
    def message(self) -> str:
        return f"{self.what} {self.fix}"


@dataclass(frozen=True)
class ChecklistItem:
    """A GitLab task-list item found in an issue description.

    Attributes:
        text: the item's text after the box, whitespace folded (``Department head approval``).
        checked: whether the box is ticked (``[x]`` or ``[X]``).
        line: 0-based index of the source line holding the box, for later in-place edits.
        position: index among all task items of the description, in document order; GitLab
            compares old and new descriptions item by item at the same position.
        nested: the item sits inside another list item. GitLab writes no system note when a
            nested item is toggled (gitlab-foss#21021), so a nested item never counts as an
            approval.
        section: the normalised heading of the level-2 section holding the item ("" before any).
    """

    text: str
    checked: bool
    line: int
    position: int
    nested: bool
    section: str


@dataclass(frozen=True)
class RenewalRef:
    """What a renewal's *Renews* field points at: an issue of a project, or a register id.

    Exactly one of ``iid`` (with an optional ``project_path``; ``None`` means the renewal's own
    project) and ``exception_id`` is set.
    """

    iid: int | None = None
    project_path: str | None = None
    exception_id: str | None = None


@dataclass(frozen=True)
class ExceptionRequest:
    """A request whose fields passed validation, with values normalised to the config's spelling."""

    summary: str
    requester_contact: str
    department: str
    policy: str
    scope: str
    environment: str
    data_classification: DataClassification | None
    risk_level: RiskLevel
    justification: str
    alternatives_considered: str | None
    risk_assessment: str
    compensating_controls: str
    remediation_plan: str
    expiration_date: date
    renews: RenewalRef | None = None
    why_timeline_not_met: str | None = None
    updated_remediation_plan: str | None = None
    kind: ExceptionKind | None = None
    covers: Covers = Covers()

    @property
    def is_renewal(self) -> bool:
        return self.renews is not None


class State(StrEnum):
    """The request's state; exactly one state label is on a request at a time
    (docs/reference/labels.md)."""

    SUBMITTED = "submitted"
    NEEDS_INFO = "needs-info"
    IN_REVIEW = "in-review"
    ESCALATED = "escalated"
    APPROVED = "approved"
    ACTIVE = "active"
    EXPIRED = "expired"
    CLOSED = "closed"
    REJECTED = "rejected"
    APPEAL = "appeal"
    REVOKED = "revoked"
    RENEWED = "renewed"


class ActionLabel(StrEnum):
    """Labels people add to ask the bot for something; the bot removes them after acting."""

    REJECT = "reject"
    REQUEST_CHANGES = "request-changes"
    APPEAL = "appeal"
    REVOKE = "revoke"
    ESCALATE = "escalate"
    # The security team's assessment of the risk level (docs/explanation/routing.md).
    RISK_CRITICAL = "risk-critical"
    RISK_HIGH = "risk-high"
    RISK_MEDIUM = "risk-medium"
    RISK_LOW = "risk-low"


@dataclass(frozen=True)
class User:
    """A GitLab user as the API names them. The bot is recognised by ``id``, never by name."""

    id: int
    username: str


@dataclass(frozen=True)
class Note:
    """An issue note; ``system`` notes are GitLab's own (checklist toggles, description edits)."""

    id: int
    author: User
    body: str
    system: bool
    created_at: datetime


class LabelAction(StrEnum):
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True)
class LabelEvent:
    """One label added to or removed from an issue, and by whom (resource label events API)."""

    id: int
    user: User
    label: str
    action: LabelAction
    created_at: datetime


@dataclass(frozen=True)
class LinkedIssue:
    """An issue linked to a request (issue links API): renewals, originals, incidents."""

    project: str
    iid: int
    state: str  # "opened" | "closed"
    labels: frozenset[str]
    description: str
    issue_type: str = "issue"  # "incident" for incidents
    updated_at: datetime | None = None  # as the links API gave it
    # Its notes, read only for an issue that may be an active renewal of this one (see
    # renewals.needs_record): its labels and *Renews* are anyone's to write, the bot's record
    # in its status note is not. None: not read.
    notes: tuple[Note, ...] | None = None

    @property
    def reference(self) -> str:
        return f"{self.project}#{self.iid}"


@dataclass(frozen=True)
class IssueSnapshot:
    """Everything the core needs to know about one request issue, read in one go.

    ``notes`` and ``label_events`` are in chronological order (oldest first).
    """

    project: str
    iid: int
    title: str
    web_url: str
    author: User
    description: str
    labels: frozenset[str]
    assignees: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    state: str  # "opened" | "closed"
    confidential: bool
    notes: tuple[Note, ...]
    label_events: tuple[LabelEvent, ...]
    due_date: date | None = None
    links: tuple[LinkedIssue, ...] = ()

    def last_change_by_others(self, bot_id: int) -> datetime:
        """When someone other than the bot last did something to the issue, by GitLab's clock:
        opened it, commented, ticked or edited (a system note), or changed a label. What moves a
        request on is always such a change, so this dates what the bot is seeing now with a
        time every later run reads again (unlike the moment it reads it)."""
        return max(
            (
                self.created_at,
                *(n.created_at for n in self.notes if n.author.id != bot_id),
                *(e.created_at for e in self.label_events if e.user.id != bot_id),
            )
        )
