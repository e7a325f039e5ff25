"""``serve`` attacked (issue 24, bad input): what a hostile network client, someone who knows
the secret, or GitLab relaying a hostile user's events can do to the service, and that each
gets a clear answer, changes nothing and costs bounded work. The service runs in this process
on a loopback port against the sandbox (tests/support/webhooks.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import gitlab

from exception_bot.sandbox import Sandbox
from tests.e2e.test_two_projects import PAYMENTS, two_projects
from tests.e2e.test_webhook_service import first_pass, metric, until
from tests.e2e.world import REQUESTS
from tests.requests import body
from tests.support.webhooks import deliver, issue_hook, project_of, service

LOW = body("low_staging")
DH = "Department head approval"
HOUR = timedelta(hours=1)


def test_an_event_in_one_requests_project_runs_that_projects_issue_only(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """Two requests projects each hold a #1: a tick in one runs that #1, not the other's, and
    the reaction is timed from its own delivery."""
    security, payments = two_projects(sandbox, gl, tmp_path)
    ours, theirs = security.open("bob", LOW), payments.open("bob", LOW)
    assert ours == theirs
    with service(sandbox, security.config, lambda: security.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        security.later(hours=2).tick("carol", ours, DH)
        deliver(url, issue_hook(project_of(sandbox, REQUESTS), ours))
        assert until(lambda: security.stage(ours) == "exception-stage::security-team")
        assert until(lambda: svc.worker.idle())
        time.sleep(0.3)  # time for a wrong run to show
        assert svc.worker.runs == {f"{REQUESTS}#{ours}": 1}
        assert payments.stage(theirs) == "exception-stage::department-head"
        assert metric(url, "exception_bot_reaction_seconds_count") == 1
        assert PAYMENTS not in str(svc.worker.runs)
