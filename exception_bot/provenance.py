"""Where a register file came from, read from GitLab: the one check ``run`` and ``register
verify`` share (the judgement itself: :mod:`exception_bot.domain.provenance`).

It reads only what any reader of the register, the requests and the merge requests may read
(a Reporter's token will do): the bot's record on the file's issue, or the merge requests of
the file's last commit and their approvals.
"""

from __future__ import annotations

from collections.abc import Callable

from exception_bot.domain.actions import IssueRef
from exception_bot.domain.model import Note
from exception_bot.domain.people import Directory
from exception_bot.domain.provenance import (
    Verdict,
    bot_record,
    judge_entry,
    judge_merged,
    unreadable,
)
from exception_bot.domain.register import parse_front_matter
from exception_bot.domain.settings import Config
from exception_bot.domain.watch import from_issue_route, issue_of
from exception_bot.gitlab import GitLab

# An issue's notes, none when it cannot be read: the run reads them, verify reuses its snapshot.
NotesOf = Callable[[IssueRef], tuple[Note, ...]]


def judge_file(
    gitlab: GitLab,
    config: Config,
    directory: Directory,
    bot_user: str,
    file: tuple[str, str, str],
    notes_of: NotesOf,
) -> Verdict:
    """The verdict on ``file`` (path, text, blob id) of the register branch."""
    path, text, blob = file
    matter = parse_front_matter(text)
    if matter.data is None:
        return unreadable(blob, matter.problem)
    if from_issue_route(matter.data, config):
        where = issue_of(str(matter.data.get("source")), config)
        if where is None:
            return Verdict(blob, False, "its source names no issue of the requests projects")
        ref = IssueRef(*where)
        return judge_entry(path, text, blob, str(ref), bot_record(notes_of(ref), bot_user))
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    last = gitlab.last_commit(project, branch, path)
    requests = gitlab.commit_merge_requests(project, last.id) if last is not None else ()
    return judge_merged(path, text, blob, last, requests, branch, config, directory)
