"""Pipelines, as far as their jobs' artifacts are read: a project's pipelines for a ref, each
with a status and its jobs, each job with the files of its artifacts archive. Tests and the
demo record them (``record_pipeline``); GitLab's runners would.

How GitLab finds "the latest artifacts of a ref" (app/models/project.rb,
``latest_successful_build_for_ref``): the latest *successful* pipeline for the ref
(``Ci::Pipeline.latest_successful_for_ref``, by id), then the job of that name in it that has
artifacts. A failed pipeline is never looked at, even when it is newer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from exception_bot.sandbox.store import ApiError, Store

# Ci::HasStatus: the statuses a pipeline or a job can end in.
STATUSES = ("success", "failed", "canceled", "skipped", "running", "pending", "manual")


@dataclass
class Job:
    id: int
    name: str
    status: str
    artifacts: dict[str, bytes] = field(default_factory=dict)  # path in the archive -> bytes


@dataclass
class Pipeline:
    id: int
    project_id: int
    ref: str
    status: str
    jobs: list[Job] = field(default_factory=list)


def record_pipeline(
    store: Store,
    project: str,
    ref: str,
    jobs: Mapping[str, Mapping[str, str | bytes]],
    status: str = "success",
) -> Pipeline:
    """A finished pipeline of ``project`` for ``ref``: each job (by name) with its artifacts'
    files. Its jobs succeeded when it did; in a failed pipeline they failed."""
    if status not in STATUSES:
        raise ValueError(f"unknown pipeline status {status!r}")
    found = store.project(project)
    if found is None:
        raise ValueError(f"no project {project}")
    pipeline = Pipeline(store.next_id(), found.id, ref, status)
    for name, files in jobs.items():
        data = {path: f.encode() if isinstance(f, str) else f for path, f in files.items()}
        pipeline.jobs.append(Job(store.next_id(), name, status, data))
    store.pipelines.append(pipeline)
    return pipeline


def latest_successful_job(store: Store, project_id: int, ref: str, name: str) -> Job:
    """``latest_successful_build_for_ref!``: 404 when the ref has no successful pipeline or it
    has no job of that name with artifacts."""
    successful = [
        p
        for p in store.pipelines
        if p.project_id == project_id and p.ref == ref and p.status == "success"
    ]
    if successful:
        latest = max(successful, key=lambda p: p.id)
        jobs = [j for j in latest.jobs if j.name == name and j.artifacts]
        if jobs:
            return max(jobs, key=lambda j: j.id)
    raise ApiError(404, "404 Not found")
