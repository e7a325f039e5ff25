"""A renewal is only what the bot approved: an issue that merely looks like an active renewal
(its labels and *Renews* field are anyone's to write) ends no exception."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.world import REQUESTS, World
from tests.requests import body, set_field
from tests.support.stories import ROUTE, activate

LOW = body("low_staging")


def forge_renewal(world: World, user: str, original: int) -> int:
    """``user`` opens a bare issue (no intake label, no approvals), labels it active and names
    ``original`` under *Renews*, then links the two: all a reporter may do."""
    text = set_field(body("renewal"), "Renews", f"#{original}")
    project = world.gl(user).projects.get(REQUESTS, lazy=True)
    forged = project.issues.create(
        {"title": "Renewal", "description": text, "labels": "exception::active"}
    )
    project.issues.get(forged.iid, lazy=True).links.create(
        {"target_project_id": REQUESTS, "target_issue_iid": original}
    )
    return int(forged.iid)


def test_a_bare_issue_labelled_active_does_not_renew_someone_elses_exception(
    world: World,
) -> None:
    victim = world.open("bob", LOW)
    activate(world, victim)
    forge_renewal(world, "tom", victim)
    world.later(hours=1).run()
    assert world.state(victim) == "exception::active"
    assert world.issue(victim).state == "opened"
    assert world.register_entry(victim)["status"] == "active"
    assert world.bot_comments(victim, "renewed") == []


def test_a_bare_issue_does_not_close_an_expired_exception_without_fix_verified(
    world: World,
) -> None:
    iid = world.open("bob", LOW)
    activate(world, iid)
    world.at(datetime(2027, 1, 16, 0, 30, tzinfo=UTC)).run()
    assert world.state(iid) == "exception::expired"
    forge_renewal(world, "bob", iid)
    world.later(hours=1).run()
    assert world.state(iid) == "exception::expired"
    assert world.issue(iid).state == "opened"
    assert world.register_entry(iid)["status"] == "expired"


def test_a_renewal_the_bot_approved_ends_its_original_on_the_next_run(world: World) -> None:
    original = world.open("bob", LOW)
    activate(world, original)
    renewal = world.open("bob", set_field(body("renewal"), "Renews", f"#{original}"))
    world.approve(renewal, ROUTE)
    world.later(minutes=10).run()
    assert world.state(original) == "exception::active"  # approved is not active yet
    world.later(hours=1).tick("bob", renewal, "Compensating controls implemented")
    world.later(minutes=10).run()
    world.later(minutes=10).run()  # the original was read before its renewal became active
    assert world.state(original) == "exception::renewed"
    assert world.register_entry(original)["status"] == "renewed"
