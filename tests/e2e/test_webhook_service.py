"""``serve`` end to end (issue 24, points 1 and 2 and the bad input): the service in this
process on a loopback port, the sandbox GitLab, deliveries in GitLab's shapes and headers
(tests/support/webhooks.py), people acting through python-gitlab. Waits are generous polls,
never timing asserts: speed is the benchmark's (bench/webhooks.py)."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from exception_bot.cli import app
from exception_bot.service import Service
from tests.e2e.world import REGISTER, REQUESTS, World, writes_besides_the_lock
from tests.requests import body
from tests.support.webhooks import (
    SECRET,
    deliver,
    issue_hook,
    merge_request_hook,
    note_hook,
    project_of,
    register_hooks,
    service,
    until,
)

LOW = body("low_staging")
DH, ST = "Department head approval", "Security team approval"
PO, SC = "Policy owner approval", "Security Compliance review"
HOUR = timedelta(hours=1)


def metric(url: str, name: str, **labels: str) -> float:
    """A sample's value from /metrics (0 when absent)."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = "^" + re.escape(f"{name}{{{want}}}" if labels else name) + r" (\S+)$"
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def first_pass(svc: Service) -> None:
    assert until(lambda: svc.worker.full_passes >= 1), "the first full pass did not end"


def test_a_tick_gets_the_next_stage_labelled_without_a_scheduled_pass(world: World) -> None:
    iid = world.open("bob", LOW)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        assert world.stage(iid) == "exception-stage::department-head"
        world.later(hours=2).tick("carol", iid, DH)
        answer = deliver(url, issue_hook(project_of(world.sandbox, REQUESTS), iid))
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"status": "queued", "work": f"{REQUESTS}#{iid}"}
        assert until(lambda: world.stage(iid) == "exception-stage::security-team")
        assert svc.worker.full_passes == 1  # the webhook's run, not the schedule
        assert any("@victor" in c or "security" in c for c in world.bot_comments(iid, "turn"))
        # a comment's Note Hook: the same decision path, and a run that writes nothing
        world.later(minutes=5).comment("victor", iid, "looking at it")
        before = len(writes_besides_the_lock(world.sandbox))
        deliver(url, note_hook(project_of(world.sandbox, REQUESTS), iid))
        assert until(lambda: svc.worker.runs[f"{REQUESTS}#{iid}"] == 2)
        assert writes_besides_the_lock(world.sandbox)[before:] == []
        assert metric(url, "exception_bot_reaction_seconds_count") == 1
        assert metric(url, "exception_bot_decisions_total", outcome="changed", trigger="webhook")
        assert metric(url, "exception_bot_decisions_total", outcome="unchanged", trigger="webhook")
        assert metric(url, "exception_bot_actions_total", kind="SetLabels") >= 2


def test_gitlabs_own_deliveries_get_each_stage_labelled_in_turn(world: World) -> None:
    """Through the sandbox's hooks: each approver's tick is delivered as GitLab delivers it,
    and the next stage is labelled with no scheduled pass between."""
    iid = world.open("bob", LOW)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        register_hooks(world.sandbox, url, (REQUESTS, REGISTER))
        first_pass(svc)
        route: list[tuple[str, str, str | None]] = [
            ("carol", DH, "exception-stage::security-team"),
            ("victor", ST, "exception-stage::policy-owner"),
            ("erin", PO, "exception-stage::security-compliance"),
            ("sue", SC, None),
        ]
        for user, item, stage in route:
            world.later(hours=1).tick(user, iid, item)
            assert until(partial(_at_stage, world, iid, stage)), world.status(iid)
        assert until(lambda: world.state(iid) == "exception::approved")
        assert svc.worker.full_passes == 1
        assert world.sandbox.wait_for_deliveries()
        delivered = [d for d in world.sandbox.deliveries if d.status is not None]
        assert delivered
        assert all(d.status == 202 for d in delivered)
        # the bot's own writes fire hooks too; it does not run the issue again for them
        assert metric(url, "exception_bot_webhook_rejected_total", reason="own_event") > 0
        assert metric(url, "exception_bot_reaction_seconds_count") == 4


def test_lost_deliveries_are_healed_by_the_full_pass(world: World) -> None:
    """GitLab does not retry a failed delivery: the sandbox loses every one, and the full pass
    on the daemon's schedule labels the next stage all the same."""
    iid = world.open("bob", LOW)
    every = timedelta(seconds=1)
    with service(world.sandbox, world.config, lambda: world.clock, every=every) as (svc, url):
        register_hooks(world.sandbox, url, (REQUESTS,))
        first_pass(svc)
        world.sandbox.webhook_faults(drop=1.0)
        world.later(hours=2).tick("carol", iid, DH)
        assert until(lambda: world.stage(iid) == "exception-stage::security-team")
        assert until(lambda: svc.worker.full_passes >= 2)
        assert svc.worker.runs[f"{REQUESTS}#{iid}"] == 0  # no webhook's run did it
        assert any(d.dropped for d in world.sandbox.deliveries)


