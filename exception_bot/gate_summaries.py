"""The covered projects' gate summaries, read for the weekly report's remediation progress
(docs/explanation/after-approval.md; what they say: :mod:`exception_bot.domain.remediation`).

Read by ``report`` and the daemon's Monday report only, two requests a covered project (its
default branch, then the artifact): a run does not pay for them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from exception_bot.domain.remediation import (
    GATE_JOB,
    MAX_SUMMARY_BYTES,
    SUMMARY_FILE,
    GateSeen,
    projects_to_read,
    read_summary,
)
from exception_bot.errors import GitLabUnavailable
from exception_bot.gitlab import GitLab

if TYPE_CHECKING:
    from exception_bot.runner import RunSummary

log = logging.getLogger(__name__)


def gate_summaries(gitlab: GitLab, summary: RunSummary) -> dict[str, GateSeen]:
    """Each covered project's latest gate summary, by project path; a project whose summary
    cannot be read says why, and the report goes on."""
    facts = [*(r.facts for r in summary.results if r.facts is not None), *summary.watched]
    seen: dict[str, GateSeen] = {}
    for project in projects_to_read(facts):
        try:
            ref = gitlab.default_branch(project)
            found = gitlab.job_artifact(project, ref, SUMMARY_FILE, GATE_JOB, MAX_SUMMARY_BYTES)
        except GitLabUnavailable:
            raise
        except Exception as err:  # one project's failure is its row's, not the report's
            log.error("gate summary of %s: failed: %s", project, err)
            seen[project] = GateSeen(project, problem="could not be read (see the job log)")
            continue
        seen[project] = read_summary(project, found.data, found.why)
    return seen
