"""Gantt charts of exceptions in force: task names Mermaid reads as written, the bot's own dates.

Mermaid's own reading of what these functions write is checked end to end, under Node, by
tests/e2e/test_mermaid_charts.py.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exception_bot.domain.charts import NAME_LIMIT, Bar, chart_date, gantt, started, task_name

# What a task name may hold besides letters and digits (domain/charts.py).
PLAIN = set(" .,-_/()")
STATEMENT_WORDS = ("section", "title", "click", "gantt", "dateformat", "excludes", "todaymarker")


def test_a_task_name_leads_with_the_id_and_keeps_the_words() -> None:
    name = task_name("EXC-0042", 'Keep TLS: "legacy" #1; %% `rm` [x] {y} <b> ünï 中文\nsection 2')
    assert name == "EXC-0042 Keep TLS legacy 1 rm x y b ünï 中文 section 2"


def test_a_task_name_is_cut_to_the_limit() -> None:
    assert len(task_name("EXC-0042", "word " * 40)) <= NAME_LIMIT


@pytest.mark.parametrize(
    ("ident", "expected"),
    [
        ("section 7", "Exception section 7 t"),
        ("Title", "Exception Title t"),
        ("2026-01-01", "Exception 2026-01-01 t"),
        ("%%", "Exception t"),
        ("", "Exception t"),
        ("EXC-0042", "EXC-0042 t"),
    ],
)
def test_a_task_name_never_opens_a_statement(ident: str, expected: str) -> None:
    assert task_name(ident, "t") == expected


@settings(max_examples=300, deadline=None)
@given(ident=st.text(max_size=30), title=st.text(max_size=200))
def test_any_text_makes_a_plain_task_name(ident: str, title: str) -> None:
    name = task_name(ident, title)
    assert name
    assert name == name.strip()
    assert len(name) <= NAME_LIMIT
    assert all(c.isalnum() or c in PLAIN for c in name)
    assert not name.lower().startswith(STATEMENT_WORDS)
    normal = unicodedata.normalize("NFC", ident)
    shown = " ".join("".join(c if c.isalnum() or c in PLAIN else " " for c in normal).split())
    assert name.startswith((shown or "Exception")[: NAME_LIMIT - 10]) or name.startswith(
        f"Exception {shown}"[:NAME_LIMIT]
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-24T15:30:00+00:00", date(2026, 11, 24)),
        ("2026-11-24", date(2026, 11, 24)),
        (datetime(2026, 11, 24, 23, 0, tzinfo=UTC), date(2026, 11, 24)),
        (date(2026, 11, 24), date(2026, 11, 24)),
        ("2026-02-30", None),  # no such day
        ("2026-11-24\n    crit :x, 2020-01-01, 2030-01-01", None),
        ("tomorrow", None),
        ("None", None),
        (None, None),
        (20261124, None),
    ],
)
def test_only_a_recorded_date_is_charted(value: object, expected: date | None) -> None:
    assert chart_date(value) == expected


def test_a_bar_starts_at_activation_else_at_approval() -> None:
    approved, activated = "2026-11-24T15:30:00+00:00", "2026-11-27T09:00:00+00:00"
    assert started(approved, activated) == date(2026, 11, 27)
    assert started(approved, None) == date(2026, 11, 24)
    assert started(None, None) is None


def test_the_chart_covers_the_expiry_day_and_names_what_it_leaves_out() -> None:
    text = gantt(
        "Active exceptions",
        [
            Bar("EXC-0001", "Keep TLS", date(2026, 11, 24), date(2027, 1, 15)),
            Bar("LEGACY `1` @all", "Paper", None, date(2027, 1, 15)),
            Bar("EXC-0003", "No expiry", date(2026, 11, 24), None),
        ],
    )
    assert text.splitlines() == [
        "```mermaid",
        "gantt",
        "    title Active exceptions",
        "    dateFormat YYYY-MM-DD",
        "    inclusiveEndDates",
        "    EXC-0001 Keep TLS :x1, 2026-11-24, 2027-01-15",
        "```",
        "",
        "Not in the chart (no date it took effect, or no expiry date): "
        "``LEGACY `1` @all``, `EXC-0003`.",
    ]
    assert gantt("Active exceptions", []) == ""
