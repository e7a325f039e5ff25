"""Verified approvals end to end (docs/explanation/approvals.md): the real `run` command against the
sandbox GitLab, over several runs."""

from __future__ import annotations

from typing import Any

import pytest

from exception_bot.sandbox import Sandbox
from tests.e2e.world import World, writes_besides_the_lock
from tests.requests import body, set_field

LOW = body("low_staging")  # finance / encryption: carol, security team, erin, security compliance
DH, ST, PO, SC = (
    "Department head approval",
    "Security team approval",
    "Policy owner approval",
    "Security Compliance review",
)


def test_low_risk_goes_through_every_stage_to_approved(world: World) -> None:
    iid = world.open("bob", LOW)
    assert world.run().exit_code == 0
    assert world.state(iid) == "exception::in-review"
    assert world.stage(iid) == "exception-stage::department-head"
    assert world.assignees(iid) == ["carol"]
    assert any("@carol: review the request" in c for c in world.bot_comments(iid, "turn"))
    for user, item, next_stage in [
        ("carol", DH, "exception-stage::security-team"),
        ("victor", ST, "exception-stage::policy-owner"),
        ("erin", PO, "exception-stage::security-compliance"),
    ]:
        world.later(hours=2).tick(user, iid, item)
        assert world.later(minutes=15).run().exit_code == 0
        assert world.stage(iid) == next_stage, world.status(iid)
    world.later(hours=2).tick("sue", iid, SC)
    world.later(minutes=15).run()
    assert world.state(iid) == "exception::approved"
    assert world.stage(iid) is None
    status = world.status(iid)
    for user in ("carol", "victor", "erin", "sue"):
        assert f"| {user} |" in status
    assert world.issue(iid).due_date is not None
    entry = world.sandbox.file(
        "security/exception-register", f"exceptions/EXC-{iid:04d}-confidential.md"
    )
    assert entry is not None
    assert "status: approved" in entry


def test_high_risk_needs_both_roles_of_its_stage_in_either_order(world: World) -> None:
    iid = world.open("bob", set_field(LOW, "Risk level", "High"))
    world.run()
    world.later(hours=1).tick("carol", iid, DH)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-lead+engineering-manager"
    assert set(world.assignees(iid)) == {"frank"}  # the group role has no named users
    world.later(hours=1).tick("mia", iid, "Engineering Manager approval")
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-lead+engineering-manager"
    world.later(hours=1).tick("frank", iid, "Security Lead approval")
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::policy-owner"


def test_critical_needs_ciso_and_vp_and_in_production_goes_to_the_ciso_first(world: World) -> None:
    staging = world.open("bob", set_field(LOW, "Risk level", "Critical"))
    production = world.open("alice", body("critical_production"))
    world.run()
    assert world.stage(staging) == "exception-stage::department-head"
    assert world.state(production) == "exception::escalated"
    assert world.stage(production) == "exception-stage::ciso-escalation"
    assert world.assignees(production) == ["grace"]
    world.later(hours=1).tick("carol", staging, DH)
    world.later(hours=1).tick("grace", production, "CISO escalation approval")
    world.later(minutes=5).run()
    assert world.stage(staging) == "exception-stage::ciso+vp-engineering"
    assert world.state(production) == "exception::in-review"
    assert world.stage(production) == "exception-stage::department-head"
    world.later(hours=1).tick("heidi", staging, "VP Engineering approval")
    world.later(minutes=5).run()  # recorded before grace's save, which could change any text
    world.later(hours=1).tick("grace", staging, "CISO approval")
    world.later(minutes=5).run()
    assert world.stage(staging) == "exception-stage::policy-owner"


def test_the_requester_ticking_their_own_box_is_undone(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).tick("bob", iid, DH)
    world.later(minutes=5).run()
    assert world.box(iid, DH) is False
    assert world.stage(iid) == "exception-stage::department-head"
    assert any(
        "a requester cannot approve their own exception" in c for c in world.bot_comments(iid)
    )


