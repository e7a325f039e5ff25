"""What the register watch writes, decided from what it read: the actions for one file of the
merge-request route (its index row, its reminder issue and notes) or for a file nothing
accounts for (its alert issue). No reads here: :mod:`exception_bot.watcher` reads, these
functions decide, the run's sink applies (or, in a dry run, records). Part of the pure core:
the text of each note comes from the renderer the shell hands in, ``ctx.renderer``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from exception_bot.domain import markers
from exception_bot.domain.actions import Action, IndexFile, IssueRef, NewNote, OpenIssue, PostNote
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.people import mentions
from exception_bot.domain.provenance import Verdict
from exception_bot.domain.register import Trail, trail_message
from exception_bot.domain.review.context import Context
from exception_bot.domain.watch import (
    Reminder,
    WatchedFile,
    alert_marker,
    alert_title,
    index_row,
    plain_id,
    watch_marker,
    watch_title,
)

REMINDER = "watch-reminder"


@dataclass(frozen=True)
class Seen:
    """One watched file as the run read it: its text, the verdict on who wrote it (None: not
    judged, as a verified one), and its address on the register branch."""

    file: WatchedFile
    text: str
    verdict: Verdict | None
    link: str

    @property
    def verified(self) -> bool:
        return self.verdict is None or self.verdict.verified


@dataclass(frozen=True)
class ReminderIssue:
    """The reminder issue of a file as found on GitLab: its iid and the bot's notes on it."""

    iid: int
    said: markers.BotNotes


def index_action(seen: Seen, row: object, ctx: Context) -> IndexFile | None:
    """The file's row of the index, when the index does not hold it as it should."""
    current = row if isinstance(row, dict) else None
    wanted = index_row(seen.file, current, verified=seen.verified)
    if row == wanted:
        return None
    config = ctx.config
    return IndexFile(
        config.gitlab.register_project,
        seen.file.path,
        seen.text,
        tuple(wanted.items()),
        index_message(seen.file, seen.verdict, ctx),
    )


def index_message(file: WatchedFile, verdict: Verdict | None, ctx: Context) -> str:
    """The index commit's trailers, as the issue route's commits have them: a file a merge
    request brought was ``merged`` by whoever merged it, when they did, and names that merge
    request (``Merge-Request:``, not ``Issue:``: no issue is involved). A file nothing
    accounts for is listed ``unverified`` by the bot, now: its commit's author and committer
    are the pusher's say, so no ``Actor`` is taken from them. Anything else (a merge GitLab
    names no merger for) is ``indexed`` by the bot."""
    ident = plain_id(file)  # whoever wrote the file chose it: GitLab renders commit messages
    merge = verdict.merge if verdict is not None and verdict.verified else None
    if merge is not None:
        trail = Trail("merged", merge.user, merge.at)
        return trail_message(ident, trail, (("Merge-Request", merge.url),))
    event = "unverified" if verdict is not None and not verdict.verified else "indexed"
    return trail_message(ident, Trail(event, ctx.bot.username, ctx.now))


def alert_action(seen: Seen, existing: int | None, ctx: Context) -> OpenIssue | None:
    """One issue per unverified file in the register project, for Security Compliance (the
    final stage of the routes), found again by its title and marker: opened when ``existing``
    (the iid found) is None."""
    if existing is not None or seen.verdict is None:
        return None
    config = ctx.config
    file = seen.file
    marker = alert_marker(file)
    confirmers = {role for route in config.approval_matrix.values() for role in route[-1]}
    context = {
        "id": file.exception_id,
        "path": file.path,
        "url": url(seen.link),
        "why": seen.verdict.why,
        "compliance": Markdown(
            " ".join(m for role in sorted(confirmers) for m in mentions(config, role, file.unit))
        ),
    }
    body = ctx.renderer.render_note("unverified_file.md.j2", marker, **context)
    return OpenIssue(config.gitlab.register_project, alert_title(file), body, marker)


def reminder_actions(
    seen: Seen, due: Reminder, issue: ReminderIssue | None, ctx: Context
) -> tuple[Action, ...]:
    """The reminder ``due`` for a file of the merge-request route: its issue in the first
    requests project opened (assigned to the file's requester) when ``issue`` is None, and
    the reminder's note posted on it unless the bot said it already."""
    file = seen.file
    project = ctx.config.gitlab.requests_projects[0].path
    mark = markers.marker(REMINDER, f"{file.exception_id}:{due.key}")
    if issue is not None and issue.said.has(mark):
        return ()
    context = _reminder_context(seen, ctx)
    note = ctx.renderer.render_note(
        "watch_reminder.md.j2",
        mark,
        **context,
        expired=due.key == "expired",
        days_left=due.days_left,
    )
    if issue is None:
        marker = watch_marker(file)
        body = ctx.renderer.render_note("watch_issue.md.j2", marker, **context)
        owners = (file.owner,) if file.owner else ()
        opened = OpenIssue(project, watch_title(file), body, marker, owners, (NewNote(note, mark),))
        return (opened,)
    return (PostNote(IssueRef(project, issue.iid), note, mark),)


def _reminder_context(seen: Seen, ctx: Context) -> dict[str, Any]:
    file = seen.file
    return {
        "id": file.exception_id,
        "title": str(file.data.get("title") or ""),
        "expires": file.expires,
        "owner": file.owner,
        "path": file.path,
        "url": url(seen.link),
        "archive": Markdown(f"`{ctx.config.register.archive_directory}/`"),
    }


def once(actions: Iterable[Action]) -> tuple[Action, ...]:
    """The actions with each issue opened and each note posted once: two files of the same
    exception id share a reminder issue, which the first opens (the second's note then goes
    with it) or finds, and a reminder note, which only the first posts."""
    listed = tuple(actions)
    merged: dict[tuple[str, str, str], OpenIssue] = {}
    for action in listed:
        if isinstance(action, OpenIssue):
            key = _opens(action)
            first = merged.get(key)
            merged[key] = action if first is None else _with_notes(first, action.notes)
    done: set[tuple[str, str, str]] = set()
    kept: list[Action] = []
    for action in listed:
        if isinstance(action, OpenIssue | PostNote):
            key = _opens(action) if isinstance(action, OpenIssue) else _posts(action)
            if key in done:
                continue
            done.add(key)
            action = merged[key] if isinstance(action, OpenIssue) else action
        kept.append(action)
    return tuple(kept)


def _opens(action: OpenIssue) -> tuple[str, str, str]:
    return ("open", action.project, f"{action.title}\n{action.marker}")


def _posts(action: PostNote) -> tuple[str, str, str]:
    return ("post", str(action.issue), action.marker)


def _with_notes(issue: OpenIssue, more: Iterable[NewNote]) -> OpenIssue:
    said = {note.marker for note in issue.notes}
    return replace(issue, notes=(*issue.notes, *(n for n in more if n.marker not in said)))
