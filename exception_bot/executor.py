"""Applying actions: to GitLab, or to a list for ``--dry-run``. Sinks differ only there."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Protocol

from exception_bot.domain.actions import (
    Action,
    AppendChecklist,
    AssignUsers,
    CloseIssue,
    EditNote,
    IndexFile,
    IssueRef,
    LinkIssues,
    OpenIssue,
    PostNote,
    SetCheckbox,
    SetDescription,
    SetDueDate,
    SetLabels,
    UnassignUsers,
    WriteRegister,
)
from exception_bot.domain.register import register_files
from exception_bot.gitlab import GitLab


class Sink(Protocol):
    def apply(self, action: Action) -> bool:
        """Carry out one action; True when something was written."""


class GitLabSink:
    """Applies actions to GitLab. ``opened`` lists the issues its :class:`OpenIssue` actions
    opened, in order (the weekly report names the one it posted)."""

    def __init__(self, gitlab: GitLab, register_project: str, register_branch: str) -> None:
        self._gl = gitlab
        self._register = (register_project, register_branch)
        self.opened: list[IssueRef] = []

    def apply(self, action: Action) -> bool:
        match action:
            case WriteRegister() | IndexFile():
                return self._commit(action)
            case OpenIssue():
                self._open(action)
            case _:
                return self._on_issue(action)
        return True

    def _on_issue(self, action: Action) -> bool:
        match action:
            case SetLabels(issue, add, remove):
                self._gl.set_labels(issue, add, remove)
            case PostNote(issue, body, marker):
                self._gl.post_note(issue, body, marker)
            case EditNote(issue, note_id, body, _):
                self._gl.edit_note(issue, note_id, body)
            case SetCheckbox(issue, section, item, checked):
                return self._gl.set_checkbox(issue, section, item, checked)
            case AssignUsers(issue, usernames):
                self._gl.assign(issue, usernames)
            case UnassignUsers(issue, _, keep):
                self._gl.set_assignees(issue, keep)
            case SetDueDate(issue, due):
                self._gl.set_due_date(issue, due)
            case AppendChecklist(issue, heading, items):
                return self._gl.append_checklist(issue, heading, items)
            case LinkIssues(issue, target):
                self._gl.link(issue, target)
            case CloseIssue(issue):
                self._gl.close(issue)
            case SetDescription(issue, body):
                self._gl.set_description(issue.project, issue.iid, body)
        return True

    def _commit(self, action: WriteRegister | IndexFile) -> bool:
        """One commit of the file and the index rows; False when the branch held them."""
        project, branch = self._register
        remove = action.remove if isinstance(action, WriteRegister) else ()
        if isinstance(action, IndexFile):
            project = action.project
        changes = partial(
            register_files,
            path=action.path,
            content=action.content,
            row=dict(action.row),
            remove=remove,
        )
        return self._gl.write_register(
            project, branch, changes, (action.path, *remove), action.message
        )

    def _open(self, action: OpenIssue) -> None:
        iid = self._gl.create_issue(
            action.project, action.title, action.body, action.marker, assignees=action.assignees
        )
        ref = IssueRef(action.project, iid)
        self.opened.append(ref)
        for note in action.notes:
            self._gl.post_note(ref, note.body, note.marker)


class RecordingSink:
    """Writes nothing; keeps the actions (``--dry-run`` prints them, tests read them)."""

    def __init__(self) -> None:
        self.actions: list[Action] = []

    def apply(self, action: Action) -> bool:
        self.actions.append(action)
        return False


def execute(actions: Iterable[Action], sink: Sink) -> int:
    """Apply actions in order; the number that wrote something. Stops at the first error."""
    return sum(1 for action in actions if sink.apply(action))
