"""Who asked cannot approve: the issue's author, and anyone *Requester contact* names by their
GitLab handle (a colleague may open the request for them)."""

from __future__ import annotations

from tests.e2e.world import World
from tests.requests import body, set_field

LOW = body("low_staging")
DEPARTMENT_HEAD = "Department head approval"
# The request is for carol, the department head (tests/e2e/world.py LOW_ROUTE), opened by bob.
FOR_CAROL = set_field(LOW, "Requester contact", "Carol Chen (@Carol), carol@example.com")


def test_the_requester_named_in_requester_contact_cannot_approve(world: World) -> None:
    iid = world.open("bob", FOR_CAROL)
    world.run()
    assert world.stage(iid) == "exception-stage::department-head"
    world.later(hours=1).tick("carol", iid, DEPARTMENT_HEAD)
    world.later(minutes=10).run()
    assert world.box(iid, DEPARTMENT_HEAD) is False
    assert world.stage(iid) == "exception-stage::department-head"
    (untick,) = world.bot_comments(iid, "untick")
    assert "a requester cannot approve their own exception" in untick
    assert "| 1 | Department head approval | carol |" not in world.status(iid)


def test_an_e_mail_address_in_requester_contact_names_no_one(world: World) -> None:
    iid = world.open("bob", set_field(LOW, "Requester contact", "carol@example.com"))
    world.run()
    world.later(hours=1).tick("carol", iid, DEPARTMENT_HEAD)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team"
    assert world.bot_comments(iid, "untick") == []


def test_only_the_author_may_appeal(world: World) -> None:
    """*Requester contact* is text anyone who may edit the issue can change: it takes the right
    to approve away from whoever it names, and gives no one the right to appeal."""
    iid = world.open("bob", set_field(LOW, "Requester contact", "@tom"))
    world.run()
    world.later(hours=1).label("carol", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    world.later(hours=1).label("tom", iid, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    world.later(hours=1).label("bob", iid, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::appeal"
