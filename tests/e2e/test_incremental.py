"""With a state file (docs/reference/config.md, `state_file`), unchanged issues cost no request
beyond the list."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import gitlab
import pytest

from exception_bot.sandbox import Sandbox
from tests.e2e.world import REGISTER, REQUESTS, World, edit_config
from tests.requests import body, set_field
from tests.support.merge_route import PATH, merged
from tests.support.stories import ACTIVATION, ROUTE, activate, stateful

LOW = body("low_staging")
TREE = "GET /projects/:id/repository/tree"
BRANCH = "GET /projects/:id/repository/branches/:name"


def test_unchanged_issues_are_skipped_until_they_change(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    world = stateful(sandbox, gl, tmp_path)
    iids = [world.open("bob", LOW) for _ in range(5)]
    first = world.run()
    assert first.summary["changed"] == 5
    world.later(minutes=10).run()  # the bot's own writes moved updated_at: read once more
    sandbox.clear_log()
    quiet = world.later(minutes=10).run()
    assert (quiet.summary["skipped"], quiet.summary["changed"]) == (5, 0)
    reads = [r.endpoint for r in sandbox.requests]
    assert not any("/notes" in e or "resource_label_events" in e for e in reads)
    assert "GET /groups/:id/members/all" not in reads  # nothing to decide: no group is read
    assert quiet.summary["api_requests"] <= 10
    world.later(hours=1).tick("carol", iids[2], "Department head approval")
    moved = world.later(minutes=10).run()
    assert (moved.summary["skipped"], moved.summary["changed"]) == (4, 1)
    assert world.stage(iids[2]) == "exception-stage::security-team"
    assert "GET /groups/:id/members/all" in {r.endpoint for r in sandbox.requests}


def test_a_deadline_wakes_an_unchanged_issue(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    world = stateful(sandbox, gl, tmp_path)
    iid = world.open("bob", set_field(LOW, "Risk level", "Critical"))  # 4-hour review
    world.run()
    world.later(minutes=10).run()
    assert world.later(minutes=10).run().summary["skipped"] == 1
    world.later(hours=4).run()
    assert len(world.bot_comments(iid, "sla")) == 1


def test_a_corrupt_state_file_costs_a_cold_run_not_a_wrong_decision(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    world = stateful(sandbox, gl, tmp_path)
    iid = world.open("bob", LOW)
    world.run()
    world.later(minutes=10).run()
    (tmp_path / "state" / "exception-bot.json").write_text("{not json")
    world.later(hours=1).tick("carol", iid, "Department head approval")
    result = world.later(minutes=10).run()
    assert result.exit_code == 0
    assert result.summary["skipped"] == 0
    assert world.stage(iid) == "exception-stage::security-team"
    assert len(world.bot_comments(iid, "status")) == 1


def test_a_renewal_becoming_active_ends_its_original_at_the_next_run(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """The original's decision reads its renewal, and the renewal's writes do not move the
    original's updated_at: the state file follows the renewal for it. With the project named
    by its id in the config, as links name it by its path."""
    project = sandbox.store.project(REQUESTS)
    assert project is not None
    world = stateful(sandbox, gl, tmp_path, requests_project=project.id)
    original = world.open("bob", LOW)
    activate(world, original)
    renewal = world.open("bob", set_field(body("renewal"), "Renews", f"#{original}"))
    world.run()
    world.later(minutes=10).run()
    world.later(minutes=10).run()
    assert world.later(minutes=10).run().summary["skipped"] == 2
    world.approve(renewal, ROUTE)
    world.later(hours=1).tick("bob", renewal, ACTIVATION)
    world.later(minutes=10).run()
    assert world.state(renewal) == "exception::active"
    assert world.state(original) == "exception::active"  # read before the renewal's run
    world.later(minutes=10).run()
    assert world.state(original) == "exception::renewed"


def test_a_changed_config_reads_every_issue_again(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """Wake-up times come from the config's rules: a shorter review time must count from the
    next run, not from when each issue's old wake-up time comes."""
    world = stateful(sandbox, gl, tmp_path)
    iid = world.open("bob", LOW)  # 5 business days to review
    world.run()
    world.later(minutes=10).run()
    assert world.later(minutes=10).run().summary["skipped"] == 1
    edit_config(world.config, lambda data: data["review_sla"].update(low="1h"), world.config)
    result = world.later(hours=1).run()
    assert result.summary["skipped"] == 0
    assert len(world.bot_comments(iid, "sla")) == 1  # the new deadline has passed
    world.later(minutes=10).run()  # the bot's own writes: read once more
    assert world.later(minutes=10).run().summary["skipped"] == 1  # the new config is kept


