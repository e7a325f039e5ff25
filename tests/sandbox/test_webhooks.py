"""The sandbox's webhooks as GitLab's (exception_bot/sandbox/webhooks.py, deliveries.py,
routes_hooks.py): the hooks API and its permissions, the payloads and headers a receiver gets
for a tick, a comment and a merge request, confidential routing, and the drop and delay
switches."""

from __future__ import annotations

import time
from collections.abc import Callable

import gitlab
import pytest
import requests

from exception_bot.sandbox import Sandbox
from tests.support.hook_receiver import Receiver

Client = Callable[[str], gitlab.Gitlab]
REQUESTS = "security/exceptions"
ALL_EVENTS = {
    "issues_events": True,
    "confidential_issues_events": True,
    "note_events": True,
    "confidential_note_events": True,
    "merge_requests_events": True,
    "push_events": False,
}
BODY = "Why: a legacy system\n\n- [ ] Department head approval\n- [ ] Security team approval\n"


def add_hook(gl: Client, url: str, token: str = "s3cret", **flags: bool) -> int:  # noqa: S107
    data = {"url": url, "token": token, **(flags or ALL_EVENTS)}
    return int(gl("exception-bot").projects.get(REQUESTS, lazy=True).hooks.create(data).id)


def open_issue(gl: Client, confidential: bool = False) -> int:
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    data = {"title": "Exception request", "description": BODY, "confidential": confidential}
    return int(project.issues.create(data).iid)


def tick(gl: Client, iid: int, item: str = "Department head approval") -> None:
    issue = gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid)
    issue.description = issue.description.replace(f"- [ ] {item}", f"- [x] {item}", 1)
    issue.save()


def status_of(call: Callable[[], object]) -> int:
    with pytest.raises(gitlab.GitlabError) as err:
        call()
    return int(err.value.response_code or 0)


# -- the hooks API ---------------------------------------------------------------------------


