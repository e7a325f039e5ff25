"""One pass over the open requests: read each, decide, apply. Each issue is on its own: a
failure is logged with the issue reference and the run goes on."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exception_bot.actions import IssueRef, describe
from exception_bot.config import Config
from exception_bot.decide import decide
from exception_bot.domain import renewals
from exception_bot.domain.model import IssueSnapshot
from exception_bot.domain.people import Directory
from exception_bot.executor import GitLabSink, RecordingSink, Sink, execute
from exception_bot.gitlab_api import GitLab
from exception_bot.plan import Context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssueResult:
    issue: str
    state: str | None
    stage: str | None
    actions: tuple[dict[str, Any], ...]
    error: str | None = None


@dataclass(frozen=True)
class RunSummary:
    processed: int
    changed: int
    failed: int
    api_requests: int
    results: tuple[IssueResult, ...]

    def line(self) -> str:
        return (
            f"processed={self.processed} changed={self.changed} failed={self.failed} "
            f"api_requests={self.api_requests}"
        )


def directory(gitlab: GitLab, config: Config) -> Directory:
    groups = sorted({spec.group for spec in config.roles.values() if spec.group})
    return Directory({group: gitlab.group_members(group) for group in groups})


def run_once(
    gitlab: GitLab,
    config: Config,
    now: datetime,
    *,
    dry_run: bool = False,
    iids: Iterable[int] = (),
) -> RunSummary:
    """Process every open request (or the given iids) of every requests project."""
    requests_before = gitlab.requests
    ctx = Context(config, directory(gitlab, config), gitlab.whoami(), now)
    wanted = list(iids)
    results = [
        _process(gitlab, ctx, IssueRef(project.path, iid), dry_run)
        for project in config.gitlab.requests_projects
        for iid in gitlab.open_requests(project.path, config.labels.intake, wanted)
    ]
    return RunSummary(
        processed=len(results),
        changed=sum(1 for r in results if r.actions and r.error is None),
        failed=sum(1 for r in results if r.error is not None),
        api_requests=gitlab.requests - requests_before,
        results=tuple(results),
    )


def _original(gitlab: GitLab, ctx: Context, snapshot: IssueSnapshot) -> IssueSnapshot | None:
    """The issue a renewal renews, when its *Renews* field names one that exists."""
    target = renewals.renews_issue(snapshot.description, snapshot.project, ctx.config)
    if target is None:
        return None
    return gitlab.find_snapshot(IssueRef(target.project, target.iid))


def _process(gitlab: GitLab, ctx: Context, ref: IssueRef, dry_run: bool) -> IssueResult:
    try:
        snapshot = gitlab.snapshot(ref)
        outcome = decide(snapshot, ctx, _original(gitlab, ctx, snapshot))
        gl_settings = ctx.config.gitlab
        sink: Sink = (
            RecordingSink()
            if dry_run
            else GitLabSink(gitlab, gl_settings.register_project, gl_settings.register_branch)
        )
        execute(outcome.actions, sink)
    except Exception as err:  # one issue's failure must not stop the run
        log.error("%s: failed: %s", ref, err)
        log.debug("%s: traceback", ref, exc_info=True)
        return IssueResult(str(ref), None, None, (), error=str(err) or type(err).__name__)
    described = tuple(describe(action) for action in outcome.actions)
    return IssueResult(str(ref), outcome.state.value, outcome.stage, described)
