"""The sandbox behaves like GitLab where the bot depends on it, through python-gitlab."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import gitlab
import pytest
import requests

from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
REQUESTS = "security/exceptions"
REGISTER = "security/exception-register"
BODY = "## Approvals\n\n- [ ] Department head approval\n- [ ] Security team approval\n"


def open_issue(gl: Client, user: str = "bob", description: str = BODY, **extra: object) -> int:
    issue = (
        gl(user)
        .projects.get(REQUESTS, lazy=True)
        .issues.create(
            {"title": "TLS 1.1 on the reporting VM", "description": description, **extra}
        )
    )
    return int(issue.iid)


def issue_as(gl: Client, user: str, iid: int) -> gitlab.v4.objects.ProjectIssue:
    return gl(user).projects.get(REQUESTS, lazy=True).issues.get(iid)


def system_notes(gl: Client, iid: int) -> list[tuple[str, str]]:
    notes = issue_as(gl, "bob", iid).notes.list(get_all=True, sort="asc", order_by="created_at")
    return [(n.author["username"], n.body) for n in notes if n.system]


# -- auth ---------------------------------------------------------------------------------------


def test_tokens_identify_users_and_none_is_refused(sandbox: Sandbox, gl: Client) -> None:
    carol = gl("carol")
    carol.auth()
    assert carol.user is not None
    assert carol.user.username == "carol"
    bearer = gitlab.Gitlab(sandbox.url, oauth_token=sandbox.token("sue"))
    bearer.auth()
    assert bearer.user is not None
    assert bearer.user.username == "sue"
    with pytest.raises(gitlab.GitlabAuthenticationError):
        gitlab.Gitlab(sandbox.url, private_token="glpat-wrong").auth()
    assert requests.get(f"{sandbox.url}/api/v4/user", timeout=5).status_code == 401


def test_members_users_and_paths(sandbox: Sandbox, gl: Client) -> None:
    compliance = gl("sue").groups.get("security/compliance", lazy=True)
    names = {m.username: m.access_level for m in compliance.members_all.list(get_all=True)}
    # members/all includes members inherited from the parent group "security".
    assert names == {"sue": 50 - 10, "sid": 40, "victor": 30, "sam": 30}
    assert [u.username for u in gl("bob").users.list(username="Sue")] == ["sue"]
    project = gl("bob").projects.get(REQUESTS)
    assert gl("bob").projects.get(project.id).path_with_namespace == REQUESTS


# -- issues -------------------------------------------------------------------------------------


def test_quick_actions_run_on_create_as_the_author(gl: Client) -> None:
    text = (
        BODY
        + '\n/label ~"ExceptionRequest" ~"exception::submitted"\n/confidential\n/due 2027-01-15'
    )
    iid = open_issue(gl, description=text)
    issue = issue_as(gl, "carol", iid)
    assert issue.labels == ["ExceptionRequest", "exception::submitted"]
    assert issue.confidential is True
    assert issue.due_date == "2027-01-15"
    assert "/label" not in issue.description  # executed lines are removed
    events = issue.resourcelabelevents.list(get_all=True)
    assert [(e.user["username"], e.label["name"], e.action) for e in events] == [
        ("bob", "ExceptionRequest", "add"),
        ("bob", "exception::submitted", "add"),
    ]


def test_a_quick_action_in_a_code_block_is_only_text(gl: Client) -> None:
    iid = open_issue(gl, description='```\n/label ~"exception::approved"\n```\n')
    issue = issue_as(gl, "bob", iid)
    assert issue.labels == []
    assert '/label ~"exception::approved"' in issue.description


def test_list_filters_order_and_pagination(sandbox: Sandbox, gl: Client) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(130):
        sandbox.set_now(start + timedelta(minutes=n))
        labels = "ExceptionRequest" if n % 2 == 0 else "Other"
        open_issue(gl, labels=labels)
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    found = project.issues.list(
        state="opened", labels=["ExceptionRequest"], order_by="created_at", sort="asc", get_all=True
    )
    assert [i.iid for i in found] == list(range(1, 131, 2))
    every = list(project.issues.list(iterator=True, per_page=100))
    assert len(every) == 130
    assert every[0].iid == 130  # newest first by default
    some = project.issues.list(iids=[3, 5, 6], get_all=True)
    assert sorted(i.iid for i in some) == [3, 5, 6]
    project_id = gl("bob").projects.get(REQUESTS).id
    page = requests.get(
        f"{sandbox.url}/api/v4/projects/{project_id}/issues",
        params={"per_page": 50, "page": 2},
        headers={"PRIVATE-TOKEN": sandbox.token("bob")},
        timeout=5,
    )
    assert (page.headers["X-Total"], page.headers["X-Total-Pages"]) == ("130", "3")
    assert (page.headers["X-Page"], page.headers["X-Next-Page"]) == ("2", "3")
    assert 'rel="next"' in page.headers["Link"]
    assert "page=3" in page.headers["Link"]
    not_labelled = project.issues.list(get_all=True, query_parameters={"not[labels]": "Other"})
    assert len(not_labelled) == 65
    assert len(project.issues.list(search="reporting", get_all=True)) == 130
    later = project.issues.list(updated_after="2026-11-01T02:00:00Z", get_all=True)
    assert len(later) == 10  # issues.md: "on or after", so 02:00 ... 02:09


def test_label_deltas_make_events_and_create_labels(gl: Client) -> None:
    iid = open_issue(gl)
    project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
    project.issues.update(iid, {"add_labels": "exception::in-review,x", "remove_labels": ""})
    project.issues.update(iid, {"remove_labels": "x"})
    issue = issue_as(gl, "bob", iid)
    assert issue.labels == ["exception::in-review"]
    events = issue.resourcelabelevents.list(get_all=True)
    assert [(e.user["username"], e.label["name"], e.action) for e in events] == [
        ("exception-bot", "exception::in-review", "add"),
        ("exception-bot", "x", "add"),
        ("exception-bot", "x", "remove"),
    ]
    names = {label.name for label in gl("bob").projects.get(REQUESTS).labels.list(get_all=True)}
    assert {"exception::in-review", "x"} <= names
    # No scoped-label exclusivity on the free tier: both state labels stay.
    project.issues.update(iid, {"add_labels": "exception::approved"})
    assert set(issue_as(gl, "bob", iid).labels) == {"exception::in-review", "exception::approved"}


def test_updated_at_moves_with_labels_notes_and_edits(sandbox: Sandbox, gl: Client) -> None:
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    sandbox.set_now(t0)
    iid = open_issue(gl)
    seen = []
    for step in ("label", "note", "edit"):
        sandbox.advance(timedelta(hours=1))
        issue = issue_as(gl, "carol", iid)
        if step == "label":
            gl("carol").projects.get(REQUESTS, lazy=True).issues.update(iid, {"add_labels": "y"})
        elif step == "note":
            issue.notes.create({"body": "Looks fine."})
        else:
            issue.description += "\nMore context."
            issue.save()
        seen.append(issue_as(gl, "bob", iid).updated_at)
    assert seen == [
        "2026-11-23T10:00:00.000Z",
        "2026-11-23T11:00:00.000Z",
        "2026-11-23T12:00:00.000Z",
    ]


def test_assignment_state_and_due_date(gl: Client) -> None:
    iid = open_issue(gl)
    carol = gl("carol").users.list(username="carol")[0]
    project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
    project.issues.update(iid, {"assignee_ids": [carol.id], "due_date": "2027-01-15"})
    project.issues.update(iid, {"state_event": "close"})
    issue = issue_as(gl, "bob", iid)
    assert [a["username"] for a in issue.assignees] == ["carol"]
    assert (issue.state, issue.due_date) == ("closed", "2027-01-15")
    assert ("exception-bot", "assigned to @carol") in system_notes(gl, iid)


# -- checklist system notes ---------------------------------------------------------------------


def test_ticking_a_box_writes_a_checklist_note_by_the_editor(gl: Client) -> None:
    iid = open_issue(gl)
    issue = issue_as(gl, "carol", iid)
    issue.description = issue.description.replace(
        "- [ ] Department head approval", "- [x] Department head approval"
    )
    issue.save()
    issue = issue_as(gl, "sam", iid)
    issue.description = issue.description.replace(
        "- [x] Department head approval", "- [ ] Department head approval"
    )
    issue.save()
    assert system_notes(gl, iid) == [
        ("carol", "marked the checklist item **Department head approval** as completed"),
        ("sam", "marked the checklist item **Department head approval** as incomplete"),
    ]


def test_item_text_is_escaped_in_the_note(gl: Client) -> None:
    iid = open_issue(gl, description="- [ ] Sign-off v1.2 #3\n")
    issue = issue_as(gl, "carol", iid)
    issue.description = "- [x] Sign-off v1.2 #3\n"
    issue.save()
    assert system_notes(gl, iid) == [
        ("carol", r"marked the checklist item **Sign\-off v1\.2 \#3** as completed")
    ]


@pytest.mark.parametrize(
    "new",
    [
        # text changed: a description note, no checklist note
        BODY + "\nMore context.\n",
        # an item inserted above shifts positions: nothing counts as toggled
        "## Approvals\n\n- [ ] CISO escalation approval\n- [x] Department head approval\n"
        "- [ ] Security team approval\n",
        # the item's text edited while ticking it
        "## Approvals\n\n- [x] Department head approval!\n- [ ] Security team approval\n",
    ],
)
def test_other_edits_write_changed_the_description(gl: Client, new: str) -> None:
    iid = open_issue(gl)
    issue = issue_as(gl, "carol", iid)
    issue.description = new
    issue.save()
    assert system_notes(gl, iid) == [("carol", "changed the description")]


# -- notes ----------------------------------------------------------------------------------------


def test_notes_sort_paginate_edit_and_run_quick_actions(gl: Client) -> None:
    iid = open_issue(gl)
    # Quick actions apply existing labels only: the injected one must exist to matter.
    project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
    project.labels.create({"name": "exception::approved", "color": "#69d100"})
    issue = issue_as(gl, "tom", iid)
    for n in range(3):
        issue.notes.create({"body": f"comment {n}"})
    injected = issue.notes.create({"body": 'Approved!\n/label ~"exception::approved"'})
    assert injected.body == "Approved!"
    assert "exception::approved" in issue_as(gl, "bob", iid).labels
    events = issue_as(gl, "bob", iid).resourcelabelevents.list(get_all=True)
    assert [(e.user["username"], e.action) for e in events] == [("tom", "add")]
    newest_first = issue.notes.list(get_all=True)
    assert newest_first[0].body == "Approved!"  # notes.md: sort defaults to desc
    oldest_first = issue.notes.list(get_all=True, sort="asc", order_by="created_at")
    assert [n.body for n in oldest_first][:2] == ["comment 0", "comment 1"]
    issue.notes.update(oldest_first[0].id, {"body": "edited"})
    assert issue.notes.get(oldest_first[0].id).body == "edited"
    internal = issue.notes.create({"body": "for compliance only", "internal": True})
    assert internal.internal is True
    with pytest.raises(gitlab.GitlabUpdateError):
        issue_as(gl, "bob", iid).notes.update(oldest_first[0].id, {"body": "not mine"})


def test_a_note_of_only_commands_is_not_stored(gl: Client) -> None:
    iid = open_issue(gl)
    issue = issue_as(gl, "tom", iid)
    issue.notes.create({"body": "/label ~ExceptionRequest"})
    assert issue.notes.list(get_all=True) == []
    assert issue_as(gl, "bob", iid).labels == ["ExceptionRequest"]


# -- labels and links -----------------------------------------------------------------------------


def test_labels_project_and_group(gl: Client) -> None:
    project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
    project.labels.create({"name": "exception::in-review", "color": "#428bca"})
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.labels.create({"name": "exception::in-review", "color": "#428bca"})
    assert err.value.response_code == 409
    project.labels.update("exception::in-review", {"new_name": "exception::new", "color": "red"})
    group = gl("exception-bot").groups.get("security", lazy=True)
    group.labels.create({"name": "shared", "color": "#00ff00", "description": "group label"})
    names = {label.name for label in project.labels.list(get_all=True)}
    # group labels show in the project, next to the seed's two
    assert names == {"ExceptionRequest", "exception::submitted", "exception::new", "shared"}


def test_issue_links(gl: Client) -> None:
    first, second = open_issue(gl), open_issue(gl)
    issue = issue_as(gl, "bob", second)
    project_id = gl("bob").projects.get(REQUESTS).id
    issue.links.create({"target_project_id": project_id, "target_issue_iid": first})
    (linked,) = issue_as(gl, "bob", first).links.list(get_all=True)
    assert (linked.iid, linked.link_type) == (second, "relates_to")
    assert linked.references["full"] == f"{REQUESTS}#{second}"
    issue.links.delete(linked.issue_link_id)
    assert issue.links.list(get_all=True) == []


# -- repository -----------------------------------------------------------------------------------


def test_files_and_stale_last_commit_id(gl: Client) -> None:
    register = gl("exception-bot").projects.get(REGISTER, lazy=True)
    register.files.create(
        {"file_path": "register.json", "branch": "main", "content": "[]\n", "commit_message": "m"}
    )
    found = register.files.get(file_path="register.json", ref="main")
    assert found.decode() == b"[]\n"
    assert base64.b64decode(found.content) == b"[]\n"
    stale = found.last_commit_id
    register.files.update(
        "register.json",
        {"branch": "main", "content": "[1]\n", "commit_message": "m", "last_commit_id": stale},
    )
    with pytest.raises(gitlab.GitlabUpdateError) as err:
        register.files.update(
            "register.json",
            {"branch": "main", "content": "[2]\n", "commit_message": "m", "last_commit_id": stale},
        )
    assert err.value.response_code == 400
    assert "has changed since you started editing it" in err.value.error_message
    assert register.files.raw(file_path="register.json", ref="main") == b"[1]\n"
    with pytest.raises(gitlab.GitlabCreateError):
        register.files.create(
            {"file_path": "README.md", "branch": "main", "content": "x", "commit_message": "m"}
        )


def test_commits_are_atomic(sandbox: Sandbox, gl: Client) -> None:
    register = gl("exception-bot").projects.get(REGISTER, lazy=True)
    register.commits.create(
        {
            "branch": "main",
            "commit_message": "EXC-0001: approved",
            "actions": [
                {"action": "create", "file_path": "exceptions/EXC-0001-a.md", "content": "a"},
                {"action": "create", "file_path": "register.json", "content": "[]"},
            ],
        }
    )
    before = sandbox.files(REGISTER)
    with pytest.raises(gitlab.GitlabCreateError) as err:
        register.commits.create(
            {
                "branch": "main",
                "commit_message": "conflict",
                "actions": [
                    {"action": "update", "file_path": "register.json", "content": "[1]"},
                    {"action": "create", "file_path": "README.md", "content": "again"},
                ],
            }
        )
    assert err.value.response_code == 400
    assert sandbox.files(REGISTER) == before  # nothing of the failed commit landed
    tree = register.repository_tree(path="exceptions", ref="main", get_all=True)
    assert [t["path"] for t in tree] == ["exceptions/EXC-0001-a.md"]
    everything = register.repository_tree(recursive=True, get_all=True)
    assert {t["path"] for t in everything} >= {"exceptions", "register.json", "README.md"}
    # python-gitlab reads a `path` keyword as the request path: the filter goes in
    # query_parameters.
    history = register.commits.list(query_parameters={"path": "register.json"}, get_all=True)
    assert [c.title for c in history] == ["EXC-0001: approved"]
    assert register.branches.get("main").commit["title"] == "EXC-0001: approved"


def test_merge_requests_minimal(sandbox: Sandbox, gl: Client) -> None:
    sandbox.load(
        {
            "projects": [
                {
                    "path": REGISTER,
                    "merge_requests": [
                        {
                            "author": "bob",
                            "title": "Add EXC-0042",
                            "changes": [{"new_path": "exceptions/EXC-0042.yml", "new_file": True}],
                            "approved_by": ["carol"],
                        }
                    ],
                }
            ]
        }
    )
    register = gl("exception-bot").projects.get(REGISTER, lazy=True)
    (mr,) = register.mergerequests.list(get_all=True)
    changes = mr.changes()
    assert isinstance(changes, dict)
    assert changes["changes"][0]["new_path"] == "exceptions/EXC-0042.yml"
    approvals = register.mergerequests.get(mr.iid).approvals.get()
    assert [a["user"]["username"] for a in approvals.approved_by] == ["carol"]


# -- control plane --------------------------------------------------------------------------------


def test_clock_stamps_everything(sandbox: Sandbox, gl: Client) -> None:
    sandbox.set_now(datetime(2027, 3, 1, 8, 30, tzinfo=UTC))
    iid = open_issue(gl)
    assert issue_as(gl, "bob", iid).created_at == "2027-03-01T08:30:00.000Z"


def test_rate_limit_answers_429_with_retry_after(sandbox: Sandbox, gl: Client) -> None:
    sandbox.rate_limit(2, window_seconds=1.0)
    strict = gitlab.Gitlab(sandbox.url, private_token=sandbox.token("bob"))
    # GitLab's windows are aligned on whole seconds: the three may straddle two of them
    with pytest.raises(gitlab.GitlabGetError) as err:  # noqa: PT012 - until the third in one
        for _ in range(6):
            strict.projects.get(REQUESTS, obey_rate_limit=False)
    assert err.value.response_code == 429
    patient = gitlab.Gitlab(sandbox.url, private_token=sandbox.token("carol"))
    for _ in range(3):  # python-gitlab sleeps for Retry-After and tries again
        patient.projects.get(REQUESTS)
    answers = [r.status for r in sandbox.requests if r.username == "carol"]
    assert 429 in answers
    assert answers[-1] == 200


def test_faults_and_latency(sandbox: Sandbox, gl: Client) -> None:
    iid = open_issue(gl)
    sandbox.fault("PUT", r"/issues/\d+$", nth=1, status=502)
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    with pytest.raises(gitlab.GitlabUpdateError) as err:
        project.issues.update(iid, {"add_labels": "x"})
    assert err.value.response_code == 502
    project.issues.update(iid, {"add_labels": "x"})  # only the first matching request fails
    sandbox.fault("GET", r"/issues/\d+$", nth=1, status="drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        gitlab.Gitlab(sandbox.url, private_token=sandbox.token("bob")).projects.get(
            REQUESTS, lazy=True
        ).issues.get(iid)
    retrying = gitlab.Gitlab(
        sandbox.url, private_token=sandbox.token("bob"), retry_transient_errors=True
    )
    sandbox.fault("GET", r"/issues/\d+$", nth=1, status=503)
    assert retrying.projects.get(REQUESTS, lazy=True).issues.get(iid).iid == iid
    sandbox.latency(0.2, path_regex=r"/user$")
    started = datetime.now(UTC)
    gl("bob").auth()
    assert datetime.now(UTC) - started >= timedelta(seconds=0.2)


def test_request_log_counts_per_endpoint(sandbox: Sandbox, gl: Client) -> None:
    sandbox.clear_log()
    iid = open_issue(gl)
    issue_as(gl, "bob", iid)
    issue_as(gl, "carol", iid)
    counts = sandbox.counts()
    assert counts["POST /projects/:id/issues"] == 1
    assert counts["GET /projects/:id/issues/:iid"] == 2
    assert [w.endpoint for w in sandbox.writes()] == ["POST /projects/:id/issues"]


def test_http_control_plane(sandbox: Sandbox) -> None:
    control = f"{sandbox.url}/-/sandbox"
    assert requests.put(f"{control}/clock", json={"now": "2027-01-01T00:00:00+00:00"}, timeout=5).ok
    assert sandbox.store.now() == datetime(2027, 1, 1, tzinfo=UTC)
    assert requests.post(f"{control}/seed", json={"users": ["zoe"]}, timeout=5).ok
    assert sandbox.token("zoe") == "glpat-zoe"
    log = requests.get(f"{control}/log", timeout=5).json()
    assert log["requests"] == []
    assert requests.post(f"{control}/reset", timeout=5).ok
    with pytest.raises(KeyError):
        sandbox.token("zoe")


def test_group_issues_and_the_assign_quick_action(gl: Client) -> None:
    iid = open_issue(gl, description=BODY + "\n/assign @carol\n")
    assert [a["username"] for a in issue_as(gl, "bob", iid).assignees] == ["carol"]
    found = gl("bob").groups.get("security", lazy=True).issues.list(get_all=True)
    assert [(i.iid, i.references["full"]) for i in found] == [(iid, f"{REQUESTS}#{iid}")]
    with pytest.raises(gitlab.GitlabListError) as hidden:  # a private group bob is not in
        gl("bob").groups.get("legal", lazy=True).issues.list(get_all=True)
    assert hidden.value.response_code == 404
    assert gl("lee").groups.get("legal", lazy=True).issues.list(get_all=True) == []
    # users_extractor.rb: one unknown user fails the whole command
    assert issue_as(gl, "bob", open_issue(gl, description="/assign @carol @nobody")).assignees == []
