"""Hidden markers on every note the bot writes, so it never says the same thing twice.

A marker is an HTML comment, ``<!-- exception-bot:kind=turn:key=department_head -->``, and it is
the last line of the note. Only that line counts, and only in notes written by the bot's own
user: a requester pasting a marker changes nothing, and a marker that user text smuggled into a
bot note (a label name echoed in a tampering report) is inside a code span in the note's
middle, never its last line (:mod:`exception_bot.domain.escape`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from exception_bot.domain.model import Note

_MARKER_RE = re.compile(r"<!-- exception-bot:kind=([a-z-]+):key=([A-Za-z0-9_.:+-]*) -->")

STATUS = "status"
PROBLEMS = "problems"


def marker(kind: str, key: str = "") -> str:
    safe_key = re.sub(r"[^A-Za-z0-9_.:+-]", "_", key)
    return f"<!-- exception-bot:kind={kind}:key={safe_key} -->"


def _last_line(body: str) -> re.Match[str] | None:
    return _MARKER_RE.fullmatch(body.rstrip().rpartition("\n")[2].strip())


def trailing(body: str) -> str | None:
    """The marker a note ends with, as :func:`marker` writes it; None when its last line is
    not one."""
    match = _last_line(body)
    return marker(match.group(1), match.group(2)) if match else None


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
        match = _last_line(note.body)
        if match is None:
            continue
        kind = match.group(1)
        said.add(marker(kind, match.group(2)))
        if kind == STATUS and status is None:
            status = note
        elif kind == PROBLEMS and problems is None:
            problems = note
    return BotNotes(status, problems, frozenset(said))
