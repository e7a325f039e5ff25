"""Quick actions in descriptions and notes, run as their author.

GitLab interprets lines that start with ``/command`` outside code blocks when an issue is
created, when its description is updated, and when a note is posted
(``QuickActions::InterpretService``; ``handle_quick_actions`` in issuable_base_service.rb;
lib/api/notes.rb). Executed lines are removed from the stored text; a line naming an unknown
command stays as written.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date

_COMMAND_RE = re.compile(r"^/([a-z_]+)(?:[ \t]+(.*))?$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_LABEL_RE = re.compile(r'~"([^"]+)"|~([^\s~"]+)')
_USER_RE = re.compile(r"@([A-Za-z0-9_.-]+)")
KNOWN = frozenset(
    {"label", "unlabel", "relabel", "confidential", "assign", "unassign", "due", "close", "reopen"}
)


@dataclass
class Commands:
    """What the quick actions of one text ask for."""

    add_labels: list[str] = field(default_factory=list)
    remove_labels: list[str] = field(default_factory=list)
    replace_labels: list[str] | None = None
    confidential: bool = False
    assign: list[str] = field(default_factory=list)
    unassign: list[str] | None = None  # [] = everyone
    due: date | None = None
    state_event: str | None = None

    @property
    def any(self) -> bool:
        return bool(
            self.add_labels
            or self.remove_labels
            or self.replace_labels is not None
            or self.confidential
            or self.assign
            or self.unassign is not None
            or self.due
            or self.state_event
        )


def labels_in(text: str) -> list[str]:
    return [quoted or bare for quoted, bare in _LABEL_RE.findall(text)]


def extract(text: str) -> tuple[str, Commands]:
    """The text without its executed command lines, and the commands."""
    commands = Commands()
    kept: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if _FENCE_RE.match(line):
            fenced = not fenced
        match = None if fenced else _COMMAND_RE.match(line.rstrip("\r"))
        if match is None or match.group(1) not in KNOWN:
            kept.append(line)
            continue
        _apply(commands, match.group(1), (match.group(2) or "").strip())
    return "\n".join(kept).strip("\n"), commands


def _apply(commands: Commands, name: str, args: str) -> None:
    if name == "label":
        commands.add_labels += labels_in(args)
    elif name == "unlabel":
        commands.remove_labels += labels_in(args)
    elif name == "relabel":
        commands.replace_labels = labels_in(args)
    elif name == "confidential":
        commands.confidential = True
    elif name == "assign":
        commands.assign += _USER_RE.findall(args)
    elif name == "unassign":
        commands.unassign = _USER_RE.findall(args)
    elif name == "due":
        with contextlib.suppress(ValueError):  # GitLab ignores a date it cannot read
            commands.due = date.fromisoformat(args)
    elif name in ("close", "reopen"):
        commands.state_event = name
