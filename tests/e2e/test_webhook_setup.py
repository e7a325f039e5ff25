"""End to end (docs/how-to/webhooks.md): `setup --apply` registers the webhooks `serve` answers
on the sandbox, once, with the secret; `check-config --online` says when they are missing,
point elsewhere, lack events or were stopped by GitLab; and the hooks it made deliver a tick
with that secret (issue 24, point 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import gitlab
import pytest

from exception_bot.sandbox import Sandbox
from tests.e2e.world import REGISTER, REQUESTS, World, edit_config
from tests.requests import body
from tests.support.hook_receiver import Receiver
from tests.support.webhooks import SECRET, service, until

Client = Callable[[str], gitlab.Gitlab]
ENV = "EXCEPTION_BOT_WEBHOOK_SECRET"
SERVED = {
    "issues_events": True,
    "confidential_issues_events": True,
    "note_events": True,
    "confidential_note_events": True,
    "merge_requests_events": True,
    "push_events": False,
}


def hooked_world(sandbox: Sandbox, gl: Client, folder: Path, url: str, **extra: Any) -> World:
    def change(data: dict[str, Any]) -> None:
        data["webhooks"] = {"url": url, **extra}

    sandbox.allow_local_webhooks()
    return World(sandbox, gl, edit_config(folder / "config.yml", change))


def hooks_of(gl: Client, project: str) -> list[dict[str, Any]]:
    listed = gl("exception-bot").projects.get(project, lazy=True).hooks.list(get_all=True)
    return [dict(h.attributes) for h in listed]


def test_setup_registers_the_hooks_once_with_a_generated_secret_printed_once(
    sandbox: Sandbox, gl: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with Receiver() as receiver:
        world = hooked_world(sandbox, gl, tmp_path, receiver.url)
        planned = world.cli("setup")
        assert f"would {REQUESTS}: add a project webhook to {receiver.url}" in planned.output
        assert f"would {REGISTER}: add a project webhook to {receiver.url}" in planned.output
        assert hooks_of(gl, REQUESTS) == []
        applied = world.cli("setup", "--apply")
        assert applied.exit_code == 0, applied.output
        secret = applied.output.strip().splitlines()[-1]
        assert f"give it to serve in {ENV}" in applied.output
        assert len(secret) >= 32
        for project in (REQUESTS, REGISTER):
            (hook,) = hooks_of(gl, project)
            assert hook["url"] == receiver.url
            assert {k: hook[k] for k in SERVED} == SERVED
        again = world.cli("setup", "--apply")
        assert again.output.strip() == "nothing to do: GitLab is set up for this config"
        assert secret not in again.output
        assert world.cli("check-config", "--online").exit_code == 0
        # the hooks setup made deliver a tick with that secret
        iid = world.open("bob", "- [ ] Department head approval")
        world.tick("bob", iid, "Department head approval")
        got = receiver.wait_for(2)
    assert {r.headers["X-Gitlab-Token"] for r in got} == {secret}
    assert {r.event for r in got} == {"Confidential Issue Hook"}
    (ticked,) = [r for r in got if r.body["object_attributes"]["action"] == "update"]
    assert "description" in ticked.body["changes"]


def test_setup_uses_the_secret_in_the_variable_and_updates_a_hook_at_the_url(
    sandbox: Sandbox, gl: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "from-the-variable")
    with Receiver() as receiver:
        world = hooked_world(sandbox, gl, tmp_path, receiver.url)
        project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
        old = project.hooks.create({"url": receiver.url, "issues_events": True}).id
        other = project.hooks.create({"url": "https://elsewhere.example/h"}).id
        applied = world.cli("setup", "--apply", "--json")
        assert applied.exit_code == 0, applied.output
        output = json.loads(applied.output)
        assert "webhook_secret" not in output
        assert "from-the-variable" not in applied.output
        hooks = {h["id"]: h for h in hooks_of(gl, REQUESTS)}
        assert set(hooks) == {old, other}  # updated, not duplicated; the other left alone
        assert {k: hooks[old][k] for k in SERVED} == SERVED
        world.comment("bob", world.open("bob", "- [ ] Department head approval"), "hello")
        got = receiver.wait_for(2)
    assert {r.headers["X-Gitlab-Token"] for r in got} == {"from-the-variable"}
    assert sorted(r.event for r in got) == ["Confidential Issue Hook", "Confidential Note Hook"]


def test_setup_refuses_a_new_secret_beside_hooks_already_there(
    sandbox: Sandbox, gl: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    world = hooked_world(sandbox, gl, tmp_path, "https://bot.example/hooks")
    gl("exception-bot").projects.get(REQUESTS, lazy=True).hooks.create(
        {"url": "https://bot.example/hooks", **SERVED}
    )
    refused = world.cli("setup", "--apply")
    assert refused.exit_code == 2
    assert f"set {ENV} to the secret token of the webhooks already on GitLab" in refused.output
    assert hooks_of(gl, REGISTER) == []


def test_check_config_online_says_what_is_wrong_with_the_hooks(
    sandbox: Sandbox, gl: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "a-secret-of-the-tests")
    url = "https://bot.example/hooks"
    world = hooked_world(sandbox, gl, tmp_path, url)
    missing = world.cli("check-config", "--online")
    assert missing.exit_code == 2
    assert f"webhooks: no hook of '{REQUESTS}' posts to {url}: run exception-bot setup" in (
        missing.output
    )
    assert world.cli("setup", "--apply").exit_code == 0
    assert world.cli("check-config", "--online").exit_code == 0
    project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
    (hook,) = project.hooks.list()
    project.hooks.update(hook.id, {"url": "https://old.example/h", "note_events": False})
    moved = world.cli("check-config", "--online").output
    assert f"no hook of '{REQUESTS}' posts to {url} (its hooks post to https://old.example/h)" in (
        moved
    )
    project.hooks.update(hook.id, {"url": url})
    lacking = world.cli("check-config", "--online").output
    assert f"the hook of '{REQUESTS}' to {url} has note_events wrong" in lacking
    project.hooks.update(hook.id, {"url": url, "note_events": True})
    for _ in range(4):  # four failed deliveries in a row: GitLab backs off for a minute
        sandbox.store.hooks[hook.id].record(False, sandbox.store.now())
    stopped = world.cli("check-config", "--online").output
    assert "GitLab stopped calling the hook of" in stopped
    assert "temporarily_disabled" in stopped


def test_group_hooks_need_premium_and_an_owner(
    sandbox: Sandbox, gl: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "a-secret-of-the-tests")
    world = hooked_world(
        sandbox, gl, tmp_path, "https://bot.example/hooks", scope="group", group="security"
    )
    free = world.cli("setup", "--apply")
    assert free.exit_code == 2
    assert "on GitLab Premium (Free has no group hooks)" in free.output
    sandbox.edition("premium")
    bot = sandbox.store.user_named("exception-bot")
    assert bot is not None
    bot.admin = False  # the bot is no Owner of security
    assert world.cli("setup", "--apply").exit_code == 2
    sandbox.store.must_group("security").members[bot.id] = 50
    applied = world.cli("setup", "--apply")
    assert applied.exit_code == 0, applied.output
    (hook,) = gl("exception-bot").groups.get("security", lazy=True).hooks.list()
    assert hook.url == "https://bot.example/hooks"
    assert hooks_of(gl, REQUESTS) == []


def test_the_hooks_setup_registers_get_a_tick_to_serve_in_seconds(
    sandbox: Sandbox, gl: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole path of issue 24: setup --apply registers the hooks with the secret serve
    holds, GitLab (the sandbox) delivers an approver's tick, serve checks the token and labels
    the next stage, with no scheduled pass in between."""
    monkeypatch.setenv(ENV, SECRET)
    plain = World(sandbox, gl)
    iid = plain.open("bob", body("low_staging"))
    every = timedelta(hours=1)
    with service(sandbox, plain.config, lambda: plain.clock, every=every) as (svc, url):
        assert until(lambda: svc.worker.full_passes >= 1)
        assert plain.stage(iid) == "exception-stage::department-head"
        hooked = hooked_world(sandbox, gl, tmp_path, f"{url}/webhook")
        applied = hooked.cli("setup", "--apply")
        assert applied.exit_code == 0, applied.output
        assert SECRET not in applied.output
        plain.later(hours=1).tick("carol", iid, "Department head approval")
        assert until(lambda: plain.stage(iid) == "exception-stage::security-team")
        assert svc.worker.full_passes == 1  # the delivery's run, not the schedule
    ticks = [d for d in sandbox.deliveries if d.payload["object_attributes"].get("iid") == iid]
    assert ticks
    assert {d.status for d in ticks} == {202}