def test_bad_deliveries_are_answered_counted_and_change_nothing(world: World) -> None:
    iid = world.open("bob", LOW)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        world.later(hours=2).tick("carol", iid, DH)  # a change the bot has not seen yet
        good = issue_hook(project_of(world.sandbox, REQUESTS), iid)
        writes = len(writes_besides_the_lock(world.sandbox))
        cases = [
            (deliver(url, good, token=None), 401, "unauthorized"),
            (deliver(url, good, token="guess"), 401, "unauthorized"),
            (deliver(url, b'{"object_kind": "issue", ', hook="Issue Hook"), 400, "malformed"),
            (deliver(url, b"[" * 100_000, hook="Issue Hook"), 400, "malformed"),
            (deliver(url, {**good, "object_kind": "note"}, hook="Issue Hook"), 400, "malformed"),
            (deliver(url, {"object_kind": "push"}, hook="Push Hook"), 202, "unknown_event"),
            (deliver(url, b"x" * (10 * 1024 * 1024), hook="Issue Hook"), 202, "too_large"),
            (
                deliver(url, issue_hook({"id": 999, "path_with_namespace": "team/elsewhere"}, iid)),
                202,
                "unknown_project",
            ),
        ]
        for answer, status, reason in cases:
            assert (answer.status_code, answer.json()["reason"]) == (status, reason), answer.text
        # a replay: the first delivery is run, the second with its UUID is not
        first = deliver(url, good, event_uuid="0b9c2a4e-replayed")
        assert first.status_code == 202
        assert until(lambda: svc.worker.runs[f"{REQUESTS}#{iid}"] == 1)
        replay = deliver(url, good, event_uuid="0b9c2a4e-replayed")
        assert replay.json()["reason"] == "replayed"
        counted = {
            reason: metric(url, "exception_bot_webhook_rejected_total", reason=reason)
            for reason in ("unauthorized", "malformed", "unknown_event", "too_large")
        }
        assert counted == {"unauthorized": 2, "malformed": 3, "unknown_event": 1, "too_large": 1}
        assert metric(url, "exception_bot_webhook_rejected_total", reason="unknown_project") == 1
        assert metric(url, "exception_bot_webhook_rejected_total", reason="replayed") == 1
        time.sleep(0.3)  # time for a wrongly queued run to show
        assert svc.worker.runs[f"{REQUESTS}#{iid}"] == 1
        assert svc.queue.depth() == 0
        # only the one good delivery wrote (the next stage), nothing else did
        written = writes_besides_the_lock(world.sandbox)[writes:]
        assert written
        assert all(f"/issues/{iid}" in w.path for w in written), written


def test_the_token_is_not_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        with caplog.at_level(logging.WARNING, logger="exception_bot.service.app"):
            deliver(url, issue_hook(project_of(world.sandbox, REQUESTS), 1), token="hunter2-wrong")
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "X-Gitlab-Token" in logged
        assert "hunter2" not in logged


def test_events_for_one_issue_waiting_together_are_one_run(world: World) -> None:
    a, b = world.open("bob", LOW), world.open("bob", LOW)
    project = project_of(world.sandbox, REQUESTS)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        world.sandbox.latency(0.3)  # the run of a is slow: b's events wait together
        deliver(url, issue_hook(project, a))
        assert until(lambda: svc.queue.depth() == 0)  # a's run has started
        for _ in range(5):
            deliver(url, note_hook(project, b))
        assert until(lambda: svc.worker.runs[f"{REQUESTS}#{b}"] >= 1)
        time.sleep(0.5)
        assert svc.worker.runs[f"{REQUESTS}#{b}"] == 1
        assert metric(url, "exception_bot_webhook_queued_total", how="coalesced") == 4


def test_the_registers_merge_requests_run_the_watch(world: World) -> None:
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        answer = deliver(url, merge_request_hook(project_of(world.sandbox, REGISTER), 1))
        assert answer.json() == {"status": "queued", "work": "register watch"}
        assert until(lambda: svc.worker.full_passes == 2)
        # a merge request of a requests project is not the register's
        other = deliver(url, merge_request_hook(project_of(world.sandbox, REQUESTS), 1))
        assert other.json()["reason"] == "not_a_request"


def test_health_and_the_requests_gauges(world: World) -> None:
    iid = world.open("bob", LOW)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        health = requests.get(f"{url}/healthz", timeout=10)
        assert (health.status_code, health.json()) == (200, {"status": "ok", "reasons": []})
        world.later(hours=5)
        text = requests.get(f"{url}/metrics", timeout=10).text
        samples = [line for line in text.splitlines() if line.startswith("exception_bot_requests{")]
        assert any('state="in-review"' in s and s.endswith(" 1.0") for s in samples), samples
        oldest = [line for line in text.splitlines() if "oldest_waiting_seconds{" in line]
        assert len(oldest) == 1, oldest
        assert float(oldest[0].split()[-1]) >= 5 * 3600
        assert metric(url, "exception_bot_full_pass_seconds_count") == 1
        assert metric(url, "exception_bot_gitlab_requests_total", endpoint="/user", method="GET")
        assert world.stage(iid)


