"""The register watch's decisions, made from what it read
(exception_bot/domain/watch_actions.py): each reminder once, an issue opened once when two files
share an exception id, an index row only when the index does not hold it."""

from __future__ import annotations

from datetime import date

from exception_bot.domain import markers
from exception_bot.domain.actions import IndexFile, IssueRef, OpenIssue, PostNote
from exception_bot.domain.review.context import Context
from exception_bot.domain.settings import Config
from exception_bot.domain.watch import Reminder, WatchedFile, index_row
from exception_bot.domain.watch_actions import (
    ReminderIssue,
    Seen,
    index_action,
    once,
    reminder_actions,
)
from exception_bot.render import TEMPLATES
from tests.issues import BOT
from tests.support.decisions import DIRECTORY, T0

DATA = {"id": "EXC-0042", "requester": "bob", "expires_at": date(2026, 11, 30)}
DUE = Reminder("7", 7)


def seen(path: str = "exceptions/EXC-0042-a.md") -> Seen:
    return Seen(WatchedFile(path, DATA), "text", None, f"http://gitlab/{path}")


def test_a_due_reminder_opens_its_issue_with_the_note(config: Config) -> None:
    ctx = Context(config, DIRECTORY, BOT, T0, TEMPLATES)
    (opened,) = reminder_actions(seen(), DUE, None, ctx)
    assert isinstance(opened, OpenIssue)
    assert (opened.project, opened.assignees) == ("security/exceptions", ("bob",))
    assert [note.marker for note in opened.notes] == [
        markers.marker("watch-reminder", "EXC-0042:7")
    ]


def test_a_reminder_said_already_is_not_said_again(config: Config) -> None:
    ctx = Context(config, DIRECTORY, BOT, T0, TEMPLATES)
    (note,) = reminder_actions(seen(), DUE, ReminderIssue(9, markers.bot_notes((), BOT.id)), ctx)
    assert isinstance(note, PostNote)
    assert note.issue == IssueRef("security/exceptions", 9)
    said = markers.BotNotes(None, None, frozenset({note.marker}))
    assert reminder_actions(seen(), DUE, ReminderIssue(9, said), ctx) == ()


def test_two_files_of_one_id_open_one_issue_and_post_one_note(config: Config) -> None:
    ctx = Context(config, DIRECTORY, BOT, T0, TEMPLATES)
    first, second = seen(), seen("exceptions/EXC-0042-b.md")
    opened = [*reminder_actions(first, DUE, None, ctx), *reminder_actions(second, DUE, None, ctx)]
    (only,) = once(opened)
    assert isinstance(only, OpenIssue)
    assert len(only.notes) == 1
    found = ReminderIssue(9, markers.bot_notes((), BOT.id))
    posted = [
        *reminder_actions(first, DUE, found, ctx),
        *reminder_actions(second, DUE, found, ctx),
    ]
    assert len(once(posted)) == 1


def test_an_index_row_is_written_only_when_it_differs(config: Config) -> None:
    ctx = Context(config, DIRECTORY, BOT, T0, TEMPLATES)
    action = index_action(seen(), None, ctx)
    assert isinstance(action, IndexFile)
    assert dict(action.row)["id"] == "EXC-0042"
    assert index_action(seen(), index_row(seen().file), ctx) is None
