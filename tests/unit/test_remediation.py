"""Remediation progress (docs/explanation/after-approval.md): a gate summary read as hostile
JSON, and the report's rows per exception and covered project."""

from __future__ import annotations

import json
from datetime import date

import pytest

from exception_bot.domain.model import State
from exception_bot.domain.remediation import (
    MAX_PROJECTS,
    MAX_SHOWN,
    GateSeen,
    projects_to_read,
    read_summary,
    remediation_rows,
)
from exception_bot.domain.report import RequestFacts

APP = "payments/checkout-api"


def summary(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "project": APP,
        "date": "2026-11-30",
        "findings": {
            "f1": {"status": "let-through", "keys": ["CVE-2024-12345", "cve:CVE-2024-12345"]},
            "f2": {"status": "below-threshold", "keys": ["GHSA-jfh8-c2jp-5v3q"]},
        },
    }
    return json.dumps({**doc, **changes}).encode()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (None, "why"),
        (b"not json", "not JSON"),
        (b"[1, 2]", "no findings object"),
        (b"[" * 100_000, "not JSON"),
        (summary(findings=[]), "no findings object"),
        (summary(project="someone/else"), "names another project"),
        (summary(project=None), "names another project"),
    ],
)
def test_a_summary_that_says_nothing_says_why(data: bytes | None, problem: str) -> None:
    seen = read_summary(APP, data, "why")
    assert seen.problem is not None
    assert problem in seen.problem
    assert seen.keys == frozenset()


def test_a_summary_gives_its_day_and_every_key() -> None:
    seen = read_summary("Payments/Checkout-API", summary())
    assert seen.problem is None
    assert seen.day == date(2026, 11, 30)
    assert "CVE-2024-12345" in seen.keys
    assert "GHSA-jfh8-c2jp-5v3q" in seen.keys


@pytest.mark.parametrize("day", ["2026-02-30", "yesterday", 20261130, None, "2026-11-30T00:00"])
def test_a_bad_day_is_no_day(day: object) -> None:
    assert read_summary(APP, summary(date=day)).day is None


def test_odd_entries_give_no_keys() -> None:
    findings = {"a": "x", "b": {"keys": "CVE-2024-12345"}, "c": {"keys": [1, None, "x" * 9000]}}
    assert read_summary(APP, summary(findings=findings)).keys == frozenset()


def facts(state: State = State.ACTIVE, **changes: object) -> RequestFacts:
    base: dict[str, object] = {
        "reference": "security/exceptions#7",
        "title": "Keep OpenSSL 1.0",
        "web_url": "https://gitlab.example.com/security/exceptions/-/issues/7",
        "state": state,
        "exception_id": "EXC-0007",
        "covered_projects": (APP, "payments/worker"),
        "covered_findings": ("CVE-2024-12345", "GHSA-jfh8-c2jp-5v3q", "CVE-2024-99999"),
    }
    return RequestFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_rows_per_exception_and_project() -> None:
    seen = {
        APP: read_summary(APP, summary()),
        "payments/worker": GateSeen("payments/worker", problem="none"),
    }
    app, worker = remediation_rows([facts()], seen)
    assert (app["id"], app["project"], app["day"]) == ("EXC-0007", APP, date(2026, 11, 30))
    assert app["present"] == ["CVE-2024-12345", "GHSA-jfh8-c2jp-5v3q"]
    assert (app["count"], app["covered"], app["problem"]) == (2, 3, None)
    assert worker["problem"] == "none"
    assert worker["present"] == []


@pytest.mark.parametrize(
    ("state", "followed"),
    [
        (State.APPROVED, True),
        (State.ACTIVE, True),
        (State.EXPIRED, True),
        (State.CLOSED, False),
        (State.REVOKED, False),
        (State.IN_REVIEW, False),
    ],
)
def test_which_exceptions_are_followed(state: State, followed: bool) -> None:
    assert bool(remediation_rows([facts(state)], {})) is followed
    assert bool(projects_to_read([facts(state)])) is followed


def test_no_covered_findings_no_row() -> None:
    assert remediation_rows([facts(covered_findings=())], {}) == []
    assert remediation_rows([facts(unverified=True)], {}) == []


def test_reads_are_bounded() -> None:
    many = tuple(f"group/p{n:03d}" for n in range(MAX_PROJECTS + 5))
    wide = facts(covered_projects=many)
    assert len(projects_to_read([wide])) == MAX_PROJECTS
    rows = remediation_rows([wide], {})
    assert all("not read" in str(row["problem"]) for row in rows)
    findings = tuple(f"CVE-2024-{n:05d}" for n in range(MAX_SHOWN + 3))
    keys = json.dumps(list(findings))
    data = f'{{"project": "{APP}", "findings": {{"a": {{"keys": {keys}}}}}}}'.encode()
    (row, _) = remediation_rows([facts(covered_findings=findings)], {APP: read_summary(APP, data)})
    assert (len(row["present"]), row["more"], row["count"]) == (MAX_SHOWN, 3, MAX_SHOWN + 3)
