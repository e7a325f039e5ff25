"""Approved terms are the record: what a requester edits after final approval changes nothing
(the expiry, the due date, the register entry and its file name keep what was approved), the bot
says so once and marks the issue until the text is put back, and revocation and expiry work
whatever the description holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.e2e.world import REGISTER, World
from tests.requests import body
from tests.support.stories import ACTIVATION, ROUTE

# Expires 2027-01-15, staging; public, so that its title and file name are in the register (a
# confidential request's entry is "Confidential exception EXC-0001" whatever its title).
LOW = body("low_staging").replace("/confidential", "")
ALERT = "exception-terms::changed-after-approval"


def _approved(world: World) -> int:
    iid = world.open("bob", LOW, title="Keep TLS 1.1 on the reporting VM")
    world.approve(iid, ROUTE)
    return iid


def test_edits_after_approval_change_nothing_and_are_said(world: World) -> None:
    iid = _approved(world)
    path = world.register_entry(iid)["path"]
    world.later(hours=1).edit("bob", iid, "2027-01-15", "2027-02-20")
    world.edit("bob", iid, "\nstaging\n", "\nproduction\n")
    world.later(minutes=10).run()
    assert world.issue(iid).due_date == date(2027, 1, 15)
    entry = world.register_entry(iid)
    assert (entry["expires_at"], entry["environment"]) == ("2027-01-15", "staging")
    assert entry["path"] == path
    assert entry["approved_hash"]
    assert ALERT in world.labels(iid)
    (said,) = world.bot_comments(iid, "changed")
    assert "The approved terms stand" in said
    assert "Environment, Expiration date" in said
    # The request goes on under its approved terms: activation, then expiry on the approved day.
    world.later(minutes=10).run()
    assert len(world.bot_comments(iid, "changed")) == 1
    world.later(hours=1).tick("bob", iid, ACTIVATION)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"
    world.at(datetime(2027, 1, 16, 9, 0, tzinfo=UTC)).run()
    assert world.state(iid) == "exception::expired"
    # Put back as approved, the alert goes.
    world.edit("bob", iid, "2027-02-20", "2027-01-15")
    world.edit("bob", iid, "\nproduction\n", "\nstaging\n")
    world.later(minutes=10).run()
    assert ALERT not in world.labels(iid)


def test_never_expiring_after_approval_is_still_revoked_and_expires(world: World) -> None:
    iid = _approved(world)
    world.later(hours=1).edit("bob", iid, "2027-01-15", "never")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    assert world.issue(iid).due_date == date(2027, 1, 15)
    world.later(hours=1).label("sue", iid, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::revoked"
    assert world.register_entry(iid)["status"] == "revoked"


def test_a_title_rename_after_approval_keeps_the_entry(world: World) -> None:
    iid = _approved(world)
    path = world.register_entry(iid)["path"]
    world.gl("bob").projects.get(world.requests, lazy=True).issues.update(
        iid, {"title": "Renamed to something else"}
    )
    world.later(minutes=10).run()
    entry = world.register_entry(iid)
    assert (entry["title"], entry["path"]) == ("Keep TLS 1.1 on the reporting VM", path)
    assert ALERT in world.labels(iid)
    world.later(hours=1).label("sue", iid, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    files = world.sandbox.files(REGISTER)
    assert [p for p in files if p.startswith("exceptions/")] == []
    assert path.replace("exceptions/", "archive/") in files


def test_a_confirmation_in_the_gap_before_its_note_is_left_alone(world: World) -> None:
    """GitLab writes the checklist note after it saves the description: a run in between must
    not untick the requester's activation box as if nobody had ticked it."""
    iid = _approved(world)
    world.sandbox.checklist_notes(delay=timedelta(seconds=1))
    world.later(hours=1).tick("bob", iid, ACTIVATION)
    world.run()  # at the tick's own second: the note is not written yet
    assert world.box(iid, ACTIVATION) is True
    assert world.bot_comments(iid, "untick") == []
    world.later(minutes=3).run()
    assert world.state(iid) == "exception::active"
