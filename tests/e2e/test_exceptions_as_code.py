"""Exceptions as code end to end (docs/explanation/exceptions-as-code.md): the merge-request route
against the sandbox."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest

from exception_bot.sandbox import Sandbox
from tests.e2e.world import REGISTER, World, writes_besides_the_lock
from tests.requests import body
from tests.support.merge_route import PATH, exception_file, merged


def open_merge_request(sandbox: Sandbox, approved_by: list[str]) -> None:
    store = sandbox.store
    project, bob = store.project(REGISTER), store.user_named("bob")
    assert project is not None
    assert bob is not None
    action: dict[str, object] = {"action": "create", "file_path": PATH, "content": exception_file()}
    store.commit(project, bob, "add-exc-42", "Add EXC-0042", [action], start_branch="main")
    sandbox.load(
        {
            "projects": [
                {
                    "path": REGISTER,
                    "merge_requests": [
                        {
                            "author": "bob",
                            "title": "Add EXC-0042",
                            "source_branch": "add-exc-42",
                            "changes": [{"new_path": PATH, "new_file": True}],
                            "approved_by": approved_by,
                        }
                    ],
                }
            ]
        }
    )


def test_mr_check_names_the_missing_role_until_it_approves(world: World, sandbox: Sandbox) -> None:
    open_merge_request(sandbox, ["bob", "carol", "frank", "erin", "sue"])
    first = world.cli("mr-check", "--project", REGISTER, "--mr", "1")
    assert first.exit_code == 1
    assert (
        "EXC-0042 (exceptions/EXC-0042-keep-tls.md): missing approval from Engineering Manager"
        in (first.output)
    )
    project = sandbox.store.project(REGISTER)
    mia = sandbox.store.user_named("mia")
    assert project is not None
    assert mia is not None
    project.merge_requests[1].approved_by.append(mia.id)
    second = world.cli("mr-check", "--project", REGISTER, "--mr", "1")
    assert second.exit_code == 0, second.output
    assert "approved (Department Head: carol, Security Lead: frank" in second.output


def test_mr_check_reads_the_pipeline_variables(
    world: World, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_merge_request(sandbox, [])
    monkeypatch.setenv("CI_PROJECT_ID", REGISTER)
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "1")
    result = world.cli("mr-check")
    assert result.exit_code == 1
    assert "missing approval from Department Head, Security Lead" in result.output


def test_an_expired_file_gets_one_reminder_issue_not_two(world: World, sandbox: Sandbox) -> None:
    merged(sandbox, expires_at=date(2026, 11, 30))
    world.run()  # Monday 23 Nov: 7 days left
    world.later(days=1).run()
    world.at(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)).run()  # expired
    world.later(hours=3).run()
    requests = sandbox.store.project("security/exceptions")
    assert requests is not None
    (issue,) = requests.issues.values()
    assert issue.title == "Exception EXC-0042 expires on 2026-11-30"
    assert [sandbox.store.users[i].username for i in issue.assignee_ids] == ["bob"]
    comments = [n.body for n in issue.notes if not n.system]
    assert len(comments) == 2
    assert "(7 days left)" in comments[0]
    assert "`EXC-0042` expired on 2026-11-30" in comments[1]


def test_both_routes_end_in_the_same_register(world: World, sandbox: Sandbox) -> None:
    merged(sandbox)
    world.run()
    index = json.loads(sandbox.file(REGISTER, "register.json") or "[]")
    assert [(r["id"], r["path"]) for r in index] == [("EXC-0042", PATH)]
    assert "[`EXC-0042`](exceptions/EXC-0042-keep-tls.md)" in (
        sandbox.file(REGISTER, "REGISTER.md") or ""
    )
    exported = world.cli("register export", "--format", "csv").output
    assert "EXC-0042,Keep TLS 1.1,approved,high" in exported
    report = world.cli("report", "--now", world.clock.isoformat()).output
    in_force = report[report.index("## Exceptions in force") : report.index("## Expiring")]
    assert "EXC-0042" in in_force
    sandbox.clear_log()
    world.later(hours=1).run()
    writes = writes_besides_the_lock(sandbox)
    assert not [w for w in writes if "repository" in w.path]  # indexed once


def test_a_file_with_a_date_that_does_not_exist_does_not_stop_the_run(
    world: World, sandbox: Sandbox
) -> None:
    store = sandbox.store
    project, bob = store.project(REGISTER), store.user_named("bob")
    assert project is not None
    assert bob is not None
    text = re.sub(r"expires_at: .*", "expires_at: 2027-02-30", exception_file())
    action: dict[str, object] = {"action": "create", "file_path": PATH, "content": text}
    store.commit(project, bob, "main", "Merge 'Add EXC-0042'", [action])
    world.open("bob", body("low_staging"))
    result = world.run()
    assert result.exit_code == 0, result.output
    assert result.summary["changed"] == 1
    register = sandbox.store.project(REGISTER)
    assert register is not None
    # A file no one can read is no exception in force: listed unverified, with its alert.
    assert sorted(i.title for i in register.issues.values()) == [
        "Exception report 2026-W48",
        "Unverified register file: exceptions_EXC-0042-keep-tls.md",
    ]
