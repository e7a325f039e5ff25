"""An in-memory request issue for testing ``decide``: people act on it, the bot's actions are
played back onto it the way GitLab records them (system notes, label events)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from exception_bot.domain.actions import (
    Action,
    AppendChecklist,
    AssignUsers,
    CloseIssue,
    EditNote,
    IssueRef,
    LinkIssues,
    PostNote,
    SetCheckbox,
    SetDueDate,
    SetLabels,
    UnassignUsers,
    WriteRegister,
)
from exception_bot.domain.model import (
    IssueSnapshot,
    LabelAction,
    LabelEvent,
    LinkedIssue,
    Note,
    User,
)
from exception_bot.domain.text import command_lines

BOT = User(1, "exception-bot")
_IDS: dict[str, int] = {"exception-bot": 1}


def person(username: str) -> User:
    return User(_IDS.setdefault(username, 100 + len(_IDS)), username)


@dataclass
class FakeIssue:
    description: str
    author: User
    created_at: datetime
    labels: set[str] = field(default_factory=lambda: {"ExceptionRequest", "exception::submitted"})
    notes: list[Note] = field(default_factory=list)
    events: list[LabelEvent] = field(default_factory=list)
    assignees: tuple[str, ...] = ()
    clock: datetime | None = None
    due_date: date | None = None
    state: str = "opened"
    register: list[WriteRegister] = field(default_factory=list)  # commits, oldest first
    iid: int = 7
    links: list[LinkedIssue] = field(default_factory=list)
    linked: list[IssueRef] = field(default_factory=list)  # what the bot asked to link
    _next_id: int = 1000

    def __post_init__(self) -> None:
        self.clock = self.created_at
        # GitLab runs the template's quick actions at creation and removes their lines.
        commands = {number for number, _ in command_lines(self.description)}
        lines = self.description.split("\n")
        self.description = "\n".join(
            line for number, line in enumerate(lines, start=1) if number not in commands
        )
        for label in sorted(self.labels):
            self._event(self.author, label, LabelAction.ADD)

    # -- time and ids ---------------------------------------------------------------------------

    def at(self, when: datetime) -> FakeIssue:
        self.clock = when
        return self

    def later(self, **delta: float) -> FakeIssue:
        assert self.clock is not None
        self.clock += timedelta(**delta)
        return self

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _now(self) -> datetime:
        assert self.clock is not None
        return self.clock

    def _system(self, user: User, body: str) -> None:
        self.notes.append(Note(self._id(), user, body, True, self._now()))

    def _event(self, user: User, label: str, action: LabelAction) -> None:
        self.events.append(LabelEvent(self._id(), user, label, action, self._now()))

    # -- what people do -----------------------------------------------------------------------

    def tick(self, user: User, item: str, checked: bool = True) -> FakeIssue:
        """Tick a box in the UI: GitLab writes a checklist note authored by ``user``."""
        old, new = ("[ ]", "[x]") if checked else ("[x]", "[ ]")
        line = f"- {old} {item}"
        assert line in self.description, f"no box {line!r}"
        self.description = self.description.replace(line, f"- {new} {item}", 1)
        state = "completed" if checked else "incomplete"
        self._system(user, f"marked the checklist item **{item}** as {state}")
        return self

    def edit(self, user: User, old: str, new: str) -> FakeIssue:
        """Edit text: GitLab writes "changed the description"."""
        assert old in self.description
        self.description = self.description.replace(old, new, 1)
        self._system(user, "changed the description")
        return self

    def label(self, user: User, label: str, add: bool = True) -> FakeIssue:
        if add:
            self.labels.add(label)
        else:
            self.labels.discard(label)
        self._event(user, label, LabelAction.ADD if add else LabelAction.REMOVE)
        return self

    def comment(self, user: User, body: str) -> FakeIssue:
        self.notes.append(Note(self._id(), user, body, False, self._now()))
        return self

    # -- the bot's actions, as GitLab would record them -----------------------------------------

    def apply(self, actions: tuple[Action, ...]) -> FakeIssue:
        for action in actions:
            self._apply(action)
        return self

    def _apply(self, action: Action) -> None:
        if isinstance(action, PostNote):
            self.notes.append(Note(self._id(), BOT, action.body, False, self._now()))
        elif isinstance(action, EditNote):
            self.notes = [
                Note(n.id, n.author, action.body, n.system, n.created_at)
                if n.id == action.note_id
                else n
                for n in self.notes
            ]
        elif isinstance(action, SetLabels):
            self._set_labels(action)
        elif isinstance(action, SetCheckbox):
            item = re.escape(action.item)
            if re.search(rf"^- \[[xX]\] {item}$", self.description, re.M):
                self.tick(BOT, action.item, checked=action.checked)
        elif isinstance(action, AssignUsers):
            self.assignees = action.usernames
        elif isinstance(action, UnassignUsers):
            self.assignees = action.keep
        elif isinstance(action, SetDueDate):
            self.due_date = action.due
        elif isinstance(action, AppendChecklist):
            if f"## {action.heading}\n" not in self.description:
                items = "".join(f"- [ ] {item}\n" for item in action.items)
                self.description = f"{self.description.rstrip()}\n\n## {action.heading}\n\n{items}"
                self._system(BOT, "changed the description")
        elif isinstance(action, CloseIssue):
            self.state = "closed"
        elif isinstance(action, WriteRegister):
            self.register.append(action)
        elif isinstance(action, LinkIssues):
            self.linked.append(action.target)

    def _set_labels(self, action: SetLabels) -> None:
        for label in sorted(action.add - self.labels):
            self.label(BOT, label)
        for label in sorted(action.remove & self.labels):
            self.label(BOT, label, add=False)

    def as_link(self, project: str = "security/exceptions") -> LinkedIssue:
        """This issue as the issue links API shows it on the other side of a link, with its
        notes as the runner reads them for a link that may be an active renewal."""
        return LinkedIssue(
            project,
            self.iid,
            self.state,
            frozenset(self.labels),
            self.description,
            notes=tuple(self.notes),
        )

    def snapshot(self, project: str = "security/exceptions") -> IssueSnapshot:
        iid = self.iid
        return IssueSnapshot(
            project=project,
            iid=iid,
            title="Exception request",
            web_url=f"https://gitlab.example.com/{project}/-/issues/{iid}",
            author=self.author,
            description=self.description,
            labels=frozenset(self.labels),
            assignees=self.assignees,
            created_at=self.created_at,
            updated_at=self._now(),
            state=self.state,
            confidential=True,
            notes=tuple(self.notes),
            label_events=tuple(self.events),
            due_date=self.due_date,
            links=tuple(self.links),
        )
