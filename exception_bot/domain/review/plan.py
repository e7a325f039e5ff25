"""The actions collected for one issue, as a value each step returns a new copy of.

The kinds are kept apart because their order on GitLab matters (see :func:`Plan.actions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from exception_bot.domain import markers
from exception_bot.domain.actions import (
    Action,
    AppendChecklist,
    CloseIssue,
    EditNote,
    IssueRef,
    PostNote,
    SetLabels,
)
from exception_bot.domain.rendering import Renderer


@dataclass(frozen=True)
class Plan:
    """Actions being collected for one issue, in the order they must be applied."""

    ref: IssueRef
    said: markers.BotNotes
    common: Mapping[str, object]  # context every comment template may use
    renderer: Renderer
    notes: tuple[Action, ...] = ()
    unticks: tuple[Action, ...] = ()
    assign: tuple[Action, ...] = ()
    register: tuple[Action, ...] = ()  # before the status note records it
    edits: tuple[Action, ...] = ()  # due date, appended checklists, links, close
    # When the issue needs a look again even if nobody touches it (a deadline, a reminder).
    wake: tuple[datetime, ...] = ()

    def post_once(self, kind: str, key: str, template: str, **context: object) -> Plan:
        """The note, unless one with its marker was posted already."""
        mark = markers.marker(kind, key)
        if self.said.has(mark):
            return self
        body = self.renderer.render_note(template, mark, **self.common, **context)
        return replace(self, notes=(*self.notes, PostNote(self.ref, body, mark)))

    def upsert(
        self,
        existing_id: int | None,
        existing_body: str | None,
        kind: str,
        template: str,
        **context: object,
    ) -> Plan:
        """The note edited in place, posted when there is none, left alone when unchanged."""
        mark = markers.marker(kind)
        body = self.renderer.render_note(template, mark, **self.common, **context)
        if existing_id is None:
            return replace(self, notes=(*self.notes, PostNote(self.ref, body, mark)))
        if existing_body != body:
            note = EditNote(self.ref, existing_id, body, mark)
            return replace(self, notes=(*self.notes, note))
        return self

    def edit(self, action: Action) -> Plan:
        return replace(self, edits=(*self.edits, action))

    def untick(self, action: Action) -> Plan:
        return replace(self, unticks=(*self.unticks, action))

    def assigning(self, action: Action) -> Plan:
        return replace(self, assign=(*self.assign, action))

    def registering(self, action: Action) -> Plan:
        return replace(self, register=(*self.register, action))

    def wake_at(self, *moments: datetime) -> Plan:
        return replace(self, wake=(*self.wake, *moments))

    def without_saves(self) -> Plan:
        """No untick and no appended checklist: both save the description."""
        kept = tuple(a for a in self.edits if not isinstance(a, AppendChecklist))
        return replace(self, unticks=(), edits=kept)

    def actions(self, labels: SetLabels) -> tuple[Action, ...]:
        """Everything, in the order GitLab must receive it: a register change before the
        status note that records it, a new stage's assignees before the status note that
        records the stage, explanations before the unticks they explain, the status note
        before the labels that consume an action label, and a close last (a closed issue is
        no longer listed, so nothing may follow it)."""
        closing = [a for a in self.edits if isinstance(a, CloseIssue)]
        edits = [a for a in self.edits if not isinstance(a, CloseIssue)]
        found: list[Action] = [*self.register, *self.assign, *self.notes, *self.unticks, *edits]
        if labels.add or labels.remove:
            found.append(labels)
        return (*found, *closing)
