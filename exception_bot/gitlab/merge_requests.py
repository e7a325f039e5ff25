"""Merge requests: the one ``mr-check`` judges, and those GitLab relates to a register
commit (provenance)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exception_bot.domain.provenance import MergedRequest
from exception_bot.errors import UsageError
from exception_bot.gitlab.client import Client, unless_missing
from exception_bot.gitlab.parse import when
from exception_bot.gitlab.projects import Projects


@dataclass(frozen=True)
class MergeRequestInfo:
    author: str
    source_branch: str
    changed: tuple[str, ...]  # paths added or changed (not deleted)
    approved_by: tuple[str, ...]


class MergeRequests:
    def __init__(self, client: Client, projects: Projects) -> None:
        self._client = client
        self._projects = projects

    def merge_request(self, project: str, iid: int) -> MergeRequestInfo:
        """Author, source branch, changed paths and approvers of a merge request."""
        mr = unless_missing(lambda: self._client.project(project).mergerequests.get(iid))
        if mr is None:  # 404: no such project or merge request, or the bot may not see it
            if not self._projects.project_exists(project):
                raise UsageError(
                    f"no project {project} on GitLab, or the token's user cannot see it: "
                    "check --project (CI_PROJECT_ID in CI)"
                )
            raise UsageError(
                f"no merge request !{iid} in {project}: check --mr (CI_MERGE_REQUEST_IID in CI)"
            )
        changes = mr.changes()
        paths = tuple(
            str(c.get("new_path") or c.get("old_path"))
            for c in (changes.get("changes") or [] if isinstance(changes, dict) else [])
            if not c.get("deleted_file")
        )
        approvals = mr.approvals.get()
        approved_by = tuple(
            str(a["user"]["username"]) for a in approvals.attributes.get("approved_by") or []
        )
        return MergeRequestInfo(
            str(mr.attributes["author"]["username"]),
            str(mr.attributes.get("source_branch") or ""),
            paths,
            approved_by,
        )

    def commit_merge_requests(self, project: str, sha: str) -> tuple[MergedRequest, ...]:
        """The merge requests GitLab relates to a commit (lib/api/commits.rb
        ``commits/:sha/merge_requests``: those whose commits, merge or squash commit it is),
        with the approvals of each merged one and who merged it (``merged_by``, deprecated
        for ``merge_user``, which lib/api/entities/merge_request_basic.rb gives as the same
        metrics' merger when there is one)."""
        path = f"{self._client.project(project).commits.path}/{sha}/merge_requests"
        found: list[MergedRequest] = []
        for data in self._client.items(path):
            approvals: tuple[tuple[str, datetime | None], ...] = ()
            if data.get("state") == "merged":
                approvals = self._approvals(project, int(data["iid"]))
            merger = data.get("merged_by") or data.get("merge_user") or {}
            found.append(
                MergedRequest(
                    int(data["iid"]),
                    str((data.get("author") or {}).get("username") or ""),
                    str(data.get("state") or ""),
                    str(data.get("target_branch") or ""),
                    when(data["merged_at"]) if data.get("merged_at") else None,
                    approvals,
                    str(merger.get("username") or ""),
                    str(data.get("web_url") or ""),
                )
            )
        return tuple(found)

    def _approvals(self, project: str, iid: int) -> tuple[tuple[str, datetime | None], ...]:
        """Who approved, and when (``approved_at``: lib/api/entities/approvals.rb)."""
        mr = self._client.project(project).mergerequests.get(iid, lazy=True)
        given = mr.approvals.get().attributes.get("approved_by") or []
        return tuple(
            (str(a["user"]["username"]), when(a["approved_at"]) if a.get("approved_at") else None)
            for a in given
        )
