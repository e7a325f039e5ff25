"""``serve`` attacked (issue 24, bad input): what a hostile network client, someone who knows
the secret, or GitLab relaying a hostile user's events can do to the service, and that each
gets a clear answer, changes nothing and costs bounded work. The service runs in this process
on a loopback port against the sandbox (tests/support/webhooks.py)."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import gitlab
import pytest
import requests

from exception_bot.cli import _webhook_secret
from exception_bot.config import load_config
from exception_bot.connection import Guard
from exception_bot.gitlab import GitLab
from exception_bot.sandbox import Sandbox
from exception_bot.service import Service
from exception_bot.service import app as app_module
from exception_bot.service import server as server_module
from exception_bot.service.worker import Settings
from exception_bot.webhook_setup import HOOK_EVENTS
from tests.e2e.test_two_projects import PAYMENTS, two_projects
from tests.e2e.test_webhook_service import first_pass, metric
from tests.e2e.test_webhook_setup import hooked_world, hooks_of
from tests.e2e.world import REGISTER, REQUESTS, World, edit_config
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


def _post(
    url: str, headers: list[tuple[str, bytes]], payload: dict[str, Any], target: str = "/webhook"
) -> int:
    """A delivery with headers as given, repeated or not (requests folds repeats)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    data = json.dumps(payload).encode()
    conn.putrequest("POST", target)
    for name, value in [*headers, ("Content-Type", b"application/json")]:
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(data)).encode())
    conn.endheaders(data)
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_token_is_one_header_with_the_secrets_bytes(world: World) -> None:
    """A repeated X-Gitlab-Token is refused whichever copy is right (a proxy or client that
    adds one must not be let through by the first); a secret with non-ASCII letters is
    compared as the bytes GitLab sends (UTF-8), not as Starlette's Latin-1 reading of them;
    a token in the query string is no token."""
    secret = "sécret-für-tests-ñ"
    gl = GitLab.connect(world.sandbox.url, world.sandbox.token("exception-bot"))
    config = load_config(world.config)
    svc = Service(gl, config, secret, lambda: world.clock, Settings(HOUR, cooldown=0.0))
    good = issue_hook(project_of(world.sandbox, REQUESTS), world.open("bob", LOW))
    event = [("X-Gitlab-Event", b"Issue Hook")]
    with svc.running() as url:
        first_pass(svc)
        right, wrong = secret.encode(), b"wrong"
        assert (
            _post(url, [*event, ("X-Gitlab-Token", wrong), ("X-Gitlab-Token", right)], good) == 401
        )
        assert (
            _post(url, [*event, ("X-Gitlab-Token", right), ("X-Gitlab-Token", wrong)], good) == 401
        )
        assert (
            _post(url, [*event, ("X-Gitlab-Token", right), ("X-Gitlab-Token", right)], good) == 401
        )
        assert (
            _post(url, [*event, ("X-Gitlab-Token", secret.encode("latin-1", "replace"))], good)
            == 401
        )
        assert _post(url, event, good, f"/webhook?token={quote(secret)}") == 401
        assert metric(url, "exception_bot_webhook_rejected_total", reason="unauthorized") == 5
        assert svc.queue.depth() == 0
        assert not svc.worker.runs
        assert _post(url, [*event, ("X-Gitlab-Token", right)], good) == 202


