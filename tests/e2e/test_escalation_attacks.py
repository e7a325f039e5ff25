"""End to end: issue 23's CISO escalations after a decision, attacked as a requester or an
insider would, and the gaps its review found (docs/explanation/escalations.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gitlab

from exception_bot.domain import record
from exception_bot.sandbox import Sandbox
from tests.e2e.test_ciso_escalations import rejected_by_the_security_team
from tests.e2e.world import World, edit_config
from tests.requests import body, set_field
from tests.support.stories import LOW, ROUTE, rejected

ESCALATE = "exception-action::escalate"
REINSTATE = "CISO reinstates the request"
WAIVE = "CISO accepts without compensating controls"


def to_tom(holder: str, role: str, until: str) -> dict[str, Any]:
    """A delegation of ``holder``'s ``role`` to tom, through ``until``."""
    return {"from": holder, "to": "tom", "roles": [role], "until": until}


def delegate(world: World, tmp_path: Path, *delegations: dict[str, Any]) -> None:
    """The world's config with ``delegations`` in it."""
    world.config = edit_config(
        tmp_path / "config.yml", lambda data: data.update(delegations=list(delegations))
    )


def test_the_ciso_is_assigned_a_rejection_escalated_and_unassigned_once_it_is_confirmed(
    world: World,
) -> None:
    iid = rejected(world)
    assert "grace" not in world.assignees(iid)
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert world.assignees(iid) == ["grace"]
    world.later(hours=1).label("grace", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert world.assignees(iid) == []


def test_a_reinstated_request_is_assigned_back_to_the_stage_that_rejected_it(
    world: World,
) -> None:
    iid = rejected_by_the_security_team(world)
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.assignees(iid) == ["grace"]
    world.later(hours=1).tick("grace", iid, REINSTATE)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team"
    assert "grace" not in world.assignees(iid)
    assert world.assignees(iid)


def test_the_ciso_is_assigned_missing_controls_and_the_activation_deadline(
    world: World,
) -> None:
    controls = world.open("bob", LOW)
    world.approve(controls, ROUTE)
    world.later(days=1).label("bob", controls, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.assignees(controls) == ["grace"]
    world.later(hours=1).tick("grace", controls, WAIVE)
    world.later(minutes=10).run()
    assert world.state(controls) == "exception::active"
    assert world.assignees(controls) == []

    late = world.open("bob", LOW)
    world.approve(late, ROUTE)
    world.later(days=22).run()
    assert any("I escalated it to the CISO" in c for c in world.bot_comments(late, "activation"))
    assert world.assignees(late) == ["grace"]
    world.later(hours=1).label("grace", late, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    assert world.state(late) == "exception::revoked"
    assert world.assignees(late) == []


def test_a_ciso_tick_given_before_the_escalation_does_not_answer_it(world: World) -> None:
    """The requester writes the CISO's section into her request and gets the box ticked while
    nothing was asked of the CISO: the tick answers no escalation. The CISO is asked again."""
    text = LOW + f"\n## CISO escalation\n\n- [ ] {WAIVE}\n- [ ] {REINSTATE}\n"
    iid = world.open("bob", text)
    world.run()
    world.later(hours=1).tick("grace", iid, WAIVE)
    world.approve(iid, ROUTE)
    assert world.state(iid) == "exception::approved"
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    assert world.box(iid, WAIVE) is False
    assert any("before the escalation" in c for c in world.bot_comments(iid))
    world.later(hours=1).tick("grace", iid, WAIVE)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"

    rejected_one = world.open("bob", text)
    world.run()
    world.later(hours=1).tick("grace", rejected_one, REINSTATE)
    world.later(hours=1).label("carol", rejected_one, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(rejected_one) == "exception::rejected"
    world.later(days=1).label("bob", rejected_one, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(rejected_one) == "exception::escalated"
    assert world.box(rejected_one, REINSTATE) is False


def test_appeal_ticks_given_before_the_appeal_do_not_decide_it(world: World) -> None:
    """The requester writes ``## Appeal`` into her request and gets its boxes ticked during
    the review: an appeal is decided by ticks given after it was accepted."""
    legal, ceo, cfo = "Legal opinion recorded", "CEO decision", "CFO decision"
    text = LOW + f"\n## Appeal\n\n- [ ] {legal}\n- [ ] {ceo}\n- [ ] {cfo}\n"
    iid = world.open("bob", text)
    world.run()
    world.later(hours=1).tick("lee", iid, legal)
    world.later(minutes=1).tick("ivan", iid, ceo)
    world.later(minutes=1).tick("judy", iid, cfo)
    world.later(hours=1).label("carol", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    world.later(days=1).label("bob", iid, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::appeal"
    assert world.stage(iid) == "exception-stage::appeal-legal"


def test_an_escalation_pending_when_the_exception_expires_lapses(world: World) -> None:
    """Controls escalated and never answered: the exception expires all the same, and the
    expiry comment, the status note and the register say the escalation lapsed."""
    iid = world.open("bob", set_field(LOW, "Expiration date", "2026-12-10"))
    world.approve(iid, ROUTE)
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.assignees(iid) == ["grace"]
    world.later(days=20).run()
    assert world.state(iid) == "exception::expired"
    (expired,) = world.bot_comments(iid, "expired")
    assert "lapsed" in expired
    assert world.assignees(iid) == []
    (escalation,) = world.register_entry(iid)["ciso_escalations"]
    assert escalation["outcome"] == "lapsed: the exception expired first"
    assert escalation["decided_by"] == "exception-bot"
    # The CISO's late tick answers nothing: the exception stays expired.
    world.later(hours=1).tick("grace", iid, WAIVE)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::expired"
    verified = world.cli("register verify")
    assert verified.exit_code == 0, verified.output


def test_a_rejection_escalated_past_the_expiration_date_lapses_and_is_final(
    world: World,
) -> None:
    iid = world.open("bob", set_field(LOW, "Expiration date", "2026-11-30"))
    world.run()
    world.later(hours=1).label("carol", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    world.later(days=7).run()
    assert world.state(iid) == "exception::rejected"
    assert world.issue(iid).state == "closed"
    assert world.assignees(iid) == []
    assert any("lapsed" in c for c in world.bot_comments(iid, "final"))
    assert "lapsed: the exception expired first" in world.status(iid)


def test_a_level_written_higher_after_the_assessment_is_not_lowered_by_it(
    world: World,
) -> None:
    """The security team raised Medium to High; the requester then writes Critical (the scope
    grew). The old assessment must not route a Critical request as High: a lowering needs
    the CISO, and no one lowered this text."""
    medium = set_field(LOW, "Risk level", "Medium")
    iid = world.open("bob", medium)
    world.run()
    world.later(hours=1).tick("carol", iid, "Department head approval")
    world.later(minutes=10).run()
    world.later(hours=1).label("victor", iid, add=["exception-action::risk-high"])
    world.later(minutes=10).run()
    assert "exception-risk::high" in world.labels(iid)
    world.later(hours=1).edit("bob", iid, "## Risk level\n\nMedium", "## Risk level\n\nCritical")
    world.later(minutes=10).run()
    assert "exception-risk::critical" in world.labels(iid), world.status(iid)


def ciso_files_and_is_rejected(world: World) -> int:
    iid = world.open("grace", LOW)
    world.run()
    world.later(hours=1).label("carol", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    world.later(days=1).label("grace", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    return iid


def test_the_cisos_own_rejection_escalated_falls_to_the_cisos_fallback(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """The CISO may not answer an escalation of her own request: it goes to the CISO role's
    fallback (the security lead here), not to no one."""

    def change(data: dict[str, Any]) -> None:
        data["roles"]["ciso"]["fallback"] = "security_lead"

    world = World(sandbox, gl, edit_config(tmp_path / "config.yml", change))
    iid = ciso_files_and_is_rejected(world)
    assert world.state(iid) == "exception::escalated"
    assert world.assignees(iid) == ["frank"]
    world.later(hours=1).tick("grace", iid, REINSTATE)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    world.later(hours=1).tick("frank", iid, REINSTATE)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::in-review"
    (escalation,) = risk_free_record(world, iid)
    assert escalation.decided_by == "frank"


def test_an_escalation_no_one_may_answer_is_refused(world: World) -> None:
    """No fallback for the CISO role: the CISO's own escalation would wait forever."""
    iid = ciso_files_and_is_rejected(world)
    assert world.state(iid) == "exception::rejected"
    assert any("roles.ciso.fallback" in c for c in world.bot_comments(iid))


def risk_free_record(world: World, iid: int) -> tuple[Any, ...]:
    rec = record.decode(world.status(iid))
    assert rec is not None
    return rec.ciso_escalations


def test_the_cisos_deputy_answers_an_escalation_while_she_is_away(
    world: World, tmp_path: Path
) -> None:
    """grace handed the CISO role to tom: he is the one assigned, so his tick must count
    (it was unticked: the escalation waited for her return)."""

    delegate(world, tmp_path, to_tom("grace", "ciso", "2026-11-24"))
    iid = rejected(world)
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.assignees(iid) == ["tom"]
    world.later(hours=1).tick("tom", iid, REINSTATE)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::in-review"
    # Not after the delegation: a deputy's tick on a day it does not cover is undone.
    late = rejected(world)
    world.later(days=1).label("bob", late, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.assignees(late) == ["grace"]
    world.later(hours=1).tick("tom", late, REINSTATE)
    world.later(minutes=10).run()
    assert world.state(late) == "exception::escalated"
    assert world.box(late, REINSTATE) is False


def test_boxes_written_ticked_or_ticked_by_the_requester_answer_nothing(world: World) -> None:
    """The requester writes the CISO's section with its boxes ticked, and ticks the box the
    bot adds herself: no GitLab checklist event by the CISO, no answer."""
    text = LOW + f"\n## CISO escalation\n\n- [x] {REINSTATE}\n- [x] {WAIVE}\n"
    iid = world.open("bob", text)
    world.run()
    world.later(hours=1).label("carol", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    world.later(days=1).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    world.later(hours=1).run()
    assert world.state(iid) == "exception::escalated"
    assert world.box(iid, REINSTATE) is False
    world.later(hours=1).tick("bob", iid, REINSTATE)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert world.box(iid, REINSTATE) is False

    controls = world.open("bob", LOW)
    world.approve(controls, ROUTE)
    world.later(days=1).label("bob", controls, add=[ESCALATE])
    world.later(minutes=10).run()
    world.later(hours=1).tick("bob", controls, WAIVE)
    world.later(minutes=10).run()
    assert world.state(controls) == "exception::approved"
    assert world.box(controls, WAIVE) is False


def test_naming_the_approvers_in_requester_contact_does_not_choose_who_approves(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    """*Requester contact* is text the requester writes: it may take rights away, never
    choose the approver. Naming the CISO there must not send a Critical request in
    production to the CISO role's fallback (the security lead here) instead of the CISO."""

    def change(data: dict[str, Any]) -> None:
        data["roles"]["ciso"]["fallback"] = "security_lead"

    world = World(sandbox, gl, edit_config(tmp_path / "config.yml", change))
    text = set_field(body("critical_production"), "Requester contact", "@alice (Payments), @grace")
    iid = world.open("alice", text)
    world.run()
    assert world.state(iid) == "exception::escalated"
    assert world.bot_comments(iid, "fallback") == []
    world.later(hours=1).tick("frank", iid, "CISO escalation approval")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert world.box(iid, "CISO escalation approval") is False


def test_a_reject_label_older_than_the_escalation_does_not_confirm_it(world: World) -> None:
    """The CISO's reject label added to the rejected request before it was escalated answers
    nothing: only a label added after the escalation confirms the rejection."""
    iid = rejected(world)
    world.later(hours=1).label("grace", iid, add=["exception-action::reject"])
    world.later(minutes=5).label("bob", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert world.issue(iid).state == "opened"
    world.later(hours=1).label("grace", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"


def test_the_cisos_deputy_confirms_a_lowering_while_she_is_away(
    world: World, tmp_path: Path
) -> None:
    """A delegation of the CISO role hands over the CISO's answer to a proposed lowering too:
    the deputy's label was reported as tampering."""

    delegate(world, tmp_path, to_tom("grace", "ciso", "2026-11-30"))
    iid = world.open("bob", set_field(LOW, "Risk level", "High"))
    world.run()
    world.later(hours=1).tick("carol", iid, "Department head approval")
    world.later(minutes=10).run()
    world.later(hours=1).label("frank", iid, add=["exception-action::risk-medium"])
    world.later(minutes=10).run()
    assert "exception-risk::high" in world.labels(iid)
    world.later(hours=1).label("tom", iid, add=["exception-action::risk-medium"])
    world.later(minutes=10).run()
    assert "exception-risk::medium" in world.labels(iid)
    assert not any("tampering" in c.lower() for c in world.bot_comments(iid, "tampering"))


def test_deputies_act_by_label_for_the_roles_handed_to_them(world: World, tmp_path: Path) -> None:
    """frank (security lead) and sue (Security Compliance) handed their roles to tom: his
    risk raise and his revocation are theirs, not tampering."""
    delegate(
        world,
        tmp_path,
        to_tom("frank", "security_lead", "2026-12-31"),
        to_tom("sue", "security_compliance", "2026-12-31"),
    )
    iid = world.open("bob", set_field(LOW, "Risk level", "High"))
    world.run()
    world.later(hours=1).label("tom", iid, add=["exception-action::risk-critical"])
    world.later(minutes=10).run()
    assert "exception-risk::critical" in world.labels(iid)
    assert "exception-alert::tampering" not in world.labels(iid)

    other = world.open("bob", LOW)
    world.approve(other, ROUTE)
    world.later(hours=1).label("tom", other, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    assert world.state(other) == "exception::revoked"


def test_a_deputy_may_reject_at_the_stage_he_is_assigned(world: World, tmp_path: Path) -> None:
    """tom is assigned the department head's stage while carol is away: his reject label is
    hers, as his tick would be, not tampering."""

    delegate(world, tmp_path, to_tom("carol", "department_head", "2026-11-30"))
    iid = world.open("bob", LOW)
    world.run()
    assert world.assignees(iid) == ["tom"]
    world.later(hours=1).label("tom", iid, add=["exception-action::reject"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    assert "exception-alert::tampering" not in world.labels(iid)


def test_a_deputy_may_escalate_a_request_under_review(world: World, tmp_path: Path) -> None:
    delegate(world, tmp_path, to_tom("carol", "department_head", "2026-11-30"))
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("tom", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::escalated"
    assert "exception-alert::tampering" not in world.labels(iid)


def test_security_compliances_deputy_confirms_and_clears_the_alert(
    world: World, tmp_path: Path
) -> None:
    """sue handed Security Compliance to tom: he confirms the controls and clears a
    tampering alert for her, as he approves for her."""

    delegate(world, tmp_path, to_tom("sue", "security_compliance", "2026-12-31"))
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    world.later(hours=1).tick("tom", iid, "Compensating controls implemented")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"
    world.later(hours=1).label("bob", iid, add=["exception::expired"])
    world.later(minutes=10).run()
    assert "exception-alert::tampering" in world.labels(iid)
    world.later(hours=1).label("tom", iid, remove=["exception-alert::tampering"])
    world.later(minutes=10).run()
    assert "exception-alert::tampering" not in world.labels(iid)


def test_security_compliances_deputy_may_escalate_missing_controls(
    world: World, tmp_path: Path
) -> None:
    delegate(world, tmp_path, to_tom("sue", "security_compliance", "2026-12-31"))
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    world.later(hours=1).label("tom", iid, add=[ESCALATE])
    world.later(minutes=10).run()
    assert world.assignees(iid) == ["grace"]
    assert "exception-alert::tampering" not in world.labels(iid)