def test_a_rate_limited_run_waits_and_finishes(
    world: World, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        world.open("bob", LOW)
    sandbox.rate_limit(25, window_seconds=2.0)
    result = world.run()
    assert result.exit_code == 0
    assert result.summary["changed"] == 3
    statuses = [r.status for r in sandbox.requests if r.username == "exception-bot"]
    assert 429 in statuses  # GitLab said "retry later"; the bot waited for Retry-After
    assert world.later(minutes=10).run().summary["failed"] == 0


def endpoints(sandbox: Sandbox) -> list[str]:
    return [r.endpoint for r in sandbox.requests]


def test_an_unmoved_register_branch_is_not_listed_again(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    world = stateful(sandbox, gl, tmp_path)
    merged(sandbox, expires_at=date(2026, 12, 10))  # came by merge request: 17 days left
    world.run()  # indexes the file: a commit
    world.later(minutes=10).run()  # lists the moved branch once more
    sandbox.clear_log()
    quiet = world.later(minutes=10).run()
    assert quiet.exit_code == 0
    assert TREE not in endpoints(sandbox)
    assert BRANCH in endpoints(sandbox)
    assert not [e for e in endpoints(sandbox) if "/repository/files" in e]
    # The reminders still go by today's date, from the files the earlier run read.
    world.later(days=4).run()  # Friday 27 Nov: 13 days left
    requests = sandbox.store.project("security/exceptions")
    assert requests is not None
    (reminder,) = requests.issues.values()
    assert reminder.title == "Exception EXC-0042 expires on 2026-12-10"
    assert TREE not in endpoints(sandbox)  # still the same branch head


def test_a_commit_to_the_register_branch_lists_it_again(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    world = stateful(sandbox, gl, tmp_path)
    world.run()
    world.later(minutes=10).run()
    merged(sandbox)  # a person merges an exception file
    sandbox.clear_log()
    world.later(minutes=10).run()
    assert TREE in endpoints(sandbox)
    index = json.loads(sandbox.file(REGISTER, "register.json") or "[]")
    assert [(r["id"], r["path"]) for r in index] == [("EXC-0042", PATH)]


def test_a_state_file_without_a_usable_register_lists_it(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    world = stateful(sandbox, gl, tmp_path)
    merged(sandbox)
    world.run()
    world.later(minutes=10).run()
    state_file = tmp_path / "state" / "exception-bot.json"
    saved = json.loads(state_file.read_text())
    assert saved["register"]["files"] == {PATH: sandbox.file(REGISTER, PATH)}
    for damaged in (
        {**saved, "register": None},
        {**saved, "register": {"commit": "y", "files": {PATH: 42}}},
        {**saved, "source": json.dumps(["0.0.1", "another config"])},
    ):
        state_file.write_text(json.dumps(damaged))
        sandbox.clear_log()
        assert world.later(minutes=10).run().exit_code == 0
        assert TREE in endpoints(sandbox)


def test_a_failed_watch_keeps_what_the_issues_taught(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    world = stateful(sandbox, gl, tmp_path)
    for _ in range(2):
        world.open("bob", LOW)
    world.run()  # acts on both: read again next run
    sandbox.fault("GET", r"/repository/branches/main$", status=403, times=2)
    failed = world.later(minutes=10).run()  # nothing to do for the issues; the watch fails
    assert failed.exit_code == 1
    assert "register watch: failed: watching security/exception-register: 403" in failed.output
    assert failed.summary["failed"] == 0
    report = world.cli("report", "--now", world.clock.isoformat())
    assert report.exit_code == 1
    assert "error: no report: watching security/exception-register" in report.output
    sandbox.clear_log()
    quiet = world.later(minutes=10).run()
    assert (quiet.exit_code, quiet.summary["skipped"]) == (0, 2)
    assert TREE in endpoints(sandbox)  # the failed run saved no register: it is listed again


def test_a_run_whose_watch_failed_leaves_the_weekly_report_to_the_next(
    world: World, sandbox: Sandbox
) -> None:
    register = sandbox.store.project(REGISTER)
    assert register is not None
    merged(sandbox)  # an exception the report must list, known only to the watch
    world.open("bob", LOW)
    sandbox.fault("GET", r"/repository/branches/main$", status=403)
    assert world.run().exit_code == 1
    assert not register.issues  # a report without EXC-0042 would be wrong
    assert world.later(minutes=10).run().exit_code == 0
    (report,) = register.issues.values()
    assert report.title == "Exception report 2026-W48"
    assert "EXC-0042" in report.description
