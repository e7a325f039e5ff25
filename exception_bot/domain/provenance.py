"""Register provenance: is a file of the register's exceptions folder accounted for?

A file is verified when the last commit that changed it is the bot's (its committer is the
bot's user) or came from a merge request merged into the register branch whose approvals, as
GitLab recorded them before the merge, satisfy ``mr-check`` for the file's text. Anything else
(a direct push, a person's edit of the bot's entry, a merge without the approvals) is
unverified: listed so, never counted as in force, and reported to Security Compliance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exception_bot.config import Config
from exception_bot.domain.merge_requests import check_file
from exception_bot.domain.people import Directory


@dataclass(frozen=True)
class LastCommit:
    """The newest commit of the branch that changed the file, as the Commits API lists it."""

    id: str
    committer_email: str
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


@dataclass(frozen=True)
class Verdict:
    blob: str  # the file's blob id when judged: a new blob is judged again
    verified: bool
    why: str  # one line for people: how the file came, or what is wrong with it


def judge(
    path: str,
    text: str,
    blob: str,
    last: LastCommit | None,
    bot_email: str,
    requests: tuple[MergedRequest, ...],
    branch: str,
    config: Config,
    directory: Directory,
) -> Verdict:
    if last is None:
        return Verdict(blob, False, "no commit on the register branch changed it")
    if bot_email and last.committer_email.lower() == bot_email.lower():
        return Verdict(blob, True, "written by the bot")
    merged = [m for m in requests if m.state == "merged" and m.target_branch == branch]
    if not merged:
        who = last.committer_name or last.committer_email
        return Verdict(blob, False, f"commit {last.id[:8]} by {who} came by no merge request")
    missing = ""
    for request in merged:
        check = check_file(path, text, request.author, _before_merge(request), config, directory)
        if check.ok:
            return Verdict(blob, True, f"merge request !{request.iid} with its approvals")
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