def test_a_tick_by_someone_without_the_role_is_undone(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).tick("tom", iid, DH)
    world.later(minutes=5).run()
    assert world.box(iid, DH) is False
    assert any(
        "@tom, I unticked **Department head approval**" in c for c in world.bot_comments(iid)
    )
    # The bot's own untick is its checklist note, not an approval by anyone.
    world.later(minutes=5).run()
    assert world.stage(iid) == "exception-stage::department-head"


def test_one_person_cannot_approve_for_two_roles(world: World) -> None:
    # Sam heads sales and is in the security group.
    iid = world.open("bob", set_field(LOW, "Department", "sales"))
    world.run()
    world.later(hours=1).tick("sam", iid, DH)
    world.later(minutes=5).run()
    world.later(hours=1).tick("sam", iid, ST)
    world.later(minutes=5).run()
    assert world.box(iid, ST) is False
    assert world.stage(iid) == "exception-stage::security-team"
    assert any(
        "you already approved this request as Department Head" in c for c in world.bot_comments(iid)
    )


def test_a_box_ticked_at_creation_does_not_count(world: World) -> None:
    iid = world.open("bob", LOW.replace(f"- [ ] {DH}", f"- [x] {DH}"))
    world.run()
    assert world.box(iid, DH) is False
    assert world.stage(iid) == "exception-stage::department-head"
    assert any("GitLab has no record of who ticked it" in c for c in world.bot_comments(iid))


def test_a_changed_request_voids_earlier_approvals(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).tick("carol", iid, DH)
    world.later(minutes=5).run()
    world.later(hours=1).tick("victor", iid, ST)
    world.later(minutes=5).run()
    assert world.stage(iid) == "exception-stage::policy-owner"
    world.later(hours=1).edit("bob", iid, "2027-01-15", "2027-02-15")
    world.later(minutes=5).run()
    assert world.box(iid, DH) is False
    assert world.box(iid, ST) is False
    assert world.stage(iid) == "exception-stage::department-head"
    voided = [c for c in world.bot_comments(iid, "untick") if "the request fields changed" in c]
    assert len(voided) == 2


def test_unticking_withdraws_an_approval(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).tick("carol", iid, DH)
    world.later(minutes=5).run()
    assert world.stage(iid) == "exception-stage::security-team"
    world.later(hours=1).tick("carol", iid, DH, checked=False)
    world.later(minutes=5).run()
    assert world.stage(iid) == "exception-stage::department-head"
    assert "| 1 (current) | Department head approval | — | waiting |" in world.status(iid)


