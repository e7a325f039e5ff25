"""Escalations to the CISO after a decision (docs/explanation/escalations.md): who may escalate
a rejection or an approved exception, when, and what each answer of the CISO does."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exception_bot.domain.actions import SetLabels
from exception_bot.domain.escalation_paths import escalation_table
from exception_bot.domain.model import State, User
from exception_bot.domain.review import decide
from exception_bot.domain.review.context import Context
from exception_bot.domain.settings import Config, CriticalInProduction
from exception_bot.render import TEMPLATES
from tests.issues import BOT, FakeIssue
from tests.support.decisions import (
    BOB,
    CAROL,
    DIRECTORY,
    ERIN,
    GRACE,
    SAM,
    SUE,
    TOM,
    front,
    low_request,
    posted,
    step,
)

ESCALATE = "exception-action::escalate"
LOW_ROUTE = (
    (CAROL, "Department head approval"),
    (SAM, "Security team approval"),
    (ERIN, "Policy owner approval"),
    (SUE, "Security Compliance review"),
)


def rejected(config: Config) -> FakeIssue:
    issue = low_request()
    step(issue, config)
    issue.later(hours=2).label(CAROL, "exception-action::reject")
    assert step(issue, config).state is State.REJECTED
    return issue


def approved(config: Config) -> FakeIssue:
    issue = low_request()
    step(issue, config)
    for user, item in LOW_ROUTE:
        issue.later(hours=1).tick(user, item)
        step(issue, config, minutes=10)
    assert "exception::approved" in issue.labels
    return issue


# Who escalates a rejection, how long after it, and what follows.
REJECTION_CASES = [
    ("the requester, in time", BOB, 3, State.ESCALATED, "escalated the rejection to the CISO"),
    ("another person", CAROL, 3, State.REJECTED, "only the requester (@bob) may escalate"),
    ("the requester, too late", BOB, 15, State.REJECTED, "that time has passed"),
]


@pytest.mark.parametrize(
    ("user", "days", "state", "said"),
    [c[1:] for c in REJECTION_CASES],
    ids=[c[0] for c in REJECTION_CASES],
)
def test_who_may_escalate_a_rejection_and_when(
    config: Config, user: User, days: int, state: State, said: str
) -> None:
    issue = rejected(config)
    issue.later(days=days).label(user, ESCALATE)
    outcome = step(issue, config)
    assert outcome.state is state
    assert any(said in text for text in posted(outcome))


def test_an_appealed_rejection_is_not_escalated_too(config: Config) -> None:
    issue = rejected(config)
    issue.later(days=1).label(BOB, "exception-action::appeal")
    assert step(issue, config).state is State.APPEAL
    issue.later(hours=1).label(BOB, ESCALATE)
    outcome = step(issue, config)
    assert outcome.state is State.APPEAL
    assert "exception-action::escalate" not in issue.labels


# Who escalates an approved exception whose controls cannot be implemented.
CONTROLS_CASES = [
    ("the requester", BOB, True),
    ("Security Compliance", SUE, True),
    ("the department head", CAROL, False),
    ("an outsider", TOM, False),
]


@pytest.mark.parametrize(
    ("user", "accepted"), [c[1:] for c in CONTROLS_CASES], ids=[c[0] for c in CONTROLS_CASES]
)
def test_who_may_escalate_controls_that_cannot_be_implemented(
    config: Config, user: User, accepted: bool
) -> None:
    issue = approved(config)
    issue.later(days=1).label(user, ESCALATE)
    outcome = step(issue, config)
    assert outcome.state is State.APPROVED
    assert ("- [ ] CISO accepts without compensating controls" in issue.description) is accepted
    texts = posted(outcome)
    if accepted:
        assert any("escalated this exception to the CISO" in t for t in texts)
    else:
        assert any("which only the requester or Security Compliance may add" in t for t in texts)


def test_the_cisos_tick_puts_it_in_force_without_the_controls(config: Config) -> None:
    issue = approved(config)
    issue.later(days=1).label(BOB, ESCALATE)
    step(issue, config)
    issue.later(hours=1).tick(GRACE, "CISO accepts without compensating controls")
    outcome = step(issue, config)
    assert outcome.state is State.ACTIVE
    escalations = front(issue)["ciso_escalations"]
    assert isinstance(escalations, list)
    (escalation,) = escalations
    assert escalation["outcome"] == "accepted without compensating controls"
    assert escalation["decided_by"] == "grace"
    assert step(issue, config, minutes=5).actions == ()  # settled: a rerun changes nothing


def test_the_reference_names_every_escalation_path(config: Config) -> None:
    """``exception-bot reference`` (and the labels page) list each way to the CISO, with the
    config's limits and labels; a config that forbids Critical in production has no such row."""
    table = "\n".join(escalation_table(config))
    for words in (
        "A Critical request in production | the bot",
        "A renewal past 2 renewals",
        "A request under review | the requester or an approver, `exception-action::escalate`",
        "A rejected request or renewal, within 14 days, once (instead of the appeal: Legal",
        "tick *CISO reinstates the request*",
        "the requester or Security Compliance, `exception-action::escalate`",
        "tick *CISO accepts without compensating controls*",
        "Not active 14 days after approval: a reminder; 7 days later | the bot",
    ):
        assert words in table
    limits = replace(config.limits, critical_in_production=CriticalInProduction.FORBID)
    assert "Critical" not in "\n".join(escalation_table(replace(config, limits=limits)))


@pytest.mark.parametrize("situation", ["rejected", "approved"])
def test_a_run_that_stopped_before_the_labels_answers_once(config: Config, situation: str) -> None:
    """The run that took the escalation wrote its answer and the status note, then stopped
    before the labels: the next run removes the label without a second word (the answer's
    marker is the label event's, whatever the answer)."""
    issue = rejected(config) if situation == "rejected" else approved(config)
    issue.later(days=1).label(BOB, ESCALATE)
    assert issue.clock is not None
    ctx = Context(config, DIRECTORY, BOT, issue.clock, TEMPLATES)
    stopped = decide(issue.snapshot(), ctx)
    issue.apply(tuple(a for a in stopped.actions if not isinstance(a, SetLabels)))
    assert ESCALATE in issue.labels
    outcome = step(issue, config, minutes=10)
    assert posted(outcome) == []
    assert ESCALATE not in issue.labels
    assert outcome.state is stopped.state