def test_serve_refuses_a_blank_or_short_secret_and_strips_a_trailing_newline(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret of a few characters is guessed by anyone who can reach the port; a secret read
    from a file ends with a newline that `setup` strips and GitLab never sends."""
    for weak in ("   ", "x", "short-secret\n"):
        monkeypatch.setenv("EXCEPTION_BOT_WEBHOOK_SECRET", weak)
        result = world.cli("serve", "--port", "1")
        assert result.exit_code == 2, (weak, result.output)
        assert "EXCEPTION_BOT_WEBHOOK_SECRET" in result.output
        assert weak.strip() not in result.output or not weak.strip()
    monkeypatch.setenv("EXCEPTION_BOT_WEBHOOK_SECRET", SECRET + "\n")
    assert _webhook_secret(load_config(world.config))[0] == SECRET


def test_setup_refuses_to_register_a_short_secret(
    sandbox: Sandbox,
    gl: Callable[[str], gitlab.Gitlab],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXCEPTION_BOT_WEBHOOK_SECRET", "s3cret")
    world = hooked_world(sandbox, gl, tmp_path, "https://bot.example/hooks")
    refused = world.cli("setup", "--apply")
    assert refused.exit_code == 2, refused.output
    assert "EXCEPTION_BOT_WEBHOOK_SECRET holds 6 characters" in refused.output
    assert "s3cret" not in refused.output.replace("EXCEPTION_BOT_WEBHOOK_SECRET", "")
    assert hooks_of(gl, REQUESTS) == []


def test_a_flood_of_distinct_issues_is_refused_past_the_queues_bound(world: World) -> None:
    """Someone with the secret posting every iid there is: past the bound, a delivery for an
    issue not waiting is answered 202 queue_full and counted, an issue already waiting still
    takes its event, and the full pass is the net for the rest."""
    iid = world.open("bob", LOW)
    project = project_of(world.sandbox, REQUESTS)
    gl = GitLab.connect(world.sandbox.url, world.sandbox.token("exception-bot"))
    config = load_config(world.config)
    settings = Settings(HOUR, cooldown=0.0, waiting=3)
    svc = Service(gl, config, SECRET, lambda: world.clock, settings)
    world.sandbox.latency(0.2)  # the first full pass is slow: the deliveries wait behind it
    with svc.running() as url:
        answers = [deliver(url, issue_hook(project, n)).json() for n in (iid, 1000, 1001, 1002)]
        assert [a.get("reason", a["status"]) for a in answers] == [
            "queued",
            "queued",
            "queued",
            "queue_full",
        ]
        assert deliver(url, issue_hook(project, 1000)).json()["status"] == "queued"
        assert svc.queue.depth() == 3
        assert metric(url, "exception_bot_webhook_rejected_total", reason="queue_full") == 1
        world.sandbox.latency(0.0)
        assert until(lambda: svc.worker.idle())
        assert svc.worker.runs[f"{REQUESTS}#{iid}"] == 1


def test_a_requesters_huge_description_does_not_get_the_hook_disabled(world: World) -> None:
    """Any requester can make GitLab send a payload over the service's limit (an Issue Hook
    holds the description, and its previous and current text in ``changes``): it is answered
    2xx, so GitLab counts no failure and never disables the hook for it."""
    iid = world.open("bob", LOW)
    gl = GitLab.connect(world.sandbox.url, world.sandbox.token("exception-bot"))
    svc = Service(
        gl, load_config(world.config), SECRET, lambda: world.clock, Settings(HOUR), max_body=65536
    )
    with svc.running() as url:
        register_hooks(world.sandbox, url, (REQUESTS,))
        first_pass(svc)
        for n in range(5):  # more than the four failures in a row GitLab backs off after
            world.edit("bob", iid, "Justification", f"{'<' * 40_000} {n}\n\nJustification")
        assert world.sandbox.wait_for_deliveries()
        sent = [d for d in world.sandbox.deliveries if d.payload["user"]["username"] == "bob"]
        assert len(sent) == 5
        assert {d.status for d in world.sandbox.deliveries} == {202}
        (hook,) = world.sandbox.store.hooks.values()
        assert hook.recent_failures == 0
        assert metric(url, "exception_bot_webhook_rejected_total", reason="too_large") == 5


def test_a_body_of_a_million_objects_is_not_parsed(world: World) -> None:
    """8 MB of ``[{},{},...]`` parses into 200 MB of dicts: a body opening more objects than
    any GitLab payload is answered too_large without being parsed."""
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        answer = deliver(url, b"[" + b"{}," * 200_000 + b"{}]", hook="Issue Hook")
        assert (answer.status_code, answer.json()["reason"]) == (202, "too_large")
        assert "objects" in answer.json()["detail"]


def test_a_slow_head_or_body_is_cut_off(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slowloris: a connection that never finishes its request head is closed (uvicorn alone
    keeps it for ever); a delivery whose body trickles is answered 408 once it is later than
    GitLab itself would wait."""
    monkeypatch.setattr(server_module, "HEAD_TIMEOUT", 0.5)
    monkeypatch.setattr(app_module, "BODY_TIMEOUT", 0.5)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        parts = urlsplit(url)
        address = (parts.hostname or "", parts.port or 0)
        with socket.create_connection(address, timeout=5) as slow:
            slow.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Gitlab-Eve")
            started = time.monotonic()
            assert slow.recv(1024) == b""  # closed, with no answer
            assert time.monotonic() - started < 4
        head = (
            "POST /webhook HTTP/1.1\r\nHost: x\r\nX-Gitlab-Event: Issue Hook\r\n"
            f"X-Gitlab-Token: {SECRET}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n"
        )
        with socket.create_connection(address, timeout=5) as trickle:
            trickle.sendall(head.encode() + b'{"object_kind"')
            answer = trickle.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408"), answer
        assert metric(url, "exception_bot_webhook_rejected_total", reason="too_slow") == 1
        # an idle keep-alive connection after a good answer is closed too, and the service
        # still answers
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200


