"""Register provenance: is a file of the register's exceptions folder accounted for?

A commit's author and committer are whatever the pusher wrote (``git push`` carries them as
they are), so no commit says who wrote a file. Two things GitLab records can:

- **The issue route**: the bot's record on the request issue (its status note, which only the
  bot, the project's Maintainers and admins may edit: app/policies/project_policy.rb enables
  ``admin_note`` for ``maintainer_access``) names the register file the bot last committed and
  the SHA-256 of its content. A file that claims an issue as its source is the bot's when that
  issue's record names this path with this content; a person's edit, a copy to another path,
  a file brought back from the archive or an older version pushed again is not.
- **The merge-request route**: the merge requests GitLab relates to the file's last commit,
  and their approvals, which GitLab records as the approvers gave them. The file is accounted
  for when one merged into the register branch had, before the merge, the approvals
  ``mr-check`` requires for the file's text.

Anything else (a direct push, a person's edit of the bot's entry, a merge without the
approvals, a file whose front matter cannot be read) is unverified: listed so, never counted as
in force, and reported to Security Compliance. Any token that reads the register, the requests
and the merge requests can check it: ``run`` and ``register verify`` use the same judgement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from exception_bot.domain import record as records
from exception_bot.domain.markers import bot_notes
from exception_bot.domain.merge_requests import check_file
from exception_bot.domain.model import Note
from exception_bot.domain.people import Directory
from exception_bot.domain.settings import Config


@dataclass(frozen=True)
class LastCommit:
    """The newest commit of the branch that changed the file, as the Commits API lists it. Its
    committer is the pusher's say, shown to people and trusted for nothing."""

    id: str
    committer_name: str


@dataclass(frozen=True)
class MergedRequest:
    """A merge request GitLab relates to that commit, and its approvals."""

    iid: int
    author: str
    state: str
    target_branch: str
    merged_at: datetime | None
    approvals: tuple[tuple[str, datetime | None], ...]  # (username, approved_at)
    merged_by: str = ""  # who merged it (none when GitLab does not say: a push merged it)
    web_url: str = ""


@dataclass(frozen=True)
class Merge:
    """The merge that brought a verified file: the merge request, who merged it, when."""

    url: str
    user: str
    at: datetime


@dataclass(frozen=True)
class Verdict:
    blob: str  # the file's blob id when judged: a new blob is judged again
    verified: bool
    why: str  # one line for people: how the file came, or what is wrong with it
    merge: Merge | None = None  # for the trailers of the bot's commit that indexes the file


def content_hash(text: str) -> str:
    """The SHA-256 of a register file's text as committed (``sha256sum`` gives the same)."""
    return hashlib.sha256(text.encode()).hexdigest()


def bot_record(notes: Iterable[Note], bot_user: str) -> records.Record | None:
    """The bot's record: in the status note of the bot's user. The notes API names a note's
    author by the user's current username, which GitLab keeps unique."""
    found = tuple(notes)
    bot_ids = {n.author.id for n in found if n.author.username.casefold() == bot_user.casefold()}
    for bot_id in bot_ids:
        status = bot_notes(found, bot_id).status
        if status is not None:
            return records.decode(status.body)
    return None


def unreadable(blob: str, problem: str) -> Verdict:
    return Verdict(blob, False, f"its front matter cannot be read ({problem})")


def judge_entry(path: str, text: str, blob: str, issue: str, rec: records.Record | None) -> Verdict:
    """A file that names ``issue`` as its source: the bot's when the record there vouches for
    this path and this content."""
    written = rec.written if rec is not None else None
    if written is None:
        return Verdict(blob, False, f"the bot's record on {issue} vouches for no register file")
    if written.path != path:
        return Verdict(blob, False, f"the bot's record on {issue} vouches for {written.path}")
    if written.sha256 != content_hash(text):
        return Verdict(
            blob, False, f"its content is not what the bot last wrote (the record on {issue})"
        )
    return Verdict(blob, True, "written by the bot")


def judge_merged(
    path: str,
    text: str,
    blob: str,
    last: LastCommit | None,
    requests: tuple[MergedRequest, ...],
    branch: str,
    config: Config,
    directory: Directory,
) -> Verdict:
    """A file that names no request issue: accounted for by a merged merge request with the
    approvals ``mr-check`` requires, or by nothing."""
    if last is None:
        return Verdict(blob, False, "no commit on the register branch changed it")
    merged = [m for m in requests if m.state == "merged" and m.target_branch == branch]
    if not merged:
        who = f" (committed as {last.committer_name})" if last.committer_name else ""
        return Verdict(blob, False, f"commit {last.id[:8]}{who} came by no merge request")
    missing = ""
    for request in merged:
        check = check_file(path, text, request.author, _before_merge(request), config, directory)
        if check.ok:
            merge = (
                Merge(request.web_url, request.merged_by, request.merged_at)
                if request.merged_by and request.merged_at
                else None
            )
            return Verdict(blob, True, f"merge request !{request.iid} with its approvals", merge)
        missing = check.problem or "missing approval from " + ", ".join(check.missing)
    return Verdict(blob, False, f"merge request !{merged[-1].iid} was merged with {missing}")


def _before_merge(request: MergedRequest) -> list[str]:
    """Approvals given up to the merge (lib/api/entities/approvals.rb: ``approved_at``; an
    older GitLab gives none, and then every approval counts)."""
    return [
        user
        for user, at in request.approvals
        if at is None or request.merged_at is None or at <= request.merged_at
    ]
