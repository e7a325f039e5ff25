"""What the monthly metrics need to know of one request (docs/explanation/metrics.md), from
its label events and the bot's record."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from exception_bot.domain import record
from exception_bot.domain.model import RiskLevel, State
from exception_bot.domain.review import ciso_review
from exception_bot.domain.review.walk import Review
from exception_bot.domain.timeline import StageHistory, StateHistory, stage_history, state_history


class MetricFacts(TypedDict):
    opened_at: datetime
    states: StateHistory
    stages: StageHistory
    approved_at: datetime | None
    remediated_at: datetime | None
    requested_risk: RiskLevel | None
    escalated_at: tuple[datetime, ...]


def metric_facts(review: Review, final: record.Record) -> MetricFacts:
    """The :class:`~exception_bot.domain.report.RequestFacts` fields of the metrics."""
    issue, bot, written = review.issue, review.ctx.bot.id, review.as_written
    closed = final.milestones.get("closed") if final.state == State.CLOSED.value else None
    return {
        "opened_at": issue.created_at,
        "states": state_history(issue, review.labels, bot),
        "stages": stage_history(issue, review.labels, bot),
        "approved_at": final.milestones.get("approved"),
        "remediated_at": closed,
        # what the requester wrote, when the security team assessed another level
        "requested_risk": written.risk_level
        if written is not None and review.written is not None
        else None,
        # An escalated rejection puts the request in the escalated state: counted there.
        "escalated_at": tuple(
            e.at for e in final.ciso_escalations if e.reason != ciso_review.REJECTION
        ),
    }
