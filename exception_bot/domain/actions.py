"""The seam between deciding and doing: what the bot wants done, as plain values.

``decide`` returns a tuple of these for a request, and so do the other phases of a run for
what they write (the intake label of an adopted request, the register watch's index rows,
reminder and alert issues, the weekly report); a sink applies them to GitLab or records them
(``--dry-run``). Every body is final: exactly what GitLab receives.

The run lock's commits (:mod:`exception_bot.run_lock`) are the one write outside: they are not
something the run decides but the condition for deciding at all, taken before the first read
and renewed while the actions are applied, on a branch of their own that people never read;
a dry run, which applies nothing, takes no lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class IssueRef:
    project: str
    iid: int

    def __str__(self) -> str:
        return f"{self.project}#{self.iid}"


@dataclass(frozen=True)
class SetLabels:
    """Add and remove labels in one update: a delta, never the whole set
    (docs/explanation/tampering.md)."""

    issue: IssueRef
    add: frozenset[str]
    remove: frozenset[str]


@dataclass(frozen=True)
class PostNote:
    issue: IssueRef
    body: str
    marker: str


@dataclass(frozen=True)
class EditNote:
    issue: IssueRef
    note_id: int
    body: str
    marker: str


@dataclass(frozen=True)
class SetCheckbox:
    """Flip one top-level item of a section. The sink re-reads the description right before
    writing and changes only that box, so a human's concurrent edit is not overwritten."""

    issue: IssueRef
    section: str
    item: str
    checked: bool


@dataclass(frozen=True)
class AssignUsers:
    issue: IssueRef
    usernames: tuple[str, ...]


@dataclass(frozen=True)
class UnassignUsers:
    """Take ``usernames`` (approvers whose stage is done) off the issue. GitLab sets the whole
    list of assignees at once, so ``keep`` names the issue's other assignees, who stay."""

    issue: IssueRef
    usernames: tuple[str, ...]
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetDueDate:
    issue: IssueRef
    due: date


@dataclass(frozen=True)
class AppendChecklist:
    """Add a ``## heading`` with unticked items at the end of the description, unless the
    freshest description already has that heading (the sink re-reads it right before)."""

    issue: IssueRef
    heading: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class LinkIssues:
    """Relate ``issue`` to ``target`` (a renewal to its original): GitLab links both ways."""

    issue: IssueRef
    target: IssueRef


@dataclass(frozen=True)
class CloseIssue:
    issue: IssueRef


@dataclass(frozen=True)
class WriteRegister:
    """Write one exception's register entry and the index rows, in one commit.

    ``row`` is the entry's row of ``register.json``; the sink merges it into the rows on the
    branch (keeping every other row, hand-written ones included) and writes ``REGISTER.md``
    from them. ``remove`` lists the entry's earlier paths (``exceptions/`` when archiving).
    """

    issue: IssueRef
    path: str
    content: str
    row: tuple[tuple[str, Any], ...]
    remove: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class IndexFile:
    """List a register file nobody's request issue wrote (one a merge request brought, or one
    nothing accounts for) in ``register.json`` and ``REGISTER.md``, in one commit: ``row`` is
    merged into the rows on the branch as a :class:`WriteRegister`'s is; ``content`` is the
    file's text as the run read it, so the commit does not change the file itself."""

    project: str
    path: str
    content: str
    row: tuple[tuple[str, Any], ...]
    message: str


@dataclass(frozen=True)
class NewNote:
    """A note to post on an issue that an :class:`OpenIssue` opens (it has no iid yet)."""

    body: str
    marker: str


@dataclass(frozen=True)
class OpenIssue:
    """Open an issue the bot finds again by its ``title`` and the ``marker`` ending its
    description (a merge-request exception's reminder issue, an unverified file's alert, the
    weekly report), assigned to ``assignees`` by the same request, then post ``notes`` on it."""

    project: str
    title: str
    body: str
    marker: str
    assignees: tuple[str, ...] = ()
    notes: tuple[NewNote, ...] = ()


@dataclass(frozen=True)
class SetDescription:
    """Replace an issue's description with ``body``: the bot's own issues only (the weekly
    report brought up to date), never a request, whose text is the requester's."""

    issue: IssueRef
    body: str


Action = (
    SetLabels
    | PostNote
    | EditNote
    | SetCheckbox
    | AssignUsers
    | UnassignUsers
    | SetDueDate
    | AppendChecklist
    | LinkIssues
    | CloseIssue
    | WriteRegister
    | IndexFile
    | OpenIssue
    | SetDescription
)


def describe(action: Action) -> dict[str, Any]:
    """The action as JSON-ready data, for ``--dry-run`` and ``--json``: its kind, then where
    it writes (``issue``, or ``project`` for what no issue holds yet), then its fields."""
    data: dict[str, Any] = {"action": type(action).__name__}
    for name, value in vars(action).items():
        if isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, date):
            value = value.isoformat()
        elif name == "row":
            value = dict(value)
        elif isinstance(value, IssueRef):
            value = str(value)
        elif name == "notes":
            value = [dict(vars(note)) for note in value]
        data[name] = value
    return data
