"""Routing (docs/explanation/routing.md): a stage is assigned to the people of its role's own group,
and they are unassigned when their stage is done.

In the demo organisation the head of sales, sam, is a member of the group ``security``, and so
of its subgroup ``security/compliance`` as ``members/all`` lists it (GitLab's
group_members_finder.rb: the members of ancestor groups are inherited), as is the security
engineer victor. Both may approve there, as GitLab lets them; the people to ask are sue and
sid, the subgroup's own members (``/groups/:id/members``)."""

from __future__ import annotations

from tests.e2e.world import World
from tests.support.stories import LOW, ROUTE

COMPLIANCE = "exception-stage::security-compliance"


def at_compliance(world: World) -> int:
    iid = world.open("bob", LOW)
    world.run()
    while (stage := world.stage(iid)) != COMPLIANCE:
        assert stage is not None, world.status(iid)
        user, item = ROUTE[stage]
        world.later(hours=1).tick(user, iid, item).later(minutes=10).run()
    return iid


def test_the_compliance_stage_goes_to_the_compliance_team_and_ends_with_it(
    world: World,
) -> None:
    iid = at_compliance(world)
    assert world.assignees(iid) == ["sid"]  # GitLab Free keeps the first of sid and sue
    world.later(hours=1).tick("sue", iid, "Security Compliance review")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    assert world.assignees(iid) == []


def test_approvers_leave_and_everyone_else_stays_when_the_request_is_decided(
    world: World,
) -> None:
    world.sandbox.edition("premium")  # several assignees
    iid = at_compliance(world)
    assert world.assignees(iid) == ["sid", "sue"]
    tom = world.sandbox.store.user_named("tom")
    assert tom is not None
    ids = [*world.issue(iid).assignee_ids, tom.id]  # a developer to fix what the request is for
    world.gl("sue").projects.get(world.requests, lazy=True).issues.update(
        iid, {"assignee_ids": ids}
    )
    world.later(hours=1).label("sid", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert world.assignees(iid) == ["tom"]
