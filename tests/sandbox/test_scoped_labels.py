"""Scoped labels and assignees on each edition, as GitLab keeps them.

Read in gitlabhq: app/services/issuable/callbacks/labels.rb (compute_new_label_ids: the
request's labels, then add_labels, then remove_labels, remove winning), its EE override
ee/app/services/ee/issuable/callbacks/labels.rb (filter_mutually_exclusive_labels, only with
the licensed feature scoped_labels: a scope that holds two labels, one of them just added,
keeps the one that comes last in add_label_ids + label_ids), ee/app/models/scoped_label_set.rb
(``last_id_by_order``), ee/app/models/ee/label.rb (the scope is the title up to its last
``::``), issuable/common_system_notes_service.rb and resource_events/change_labels_service.rb
(one event per label added, then per label removed, by the user of the request: Premium's
removal reads as theirs), and ee/app/models/ee/issue.rb (several assignees only with
multiple_issue_assignees). ee/app/models/gitlab_subscriptions/features.rb puts both features
in Premium; on Free, ``::`` is just characters."""

from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest

from exception_bot.sandbox import DEMO, Sandbox
from exception_bot.sandbox.seed import SeedError, load, read
from exception_bot.sandbox.store import Store

Client = Callable[[str], gitlab.Gitlab]
REQUESTS = "security/exceptions"


def opened(gl: Client, labels: str) -> int:
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    return int(project.issues.create({"title": "t", "description": "d", "labels": labels}).iid)


def update(gl: Client, iid: int, user: str = "carol", **changes: object) -> list[str]:
    issue = gl(user).projects.get(REQUESTS, lazy=True).issues.update(iid, changes)
    return sorted(issue["labels"])


def labels(gl: Client, iid: int) -> list[str]:
    return sorted(gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid).labels)


def events(gl: Client, iid: int) -> list[tuple[str, str, str]]:
    issue = gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid, lazy=True)
    return [
        (e.user["username"], e.action, e.label["name"])
        for e in issue.resourcelabelevents.list(get_all=True)
    ]


def test_free_keeps_two_labels_of_one_scope(sandbox: Sandbox, gl: Client) -> None:
    iid = opened(gl, "state::open")
    assert update(gl, iid, add_labels="state::closed") == ["state::closed", "state::open"]
    assert events(gl, iid)[-1] == ("carol", "add", "state::closed")


def test_premium_removes_the_other_label_of_the_scope_as_the_adders_event(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.edition("premium")
    iid = opened(gl, "state::open,other::x")
    assert update(gl, iid, add_labels="state::closed") == ["other::x", "state::closed"]
    # change_labels_service.rb: the added labels' events first, then the removed ones'
    assert events(gl, iid)[-2:] == [
        ("carol", "add", "state::closed"),
        ("carol", "remove", "state::open"),
    ]


def test_premium_keeps_the_last_label_of_a_scope_in_the_request(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.edition("premium")
    iid = opened(gl, "state::open")
    assert update(gl, iid, add_labels="state::b,state::a") == ["state::a"]
    # labels= replaces: its order counts after add_labels', a label already there included
    assert update(gl, iid, labels="state::c,state::a") == ["state::a"]
    assert update(gl, iid, labels="state::a,state::d") == ["state::d"]


def test_premium_scopes_nest_by_the_last_double_colon(sandbox: Sandbox, gl: Client) -> None:
    sandbox.edition("premium")
    iid = opened(gl, "a::b::c,a::x")
    assert update(gl, iid, add_labels="a::b::d") == ["a::b::d", "a::x"]
    assert update(gl, iid, add_labels="a::y") == ["a::b::d", "a::y"]


def test_premium_leaves_a_scope_alone_when_nothing_is_added_to_it(
    sandbox: Sandbox, gl: Client
) -> None:
    iid = opened(gl, "state::open,state::closed")  # two of one scope, from the Free days
    sandbox.edition("premium")
    assert update(gl, iid, add_labels="other::x") == ["other::x", "state::closed", "state::open"]
    assert update(gl, iid, remove_labels="other::x") == ["state::closed", "state::open"]


def test_premium_swap_with_the_old_label_removed_writes_one_removal(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.edition("premium")
    iid = opened(gl, "state::open")
    before = len(events(gl, iid))
    changes = {"add_labels": "state::closed", "remove_labels": "state::open"}
    assert update(gl, iid, "exception-bot", **changes) == ["state::closed"]
    assert events(gl, iid)[before:] == [
        ("exception-bot", "add", "state::closed"),
        ("exception-bot", "remove", "state::open"),
    ]


def test_premium_applies_to_quick_actions_and_to_creation(sandbox: Sandbox, gl: Client) -> None:
    sandbox.edition("premium")
    project = gl("exception-bot").projects.get(REQUESTS, lazy=True)
    for name in ("state::open", "state::closed"):
        project.labels.create({"name": name, "color": "#6699cc"})
    iid = opened(gl, "state::open,state::closed")
    assert labels(gl, iid) == ["state::closed"]  # the later of the two
    issue = gl("carol").projects.get(REQUESTS, lazy=True).issues.get(iid)
    issue.notes.create({"body": '/label ~"state::open"'})
    assert labels(gl, iid) == ["state::open"]
    assert events(gl, iid)[-2:] == [
        ("carol", "add", "state::open"),
        ("carol", "remove", "state::closed"),
    ]


def test_premium_keeps_every_assignee_and_free_the_first(sandbox: Sandbox, gl: Client) -> None:
    iid = opened(gl, "")
    ids = [user.id for u in ("carol", "erin") if (user := sandbox.store.user_named(u))]
    issue = gl("exception-bot").projects.get(REQUESTS, lazy=True).issues
    assert [a["id"] for a in issue.update(iid, {"assignee_ids": ids})["assignees"]] == ids[:1]
    sandbox.edition("premium")
    assert [a["id"] for a in issue.update(iid, {"assignee_ids": ids})["assignees"]] == ids


def test_a_seed_names_its_edition() -> None:
    with Sandbox({**read(DEMO), "edition": "premium"}) as premium:
        assert premium.store.edition == "premium"
        premium.reset()  # the seed again: still Premium
        assert premium.store.edition == "premium"
    with pytest.raises(SeedError, match="edition must be one of free, premium"):
        load(Store(), {"edition": "ultimate"})
    with pytest.raises(ValueError, match="edition must be one of free, premium"):
        Sandbox().edition("gold")
