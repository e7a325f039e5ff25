"""The security team assesses the risk (docs/explanation/routing.md, "The security team
assesses the risk"): who may change a request's level with a risk label, which change takes
effect at once, which waits for the CISO, and which is refused."""

from __future__ import annotations

import pytest

from exception_bot.domain import record
from exception_bot.domain.model import RiskLevel, User
from exception_bot.domain.settings import Config
from tests.issues import FakeIssue
from tests.requests import body, set_field
from tests.support.decisions import BOB, CAROL, FRANK, GRACE, SAM, T0, TOM, posted, step


def request(level: str) -> FakeIssue:
    return FakeIssue(set_field(body("low_staging"), "Risk level", level), BOB, T0)


def recorded(issue: FakeIssue) -> record.Record:
    (status,) = [n.body for n in issue.notes if "exception-bot:kind=status:" in n.body]
    rec = record.decode(status)
    assert rec is not None
    return rec


# (what, written level, who adds which label, level in force after, proposal waiting, answer)
CASES = [
    ("the security team raises", "Medium", SAM, "high", RiskLevel.HIGH, None, "assessed the risk"),
    ("the security team lowers", "Medium", SAM, "low", RiskLevel.MEDIUM, RiskLevel.LOW, "proposes"),
    ("the same level", "Medium", SAM, "medium", RiskLevel.MEDIUM, None, "stays **Medium**"),
    ("the CISO lowers", "High", GRACE, "low", RiskLevel.LOW, None, "(CISO) set the risk level"),
    ("the High route's lead raises", "High", FRANK, "critical", RiskLevel.CRITICAL, None, "as"),
    ("a lead not on the Medium route", "Medium", FRANK, "high", RiskLevel.MEDIUM, None, "only"),
    ("the security team on High", "High", SAM, "critical", RiskLevel.HIGH, None, "only"),
    ("a department head", "Medium", CAROL, "high", RiskLevel.MEDIUM, None, "only"),
    ("an outsider", "Medium", TOM, "high", RiskLevel.MEDIUM, None, "only"),
    ("the requester", "Medium", BOB, "low", RiskLevel.MEDIUM, None, "only"),
]


@pytest.mark.parametrize(
    ("written", "user", "level", "effective", "waiting", "said"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_who_may_assess_and_what_follows(
    config: Config,
    written: str,
    user: User,
    level: str,
    effective: RiskLevel,
    waiting: RiskLevel | None,
    said: str,
) -> None:
    issue = request(written)
    step(issue, config)
    issue.later(hours=1).label(user, f"exception-action::risk-{level}")
    outcome = step(issue, config, minutes=10)
    assert f"exception-risk::{effective.value}" in issue.labels
    assert f"exception-action::risk-{level}" not in issue.labels  # answered and removed
    assert any(said in b for b in posted(outcome)), posted(outcome)
    risk = recorded(issue).risk
    proposed = risk.proposed if risk else None
    assert (proposed.level if proposed else None) == waiting
    refused = said == "only"
    assert ("exception-alert::tampering" in issue.labels) == refused
    assert (risk is None) == refused


def test_a_lowering_takes_effect_when_the_ciso_adds_the_same_label(config: Config) -> None:
    issue = request("High")
    step(issue, config)
    issue.later(hours=1).label(FRANK, "exception-action::risk-medium")
    step(issue, config, minutes=10)
    assert "exception-risk::high" in issue.labels
    issue.later(hours=1).label(GRACE, "exception-action::risk-medium")
    outcome = step(issue, config, minutes=10)
    assert "exception-risk::medium" in issue.labels
    assert any("confirmed the lower risk level **Medium**" in b for b in posted(outcome))
    risk = recorded(issue).risk
    assert risk is not None
    assert risk.proposed is None
    assert risk.assessed is not None
    assert (risk.assessed.level, risk.assessed.by, risk.assessed.confirmed_by) == (
        RiskLevel.MEDIUM,
        "frank",
        "grace",
    )


def test_the_ciso_setting_another_level_ends_the_proposal(config: Config) -> None:
    issue = request("High")
    step(issue, config)
    issue.later(hours=1).label(FRANK, "exception-action::risk-medium")
    step(issue, config, minutes=10)
    issue.later(hours=1).label(GRACE, "exception-action::risk-critical")
    step(issue, config, minutes=10)
    assert "exception-risk::critical" in issue.labels
    risk = recorded(issue).risk
    assert risk is not None
    assert risk.proposed is None
    assert risk.assessed is not None
    assert (risk.assessed.by, risk.assessed.confirmed_by) == ("grace", None)


def test_a_decided_request_keeps_its_level(config: Config) -> None:
    issue = request("Medium")
    step(issue, config)
    issue.later(hours=1).label(CAROL, "exception-action::reject")
    step(issue, config, minutes=10)
    issue.later(hours=1).label(SAM, "exception-action::risk-high")
    outcome = step(issue, config, minutes=10)
    assert "exception-risk::medium" in issue.labels
    assert "exception-action::risk-high" not in issue.labels
    assert any("does not apply to a request that is rejected" in b for b in posted(outcome))
    assert recorded(issue).risk is None
