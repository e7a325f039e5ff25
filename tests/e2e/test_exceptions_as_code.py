"""Issue 8 end to end: the merge-request route against the sandbox."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from exception_bot.domain.register import RegisterEntry, render_entry
from exception_bot.sandbox import Sandbox
from tests.e2e.world import REGISTER, World

PATH = "exceptions/EXC-0042-keep-tls.md"


def exception_file(**changes: object) -> str:
    fields: dict[str, object] = {
        "id": "EXC-0042",
        "title": "Keep TLS 1.1",
        "status": "approved",
        "risk_level": "high",
        "department": "finance",
        "policy": "encryption",
        "environment": "staging",
        "requester": "bob",
        "source": "merge request",
        "requested_at": datetime(2026, 11, 20, tzinfo=UTC),
        "expires_at": date(2027, 1, 15),
    }
    fields.update(changes)
    return render_entry(RegisterEntry(**fields))  # type: ignore[arg-type]


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