def test_a_hand_set_approval_label_is_restored_and_reported(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("bob", iid, add=["exception::approved"])
    world.later(minutes=5).run()
    assert world.state(iid) == "exception::in-review"
    assert "exception-alert::tampering" in world.labels(iid)
    (alert,) = world.bot_comments(iid, "tampering")
    assert "@bob added `exception::approved`" in alert
    world.later(minutes=5).run()
    assert len(world.bot_comments(iid, "tampering")) == 1


def test_reject_and_request_changes_only_from_the_current_approver(world: World) -> None:
    first, second = world.open("bob", LOW), world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("tom", first, add=["exception-action::reject"])
    world.later(hours=1).label("carol", second, add=["exception-action::request-changes"])
    world.later(minutes=5).run()
    assert world.state(first) == "exception::in-review"
    assert "exception-action::reject" not in world.labels(first)
    assert any(
        "which only an approver of the current stage may add" in c
        for c in world.bot_comments(first)
    )
    assert world.state(second) == "exception::needs-info"
    world.later(hours=1).edit(
        "bob", second, "Install vendor release 8.4", "Install vendor release 8.5"
    )
    world.later(minutes=5).run()
    assert world.state(second) == "exception::in-review"
    world.later(hours=1).label("carol", first, add=["exception-action::reject"])
    world.later(minutes=5).run()
    assert world.state(first) == "exception::rejected"
    assert "exception-action::reject" not in world.labels(first)


def test_an_invalid_request_gets_one_comment_kept_up_to_date(world: World) -> None:
    bad = set_field(set_field(LOW, "Department", "marketing"), "Expiration date", "soon")
    iid = world.open("bob", bad)
    world.run()
    assert world.state(iid) == "exception::needs-info"
    (problems,) = world.bot_comments(iid, "problems")
    assert "marketing" in problems
    world.later(hours=1).edit("bob", iid, "marketing", "finance")
    world.later(minutes=5).run()
    (problems,) = world.bot_comments(iid, "problems")
    assert "marketing" not in problems
    assert "soon" in problems
    world.later(hours=1).edit("bob", iid, "\nsoon\n", "\n2027-01-15\n")
    world.later(minutes=5).run()
    assert world.state(iid) == "exception::in-review"
    assert len(world.bot_comments(iid, "problems")) == 1


def test_quick_actions_in_request_fields_never_run(world: World, sandbox: Sandbox) -> None:
    injected = '/label ~"exception::approved"\n/close'
    text = LOW
    for field in ("Summary", "Scope", "Justification", "Risk assessment", "Remediation plan"):
        # Inside a code block GitLab stores the lines as text; the bot must keep it that way.
        text = set_field(text, field, f"Keep TLS 1.1.\n\n```\n{injected}\n```")
    text = set_field(text, "Department", f"`{injected}`")
    iid = world.open("bob", text)
    world.run()
    world.later(hours=1).tick("tom", iid, DH)  # makes the bot rewrite the description
    world.later(minutes=5).run()
    world.later(minutes=5).run()
    issue = world.issue(iid)
    assert issue.state == "opened"
    assert "exception::approved" not in issue.labels
    assert not any(e.label.name == "exception::approved" for e in issue.label_events)
    assert "/close" in issue.description  # still there, as text inside its code block
    for comment in world.bot_comments(iid):
        assert not any(line.lstrip().startswith("/") for line in comment.splitlines())


def test_a_second_run_writes_nothing_and_dry_run_writes_nothing(
    world: World, sandbox: Sandbox
) -> None:
    iid = world.open("bob", LOW)
    sandbox.clear_log()
    dry = world.run("--dry-run")
    assert dry.exit_code == 0
    assert "would" in dry.output
    assert sandbox.writes() == []
    assert world.labels(iid) == {"ExceptionRequest", "exception::submitted"}
    world.run()
    sandbox.clear_log()
    again = world.later(minutes=10).run()
    assert again.summary["changed"] == 0
    assert writes_besides_the_lock(sandbox) == []


def test_a_failed_write_fails_only_that_issue_and_the_next_run_finishes_it(
    world: World, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)  # python-gitlab's retry backoff
    first, second = world.open("bob", LOW), world.open("bob", LOW)
    # python-gitlab retries a 5xx ten times: the write fails for good on the eleventh answer.
    sandbox.fault("PUT", rf"/issues/{first}$", nth=1, status=500, times=11)
    result = world.run()
    assert result.exit_code == 1
    assert result.summary["failed"] == 1
    assert f"security/exceptions#{first}: failed" in result.output
    assert world.state(second) == "exception::in-review"
    world.later(minutes=10).run()
    assert world.state(first) == "exception::in-review"
    assert len(world.bot_comments(first, "status")) == 1
    assert len(world.bot_comments(first, "turn")) == 1


def test_run_one_issue_with_json_results(world: World) -> None:
    first, second = world.open("bob", LOW), world.open("bob", LOW)
    data: dict[str, Any] = world.run_json("--issue", str(second))
    assert data["summary"]["processed"] == 1
    (result,) = data["issues"]
    assert result["issue"] == f"security/exceptions#{second}"
    assert result["state"] == "in-review"
    assert {a["action"] for a in result["actions"]} >= {"PostNote", "SetLabels", "AssignUsers"}
    assert world.labels(first) == {"ExceptionRequest", "exception::submitted"}
