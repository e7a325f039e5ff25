"""Who may read, tick and label a confidential request, as GitLab decides (app/policies/
issue_policy.rb, issuable_policy.rb, project_policy.rb; app/services/issuable_base_service.rb
filter_params and filter_assignees_using_checks; issuable/callbacks/labels.rb)."""

from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest

from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
REQUESTS = "security/exceptions"
TEMPLATE = 'Body\n\n/label ~"ExceptionRequest" ~"exception::submitted"\n/confidential\n'
# gus is a Guest of the requests project, nora is no member of it at all
PEOPLE = {"users": ["gus", "nora"], "projects": [{"path": REQUESTS, "members": {"gus": "guest"}}]}


@pytest.fixture
def people(sandbox: Sandbox) -> Sandbox:
    sandbox.load(PEOPLE)
    return sandbox


def issues(gl: Client, user: str) -> gitlab.v4.objects.ProjectIssueManager:
    return gl(user).projects.get(REQUESTS, lazy=True).issues


def test_a_confidential_issue_is_for_reporters_its_author_and_assignees(
    people: Sandbox, gl: Client
) -> None:
    mine = issues(gl, "gus").create({"title": "mine", "description": TEMPLATE}).iid
    theirs = issues(gl, "bob").create({"title": "theirs", "description": TEMPLATE}).iid
    assert issues(gl, "gus").get(mine).confidential
    assert [i.iid for i in issues(gl, "gus").list(get_all=True)] == [mine]
    with pytest.raises(gitlab.GitlabGetError) as hidden:
        issues(gl, "gus").get(theirs)
    assert hidden.value.response_code == 404  # as if it did not exist
    with pytest.raises(gitlab.GitlabListError):
        issues(gl, "gus").get(theirs, lazy=True).notes.list(get_all=True)
    with pytest.raises(gitlab.GitlabUpdateError) as untouched:
        issues(gl, "gus").update(theirs, {"description": "- [x] Department head approval"})
    assert untouched.value.response_code == 404
    # a Reporter reads both; an assignee reads the one assigned
    assert {i.iid for i in issues(gl, "carol").list(get_all=True)} == {mine, theirs}
    gus = people.store.user_named("gus")
    assert gus is not None
    issues(gl, "exception-bot").update(theirs, {"assignee_ids": [gus.id]})
    assert issues(gl, "gus").get(theirs).title == "theirs"


def test_only_reporters_update_what_they_did_not_write(people: Sandbox, gl: Client) -> None:
    iid = issues(gl, "bob").create({"title": "open", "description": "- [ ] Box"}).iid
    assert not issues(gl, "gus").get(iid).confidential  # a Guest reads it...
    with pytest.raises(gitlab.GitlabUpdateError) as refused:  # ...but may not tick its box
        issues(gl, "gus").update(iid, {"description": "- [x] Box"})
    assert refused.value.response_code == 403
    issues(gl, "carol").update(iid, {"description": "- [x] Box"})  # a Reporter may


def test_a_private_project_is_hidden_from_non_members(people: Sandbox, gl: Client) -> None:
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        issues(gl, "nora").create({"title": "t", "description": TEMPLATE})
    assert (refused.value.response_code, refused.value.error_message) == (
        404,
        "404 Project Not Found",
    )


def test_labels_need_set_issue_metadata(people: Sandbox, gl: Client) -> None:
    # a member's /label runs on a new issue (Guests included), not a non-member's
    assert issues(gl, "gus").create({"title": "t", "description": TEMPLATE}).labels == [
        "ExceptionRequest",
        "exception::submitted",
    ]
    people.store.must_project(REQUESTS).visibility = "internal"
    made = issues(gl, "nora").create({"title": "t", "description": TEMPLATE, "labels": "x"})
    assert (made.labels, made.confidential, made.description) == ([], True, "Body")
    # on an existing issue only Reporters set labels: the author's comment and edit do nothing
    iid = issues(gl, "gus").create({"title": "t", "description": "Body"}).iid
    issues(gl, "gus").get(iid, lazy=True).notes.create({"body": "/label ~ExceptionRequest"})
    issues(gl, "gus").update(iid, {"add_labels": "ExceptionRequest", "title": "new"})
    assert (issues(gl, "gus").get(iid).labels, issues(gl, "gus").get(iid).title) == ([], "new")
    issues(gl, "carol").get(iid, lazy=True).notes.create({"body": "/label ~ExceptionRequest"})
    assert issues(gl, "gus").get(iid).labels == ["ExceptionRequest"]


def test_assignees_who_cannot_read_the_project_are_dropped(people: Sandbox, gl: Client) -> None:
    iid = issues(gl, "bob").create({"title": "t", "description": TEMPLATE}).iid
    nora = people.store.user_named("nora")
    assert nora is not None
    answer = issues(gl, "exception-bot").update(iid, {"assignee_ids": [nora.id]})
    assert answer["assignees"] == []  # 200, and no one assigned
