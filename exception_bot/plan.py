"""What a run knows (:class:`Context`) and the actions being collected for one issue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from exception_bot.actions import Action, EditNote, IssueRef, PostNote
from exception_bot.domain import markers
from exception_bot.domain.model import User
from exception_bot.domain.people import Directory
from exception_bot.domain.settings import Config
from exception_bot.render import render_note


@dataclass(frozen=True)
class Context:
    config: Config
    directory: Directory
    bot: User
    now: datetime


@dataclass
class Plan:
    """Actions being collected for one issue, in the order they must be applied."""

    ref: IssueRef
    said: markers.BotNotes
    common: Mapping[str, object]  # context every comment template may use
    notes: list[Action] = field(default_factory=list)
    unticks: list[Action] = field(default_factory=list)
    assign: list[Action] = field(default_factory=list)
    register: list[Action] = field(default_factory=list)  # before the status note records it
    edits: list[Action] = field(default_factory=list)  # due date, appended checklists, close
    # When the issue needs a look again even if nobody touches it (a deadline, a reminder).
    wake: list[datetime] = field(default_factory=list)

    def post_once(self, kind: str, key: str, template: str, **context: object) -> None:
        mark = markers.marker(kind, key)
        if not self.said.has(mark):
            body = render_note(template, mark, **self.common, **context)
            self.notes.append(PostNote(self.ref, body, mark))

    def upsert(
        self,
        existing_id: int | None,
        existing_body: str | None,
        kind: str,
        template: str,
        **context: object,
    ) -> None:
        mark = markers.marker(kind)
        body = render_note(template, mark, **self.common, **context)
        if existing_id is None:
            self.notes.append(PostNote(self.ref, body, mark))
        elif existing_body != body:
            self.notes.append(EditNote(self.ref, existing_id, body, mark))
