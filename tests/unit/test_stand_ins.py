"""Stand-ins (docs/explanation/approvals.md, "Fallbacks" and "Delegation"): a stage no holder
may approve falls to the role's fallback; a delegate's tick counts for the delegator's role
in the delegation's period only."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from exception_bot.config import parse_config
from exception_bot.domain import record
from exception_bot.domain.actions import AssignUsers, SetCheckbox
from exception_bot.domain.model import State
from exception_bot.domain.review import decide
from exception_bot.domain.review.context import Context
from exception_bot.domain.settings import CalendarSettings, Config, Delegation
from exception_bot.errors import ConfigError
from exception_bot.render import TEMPLATES
from tests.issues import BOT, FakeIssue, person
from tests.requests import body, set_field
from tests.support.config_data import default_data
from tests.support.decisions import CAROL, DIRECTORY, GRACE, SAM, T0, TOM, posted, step

DEPARTMENT_HEAD = "Department head approval"
SECURITY_TEAM = "Security team approval"
FRANK = person("frank")


def own_request(contact: str = "Carol Chen, @carol") -> FakeIssue:
    """A finance request filed by carol, finance's only department head."""
    text = set_field(body("low_staging"), "Requester contact", contact)
    return FakeIssue(text, CAROL, T0)


def status_record(issue: FakeIssue) -> record.Record:
    (found,) = [r for n in issue.notes if (r := record.decode(n.body)) is not None]
    return found


def test_a_stage_no_holder_may_approve_falls_to_the_ciso(config: Config) -> None:
    issue = own_request()
    outcome = step(issue, config)
    assert AssignUsers(outcome.issue, ("grace",)) in outcome.actions
    fallback = [b for b in posted(outcome) if "kind=fallback" in b]
    assert len(fallback) == 1
    assert "**No Department Head can approve this request**: carol is the requester" in fallback[0]
    issue.later(hours=1).tick(GRACE, DEPARTMENT_HEAD)
    outcome = step(issue, config)
    assert outcome.stage == "exception-stage::security-team"
    (approval,) = status_record(issue).approvals
    assert (approval.slot, approval.user, approval.role) == ("department_head", "grace", "ciso")
    assert not [b for b in posted(outcome) if "kind=fallback" in b]  # said once


def test_the_configured_fallback_is_asked(config: Config) -> None:
    roles = dict(config.roles)
    roles["department_head"] = replace(roles["department_head"], fallback="security_lead")
    changed = replace(config, roles=roles)
    issue = own_request()
    outcome = step(issue, changed)
    assert AssignUsers(outcome.issue, ("frank",)) in outcome.actions
    issue.later(hours=1).tick(GRACE, DEPARTMENT_HEAD)  # the CISO is not the fallback here
    outcome = step(issue, changed)
    assert SetCheckbox(outcome.issue, "Approvals", DEPARTMENT_HEAD, False) in outcome.actions
    issue.later(hours=1).tick(FRANK, DEPARTMENT_HEAD)
    assert step(issue, changed).stage == "exception-stage::security-team"


def test_a_stage_with_no_one_anywhere_says_so_and_waits(config: Config) -> None:
    issue = own_request("Carol Chen, @carol; her deputy @grace")  # the CISO asks too
    outcome = step(issue, config)
    (said,) = [b for b in posted(outcome) if "kind=fallback" in b]
    assert "No one can approve the Department Head stage" in said
    assert "roles.department\\_head.fallback" in said or "roles.department_head.fallback" in said
    assert outcome.stage == "exception-stage::department-head"
    assert not [a for a in outcome.actions if isinstance(a, AssignUsers)]


def test_a_holder_who_approved_another_role_leaves_the_stage_to_the_fallback(
    config: Config,
) -> None:
    roles = dict(config.roles)
    roles["policy_owner"] = replace(roles["policy_owner"], by_policy={"encryption": ("carol",)})
    changed = replace(config, roles=roles)
    issue = FakeIssue(body("low_staging"), person("bob"), T0)
    step(issue, changed)
    for user, item in ((CAROL, DEPARTMENT_HEAD), (SAM, SECURITY_TEAM)):
        issue.later(hours=1).tick(user, item)
        step(issue, changed)
    # carol, the only encryption policy owner, approved as department head
    outcome = step(issue, changed, minutes=1)
    assert step(issue, changed).stage == "exception-stage::policy-owner"
    assert any("carol is the requester or already approved it" in b for b in issue_bodies(issue))
    issue.later(hours=1).tick(GRACE, "Policy owner approval")
    assert step(issue, changed).stage == "exception-stage::security-compliance", outcome