def test_health_says_why_it_is_unhealthy(world: World) -> None:
    world.sandbox.fault("GET", r"/api/v4/user$", status=401, times=1000)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        assert until(lambda: requests.get(f"{url}/healthz", timeout=10).json()["reasons"] != [])
        assert until(lambda: svc.metrics.full_pass_failures._value.get() >= 1)
        health = requests.get(f"{url}/healthz", timeout=10)
        assert health.status_code == 503
        reasons = " ".join(health.json()["reasons"])
        assert "the latest full pass failed" in reasons, reasons
        assert "GitLab is unreachable" in reasons, reasons
        assert json.loads(health.text)["status"] == "unhealthy"


def test_serve_refuses_to_start_without_its_secret(world: World) -> None:
    result = world.cli("serve", "--port", "1")
    assert result.exit_code == 2
    assert "set EXCEPTION_BOT_WEBHOOK_SECRET to the webhooks' secret token" in result.output


def test_the_serve_command_reacts_to_a_tick_and_stops_on_sigterm(
    world: World, tmp_path: Path
) -> None:
    """The real command in a process of its own: GitLab's delivery of a tick, the next stage,
    then a clean stop."""
    world.sandbox.set_now(None)  # the command's clock is the machine's
    iid = world.open("bob", LOW)
    with socket.socket() as probe:  # a free port, for the command to listen on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "GITLAB_URL": world.sandbox.url,
        "GITLAB_TOKEN": world.sandbox.token("exception-bot"),
        "EXCEPTION_BOT_WEBHOOK_SECRET": SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    words = ["serve", "--port", str(port), "--every", "1h", "--config", str(world.config)]
    out = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with out.open("w") as log:
        served = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "exception_bot", *words], stdout=log, stderr=log, env=env
        )
        try:
            assert until(lambda: _healthy(url), timeout=60), out.read_text()
            assert world.stage(iid) == "exception-stage::department-head"
            register_hooks(world.sandbox, url, (REQUESTS,))
            world.tick("carol", iid, DH)
            assert until(lambda: world.stage(iid) == "exception-stage::security-team")
        finally:
            served.send_signal(signal.SIGTERM)
            assert served.wait(timeout=30) == 0
    text = out.read_text()
    assert f"webhooks at {url}/webhook" in text
    assert text.rstrip().endswith("exception-bot serve: stopped")
    assert SECRET not in text


def _at_stage(world: World, iid: int, stage: str | None) -> bool:
    return world.stage(iid) == stage


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def test_the_demo_in_webhook_mode_ends_as_the_scheduled_one(world: World) -> None:
    """`demo --webhooks`: the bot answers the sandbox's webhooks, the timeline says how long
    after each delivery it reacted, and the story ends where the scheduled demo's ends."""
    hooked = CliRunner().invoke(app, ["demo", "--webhooks"])
    plain = CliRunner().invoke(app, ["demo"])
    assert (hooked.exit_code, plain.exit_code) == (0, 0), hooked.output
    reacted = re.findall(r"\[(\d+\.\d\d) s after the webhook\]", hooked.output)
    assert len(reacted) >= 10, hooked.output
    assert "webhooks: 1 runs, reactions" in hooked.output or "webhooks: 2 runs" in hooked.output
    assert "s after the webhook" not in plain.output

    def ending(output: str) -> str:
        return output[output.index("Where each request ended") :]

    assert ending(hooked.output) == ending(plain.output)


def test_rate_limit_waits_and_errors_are_counted(world: World) -> None:
    """GitLab.com's RateLimit-* headers on every answer: a nearly spent window pauses the bot,
    and /metrics counts the pauses and any 429 by endpoint."""
    world.open("bob", LOW)
    world.sandbox.rate_limit(25, 2, mode="gitlab.com")
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        assert metric(url, "exception_bot_rate_limit_waits_total") >= 1
        assert metric(url, "exception_bot_rate_limit_wait_seconds_total") > 0
        text = requests.get(f"{url}/metrics", timeout=10).text
        assert 'exception_bot_gitlab_requests_total{endpoint="/projects/:id/issues"' in text


def test_the_services_monday_report_is_the_one_report_post_writes(world: World) -> None:
    """The Monday report of ``serve`` (and ``daemon``: monday_report.py) reads what
    ``report --post`` reads: a rewrite keeps the month's figures and every other section."""
    world.open("bob", LOW)
    world.run()
    posted = world.cli("report", "--post", "--now", world.clock.isoformat())
    assert posted.exit_code == 0, posted.output
    register = world.sandbox.store.project(REGISTER)
    assert register is not None
    (report,) = register.issues.values()
    written = report.description
    assert "This month so far" in written
    report.description = "stale\n" + written.rstrip().splitlines()[-1]  # the report's marker
    with service(
        world.sandbox, world.config, lambda: world.clock, every=HOUR, first_pass_now=False
    ) as (svc, _):
        svc.worker.weekly_report()
    assert len(register.issues) == 1
    assert report.description == written
