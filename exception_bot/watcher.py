"""``run`` watching the merge-request route: exception files in the register with no issue.

Each run reads the register's active folder; for each file that came by merge request it keeps
the file's row in the index, and when expiry draws near opens one reminder issue in the first
requests project (assigned to the file's requester) and comments on it once per reminder.
With a state file, a run after which nothing was committed to the register branch reuses the
files the last run read: one request for the branch head instead of the whole tree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from exception_bot.actions import IssueRef
from exception_bot.domain import markers
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.people import mentions
from exception_bot.domain.provenance import Verdict
from exception_bot.domain.register import (
    INDEX_JSON,
    Trail,
    read_front_matter,
    read_index,
    register_files,
    trail_message,
)
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.watch import (
    WatchedFile,
    alert_marker,
    alert_title,
    facts,
    from_issue_route,
    index_row,
    issue_of,
    plain_id,
    reminder_due,
    watch_marker,
    watch_title,
    watched,
)
from exception_bot.gitlab_api import GitLab
from exception_bot.plan import Context
from exception_bot.provenance import judge_file
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
    gitlab: GitLab,
    ctx: Context,
    dry_run: bool,
    prior: RegisterSeen | None = None,
    unsettled: frozenset[IssueRef] = frozenset(),
) -> WatchSummary:
    """Watch the merge-request route's files; ``prior`` is what an earlier run saw of them
    (under the same config and version: the runner checks). ``unsettled``: the requests this
    run failed on, whose record may lag behind the entry the run committed for them."""
    config = ctx.config
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    # Read before the tree: a commit landing after this shows as a new head next run.
    head = gitlab.branch_head(project, branch)
    if head is None:
        return WatchSummary((), 0)
    verdicts = dict(prior.verdicts) if prior is not None else {}
    if prior is not None and prior.commit == head:
        # Nothing committed since the run that read these files, and that run found the
        # index in step with them: only the reminders, which go by today's date, are left.
        files, rows = prior.files, None
        verdicts = {p: v for p, v in verdicts.items() if p in files or not v.verified}
    else:
        files, rows, verdicts = _read_watched(gitlab, ctx, verdicts)
    # A run that committed a request's entry and then failed to update its status note left a
    # record that does not vouch for the entry yet: judged again next run, not reported now.
    pending = {
        path
        for path, verdict in verdicts.items()
        if not verdict.verified and _of(files.get(path), ctx) in unsettled
    }
    found: list[RequestFacts] = []
    kept: dict[str, str] = {}  # the files read, for the next run while the head stays
    writes = indexed = 0
    blob = ""  # read (one request) only when a file is listed
    for path, text in files.items():
        verdict = verdicts.get(path)
        verified = verdict is None or verdict.verified
        file = watched(path, read_front_matter(text), config, unverified=not verified)
        if file is None:
            continue
        kept[path] = text
        blob = blob or f"{gitlab.web_url(project)}/-/blob/{branch}"
        # A file name is whoever pushed it's text: quoted, it is a URL and nothing else.
        link = f"{blob}/{quote(path)}"
        found.append(facts(file, link, verified=verified))
        if dry_run:
            continue
        if path in pending:
            continue
        if rows is not None:
            row = rows.get(file.exception_id)
            indexed += _index(gitlab, ctx, file, text, row, verdict)
        if verdict is not None and not verdict.verified:
            writes += _alert(gitlab, ctx, file, link, verdict)
        else:
            writes += _remind(gitlab, ctx, file, link)
    # After the bot's own index commit the head moves: the files are read again next run, and
    # only the verdicts of unchanged blobs are reused.
    verdicts = {p: v for p, v in verdicts.items() if p not in pending}
    seen = RegisterSeen("" if indexed or pending else head, kept, verdicts) if not dry_run else None
    return WatchSummary(tuple(found), writes + indexed, seen)


def _read_watched(
    gitlab: GitLab, ctx: Context, prior: Mapping[str, Verdict]
) -> tuple[dict[str, str], dict[str, dict[str, Any]], dict[str, Verdict]]:
    """The register's files that may be of the merge-request route or are unverified (path ->
    text: all but the issue route's verified files, which the index lists), the index rows,
    and the verdict on every file of the folder (judged again only when its blob changed)."""
    config = ctx.config
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    blobs = {
        p: b
        for p, b in gitlab.blobs(project, branch, config.register.directory).items()
        if p.endswith(".md")
    }
    if not blobs:
        return {}, {}, {}
    index = read_index(gitlab.read_file(project, branch, INDEX_JSON))
    rows = {str(r["id"]): r for r in index}
    # The issue route's own files are indexed with their issue as source: no need to read them.
    theirs = {str(r.get("path")) for r in index if from_issue_route(r, config)}
    texts = _Texts(gitlab, project, branch)
    verdicts = {
        path: old
        if (old := prior.get(path)) and old.blob == blob
        else judge_file(
            gitlab,
            config,
            ctx.directory,
            ctx.bot.username,
            (path, texts.get(path), blob),
            gitlab.notes,
        )
        for path, blob in blobs.items()
    }
    files = {
        path: texts.get(path) for path in blobs if path not in theirs or not verdicts[path].verified
    }
    return files, rows, verdicts


class _Texts:
    """The register files' texts, each read at most once a run."""

    def __init__(self, gitlab: GitLab, project: str, branch: str) -> None:
        self._gitlab, self._project, self._branch = gitlab, project, branch
        self._read: dict[str, str] = {}

    def get(self, path: str) -> str:
        if path not in self._read:
            found = self._gitlab.read_file(self._project, self._branch, path)
            self._read[path] = found or ""
        return self._read[path]


def _of(text: str | None, ctx: Context) -> IssueRef | None:
    """The request issue a file names as its source, if any."""
    data = read_front_matter(text or "") or {}
    where = issue_of(str(data.get("source") or ""), ctx.config)
    return IssueRef(*where) if where else None


def _index(
    gitlab: GitLab,
    ctx: Context,
    file: WatchedFile,
    text: str,
    row: object,
    verdict: Verdict | None,
) -> int:
    verified = verdict is None or verdict.verified
    wanted = index_row(file, row if isinstance(row, dict) else None, verified=verified)
    if row == wanted:
        return 0
    config = ctx.config
    changes = partial(register_files, path=file.path, content=text, row=wanted)
    written = gitlab.write_register(
        config.gitlab.register_project,
        config.gitlab.register_branch,
        changes,
        [file.path],
        _index_message(file, verdict, ctx),
    )
    return int(written)


def _index_message(file: WatchedFile, verdict: Verdict | None, ctx: Context) -> str:
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


def _alert(gitlab: GitLab, ctx: Context, file: WatchedFile, link: str, verdict: Verdict) -> int:
    """One issue per unverified file in the register project, for Security Compliance (the
    final stage of the routes), found again by its title and marker."""
    config = ctx.config
    project = config.gitlab.register_project
    title, marker = alert_title(file), alert_marker(file)
    if gitlab.find_issue(project, title, marker, ctx.bot.id) is not None:
        return 0
    confirmers = {role for route in config.approval_matrix.values() for role in route[-1]}
    context = {
        "id": file.exception_id,
        "path": file.path,
        "url": url(link),
        "why": verdict.why,
        "compliance": Markdown(
            " ".join(m for role in sorted(confirmers) for m in mentions(config, role, file.unit))
        ),
    }
    body = render_note("unverified_file.md.j2", marker, **context)
    gitlab.create_issue(project, title, body, marker)
    return 1
