"""End to end (docs/explanation/escalations.md): the source process's CISO escalations after a
decision (issue 23, points 3 to 5): a rejection the team disagrees with, a denied renewal, an
approved exception whose compensating controls cannot be implemented, the activation deadline,
and the escalation item the bot adds to a request that lacks it. Each ends in the register."""

from __future__ import annotations

from tests.e2e.world import World
from tests.requests import body, set_field
from tests.support.stories import LOW, ROUTE, rejected

ESCALATE = "exception-action::escalate"
REINSTATE = "CISO reinstates the request"
WAIVE = "CISO accepts without compensating controls"
ESCALATION_ITEM = "CISO escalation approval"


def rejected_by_the_security_team(world: World, text: str = LOW) -> int:
    """Approved by the department head, then rejected at the security team's stage."""
    iid = world.open("bob", text)
    world.run()
    world.later(hours=1).tick("carol", iid, "Department head approval")
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team"
    world.later(hours=1).comment("victor", iid, "Not without a WAF in front of it.")
    world.label("victor", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    return iid


def test_a_rejection_escalated_and_reinstated_by_the_ciso_goes_on_to_the_register(
    world: World,
) -> None:
    iid = rejected_by_the_security_team(world)
    (rejection,) = [c for c in world.bot_comments(iid, "action") if "rejected this" in c]
    # Both ways to contest a rejection are named.
    assert '~"exception-action::appeal"' in rejection
    assert f'~"{ESCALATE}"' in rejection
    assert "within 14 days" in rejection

    world.later(days=2).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert world.stage(iid) == "exception-stage::ciso-escalation"
    assert f"## CISO escalation\n\n- [ ] {REINSTATE}" in world.issue(iid).description
    (answer,) = [c for c in world.bot_comments(iid, "action") if "escalated the rejection" in c]
    assert "@grace" in answer
    assert "Waiting for the CISO" not in world.status(iid)  # the status names the wait
    assert "waiting for the CISO" in world.status(iid)

    # Nobody but the CISO reinstates: the department head's tick is undone.
    world.later(hours=1).tick("carol", iid, REINSTATE)
    world.later(minutes=10).run()
    assert world.box(iid, REINSTATE) is False
    assert world.state(iid) == "exception::escalated"

    world.later(hours=1).tick("grace", iid, REINSTATE)
    world.later(minutes=10).run()
    # Back where it was rejected: the department head's approval stands.
    assert world.state(iid) == "exception::in-review"
    assert world.stage(iid) == "exception-stage::security-team"
    assert "| 1 | Department head approval | carol |" in world.status(iid)
    assert any("reinstated this request" in c for c in world.bot_comments(iid, "ciso"))

    world.approve(iid, ROUTE)
    entry = world.register_entry(iid)
    assert entry["status"] == "approved"
    assert [(r["user"], r["stage"]) for r in entry["rejections"]] == [("victor", "Security Team")]
    (escalation,) = entry["ciso_escalations"]
    assert escalation["reason"] == "rejection"
    assert (escalation["escalated_by"], escalation["outcome"]) == ("bob", "reinstated")
    assert escalation["decided_by"] == "grace"
    assert [a["user"] for a in entry["approvals"]] == ["carol", "victor", "erin", "sue"]
    verified = world.cli("register verify")
    assert verified.exit_code == 0, verified.output


def test_a_rejection_the_ciso_confirms_is_final(world: World) -> None:
    iid = rejected(world)
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert "Review deadline for this stage" in world.status(iid)
    # The escalation stage's review SLA (review_sla.escalation, 4 hours) holds the CISO to it.
    world.later(hours=5).run()
    assert any("@grace" in c for c in world.bot_comments(iid, "sla"))
    assert "exception-sla::breached" in world.labels(iid)
    # Only the CISO answers an escalation: anyone else's reject is reverted and reported.
    world.later(hours=1).label("carol", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert any("which only the CISO may add" in c for c in world.bot_comments(iid))
    world.later(hours=1).label("grace", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert world.issue(iid).state == "closed"
    assert any("CISO confirmed the rejection" in c for c in world.bot_comments(iid, "final"))
    assert world.sandbox.files("security/exception-register").keys() == {"README.md"}
    # One way to contest a rejection, not two: the appeal after it is refused.
    world.later(days=1)
    world.gl("bob").projects.get("security/exceptions", lazy=True).issues.update(
        iid, {"state_event": "reopen"}
    )
    world.label("bob", iid, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    assert any("confirmed this rejection on escalation" in c for c in world.bot_comments(iid))
    assert world.issue(iid).state == "closed"


def test_escalating_a_rejection_is_the_requesters_within_the_window(world: World) -> None:
    iid = rejected(world)
    world.later(days=1).label("carol", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert any("only the requester (@bob) may escalate" in c for c in world.bot_comments(iid))
    late = rejected(world)
    world.later(days=15).label("bob", late, add=[ESCALATE])
    world.later(minutes=10).run()
    assert any("that time has passed" in c for c in world.bot_comments(late))
    assert world.issue(late).state == "closed"


def test_a_denied_renewal_escalated_shows_the_ciso_the_original(world: World) -> None:
    original = world.open("bob", LOW)
    world.approve(original, ROUTE)
    renewal_text = set_field(body("renewal"), "Renews", f"#{original}")
    renewal = rejected_by_the_security_team(world, renewal_text)
    world.later(days=1).label("bob", renewal, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(renewal) == "exception::escalated"
    (answer,) = [c for c in world.bot_comments(renewal, "action") if "escalated the" in c]
    assert f"renews [EXC-{original:04d}]" in answer
    assert "which is **approved**" in answer
    assert "the business is still blocked" in answer
    world.later(hours=1).tick("grace", renewal, REINSTATE)
    world.later(minutes=10).run()
    world.approve(renewal, ROUTE)
    entry = world.register_entry(renewal)
    assert entry["renewal_of"] == f"EXC-{original:04d}"
    assert entry["ciso_escalations"][0]["outcome"] == "reinstated"


def test_controls_that_cannot_be_implemented_accepted_without_them(world: World) -> None:
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    assert f"## CISO escalation\n\n- [ ] {WAIVE}" in world.issue(iid).description
    (answer,) = [c for c in world.bot_comments(iid, "action") if "escalated this" in c]
    assert "@grace" in answer
    # Security Compliance cannot waive the controls: only the CISO.
    world.later(hours=1).tick("sue", iid, WAIVE)
    world.later(minutes=10).run()
    assert world.box(iid, WAIVE) is False
    assert world.state(iid) == "exception::approved"
    world.later(hours=1).tick("grace", iid, WAIVE)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"
    entry = world.register_entry(iid)
    assert entry["status"] == "active"
    assert entry["activated_at"] is not None
    (escalation,) = entry["ciso_escalations"]
    assert (escalation["reason"], escalation["escalated_by"]) == ("controls", "bob")
    assert escalation["outcome"] == "accepted without compensating controls"
    assert escalation["decided_by"] == "grace"
    assert "accepted without compensating controls by grace" in world.status(iid)
    verified = world.cli("register verify")
    assert verified.exit_code == 0, verified.output


def test_controls_escalated_by_security_compliance_and_revoked_by_the_ciso(
    world: World,
) -> None:
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    # Not the department head's to escalate: reverted and reported.
    world.later(days=1).label("carol", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert any(
        "which only the requester or Security Compliance may add" in c
        for c in world.bot_comments(iid)
    )
    world.later(hours=1).label("sue", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    world.later(hours=1).label("grace", iid, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::revoked"
    entry = world.register_entry(iid)
    assert (entry["status"], entry["revoked_by"]) == ("revoked", "grace")
    (escalation,) = entry["ciso_escalations"]
    assert (escalation["escalated_by"], escalation["outcome"]) == ("sue", "revoked")
    assert entry["path"].startswith("archive/")
    verified = world.cli("register verify")
    assert verified.exit_code == 0, verified.output


def test_the_activation_deadline_reminds_then_escalates_to_the_ciso(world: World) -> None:
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    world.later(days=13).run()
    assert world.bot_comments(iid, "activation") == []
    world.later(days=1, hours=1).run()
    (reminder,) = world.bot_comments(iid, "activation")
    assert "not active yet, 14 days after its approval" in reminder
    assert "@bob" in reminder
    assert "@security/compliance" in reminder
    assert f'~"{ESCALATE}"' in reminder
    world.later(days=3).run()
    assert len(world.bot_comments(iid, "activation")) == 1
    world.later(days=4).run()
    reminder, escalated = world.bot_comments(iid, "activation")
    assert "I escalated it to the CISO" in escalated
    assert "@grace" in escalated
    assert f"- [ ] {WAIVE}" in world.issue(iid).description
    assert world.register_entry(iid)["ciso_escalations"][0]["outcome"] is None
    world.later(hours=2).tick("grace", iid, WAIVE)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"
    (escalation,) = world.register_entry(iid)["ciso_escalations"]
    assert (escalation["reason"], escalation["escalated_by"]) == (
        "activation-deadline",
        "exception-bot",
    )
    assert escalation["outcome"] == "accepted without compensating controls"


def test_a_request_that_needs_the_ciso_but_lacks_the_item_gets_it(world: World) -> None:
    text = body("critical_production").replace(f"- [ ] {ESCALATION_ITEM}\n", "")
    iid = world.open("alice", text)
    world.run()
    assert world.state(iid) == "exception::escalated"
    assert f"- [ ] {ESCALATION_ITEM}\n- [ ] Department head approval" in (
        world.issue(iid).description
    )
    world.later(hours=1).tick("grace", iid, ESCALATION_ITEM)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::in-review"
    # The escalate label on a request written without the item: the same.
    low = world.open("bob", LOW.replace(f"- [ ] {ESCALATION_ITEM}\n", ""))
    world.run()
    world.later(hours=1).label("bob", low, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(low) == "exception::escalated"
    assert f"- [ ] {ESCALATION_ITEM}" in world.issue(low).description
