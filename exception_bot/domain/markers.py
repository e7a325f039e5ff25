"""Hidden markers on every note the bot writes, so it never says the same thing twice.

A marker is an HTML comment, ``<!-- exception-bot:kind=turn:key=department_head -->``. Only
notes written by the bot's own user count: a requester pasting a marker changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from exception_bot.domain.model import Note

_MARKER_RE = re.compile(r"<!-- exception-bot:kind=([a-z-]+):key=([^\s>]*) -->")

STATUS = "status"
PROBLEMS = "problems"


def marker(kind: str, key: str = "") -> str:
    safe_key = re.sub(r"[^A-Za-z0-9_.:+-]", "_", key)
    return f"<!-- exception-bot:kind={kind}:key={safe_key} -->"


@dataclass(frozen=True)
class BotNotes:
    """The bot's own notes on an issue: the editable ones, and the markers of all."""

    status: Note | None
    problems: Note | None
    said: frozenset[str]  # every marker already posted

    def has(self, marker_text: str) -> bool:
        return marker_text in self.said


def bot_notes(notes: Iterable[Note], bot_id: int) -> BotNotes:
    status = problems = None
    said: set[str] = set()
    for note in notes:
        if note.system or note.author.id != bot_id:
            continue
        for kind, key in _MARKER_RE.findall(note.body):
            said.add(marker(kind, key))
            if kind == STATUS and status is None:
                status = note
            elif kind == PROBLEMS and problems is None:
                problems = note
    return BotNotes(status, problems, frozenset(said))
