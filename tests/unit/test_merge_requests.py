"""mr-check's rule: the merge request's approvers cover every role of the route."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from exception_bot.domain.merge_requests import check_file
from exception_bot.domain.people import Directory
from exception_bot.domain.register import RegisterEntry, render_entry
from exception_bot.domain.settings import Config

DIRECTORY = Directory(
    {
        "security": frozenset({"victor", "sam"}),
        "security/compliance": frozenset({"sue", "sid"}),
        "engineering/managers": frozenset({"mia"}),
        "legal": frozenset({"lee"}),
    }
)
PATH = "exceptions/EXC-0042-keep-tls.md"


def exception_file(risk: str = "high", environment: str = "staging") -> str:
    return render_entry(
        RegisterEntry(
            id="EXC-0042",
            title="Keep TLS 1.1",
            status="approved",
            risk_level=risk,
            department="finance",
            policy="encryption",
            environment=environment,
            requester="bob",
            source="merge request",
            requested_at=datetime(2026, 11, 20, tzinfo=UTC),
            expires_at=date(2027, 1, 15),
        )
    )


@pytest.mark.parametrize(
    ("risk", "environment", "approvers", "missing"),
    [
        ("high", "staging", ["carol", "frank", "mia", "erin", "sue"], ()),
        ("high", "staging", ["carol", "frank", "erin", "sue"], ("Engineering Manager",)),
        # the author (bob) does not count, even if listed
        ("low", "staging", ["bob", "carol", "victor", "erin"], ("Security Compliance",)),
        # one person, one role: sam heads sales, not finance; victor once only
        ("low", "staging", ["carol", "victor", "erin"], ("Security Compliance",)),
        # the CISO's escalation and the CISO's stage are one role, approved once
        ("critical", "production", ["carol", "grace", "heidi", "erin", "sue"], ()),
        ("critical", "production", ["carol", "heidi", "erin", "sue", "frank"], ("CISO",)),
    ],
)
def test_required_roles(
    config: Config, risk: str, environment: str, approvers: list[str], missing: tuple[str, ...]
) -> None:
    result = check_file(
        PATH, exception_file(risk, environment), "bob", approvers, config, DIRECTORY
    )
    assert result.exception_id == "EXC-0042"
    assert result.missing == missing
    assert result.ok is (not missing)


def test_one_approver_counts_once(config: Config) -> None:
    result = check_file(
        PATH, exception_file("low"), "bob", ["carol", "sue", "erin"], config, DIRECTORY
    )
    # sue is in security/compliance (and, through the parent group, not in security here)
    assert result.given == {
        "Department Head": "carol",
        "Policy Owner": "erin",
        "Security Compliance": "sue",
    }
    assert result.missing == ("Security Team",)


def test_an_unreadable_file_is_a_problem(config: Config) -> None:
    result = check_file(PATH, "no front matter", "bob", ["carol"], config, DIRECTORY)
    assert result.problem is not None
    assert not result.ok


def test_a_file_whose_front_matter_cannot_be_read_says_why(config: Config) -> None:
    text = exception_file().replace("expires_at: '2027-01-15'", "expires_at: 2027-02-30")
    checked = check_file(PATH, text, "bob", ["carol"], config, DIRECTORY)
    assert checked.problem == (
        "the front matter is not valid YAML (day is out of range for month); run exception-bot lint"
    )
