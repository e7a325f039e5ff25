"""A decision is the label event by an allowed person, not the label's presence: a requester who
removes an approver's reject or Security Compliance's revoke before the next run does not undo
it, and the removal is reported; the tampering alert comes back when the tamperer removes it."""

from __future__ import annotations

from tests.e2e.world import World
from tests.requests import body
from tests.support.stories import ROUTE

LOW = body("low_staging")
REJECT, REVOKE = "exception-action::reject", "exception-action::revoke"
ALERT = "exception-alert::tampering"


def _reported(world: World, iid: int, text: str) -> bool:
    return any(text in c for c in world.bot_comments(iid, "tampering"))


def test_a_reject_removed_by_the_requester_still_rejects(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("carol", iid, add=[REJECT])
    world.later(minutes=2).label("bob", iid, remove=[REJECT])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert _reported(world, iid, f"@bob removed `{REJECT}`")
    assert ALERT in world.labels(iid)
    assert "Rejected by carol" in world.status(iid)
    # Answered once: later runs neither answer again nor report again.
    notes = len(world.comments(iid))
    world.later(minutes=10).run()
    assert len(world.comments(iid)) == notes


def test_a_revoke_removed_by_the_requester_still_revokes(world: World) -> None:
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    world.later(hours=1).label("sue", iid, add=[REVOKE])
    world.later(minutes=1).label("bob", iid, remove=[REVOKE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::revoked"
    assert world.issue(iid).state == "closed"
    assert world.register_entry(iid)["revoked_by"] == "sue"
    assert _reported(world, iid, f"@bob removed `{REVOKE}`")


def test_a_decision_its_maker_withdrew_is_not_acted_on(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("carol", iid, add=[REJECT])
    world.later(minutes=1).label("carol", iid, remove=[REJECT])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::in-review"
    assert world.bot_comments(iid, "tampering") == []


def test_the_tampering_alert_removed_by_the_tamperer_comes_back(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("bob", iid, add=["exception::approved"])
    world.later(minutes=10).run()
    assert ALERT in world.labels(iid)
    world.later(minutes=5).label("bob", iid, remove=[ALERT])
    world.later(minutes=10).run()
    assert ALERT in world.labels(iid)
    assert _reported(world, iid, f"@bob removed `{ALERT}`")
    # Security Compliance clears it after review, and it stays cleared.
    world.later(hours=1).label("sue", iid, remove=[ALERT])
    world.later(minutes=10).run()
    assert ALERT not in world.labels(iid)
    assert len(world.bot_comments(iid, "tampering")) == 2
