"""Job artifacts (doc/api/job_artifacts.md): one file of a job's artifacts, by ref and job name,
from the ref's latest successful pipeline. The weekly report reads each covered project's gate
summary this way."""

from __future__ import annotations

from dataclasses import dataclass

import gitlab

from exception_bot.gitlab.client import Client


@dataclass(frozen=True)
class ArtifactFile:
    """The file's bytes, or None and why GitLab gave none (in words for the report)."""

    data: bytes | None
    why: str = ""


class Artifacts:
    def __init__(self, client: Client) -> None:
        self._client = client

    def job_artifact(self, project: str, ref: str, path: str, job: str, limit: int) -> ArtifactFile:
        """``path`` of job ``job``'s artifacts in the latest successful pipeline of ``ref``,
        read up to ``limit`` bytes. GitLab answers 404 when the ref has no successful pipeline
        with such a job, the archive no such file, or the bot's user cannot see the project;
        403 when it sees the project but not its pipelines (a Guest of a private project)."""
        manager = self._client.project(project).artifacts
        try:
            chunks = manager.raw(ref, path, job, iterator=True)
            read = bytearray()
            for chunk in chunks:
                read += chunk
                if len(read) > limit:
                    return ArtifactFile(None, f"larger than {limit // 2**20} MiB")
        except gitlab.GitlabGetError as err:
            if err.response_code == 404:
                # The bot's words only: the report shows them as they are (no branch name).
                return ArtifactFile(
                    None,
                    f"no {job} job with {path} in the latest successful pipeline of its "
                    "default branch, or the bot's user cannot see the project (404)",
                )
            if err.response_code == 403:
                return ArtifactFile(None, "the bot's user may not read its pipelines (403)")
            raise
        return ArtifactFile(bytes(read))
