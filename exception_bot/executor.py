"""Applying actions: to GitLab, or to a list for ``--dry-run``. Sinks differ only there."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from exception_bot.actions import (
    Action,
    AssignUsers,
    EditNote,
    PostNote,
    SetCheckbox,
    SetLabels,
)
from exception_bot.gitlab_api import GitLab


class Sink(Protocol):
    def apply(self, action: Action) -> bool:
        """Carry out one action; True when something was written."""


class GitLabSink:
    def __init__(self, gitlab: GitLab) -> None:
        self._gl = gitlab

    def apply(self, action: Action) -> bool:
        match action:
            case SetLabels(issue, add, remove):
                self._gl.set_labels(issue, add, remove)
            case PostNote(issue, body, _):
                self._gl.post_note(issue, body)
            case EditNote(issue, note_id, body, _):
                self._gl.edit_note(issue, note_id, body)
            case SetCheckbox(issue, section, item, checked):
                return self._gl.set_checkbox(issue, section, item, checked)
            case AssignUsers(issue, usernames):
                self._gl.assign(issue, usernames)
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
