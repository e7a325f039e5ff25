"""``run`` watching the merge-request route: exception files in the register with no issue.

Each run reads the register's active folder; for each file that came by merge request it keeps
the file's row in the index, and when expiry draws near opens one reminder issue in the first
requests project (assigned to the file's requester) and comments on it once per reminder.
With a state file, a run after which nothing was committed to the register branch reuses the
files the last run read: one request for the branch head instead of the whole tree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from exception_bot.actions import IssueRef
from exception_bot.config import Config
from exception_bot.domain import markers
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.register import INDEX_JSON, read_front_matter, read_index, register_files
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.watch import (
    WatchedFile,
    facts,
    from_issue_route,
    index_row,
    plain_id,
    reminder_due,
    watch_marker,
    watch_title,
    watched,
)
from exception_bot.gitlab_api import GitLab
from exception_bot.plan import Context
from exception_bot.render import render_note
from exception_bot.state import RegisterSeen

log = logging.getLogger(__name__)
REMINDER = "watch-reminder"


@dataclass(frozen=True)
class WatchSummary:
    facts: tuple[RequestFacts, ...]
    writes: int
    # What the next run may reuse while the branch stays where it is; None when this run
    # left something to do (an index row to write) or did not read the branch.
    seen: RegisterSeen | None = None


def watch_register(
    gitlab: GitLab, ctx: Context, dry_run: bool, prior: RegisterSeen | None = None
) -> WatchSummary:
    """Watch the merge-request route's files; ``prior`` is what an earlier run saw of them
    (under the same config and version: the runner checks)."""
    config = ctx.config
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    # Read before the tree: a commit landing after this shows as a new head next run.
    head = gitlab.branch_head(project, branch)
    if head is None:
        return WatchSummary((), 0)
    if prior is not None and prior.commit == head:
        # Nothing committed since the run that read these files, and that run found the
        # index in step with them: only the reminders, which go by today's date, are left.
        files, rows = prior.files, None
    else:
        files, rows = _read_watched(gitlab, config)
    found: list[RequestFacts] = []
    kept: dict[str, str] = {}  # the watched files, for the next run while the head stays
    writes = indexed = 0
    blob = ""  # read (one request) only when a file came by merge request
    for path, text in files.items():
        file = watched(path, read_front_matter(text), config)
        if file is None:
            continue
        kept[path] = text
        blob = blob or f"{gitlab.web_url(project)}/-/blob/{branch}"
        # A file name is whoever pushed it's text: quoted, it is a URL and nothing else.
        link = f"{blob}/{quote(path)}"
        found.append(facts(file, link))
        if dry_run:
            continue
        if rows is not None:
            indexed += _index(gitlab, ctx, file, text, rows.get(file.exception_id))
        writes += _remind(gitlab, ctx, file, link)
    seen = RegisterSeen(head, kept) if not (dry_run or indexed) else None
    return WatchSummary(tuple(found), writes + indexed, seen)


def _read_watched(
    gitlab: GitLab, config: Config
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The register's files that may be of the merge-request route (path -> text: all but
    the issue route's, which the index lists), and the index rows."""
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    paths = [
        p for p in gitlab.tree(project, branch, config.register.directory) if p.endswith(".md")
    ]
    if not paths:
        return {}, {}
    index = read_index(gitlab.read_file(project, branch, INDEX_JSON))
    rows = {str(r["id"]): r for r in index}
    # The issue route's own files are indexed with their issue as source: no need to read them.
    theirs = {str(r.get("path")) for r in index if from_issue_route(r, config)}
    files = {
        path: gitlab.read_file(project, branch, path) or "" for path in paths if path not in theirs
    }
    return files, rows


def _index(gitlab: GitLab, ctx: Context, file: WatchedFile, text: str, row: object) -> int:
    wanted = index_row(file)
    if row == wanted:
        return 0
    config = ctx.config
    changes = partial(register_files, path=file.path, content=text, row=wanted)
    written = gitlab.write_register(
        config.gitlab.register_project,
        config.gitlab.register_branch,
        changes,
        [file.path],
        f"{plain_id(file)}: indexed (came by merge request)",
    )
    return int(written)


def _remind(gitlab: GitLab, ctx: Context, file: WatchedFile, link: str) -> int:
    due = reminder_due(file, ctx.config, ctx.now.astimezone(ctx.config.calendar.tz).date())
    if due is None:
        return 0
    project = ctx.config.gitlab.requests_projects[0].path
    title, marker = watch_title(file), watch_marker(file)
    writes = 0
    iid = gitlab.find_issue(project, title, marker, ctx.bot.id)
    context = {
        "id": file.exception_id,
        "title": str(file.data.get("title") or ""),
        "expires": file.expires,
        "owner": file.owner,
        "path": file.path,
        "url": url(link),
        "archive": Markdown(f"`{ctx.config.register.archive_directory}/`"),
    }
    if iid is None:
        body = render_note("watch_issue.md.j2", marker, **context)
        owners = [file.owner] if file.owner else []
        iid = gitlab.create_issue(project, title, body, marker, assignees=owners)
        writes += 1
    ref = IssueRef(project, iid)
    said = markers.bot_notes(gitlab.snapshot(ref).notes, ctx.bot.id)
    mark = markers.marker(REMINDER, f"{file.exception_id}:{due.key}")
    if not said.has(mark):
        body = render_note(
            "watch_reminder.md.j2",
            mark,
            **context,
            expired=due.key == "expired",
            days_left=due.days_left,
        )
        gitlab.post_note(ref, body, mark)
        writes += 1
    return writes