def issue_bodies(issue: FakeIssue) -> list[str]:
    return [n.body for n in issue.notes]


UNTIL = date(2026, 11, 27)  # a Friday; T0 is the Monday before


@pytest.mark.parametrize(
    ("delegation", "ticker", "days", "timezone", "counts"),
    [
        (Delegation("carol", "tom", ("department_head",), UNTIL), TOM, 1, "UTC", True),
        (Delegation("carol", "tom", ("department_head",), UNTIL), TOM, 4.6, "UTC", True),
        # until is inclusive, in the calendar's timezone: Saturday 03:00 UTC is Friday in NY
        (Delegation("carol", "tom", ("department_head",), UNTIL), TOM, 4.76, "UTC", False),
        (
            Delegation("carol", "tom", ("department_head",), UNTIL),
            TOM,
            4.76,
            "America/New_York",
            True,
        ),
        (Delegation("carol", "tom", ("department_head",), UNTIL, UNTIL), TOM, 1, "UTC", False),
        (Delegation("carol", "tom", ("policy_owner",), UNTIL), TOM, 1, "UTC", False),
        (Delegation("erin", "tom", ("department_head",), UNTIL), TOM, 1, "UTC", False),
        (Delegation("carol", "bob", ("department_head",), UNTIL), person("bob"), 1, "UTC", False),
    ],
    ids=[
        "in-period",
        "last-day",
        "day-after",
        "last-day-in-new-york",
        "before-since",
        "other-role",
        "delegator-not-a-holder",
        "delegate-is-the-requester",
    ],
)
def test_a_delegates_tick_counts_for_the_delegator_in_the_period_only(
    config: Config,
    delegation: Delegation,
    ticker: object,
    days: float,
    timezone: str,
    counts: bool,
) -> None:
    changed = replace(
        config, delegations=(delegation,), calendar=CalendarSettings(timezone=timezone)
    )
    issue = FakeIssue(body("low_staging"), person("bob"), T0)
    step(issue, changed)
    issue.later(days=days).tick(ticker, DEPARTMENT_HEAD)  # type: ignore[arg-type]
    outcome = step(issue, changed)
    if counts:
        assert outcome.stage == "exception-stage::security-team"
        (approval,) = status_record(issue).approvals
        assert (approval.user, approval.for_user) == ("tom", "carol")
        assert "tom for carol" in issue_bodies(issue)[-1] or any(
            "tom for carol" in b for b in issue_bodies(issue)
        )
    else:
        assert outcome.stage == "exception-stage::department-head"
        assert SetCheckbox(outcome.issue, "Approvals", DEPARTMENT_HEAD, False) in outcome.actions


def test_a_delegate_covers_no_second_role_for_either(config: Config) -> None:
    delegation = Delegation("carol", "sam", ("department_head",), UNTIL)
    changed = replace(config, delegations=(delegation,))
    issue = FakeIssue(body("low_staging"), person("bob"), T0)
    step(issue, changed)
    issue.later(hours=1).tick(SAM, DEPARTMENT_HEAD)
    assert step(issue, changed).stage == "exception-stage::security-team"
    issue.later(hours=1).tick(SAM, SECURITY_TEAM)  # sam is in security, but approved for carol
    outcome = step(issue, changed)
    assert any("you already approved this request as Department Head" in b for b in posted(outcome))


