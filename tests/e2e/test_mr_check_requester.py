"""mr-check sets aside the approval of the person the exception file names as requester, as
it does the merge request's author's (issue 20, point 2)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from exception_bot.domain.register import RegisterEntry, render_entry
from tests.e2e.world import REGISTER, World

PATH = "exceptions/EXC-0042-keep-tls.md"
# The high route of config/exception-bot.yml, each role by one of its holders.
HIGH_APPROVERS = ["carol", "frank", "mia", "erin", "sue"]


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


def push(world: World, user: str, branch: str, text: str, path: str = PATH) -> None:
    """A commit by ``user`` (the Commits API, as a push would land it) on ``branch``."""
    project = world.gl(user).projects.get(REGISTER)
    exists = world.sandbox.file(REGISTER, path) is not None and branch == "main"
    action = "update" if exists else "create"
    data = {
        "branch": branch,
        "commit_message": f"{action} {path}",
        "actions": [{"action": action, "file_path": path, "content": text}],
    }
    if branch != "main":
        data["start_branch"] = "main"
    project.commits.create(data)


def test_mr_check_refuses_the_requesters_own_approval(world: World) -> None:
    # frank is the Security Lead, and the requester named in the file: his approval is his own.
    text = exception_file(requester="frank")
    push(world, "bob", "add-exc-42", text)
    project = world.gl("bob").projects.get(REGISTER)
    mr = project.mergerequests.create(
        {"source_branch": "add-exc-42", "target_branch": "main", "title": "Add EXC-0042"}
    )
    for name in HIGH_APPROVERS:
        world.gl(name).projects.get(REGISTER, lazy=True).mergerequests.get(mr.iid).approve()
    result = world.cli("mr-check", "--project", REGISTER, "--mr", str(mr.iid))
    assert result.exit_code == 1, result.output
    assert "missing approval from Security Lead" in result.output
