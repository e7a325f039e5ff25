"""The charts tell the truth, end to end. Every Mermaid block of REGISTER.md
and of the weekly report, written by the bot for exceptions with hostile titles, is read by
Mermaid's own parser (tests/mermaid/parse.mjs under Node), and each Gantt bar is what Mermaid
will draw: one per exception in force, named by its id and title, from the day it took effect
(activation, else approval, as its register entry records it; never the report's date) through
its expiry day.

Needs ``bash tests/mermaid/install``; skips without it, unless EXCEPTION_BOT_REQUIRE_MERMAID=1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from exception_bot.domain import charts
from exception_bot.sandbox import Sandbox
from tests.e2e.world import REGISTER, World
from tests.support.merge_route import HIGH_APPROVERS, exception_file, merge_request
from tests.support.mermaid import mermaid_blocks, read_diagrams, require_mermaid
from tests.support.stories import ACTIVATION, LOW, ROUTE

# Every character Mermaid's Gantt grammar gives a meaning to ('#', ';', ':', '%%', a
# statement word after a line break), quotes, backticks that would close the code fence,
# brackets that mean something in other diagrams, HTML and unicode.
TITLE_APPROVED = "Keep TLS: \"legacy\" #1; %% note `rm -rf` [x] (y) {z} <b>&amp; 'q' ünï 中文"
TITLE_ACTIVATED = 'section Finance: title x # y ; z %%{init: {"theme": "dark"}}%% ~~~ ```'
# A file of the merge-request route: its author writes any YAML, line breaks included.
TITLE_BY_HAND = "Line one\nsection two: %% three\u2028dateFormat x\n2026-01-01 # ; `"
# The expiry of the fixture request low_staging, and of tests.support.merge_route's file.
LOW_EXPIRY = date(2027, 1, 15)
# Ids a file of the merge-request route may hold (its id is its file name's start): each would
# open a statement, a comment or nothing at the start of a task line.
HAND_IDS = ("section 7", "title", "2026-01-01", "click x", "%%{init}%%", "", "#;:", "dateFormat")
REPORT_DAY = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)  # three weeks on: a Monday


@dataclass(frozen=True)
class Expected:
    """A bar as it must be drawn: named by ``ident`` and ``words`` of its title, from
    ``start`` through ``expires``."""

    ident: str
    words: str
    start: date
    expires: date


def problems(reading: dict[str, Any], bars: list[Expected]) -> list[str]:
    """What is wrong with Mermaid's reading of a Gantt chart that should draw ``bars``."""
    if not reading["ok"]:
        return [f"Mermaid cannot read it: {reading['error']}"]
    tasks = reading["tasks"]
    found = [f"{len(tasks)} bars, not {len(bars)}"] if len(tasks) != len(bars) else []
    for bar in bars:
        named = [t for t in tasks if t["name"].strip().startswith(f"{bar.ident} ")]
        if len(named) != 1:
            found.append(f"{len(named)} bars named {bar.ident}: {tasks}")
            continue
        (task,) = named
        if bar.words not in task["name"]:
            found.append(f"{bar.ident}'s bar is named {task['name']!r}, without {bar.words!r}")
        # Mermaid's end is exclusive: a bar that covers the expiry day ends the day after.
        drawn = (task["start"], task["end"])
        wanted = (bar.start.isoformat(), (bar.expires + timedelta(days=1)).isoformat())
        if drawn != wanted:
            found.append(f"{bar.ident}'s bar runs {drawn}, not {wanted}")
    return found


def took_effect(entry: dict[str, Any]) -> date:
    """The day an exception took effect, as its register entry records it."""
    moment = entry["activated_at"] or entry["approved_at"]
    assert moment, entry
    return date.fromisoformat(str(moment)[:10])


def test_every_chart_reads_as_written(world: World, sandbox: Sandbox) -> None:
    node = require_mermaid()  # first: without Mermaid there is nothing to check
    # Public requests: a confidential one's title never reaches the register or the report.
    approved = world.open("bob", LOW.replace("/confidential", ""), title=TITLE_APPROVED)
    world.approve(approved, ROUTE)
    activated = world.later(days=2).open(
        "bob", LOW.replace("/confidential", ""), title=TITLE_ACTIVATED
    )
    world.approve(activated, ROUTE)
    world.later(days=3).tick("bob", activated, ACTIVATION)
    world.later(minutes=10).run()
    assert world.state(activated) == "exception::active"
    by_hand = exception_file(
        title=TITLE_BY_HAND,
        approved_at=datetime(2026, 11, 21, 16, 0, tzinfo=UTC),
        activated_at=datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
    )
    merge_request(world, by_hand, approvers=HIGH_APPROVERS)
    world.at(REPORT_DAY).run()  # writes the week's report

    entries = {iid: world.register_entry(iid) for iid in (approved, activated)}
    assert entries[approved]["activated_at"] is None
    assert took_effect(entries[activated]) > date.fromisoformat(
        str(entries[activated]["approved_at"])[:10]
    )
    bars = [
        Expected(
            f"EXC-{approved:04d}", "Keep TLS legacy 1", took_effect(entries[approved]), LOW_EXPIRY
        ),
        Expected(
            f"EXC-{activated:04d}",
            "section Finance title x",
            took_effect(entries[activated]),
            LOW_EXPIRY,
        ),
        Expected("EXC-0042", "Line one section two three", date(2026, 11, 22), date(2027, 1, 15)),
    ]
    register = world.register_file("REGISTER.md") or ""
    report = report_text(sandbox)
    blocks = mermaid_blocks(register) + mermaid_blocks(report)
    # A check that can fail: the first register bar written as a template would write it raw.
    raw = f"    EXC-{approved:04d} {TITLE_APPROVED} :x1, {bars[0].start}, {bars[0].expires}"
    gantt = mermaid_blocks(register)[0]
    first = next(line for line in gantt.splitlines() if line.startswith(f"    EXC-{approved:04d}"))
    broken = gantt.replace(first, raw)
    # The ids no end-to-end file here holds, through the same chart function.
    odd = [charts.Bar(i, "t", date(2026, 12, 1), date(2027, 1, 1)) for i in HAND_IDS]
    odd_chart = mermaid_blocks(charts.gantt("Ids", odd))

    readings = read_diagrams(node, [*blocks, broken, *odd_chart])

    assert [r.get("type") for r in readings[:3]] == ["gantt", "pie", "gantt"], readings
    assert problems(readings[0], bars) == []  # REGISTER.md
    assert readings[1]["ok"], readings[1]  # the report's pie chart by risk level
    assert {s["label"] for s in readings[1]["slices"]} == {"Low", "High"}
    assert problems(readings[2], bars) == []  # the report's exceptions in force
    assert problems(readings[3], bars) != []  # the raw line does not read as written
    assert all(b.start < REPORT_DAY.date() - timedelta(days=14) for b in bars)
    (odd_reading,) = readings[4:]
    assert odd_reading["ok"], odd_reading
    assert [t["name"].strip() for t in odd_reading["tasks"]] == [
        charts.task_name(i, "t") for i in HAND_IDS
    ]
    assert {(t["start"], t["end"]) for t in odd_reading["tasks"]} == {("2026-12-01", "2027-01-02")}


def report_text(sandbox: Sandbox) -> str:
    project = sandbox.store.project(REGISTER)
    assert project is not None
    (report,) = [i for i in project.issues.values() if i.title == "Exception report 2026-W51"]
    return report.description
