"""GitLab's ``updated_at`` as the sandbox keeps it: a change to the issue's own columns (title,
description, state, confidentiality, due date, lock) moves it; a comment, a label, an assignee or
a link only *touches* the issue, and Issue includes ThrottledTouch
(app/models/concerns/throttled_touch.rb): ``super if (Time.zone.now - updated_at) >
TOUCH_INTERVAL``, one minute. Read in gitlabhq: app/models/note.rb (after_save touch_noteable),
app/services/issuable/callbacks/labels.rb and issuable_base_service.rb
(assign_requested_assignees: ``issuable.touch``), issuable/common_system_notes_service.rb (its
system notes under ``no_touching``), notes/destroy_service.rb (a deletion touches nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import gitlab
import pytest
from gitlab.v4.objects import ProjectIssue

from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
REQUESTS = "security/exceptions"
START = datetime(2027, 1, 4, 9, tzinfo=UTC)
STAMP = "2027-01-04T09:00:00.000Z"  # START as GitLab writes it


def issue(gl: Client, iid: int, user: str = "bob") -> ProjectIssue:
    return gl(user).projects.get(REQUESTS, lazy=True).issues.get(iid)


def created(sandbox: Sandbox, gl: Client, description: str = "- [ ] a box") -> int:
    sandbox.set_now(START)
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    return int(project.issues.create({"title": "t", "description": description}).iid)


def update(gl: Client, iid: int, **changes: object) -> None:
    gl("exception-bot").projects.get(REQUESTS, lazy=True).issues.update(iid, changes)


TOUCHES: dict[str, Callable[[Client, int], object]] = {
    "comment": lambda gl, iid: issue(gl, iid).notes.create({"body": "Why?"}),
    "label": lambda gl, iid: update(gl, iid, add_labels="exception-action::reject"),
    "assignee": lambda gl, iid: update(gl, iid, assignee_ids=[issue(gl, iid).author["id"]]),
    "link": lambda gl, iid: issue(gl, iid).links.create(
        {"target_project_id": REQUESTS, "target_issue_iid": iid - 1}
    ),
}


@pytest.mark.parametrize("touch", list(TOUCHES))
def test_a_touch_within_a_minute_of_the_last_update_moves_nothing(
    sandbox: Sandbox, gl: Client, touch: str
) -> None:
    created(sandbox, gl)
    iid = created(sandbox, gl)
    sandbox.set_now(START + timedelta(seconds=60))  # not more than the interval: throttled
    TOUCHES[touch](gl, iid)
    assert issue(gl, iid).updated_at == STAMP
    sandbox.set_now(START + timedelta(seconds=61))
    update(gl, iid, add_labels=f"again-{touch}")  # a touch more than a minute later moves it
    assert issue(gl, iid).updated_at == "2027-01-04T09:01:01.000Z"


def test_a_column_change_always_moves_it_and_its_notes_touch_nothing(
    sandbox: Sandbox, gl: Client
) -> None:
    iid = created(sandbox, gl)
    sandbox.set_now(START + timedelta(seconds=10))
    found = issue(gl, iid)
    found.description = found.description.replace("[ ]", "[x]")
    found.save()  # a save of the description, with its checklist note
    assert issue(gl, iid).updated_at == "2027-01-04T09:00:10.000Z"
    sandbox.set_now(START + timedelta(seconds=20))
    update(gl, iid, state_event="close")
    assert issue(gl, iid).updated_at == "2027-01-04T09:00:20.000Z"


def test_a_comment_by_quick_actions_only_moves_it_by_what_they_change(
    sandbox: Sandbox, gl: Client
) -> None:
    iid = created(sandbox, gl)
    sandbox.set_now(START + timedelta(seconds=10))
    issue(gl, iid).notes.create({"body": "/label ~exception-action::reject"})
    assert issue(gl, iid).updated_at == STAMP  # a label: throttled
    issue(gl, iid).notes.create({"body": "/close"})
    assert issue(gl, iid).updated_at == "2027-01-04T09:00:10.000Z"  # the state column


def test_a_deleted_comment_touches_nothing_but_user_notes_count_tells(
    sandbox: Sandbox, gl: Client
) -> None:
    iid = created(sandbox, gl)
    note = issue(gl, iid).notes.create({"body": "Why?"})
    assert issue(gl, iid).user_notes_count == 1
    sandbox.set_now(START + timedelta(hours=1))
    issue(gl, iid).notes.delete(note.id)
    listed = gl("bob").projects.get(REQUESTS, lazy=True).issues.list(iids=[iid])[0]
    assert (listed.updated_at, listed.user_notes_count) == (STAMP, 0)