def test_healthz_never_shows_credentials_of_the_gitlab_url(world: World) -> None:
    """/healthz answers anyone who reaches the port: GitLab's URL with a user and password in
    it (a basic-auth proxy's) is shown without them."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = f"http://bot:hunter2-proxy-pass@127.0.0.1:{port}"
    gl = GitLab.connect(down, "glpat-not-a-token", guard=Guard(retry_for=0))
    svc = Service(gl, load_config(world.config), SECRET, lambda: world.clock, Settings(HOUR))
    with svc.running() as url:
        assert until(lambda: svc.metrics.full_pass_failures._value.get() >= 1)
        health = requests.get(f"{url}/healthz", timeout=10)
        assert health.status_code == 503
        reasons = " ".join(health.json()["reasons"])
        assert f"127.0.0.1:{port}" in reasons, reasons
        assert "hunter2" not in reasons
        assert "bot:" not in reasons


def test_a_hook_with_a_non_ascii_secret_reaches_serve(world: World) -> None:
    """GitLab sends a hook's token as its UTF-8 bytes (Ruby's Net::HTTP writes the string's
    bytes); the sandbox does too, and serve compares those bytes."""
    secret = "sécret-für-die-prüfung-€"
    iid = world.open("bob", LOW)
    gl = GitLab.connect(world.sandbox.url, world.sandbox.token("exception-bot"))
    config = load_config(world.config)
    svc = Service(gl, config, secret, lambda: world.clock, Settings(HOUR, cooldown=0.0))
    with svc.running() as url:
        world.sandbox.allow_local_webhooks()
        project = world.gl("exception-bot").projects.get(REQUESTS, lazy=True)
        project.hooks.create({"url": f"{url}/webhook", "token": secret, **HOOK_EVENTS})
        first_pass(svc)
        world.later(hours=2).tick("carol", iid, DH)
        assert until(lambda: world.stage(iid) == "exception-stage::security-team")
        assert world.sandbox.wait_for_deliveries()
        assert {d.status for d in world.sandbox.deliveries} == {202}
        # The run is counted once it ends, after its label write: wait for it.
        assert until(lambda: svc.worker.runs[f"{REQUESTS}#{iid}"] >= 1)


def test_a_task_made_in_the_requests_project_is_ignored_not_refused(world: World) -> None:
    """Anyone may make a task (or an incident) in the requests project; GitLab delivers it as
    an Issue Hook with object_kind work_item. serve answers it 2xx (a 400 would count towards
    GitLab disabling the hook) and runs nothing; an issue's own events still run it."""
    iid = world.open("bob", LOW)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        register_hooks(world.sandbox, url, (REQUESTS,))
        first_pass(svc)
        project = world.gl("bob").projects.get(REQUESTS, lazy=True)
        for _ in range(5):  # more than the four failures in a row GitLab backs off after
            project.issues.create({"title": "a task", "issue_type": "task"})
        assert world.sandbox.wait_for_deliveries()
        tasks = [d for d in world.sandbox.deliveries if d.payload["object_kind"] == "work_item"]
        assert len(tasks) == 5
        assert {d.payload["object_attributes"]["type"] for d in tasks} == {"Task"}
        assert {d.status for d in tasks} == {202}
        assert metric(url, "exception_bot_webhook_rejected_total", reason="not_a_request") == 5
        world.later(hours=2).tick("carol", iid, DH)
        assert until(lambda: world.stage(iid) == "exception-stage::security-team")
        assert until(lambda: svc.worker.runs[f"{REQUESTS}#{iid}"] >= 1)  # counted at its end
        assert len(svc.worker.runs) == 1


