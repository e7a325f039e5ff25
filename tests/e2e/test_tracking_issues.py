"""End to end (docs/explanation/after-approval.md, tracking issues): at expiry the verification
comment lists the issues linked to the request as tracking issues (not its incidents, not
other requests), open or closed; when Security Compliance closes the exception, one comment
names those still open."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.world import World
from tests.support.stories import LOW, activate

PROJECT = "security/exceptions"


def _linked(world: World, iid: int, title: str, **extra: object) -> int:
    ops = world.gl("tom").projects.get(PROJECT, lazy=True)
    linked = ops.issues.create({"title": title, **extra})
    ops.issues.get(linked.iid).links.create({"target_project_id": PROJECT, "target_issue_iid": iid})
    return int(linked.iid)


def test_tracking_issues_are_listed_at_expiry_and_closure(world: World) -> None:
    iid = world.open("bob", LOW)
    activate(world, iid)
    fix = _linked(world, iid, "Upgrade the reporting VM to TLS 1.2")
    done = _linked(world, iid, "Order the vendor's new agent")
    incident = _linked(world, iid, "TLS downgrade seen", issue_type="incident")
    world.gl("tom").projects.get(PROJECT, lazy=True).issues.update(done, {"state_event": "close"})
    world.later(hours=1).run()

    world.at(datetime(2027, 1, 16, 0, 30, tzinfo=UTC)).run()
    assert world.state(iid) == "exception::expired"
    (expired,) = world.bot_comments(iid, "expired")
    listed = expired[expired.index("Tracking issues") :]
    assert f"- {PROJECT}#{fix}: open\n" in listed
    assert f"- {PROJECT}#{done}: closed\n" in listed
    assert f"#{incident}" not in listed
    assert world.bot_comments(iid, "tracking") == []

    world.later(hours=2).tick("sue", iid, "Fix verified")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::closed"
    (closing,) = world.bot_comments(iid, "tracking")
    assert f"{PROJECT}#{fix}" in closing
    assert f"#{done}" not in closing
    assert f"#{incident}" not in closing
    world.later(hours=1).run()
    assert len(world.bot_comments(iid, "tracking")) == 1


def test_no_tracking_issues_no_list(world: World) -> None:
    iid = world.open("bob", LOW)
    activate(world, iid)
    world.at(datetime(2027, 1, 16, 0, 30, tzinfo=UTC)).run()
    (expired,) = world.bot_comments(iid, "expired")
    assert "Tracking issues" not in expired
    world.later(hours=2).tick("sue", iid, "Fix verified")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::closed"
    assert world.bot_comments(iid, "tracking") == []
