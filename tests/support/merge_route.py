"""An exception file of the merge-request route, and the ways it reaches the register: pushed
straight to a branch, or by a merge request that people approve and a maintainer merges."""

from __future__ import annotations

from datetime import UTC, date, datetime

from exception_bot.domain.register import RegisterEntry, render_entry
from exception_bot.sandbox import Sandbox, merge_requests
from tests.e2e.world import REGISTER, World

PATH = "exceptions/EXC-0042-keep-tls.md"
# The high route of config/exception-bot.yml, each role by one of its holders (none is bob).
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


def merge_request(world: World, text: str, approvers: list[str], author: str = "bob") -> int:
    """Open a merge request adding the file, have ``approvers`` approve it, and merge it as
    the register's maintainer."""
    push(world, author, "add-exc-42", text)
    project = world.gl(author).projects.get(REGISTER)
    mr = project.mergerequests.create(
        {"source_branch": "add-exc-42", "target_branch": "main", "title": "Add EXC-0042"}
    )
    for name in approvers:
        world.gl(name).projects.get(REGISTER, lazy=True).mergerequests.get(mr.iid).approve()
    world.gl("sue").projects.get(REGISTER, lazy=True).mergerequests.get(mr.iid).merge()
    return int(mr.iid)


def merged(sandbox: Sandbox, action: str = "create", **changes: object) -> None:
    """The exception file as it lands in the register when its merge request, approved by
    the high route, is merged (``action="update"``: a later merge request that changes it)."""
    merge_approved(sandbox, PATH, exception_file(**changes), action)


def merge_approved(sandbox: Sandbox, path: str, content: str, action: str = "create") -> None:
    """Bob's merge request writing ``content`` to ``path``, approved by a holder of each role
    of the high route and merged by sue. Only a merged and approved merge request accounts
    for a file a person wrote (domain/provenance.py): a direct commit would be unverified."""
    store = sandbox.store
    project, bob, sue = store.project(REGISTER), store.user_named("bob"), store.user_named("sue")
    assert project is not None
    assert bob is not None
    assert sue is not None
    branch = f"exception-{len(project.merge_requests) + 1}"
    commit: dict[str, object] = {"action": action, "file_path": path, "content": content}
    title = f"{action.capitalize()} an exception file"
    store.commit(project, bob, branch, title, [commit], start_branch="main")
    mr = merge_requests.open_merge_request(store, project, bob, branch, "main", title)
    for name in HIGH_APPROVERS:
        approver = store.user_named(name)
        assert approver is not None
        merge_requests.approve(store, mr, approver)
    merge_requests.merge(store, project, mr, sue)
