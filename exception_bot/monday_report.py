"""The Monday report of ``daemon`` and ``serve``: the week's report issue rewritten with what
``report --post`` reads, under the run lock.

Besides the open requests, the requests closed this month (the month's figures) and the
covered projects' gate summaries (remediation progress): a rewrite without them would drop
both sections from the issue ``report --post`` wrote.
"""

from __future__ import annotations

from exception_bot.domain.review.context import Context
from exception_bot.gate_summaries import gate_summaries
from exception_bot.gitlab import GitLab
from exception_bot.monthly import closed_this_month
from exception_bot.run_lock import run_lock
from exception_bot.runner import survey
from exception_bot.weekly import post_report

# A report waits this long for another command's run lock (a full pass of many requests).
REPORT_LOCK_WAIT = 15 * 60.0


def post_monday_report(gitlab: GitLab, ctx: Context, lock_wait: float = REPORT_LOCK_WAIT) -> None:
    """Read what ``report --post`` reads, then post or update the week's report issue."""
    done = survey(gitlab, ctx)
    closed, gates = closed_this_month(gitlab, ctx), gate_summaries(gitlab, done)
    settings = ctx.config.gitlab
    with run_lock(gitlab, settings.register_project, settings.register_branch, "report", lock_wait):
        post_report(
            gitlab, ctx, done.results, update=True, extra=done.watched, closed=closed, gates=gates
        )
