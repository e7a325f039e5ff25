"""End to end (docs/tutorial/your-gitlab.md): setup against the sandbox, the daemon, connection
safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import gitlab

from exception_bot.config import load_config
from exception_bot.gitlab import GitLab
from exception_bot.runner import run_once
from exception_bot.sandbox import Sandbox
from exception_bot.setup import TEMPLATES_DIR
from tests.e2e.world import CONFIG, REGISTER, REQUESTS, World, edit_config
from tests.requests import body, set_field
from tests.support.stories import activate


def test_setup_plans_applies_and_then_has_nothing_to_do(world: World, sandbox: Sandbox) -> None:
    sandbox.clear_log()
    planned = world.cli("setup")
    assert planned.exit_code == 0, planned.output
    # A stage label: the seed may already hold the state labels, never the stage ones.
    stage = 'would security/exceptions: create label ~"exception-stage::ciso+vp-engineering"'
    assert stage in planned.output
    assert f"would {REGISTER}@main: commit REGISTER.md, register.json" in planned.output
    assert sandbox.writes() == []
    applied = world.cli("setup", "--apply")
    assert applied.exit_code == 0, applied.output
    project = sandbox.store.project(REQUESTS)
    assert project is not None
    labels = project.labels
    assert labels["exception-stage::ciso+vp-engineering"].color == "#6b7280"
    assert labels["exception-action::appeal"].description is not None
    assert "the requester, on a rejected request" in labels["exception-action::appeal"].description
    templates = sandbox.files(REQUESTS)
    assert set(templates) == {
        f"{TEMPLATES_DIR}/Exception Request.md",
        f"{TEMPLATES_DIR}/Exception Renewal.md",
    }
    assert sandbox.file(REGISTER, "register.json") == "[]\n"
    assert "README.md" in sandbox.files(REGISTER)  # the seed's README is kept
    sandbox.clear_log()
    again = world.cli("setup", "--apply")
    assert again.output.strip() == "nothing to do: GitLab is set up for this config"
    assert sandbox.writes() == []


def test_setup_repairs_a_changed_label_and_template(world: World, sandbox: Sandbox) -> None:
    world.cli("setup", "--apply")
    project = sandbox.store.project(REQUESTS)
    assert project is not None
    project.labels["exception::approved"].color = "#000000"
    planned = world.cli("setup").output
    assert 'update label ~"exception::approved"' in planned
    assert "commit" not in planned


def test_check_config_online_finds_what_gitlab_lacks(world: World, sandbox: Sandbox) -> None:
    ok = world.cli("check-config", "--online")
    assert ok.exit_code == 0, ok.output
    project = sandbox.store.project(REGISTER)
    bot = sandbox.store.user_named("exception-bot")
    assert project is not None
    assert bot is not None
    project.members[bot.id] = 20  # Reporter: cannot commit to the register
    del sandbox.store.groups[sandbox.store.must_group("legal").id]
    judy = sandbox.store.user_named("judy")
    assert judy is not None
    del sandbox.store.users[judy.id]  # GitLab deletes her memberships with her
    for held in sandbox.store.projects.values():
        held.members.pop(judy.id, None)
    bad = world.cli("check-config", "--online")
    assert bad.exit_code == 2
    assert "@exception-bot needs the Developer (Maintainer if protected) role in" in bad.output
    assert "roles.legal.group: group 'legal' does not exist on GitLab" in bad.output
    assert "roles.cfo: user 'judy' does not exist on GitLab" in bad.output


def test_check_config_online_names_approvers_who_cannot_read_requests(
    world: World, sandbox: Sandbox
) -> None:
    """Requests are confidential: a role holder without Reporter (Planner) in the requests
    project could neither see nor tick them on GitLab (app/policies/issue_policy.rb)."""
    store = sandbox.store
    project, alice, mia = (
        store.project(REQUESTS),
        store.user_named("alice"),
        store.user_named("mia"),
    )
    assert project is not None
    assert alice is not None
    assert mia is not None
    del project.members[alice.id]  # the head of engineering, named in by_department
    project.members[mia.id] = 10  # a Guest: the managers group's engineering_manager
    world.sandbox.load({"users": ["mona"], "groups": [{"path": "legal", "members": {"mona": 40}}]})
    result = world.cli("check-config", "--online")
    assert result.exit_code == 2
    blind = [line for line in result.output.splitlines() if "cannot read the confidential" in line]
    assert blind == [
        f"error: roles.{role}: {who} cannot read the confidential requests in '{REQUESTS}': "
        "make them Reporters of it (Manage > Members)"
        for role, who in [
            ("department_head", "@alice"),
            ("engineering_manager", "@alice, @mia"),  # alice owns its parent group
            ("legal", "@mona"),
        ]
    ]


def test_the_token_is_never_printed(world: World, sandbox: Sandbox) -> None:
    world.open("bob", "## Summary\n\nx\n")
    result = world.run("--verbose")
    assert sandbox.token("exception-bot") not in result.output


def test_the_daemon_runs_each_interval_and_stops_on_sigterm(
    world: World, sandbox: Sandbox, tmp_path: Path
) -> None:
    world.open("bob", "## Summary\n\nx\n")
    env = {
        **os.environ,
        "GITLAB_URL": sandbox.url,
        "GITLAB_TOKEN": sandbox.token("exception-bot"),
        "PYTHONUNBUFFERED": "1",
    }
    out = tmp_path / "daemon.log"
    with out.open("w") as log:
        daemon = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [
                sys.executable,
                "-m",
                "exception_bot",
                "daemon",
                "--every",
                "1s",
                "--config",
                str(CONFIG),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while out.read_text().count("processed=") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    text = out.read_text()
    assert text.count("processed=1") >= 2
    assert text.rstrip().endswith("exception-bot daemon: stopped")


def test_run_reports_progress_issue_by_issue(world: World, sandbox: Sandbox) -> None:
    for _ in range(3):
        world.open("bob", "## Summary\n\nx\n")
    seen: list[tuple[int, int, str]] = []
    gitlab = GitLab.connect(sandbox.url, sandbox.token("exception-bot"))
    run_once(
        gitlab,
        load_config(CONFIG),
        world.clock,
        dry_run=True,
        progress=lambda done, total, result: seen.append((done, total, result.issue)),
    )
    assert seen == [(n, 3, f"security/exceptions#{n}") for n in (1, 2, 3)]


def test_a_group_gitlab_cannot_show_fails_the_requests_that_need_it(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    # Groups are read when a decision first needs them; one that cannot be read is named in
    # the error of each request that needs it, and read once.
    config = edit_config(
        tmp_path / "config.yml",
        lambda data: data["roles"].update(security_team={"group": "security/nobody"}),
    )
    world = World(sandbox, gl, config)
    world.open("bob", body("low_staging"))
    world.open("bob", body("low_staging"))
    sandbox.clear_log()
    result = world.run()
    assert result.exit_code == 1
    assert result.output.count("cannot read the members of group 'security/nobody'") == 2
    groups = [r.path for r in sandbox.requests if r.endpoint == "GET /groups/:id/members/all"]
    assert [path for path in groups if "nobody" in path] == [groups[0]]  # read once
    register = sandbox.store.project(REGISTER)
    assert register is not None
    (report,) = register.issues.values()  # the week's first run posts the report
    assert (
        "**Not counted:** the bot could not process security/exceptions#1, security/exceptions#2"
        in report.description
    )


def test_a_requests_project_gitlab_refuses_is_an_error_that_says_what_to_check(
    world: World, sandbox: Sandbox
) -> None:
    sandbox.fault("GET", r"/projects/[^/]+/issues$", status=403)
    result = world.run()
    assert result.exit_code == 1
    assert (
        "error: cannot list the open requests of security/exceptions (GitLab answered 403: "
        "403 injected): check the project path, and that the bot's user has Reporter there"
    ) in result.output


def test_a_requests_project_named_by_its_id_works_like_one_named_by_its_path(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """GitLab names projects by path in links and URLs: a renewal must recognise its link, and
    the register watch an issue-route exception's source, with the project given by its id."""
    project = sandbox.store.project(REQUESTS)
    assert project is not None
    config = edit_config(
        tmp_path / "config.yml", lambda data: data["gitlab"].update(requests_project=project.id)
    )
    world = World(sandbox, gl, config)
    original = world.open("bob", body("low_staging"))
    activate(world, original)
    renewal = world.open("bob", set_field(body("renewal"), "Renews", f"#{original}"))
    assert world.run().summary["failed"] == 0
    assert world.later(minutes=10).run().summary["failed"] == 0  # it was linked once
    world.at(datetime(2027, 1, 2, 9, tzinfo=UTC)).run()  # 13 days before the original expires
    titles = [issue.title for issue in project.issues.values()]
    assert titles == ["Exception request", "Exception request"]  # no reminder issue besides
    assert len(world.bot_comments(original, "expiry")) == 1  # the issue route's own
    assert world.state(renewal) == "exception::in-review"
