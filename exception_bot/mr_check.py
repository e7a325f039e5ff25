"""``mr-check``: read a merge request from GitLab and check its exception files' approvals."""

from __future__ import annotations

from exception_bot.config import Config
from exception_bot.domain.merge_requests import FileApprovals, check_file, is_exception_file
from exception_bot.domain.people import Directory
from exception_bot.gitlab_api import GitLab


def check_merge_request(
    gitlab: GitLab, config: Config, project: str, iid: int
) -> list[FileApprovals]:
    info = gitlab.merge_request(project, iid)
    groups = sorted({spec.group for spec in config.roles.values() if spec.group})
    directory = Directory({group: gitlab.group_members(group) for group in groups})
    results = []
    for path in info.changed:
        if not is_exception_file(path, config):
            continue
        text = gitlab.read_file(project, info.source_branch, path) or ""
        results.append(check_file(path, text, info.author, info.approved_by, config, directory))
    return results
