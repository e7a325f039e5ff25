"""What the monthly metrics need to know of one request (domain/metrics.py), from its label
events and the bot's record."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from exception_bot.domain import record
from exception_bot.domain.model import State
from exception_bot.domain.review.walk import Review
from exception_bot.domain.timeline import StageHistory, StateHistory, stage_history, state_history


class MetricFacts(TypedDict):
    opened_at: datetime
    states: StateHistory
    stages: StageHistory
    approved_at: datetime | None
    remediated_at: datetime | None


def metric_facts(review: Review, final: record.Record) -> MetricFacts:
    """The :class:`~exception_bot.domain.report.RequestFacts` fields of the metrics."""
    issue, bot = review.issue, review.ctx.bot.id
    closed = final.milestones.get("closed") if final.state == State.CLOSED.value else None
    return {
        "opened_at": issue.created_at,
        "states": state_history(issue, review.labels, bot),
        "stages": stage_history(issue, review.labels, bot),
        "approved_at": final.milestones.get("approved"),
        "remediated_at": closed,
    }
