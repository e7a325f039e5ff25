"""Merge requests on the register: branch, commit, open, diff, approve, merge."""

from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest
from gitlab.v4.objects import Project

from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
REGISTER = "security/exception-register"


def on_branch(register: Project, branch: str, path: str, content: str) -> None:
    register.commits.create(
        {
            "branch": branch,
            "start_branch": "main",
            "commit_message": f"Add {path}",
            "actions": [{"action": "create", "file_path": path, "content": content}],
        }
    )


def test_open_diff_approve_and_merge(sandbox: Sandbox, gl: Client) -> None:
    register = gl("bob").projects.get(REGISTER)
    on_branch(register, "exc-42", "exceptions/EXC-0042.yml", "id: EXC-0042\nrisk: low\n")
    mr = register.mergerequests.create(
        {"source_branch": "exc-42", "target_branch": "main", "title": "Add EXC-0042"}
    )
    (change,) = register.mergerequests.get(mr.iid).changes()["changes"]  # type: ignore[index]
    assert (change["new_path"], change["new_file"]) == ("exceptions/EXC-0042.yml", True)
    assert "+risk: low" in change["diff"]
    with pytest.raises(gitlab.GitlabCreateError):  # one open merge request per branch pair
        register.mergerequests.create(
            {"source_branch": "exc-42", "target_branch": "main", "title": "again"}
        )
    approver = gl("sue").projects.get(REGISTER, lazy=True).mergerequests.get(mr.iid, lazy=True)
    approver.approve()
    with pytest.raises(gitlab.GitlabAuthenticationError):
        approver.approve()  # approving twice answers 401
    approvals = register.mergerequests.get(mr.iid).approvals.get()
    assert [a["user"]["username"] for a in approvals.approved_by] == ["sue"]
    assert (approvals.approved, approvals.user_has_approved) == (True, False)
    register.mergerequests.get(mr.iid).merge()
    merged = register.mergerequests.get(mr.iid)
    assert (merged.state, merged.merged_by["username"]) == ("merged", "bob")
    assert sandbox.file(REGISTER, "exceptions/EXC-0042.yml") == "id: EXC-0042\nrisk: low\n"
    head = register.commits.get("main")
    assert head.title == "Merge branch 'exc-42' into 'main'"
    assert len(head.parent_ids) == 2
    assert register.mergerequests.list(state="merged", get_all=True)[0].iid == mr.iid


def test_a_conflicting_merge_is_refused(sandbox: Sandbox, gl: Client) -> None:
    register = gl("bob").projects.get(REGISTER)
    on_branch(register, "edit", "register.json", "[1]\n")
    mr = register.mergerequests.create(
        {"source_branch": "edit", "target_branch": "main", "title": "Edit"}
    )
    on_branch(register, "main", "register.json", "[2]\n")  # the target moved meanwhile
    with pytest.raises(gitlab.GitlabMRClosedError) as err:
        register.mergerequests.get(mr.iid).merge()
    assert err.value.response_code == 406
    assert sandbox.file(REGISTER, "register.json") == "[2]\n"


def test_branches_create_and_delete(gl: Client) -> None:
    register = gl("exception-bot").projects.get(REGISTER, lazy=True)
    made = register.branches.create({"branch": "feature", "ref": "main"})
    assert made.commit["id"] == register.branches.get("main").commit["id"]
    register.branches.delete("feature")
    assert [b.name for b in register.branches.list(get_all=True)] == ["main"]
    with pytest.raises(gitlab.GitlabDeleteError):
        register.branches.delete("main")
