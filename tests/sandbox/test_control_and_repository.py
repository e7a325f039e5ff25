"""The control plane (Python and HTTP), pagination at scale, file metadata and issue links."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime

import gitlab
import pytest
import requests

from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
REQUESTS = "security/exceptions"
REGISTER = "security/exception-register"


def test_reset_returns_to_the_seed(sandbox: Sandbox, gl: Client) -> None:
    gl("bob").projects.get(REQUESTS, lazy=True).issues.create({"title": "t"})
    sandbox.set_now(datetime(2030, 1, 1, tzinfo=UTC))
    sandbox.fault("*", "/user$", status=500, times=100)
    sandbox.load({"users": ["zoe"]})
    sandbox.reset()
    assert sandbox.requests == []
    assert sandbox.store.now().year != 2030
    assert gl("bob").projects.get(REQUESTS).issues.list(get_all=True) == []
    gl("bob").auth()  # no fault left
    assert sandbox.token("bob") == "glpat-bob"
    with pytest.raises(KeyError):
        sandbox.token("zoe")


def test_the_http_control_plane_drives_misbehaviour(sandbox: Sandbox, gl: Client) -> None:
    control = f"{sandbox.url}/-/sandbox"
    fault: dict[str, str | int] = {"method": "GET", "path": "/user$", "nth": 2, "status": 503}
    assert requests.post(f"{control}/faults", json=fault, timeout=5).ok
    gl("bob").auth()
    with pytest.raises(gitlab.GitlabGetError) as err:
        gl("bob").auth()
    assert err.value.response_code == 503
    assert requests.post(f"{control}/rate-limit", json={"limit": 1, "window": 60}, timeout=5).ok
    gl("carol").projects.get(REQUESTS, obey_rate_limit=False)
    with pytest.raises(gitlab.GitlabGetError) as limited:
        gl("carol").projects.get(REQUESTS, obey_rate_limit=False)
    assert limited.value.response_code == 429
    assert requests.put(f"{control}/clock", json={"advance_seconds": 3600}, timeout=5).ok
    log = requests.get(f"{control}/log", timeout=5).json()
    assert log["counts"]["GET /user"] == 2
    assert [r["status"] for r in log["requests"]][:2] == [200, 503]
    assert requests.post(f"{control}/nonsense", timeout=5).status_code == 404
    assert "POST faults" in requests.get(f"{control}/", timeout=5).json()["actions"]
    assert requests.get(f"{control}/users", timeout=5).json()["bob"] == "glpat-bob"
    assert requests.post(f"{control}/faults", json={}, timeout=5).status_code == 400


def test_an_applied_fault_carries_the_write_out_and_loses_its_answer(
    sandbox: Sandbox, gl: Client
) -> None:
    issue = gl("bob").projects.get(REQUESTS, lazy=True).issues.create({"title": "t"})
    sandbox.fault("POST", r"/notes$", status="drop", applied=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        issue.notes.create({"body": "dropped on the way back"})
    sandbox.fault("POST", r"/notes$", status=502, applied=True, message="502 Bad Gateway")
    with pytest.raises(gitlab.GitlabCreateError) as err:
        issue.notes.create({"body": "a proxy gave up waiting"})
    assert err.value.response_code == 502
    assert err.value.response_body == b"502 Bad Gateway\n"  # the proxy's page, not JSON
    # Over HTTP too; and a client that retries blindly writes the note twice, as on GitLab.
    applied: dict[str, str | int | bool] = {
        "method": "POST",
        "path": "/notes$",
        "status": 502,
        "applied": True,
    }
    assert requests.post(f"{sandbox.url}/-/sandbox/faults", json=applied, timeout=5).ok
    retrying = gitlab.Gitlab(sandbox.url, private_token="glpat-bob", retry_transient_errors=True)
    retrying.projects.get(REQUESTS, lazy=True).issues.get(issue.iid, lazy=True).notes.create(
        {"body": "retried"}
    )
    bodies = [n.body for n in sandbox.issue(REQUESTS, issue.iid).notes if not n.system]
    assert bodies == [
        "dropped on the way back",
        "a proxy gave up waiting",
        "retried",
        "retried",
    ]
    assert [r.status for r in sandbox.matching("POST", "/notes$")] == [-1, 502, 502, 201]


def test_unauthenticated_and_unknown_routes(sandbox: Sandbox) -> None:
    api = f"{sandbox.url}/api/v4"
    assert requests.get(f"{api}/user", timeout=5).json() == {"message": "401 Unauthorized"}
    bearer = {"Authorization": f"Bearer {sandbox.token('bob')}"}
    assert requests.get(f"{api}/nothing/here", headers=bearer, timeout=5).status_code == 404
    missing = requests.get(f"{api}/projects/no%2Fsuch", headers=bearer, timeout=5)
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Project Not Found"})


def test_form_encoded_writes_are_accepted(sandbox: Sandbox) -> None:
    headers = {"PRIVATE-TOKEN": sandbox.token("bob")}
    url = f"{sandbox.url}/api/v4/projects/security%2Fexceptions/issues"
    made = requests.post(url, data={"title": "form", "labels": "a,b"}, headers=headers, timeout=5)
    assert made.status_code == 201
    assert made.json()["labels"] == ["a", "b"]
    iid = made.json()["iid"]
    changed = requests.put(
        f"{url}/{iid}", data={"remove_labels[]": ["a"]}, headers=headers, timeout=5
    )
    assert changed.json()["labels"] == ["b"]


def test_pages_above_ten_thousand_have_no_totals(sandbox: Sandbox, gl: Client) -> None:
    project = sandbox.store.project(REQUESTS)
    assert project is not None
    bob = sandbox.store.user_named("bob")
    assert bob is not None
    with sandbox.app.lock:
        for _ in range(10_001):
            sandbox.store.create_issue(project, bob, "many")
    page = requests.get(
        f"{sandbox.url}/api/v4/projects/{project.id}/issues",
        params={"per_page": 100, "page": 2},
        headers={"PRIVATE-TOKEN": sandbox.token("bob")},
        timeout=30,
    )
    # rest/index.md: no x-total, x-total-pages or rel="last" above 10,000 records
    assert "X-Total" not in page.headers
    assert "X-Total-Pages" not in page.headers
    assert 'rel="last"' not in page.headers["Link"]
    assert (page.headers["X-Next-Page"], len(page.json())) == ("3", 100)
    listing = gl("bob").projects.get(REQUESTS, lazy=True).issues.list(iterator=True)
    assert (listing.total, listing.total_pages) == (None, None)


def test_internal_notes_leave_short_pages(sandbox: Sandbox, gl: Client) -> None:
    # internal notes are for Reporters and above: a Guest who wrote the issue reads it, not them
    sandbox.load({"users": ["gus"], "projects": [{"path": REQUESTS, "members": {"gus": "guest"}}]})
    issue = gl("gus").projects.get(REQUESTS, lazy=True).issues.create({"title": "t"})
    bot = gl("exception-bot").projects.get(REQUESTS, lazy=True).issues.get(issue.iid)
    for n in range(3):
        bot.notes.create({"body": f"internal {n}", "internal": True})
    bot.notes.create({"body": "public"})
    gus = gl("gus").projects.get(REQUESTS, lazy=True).issues.get(issue.iid, lazy=True)
    # lib/api/notes.rb filters for visibility after paginating: a short page, then more
    first = gus.notes.list(per_page=2, page=1, sort="asc")
    assert first == []
    everything = gus.notes.list(get_all=True, per_page=2, sort="asc")
    assert [n.body for n in everything] == ["public"]


def test_file_metadata_on_head(gl: Client) -> None:
    register = gl("exception-bot").projects.get(REGISTER, lazy=True)
    headers = register.files.head("README.md", ref="main")
    found = register.files.get(file_path="README.md", ref="main")
    assert headers["X-Gitlab-Last-Commit-Id"] == found.last_commit_id
    assert headers["X-Gitlab-Blob-Id"] == found.blob_id
    assert headers["X-Gitlab-File-Path"] == "README.md"
    assert headers["X-Gitlab-Execute-Filemode"] == "false"


def test_deleting_a_file_and_moving_one(sandbox: Sandbox, gl: Client) -> None:
    register = gl("exception-bot").projects.get(REGISTER, lazy=True)
    register.files.create(
        {"file_path": "a/x.md", "branch": "main", "content": "x", "commit_message": "add"}
    )
    register.commits.create(
        {
            "branch": "main",
            "commit_message": "move",
            "actions": [{"action": "move", "file_path": "b/x.md", "previous_path": "a/x.md"}],
        }
    )
    assert sandbox.file(REGISTER, "b/x.md") == "x"
    assert sandbox.file(REGISTER, "a/x.md") is None
    register.files.delete(file_path="b/x.md", branch="main", commit_message="gone")
    assert set(sandbox.files(REGISTER)) == {"README.md"}
    with pytest.raises(gitlab.GitlabGetError) as err:
        register.files.get(file_path="b/x.md", ref="main")
    assert err.value.response_code == 404


def test_links_write_relation_notes(gl: Client) -> None:
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    first, second = (project.issues.create({"title": t}) for t in ("a", "b"))
    second.links.create({"target_project_id": REQUESTS, "target_issue_iid": first.iid})
    with pytest.raises(gitlab.GitlabCreateError) as err:
        first.links.create({"target_project_id": REQUESTS, "target_issue_iid": second.iid})
    assert err.value.response_code == 409
    (link,) = first.links.list(get_all=True)
    first.links.delete(link.issue_link_id)

    def bodies(iid: int) -> list[str]:
        notes = project.issues.get(iid, lazy=True).notes.list(get_all=True, sort="asc")
        return [n.body for n in notes]

    assert bodies(first.iid) == [
        f"marked this issue as related to #{second.iid}",
        f"removed the relation with #{second.iid}",
    ]
    assert bodies(second.iid)[0] == f"marked this issue as related to #{first.iid}"


def test_a_created_commit_reports_its_stats(gl: Client) -> None:
    register = gl("exception-bot").projects.get(REGISTER, lazy=True)
    made = register.commits.create(
        {
            "branch": "main",
            "commit_message": "EXC-0001\n\nApproved.",
            "actions": [
                {"action": "create", "file_path": "r.json", "content": "[\n1\n]\n"},
                {"action": "delete", "file_path": "README.md"},
            ],
        }
    )
    readme_lines = 4  # the demo seed's README
    assert made.stats == {"additions": 3, "deletions": readme_lines, "total": 3 + readme_lines}
    assert (made.title, made.message) == ("EXC-0001", "EXC-0001\n\nApproved.")
    assert register.commits.get(made.id).parent_ids == made.parent_ids


def test_raw_http_keep_alive_and_close(sandbox: Sandbox) -> None:
    host, port = sandbox.url.removeprefix("http://").split(":")
    token = sandbox.token("bob")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        request = f"GET /api/v4/user HTTP/1.1\r\nHost: x\r\nprivate-token: {token}\r\n\r\n"
        raw.sendall(request.encode() * 2)  # two pipelined requests on one connection
        answers = _read_until_closed_or(raw, count=2)
        assert answers.count(b"HTTP/1.1 200 OK") == 2
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(f"GET /api/v4/user HTTP/1.0\r\nPRIVATE-TOKEN: {token}\r\n\r\n".encode())
        answer = _read_until_closed_or(raw, count=99)  # HTTP/1.0: the server closes
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b'"username": "bob"' in answer


def _read_until_closed_or(raw: socket.socket, count: int) -> bytes:
    data = b""
    while data.count(b"HTTP/1.1 ") < count or not data.endswith(b"}"):
        chunk = raw.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_bad_bodies_and_values_answer_400(sandbox: Sandbox) -> None:
    headers = {"PRIVATE-TOKEN": sandbox.token("bob"), "Content-Type": "application/json"}
    url = f"{sandbox.url}/api/v4/projects/security%2Fexceptions/issues"
    assert requests.post(url, data="{not json", headers=headers, timeout=5).status_code == 400
    bad_date = requests.post(
        url, json={"title": "t", "due_date": "soon"}, headers=headers, timeout=5
    )
    assert (bad_date.status_code, bad_date.json()["message"]) == (
        400,
        "400 Bad request - due_date is invalid",
    )
    carol = sandbox.store.user_named("carol")
    assert carol is not None
    single = requests.post(
        url, json={"title": "t", "assignee_id": carol.id}, headers=headers, timeout=5
    )
    assert [a["username"] for a in single.json()["assignees"]] == ["carol"]
