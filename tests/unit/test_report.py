"""The weekly report and the register export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from exception_bot.domain.model import RiskLevel, State
from exception_bot.domain.register import export_rows
from exception_bot.domain.report import RequestFacts, iso_week, weekly_report
from exception_bot.domain.settings import CalendarSettings
from exception_bot.render import render_report
from tests.support.live import HOSTILE_PARTS, live

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # Thursday of 2026-W48


def facts(n: int, state: State, **extra: object) -> RequestFacts:
    base: dict[str, object] = {
        "reference": f"security/exceptions#{n}",
        "title": f"Request {n}",
        "web_url": f"https://gitlab.example.com/security/exceptions/-/issues/{n}",
        "state": state,
        "risk": RiskLevel.LOW,
    }
    base.update(extra)
    return RequestFacts(**base)  # type: ignore[arg-type]


def test_iso_week_in_the_calendars_time_zone() -> None:
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert iso_week(sunday_night, CalendarSettings()) == "2026-W48"
    assert iso_week(sunday_night, CalendarSettings(timezone="Europe/Berlin")) == "2026-W49"


def test_the_report_groups_requests_and_exceptions() -> None:
    report = weekly_report(
        [
            facts(
                1,
                State.IN_REVIEW,
                stage="exception-stage::policy-owner",
                stage_started_at=NOW - timedelta(days=2, hours=3),
                deadline=NOW - timedelta(hours=1),
                breached=True,
            ),
            facts(
                2,
                State.ACTIVE,
                expires=date(2026, 12, 5),
                exception_id="EXC-0002",
                risk=RiskLevel.HIGH,
                incidents=("ops/incidents#9",),
            ),
            facts(
                3,
                State.APPROVED,
                expires=date(2027, 2, 1),
                exception_id="EXC-0003",
                renewal_of="EXC-0001",
                renewal_number=1,
            ),
            facts(4, State.NEEDS_INFO, risk=None),
        ],
        NOW,
        CalendarSettings(),
    )
    assert report.title == "Exception report 2026-W48"
    text = render_report(report)
    assert (
        "| [security/exceptions#1](https://gitlab.example.com/security/exceptions/-/issues/1)"
        in text
    )
    assert "| in-review | policy-owner | 2d 3h |" in text
    assert "| [`EXC-0002`](" in text
    assert "| active | High | 2026-12-05 | 9 |" in text
    expiring = text[text.index("## Expiring") : text.index("## Review SLA")]
    assert "EXC-0002" in expiring
    assert "EXC-0003" not in expiring
    assert "renews `EXC-0001` (renewal 1)" in text
    assert "ops/incidents#9" in text
    assert '"Low" : 2' in text
    assert text.rstrip().endswith("<!-- exception-bot:kind=report:key=2026-W48 -->")


def test_the_report_names_the_requests_it_could_not_count() -> None:
    counted = [facts(1, State.IN_REVIEW)]
    whole = render_report(weekly_report(counted, NOW, CalendarSettings()))
    assert "Not counted" not in whole
    text = render_report(
        weekly_report(
            counted, NOW, CalendarSettings(), ["security/exceptions#7", "security/exceptions#3"]
        )
    )
    assert (
        "**Not counted:** the bot could not process security/exceptions#3, "
        "security/exceptions#7 when it wrote this\nreport"
    ) in text
    assert "| in-review | 1 |" in text


def test_hostile_titles_stay_in_their_cell() -> None:
    evil = " ".join(HOSTILE_PARTS)
    text = render_report(
        weekly_report([facts(1, State.SUBMITTED, title=evil)], NOW, CalendarSettings())
    )
    (row,) = [line for line in text.splitlines() if line.startswith("| [security/exceptions#1]")]
    assert row.count(" | ") == 5
    assert live(text) == []


def test_export_csv_quotes_formulas_and_json_round_trips() -> None:
    rows = [{"id": "EXC-0001", "title": '=HYPERLINK("http://x")', "status": "active"}]
    parsed = list(csv.DictReader(io.StringIO(export_rows(rows, "csv"))))
    assert parsed[0]["id"] == "EXC-0001"
    assert parsed[0]["title"] == '\'=HYPERLINK("http://x")'
    assert parsed[0]["path"] == ""
    assert export_rows(rows, "json").startswith('[\n  {\n    "id": "EXC-0001"')


def test_the_chart_starts_each_bar_when_its_exception_took_effect() -> None:
    evil = " ".join(HOSTILE_PARTS)
    report = weekly_report(
        [
            facts(
                1,
                State.ACTIVE,
                title=evil,
                exception_id="EXC-0001",
                expires=date(2027, 1, 15),
                in_force_since=date(2026, 11, 2),
            ),
            facts(2, State.APPROVED, exception_id="@all EVIL", expires=date(2027, 1, 15)),
        ],
        NOW,
        CalendarSettings(),
    )
    text = render_report(report)
    chart = text[text.index("```mermaid\ngantt") : text.index("## Expiring")]
    (bar,) = [line for line in chart.splitlines() if line.startswith("    EXC-0001 ")]
    # From the day it took effect, not the report's day (2026-11-26).
    assert bar.endswith(":x1, 2026-11-02, 2027-01-15")
    assert "Not in the chart (no date it took effect, or no expiry date): `@all EVIL`." in chart
    assert live(text) == []
