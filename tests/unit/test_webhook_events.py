"""What a webhook delivery asks of ``serve``: which issue to run again, the register watch, or
nothing and why (exception_bot/service/events.py), on GitLab's documented payload shapes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from exception_bot.domain.settings import Config
from exception_bot.service.events import (
    Ignored,
    IssueWork,
    Malformed,
    WatchWork,
    work_for,
)
from exception_bot.service.metrics import endpoint
from exception_bot.service.queue import QueueFull, WorkQueue

REQUESTS = {"id": 7, "path_with_namespace": "security/exceptions"}
REGISTER = {"id": 8, "path_with_namespace": "security/exception-register"}
OTHER = {"id": 9, "path_with_namespace": "team/elsewhere"}


def issue(project: dict[str, Any], iid: Any = 5) -> dict[str, Any]:
    return {"object_kind": "issue", "project": project, "object_attributes": {"iid": iid}}


def note(project: dict[str, Any], noteable: str = "Issue", iid: Any = 5) -> dict[str, Any]:
    return {
        "object_kind": "note",
        "project": project,
        "object_attributes": {"noteable_type": noteable},
        "issue": {"iid": iid},
    }


def mr(project: dict[str, Any]) -> dict[str, Any]:
    return {"object_kind": "merge_request", "project": project, "object_attributes": {"iid": 3}}


@pytest.mark.parametrize(
    ("hook", "payload", "expected"),
    [
        ("Issue Hook", issue(REQUESTS), IssueWork("security/exceptions", 5)),
        ("Confidential Issue Hook", issue(REQUESTS, 9), IssueWork("security/exceptions", 9)),
        ("Note Hook", note(REQUESTS), IssueWork("security/exceptions", 5)),
        ("Confidential Note Hook", note(REQUESTS), IssueWork("security/exceptions", 5)),
        # GitLab compares paths without regard to case
        (
            "Issue Hook",
            issue({"id": 7, "path_with_namespace": "Security/Exceptions"}),
            IssueWork("security/exceptions", 5),
        ),
        ("Merge Request Hook", mr(REGISTER), WatchWork()),
        ("Note Hook", note(REGISTER, "MergeRequest"), WatchWork()),
        ("Merge Request Hook", mr(REQUESTS), Ignored.NOT_A_REQUEST),
        ("Note Hook", note(REQUESTS, "MergeRequest"), Ignored.NOT_A_REQUEST),
        ("Note Hook", note(REQUESTS, "Commit"), Ignored.NOT_A_REQUEST),
        ("Issue Hook", issue(REGISTER), Ignored.NOT_A_REQUEST),
        ("Note Hook", note(REGISTER), Ignored.NOT_A_REQUEST),
        ("Issue Hook", issue(OTHER), Ignored.UNKNOWN_PROJECT),
        ("Merge Request Hook", mr(OTHER), Ignored.UNKNOWN_PROJECT),
        ("Push Hook", {"object_kind": "push"}, Ignored.UNKNOWN_EVENT),
        ("Pipeline Hook", "not even an object", Ignored.UNKNOWN_EVENT),
        ("", issue(REQUESTS), Ignored.UNKNOWN_EVENT),
    ],
)
def test_a_delivery_asks_for_its_issue_the_watch_or_nothing(
    config: Config, hook: str, payload: object, expected: object
) -> None:
    assert work_for(hook, payload, config) == expected


def test_the_bots_own_writes_ask_for_nothing(config: Config) -> None:
    bot = {"username": config.gitlab.bot_user.upper()}
    assert work_for("Issue Hook", {**issue(REQUESTS), "user": bot}, config) == Ignored.OWN_EVENT
    assert work_for("Note Hook", {**note(REQUESTS), "user": bot}, config) == Ignored.OWN_EVENT
    other = {"username": "carol"}
    assert work_for("Note Hook", {**note(REQUESTS), "user": other}, config) == IssueWork(
        "security/exceptions", 5
    )


def test_a_project_the_config_names_by_id_is_known_by_its_id(config: Config) -> None:
    (project,) = config.gitlab.requests_projects
    by_id = replace(
        config, gitlab=replace(config.gitlab, requests_projects=(replace(project, path="7"),))
    )
    assert work_for("Issue Hook", issue(REQUESTS), by_id) == IssueWork("7", 5)


@pytest.mark.parametrize(
    ("hook", "payload"),
    [
        ("Issue Hook", []),
        ("Issue Hook", {"object_kind": "note", "project": REQUESTS}),  # the header lies
        ("Issue Hook", {"object_kind": "issue", "object_attributes": {"iid": 5}}),
        ("Issue Hook", {"object_kind": "issue", "project": {"id": 7}}),
        ("Issue Hook", {"object_kind": "issue", "project": {**REQUESTS, "id": "7"}}),
        ("Issue Hook", {"object_kind": "issue", "project": REQUESTS}),
        ("Issue Hook", issue(REQUESTS, "5")),
        ("Issue Hook", issue(REQUESTS, 0)),
        ("Issue Hook", issue(REQUESTS, -3)),
        ("Issue Hook", issue(REQUESTS, True)),
        ("Issue Hook", issue(REQUESTS, 2**40)),
        ("Issue Hook", issue({"id": 7, "path_with_namespace": "x" * 6000})),
        ("Note Hook", {**note(REQUESTS), "issue": None}),
    ],
)
def test_a_body_unlike_its_hooks_payload_is_malformed(
    config: Config, hook: str, payload: object
) -> None:
    with pytest.raises(Malformed):
        work_for(hook, payload, config)


def test_events_for_one_issue_wait_as_one_entry_from_the_first() -> None:
    queue = WorkQueue()
    a, b = IssueWork("p", 1), IssueWork("p", 2)
    assert queue.put(a, at=10.0)
    assert queue.put(b, at=11.0)
    assert not queue.put(a, at=12.0)
    assert queue.depth() == 2
    assert queue.oldest(now=15.0) == 5.0
    taken = queue.take(0.0)
    assert [(w.work, w.since, w.events) for w in taken] == [(a, 10.0, 2), (b, 11.0, 1)]
    assert queue.take(0.0) == []
    assert queue.put(a, at=20.0)  # an event while its run is under way queues it again
    queue.put_back(taken[:1])  # a failed run's entries go first, from their first event
    (again,) = queue.take(0.0)
    assert (again.since, again.events) == (10.0, 3)


def test_a_batch_takes_the_oldest_entries_first() -> None:
    queue = WorkQueue()
    for n in range(5):
        queue.put(IssueWork("p", n), at=float(n))
    assert [w.work for w in queue.take(0.0, limit=2)] == [IssueWork("p", 0), IssueWork("p", 1)]
    assert queue.depth() == 3


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_issue_runs_at_most_once_a_cooldown_and_its_later_events_wait_together() -> None:
    clock = Clock()
    queue = WorkQueue(cooldown=10.0, clock=clock)
    a, b = IssueWork("p", 1), IssueWork("p", 2)
    queue.put(a)
    assert [w.work for w in queue.take(0.0)] == [a]  # a quiet issue: at once
    clock.now += 1
    queue.put(a)  # while its run is under way
    queue.done()  # the run ends at 101: the cooldown runs from there
    for _ in range(2):
        queue.put(a)
    queue.put(b)
    assert [w.work for w in queue.take(0.0)] == [b]  # a waits for its cooldown's end
    queue.done()
    clock.now += 9.5
    assert queue.take(0.0) == []
    clock.now += 0.5
    (again,) = queue.take(0.0)
    assert (again.work, again.since, again.events) == (a, 101.0, 3)


def test_a_failed_runs_entries_are_out_of_their_cooldown() -> None:
    clock = Clock()
    queue = WorkQueue(cooldown=10.0, clock=clock)
    queue.put(IssueWork("p", 1))
    taken = queue.take(0.0)
    queue.put_back(taken)
    queue.done()
    assert queue.take(0.0) == taken


def test_a_delivery_id_counts_once_and_the_memory_is_bounded() -> None:
    queue = WorkQueue(seen=3)
    assert queue.first_delivery("a")
    assert not queue.first_delivery("a")
    for uuid in "bcd":
        assert queue.first_delivery(uuid)
    assert queue.first_delivery("a")  # forgotten: the oldest of more than three


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/api/v4/user", "/user"),
        (
            "/api/v4/projects/security%2Fexceptions/issues/12/notes",
            "/projects/:id/issues/:id/notes",
        ),
        (
            "/api/v4/projects/3/repository/files/exceptions%2FEXC.md/raw",
            "/projects/:id/repository/files/:id/raw",
        ),
        ("/api/v4/projects/3/repository/branches/main", "/projects/:id/repository/branches/:id"),
        ("/api/v4/groups/sec%2Fleads/members/all", "/groups/:id/members/all"),
        ("/api/v4/groups/sec/members/42", "/groups/:id/members/:id"),
        ("/api/v4/projects/3/issues", "/projects/:id/issues"),
    ],
)
def test_an_api_path_is_counted_by_its_shape(path: str, shape: str) -> None:
    assert endpoint(path) == shape


def test_the_queue_is_bounded_and_a_full_queue_still_coalesces() -> None:
    """Anyone with the secret could queue every iid there is: past ``limit`` entries a new
    issue is refused (the full pass sees it), an issue already waiting still takes its event,
    and a failed run's entries go back whatever the limit."""
    queue = WorkQueue(limit=2)
    a, b, c = IssueWork("p", 1), IssueWork("p", 2), IssueWork("p", 3)
    assert queue.put(a)
    assert queue.put(b)
    with pytest.raises(QueueFull):
        queue.put(c)
    assert not queue.put(a)
    assert queue.depth() == 2
    taken = queue.take(0.0)
    assert queue.put(c)
    queue.put_back(taken)
    assert queue.depth() == 3