def test_project_hooks_need_a_maintainer_and_never_show_the_token(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.allow_local_webhooks()
    url = "http://127.0.0.1:9/hooks"
    for who in ("bob", "victor"):  # a Reporter, a Developer (through the group)
        hooks = gl(who).projects.get(REQUESTS, lazy=True).hooks
        assert status_of(lambda h=hooks: h.create({"url": url})) == 403  # type: ignore[misc]
        assert status_of(lambda h=hooks: h.list()) == 403  # type: ignore[misc]
    hook_id = add_hook(gl, url, token="top-secret")
    hooks = gl("exception-bot").projects.get(REQUESTS, lazy=True).hooks
    shown = hooks.get(hook_id).attributes
    assert shown["url"] == url
    assert shown["issues_events"] is True
    assert shown["alert_status"] == "executable"
    assert "token" not in shown
    assert "top-secret" not in str(shown)
    assert [h.id for h in hooks.list()] == [hook_id]
    hooks.update(hook_id, {"url": "http://127.0.0.1:10/hooks", "note_events": False})
    changed = hooks.get(hook_id)
    assert (changed.url, changed.note_events, changed.issues_events) == (
        "http://127.0.0.1:10/hooks",
        False,
        True,
    )
    hooks.delete(hook_id)
    assert hooks.list() == []
    assert status_of(lambda: hooks.get(hook_id)) == 404


def test_a_local_url_is_refused_until_the_admin_allows_it(sandbox: Sandbox, gl: Client) -> None:
    hooks = gl("exception-bot").projects.get(REQUESTS, lazy=True).hooks
    for url in ("http://127.0.0.1:8080/hooks", "http://localhost/h", "http://10.1.2.3/h"):
        assert status_of(lambda u=url: hooks.create({"url": u})) == 422  # type: ignore[misc]
    assert status_of(lambda: hooks.create({"url": "ftp://bot.example/h"})) == 422
    path = f"/projects/{sandbox.store.must_project(REQUESTS).id}/hooks"
    no_url = gl("exception-bot").http_post
    assert status_of(lambda: no_url(path, post_data={"issues_events": True})) == 400
    assert hooks.create({"url": "https://bot.example/hooks"}).push_events is True  # default
    sandbox.allow_local_webhooks()
    assert hooks.create({"url": "http://127.0.0.1:8080/hooks"}).url.startswith("http://127")


def test_group_hooks_are_premium_and_for_owners(sandbox: Sandbox, gl: Client) -> None:
    sandbox.allow_local_webhooks()
    data = {"url": "http://127.0.0.1:9/hooks", "issues_events": True}
    assert status_of(lambda: gl("alice").groups.get("engineering", lazy=True).hooks.list()) == 404
    sandbox.edition("premium")
    assert (
        status_of(lambda: gl("tom").groups.get("engineering", lazy=True).hooks.create(data)) == 403
    )
    made = gl("alice").groups.get("engineering", lazy=True).hooks.create(data)
    assert made.attributes["group_id"] == sandbox.store.must_group("engineering").id


# -- deliveries ------------------------------------------------------------------------------


def test_a_tick_delivers_an_issue_hook_with_gitlabs_headers_and_no_note_hook(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.allow_local_webhooks()
    with Receiver() as receiver:
        hook_id = add_hook(gl, receiver.url)
        iid = open_issue(gl)
        tick(gl, iid)
        assert sandbox.wait_for_deliveries()
        got = receiver.wait_for(2)
    by_action = {r.body["object_attributes"]["action"]: r for r in got}
    opened, ticked = by_action["open"], by_action["update"]
    assert len(receiver.received) == 2  # the checklist system note calls no note hook
    assert opened.body["object_attributes"]["action"] == "open"
    headers = ticked.headers
    assert headers["X-Gitlab-Event"] == "Issue Hook"
    assert headers["X-Gitlab-Token"] == "s3cret"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("GitLab/")
    assert headers["X-Gitlab-Instance"] == sandbox.url
    uuids = {r.headers["X-Gitlab-Event-UUID"] for r in receiver.received}
    assert len(uuids) == 2
    assert all(len(u) == 36 for u in uuids)
    assert headers["X-Gitlab-Webhook-UUID"] != opened.headers["X-Gitlab-Webhook-UUID"]
    body = ticked.body
    assert (body["object_kind"], body["event_type"]) == ("issue", "issue")
    assert body["project"]["path_with_namespace"] == REQUESTS
    assert body["project"]["id"] == sandbox.store.must_project(REQUESTS).id
    assert body["user"]["username"] == "bob"
    attributes = body["object_attributes"]
    assert (attributes["iid"], attributes["action"], attributes["state"]) == (
        iid,
        "update",
        "opened",
    )
    change = body["changes"]["description"]
    assert "- [ ] Department head approval" in change["previous"]
    assert "- [x] Department head approval" in change["current"]
    assert "labels" not in body["changes"]
    assert [d.hook_id for d in sandbox.deliveries] == [hook_id, hook_id]
    assert all(d.status == 200 for d in sandbox.deliveries)


def test_label_changes_carry_label_objects(sandbox: Sandbox, gl: Client) -> None:
    sandbox.allow_local_webhooks()
    with Receiver() as receiver:
        add_hook(gl, receiver.url)
        iid = open_issue(gl)
        project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
        project.issues.update(iid, {"add_labels": "exception::submitted"})
        got = receiver.wait_for(2)
    (labelled,) = [r for r in got if r.body["object_attributes"]["action"] == "update"]
    change = labelled.body["changes"]["labels"]
    assert change["previous"] == []
    assert [lb["title"] for lb in change["current"]] == ["exception::submitted"]
    assert [lb["title"] for lb in labelled.body["labels"]] == ["exception::submitted"]
    assert labelled.body["user"]["username"] == "exception-bot"


def test_confidential_issues_go_only_to_hooks_that_ask_for_them(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.allow_local_webhooks()
    with Receiver() as plain, Receiver() as secret:
        add_hook(gl, plain.url, issues_events=True, note_events=True)
        add_hook(gl, secret.url, confidential_issues_events=True, confidential_note_events=True)
        iid = open_issue(gl, confidential=True)
        tick(gl, iid)
        gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid).notes.create({"body": "hi"})
        got = secret.wait_for(3)
        assert sandbox.wait_for_deliveries()
    assert plain.received == []
    # Sidekiq runs deliveries side by side: they may arrive in any order
    assert sorted(r.event for r in got) == [
        "Confidential Issue Hook",
        "Confidential Issue Hook",
        "Confidential Note Hook",
    ]
    issues = [r.body for r in got if r.event == "Confidential Issue Hook"]
    assert {b["event_type"] for b in issues} == {"confidential_issue"}
    (note,) = [r.body for r in got if r.event == "Confidential Note Hook"]
    assert (note["object_kind"], note["event_type"]) == ("note", "confidential_note")
    assert note["object_attributes"]["noteable_type"] == "Issue"
    assert note["object_attributes"]["note"] == "hi"
    assert note["object_attributes"]["system"] is False
    assert note["issue"]["iid"] == iid


def test_a_comment_with_a_quick_action_calls_the_note_and_the_issue_hooks(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.allow_local_webhooks()
    with Receiver() as receiver:
        add_hook(gl, receiver.url)
        iid = open_issue(gl)
        issue = gl("exception-bot").projects.get(REQUESTS, lazy=True).issues.get(iid)
        issue.notes.create({"body": "Looks fine\n/label ~exception::submitted"})
        got = receiver.wait_for(3)
    assert sorted(r.event for r in got) == ["Issue Hook", "Issue Hook", "Note Hook"]
    note = next(r for r in got if r.event == "Note Hook").body
    assert note["object_attributes"]["note"] == "Looks fine"


def test_an_edited_comment_calls_the_note_hook_again_as_its_author(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.allow_local_webhooks()
    with Receiver() as receiver:
        add_hook(gl, receiver.url)
        iid = open_issue(gl)
        note = (
            gl("bob")
            .projects.get(REQUESTS, lazy=True)
            .issues.get(iid)
            .notes.create({"body": "first"})
        )
        receiver.wait_for(2)
        # a Maintainer edits bob's comment (admin_note): the payload's user is still its author
        edited = gl("exception-bot").projects.get(REQUESTS, lazy=True).issues.get(iid)
        edited.notes.update(note.id, {"body": "second"})
        edited.notes.update(note.id, {"body": "second"})  # unchanged text: no hook
        assert sandbox.wait_for_deliveries()
        got = receiver.wait_for(3)
    assert len(receiver.received) == 3
    update = got[2].body
    assert update["object_attributes"]["action"] == "update"
    assert update["object_attributes"]["note"] == "second"
    assert update["user"]["username"] == "bob"


def test_merge_requests_call_merge_request_hooks(sandbox: Sandbox, gl: Client) -> None:
    sandbox.allow_local_webhooks()
    register = "security/exception-register"
    with Receiver() as receiver:
        project = gl("exception-bot").projects.get(register, lazy=True)
        project.hooks.create({"url": receiver.url, "merge_requests_events": True})
        project.branches.create({"branch": "entry", "ref": "main"})
        data = {"source_branch": "entry", "target_branch": "main", "title": "Add an entry"}
        made = project.mergerequests.create(data)
        (got,) = receiver.wait_for(1)
    assert got.event == "Merge Request Hook"
    assert got.body["object_attributes"]["iid"] == made.iid
    assert got.body["object_attributes"]["action"] == "open"


def test_a_request_never_waits_on_a_slow_receiver(sandbox: Sandbox, gl: Client) -> None:
    sandbox.allow_local_webhooks()
    with Receiver(pause=1.5) as receiver:
        add_hook(gl, receiver.url)
        started = time.monotonic()
        open_issue(gl)
        assert time.monotonic() - started < 1.0
        receiver.wait_for(1)


def test_a_failing_receiver_is_not_retried_and_its_hook_backs_off(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.allow_local_webhooks()
    with Receiver(status=500) as receiver:
        hook_id = add_hook(gl, receiver.url)
        for _ in range(5):
            open_issue(gl)
            assert sandbox.wait_for_deliveries()
    # the fourth failure in a row disables the hook for a minute: the fifth is not sent
    assert len(receiver.received) == 4
    assert [d.status for d in sandbox.deliveries] == [500] * 4
    shown = gl("exception-bot").projects.get(REQUESTS, lazy=True).hooks.get(hook_id)
    assert shown.alert_status == "temporarily_disabled"
    assert shown.disabled_until


def test_an_unreachable_receiver_is_logged_and_dropped(sandbox: Sandbox, gl: Client) -> None:
    sandbox.allow_local_webhooks()
    with Receiver() as gone:
        url = gone.url
    add_hook(gl, url)
    open_issue(gl)
    assert sandbox.wait_for_deliveries()
    (delivery,) = sandbox.deliveries
    assert delivery.status is None
    assert delivery.error
    assert not delivery.dropped


def test_the_drop_switch_loses_a_seeded_fraction(sandbox: Sandbox, gl: Client) -> None:
    sandbox.allow_local_webhooks()
    with Receiver() as receiver:
        add_hook(gl, receiver.url)
        sandbox.webhook_faults(drop=0.5, seed=7)
        for _ in range(20):
            open_issue(gl)
        assert sandbox.wait_for_deliveries()
        lost = [d for d in sandbox.deliveries if d.dropped]
        assert 3 <= len(lost) <= 17
        assert len(receiver.received) == 20 - len(lost)
    first = [d.dropped for d in sandbox.deliveries]
    sandbox.reset()
    sandbox.allow_local_webhooks()
    with Receiver() as again:
        add_hook(gl, again.url)
        sandbox.webhook_faults(drop=0.5, seed=7)
        for _ in range(20):
            open_issue(gl)
        assert sandbox.wait_for_deliveries()
    assert [d.dropped for d in sandbox.deliveries] == first  # the same seed, the same losses


def test_the_delay_switch_sends_late(sandbox: Sandbox, gl: Client) -> None:
    sandbox.allow_local_webhooks()
    with Receiver() as receiver:
        add_hook(gl, receiver.url)
        sandbox.webhook_faults(delay=0.6)
        started = time.monotonic()
        open_issue(gl)
        (got,) = receiver.wait_for(1)
    assert got.at - started >= 0.6


def test_the_control_plane_sets_the_switches_and_lists_deliveries(
    sandbox: Sandbox, gl: Client
) -> None:
    control = f"{sandbox.url}/-/sandbox"
    assert requests.put(f"{control}/webhook-settings", json={"allow_local": True}, timeout=5).ok
    assert requests.post(f"{control}/webhook-faults", json={"drop": 1.0}, timeout=5).ok
    with Receiver() as receiver:
        add_hook(gl, receiver.url)
        open_issue(gl)
        assert sandbox.wait_for_deliveries()
    assert receiver.received == []
    (listed,) = requests.get(f"{control}/deliveries", timeout=5).json()
    assert listed["dropped"] is True
    assert listed["event"] == "Issue Hook"
    assert "X-Gitlab-Token" not in listed["headers"]


def test_a_change_before_the_hook_existed_is_not_delivered_to_it(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.allow_local_webhooks()
    store = sandbox.store
    bob = store.user_named("bob")
    assert bob is not None
    store.create_issue(store.must_project(REQUESTS), bob, "made before any hook")
    with Receiver() as receiver:
        add_hook(gl, receiver.url)  # the first request since: the change above is old news
        iid = open_issue(gl)
        assert sandbox.wait_for_deliveries()
    assert [r.body["object_attributes"]["iid"] for r in receiver.received] == [iid]


def test_a_request_made_by_a_hooks_receiver_passes_its_event_uuid_on(
    sandbox: Sandbox, gl: Client
) -> None:
    """lib/gitlab/web_hooks/recursion_detection: a request carrying X-Gitlab-Event-UUID (a
    receiver calling the API while it handles a delivery) gives its own deliveries that UUID."""
    sandbox.allow_local_webhooks()
    with Receiver() as receiver:
        add_hook(gl, receiver.url)
        iid = open_issue(gl)
        project_id = sandbox.store.must_project(REQUESTS).id
        requests.put(
            f"{sandbox.url}/api/v4/projects/{project_id}/issues/{iid}",
            json={"add_labels": "exception::submitted"},
            headers={"PRIVATE-TOKEN": sandbox.token("exception-bot"), "X-Gitlab-Event-UUID": "u-1"},
            timeout=5,
        ).raise_for_status()
        got = receiver.wait_for(2)
    uuids = {r.body["object_attributes"]["action"]: r.headers["X-Gitlab-Event-UUID"] for r in got}
    assert uuids["update"] == "u-1"
    assert uuids["open"] != "u-1"
