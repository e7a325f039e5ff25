"""Monthly metrics count every escalation to the CISO a record holds (docs/explanation/
metrics.md): a Critical request in production escalated before its review and later escalated
again because its controls cannot be implemented went to the CISO twice."""

from __future__ import annotations

from datetime import UTC, datetime

from exception_bot.domain.metrics import monthly
from exception_bot.domain.model import State
from tests.unit.test_metrics import NOW, at, facts


def test_every_escalation_counts_not_every_request_once() -> None:
    twice = facts(
        "p#1",
        state=State.APPROVED,
        opened_at=at(2),
        states=((State.ESCALATED, at(2)), (State.IN_REVIEW, at(3)), (State.APPROVED, at(5))),
        escalated_at=(at(20),),  # controls, then (not in November) the activation deadline
    )
    deadline_too = facts(
        "p#2",
        state=State.APPROVED,
        opened_at=at(3),
        states=((State.APPROVED, at(4)),),
        escalated_at=(at(10), at(25), datetime(2026, 12, 2, tzinfo=UTC)),
    )
    assert monthly([twice, deadline_too], "2026-11", NOW, UTC).escalations == 4


def test_the_escalated_label_put_back_after_tampering_is_not_a_second_escalation() -> None:
    """Someone removes ``exception::escalated`` and the bot puts it back: one escalation, or
    anyone could inflate the figure."""
    tampered = facts(
        "p#1",
        state=State.ESCALATED,
        opened_at=at(2),
        states=((State.ESCALATED, at(2)), (State.ESCALATED, at(3)), (State.ESCALATED, at(4))),
    )
    assert monthly([tampered], "2026-11", NOW, UTC).escalations == 1
