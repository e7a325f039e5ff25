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


def test_a_push_says_whatever_author_and_committer_the_pusher_wrote(
    sandbox: Sandbox, gl: Client
) -> None:
    """``git push`` carries the commits as the pusher made them: GitLab checks who pushes
    (Maintainer on the protected default branch), not what the commits say."""
    store = sandbox.store
    project, frank, victor = (
        store.project(REGISTER),
        store.user_named("frank"),
        store.user_named("victor"),
    )
    assert project is not None
    assert frank is not None
    assert victor is not None
    project.members[frank.id] = 40  # Maintainer
    bot = ("Exception Bot", "exception-bot@example.com")
    sha = sandbox.git_push(REGISTER, "frank", {PATH: "a\n"}, author=bot, committer=bot)
    made = gl("bob").projects.get(REGISTER, lazy=True).commits.get(sha)
    assert (made.author_name, made.author_email) == bot
    assert (made.committer_name, made.committer_email) == bot
    with pytest.raises(PermissionError):
        sandbox.git_push(REGISTER, "victor", {PATH: "b\n"})  # a Developer, on the default branch
    sandbox.git_push(REGISTER, "victor", {PATH: "b\n"}, branch="exc-42")
    assert sandbox.file(REGISTER, PATH, "exc-42") == "b\n"


def test_maintainers_edit_and_delete_other_peoples_notes(sandbox: Sandbox, gl: Client) -> None:
    """lib/api/helpers/notes_helpers.rb checks ``admin_note``, which the note's author has and,
    through the project (app/policies/note_policy.rb delegates), its Maintainers
    (app/policies/project_policy.rb); a Reporter has it for their own notes only."""
    requests = "security/exceptions"
    issue = gl("bob").projects.get(requests, lazy=True).issues.create({"title": "A request"})
    note = issue.notes.create({"body": "the bot's record"})
    store = sandbox.store
    project, carol = store.project(requests), store.user_named("carol")
    assert project is not None
    assert carol is not None
    as_carol = gl("carol").projects.get(requests, lazy=True).issues.get(issue.iid, lazy=True)
    with pytest.raises(gitlab.GitlabUpdateError) as err:
        as_carol.notes.update(note.id, {"body": "rewritten"})  # a Reporter
    assert err.value.response_code == 403
    project.members[carol.id] = 40
    as_carol.notes.update(note.id, {"body": "rewritten"})
    assert issue.notes.get(note.id).body == "rewritten"
    as_carol.notes.delete(note.id)
    assert [n.id for n in issue.notes.list(get_all=True)] == []
