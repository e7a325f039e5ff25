"""The GitLab adapter against recorded responses: one stub per endpoint, a body matcher on
every write, and a stub that is never called fails the test."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import MaxRetryError, NewConnectionError

from exception_bot.connection import Guard
from exception_bot.domain.actions import IssueRef
from exception_bot.domain.model import LabelAction, User
from exception_bot.domain.people import Member
from exception_bot.errors import GitLabUnreachable, TokenRefused
from exception_bot.gitlab import GitLab, GitLabError
from exception_bot.gitlab.client import Client

API = "http://gitlab.test/api/v4"
PROJECT_PATH = "security/exceptions"
PROJECT = f"{API}/projects/security%2Fexceptions"
ISSUE = f"{PROJECT}/issues/7"
# After a full GET, python-gitlab builds sub-resource paths from the issue's project_id.
ISSUE_BY_ID = f"{API}/projects/3/issues/7"
REF = IssueRef("security/exceptions", 7)
AUTHOR = {"id": 5, "username": "bob", "name": "Bob", "state": "active"}
DESCRIPTION = "## Approvals\r\n- [x] Department head approval\r\n- [ ] Policy owner approval\r\n"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait no time here: an unmatched request fails at once, not after backoff."""
    monkeypatch.setattr("time.sleep", lambda _: None)


@pytest.fixture
def gl() -> GitLab:
    return GitLab.connect("http://gitlab.test", "glpat-test")


def issue_json(**extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": 700,
        "iid": 7,
        "project_id": 3,
        "title": "Exception: TLS 1.1",
        "description": DESCRIPTION,
        "state": "opened",
        "labels": ["ExceptionRequest"],
        "assignees": [{"id": 9, "username": "carol"}],
        "author": AUTHOR,
        "created_at": "2026-11-22T09:00:00.000Z",
        "updated_at": "2026-11-22T10:00:00.000Z",
        "confidential": True,
        "web_url": "http://gitlab.test/security/exceptions/-/issues/7",
    }
    data.update(extra)
    return data


