"""End to end (docs/explanation/after-approval.md): appeals to Legal, CEO and CFO; CISO escalations;
revocation."""

from __future__ import annotations

from tests.e2e.world import World
from tests.requests import body, set_field
from tests.support.stories import rejected

LOW = body("low_staging")
ROUTE = {
    "exception-stage::ciso-escalation": ("grace", "CISO escalation approval"),
    "exception-stage::department-head": ("carol", "Department head approval"),
    "exception-stage::security-team": ("victor", "Security team approval"),
    "exception-stage::policy-owner": ("erin", "Policy owner approval"),
    "exception-stage::security-compliance": ("sue", "Security Compliance review"),
}
LEGAL, CEO, CFO = "Legal opinion recorded", "CEO decision", "CFO decision"


def appealed(world: World) -> int:
    iid = rejected(world)
    world.later(days=2).label("bob", iid, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::appeal"
    return iid


def test_an_appeal_granted_by_the_ceo_and_the_cfo(world: World) -> None:
    iid = appealed(world)
    assert "## Appeal\n\n- [ ] Legal opinion recorded\n- [ ] CEO decision\n- [ ] CFO decision" in (
        world.issue(iid).description
    )
    assert world.stage(iid) == "exception-stage::appeal-legal"
    assert any("@legal: post your opinion" in c for c in world.bot_comments(iid, "turn"))
    assert world.assignees(iid) == ["lee"]  # the group's members, for a group role
    world.later(hours=3).comment("lee", iid, "Legal opinion: acceptable for 60 days.")
    opinion = world.issue(iid).notes[-1].id
    world.later(minutes=1).tick("lee", iid, LEGAL)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::appeal-ceo+appeal-cfo"
    (turn,) = [c for c in world.bot_comments(iid, "turn") if "waiting for your decision" in c]
    assert f"#note_{opinion}" in turn
    assert "@ivan" in turn
    assert "@judy" in turn
    world.later(hours=5).tick("ivan", iid, CEO)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::appeal"
    world.later(hours=5).tick("judy", iid, CFO)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    entry = world.register_entry(iid)
    assert entry["status"] == "approved"
    assert entry["appealed_at"] is not None
    assert [a["role"] for a in entry["approvals"]] == [
        "Legal (appeal)",
        "CEO (appeal)",
        "CFO (appeal)",
    ]
    status = world.status(iid)
    assert "| 2 | CFO decision | judy |" in status
    assert "Appealed:" in status


def test_an_appeal_accepted_on_a_broken_description_resumes_once_it_is_mended(
    world: World,
) -> None:
    """The requester appeals with a description that no longer validates: the request waits
    in needs-info, and once the text is mended the appeal goes on to Legal, CEO and CFO
    rather than back to the route that rejected it."""
    iid = rejected(world)
    world.later(days=2).edit("bob", iid, "\n2027-01-15\n", "\nwhen it is fixed\n")
    world.label("bob", iid, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::needs-info"
    assert "## Appeal\n\n- [ ] Legal opinion recorded" in world.issue(iid).description
    world.later(hours=1).edit("bob", iid, "\nwhen it is fixed\n", "\n2027-01-15\n")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::appeal"
    assert world.stage(iid) == "exception-stage::appeal-legal"
    for user, item in (("lee", LEGAL), ("ivan", CEO), ("judy", CFO)):
        world.later(hours=1).tick(user, iid, item)
        world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    assert [a["user"] for a in world.register_entry(iid)["approvals"]] == ["lee", "ivan", "judy"]


def test_an_appeal_denied_by_the_cfo_is_final(world: World) -> None:
    iid = appealed(world)
    world.later(hours=1).tick("lee", iid, LEGAL)
    world.later(minutes=10).run()
    world.later(hours=1).label("judy", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert world.issue(iid).state == "closed"
    assert any("appeal was denied" in c for c in world.bot_comments(iid))
    assert world.sandbox.files("security/exception-register").keys() == {"README.md"}
    # Reopened and appealed again: refused, closed again.
    world.later(days=1)
    world.gl("bob").projects.get("security/exceptions", lazy=True).issues.update(
        iid, {"state_event": "reopen"}
    )
    world.label("bob", iid, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert any("already appealed" in c for c in world.bot_comments(iid))
    assert world.issue(iid).state == "closed"


def test_appeals_refused_from_others_or_too_late(world: World) -> None:
    iid = rejected(world)
    world.later(days=1).label("carol", iid, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert any("only the requester (@bob) may appeal" in c for c in world.bot_comments(iid))
    late = rejected(world)
    world.later(days=15).label("bob", late, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    assert any("that time has passed" in c for c in world.bot_comments(late))
    assert world.issue(late).state == "closed"


def test_a_legal_tick_by_a_non_member_is_undone(world: World) -> None:
    iid = appealed(world)
    world.later(hours=1).tick("tom", iid, LEGAL)
    world.later(minutes=10).run()
    assert world.box(iid, LEGAL) is False
    assert world.stage(iid) == "exception-stage::appeal-legal"


def test_the_escalate_label_sends_the_request_to_the_ciso_who_may_reject(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("bob", iid, add=["exception-action::escalate"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert world.stage(iid) == "exception-stage::ciso-escalation"
    (answer,) = [c for c in world.bot_comments(iid, "action") if "escalated" in c]
    assert "please add a comment saying why" in answer
    world.later(hours=1).label("grace", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"


def test_the_cisos_tick_continues_the_route(world: World) -> None:
    iid = world.open("alice", body("critical_production"))
    world.run()
    assert world.state(iid) == "exception::escalated"
    world.later(hours=1).tick("grace", iid, "CISO escalation approval")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::in-review"
    assert "| 1 | CISO escalation approval | grace |" in world.status(iid)


def test_a_renewal_past_the_maximum_goes_to_the_ciso(world: World) -> None:
    chain = [world.open("bob", LOW)]
    world.approve(chain[0], ROUTE)
    for _ in range(3):
        renewal = set_field(body("renewal"), "Renews", f"#{chain[-1]}")
        chain.append(world.open("bob", renewal))
        if len(chain) == 4:
            break
        world.approve(chain[-1], ROUTE)
    world.later(minutes=10).run()
    assert world.register_entry(chain[2])["renewal_number"] == 2
    assert world.state(chain[3]) == "exception::escalated"
    (turn,) = world.bot_comments(chain[3], "turn")
    assert "This is renewal number 3" in turn


def test_revocation_by_security_compliance_not_by_the_requester(world: World) -> None:
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    world.later(hours=1).label("bob", iid, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    assert any(
        "which only Security Compliance or CISO may add" in c for c in world.bot_comments(iid)
    )
    world.later(hours=1).label("sue", iid, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::revoked"
    assert world.issue(iid).state == "closed"
    entry = world.register_entry(iid)
    assert (entry["status"], entry["revoked_by"]) == ("revoked", "sue")
    assert entry["path"].startswith("archive/")
    assert "Revoked:" in world.status(iid)