def test_the_deputy_is_assigned_while_the_delegation_lasts(config: Config) -> None:
    delegation = Delegation("carol", "tom", ("department_head",), UNTIL)
    issue = FakeIssue(body("low_staging"), person("bob"), T0)
    outcome = step(issue, replace(config, delegations=(delegation,)))
    assert AssignUsers(outcome.issue, ("tom",)) in outcome.actions
    assert any(
        "carol is away until 2026-11-27: @tom approves for carol" in b for b in posted(outcome)
    )
    assert any("- @carol @tom: review the request" in b for b in posted(outcome))
    assert outcome.state is State.IN_REVIEW


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"from": "carol", "to": "tom", "roles": ["boss"], "until": "2027-01-10"},
            "delegations[0].roles: unknown role 'boss': name roles listed under roles",
        ),
        (
            {"from": "carol", "to": "carol", "roles": ["department_head"], "until": "2027-01-10"},
            "delegations[0].to: a delegation is to someone else; name the deputy",
        ),
        (
            {"from": "carol", "to": "tom", "roles": ["department_head"], "until": "soon"},
            "delegations[0].until: expected a date like 2027-01-10, got 'soon'",
        ),
        (
            {"from": "carol", "to": "tom", "roles": ["department_head"]},
            "delegations[0].until: required key is missing (config/exception-bot.yml has an "
            "example)",
        ),
    ],
)
def test_a_wrong_delegation_says_what_to_fix(entry: dict[str, object], problem: str) -> None:
    data = default_data()
    data["delegations"] = [entry]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert problem in caught.value.problems


def test_delegations_and_fallbacks_are_read() -> None:
    data = default_data()
    data["delegations"] = [
        {"from": "@Carol", "to": "tom", "roles": "department_head", "until": date(2027, 1, 10)}
    ]
    data["roles"]["department_head"]["fallback"] = "security_lead"
    config = parse_config(data)
    assert config.delegations == (
        Delegation("carol", "tom", ("department_head",), date(2027, 1, 10)),
    )
    assert config.roles["department_head"].fallback == "security_lead"
    data["roles"]["department_head"]["fallback"] = "department_head"
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.problems == (
        "roles.department_head.fallback: a role cannot fall back to itself; name another role",
    )


@pytest.mark.parametrize(
    ("busy", "assigned", "away"),
    [
        (set(), ("dave", "erin"), ()),
        ({"erin"}, ("dave",), ("erin",)),
        ({"dave", "erin"}, ("dave", "erin"), ()),  # everyone busy: still theirs
    ],
)
def test_busy_holders_are_left_out_while_another_can_be_asked(
    config: Config, busy: set[str], assigned: tuple[str, ...], away: tuple[str, ...]
) -> None:
    roles = dict(config.roles)
    roles["department_head"] = replace(
        roles["department_head"], by_department={"finance": ("dave", "erin")}
    )
    changed = replace(config, roles=roles)
    directory = replace(DIRECTORY, availability=dict.fromkeys(busy, "busy"))
    issue = FakeIssue(body("low_staging"), person("bob"), T0)
    outcome = decide(issue.snapshot(), Context(changed, directory, BOT, T0, TEMPLATES))
    assert AssignUsers(outcome.issue, assigned) in outcome.actions
    (turn,) = [b for b in posted(outcome) if "kind=turn" in b]
    assert [u for u in ("dave", "erin") if f"{u} is away (busy" in turn] == list(away)


def test_the_ciso_who_stood_in_approves_the_cisos_own_stage_too(config: Config) -> None:
    """The fallback acts in its own role: one role, not two (the CISO for the department head,
    then as the CISO)."""
    text = set_field(body("low_staging"), "Risk level", "Critical")
    issue = FakeIssue(set_field(text, "Requester contact", "@carol"), CAROL, T0)
    step(issue, config)
    issue.later(hours=1).tick(GRACE, DEPARTMENT_HEAD)
    assert step(issue, config).stage == "exception-stage::ciso+vp-engineering"
    issue.later(hours=1).tick(GRACE, "CISO approval")
    outcome = step(issue, config)
    assert not [a for a in outcome.actions if isinstance(a, SetCheckbox)], posted(outcome)
    assert not [b for b in posted(outcome) if "kind=fallback" in b]
    issue.later(hours=1).tick(person("heidi"), "VP Engineering approval")
    assert step(issue, config).stage == "exception-stage::policy-owner"
