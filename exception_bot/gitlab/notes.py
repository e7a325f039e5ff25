"""Notes on issues: read, posted once, edited."""

from __future__ import annotations

from exception_bot.domain import markers
from exception_bot.domain.actions import IssueRef
from exception_bot.domain.model import Note
from exception_bot.gitlab.client import Client, unless_missing
from exception_bot.gitlab.parse import note
from exception_bot.gitlab.writes import ONCE, once


class Notes:
    def __init__(self, client: Client) -> None:
        self._client = client

    def notes(self, ref: IssueRef) -> tuple[Note, ...]:
        """An issue's notes, oldest first; none when the issue is gone or hidden from the bot
        (a linked issue that claims to renew: only the bot's record in them counts)."""
        path = self._client.issue(ref).notes.path
        found = unless_missing(
            lambda: list(self._client.items(path, sort="asc", order_by="created_at"))
        )
        return tuple(note(n) for n in found or ())

    def post_note(self, ref: IssueRef, body: str, marker: str) -> None:
        """Post ``body``, which ends with ``marker``, once: when GitLab's answer is lost, a note
        of the bot's with that marker means it was posted (lib/api/notes.rb creates one note per
        POST, so a blind retry would post it twice)."""
        once(
            self._client,
            f"{ref}: posting the note {marker}",
            lambda: int(self._client.issue(ref).notes.create({"body": body}, **ONCE).id),
            lambda: self._my_note(ref, marker),
            note=True,
        )

    def _my_note(self, ref: IssueRef, marker: str) -> int | None:
        """The id of the bot's newest note on the issue that carries ``marker``."""
        me = self._client.me()
        path = self._client.issue(ref).notes.path
        for data in self._client.items(path, sort="desc", order_by="created_at"):
            found = note(data)
            if (
                not found.system
                and found.author.id == me
                and markers.trailing(found.body) == marker
            ):
                return found.id
        return None

    def edit_note(self, ref: IssueRef, note_id: int, body: str) -> None:
        self._client.before_write()
        self._client.issue(ref).notes.update(note_id, {"body": body})
