"""Branches: created, read, and moved by one commit that either lands whole or is refused
(the run lock's lease, run_lock.py)."""

from __future__ import annotations

import logging
from typing import Any

import gitlab
import requests

from exception_bot.gitlab.client import Client, GitLabError, unless_missing
from exception_bot.gitlab.writes import ONCE, lost, pause_after_lost

log = logging.getLogger(__name__)


class Branches:
    def __init__(self, client: Client) -> None:
        self._client = client

    def create_branch(self, project: str, branch: str, ref: str) -> None:
        """Create ``branch`` from ``ref``; one that exists already is left as it is (GitLab
        answers 400 "Branch already exists", app/services/branches/create_service.rb).
        Not paced, as the run lock's commits (see :meth:`swap_file`)."""
        try:
            self._client.project(project).branches.create({"branch": branch, "ref": ref})
        except gitlab.GitlabCreateError as err:
            if err.response_code != 400 or "already exists" not in str(err.error_message):
                raise GitLabError(
                    f"cannot create the branch {branch} from {ref} in {project} "
                    f"({err.response_code}): {err.error_message}"
                ) from None

    def swap_file(
        self, project: str, branch: str, create: tuple[str, str], delete: str | None, message: str
    ) -> bool | None:
        """One commit that creates ``create`` (path, text) and deletes ``delete``: True when it
        landed, False when GitLab refused it (400: the file to create exists or the one to
        delete is gone, on the commit GitLab built on), None when the answer was lost.

        Gitaly builds the commit on the branch's head and moves the branch only from that
        head (internal/gitaly/service/operations/commit_files.go: ``oldRevision :=
        parentCommitOID``), so of two such commits racing, one lands and the other is refused.
        Sent once (a blind retry could take a lease twice) and not paced: the run lock's few
        commits a run must not wait behind the issues' writes, whose pace ``Client.pace`` sets.
        """
        actions: list[dict[str, Any]] = [
            {"action": "create", "file_path": create[0], "content": create[1]}
        ]
        if delete is not None:
            actions.append({"action": "delete", "file_path": delete})
        data = {"branch": branch, "commit_message": message, "actions": actions}
        try:
            self._client.project(project).commits.create(data, **ONCE)
        except (requests.RequestException, gitlab.GitlabError) as err:
            if isinstance(err, gitlab.GitlabCreateError) and err.response_code == 400:
                log.info("%s@%s: %s", project, branch, err.error_message)
                return False
            if not lost(err):
                raise
            pause_after_lost(f"commit to {project}@{branch}", err, 1)
            return None
        return True

    def head_message(self, project: str, branch: str) -> str | None:
        """The message of the commit ``branch`` points at; None when the branch does not
        exist."""
        found = unless_missing(lambda: self._client.project(project).branches.get(branch))
        return str(found.commit.get("message") or "") if found is not None else None

    def branch_head(self, project: str, branch: str) -> str | None:
        """The id of the commit ``branch`` points at; None when the branch does not exist."""
        found = unless_missing(lambda: self._client.project(project).branches.get(branch))
        return str(found.commit["id"]) if found is not None else None
