"""End to end (docs/explanation/after-approval.md, remediation progress): the weekly report shows,
per exception and covered project, the covered findings the latest gate summary of that
project still lists: the ``exception-bot-gate.json`` that ``exception-bot gate`` wrote in the
project's latest successful pipeline, read through GitLab's job artifacts API; a project whose
summary cannot be read says why."""

from __future__ import annotations

import json
from pathlib import Path

from exception_bot.domain.remediation import GATE_JOB as JOB
from exception_bot.domain.remediation import SUMMARY_FILE as SUMMARY
from exception_bot.sandbox.pipelines import record_pipeline
from exception_bot.sandbox.seed import LEVELS
from tests.e2e.world import BOT, REGISTER, World
from tests.requests import body
from tests.support.stories import ACTIVATION, ROUTE

APP, WORKER = "payments/checkout-api", "payments/worker"
COVERS = f"""## Kind

Vulnerability

## Covers

- project: {APP}
- project: {WORKER}
- finding: CVE-2024-12345
- finding: GHSA-jfh8-c2jp-5v3q

"""
REQUEST = body("low_staging").replace("## Approvals", COVERS + "## Approvals", 1)


def _finding(ident: str, cve: str, severity: str) -> dict[str, object]:
    return {
        "id": ident,
        "severity": severity,
        "identifiers": [{"type": "cve", "name": cve, "value": cve}],
        "location": {"dependency": {"package": {"name": "openssl"}, "version": "1.0"}},
    }


def _report(folder: Path) -> Path:
    path = folder / "gl-dependency-scanning-report.json"
    report = {
        "version": "15.0.7",
        "scan": {"type": "dependency_scanning", "status": "success"},
        "vulnerabilities": [
            _finding("f1", "CVE-2024-12345", "High"),
            _finding("f2", "CVE-2024-00002", "Low"),
        ],
    }
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def _projects(world: World) -> None:
    store = world.sandbox.store
    bot = store.user_named(BOT)
    assert bot is not None
    store.add_project(APP).members[bot.id] = LEVELS["reporter"]
    store.add_project(WORKER)  # private, and the bot is no member: GitLab answers 404


def test_the_report_shows_covered_findings_still_present(world: World, tmp_path: Path) -> None:
    _projects(world)
    iid = world.open("bob", REQUEST, title="Keep OpenSSL 1.0 in the checkout API")
    world.approve(iid, ROUTE)
    world.later(hours=1).tick("bob", iid, ACTIVATION)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"

    # The project's pipeline: the gate lets the covered CVE through and writes its summary.
    gate = world.cli(
        "gate",
        str(_report(tmp_path)),
        "--project",
        APP,
        "--out",
        str(tmp_path / "exception-gate"),
        "--now",
        world.clock.isoformat(),
    )
    assert gate.exit_code == 0, gate.output
    summary = (tmp_path / SUMMARY).read_text(encoding="utf-8")  # as the CI snippet keeps it
    store = world.sandbox.store
    record_pipeline(store, APP, "main", {JOB: {SUMMARY: summary}})
    # A newer failed pipeline is not what GitLab answers with.
    stale = summary.replace("CVE-2024-12345", "GHSA-jfh8-c2jp-5v3q")
    record_pipeline(store, APP, "main", {JOB: {SUMMARY: stale}}, status="failed")

    printed = world.cli("report", "--now", world.clock.isoformat())
    assert printed.exit_code == 0, printed.output
    section = printed.output[printed.output.index("## Remediation progress") :]
    ident = f"EXC-{iid:04d}"
    (app_row,) = [line for line in section.splitlines() if f"`{APP}`" in line]
    assert ident in app_row
    assert "1 of 2: `CVE-2024-12345`" in app_row
    assert "GHSA" not in app_row
    (worker_row,) = [line for line in section.splitlines() if f"`{WORKER}`" in line]
    assert "(404)" in worker_row

    posted = world.cli("report", "--post", "--now", world.clock.isoformat())
    assert posted.exit_code == 0, posted.output
    register = store.project(REGISTER)
    assert register is not None
    (issue,) = register.issues.values()
    assert "1 of 2: `CVE-2024-12345`" in issue.description


def test_a_hostile_summary_is_a_row_that_says_so(world: World) -> None:
    _projects(world)
    iid = world.open("bob", REQUEST, title="Keep OpenSSL 1.0 in the checkout API")
    world.approve(iid, ROUTE)
    store = world.sandbox.store
    forged = {
        "project": "someone/else",
        "date": "2026-11-30",
        "findings": {"x": {"keys": ["CVE-2024-12345"], "name": "@alice <img src=x>"}},
    }
    record_pipeline(store, APP, "main", {JOB: {SUMMARY: json.dumps(forged)}})
    printed = world.cli("report", "--now", world.clock.isoformat())
    section = printed.output[printed.output.index("## Remediation progress") :]
    (app_row,) = [line for line in section.splitlines() if f"`{APP}`" in line]
    assert "names another project" in app_row
    assert "@alice" not in section
    record_pipeline(store, APP, "main", {JOB: {SUMMARY: "not json {"}})
    printed = world.cli("report", "--now", world.clock.isoformat())
    assert "its gate summary is not JSON" in printed.output
