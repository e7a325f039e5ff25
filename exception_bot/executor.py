"""Applying actions: to GitLab, or to a list for ``--dry-run``. Sinks differ only there."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Protocol

from exception_bot.actions import (
    Action,
    AppendChecklist,
    AssignUsers,
    CloseIssue,
    EditNote,
    LinkIssues,
    PostNote,
    SetCheckbox,
    SetDueDate,
    SetLabels,
    UnassignUsers,
    WriteRegister,
)
from exception_bot.domain.register import register_files
from exception_bot.gitlab_api import GitLab


class Sink(Protocol):
    def apply(self, action: Action) -> bool:
        """Carry out one action; True when something was written."""


class GitLabSink:
    def __init__(self, gitlab: GitLab, register_project: str, register_branch: str) -> None:
        self._gl = gitlab
        self._register = (register_project, register_branch)

    def apply(self, action: Action) -> bool:
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
            case WriteRegister(_, path, content, row, remove, message):
                project, branch = self._register
                changes = partial(
                    register_files, path=path, content=content, row=dict(row), remove=remove
                )
                return self._gl.write_register(project, branch, changes, (path, *remove), message)
        return True


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
