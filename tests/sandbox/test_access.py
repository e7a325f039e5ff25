"""GitLab's permissions on the register and its merge requests, labels, members and groups
(exception_bot/sandbox/access.py, read from gitlabhq app/policies/project_policy.rb,
merge_request_policy.rb, group_policy.rb and lib/api)."""

from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest

from exception_bot.sandbox import Sandbox
from exception_bot.sandbox.seed import LEVELS

Client = Callable[[str], gitlab.Gitlab]
REQUESTS, REGISTER = "security/exceptions", "security/exception-register"


def member(sandbox: Sandbox, username: str, role: str, project: str = REGISTER) -> str:
    found, user = sandbox.store.project(project), sandbox.store.user_named(username)
    assert found is not None
    assert user is not None
    found.members[user.id] = LEVELS[role]
    return username


def commit(gl: Client, user: str, branch: str, path: str = "exceptions/a.md") -> None:
    data: dict[str, object] = {
        "branch": branch,
        "commit_message": f"add {path}",
        "actions": [{"action": "create", "file_path": path, "content": "a\n"}],
    }
    if branch != "main":
        data["start_branch"] = "main"
    gl(user).projects.get(REGISTER, lazy=True).commits.create(data)


def status(call: Callable[[], object]) -> int:
    with pytest.raises(gitlab.GitlabError) as err:
        call()
    assert err.value.response_code is not None
    return err.value.response_code


def test_a_guest_cannot_read_the_registers_code(sandbox: Sandbox, gl: Client) -> None:
    register = gl(member(sandbox, "tom", "guest")).projects.get(REGISTER)  # read_project
    assert status(lambda: register.files.get(file_path="README.md", ref="main")) == 403
    assert status(lambda: register.repository_tree(ref="main", get_all=True)) == 403
    assert status(lambda: register.commits.list(get_all=True)) == 403
    assert status(lambda: register.branches.get("main")) == 403
    assert status(lambda: register.mergerequests.list(get_all=True)) == 403


def test_a_non_member_does_not_see_the_private_register(gl: Client) -> None:
    assert status(lambda: gl("tom").projects.get(REGISTER)) == 404
    assert status(lambda: gl("tom").projects.get(REGISTER, lazy=True).members_all.list()) == 404
    assert status(lambda: gl("tom").projects.get(REGISTER, lazy=True).labels.list()) == 404


def test_a_reporter_reads_but_cannot_commit_branch_or_open_a_merge_request(
    sandbox: Sandbox, gl: Client
) -> None:
    register = gl(member(sandbox, "tom", "reporter")).projects.get(REGISTER, lazy=True)
    assert "Exception register" in register.files.raw(file_path="README.md", ref="main").decode()
    refused = status(lambda: commit(gl, "tom", "exc-1"))
    assert refused == 403
    with pytest.raises(gitlab.GitlabCreateError) as err:
        commit(gl, "tom", "main")
    assert "You are not allowed to push into this branch" in str(err.value.error_message)
    assert status(lambda: register.branches.create({"branch": "x", "ref": "main"})) == 403
    assert register.branches.get("main").can_push is False
    commit(gl, "bob", "exc-1")  # a Maintainer's branch
    opened = {"source_branch": "exc-1", "target_branch": "main", "title": "Add"}
    assert status(lambda: register.mergerequests.create(opened)) == 403


def test_a_developer_works_on_branches_but_main_is_protected(sandbox: Sandbox, gl: Client) -> None:
    dev = member(sandbox, "tom", "developer")
    register = gl(dev).projects.get(REGISTER, lazy=True)
    assert status(lambda: commit(gl, dev, "main")) == 403  # the default branch is protected
    assert register.branches.get("main").can_push is False
    commit(gl, dev, "exc-1")
    assert register.branches.get("exc-1").can_push is True
    mr = register.mergerequests.create(
        {"source_branch": "exc-1", "target_branch": "main", "title": "Add"}
    )
    assert status(lambda: register.mergerequests.get(mr.iid).merge()) == 401  # not Maintainer
    gl("sue").projects.get(REGISTER, lazy=True).mergerequests.get(mr.iid).merge()  # Maintainer
    assert sandbox.file(REGISTER, "exceptions/a.md") == "a\n"


def test_approving_needs_update_merge_request(sandbox: Sandbox, gl: Client) -> None:
    commit(gl, "bob", "exc-1")
    mr = (
        gl("bob")
        .projects.get(REGISTER, lazy=True)
        .mergerequests.create({"source_branch": "exc-1", "target_branch": "main", "title": "A"})
    )
    reporter = gl(member(sandbox, "tom", "reporter")).projects.get(REGISTER, lazy=True)
    seen = reporter.mergerequests.get(mr.iid)  # read_merge_request: Reporter
    assert seen.approvals.get().user_can_approve is False
    assert status(lambda: seen.approve()) == 403
    carol = gl("carol").projects.get(REGISTER, lazy=True).mergerequests.get(mr.iid)  # Developer
    assert carol.approvals.get().user_can_approve is True
    carol.approve()
    guest = gl(member(sandbox, "tom", "guest")).projects.get(REGISTER, lazy=True)
    assert status(lambda: guest.mergerequests.get(mr.iid)) == 404


def test_labels_are_read_by_members_and_made_by_reporters(sandbox: Sandbox, gl: Client) -> None:
    new = {"name": "x", "color": "#000000"}
    sandbox.load({"users": ["nora"]})
    guest = gl(member(sandbox, "nora", "guest", REQUESTS))
    labels = guest.projects.get(REQUESTS, lazy=True).labels
    assert "ExceptionRequest" in {lb.name for lb in labels.list(get_all=True)}
    assert status(lambda: labels.create(new)) == 403
    assert status(lambda: labels.update("ExceptionRequest", {"color": "#111111"})) == 403
    gl("bob").projects.get(REQUESTS, lazy=True).labels.create(new)  # a Reporter
    assert status(lambda: gl("bob").groups.get("security", lazy=True).labels.create(new)) == 403
    gl("victor").groups.get("security", lazy=True).labels.create(new)  # Developer of the group


def test_groups_are_hidden_from_who_has_nothing_in_them(gl: Client) -> None:
    assert status(lambda: gl("bob").groups.get("legal")) == 404
    assert status(lambda: gl("bob").groups.get("legal", lazy=True).members_all.list()) == 404
    assert gl("lee").groups.get("legal").full_path == "legal"  # a member
    # has_projects: a member of a project of the group may read the group
    assert gl("bob").groups.get("security").full_path == "security"


def test_an_internal_project_shows_its_code_to_everyone_signed_in(
    sandbox: Sandbox, gl: Client
) -> None:
    found = sandbox.store.project(REGISTER)
    assert found is not None
    found.visibility = "internal"
    register = gl("tom").projects.get(REGISTER, lazy=True)  # public_access, no member
    assert register.files.get(file_path="README.md", ref="main").file_name == "README.md"
    assert status(lambda: commit(gl, "tom", "exc-1")) == 403


def test_an_internal_group_shows_itself_to_everyone_signed_in(sandbox: Sandbox, gl: Client) -> None:
    legal = sandbox.store.group("legal")
    assert legal is not None
    legal.visibility = "internal"
    assert gl("bob").groups.get("legal").visibility == "internal"
    assert [m.username for m in gl("bob").groups.get("legal").members_all.list()] == ["lee"]
