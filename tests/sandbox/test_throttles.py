"""GitLab's rate limits as the sandbox imposes them (exception_bot/sandbox/throttles.py).

Rack::Attack's throttles: lib/gitlab/rack_attack.rb and
lib/gitlab/rack_attack/request_throttle_data.rb (headers, epoch-aligned windows, the limit
rounded to a minute), lib/gitlab/middleware/rack_attack_headers.rb (GitLab.com's headers on
every answer). The application limits: lib/gitlab/application_rate_limiter.rb, lib/api/notes.rb,
lib/api/issues.rb, and lib/api/helpers/rate_limiter.rb (the JSON 429 without headers)."""

from __future__ import annotations

import math
import time

import pytest
import requests

from exception_bot.sandbox import Sandbox

NOTES = "/api/v4/projects/security%2Fexceptions/issues/{iid}/notes"
ISSUES = "/api/v4/projects/security%2Fexceptions/issues"
COMMON = {
    "RateLimit-Name",
    "RateLimit-Limit",
    "RateLimit-Observed",
    "RateLimit-Remaining",
    "RateLimit-Reset",
}
THROTTLED_ONLY = {"Retry-After", "RateLimit-ResetTime"}
TOO_MANY = {
    "message": {"error": "This endpoint has been requested too many times. Try again later."}
}


def as_user(sandbox: Sandbox, user: str, method: str, path: str, **kw: object) -> requests.Response:
    headers = {"PRIVATE-TOKEN": sandbox.token(user)}
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, timeout=5, **kw)  # type: ignore[arg-type]


def rate_headers(answer: requests.Response) -> set[str]:
    return {name for name in COMMON | THROTTLED_ONLY if name in answer.headers}


def test_self_managed_sends_the_headers_only_with_the_429(sandbox: Sandbox) -> None:
    sandbox.rate_limit(2, window_seconds=3600)
    answers = [as_user(sandbox, "bob", "GET", "/api/v4/user") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [rate_headers(a) for a in answers[:2]] == [set(), set()]
    throttled = answers[2]
    assert throttled.text == "Retry later\n"
    assert throttled.headers["Content-Type"].startswith("text/plain")
    assert rate_headers(throttled) == COMMON | THROTTLED_ONLY
    assert throttled.headers["RateLimit-Name"] == "throttle_authenticated_api"
    assert throttled.headers["RateLimit-Limit"] == "1"  # 2 an hour, rounded up to a minute
    assert (throttled.headers["RateLimit-Observed"], throttled.headers["RateLimit-Remaining"]) == (
        "3",  # the refused request is counted too
        "0",
    )
    reset = int(throttled.headers["RateLimit-Reset"])
    assert reset % 3600 == 0  # windows are aligned on the Unix epoch
    assert reset - int(throttled.headers["Retry-After"]) <= time.time() + 1
    assert throttled.headers["RateLimit-ResetTime"].endswith("GMT")
    assert as_user(sandbox, "carol", "GET", "/api/v4/user").ok  # counted per user


def test_gitlab_com_sends_the_headers_on_every_answer(sandbox: Sandbox) -> None:
    sandbox.rate_limit(50, window_seconds=2, mode="gitlab.com")
    answers = [as_user(sandbox, "bob", "GET", "/api/v4/user") for _ in range(3)]
    answers.append(as_user(sandbox, "bob", "GET", "/api/v4/projects/nope%2Fnope"))
    assert [a.status_code for a in answers] == [200, 200, 200, 404]
    assert all(rate_headers(a) == COMMON for a in answers)
    assert {a.headers["RateLimit-Limit"] for a in answers} == {str(math.ceil(50 * 60 / 2))}
    for answer in answers:  # observed and remaining add up to the real limit, not the header's
        seen, left = answer.headers["RateLimit-Observed"], answer.headers["RateLimit-Remaining"]
        assert int(seen) + int(left) == 50
        assert int(answer.headers["RateLimit-Reset"]) % 2 == 0


def test_gitlab_com_counts_down_to_its_429(sandbox: Sandbox) -> None:
    sandbox.rate_limit(3, window_seconds=3600, mode="gitlab.com")
    answers = [as_user(sandbox, "bob", "GET", "/api/v4/user") for _ in range(4)]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert rate_headers(answers[3]) == COMMON | THROTTLED_ONLY


def open_issue(sandbox: Sandbox, user: str = "bob") -> requests.Response:
    return as_user(sandbox, user, "POST", ISSUES, json={"title": "t", "description": "d"})


def test_note_creation_past_its_limit_is_a_json_429_without_headers(sandbox: Sandbox) -> None:
    iid = open_issue(sandbox).json()["iid"]
    sandbox.application_limits(notes_create=1)
    path = NOTES.format(iid=iid)
    assert as_user(sandbox, "bob", "POST", path, json={"body": "one"}).status_code == 201
    refused = as_user(sandbox, "bob", "POST", path, json={"body": "two"})
    assert refused.status_code == 429
    assert refused.json() == TOO_MANY
    assert refused.headers["Content-Type"].startswith("application/json")
    assert rate_headers(refused) == set()  # nothing says when to come back
    bodies = [n["body"] for n in as_user(sandbox, "bob", "GET", path).json() if not n["system"]]
    assert bodies == ["one"]  # refused before anything was done
    assert as_user(sandbox, "carol", "POST", path, json={"body": "three"}).status_code == 201
    assert as_user(sandbox, "bob", "PUT", f"{ISSUES}/{iid}", json={"title": "u"}).ok


def test_issue_creation_past_its_limit_is_the_same_json_429(sandbox: Sandbox) -> None:
    sandbox.application_limits(issues_create=2, interval_seconds=3600)
    answers = [open_issue(sandbox) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json() == TOO_MANY
    assert rate_headers(answers[2]) == set()


def test_the_control_plane_sets_both_kinds(sandbox: Sandbox) -> None:
    control = f"{sandbox.url}/-/sandbox"
    limit: dict[str, str | int] = {"limit": 1, "window": 60, "mode": "gitlab.com"}
    assert requests.post(f"{control}/rate-limit", json=limit, timeout=5).ok
    assert "RateLimit-Remaining" in as_user(sandbox, "bob", "GET", "/api/v4/user").headers
    bad = requests.post(f"{control}/rate-limit", json={**limit, "mode": "saas"}, timeout=5)
    assert bad.status_code == 400
    assert "gitlab.com" in bad.json()["message"]
    limits = {"issues_create": 1, "interval": 3600}
    assert requests.post(f"{control}/application-limits", json=limits, timeout=5).ok
    unknown = requests.post(f"{control}/application-limits", json={"notes": 1}, timeout=5)
    assert unknown.status_code == 400


@pytest.mark.parametrize("mode", ["self-managed", "gitlab.com"])
def test_a_new_window_starts_afresh(sandbox: Sandbox, mode: str) -> None:
    sandbox.rate_limit(1, window_seconds=1, mode=mode)
    deadline = time.time() + 5
    statuses: list[int] = []
    while 429 not in statuses and time.time() < deadline:
        statuses.append(as_user(sandbox, "bob", "GET", "/api/v4/user").status_code)
    assert 429 in statuses
    time.sleep(1.05)  # the window's end is at most a second away
    assert as_user(sandbox, "bob", "GET", "/api/v4/user").ok
