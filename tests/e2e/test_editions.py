"""The core scenarios on GitLab Free and on Premium (docs/explanation/tampering.md).

On Premium an issue keeps one label of each scope: adding ``a::y`` removes ``a::x``, and the
removal is a label event by the user who added ``a::y`` (ee/app/services/ee/issuable/callbacks/
labels.rb; see tests/sandbox/test_scoped_labels.py). The bot's state, stage, risk, alert and
action labels are scoped, so every scenario here runs on both editions (``edition_world``) and
must end the same way, with the bot's own label changes never taken for tampering."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.world import World, writes_besides_the_lock
from tests.requests import body

LOW = body("low_staging")  # finance / encryption: carol, security team, erin, compliance
ROUTE = {
    "exception-stage::department-head": ("carol", "Department head approval"),
    "exception-stage::security-team": ("victor", "Security team approval"),
    "exception-stage::policy-owner": ("erin", "Policy owner approval"),
    "exception-stage::security-compliance": ("sue", "Security Compliance review"),
}
TAMPERING = "exception-alert::tampering"
CHANGED = "exception-terms::changed-after-approval"


def steady(world: World) -> None:
    """One more run writes nothing: no label the bot set was taken from it by another."""
    world.sandbox.clear_log()
    world.later(minutes=10).run()
    assert writes_besides_the_lock(world.sandbox) == []


def test_approved_active_expired_and_closed(edition_world: World) -> None:
    world = edition_world
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    assert world.stage(iid) is None
    assert world.labels(iid) >= {"exception-risk::low", "ExceptionRequest"}
    world.later(hours=1).tick("bob", iid, "Compensating controls implemented")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"
    steady(world)
    world.at(datetime(2027, 1, 16, 0, 30, tzinfo=UTC)).run()
    assert world.state(iid) == "exception::expired"
    world.later(hours=2).tick("sue", iid, "Fix verified")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::closed"
    assert world.register_entry(iid)["status"] == "closed"
    assert world.bot_comments(iid, "tampering") == []
    assert TAMPERING not in world.labels(iid)


def test_a_hand_set_state_label_is_reported_once_and_put_right(edition_world: World) -> None:
    world = edition_world
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("bob", iid, add=["exception::approved"])
    world.later(minutes=5).run()
    assert world.state(iid) == "exception::in-review"
    assert world.stage(iid) == "exception-stage::department-head"
    assert TAMPERING in world.labels(iid)
    (report,) = world.bot_comments(iid, "tampering")
    assert "@bob added `exception::approved`" in report
    steady(world)
    # the route goes on: the stage label the bot moves is not taken for tampering
    world.later(hours=1).tick("carol", iid, "Department head approval")
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team"
    assert len(world.bot_comments(iid, "tampering")) == 1
    steady(world)


def test_a_hand_set_stage_label_is_reported_once_and_put_right(edition_world: World) -> None:
    world = edition_world
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("bob", iid, add=["exception-stage::security-compliance"])
    world.later(minutes=5).run()
    assert world.stage(iid) == "exception-stage::department-head"
    (report,) = world.bot_comments(iid, "tampering")
    assert "@bob added `exception-stage::security-compliance`" in report
    steady(world)


def test_a_stage_label_put_back_keeps_its_stages_deadline(edition_world: World) -> None:
    """Taken off by hand (Free), or by adding another stage label (Premium): the bot puts it
    back, and the stage, with its review deadline, goes on from when it began."""
    world = edition_world
    iid = world.open("bob", LOW)
    world.run()
    deadline = "Review deadline for this stage: 2026-11-30 09:00 UTC."
    assert deadline in world.status(iid)
    world.later(hours=1).label("bob", iid, remove=["exception-stage::department-head"])
    world.later(minutes=5).run()
    assert world.stage(iid) == "exception-stage::department-head"
    assert deadline in world.status(iid)
    steady(world)


def test_a_rejection_by_the_current_approver(edition_world: World) -> None:
    world = edition_world
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("carol", iid, add=["exception-action::reject"])
    world.later(minutes=5).run()
    assert world.state(iid) == "exception::rejected"
    assert world.stage(iid) is None
    assert "exception-action::reject" not in world.labels(iid)
    assert world.bot_comments(iid, "tampering") == []
    steady(world)


def test_both_alerts_stay_on_an_approved_request(edition_world: World) -> None:
    """Changed after approval, then tampered with: each alert stays until a person clears it
    (the two are of different scopes: on Premium one of a scope would take off the other)."""
    world = edition_world
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    world.later(hours=1).edit("bob", iid, "2027-01-15", "2027-03-15")
    world.later(minutes=10).run()
    assert CHANGED in world.labels(iid)
    world.later(hours=1).label("bob", iid, add=["exception::rejected"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    assert {TAMPERING, CHANGED} <= world.labels(iid)
    assert len(world.bot_comments(iid, "tampering")) == 1
    steady(world)
    assert {TAMPERING, CHANGED} <= world.labels(iid)