def test_whoami(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(f"{API}/user", json={"id": 1, "username": "exception-bot"})
    assert gl.whoami() == User(1, "exception-bot")
    assert gl.requests == 1


def test_a_refused_token_is_token_refused_wherever_it_comes(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.get(f"{API}/user", status=401, json={"message": "401 Unauthorized"})
    with pytest.raises(TokenRefused, match=r"^GitLab at http://gitlab.test refused the token"):
        gl.whoami()
    revoked = {"error": "invalid_token", "error_description": "Token was revoked."}
    rsps.get(f"{API}/projects/security%2Fexceptions/labels", status=401, json=revoked)
    with pytest.raises(TokenRefused, match=r"refused the token \(401: Token was revoked.\)"):
        gl.labels(PROJECT_PATH)


def test_open_requests_filter_by_intake_label(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(
        f"{PROJECT}/issues",
        json=[{"iid": 3}, {"iid": 7}],
        match=[
            matchers.query_param_matcher(
                {
                    "state": "opened",
                    "labels": "ExceptionRequest",
                    "order_by": "created_at",
                    "sort": "asc",
                    "per_page": "100",
                }
            )
        ],
    )
    listed = gl.open_requests("security/exceptions", "ExceptionRequest")
    assert [item["iid"] for item in listed] == [3, 7]


def test_open_requests_of_given_iids(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(
        f"{PROJECT}/issues",
        json=[{"iid": 7}],
        match=[
            matchers.query_string_matcher(
                "state=opened&labels=ExceptionRequest&order_by=created_at&sort=asc"
                "&per_page=100&iids%5B%5D=7&iids%5B%5D=9"
            )
        ],
    )
    listed = gl.open_requests("security/exceptions", "ExceptionRequest", [7, 9])
    assert [item["iid"] for item in listed] == [7]


def test_snapshot_reads_issue_notes_and_label_events(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.get(ISSUE, json=issue_json())
    rsps.get(
        f"{ISSUE_BY_ID}/notes",
        json=[
            {
                "id": 11,
                "body": "marked the checklist item **Department head approval** as completed",
                "author": {"id": 9, "username": "carol"},
                "system": True,
                "created_at": "2026-11-22T09:30:00.000Z",
            },
        ],
        match=[
            matchers.query_param_matcher(
                {"sort": "asc", "order_by": "created_at", "per_page": "100"}
            )
        ],
    )
    rsps.get(
        f"{ISSUE_BY_ID}/resource_label_events",
        json=[
            {
                "id": 21,
                "user": AUTHOR,
                "created_at": "2026-11-22T09:00:00.000Z",
                "label": {"id": 1, "name": "ExceptionRequest"},
                "action": "add",
            },
            {
                "id": 22,
                "user": AUTHOR,
                "created_at": "2026-11-22T09:05:00.000Z",
                "label": None,
                "action": "remove",
            },
        ],
    )
    rsps.get(
        f"{ISSUE_BY_ID}/links",
        json=[
            issue_json(
                iid=8,
                issue_link_id=5,
                link_type="relates_to",
                labels=["exception::active"],
                references={"full": "security/exceptions#8"},
                description="## Renews\n#7\n",
            ),
            issue_json(
                iid=3,
                issue_type="incident",
                web_url="http://gitlab.test/ops/incidents/-/issues/3",
            ),
        ],
    )
    snap = gl.snapshot(REF)
    assert [(link.reference, link.issue_type) for link in snap.links] == [
        ("security/exceptions#8", "issue"),
        ("ops/incidents#3", "incident"),
    ]
    assert snap.links[0].labels == {"exception::active"}
    assert snap.author == User(5, "bob")
    assert snap.description == DESCRIPTION
    assert snap.assignees == ("carol",)
    assert snap.created_at == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert [(n.id, n.system, n.author.username) for n in snap.notes] == [(11, True, "carol")]
    # An event whose label was deleted since names no label: it is skipped.
    assert [(e.id, e.label, e.action) for e in snap.label_events] == [
        (21, "ExceptionRequest", LabelAction.ADD)
    ]


def test_labels_are_sent_as_a_delta(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.put(
        ISSUE,
        json=issue_json(),
        match=[
            matchers.json_params_matcher(
                {
                    "add_labels": "exception-stage::department-head,exception::in-review",
                    "remove_labels": "exception::submitted",
                }
            )
        ],
    )
    gl.set_labels(
        REF, {"exception::in-review", "exception-stage::department-head"}, {"exception::submitted"}
    )


def test_notes_are_posted_and_edited(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.post(
        f"{ISSUE}/notes",
        status=201,
        json={"id": 31, "body": "hi"},
        match=[matchers.json_params_matcher({"body": "hi"})],
    )
    rsps.put(
        f"{ISSUE}/notes/31",
        json={"id": 31, "body": "hello"},
        match=[matchers.json_params_matcher({"body": "hello"})],
    )
    gl.post_note(REF, "hi", "<!-- exception-bot:kind=turn:key= -->")
    gl.edit_note(REF, 31, "hello")


def test_checkbox_is_flipped_on_a_fresh_read(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(ISSUE, json=issue_json())
    expected = DESCRIPTION.replace("- [x] Department", "- [ ] Department")
    rsps.put(
        ISSUE,
        json=issue_json(description=expected),
        match=[matchers.json_params_matcher({"description": expected})],
    )
    assert gl.set_checkbox(REF, "Approvals", "Department head approval", checked=False)


def test_checkbox_already_right_writes_nothing(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(ISSUE, json=issue_json())
    assert not gl.set_checkbox(REF, "Approvals", "Policy owner approval", checked=False)


def test_assign_resolves_usernames_once(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(
        f"{API}/users",
        json=[{"id": 9, "username": "carol"}],
        match=[matchers.query_param_matcher({"username": "carol", "per_page": "100"})],
    )
    rsps.put(ISSUE, json=issue_json(), match=[matchers.json_params_matcher({"assignee_ids": [9]})])
    rsps.put(ISSUE, json=issue_json(), match=[matchers.json_params_matcher({"assignee_ids": [9]})])
    gl.assign(REF, ["carol"])
    gl.assign(REF, ["carol"])
    assert gl.requests == 3


def member_json(user_id: int, username: str, level: int = 40, **extra: Any) -> dict[str, Any]:
    """A members/all row as lib/api/entities/member.rb writes it (UserBasic merged in)."""
    return {"id": user_id, "username": username, "state": "active", "access_level": level} | extra


def test_group_members_are_read_with_state_and_level_and_cached(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.get(
        f"{API}/groups/security%2Fcompliance/members/all",
        json=[
            member_json(4, "Sue"),
            member_json(6, "sid", 10, state="blocked", membership_state="active"),
        ],
    )
    expected = (Member("Sue", 40), Member("sid", 10, "blocked", "active"))
    assert gl.group_members("security/compliance") == expected
    assert gl.group_members("security/compliance") == expected
    assert gl.requests == 1


def test_missing_group_is_a_clear_error(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(f"{API}/groups/legal/members/all", status=404, json={"message": "404 Group Not Found"})
    with pytest.raises(GitLabError, match="cannot read the members of group 'legal' \\(404\\)"):
        gl.group_members("legal")


MARK = "<!-- exception-bot:kind=turn:key=x -->"
BOT = {"id": 8, "username": "exception-bot"}


def note_json(note_id: int, author: dict[str, object], body: str) -> dict[str, object]:
    return {
        "id": note_id,
        "author": author,
        "body": body,
        "system": False,
        "created_at": "2026-11-22T10:00:00.000Z",
    }


def test_reads_are_retried_blindly(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(ISSUE, status=502, json={"message": "Bad Gateway"})
    rsps.get(ISSUE, json=issue_json())
    assert gl.issue_description(PROJECT_PATH, 7) == DESCRIPTION
    assert gl.requests == 2


def test_a_note_whose_answer_is_lost_is_sent_again_only_when_missing(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.post(f"{ISSUE}/notes", status=502, body="502 Bad Gateway\n")
    rsps.get(f"{API}/user", json=BOT)
    # Someone else's note with the marker pasted in does not count.
    rsps.get(f"{ISSUE}/notes", json=[note_json(40, AUTHOR, f"x\n\n{MARK}")])
    rsps.post(f"{ISSUE}/notes", status=201, json=note_json(41, BOT, f"x\n\n{MARK}"))
    gl.post_note(REF, f"x\n\n{MARK}", MARK)
    assert gl.requests == 4


def test_a_note_whose_answer_is_lost_but_that_landed_is_not_sent_again(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.post(f"{ISSUE}/notes", body=requests.ConnectionError("connection reset"))
    rsps.get(f"{API}/user", json=BOT)
    rsps.get(f"{ISSUE}/notes", json=[note_json(41, BOT, f"x\n\n{MARK}")])
    gl.post_note(REF, f"x\n\n{MARK}", MARK)
    assert gl.requests == 2  # the POST that lost its answer has none to count


def test_a_write_whose_answers_keep_getting_lost_fails_the_issue(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.get(f"{API}/user", json=BOT)
    for _ in range(4):
        rsps.post(f"{ISSUE}/notes", status=503, json={"message": "503 Service Unavailable"})
        rsps.get(f"{ISSUE}/notes", json=[])
    with pytest.raises(GitLabError, match=r"answer was lost 4 times and it is not there"):
        gl.post_note(REF, f"x\n\n{MARK}", MARK)


REGISTER = f"{API}/projects/security%2Fexception-register"


def _file(path: str) -> str:
    return f"{REGISTER}/repository/files/{path.replace('/', '%2F')}"


def test_register_write_is_one_commit_retried_on_a_conflict(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    entry = "exceptions/EXC-0007-tls.md"
    for path in (entry, "register.json", "REGISTER.md"):
        rsps.get(
            _file(path),
            status=404,
            json={"message": "404 File Not Found"},
            match=[matchers.query_param_matcher({"ref": "main"})],
        )
    commit_body = {
        "branch": "main",
        "commit_message": "EXC-0007: approved",
        "actions": [
            {"action": "create", "file_path": entry, "content": "entry"},
            {"action": "create", "file_path": "register.json", "content": "[]\n"},
        ],
    }
    rsps.post(
        f"{REGISTER}/repository/commits",
        status=400,
        json={"message": "A file with this name already exists"},
        match=[matchers.json_params_matcher(commit_body)],
    )
    rsps.post(
        f"{REGISTER}/repository/commits",
        status=201,
        json={"id": "abc"},
        match=[matchers.json_params_matcher(commit_body)],
    )

    def changes(current: object) -> dict[str, str | None]:
        return {entry: "entry", "register.json": "[]\n"}

    assert gl.write_register(
        "security/exception-register", "main", changes, [entry], "EXC-0007: approved"
    )
    reads = [c for c in rsps.calls if c.request.method == "GET"]
    assert len(reads) == 6  # the files were read again before the retry


def test_register_update_carries_the_last_commit_id(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.get(
        _file("register.json"),
        json={
            "file_path": "register.json",
            "content": "W10K",  # "[]\n"
            "encoding": "base64",
            "last_commit_id": "c0ffee",
        },
    )
    rsps.get(_file("REGISTER.md"), status=404, json={"message": "404 File Not Found"})
    rsps.post(
        f"{REGISTER}/repository/commits",
        status=201,
        json={"id": "abc"},
        match=[
            matchers.json_params_matcher(
                {
                    "branch": "main",
                    "commit_message": "m",
                    "actions": [
                        {
                            "action": "update",
                            "file_path": "register.json",
                            "content": "[1]\n",
                            "last_commit_id": "c0ffee",
                        }
                    ],
                }
            )
        ],
    )
    seen: list[object] = []

    def changes(current: Mapping[str, str | None]) -> dict[str, str | None]:
        seen.append(dict(current))
        return {"register.json": "[1]\n"}

    assert gl.write_register("security/exception-register", "main", changes, [], "m")
    assert seen == [{"register.json": "[]\n", "REGISTER.md": None}]


def test_a_description_with_a_command_line_is_never_saved(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.get(ISSUE, json=issue_json(description=DESCRIPTION + "/close\n"))
    with pytest.raises(GitLabError, match="would run /close as the bot"):
        gl.set_checkbox(REF, "Approvals", "Department head approval", checked=False)


def test_a_new_run_reads_group_members_again(rsps: responses.RequestsMock, gl: GitLab) -> None:
    url = f"{API}/groups/security/members/all"
    rsps.get(url, json=[member_json(1, "victor")])
    rsps.get(url, json=[member_json(2, "sam")])
    assert gl.group_members("security") == (Member("victor", 40),)
    assert gl.group_members("security") == (Member("victor", 40),)  # cached within a run
    gl.new_run()
    # a daemon's next run sees the change
    assert gl.group_members("security") == (Member("sam", 40),)


def test_register_tree_asks_for_full_pages(rsps: responses.RequestsMock, gl: GitLab) -> None:
    # Without per_page GitLab sends 20 entries a page: a big register would cost five times
    # the requests on every run.
    rsps.get(
        f"{API}/projects/security%2Fexception-register/repository/tree",
        match=[
            matchers.query_param_matcher(
                {"path": "exceptions", "ref": "main", "recursive": "True", "per_page": "100"}
            )
        ],
        json=[
            {"path": "exceptions/EXC-0001.md", "type": "blob"},
            {"path": "exceptions/archive", "type": "tree"},
        ],
    )
    assert gl.tree("security/exception-register", "main", "exceptions") == [
        "exceptions/EXC-0001.md"
    ]


def test_branch_head_is_the_commit_the_branch_points_at(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    register = f"{API}/projects/security%2Fexception-register/repository/branches"
    rsps.get(f"{register}/main", json={"name": "main", "commit": {"id": "c0ffee" * 6 + "ab"}})
    rsps.get(f"{register}/release%2F2026", status=404, json={"message": "404 Branch Not Found"})
    assert gl.branch_head("security/exception-register", "main") == "c0ffee" * 6 + "ab"
    assert gl.branch_head("security/exception-register", "release/2026") is None


def test_an_issue_is_created_with_its_assignees_in_one_request(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    rsps.get(
        f"{API}/users",
        json=[{"id": 5, "username": "bob"}],
        match=[matchers.query_param_matcher({"username": "bob", "per_page": "100"})],
    )
    rsps.post(
        f"{PROJECT}/issues",
        status=201,
        json=issue_json(title="Exception EXC-0042 expires on 2026-11-29"),
        match=[
            matchers.json_params_matcher(
                {
                    "title": "Exception EXC-0042 expires on 2026-11-29",
                    "description": "Renew it.",
                    "assignee_ids": [5],
                }
            )
        ],
    )
    assert (
        gl.create_issue(
            PROJECT_PATH,
            "Exception EXC-0042 expires on 2026-11-29",
            "Renew it.",
            "<!-- exception-bot:kind=watch:key=EXC-0042 -->",
            assignees=["bob"],
        )
        == 7
    )


def test_a_project_id_is_looked_up_by_its_path(rsps: responses.RequestsMock, gl: GitLab) -> None:
    rsps.get(f"{API}/projects/25", json={"id": 25, "path_with_namespace": "security/exceptions"})
    rsps.get(f"{API}/projects/26", status=404, json={"message": "404 Project Not Found"})
    assert gl.project_path("25") == "security/exceptions"
    with pytest.raises(GitLabError, match="no project 26 \\(GitLab answered 404\\)"):
        gl.project_path("26")


def test_notes_of_a_linked_issue_oldest_first_and_none_when_hidden(
    rsps: responses.RequestsMock, gl: GitLab
) -> None:
    note = {
        "id": 31,
        "body": "<!-- exception-bot:kind=status:key= -->",
        "author": {"id": 1, "username": "exception-bot"},
        "system": False,
        "created_at": "2026-11-22T09:30:00.000Z",
    }
    query = {"sort": "asc", "order_by": "created_at", "per_page": "100"}
    rsps.get(f"{PROJECT}/issues/8/notes", json=[note], match=[matchers.query_param_matcher(query)])
    rsps.get(f"{PROJECT}/issues/9/notes", status=404, json={"message": "404 Not found"})
    (read,) = gl.notes(IssueRef(PROJECT_PATH, 8))
    assert (read.id, read.author, read.system) == (31, User(1, "exception-bot"), False)
    assert gl.notes(IssueRef(PROJECT_PATH, 9)) == ()


def _refused() -> requests.ConnectionError:
    """What requests raises when nothing listens: urllib3 could not open the connection."""
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, f"{API}/user", reason))  # type: ignore[arg-type]


def test_after_giving_up_on_gitlab_a_run_asks_no_more_until_the_next(
    rsps: responses.RequestsMock,
) -> None:
    gl = GitLab.connect("http://gitlab.test", "glpat-test", guard=Guard(retry_for=0))
    user = rsps.get(f"{API}/user", body=_refused())
    with pytest.raises(GitLabUnreachable, match=r"^GitLab at http://gitlab.test did not answer"):
        gl.whoami()
    with pytest.raises(GitLabUnreachable):  # the run lock's release, say: not sent again
        gl.whoami()
    assert user.call_count == 1
    gl.new_run()  # a daemon's next run tries again
    with pytest.raises(GitLabUnreachable):
        gl.whoami()
    assert user.call_count == 2


def test_python_gitlab_sends_through_the_session_it_is_given(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pacing and the guard are the adapter and hooks of the session python-gitlab is given
    (``session=``), not a replaced ``send``: a nearly spent rate limit pauses the next request
    until GitLab's window resets."""
    client = Client.connect("http://gitlab.test", "glpat-test")
    assert "send" not in vars(client.gl.session)
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    reset = int(time.time()) + 5
    spent = {"RateLimit-Limit": "100", "RateLimit-Remaining": "1", "RateLimit-Reset": str(reset)}
    rsps.get(f"{API}/user", json={"id": 1, "username": "exception-bot"}, headers=spent)
    rsps.get(f"{PROJECT}/labels", json=[])
    assert client.me() == 1
    assert slept == []
    GitLab(client).labels(PROJECT_PATH)
    assert len(slept) == 1
    assert 4 < slept[0] <= 6  # into the second after the reset
    assert client.requests == 2
