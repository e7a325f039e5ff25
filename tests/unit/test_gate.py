"""The gate's decision: a finding at the threshold blocks unless an exception proven in force
for this project today names one of its identifiers; a register row alone decides nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from exception_bot.domain.gate import (
    BELOW,
    BLOCKED,
    LET_THROUGH,
    ActiveException,
    at_or_above,
    candidates,
    decide,
    in_force,
    judge,
    severity_of,
    shown,
    summary,
    wanted,
)

TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PROJECT = "shop/checkout"


def finding(ident: str, severity: str | None = "High", *ids: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": ident,
        "identifiers": [{"type": "cve", "name": i, "value": i} for i in ids],
        "location": {},
    }
    if severity is not None:
        data["severity"] = severity
    return data


EXC = ActiveException(
    "EXC-0001", "exceptions/EXC-0001-x.md", date(2026, 12, 1), frozenset({"CVE-2021-44228"})
)


@pytest.mark.parametrize(
    ("severity", "threshold", "blocks"),
    [
        ("Critical", "High", True),
        ("High", "High", True),
        ("Medium", "High", False),
        # Not rated (a fresh CVE the databases have not scored): it may be critical.
        ("Unknown", "High", True),
        ("Unknown", "Critical", True),
        ("Unknown", "Unknown", True),
        ("Info", "Unknown", False),
        ("Low", "Low", True),
        ("Bogus\x1b[2J", "Critical", True),  # outside the schema's list: blocks
    ],
)
def test_threshold(severity: str, threshold: str, blocks: bool) -> None:
    assert at_or_above(severity_of({"severity": severity}), threshold) is blocks


def test_severity_is_read_in_any_case_and_absent_is_unknown_and_blocks() -> None:
    assert severity_of({"severity": "high"}) == "High"
    assert severity_of({}) == "Unknown"
    (decision,) = decide([("r", [finding("a", None, "CVE-2022-0001")])], "Critical", [])
    assert decision.outcome == BLOCKED
    assert "\x1b" not in severity_of({"severity": "\x1b[31mred"})


@pytest.mark.parametrize(
    ("data", "outcome", "why"),
    [
        (finding("a", "High", "CVE-2021-44228"), LET_THROUGH, ""),
        (finding("b", "Critical", "CVE-2021-44228", "CVE-2099-0001"), BLOCKED, "CVE-2099-0001"),
        (finding("c", "High", "CVE-2022-0001"), BLOCKED, "no exception"),
        (finding("d", "Low", "CVE-2022-0001"), BELOW, ""),
        ({"id": "e", "severity": "High", "identifiers": []}, BLOCKED, "no identifiers"),
        ({"id": "f", "severity": "High", "cve": "CVE-2021-44228"}, BLOCKED, "no identifiers"),
        (
            {"id": "g", "severity": "High", "identifiers": "CVE-2021-44228"},
            BLOCKED,
            "no identifiers",
        ),
    ],
)
def test_decide(data: dict[str, Any], outcome: str, why: str) -> None:
    (decision,) = decide([("r.json", [data])], "High", [EXC])
    assert decision.outcome == outcome
    assert why in decision.why
    assert (decision.exception is EXC) is (outcome == LET_THROUGH)


def test_the_longest_lasting_exception_is_named() -> None:
    later = ActiveException("EXC-0002", "p", date(2027, 1, 1), frozenset({"CVE-2021-44228"}))
    (decision,) = decide([("r", [finding("a", "High", "CVE-2021-44228")])], "High", [later, EXC])
    assert decision.exception == later


def test_wanted_keys_are_those_of_findings_at_the_threshold() -> None:
    findings = [finding("a", "High", "CVE-2021-0001"), finding("b", "Low", "CVE-2021-0002")]
    assert wanted(judge([("r", findings)], "High")) == {"CVE-2021-0001", "vulnerability:a"}


ROW = {
    "id": "EXC-0001",
    "path": "exceptions/EXC-0001-x.md",
    "covers": {"projects": [PROJECT], "findings": ["CVE-2021-44228"]},
}


@pytest.mark.parametrize(
    ("row", "wanted", "found"),
    [
        (ROW, frozenset({"CVE-2021-44228"}), True),
        (ROW, None, True),
        (ROW, frozenset({"CVE-2000-0001"}), False),
        (
            {**ROW, "covers": {"projects": ["other/app"], "findings": ["CVE-2021-44228"]}},
            None,
            False,
        ),
        ({k: v for k, v in ROW.items() if k != "covers"}, None, False),  # written before covers
        ({**ROW, "path": "archive/EXC-0001-x.md"}, None, False),
        ({**ROW, "path": "exceptions/../archive/x.md"}, None, False),
        ({**ROW, "covers": "everything"}, None, False),
        ({**ROW, "covers": {"projects": "shop/checkout", "findings": []}}, None, False),
    ],
)
def test_candidates(row: dict[str, Any], wanted: frozenset[str] | None, found: bool) -> None:
    assert bool(candidates([row], PROJECT, wanted, "exceptions")) is found


FILE = {
    "id": "EXC-0001",
    "status": "active",
    "expires_at": "2026-12-01",
    "activated_at": "2026-11-25T10:00:00+00:00",
    "covers": {"projects": [PROJECT], "findings": ["CVE-2021-44228", "cwe:79", "*"]},
}


@pytest.mark.parametrize(
    ("change", "today", "issue_route", "why"),
    [
        ({}, TODAY, True, ""),
        ({}, date(2026, 12, 1), True, ""),  # its expiry day: still in force
        ({}, date(2026, 12, 2), True, "expired on 2026-12-01"),  # the day after: blocks again
        ({"status": "approved"}, TODAY, True, "not active"),
        ({"status": "approved"}, TODAY, False, ""),
        ({"status": None}, TODAY, False, ""),
        ({"status": "revoked"}, TODAY, False, "not active"),
        ({"status": "expired"}, TODAY, True, "not active"),
        ({"expires_at": "soon"}, TODAY, True, "no expiry"),
        ({"expires_at": date(2026, 12, 1)}, TODAY, True, ""),
        ({"activated_at": "2026-12-25T10:00:00+00:00"}, TODAY, True, "takes effect"),
        (
            {"covers": {"projects": ["other/app"], "findings": ["CVE-2021-44228"]}},
            TODAY,
            True,
            "does not cover",
        ),
        ({"covers": {"projects": [PROJECT], "findings": ["*"]}}, TODAY, True, "covers no finding"),
        ({"covers": None}, TODAY, True, "does not cover"),
    ],
)
def test_in_force(change: dict[str, Any], today: date, issue_route: bool, why: str) -> None:
    data = {**FILE, **change}
    got = in_force(data, "exceptions/EXC-0001-x.md", PROJECT, NOW, today, issue_route)
    if why:
        assert isinstance(got, str)
        assert why in got
    else:
        assert isinstance(got, ActiveException)
        assert got.findings == {"CVE-2021-44228"}  # the unbounded ids never count


def test_summary_names_the_exception_and_a_blocked_twin_wins() -> None:
    decisions = decide(
        [
            ("a.json", [finding("x", "High", "CVE-2021-44228")]),
            ("b.json", [finding("x", "High", "CVE-2022-0001")]),
            ("b.json", [finding("y", "High", "CVE-2021-44228")]),
        ],
        "High",
        [EXC],
    )
    data = summary(PROJECT, TODAY, "High", decisions, ["a note"])
    assert data["passed"] is False
    assert data["findings"]["x"]["status"] == BLOCKED
    assert data["findings"]["y"] | {"keys": []} == {
        "status": LET_THROUGH,
        "severity": "High",
        "report": "b.json",
        "name": "CVE-2021-44228",
        "keys": [],
        "exception": "EXC-0001",
        "expires_at": "2026-12-01",
        "days_left": 1,
    }


def test_shown_strips_terminal_escapes_and_bounds_length() -> None:
    text = shown("CVE\x1b]0;pwned\x07-1\u202e" + "x" * 500, 40)
    assert not {"\x1b", "\x07", "\u202e"} & set(text)
    assert len(text) == 40


SECOND = ActiveException(
    "EXC-0002", "exceptions/EXC-0002-x.md", date(2026, 12, 5), frozenset({"CVE-2099-0001"})
)
RULE = ActiveException(
    "EXC-0003", "exceptions/EXC-0003-x.md", date(2026, 12, 9), frozenset({"gemnasium:0f1e"})
)
GHSA = ActiveException("EXC-0004", "p", date(2027, 1, 1), frozenset({"GHSA-jfh8-c2jp-5v3q"}))


@pytest.mark.parametrize(
    ("ids", "exceptions", "outcome", "named"),
    [
        # One advisory under both its names: the CVE's exception covers it.
        (("CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"), [EXC], LET_THROUGH, "EXC-0001"),
        # Two CVEs in one finding: an exception reviewed for one does not let the other through.
        (("CVE-2021-44228", "CVE-2099-0001"), [EXC], BLOCKED, ""),
        (("CVE-2099-0001", "CVE-2021-44228"), [SECOND], BLOCKED, ""),
        # Both covered: through, by the exception that ends first (then it blocks again).
        (("CVE-2021-44228", "CVE-2099-0001"), [EXC, SECOND], LET_THROUGH, "EXC-0001"),
        # Without a CVE, every GHSA counts.
        (("GHSA-jfh8-c2jp-5v3q", "GHSA-2222-3333-4444"), [GHSA], BLOCKED, ""),
    ],
)
def test_every_cve_a_finding_names_must_be_covered(
    ids: tuple[str, ...], exceptions: list[ActiveException], outcome: str, named: str
) -> None:
    (decision,) = decide([("r", [finding("a", "High", *ids)])], "High", exceptions)
    assert decision.outcome == outcome
    assert (decision.exception.id if decision.exception else "") == named
    if outcome == BLOCKED:
        uncovered = {"CVE-2021-44228", "CVE-2099-0001", "GHSA-2222-3333-4444"} - {
            k for e in exceptions for k in e.findings
        }
        assert any(k in decision.why for k in uncovered & set(ids))


def test_a_finding_covered_by_its_own_rule_needs_no_cve_cover() -> None:
    """A scanner's advisory id or the report id names exactly this finding: its CVEs need no
    exception of their own."""
    data = finding("a", "High", "CVE-2021-44228", "CVE-2099-0001")
    data["identifiers"].append({"type": "gemnasium", "name": "x", "value": "0f1e"})
    (decision,) = decide([("r", [data])], "High", [RULE])
    assert decision.outcome == LET_THROUGH
    assert decision.exception == RULE


@pytest.mark.parametrize("value", [["High"], {"High": 1}, 7, True, "Hi gh", "Critical\u200b"])
def test_a_severity_not_spelled_as_the_schema_does_blocks(value: object) -> None:
    assert at_or_above(severity_of({"severity": value}), "Critical")


def test_a_report_id_two_findings_share_lets_neither_through() -> None:
    """A report id names one finding; two findings with one id (a buggy or a hand-written
    report, or ids differing only in case) make ``vulnerability:<id>`` name both, and an
    exception reviewed for one would let the other through."""
    by_id = ActiveException("EXC-0005", "p", date(2027, 1, 1), frozenset({"vulnerability:dup"}))
    one, two = finding("dup", "High", "CVE-2021-44228"), finding("DUP", "Critical", "CVE-2099-1")
    decisions = decide([("a", [one]), ("b", [two])], "High", [by_id])
    assert [d.outcome for d in decisions] == [BLOCKED, BLOCKED]
    (alone,) = decide([("a", [one])], "High", [by_id])
    assert alone.outcome == LET_THROUGH


def test_the_job_log_shows_notes_without_control_characters() -> None:
    """A note says why a claimed exception does not count, in words that may quote what a
    person wrote (the name a commit to the register was made under): a line break or a
    terminal escape there could forge a line of the job log or erase one."""
    from exception_bot.gate import GateResult, log_lines

    hostile = (
        "EXC-0099 does not count: its file is not proven (commit 1a2b3c4d (committed as "
        "\x1b[1A\x1b[2K\rgate passed: 0 blocking\n\u202e))"
    )
    result = GateResult(PROJECT, TODAY, "High", (), (hostile,))
    lines = log_lines(result)
    assert not any({"\x1b", "\r", "\n", "\u202e"} & set(line) for line in lines)
    assert lines[-1].startswith("gate passed: 0 blocking")  # the verdict is still the last line
    assert sum(line.startswith("gate passed") for line in lines) == 1
