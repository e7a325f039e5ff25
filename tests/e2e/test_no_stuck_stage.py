"""No stage without an eligible approver (docs/explanation/approvals.md, "Fallbacks").

carol is the only department head of finance in the demo organisation. When she files a
finance request herself, no one else can give its department-head approval: the stage falls
to the role's fallback (the CISO by default), the bot says so once, and the CISO's tick is
recorded as given for the department head."""

from __future__ import annotations

from tests.e2e.world import World
from tests.support.stories import LOW, ROUTE

DEPARTMENT_HEAD = "exception-stage::department-head"


def test_a_department_head_filing_her_own_request_falls_to_the_ciso(world: World) -> None:
    iid = world.open("carol", LOW)
    world.run()
    assert world.stage(iid) == DEPARTMENT_HEAD
    assert "carol" not in world.assignees(iid)  # never asked to approve her own request
    assert world.assignees(iid) == ["grace"]
    (fallback,) = world.bot_comments(iid, "fallback")
    assert "**No Department Head can approve this request**: carol is the requester" in fallback
    assert "The Department Head stage falls to the CISO" in fallback
    assert "@grace, review the request" in fallback

    world.later(hours=1).tick("grace", iid, "Department head approval")
    world.later(minutes=10).run()
    assert world.box(iid, "Department head approval")  # counted, not unticked
    assert world.stage(iid) == "exception-stage::security-team", world.status(iid)
    assert "CISO for Department Head" in world.status(iid)
    world.run()  # nothing more to say: one comment, not one a run
    assert len(world.bot_comments(iid, "fallback")) == 1

    for stage in ("exception-stage::security-team", "exception-stage::policy-owner"):
        user, item = ROUTE[stage]
        world.later(hours=1).tick(user, iid, item).later(minutes=10).run()
    user, item = ROUTE["exception-stage::security-compliance"]
    world.later(hours=1).tick(user, iid, item).later(minutes=10).run()
    assert world.state(iid) == "exception::approved", world.status(iid)
    approvals = world.register_entry(iid)["approvals"]
    assert {"role": "CISO for Department Head", "user": "grace"} in [
        {"role": a["role"], "user": a["user"]} for a in approvals
    ]
    # The entry is evidence: register verify finds the fallback approval sound.
    verified = world.cli("register verify")
    assert verified.exit_code == 0, verified.output


def test_the_review_reminders_go_to_the_fallback_not_the_requester(world: World) -> None:
    iid = world.open("carol", LOW)
    world.run()
    world.later(days=9).run()  # past the Low stage's 5 business days
    (reminder,) = world.bot_comments(iid, "sla")
    assert "@grace" in reminder
    assert "@carol" not in reminder


def test_check_config_online_warns_about_groups_one_approver_holds(world: World) -> None:
    checked = world.cli("check-config", "--online")
    assert checked.exit_code == 0, checked.output
    # legal has one member in the demo organisation; engineering/managers has mia, and the
    # members of engineering above it (members/all), as GitLab counts them
    assert "warning: roles.legal: held by one person only (@lee in legal)" in checked.output
    assert "roles.engineering_manager: held" not in checked.output
    assert "roles.security_compliance: held" not in checked.output  # sid and sue
