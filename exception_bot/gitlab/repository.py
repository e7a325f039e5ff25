"""Files in a repository: read, listed, committed (the register, the files ``setup``
writes), and the last commit that changed one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import gitlab
import requests

from exception_bot.domain.provenance import LastCommit
from exception_bot.domain.register import INDEX_JSON, INDEX_MARKDOWN
from exception_bot.gitlab.client import PER_PAGE, Client, GitLabError, unless_missing
from exception_bot.gitlab.writes import ONCE, WRITE_ATTEMPTS, lost, pause_after_lost

log = logging.getLogger(__name__)
REGISTER_ATTEMPTS = 5


class Repository:
    def __init__(self, client: Client) -> None:
        self._client = client

    def commit_files(
        self, project: str, branch: str, files: Mapping[str, str], message: str
    ) -> None:
        """Create or update ``files`` in one commit on ``branch``; when GitLab's answer is
        lost, the files are read again and the commit sent again only if they differ."""
        attempt = 0
        while True:
            current = {path: self._read_file(project, branch, path) for path in files}
            if attempt and all(c is not None and c[0] == files[p] for p, c in current.items()):
                return  # the commit whose answer was lost landed
            attempt += 1
            if attempt > WRITE_ATTEMPTS:
                raise GitLabError(
                    f"commit to {project}@{branch}: GitLab's answer was lost {WRITE_ATTEMPTS} "
                    "times and the files are not there; run setup --apply again"
                )
            actions = [commit_action(path, text, current[path]) for path, text in files.items()]
            if self._commit(project, branch, message, actions, attempt):
                return

    def read_file(self, project: str, branch: str, path: str) -> str | None:
        found = self._read_file(project, branch, path)
        return found[0] if found else None

    def _read_file(self, project: str, branch: str, path: str) -> tuple[str, str] | None:
        """A file's text and the id of the last commit that changed it; None when missing
        (or when the branch does not exist yet, as in a new, empty project)."""
        found = unless_missing(
            lambda: self._client.project(project).files.get(file_path=path, ref=branch)
        )
        if found is None:
            return None
        return found.decode().decode("utf-8"), str(found.last_commit_id)

    def write_register(
        self,
        project: str,
        branch: str,
        changes: Callable[[Mapping[str, str | None]], Mapping[str, str | None]],
        paths: Iterable[str],
        message: str,
    ) -> bool:
        """One commit of the files ``changes`` computes from their content on the branch.

        A concurrent commit to those files makes GitLab answer 400 (stale ``last_commit_id``,
        or "A file with this name already exists"); the files are read again and the commit
        retried, so nobody's change is lost. False when there was nothing to change.
        """
        names = tuple(dict.fromkeys([*paths, INDEX_JSON, INDEX_MARKDOWN]))
        unanswered = False  # a commit went out and its answer never came: it may have landed
        attempt = 0
        while True:
            current = {name: self._read_file(project, branch, name) for name in names}
            wanted = changes({name: c[0] if c else None for name, c in current.items()})
            if not wanted:  # nothing (left) to change: after a lost answer, that commit landed
                return unanswered
            attempt += 1
            if attempt > REGISTER_ATTEMPTS:
                raise GitLabError(
                    f"register commit to {project}@{branch} failed {REGISTER_ATTEMPTS} times "
                    "(the files kept changing, or GitLab's answers were lost); the next run "
                    "tries again"
                )
            actions = [
                commit_action(name, text, current.get(name)) for name, text in wanted.items()
            ]
            try:
                if self._commit(project, branch, message, actions, attempt):
                    return True
                unanswered = True
            except gitlab.GitlabCreateError as err:
                if err.response_code != 400:
                    raise GitLabError(
                        f"register commit to {project}@{branch} failed ({err.response_code}): "
                        f"{err.error_message}"
                    ) from None
                log.info("register changed under us (%s); retrying on fresh content", err)

    def _commit(
        self, project: str, branch: str, message: str, actions: list[dict[str, Any]], attempt: int
    ) -> bool:
        """Send one commit, once; False when its answer was lost. It may have landed all the
        same: the caller reads the files again to know (a blind retry would be refused anyway,
        400 for a stale ``last_commit_id`` or a file created twice, app/services/files/
        multi_service.rb, but the caller could not tell that from a real conflict)."""
        self._client.before_write()
        try:
            data = {"branch": branch, "commit_message": message, "actions": actions}
            self._client.project(project).commits.create(data, **ONCE)
        except (requests.RequestException, gitlab.GitlabError) as err:
            if not lost(err):
                raise
            pause_after_lost(f"commit to {project}@{branch}", err, attempt)
            return False
        return True

    def blobs(self, project: str, branch: str, path: str) -> dict[str, str]:
        """The files under ``path`` on ``branch``: path -> blob id (the id of the content, so a
        changed file has a new one); none when it does not exist."""
        items = unless_missing(
            lambda: self._client.project(project).repository_tree(
                path=path, ref=branch, recursive=True, get_all=True, per_page=PER_PAGE
            )
        )
        return {str(i["path"]): str(i["id"]) for i in items or () if i.get("type") == "blob"}

    def tree(self, project: str, branch: str, path: str) -> list[str]:
        """Paths of the files under ``path`` on ``branch``; none when it does not exist."""
        items = unless_missing(
            # repository_tree goes through http_list too (see _items): without per_page
            # GitLab sends 20 entries a page.
            lambda: self._client.project(project).repository_tree(
                path=path, ref=branch, recursive=True, get_all=True, per_page=PER_PAGE
            )
        )
        return [str(i["path"]) for i in items or () if i.get("type") == "blob"]

    def last_commit(self, project: str, branch: str, path: str) -> LastCommit | None:
        """The newest commit on ``branch`` that changed ``path`` (doc/api/commits.md: the list
        takes ``path``, newest first; one item is all that is read)."""
        query = {"ref_name": branch, "path": path, "per_page": 1}
        found = self._client.gl.http_list(
            f"{self._client.project(project).commits.path}", query_data=query, get_all=False
        )
        for item in found:
            data = dict(item)
            return LastCommit(str(data["id"]), str(data.get("committer_name") or ""))
        return None


def commit_action(path: str, text: str | None, current: tuple[str, str] | None) -> dict[str, Any]:
    if text is None:
        action: dict[str, Any] = {"action": "delete", "file_path": path}
    elif current is None:
        return {"action": "create", "file_path": path, "content": text}
    else:
        action = {"action": "update", "file_path": path, "content": text}
    if current is not None:
        # GitLab refuses the whole commit when the file changed since this id (HTTP 400).
        action["last_commit_id"] = current[1]
    return action
