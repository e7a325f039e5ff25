"""Exception files for the merge-request route: good ones pass, each rule catches its case."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from exception_bot.domain.lint import codequality, lint_entry
from exception_bot.domain.register import ApprovalEntry, RegisterEntry, render_entry
from exception_bot.domain.settings import Config
from tests.support.cli import run
from tests.support.entries import entry as register_entry

TODAY = date(2026, 11, 23)
PATH = "exceptions/EXC-0042-keep-tls.md"
SECTIONS = {
    "Summary": "Keep TLS 1.1 on the reporting VM.",
    "Justification": "The vendor agent only speaks TLS 1.1.",
    "Risk assessment": "Downgrade on the staging network.",
    "Compensating controls": "Jump host only; weekly flow log review.",
    "Remediation plan": "Vendor release 8.4 by January.",
}


def entry(**changes: object) -> RegisterEntry:
    """The register's test entry, with every section an exception file must have."""
    return register_entry(**{"sections": SECTIONS, **changes})


def checks(text: str, config: Config, path: str = PATH) -> list[str]:
    return [p.check for p in lint_entry(path, text, config, TODAY)]


def test_a_good_file_passes(config: Config) -> None:
    assert checks(render_entry(entry()), config) == []


Edit = Callable[[str], str]


def sub(old: str, new: str) -> Edit:
    return lambda text: text.replace(old, new)


EXPIRES = "expires_at: '2027-01-15'"
ARCHIVED = "archive/EXC-0042-keep-tls.md"


@pytest.mark.parametrize(
    ("edit", "path", "expected"),
    [
        (sub("---\n", ""), PATH, ["front-matter"]),
        (sub("", ""), "exceptions/EXC-0043-keep-tls.md", ["id-mismatch"]),
        (sub("risk_level: low", "risk_level: extreme"), PATH, ["bad-risk"]),
        (sub("department: finance", "department: marketing"), PATH, ["bad-department"]),
        (sub(EXPIRES, "expires_at: '2027-03-15'"), PATH, ["expiry-too-late"]),
        (sub(EXPIRES, "expires_at: '2026-11-01'"), PATH, ["expired-in-active-folder"]),
        (sub(EXPIRES, "expires_at: '2026-11-01'"), ARCHIVED, []),
        (sub("title: Keep TLS 1.1 on the reporting VM\n", ""), PATH, ["missing-field"]),
        (sub("## Remediation plan", "## Plan"), PATH, ["missing-section"]),
        (sub("renewal_number: 0", "renewal_number: 3"), PATH, ["too-many-renewals"]),
        (sub("renewal_number: 0", "renewal_number: two"), PATH, ["bad-renewal-number"]),
        (sub("incidents: []", "incidents: none"), PATH, ["bad-incidents"]),
        (
            lambda t: re.sub(r"approvals:\n(  .*\n|- .*\n)+", "approvals: carol\n", t),
            PATH,
            ["bad-approvals"],
        ),
        (
            lambda t: t.replace("risk_level: low", "risk_level: critical").replace(
                "environment: staging", "environment: production"
            ),
            PATH,
            ["critical-in-production"],
        ),
    ],
)
def test_each_rule(config: Config, edit: Edit, path: str, expected: list[str]) -> None:
    assert checks(edit(render_entry(entry())), config, path) == expected


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (sub("---\n", ""), "no YAML front matter"),
        (sub(EXPIRES, "expires_at: 2027-02-30"), "not valid YAML (day is out of range for month)"),
        (sub(EXPIRES, "expires_at: [[2027"), "not valid YAML (expected ',' or ']'"),
        (sub(EXPIRES, "expires_at: [" + "[" * 5000 + "]" * 5001), "(nested too deep)"),
        (sub(EXPIRES, "expires_at: '2027-01-15"), "expected <block end>, but found '<scalar>' on"),
    ],
    ids=["none", "no-such-day", "unclosed", "too-deep", "unclosed-quote"],
)
def test_an_unreadable_front_matter_says_why(config: Config, edit: Edit, why: str) -> None:
    (problem,) = lint_entry(PATH, edit(render_entry(entry())), config, TODAY)
    assert problem.check == "front-matter"
    assert why in problem.message


def test_a_yaml_syntax_error_points_at_its_line(config: Config) -> None:
    text = render_entry(entry()).replace("risk_level: low", "risk_level: [low")
    (problem,) = lint_entry(PATH, text, config, TODAY)
    assert text.splitlines()[problem.line - 1].startswith("department:")  # where YAML gave up
    assert f"on line {problem.line})" in problem.message


def test_an_escalation_record_allows_critical_in_production(config: Config) -> None:
    escalated = entry(
        risk_level="critical",
        environment="production",
        approvals=(ApprovalEntry("CISO escalation", "grace", datetime(2026, 11, 21, tzinfo=UTC)),),
    )
    assert checks(render_entry(escalated), config) == []


def test_problems_point_at_the_field_line(config: Config) -> None:
    text = render_entry(entry()).replace("department: finance", "department: marketing")
    (problem,) = lint_entry(PATH, text, config, TODAY)
    assert text.splitlines()[problem.line - 1] == "department: marketing"


def test_code_quality_report_has_gitlabs_fields(config: Config) -> None:
    text = render_entry(entry()).replace("risk_level: low", "risk_level: extreme")
    (issue,) = codequality(lint_entry(PATH, text, config, TODAY))
    # doc/ci/testing/code_quality.md: the fields GitLab reads from each issue
    assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
    assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
    assert issue["location"] == {"path": PATH, "lines": {"begin": 5}}
    assert len(issue["fingerprint"]) == 64


def test_lint_command(tmp_path: Path) -> None:
    folder = tmp_path / "exceptions"
    folder.mkdir()
    (folder / "EXC-0042-keep-tls.md").write_text(render_entry(entry()))
    (folder / "EXC-0043-bad.md").write_text(render_entry(entry(id="EXC-0043", risk_level="x")))
    report = tmp_path / "cq.json"
    code, out, _ = run("lint", str(folder), "--now", "2026-11-23", "--codequality", str(report))
    assert code == 1
    assert "EXC-0043-bad.md:5: risk_level 'x' is not critical, high, medium or low" in out
    assert "EXC-0042" not in out
    assert [i["check_name"] for i in json.loads(report.read_text())] == ["bad-risk"]
    code, out, _ = run("lint", str(folder / "EXC-0042-keep-tls.md"), "--now", "2026-11-23")
    assert (code, out.strip()) == (0, "1 file checked: no problems")