def test_a_requests_project_named_by_its_id_reacts_and_is_timed(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """With the requests project given by its id, a delivery (which names it by id and path)
    runs that project's issue, and its reaction is timed against the path the run reports."""
    project = sandbox.store.project(REQUESTS)
    assert project is not None
    config = edit_config(
        tmp_path / "config.yml", lambda data: data["gitlab"].update(requests_project=project.id)
    )
    world = World(sandbox, gl, config)
    iid = world.open("bob", LOW)
    with service(sandbox, config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        world.later(hours=2).tick("carol", iid, DH)
        answer = deliver(url, issue_hook(project_of(sandbox, REQUESTS), iid))
        assert answer.json() == {"status": "queued", "work": f"{project.id}#{iid}"}
        assert until(lambda: world.stage(iid) == "exception-stage::security-team")
        assert until(lambda: metric(url, "exception_bot_reaction_seconds_count") == 1)
        assert svc.worker.runs == {f"{REQUESTS}#{iid}": 1}


def test_a_comment_loop_on_a_register_merge_request_is_one_full_pass_a_minute(
    world: World,
) -> None:
    """Each register merge request event asks for the watch, a full pass reading every open
    request: the first is run at once, the ones after wait out the watch's cooldown together."""
    world.open("bob", LOW)
    register = project_of(world.sandbox, REGISTER)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        deliver(url, merge_request_hook(register, 1))
        assert until(lambda: svc.worker.full_passes == 2)
        for _ in range(5):
            assert deliver(url, note_hook(register, 1, "MergeRequest")).status_code == 202
        time.sleep(1.0)  # time for a wrong full pass to show
        assert svc.worker.full_passes == 2
        assert svc.queue.depth() == 1
        assert metric(url, "exception_bot_webhook_queued_total", how="coalesced") == 4


def test_a_flood_of_refused_deliveries_is_counted_but_logged_sparingly(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone who reaches the port can post wrong tokens as fast as they like: every one is
    counted, but the log (a container's, unbounded by default) gets a line a minute at most,
    saying how many it left out. Other paths and methods are refused and count nothing."""
    good = issue_hook(project_of(world.sandbox, REQUESTS), 1)
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        first_pass(svc)
        with caplog.at_level(logging.WARNING, logger="exception_bot.service.app"):
            for n in range(60):
                deliver(url, good, token=f"guess-{n}")
        lines = [r.getMessage() for r in caplog.records if "X-Gitlab-Token" in r.getMessage()]
        assert len(lines) == 1, lines
        assert metric(url, "exception_bot_webhook_rejected_total", reason="unauthorized") == 60
        assert requests.get(f"{url}/webhook", timeout=5).status_code == 405
        assert requests.put(f"{url}/webhook", data=b"{}", timeout=5).status_code == 405
        assert requests.post(f"{url}/hooks", data=b"{}", timeout=5).status_code == 404
        assert requests.post(f"{url}/metrics", data=b"{}", timeout=5).status_code == 405
        assert metric(url, "exception_bot_webhook_deliveries_total", hook="Issue Hook") == 60


def test_deliveries_sharing_an_event_uuid_for_different_issues_are_no_replays(
    world: World,
) -> None:
    """GitLab's recursion detection gives every delivery an API request causes the
    X-Gitlab-Event-UUID that request carried (lib/gitlab/web_hooks/recursion_detection/
    uuid.rb): another webhook receiver, or anyone who saw one UUID, editing several requests
    with it gets them one UUID. Each issue is still run; a resent delivery is still a replay."""
    a, b = world.open("bob", LOW), world.open("bob", LOW)
    carol = gitlab.Gitlab(world.sandbox.url, private_token=world.sandbox.token("carol"))
    carol.headers["X-Gitlab-Event-UUID"] = "6f1c2e3a-0000-4000-8000-00000000beef"
    with service(world.sandbox, world.config, lambda: world.clock, every=HOUR) as (svc, url):
        register_hooks(world.sandbox, url, (REQUESTS,))
        first_pass(svc)
        world.later(hours=2)
        for iid in (a, b):
            issue = carol.projects.get(REQUESTS, lazy=True).issues.get(iid)
            issue.description = issue.description.replace(f"- [ ] {DH}", f"- [x] {DH}", 1)
            issue.save()
        assert until(lambda: world.stage(a) == world.stage(b) == "exception-stage::security-team")
        assert svc.worker.full_passes == 1
        assert metric(url, "exception_bot_webhook_rejected_total", reason="replayed") == 0
        delivered = next(
            d for d in world.sandbox.deliveries if d.payload["user"]["username"] == "carol"
        )
        again = requests.post(
            f"{url}/webhook", json=delivered.payload, headers=delivered.headers, timeout=10
        )
        assert again.json()["reason"] == "replayed"


def test_a_chunked_body_without_a_length_is_cut_at_the_limit(world: World) -> None:
    """No Content-Length to refuse it by: the body is read as it comes and given up on once
    over the limit, whatever follows."""
    svc_gl = GitLab.connect(world.sandbox.url, world.sandbox.token("exception-bot"))
    svc = Service(
        svc_gl,
        load_config(world.config),
        SECRET,
        lambda: world.clock,
        Settings(HOUR),
        max_body=1024,
    )

    def chunks() -> Iterator[bytes]:  # requests sends a generator chunked, with no length
        for _ in range(200):
            yield b"[" * 512

    with svc.running() as url:
        first_pass(svc)
        headers = {"X-Gitlab-Event": "Issue Hook", "X-Gitlab-Token": SECRET}
        answer = requests.post(f"{url}/webhook", data=chunks(), headers=headers, timeout=10)
        assert (answer.status_code, answer.json()["reason"]) == (202, "too_large")
        assert svc.queue.depth() == 0
