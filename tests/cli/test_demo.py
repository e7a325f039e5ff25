"""`exception-bot demo` runs start to end with no GitLab and tells a coherent story: who the
people are, what happened each day, where every request ended and why, and the register."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from exception_bot.cli import app
from tests.requests import ROOT

# The demo starts the sandbox and drives it over HTTP.
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def out() -> str:
    """One play for every test here: it takes a few seconds."""
    result = CliRunner().invoke(app, ["demo", "--config", str(ROOT / "config/exception-bot.yml")])
    assert result.exit_code == 0, result.output
    return result.output


def section(out: str, start: str, end: str | None = None) -> str:
    text = out[out.index(start) :]
    return text[: text.index(end)] if end else text


def test_demo_plays_the_week_and_ends_with_the_register(out: str) -> None:
    timeline = [
        line for line in out.splitlines() if re.match(r"^(Mon|Tue|Wed|Thu) \d\d:\d\d", line)
    ]
    assert timeline[0].startswith("Mon 09:00  bob")
    for expected in [
        "bot            #2 is now escalated, stage ciso-escalation",
        "bot            #3: lists what the request is missing",
        "bot            #4: restores the labels and reports who changed them",
        "bot            #4: unticks a box it cannot count, and says why",
        "bot            #5 is now rejected",
        "bot            #5 is now appeal, stage appeal-legal",
        "bot            #1 is now approved",
        "bot            #5 is now approved",
        "bot            #1 is now active",
    ]:
        assert any(line.endswith(expected) for line in timeline), expected
    assert "failed=0" in out
    assert "failed=1" not in out
    register = section(out, "# Exception register")
    # The demo's requests are confidential, as the template makes them: named by their id only.
    row = "| [`EXC-0001`](exceptions/EXC-0001-confidential.md) | `Confidential exception EXC-0001`"
    assert row in register
    assert "reporting VM" not in register
    assert "| `active` | `low` | `finance` |" in register
    assert "EXC-0004" not in register  # the tampered request was never approved


def test_each_day_opens_with_its_date(out: str) -> None:
    days = [line for line in out.splitlines() if re.fullmatch(r"[A-Z][a-z]+day \d+ \w+ 2026", line)]
    assert days == [
        "Monday 23 November 2026",
        "Tuesday 24 November 2026",
        "Wednesday 25 November 2026",
        "Thursday 26 November 2026",
    ]
    # every line of a day is under its date
    monday = section(out, "Monday 23 November 2026", "Tuesday 24 November 2026")
    assert monday.count("\nMon ") > 10
    assert re.findall(r"^(\w{3}) \d\d:\d\d", monday, re.M) == ["Mon"] * monday.count("\nMon ")


def test_the_people_are_introduced_with_their_roles_before_they_act(out: str) -> None:
    intro = " ".join(section(out, "Who is who:", "Monday 23 November 2026").split())
    assert intro.startswith("Who is who: bob, mia and tom ask for exceptions;")
    for person in [
        "carol: Department Head for finance",
        "grace: CISO",
        "victor: Security Team",
        "sue: Security Compliance",
        "lee: Legal",
        "ivan: CEO",
        "judy: CFO",
        "mia: Engineering Manager too",
    ]:
        assert person in intro, person
    # erin does not act: she is away, and her deputy is named with her role
    assert (
        "erin is away from Tue 24 Nov to Wed 25 Nov: dave approves as Policy Owner for erin "
        "meanwhile (delegations in the config)." in intro
    )
    # victor is a member of security/compliance only through its parent group
    assert "victor: Security Team and" not in intro
    assert out.index("Who is who:") < out.index("Mon 09:00")


def test_the_demo_closes_with_where_every_request_ended_and_why(out: str) -> None:
    ended = " ".join(section(out, "Where each request ended", "The register's index").split())
    expected = {
        1: "#1 Keep TLS 1.1 on the reporting VM: active since Thu 26 Nov 10:00, when its "
        "requester confirmed the compensating controls; approved Wed 25 Nov 10:00 by carol, "
        "victor, dave for erin and sue.",
        2: "#2 Disable MFA for the payments break-glass account: in-review at stage "
        "department-head since Mon 23 Nov 11:00, overdue since Mon 23 Nov 15:00, approved so "
        "far by grace.",
        3: "#3 Shared admin account for the build farm: in-review at stage department-head "
        "since Mon 23 Nov 14:00, due by Mon 30 Nov 14:00; the bot first asked its requester "
        "for what it lacked.",
        4: "#4 Skip change review for the ledger export job: in-review at stage "
        "department-head since Mon 23 Nov 09:00, due by Mon 30 Nov 09:00; the bot put back "
        "one label change nobody may make; it undid one tick it could not count.",
        5: "#5 Keep the finance archive unencrypted: approved, not in force until its "
        "requester confirms the compensating controls; approved on appeal Wed 25 Nov 12:00 "
        "by lee, ivan and judy, after carol rejected it Mon 23 Nov 11:00 and it was appealed "
        "Tue 24 Nov 09:00.",
    }
    for iid, line in expected.items():
        assert line in ended, iid


def test_the_register_shows_its_table_not_the_mermaid_source(out: str) -> None:
    register = section(out, "The register's index, REGISTER.md:")
    assert "```" not in register
    assert "gantt" not in register
    assert "(REGISTER.md also holds a Mermaid chart of the exceptions, which GitLab draws.)" in (
        " ".join(register.split())
    )


def test_a_deputy_approves_for_an_approver_who_is_away(out: str) -> None:
    tuesday = section(out, "Tuesday 24 November 2026", "Wednesday 25 November 2026")
    assert "Tue 14:00  dave           ticks Policy owner approval on #1 for erin, who is away" in (
        tuesday
    )
    assert "Tue 14:30  bot            #1 is now in-review, stage security-compliance" in tuesday
