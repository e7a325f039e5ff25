"""Issue 23 point 7: the monthly metrics, end to end. Requests go their ways over simulated
days of December 2026 (approved then remediated, rejected then closed by the bot, escalated,
a renewal), with one exception approved in November still in force; ``report --month
2026-12`` gives each figure as worked out by hand from the world's clock, and the weekly
report's *This month so far* shows them with charts Mermaid reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from exception_bot.domain import record
from exception_bot.sandbox import Sandbox
from tests.e2e.world import REGISTER, World
from tests.requests import body, set_field
from tests.support.mermaid import mermaid_blocks, read_diagrams, require_mermaid
from tests.support.stories import LOW, ROUTE

DEC = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# world.approve: the bot's run opens a stage, its approver ticks an hour later and the run ten
# minutes after that closes it: every stage lasts 70 minutes, four stages 280.
STAGE = 70 / 60


def bot_record(world: World, iid: int) -> record.Record:
    rec = record.decode(world.status(iid))
    assert rec is not None
    return rec


def figures(world: World, month: str = "2026-12") -> dict[str, object]:
    done = world.cli("report", "--month", month, "--json", "--now", world.clock.isoformat())
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert isinstance(data, dict)
    return data


def test_a_months_figures_are_what_happened(world: World, sandbox: Sandbox) -> None:
    in_force = world.open("bob", LOW)  # November: approved then, in force all December
    world.approve(in_force, ROUTE)
    still_open = world.later(days=4).open("bob", LOW)  # opened 2026-11-27, never decided
    world.run()

    remediated = world.at(DEC).open("bob", set_field(LOW, "Expiration date", "2026-12-10"))
    world.approve(remediated, ROUTE)  # approved at 13:40, its last tick at 13:30
    rejected = world.at(DEC + timedelta(days=1)).open("bob", LOW)
    world.run()
    world.later(hours=1).label("carol", rejected, add=["exception-action::reject"])
    world.later(minutes=10).run()  # decided 70 minutes after it was opened
    critical = set_field(body("critical_production"), "Expiration date", "2027-01-31")
    escalated = world.at(DEC + timedelta(days=2)).open("alice", critical)
    world.run()
    renewal = world.later(hours=1).open("bob", set_field(body("renewal"), "Renews", f"#{in_force}"))
    world.run()

    world.at(datetime(2026, 12, 11, 0, 30, tzinfo=UTC)).run()
    assert world.state(remediated) == "exception::expired"
    world.later(hours=2).tick("sue", remediated, "Fix verified")  # 2026-12-11 02:30
    world.later(minutes=10).run()
    world.at(datetime(2026, 12, 17, 9, 0, tzinfo=UTC)).run()  # the appeal window is over
    assert world.issue(remediated).state == "closed"
    assert world.issue(rejected).state == "closed"  # listed again only as a closed request
    assert world.state(escalated) == "exception::escalated"

    world.at(datetime(2026, 12, 20, 12, 0, tzinfo=UTC))
    data = figures(world)
    (late,) = bot_record(world, in_force).ciso_escalations
    assert (late.reason, late.at.month) == ("activation-deadline", 12)

    def hours(value: float) -> dict[str, object]:
        return {"count": 1, "median_hours": round(value, 1), "p90_hours": round(value, 1)}

    stage = hours(STAGE)
    assert data == {
        "month": "2026-12",
        "as_of": "2026-12-20T12:00:00+00:00",
        # remediated, rejected, escalated and the renewal; not the two of November
        "opened": 4,
        "decided": 2,
        "approved": 1,
        "rejected": 1,  # read only among the closed requests
        "approval_rate": 50.0,
        # both Low: 280 and 70 minutes from opening to the bot's decision
        "time_to_decision_by_risk": {
            "low": {"count": 2, "median_hours": round((4 + 1) * STAGE / 2, 1), "p90_hours": 4.7}
        },
        # the stages that ended in December; the escalated and the renewal wait still
        "time_in_stage": {
            "department-head": {"count": 2, "median_hours": 1.2, "p90_hours": 1.2},
            "policy-owner": stage,
            "security-compliance": stage,
            "security-team": stage,
        },
        "in_force": 1,  # November's; December's own expired and was closed
        # from its last approval tick (2026-12-01 13:30) to Fix verified (2026-12-11 02:30)
        "approval_to_remediation": hours(9 * 24 + 13),
        "renewals": 1,
        # the Critical request in production, and November's exception, not activated 14 days
        # after approval and taken to the CISO 7 days later (limits.activation_days)
        "escalations": 2,
        "failed": [],
    }
    assert figures(world, "current") == data  # the month under way is December
    november = figures(world, "2026-11")
    assert (november["opened"], november["approved"], november["in_force"]) == (2, 1, 1)
    stages = ("department-head", "policy-owner", "security-compliance", "security-team")
    assert november["time_in_stage"] == dict.fromkeys(stages, stage)

    printed = world.cli("report", "--month", "2026-12", "--now", world.clock.isoformat())
    assert printed.exit_code == 0, printed.output
    assert "# Exception metrics 2026-12" in printed.output
    assert "| Approval rate | 50 % |" in printed.output
    assert "| Low | 2 | 2.9 h | 4.7 h |" in printed.output
    # opened in their months, as counted above, and never decided
    assert world.state(still_open) == world.state(renewal) == "exception::in-review"


def test_the_weekly_report_shows_the_month_so_far(world: World, sandbox: Sandbox) -> None:
    approved = world.at(DEC).open("bob", LOW)
    world.approve(approved, ROUTE)
    rejected = world.later(hours=1).open("bob", LOW)
    world.run()
    world.later(hours=1).label("carol", rejected, add=["exception-action::reject"])
    world.later(minutes=10).run()
    posted = world.cli("report", "--post", "--now", world.clock.isoformat())
    assert posted.exit_code == 0, posted.output
    project = sandbox.store.project(REGISTER)
    assert project is not None
    (report,) = [i for i in project.issues.values() if i.title == "Exception report 2026-W49"]
    text = report.description
    month = text[text.index("## This month so far") :]
    assert "| Decisions (approved / rejected) | 2 (1 / 1) |" in month
    blocks = mermaid_blocks(month)
    assert len(blocks) == 2
    node = require_mermaid()
    decisions, stages = read_diagrams(node, blocks)
    assert decisions["ok"], decisions
    assert decisions["type"] == "pie"
    assert {(s["label"], s["value"]) for s in decisions["slices"]} == {
        ("Approved", 1),
        ("Rejected", 1),
    }
    assert stages["ok"], stages
    assert stages["type"] == "xychart"


def test_a_month_is_written_yyyy_mm(world: World) -> None:
    done = world.cli("report", "--month", "12/2026", "--now", world.clock.isoformat())
    assert done.exit_code == 2, done.output
    assert "--month: a month is written YYYY-MM" in done.output