def work_item(project: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    """An Issue Hook for a work item (webhook_events.md, "Work item events": object_kind
    ``work_item`` for every type but issues; an epic's ``project`` is null)."""
    return {
        "object_kind": "work_item",
        "project": project,
        "object_attributes": {"iid": 5, "type": kind},
    }


@pytest.mark.parametrize(
    ("hook", "payload", "expected"),
    [
        ("Issue Hook", work_item(REQUESTS, "Task"), Ignored.NOT_A_REQUEST),
        ("Confidential Issue Hook", work_item(REQUESTS, "Incident"), Ignored.NOT_A_REQUEST),
        ("Issue Hook", work_item(None, "Epic"), Ignored.NOT_A_REQUEST),
        # an issue edited through the work items UI may come as a work item: still an issue
        ("Issue Hook", work_item(REQUESTS, "Issue"), IssueWork("security/exceptions", 5)),
        # a comment on a group's own object (an epic) has no project
        ("Note Hook", {**note(REQUESTS, "Epic"), "project": None}, Ignored.UNKNOWN_PROJECT),
        # a project deep in a group hook's subgroups (20 levels of up to 255 characters)
        (
            "Issue Hook",
            issue({"id": 9, "path_with_namespace": "/".join(["g" * 255] * 20)}),
            Ignored.UNKNOWN_PROJECT,
        ),
    ],
)
def test_gitlabs_other_work_items_are_ignored_not_refused(
    config: Config, hook: str, payload: object, expected: object
) -> None:
    """A 4xx counts towards GitLab disabling the hook, and anyone may make a task or an
    incident in the requests project: GitLab's own payloads are never answered 400."""
    assert work_for(hook, payload, config) == expected


def test_the_register_watch_runs_at_most_once_a_watch_cooldown() -> None:
    """A register merge request's events ask for a full pass (every open request read): a
    comment loop on one must not make the service read everything every few seconds."""
    clock = Clock()
    queue = WorkQueue(cooldown=0.0, clock=clock, watch_cooldown=60.0)
    queue.put(WatchWork())
    assert [w.work for w in queue.take(0.0)] == [WatchWork()]  # a quiet register: at once
    queue.done()
    queue.put(WatchWork())
    queue.put(IssueWork("p", 1))
    assert [w.work for w in queue.take(0.0)] == [IssueWork("p", 1)]  # issues keep theirs
    queue.done()
    clock.now += 59
    assert queue.take(0.0) == []
    clock.now += 1
    assert [w.work for w in queue.take(0.0)] == [WatchWork()]


def test_only_the_bots_own_ascii_name_is_its_own_event(config: Config) -> None:
    """GitLab usernames are ASCII and compared without regard to case; a payload's name that
    only case folding makes the bot's (the Kelvin sign U+212A folds to k) is someone else."""
    kbot = replace(config, gitlab=replace(config.gitlab, bot_user="kbot"))
    forged = {**issue(REQUESTS), "user": {"username": "\u212abot"}}
    assert work_for("Issue Hook", forged, kbot) == IssueWork("security/exceptions", 5)
    own = {**issue(REQUESTS), "user": {"username": "KBot"}}
    assert work_for("Issue Hook", own, kbot) == Ignored.OWN_EVENT
