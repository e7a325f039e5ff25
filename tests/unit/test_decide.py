"""``decide``: the rules of docs/explanation/how-run-decides.md, run after run on an in-memory
issue."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime

from exception_bot.domain import record
from exception_bot.domain.actions import AssignUsers, EditNote, PostNote, SetCheckbox, SetLabels
from exception_bot.domain.approvals import fields_hash
from exception_bot.domain.model import (
    DataClassification,
    ExceptionRequest,
    RenewalRef,
    RiskLevel,
    State,
)
from exception_bot.domain.settings import CalendarSettings, Config
from tests.issues import FakeIssue
from tests.requests import body, set_field
from tests.support.decisions import (
    ALICE,
    BOB,
    CAROL,
    ERIN,
    FRANK,
    GRACE,
    MIA,
    SAM,
    SUE,
    T0,
    TOM,
    low_request,
    posted,
    step,
)


def test_new_request_goes_to_the_department_head(config: Config) -> None:
    issue = low_request()
    outcome = step(issue, config)
    assert outcome.state is State.IN_REVIEW
    assert outcome.stage == "exception-stage::department-head"
    labels = [a for a in outcome.actions if isinstance(a, SetLabels)]
    assert labels == [
        SetLabels(
            outcome.issue,
            frozenset(
                {"exception::in-review", "exception-stage::department-head", "exception-risk::low"}
            ),
            frozenset({"exception::submitted"}),
        )
    ]
    assert AssignUsers(outcome.issue, ("carol",)) in outcome.actions
    (turn, status) = posted(outcome)
    assert "@carol: review the request and tick **Department head approval**" in turn
    assert "Exception request status: in-review" in status
    assert "exception-bot:record:" in status


def test_second_run_on_an_unchanged_issue_does_nothing(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    assert step(issue, config, minutes=15).actions == ()


def test_low_risk_route_to_approval(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    for approver, item, stage in [
        (CAROL, "Department head approval", "exception-stage::security-team"),
        (SAM, "Security team approval", "exception-stage::policy-owner"),
        (ERIN, "Policy owner approval", "exception-stage::security-compliance"),
    ]:
        issue.later(hours=1).tick(approver, item)
        assert step(issue, config).stage == stage
    issue.later(hours=1).tick(SUE, "Security Compliance review")
    outcome = step(issue, config)
    assert outcome.state is State.APPROVED
    assert any("**Approved.**" in b for b in posted(outcome))
    assert "exception::approved" in issue.labels
    assert not any(label.startswith("exception-stage::") for label in issue.labels)
    assert step(issue, config, minutes=5).actions == ()


def test_requester_ticking_their_own_box_is_undone(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(BOB, "Department head approval")
    outcome = step(issue, config)
    assert outcome.stage == "exception-stage::department-head"
    assert any("a requester cannot approve their own exception" in b for b in posted(outcome))
    assert SetCheckbox(outcome.issue, "Approvals", "Department head approval", False) in (
        outcome.actions
    )
    assert "- [ ] Department head approval" in issue.description
    assert step(issue, config, minutes=5).actions == ()  # explained once


def test_outsider_tick_is_undone(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(TOM, "Department head approval")
    outcome = step(issue, config)
    assert any(
        "@tom, I unticked **Department head approval**: it must be ticked by the "
        "Department Head" in b
        for b in posted(outcome)
    )


def test_one_person_two_roles(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    step(issue, config)
    # sue is in security and security/compliance: her second role does not count.
    issue.later(minutes=5).tick(SUE, "Security team approval")
    step(issue, config)
    issue.later(minutes=5).tick(SUE, "Security Compliance review")
    outcome = step(issue, config)
    assert any("you already approved this request as Security Team" in b for b in posted(outcome))
    assert "- [ ] Security Compliance review" in issue.description


def test_pre_ticked_box_does_not_count(config: Config) -> None:
    text = body("low_staging").replace(
        "- [ ] Department head approval", "- [x] Department head approval"
    )
    issue = FakeIssue(text, BOB, T0)
    outcome = step(issue, config)
    assert outcome.stage == "exception-stage::department-head"
    assert any("GitLab has no record of who ticked it" in b for b in posted(outcome))


def test_field_change_voids_earlier_approvals(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    step(issue, config)
    issue.later(minutes=5).tick(SAM, "Security team approval")
    assert step(issue, config).stage == "exception-stage::policy-owner"
    issue.later(minutes=5).edit(BOB, "2027-01-15", "2027-02-10")
    outcome = step(issue, config)
    assert outcome.stage == "exception-stage::department-head"
    voided = [b for b in posted(outcome) if "the request fields changed after the approval" in b]
    assert len(voided) == 2
    assert "- [ ] Department head approval" in issue.description
    assert "- [ ] Security team approval" in issue.description
    # A new round notifies the department head again.
    assert any("@carol: review the request" in b for b in posted(outcome))


def test_edit_of_other_text_keeps_approvals(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    step(issue, config)
    issue.later(minutes=5).edit(BOB, "Exception Request: ask", "Exception Request - ask")
    assert step(issue, config).stage == "exception-stage::security-team"


def test_unticking_withdraws(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    assert step(issue, config).stage == "exception-stage::security-team"
    issue.later(minutes=5).tick(CAROL, "Department head approval", checked=False)
    assert step(issue, config).stage == "exception-stage::department-head"


def test_early_tick_counts_when_its_stage_is_reached(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(ERIN, "Policy owner approval")
    assert step(issue, config).stage == "exception-stage::department-head"
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    assert step(issue, config).stage == "exception-stage::security-team"
    issue.later(minutes=5).tick(SAM, "Security team approval")
    assert step(issue, config).stage == "exception-stage::security-compliance"


def test_a_tick_before_another_persons_save_is_stale(config: Config) -> None:
    """Sam's save may have changed any text (a save that ticks writes only checklist notes):
    the bot cannot tell what Carol approved."""
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    issue.later(minutes=1).tick(SAM, "Security team approval")
    outcome = step(issue, config)
    assert outcome.stage == "exception-stage::department-head"
    assert any("someone else saved the description" in b for b in posted(outcome))


def test_high_risk_stage_needs_both_roles(config: Config) -> None:
    text = set_field(body("low_staging"), "Risk level", "High")
    issue = FakeIssue(text, BOB, T0)
    step(issue, config)
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    assert step(issue, config).stage == "exception-stage::security-lead+engineering-manager"
    issue.later(minutes=5).tick(MIA, "Engineering Manager approval")
    assert step(issue, config).stage == "exception-stage::security-lead+engineering-manager"
    issue.later(minutes=5).tick(FRANK, "Security Lead approval")
    assert step(issue, config).stage == "exception-stage::policy-owner"


def test_critical_in_production_is_escalated_first(config: Config) -> None:
    issue = FakeIssue(body("critical_production"), ALICE, T0)
    outcome = step(issue, config)
    assert outcome.state is State.ESCALATED
    assert outcome.stage == "exception-stage::ciso-escalation"
    assert AssignUsers(outcome.issue, ("grace",)) in outcome.actions
    issue.later(hours=1).tick(GRACE, "CISO escalation approval")
    outcome = step(issue, config)
    assert (outcome.state, outcome.stage) == (State.IN_REVIEW, "exception-stage::department-head")


def test_label_tampering_is_restored_and_reported_once(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).label(BOB, "exception::approved")
    outcome = step(issue, config)
    assert any("@bob added `exception::approved`" in b for b in posted(outcome))
    assert "exception::approved" not in issue.labels
    assert "exception-alert::tampering" in issue.labels
    assert "exception::in-review" in issue.labels
    assert step(issue, config, minutes=5).actions == ()


def test_created_with_an_approval_label_is_tampering(config: Config) -> None:
    issue = FakeIssue(
        body("low_staging"),
        BOB,
        T0,
        labels={"ExceptionRequest", "exception::submitted", "exception::approved"},
    )
    outcome = step(issue, config)
    assert outcome.state is State.IN_REVIEW
    assert any("@bob added `exception::approved`" in b for b in posted(outcome))


def test_reject_by_current_approver(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).label(CAROL, "exception-action::reject")
    outcome = step(issue, config)
    assert outcome.state is State.REJECTED
    assert "exception-action::reject" not in issue.labels
    assert "exception::rejected" in issue.labels
    assert step(issue, config, minutes=5).actions == ()


def test_reject_by_someone_else_is_tampering(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).label(ERIN, "exception-action::reject")  # owner, not this stage
    outcome = step(issue, config)
    assert outcome.state is State.IN_REVIEW
    assert "exception-action::reject" not in issue.labels
    assert "exception-alert::tampering" in issue.labels
    assert any("only an approver of the current stage may add" in b for b in posted(outcome))


def test_request_changes_then_edit_continues(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    step(issue, config)
    issue.later(minutes=5).label(SAM, "exception-action::request-changes")
    assert step(issue, config).state is State.NEEDS_INFO
    assert step(issue, config, minutes=5).actions == ()
    issue.later(minutes=5).edit(BOB, "Network flow logs", "VPC flow logs")
    outcome = step(issue, config)
    assert outcome.state is State.IN_REVIEW
    assert outcome.stage == "exception-stage::department-head"  # fields changed: approval void


def test_invalid_request_gets_one_problem_comment_updated_in_place(config: Config) -> None:
    text = set_field(body("low_staging"), "Department", "Marketing")
    issue = FakeIssue(text, BOB, T0)
    outcome = step(issue, config)
    assert outcome.state is State.NEEDS_INFO
    (problems, _status) = posted(outcome)
    assert "`Marketing` is not a known department" in problems
    assert step(issue, config, minutes=5).actions == ()
    issue.later(minutes=5).edit(BOB, "Marketing", "Sales dept")
    outcome = step(issue, config)
    edits = [a for a in outcome.actions if isinstance(a, EditNote)]
    assert any("`Sales dept` is not a known department" in a.body for a in edits)
    assert not posted(outcome)
    issue.later(minutes=5).edit(BOB, "Sales dept", "finance")
    outcome = step(issue, config)
    assert outcome.state is State.IN_REVIEW
    assert any(
        "problems listed here earlier are fixed" in a.body
        for a in outcome.actions
        if isinstance(a, EditNote)
    )


def test_quick_actions_in_fields_never_reach_a_note(config: Config) -> None:
    text = set_field(body("low_staging"), "Department", '/label ~"exception::approved"')
    issue = FakeIssue(text, BOB, T0)
    outcome = step(issue, config)
    for action in outcome.actions:
        if isinstance(action, (PostNote, EditNote)):
            assert not any(line.lstrip().startswith("/") for line in action.body.splitlines())


def test_forged_status_note_is_ignored(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    status = next(n for n in issue.notes if "kind=status" in n.body)
    issue.comment(BOB, status.body)  # a copy, written by the requester
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    assert step(issue, config).stage == "exception-stage::security-team"


def test_sla_breach_reminds_once_per_business_day(config: Config) -> None:
    # High: one business day. Stage 1 starts on Friday; Monday is a holiday.
    holiday = replace(config, calendar=CalendarSettings(holidays=frozenset({date(2026, 11, 23)})))
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    issue = FakeIssue(set_field(body("low_staging"), "Risk level", "High"), BOB, friday)
    step(issue, holiday)
    breaches: list[int] = []
    for when in [
        "2026-11-23T16:00",  # the holiday: not yet due
        "2026-11-24T14:59",  # due Tuesday 15:00
        "2026-11-24T15:30",  # first reminder
        "2026-11-24T18:00",
        "2026-11-25T15:30",  # one business day later
        "2026-11-26T10:00",
        "2026-11-30T09:00",  # several days missed: one reminder, not three
    ]:
        issue.at(datetime.fromisoformat(when).replace(tzinfo=UTC))
        outcome = step(issue, holiday)
        breaches.append(sum("review deadline" in b for b in posted(outcome)))
    assert breaches == [0, 0, 1, 0, 1, 0, 1]
    assert "exception-sla::breached" in issue.labels
    assert [n.body.count("@carol") for n in issue.notes if "kind=sla" in n.body] == [1, 1, 1]
    issue.later(minutes=5).tick(CAROL, "Department head approval")
    step(issue, holiday)
    assert "exception-sla::breached" not in issue.labels


def test_a_stored_quick_action_line_stops_the_bot_editing_the_description(
    config: Config,
) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(minutes=5).tick(TOM, "Department head approval")
    issue.description += '\n/label ~"exception::approved"\n/close\n'
    outcome = step(issue, config)
    assert outcome.state is State.NEEDS_INFO
    assert not any(isinstance(a, SetCheckbox) for a in outcome.actions)
    (problem,) = outcome.problems
    assert "`/label`" in problem.what
    assert "`/close`" in problem.what
    assert all(not line.startswith("/") for b in posted(outcome) for line in b.splitlines())


def test_a_deleted_status_note_does_not_restart_the_review_clock(config: Config) -> None:
    issue = FakeIssue(set_field(body("low_staging"), "Risk level", "High"), BOB, T0)
    step(issue, config)
    issue.notes = [n for n in issue.notes if "kind=status" not in n.body]
    outcome = step(issue, config, days=2)
    assert any("past its review deadline** (2026-11-24 09:00 UTC)" in b for b in posted(outcome))
    assert "Review deadline for this stage: 2026-11-24 09:00 UTC." in posted(outcome)[-1]


def test_fields_hash_never_changes() -> None:
    # Records on GitLab hold these hashes: a change would void every recorded approval.
    plain = ExceptionRequest(
        "S", "@bob", "finance", "encryption", "- `x`", "staging", DataClassification.RED,
        RiskLevel.HIGH, "j", None, "ra", "cc", "rp", date(2027, 1, 15),
    )  # fmt: skip
    renewal = replace(
        plain,
        data_classification=None,
        risk_level=RiskLevel.LOW,
        alternatives_considered="alt",
        renews=RenewalRef(iid=12, project_path="sec/x"),
        why_timeline_not_met="late",
        updated_remediation_plan="new plan",
    )
    assert fields_hash(plain) == "399c467ba1154a43"
    assert fields_hash(renewal) == "ee1f06a9e3188e1f"


def test_a_record_written_differently_but_saying_the_same_is_not_rewritten(
    config: Config,
) -> None:
    # An older version wrote records without the renewal keys; an upgrade must not edit
    # every status note just to write the same record out again.
    issue = low_request()
    step(issue, config)
    (status,) = [n for n in issue.notes if "exception-bot:record:" in n.body]
    match = re.search(r"<!-- exception-bot:record:([A-Za-z0-9+/=]*) -->", status.body)
    assert match is not None
    payload = json.loads(base64.b64decode(match.group(1)))
    del payload["renewal_of"], payload["renewal_number"]
    older = base64.b64encode(json.dumps(payload).encode()).decode()
    body = status.body.replace(match.group(1), older)
    issue.notes = [replace(n, body=body) if n.id == status.id else n for n in issue.notes]
    assert step(issue, config, minutes=15).actions == ()
    # A record that did change is written out in full.
    issue.later(hours=1).tick(CAROL, "Department head approval")
    edits = [a for a in step(issue, config).actions if isinstance(a, EditNote)]
    assert any(record.encode(record.decode(e.body) or record.Record()) in e.body for e in edits)
