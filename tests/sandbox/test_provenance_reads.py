"""The reads register provenance rests on (domain/provenance.py), as GitLab answers them: the
merge requests of a commit, when each approval was given, a merge request's merge commit,
blob ids in the tree, and the committer e-mail of the token's user."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import gitlab
import pytest

from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
REGISTER = "security/exception-register"
PATH = "exceptions/EXC-0042.md"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def commit(gl: Client, user: str, branch: str, content: str, action: str = "create") -> str:
    data: dict[str, object] = {
        "branch": branch,
        "commit_message": f"{action} {PATH}",
        "actions": [{"action": action, "file_path": PATH, "content": content}],
    }
    if branch != "main":
        data["start_branch"] = "main"
    made = gl(user).projects.get(REGISTER, lazy=True).commits.create(data)
    return str(made.id)


def related(gl: Client, sha: str) -> list[int]:
    found = gl("bob").projects.get(REGISTER, lazy=True).commits.get(sha, lazy=True)
    return [int(m["iid"]) for m in found.merge_requests()]


def test_a_commit_lists_the_merge_requests_it_belongs_to(sandbox: Sandbox, gl: Client) -> None:
    """lib/api/commits.rb ``commits/:sha/merge_requests``: MergeRequestsFinder with
    ``commit_sha``, app/models/merge_request.rb ``by_related_commit_sha`` (a commit of the
    merge request's diff, or its merge or squash commit)."""
    mine = commit(gl, "bob", "exc-42", "a\n")
    register = gl("bob").projects.get(REGISTER, lazy=True)
    mr = register.mergerequests.create(
        {"source_branch": "exc-42", "target_branch": "main", "title": "Add EXC-0042"}
    )
    assert related(gl, mine) == [mr.iid]  # open: its branch's commits
    assert register.mergerequests.get(mr.iid).merge_commit_sha is None
    register.mergerequests.get(mr.iid).merge()
    merge_sha = register.mergerequests.get(mr.iid).merge_commit_sha
    assert merge_sha == register.commits.get("main").id
    assert related(gl, mine) == [mr.iid]  # merged: still one of its commits
    assert related(gl, merge_sha) == [mr.iid]
    direct = commit(gl, "bob", "main", "b\n", action="update")
    assert related(gl, direct) == []  # a push came by no merge request
    with pytest.raises(gitlab.GitlabGetError) as err:
        related(gl, "0" * 40)
    assert err.value.response_code == 404


def test_each_approval_says_when_it_was_given(sandbox: Sandbox, gl: Client) -> None:
    """lib/api/entities/approvals.rb: ``approved_by`` items expose the approval's
    ``created_at`` as ``approved_at``."""
    commit(gl, "bob", "exc-42", "a\n")
    register = gl("bob").projects.get(REGISTER, lazy=True)
    mr = register.mergerequests.create(
        {"source_branch": "exc-42", "target_branch": "main", "title": "Add EXC-0042"}
    )
    for name, when in (("carol", AT), ("sue", AT + timedelta(hours=2))):
        sandbox.store.clock = when
        gl(name).projects.get(REGISTER, lazy=True).mergerequests.get(mr.iid).approve()
    given = register.mergerequests.get(mr.iid).approvals.get().approved_by
    assert [(a["user"]["username"], a["approved_at"]) for a in given] == [
        ("carol", "2026-11-23T09:00:00.000Z"),
        ("sue", "2026-11-23T11:00:00.000Z"),
    ]


def test_tree_ids_are_the_contents_blob_ids(sandbox: Sandbox, gl: Client) -> None:
    """lib/api/entities/tree_object.rb: a tree item's ``id`` is git's object id, so a blob's
    changes with its content and nothing else."""
    commit(gl, "bob", "main", "a\n")
    register = gl("bob").projects.get(REGISTER, lazy=True)

    def blob() -> str:
        (item,) = register.repository_tree(path="exceptions", ref="main", get_all=True)
        return str(item["id"])

    first = blob()
    assert first == hashlib.sha1(b"blob 2\0a\n").hexdigest()  # noqa: S324 - git's id
    commit(gl, "bob", "main", "b\n", action="update")
    assert blob() != first
    commit(gl, "bob", "main", "a\n", action="update")
    assert blob() == first


def test_the_user_says_its_commit_email(sandbox: Sandbox, gl: Client) -> None:
    """lib/api/entities/user_public.rb exposes ``commit_email_or_default`` as ``commit_email`` for
    the token's own user: the committer e-mail of the commits the API makes for it."""
    client = gl("exception-bot")
    client.auth()
    assert client.user is not None
    email = client.user.attributes["commit_email"]
    sha = commit(gl, "exception-bot", "main", "a\n")
    made = client.projects.get(REGISTER, lazy=True).commits.get(sha)
    assert made.committer_email == email
