"""``mr-check``: read a merge request from GitLab and check its exception files' approvals."""

from __future__ import annotations

from exception_bot.domain.merge_requests import FileApprovals, check_file, is_exception_file
from exception_bot.domain.settings import Config
from exception_bot.gitlab import GitLab
from exception_bot.runner import directory


def check_merge_request(
    gitlab: GitLab, config: Config, project: str, iid: int
) -> list[FileApprovals]:
    info = gitlab.merge_request(project, iid)
    people = directory(gitlab, config)
    results = []
    for path in info.changed:
        if not is_exception_file(path, config):
            continue
        text = gitlab.read_file(project, info.source_branch, path) or ""
        results.append(check_file(path, text, info.author, info.approved_by, config, people))
    return results
