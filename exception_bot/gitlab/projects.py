"""Projects and groups: whether they exist, and what GitLab says of a project."""

from __future__ import annotations

from typing import Any

from exception_bot.gitlab.client import Client, GitLabError, unless_missing


class Projects:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._info: dict[str, dict[str, Any] | None] = {}

    def new_run(self) -> None:
        self._info.clear()

    def project_exists(self, project: str) -> bool:
        return self._attributes(project) is not None

    def group_exists(self, group: str) -> bool:
        return unless_missing(lambda: self._client.gl.groups.get(group)) is not None

    def _attributes(self, project: str) -> dict[str, Any] | None:
        """The project as GitLab describes it (read once a run); None when it does not exist."""
        if project not in self._info:
            found = unless_missing(lambda: self._client.gl.projects.get(project))
            self._info[project] = dict(found.attributes) if found is not None else None
        return self._info[project]

    def project_path(self, project: str) -> str:
        """The path of a project named by its id or path (``security/exceptions``)."""
        found = self._attributes(project)
        if found is None:
            raise GitLabError(
                f"no project {project} (GitLab answered 404): check gitlab.requests_project, "
                "and that the bot's user is a member"
            )
        return str(found["path_with_namespace"])

    def web_url(self, project: str) -> str:
        return str((self._attributes(project) or {}).get("web_url") or "")

    def default_branch(self, project: str) -> str:
        return str((self._attributes(project) or {}).get("default_branch") or "main")
