"""The monthly metrics (domain/metrics.py, domain/timeline.py): each figure from facts whose
answer is worked out by hand."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings

from exception_bot.domain import charts
from exception_bot.domain.metrics import (
    Spread,
    metrics_context,
    monthly,
    parse_month,
    spread,
    stage_name,
)
from exception_bot.domain.model import RiskLevel, State
from exception_bot.domain.report import RequestFacts
from exception_bot.render import render
from tests.support.live import live
from tests.support.mermaid import mermaid_blocks
from tests.unit.test_escape import HOSTILE

NOV = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 10, tzinfo=UTC)


def at(day: int, hour: int = 0) -> datetime:
    return NOV + timedelta(days=day - 1, hours=hour)


def facts(ref: str, **kw: object) -> RequestFacts:
    base: dict[str, object] = {"reference": ref, "title": "t", "web_url": "u"}
    base.setdefault("state", State.IN_REVIEW)
    return RequestFacts(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ([], Spread(0, None, None)),
        ([5.0], Spread(1, 5.0, 5.0)),
        ([1.0, 2.0], Spread(2, 1.5, 2.0)),
        ([float(n) for n in range(1, 11)], Spread(10, 5.5, 9.0)),
        ([float(n) for n in range(1, 12)], Spread(11, 6.0, 10.0)),
    ],
)
def test_median_and_nearest_rank_90th_percentile(hours: list[float], expected: Spread) -> None:
    assert spread(hours) == expected


@pytest.mark.parametrize("text", ["2026-13", "26-11", "2026-1", "november", "2026-11-01"])
def test_a_month_is_written_yyyy_mm(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(text)


def test_every_figure_of_a_month() -> None:
    approved = facts(
        "p#1",
        state=State.ACTIVE,
        risk=RiskLevel.HIGH,
        opened_at=at(2),
        states=((State.IN_REVIEW, at(2)), (State.APPROVED, at(4)), (State.ACTIVE, at(5))),
        stages=(("department-head", at(2), at(3)), ("security", at(3), at(4))),
        approved_at=at(4),
    )
    rejected = facts(
        "p#2",
        state=State.REJECTED,
        risk=RiskLevel.HIGH,
        opened_at=at(10),
        states=((State.ESCALATED, at(10)), (State.REJECTED, at(11, 12))),
        stages=(("ciso", at(10), at(11, 12)),),
    )
    remediated = facts(
        "p#3",
        state=State.CLOSED,
        risk=RiskLevel.LOW,
        opened_at=datetime(2026, 10, 1, tzinfo=UTC),
        states=(
            (State.APPROVED, datetime(2026, 10, 3, tzinfo=UTC)),
            (State.EXPIRED, at(20)),
            (State.CLOSED, at(21)),
        ),
        approved_at=datetime(2026, 10, 3, tzinfo=UTC),
        remediated_at=at(21),
    )
    renewal = facts(
        "p#4",
        opened_at=at(28),
        renewal_of="EXC-0001",
        renewal_number=1,
        # taken to the CISO twice after decisions (controls, then the activation deadline)
        escalated_at=(at(29), at(30)),
    )
    december = facts("p#5", opened_at=datetime(2026, 12, 2, tzinfo=UTC))
    by_hand = facts(
        "EXC-0042",
        state=State.ACTIVE,
        in_force_since=date(2026, 10, 1),
        expires=date(2027, 1, 1),
    )
    m = monthly(
        [approved, rejected, remediated, renewal, december, by_hand, approved],
        "2026-11",
        NOW,
        UTC,
    )
    assert (m.opened, m.approved, m.rejected, m.approval_rate) == (3, 1, 1, 50.0)
    assert m.by_risk == ((RiskLevel.HIGH, Spread(2, 42.0, 48.0)),)
    assert m.by_stage == (
        ("ciso", Spread(1, 36.0, 36.0)),
        ("department-head", Spread(1, 24.0, 24.0)),
        ("security", Spread(1, 24.0, 24.0)),
    )
    assert m.in_force == 2  # p#1 and the merge request's; p#3 closed on the 21st
    assert m.remediation == Spread(1, 49 * 24.0, 49 * 24.0)
    # p#2 escalated, p#4's decisions escalated twice: every escalation counts
    assert (m.renewals, m.escalations) == (1, 3)


def test_a_month_under_way_counts_what_is_in_force_now() -> None:
    ends = facts("p#1", states=((State.APPROVED, at(2)), (State.EXPIRED, at(20))))
    assert monthly([ends], "2026-11", at(10), UTC).in_force == 1
    assert monthly([ends], "2026-11", NOW, UTC).in_force == 0


@pytest.mark.parametrize(
    ("stage", "name"),
    [("ciso+vp-engineering", "ciso+vp-engineering"), ('a"]\n%%x', "ax"), ("", "stage")],
)
def test_stage_names_in_charts_are_the_bots_words(stage: str, name: str) -> None:
    assert stage_name(stage) == name
    assert charts.chart_label('x" : 1\n"y') == "x  1y"


@settings(max_examples=25, deadline=None)
@given(hostile=HOSTILE)
def test_the_monthly_report_shows_no_user_text_live(hostile: str) -> None:
    """A stage label only the bot adds is still cut to the bot's words in tables and charts,
    and the references of requests that could not be read are shown inert."""
    odd = facts(
        "p#9",
        opened_at=at(2),
        risk=RiskLevel.LOW,
        states=((State.APPROVED, at(3)),),
        stages=((hostile, at(2), at(3)),),
    )
    m = monthly([odd], "2026-11", NOW, UTC)
    text = render("report/monthly.md.j2", month=metrics_context(m), uncounted=[hostile])
    assert live(text) == [], text
    (pie, bars) = mermaid_blocks(text)
    assert "Approved" in pie
    (axis,) = [line for line in bars.splitlines() if "x-axis" in line]
    assert re.fullmatch(r'    x-axis \["[a-z0-9+\-]+"\]', axis), axis
