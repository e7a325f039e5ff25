"""``run`` watching the merge-request route: exception files in the register with no issue.

Each run reads the register's active folder; for each file that came by merge request it keeps
the file's row in the index, and when expiry draws near opens one reminder issue in the first
requests project (assigned to the file's requester) and comments on it once per reminder.
With a state file, a run after which nothing was committed to the register branch reuses the
files the last run read: one request for the branch head instead of the whole tree.

Reading is here; deciding what to write is the pure core's
(:mod:`exception_bot.domain.watch_actions`); the run's sink writes it (a dry run's records it,
and ``run --dry-run`` prints it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from exception_bot.domain import markers
from exception_bot.domain.actions import Action, IndexFile, IssueRef
from exception_bot.domain.provenance import Verdict
from exception_bot.domain.register import INDEX_JSON, read_front_matter, read_index
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.review.context import Context
from exception_bot.domain.watch import (
    alert_marker,
    alert_title,
    facts,
    from_issue_route,
    issue_of,
    reminder_due,
    watch_marker,
    watch_title,
    watched,
)
from exception_bot.domain.watch_actions import (
    ReminderIssue,
    Seen,
    alert_action,
    index_action,
    once,
    reminder_actions,
)
from exception_bot.executor import Sink
from exception_bot.gitlab import GitLab
from exception_bot.provenance import judge_file
from exception_bot.state import RegisterSeen

log = logging.getLogger(__name__)


# As many as the runner's reading threads (runner.READ_WORKERS): reads only, no writes.
_JUDGING_THREADS = 8


@dataclass(frozen=True)
class WatchSummary:
    facts: tuple[RequestFacts, ...] = ()
    actions: tuple[Action, ...] = ()  # what the watch wrote (or, in a dry run, would write)
    # What the next run may reuse while the branch stays where it is; None when this run
    # did not read the branch. Its commit is "" when this run left something to do (an index
    # row it wrote, a file whose record lags).
    seen: RegisterSeen | None = None


@dataclass(frozen=True)
class _Branch:
    """The register branch as this run knows it: its head, the files of the folder it read
    (path -> text), the index rows (None: reused from the last run, in step then) and the
    verdict on every file."""

    head: str
    files: Mapping[str, str]
    rows: Mapping[str, Any] | None
    verdicts: Mapping[str, Verdict]


def watch_register(
    gitlab: GitLab,
    ctx: Context,
    sink: Sink,
    prior: RegisterSeen | None = None,
    unsettled: frozenset[IssueRef] = frozenset(),
) -> WatchSummary:
    """Watch the merge-request route's files: read them, decide what to write (the index
    rows, reminders, alerts), and hand that to ``sink``. ``prior`` is what an earlier run saw
    of them (under the same config and version: the runner checks). ``unsettled``: the
    requests this run failed on, whose record may lag behind the entry the run committed for
    them."""
    branch = _read_branch(gitlab, ctx, prior)
    if branch is None:
        return WatchSummary(())
    # A run that committed a request's entry and then failed to update its status note left a
    # record that does not vouch for the entry yet: judged again next run, not reported now.
    pending = {
        path
        for path, verdict in branch.verdicts.items()
        if not verdict.verified and _of(branch.files.get(path), ctx) in unsettled
    }
    seen = _watched(gitlab, ctx, branch)
    actions = once(
        action
        for one in seen
        if one.file.path not in pending
        for action in _plan(gitlab, ctx, one, branch.rows)
    )
    indexed = 0
    for action in actions:
        wrote = sink.apply(action)
        indexed += wrote and isinstance(action, IndexFile)
    # After the bot's own index commit the head moves: the files are read again next run, and
    # only the verdicts of unchanged blobs are reused.
    verdicts = {p: v for p, v in branch.verdicts.items() if p not in pending}
    kept = {one.file.path: one.text for one in seen}
    head = "" if indexed or pending else branch.head
    found = tuple(facts(one.file, one.link, verified=one.verified) for one in seen)
    return WatchSummary(found, actions, RegisterSeen(head, kept, verdicts))


def _read_branch(gitlab: GitLab, ctx: Context, prior: RegisterSeen | None) -> _Branch | None:
    """The branch's head and files: those the last run read while the head stays where it
    was, else read again (None: no branch)."""
    config = ctx.config
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    # Read before the tree: a commit landing after this shows as a new head next run.
    head = gitlab.branch_head(project, branch)
    if head is None:
        return None
    verdicts = dict(prior.verdicts) if prior is not None else {}
    if prior is not None and prior.commit == head:
        # Nothing committed since the run that read these files, and that run found the
        # index in step with them: only the reminders, which go by today's date, are left.
        files = prior.files
        verdicts = {p: v for p, v in verdicts.items() if p in files or not v.verified}
        return _Branch(head, files, None, verdicts)
    files, rows, verdicts = _read_watched(gitlab, ctx, verdicts)
    return _Branch(head, files, rows, verdicts)


def _watched(gitlab: GitLab, ctx: Context, branch: _Branch) -> tuple[Seen, ...]:
    """The files the bot watches (of the merge-request route, or unverified), each with its
    verdict and address."""
    config = ctx.config
    project, name = config.gitlab.register_project, config.gitlab.register_branch
    found: list[Seen] = []
    blob = ""  # read (one request) only when a file is listed
    for path, text in branch.files.items():
        verdict = branch.verdicts.get(path)
        verified = verdict is None or verdict.verified
        file = watched(path, read_front_matter(text), config, unverified=not verified)
        if file is None:
            continue
        blob = blob or f"{gitlab.web_url(project)}/-/blob/{name}"
        # A file name is whoever pushed it's text: quoted, it is a URL and nothing else.
        found.append(Seen(file, text, verdict, f"{blob}/{quote(path)}"))
    return tuple(found)


def _plan(
    gitlab: GitLab, ctx: Context, seen: Seen, rows: Mapping[str, Any] | None
) -> tuple[Action, ...]:
    """What to write for one file: reads what the decision needs (the alert or reminder
    issue, the bot's notes on it), then leaves the deciding to
    :mod:`~exception_bot.domain.watch_actions`."""
    index = index_action(seen, rows.get(seen.file.exception_id), ctx) if rows is not None else None
    indexed = (index,) if index is not None else ()
    if not seen.verified:
        config = ctx.config
        project = config.gitlab.register_project
        title, marker = alert_title(seen.file), alert_marker(seen.file)
        existing = gitlab.find_issue(project, title, marker, ctx.bot.id)
        alert = alert_action(seen, existing, ctx)
        return (*indexed, *((alert,) if alert is not None else ()))
    calendar = ctx.config.calendar
    due = reminder_due(seen.file, ctx.config, ctx.now.astimezone(calendar.tz).date())
    if due is None:
        return indexed
    return (*indexed, *reminder_actions(seen, due, _reminder_issue(gitlab, ctx, seen), ctx))


def _reminder_issue(gitlab: GitLab, ctx: Context, seen: Seen) -> ReminderIssue | None:
    project = ctx.config.gitlab.requests_projects[0].path
    title, marker = watch_title(seen.file), watch_marker(seen.file)
    iid = gitlab.find_issue(project, title, marker, ctx.bot.id)
    if iid is None:
        return None
    notes = gitlab.snapshot(IssueRef(project, iid)).notes
    return ReminderIssue(iid, markers.bot_notes(notes, ctx.bot.id))


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

    def judged(item: tuple[str, str]) -> Verdict:
        path, blob = item
        if (old := prior.get(path)) and old.blob == blob:
            return old
        file = (path, texts.get(path), blob)
        return judge_file(gitlab, config, ctx.directory, ctx.bot.username, file, gitlab.notes)

    # Judging a file is two reads (its text, its issue's notes): on a cold run that is every
    # entry of the register, so they are read on threads, as the requests are.
    with ThreadPoolExecutor(max_workers=_JUDGING_THREADS) as pool:
        verdicts = dict(zip(blobs, pool.map(judged, blobs.items()), strict=True))
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
