"""End to end (docs/how-to/gate-a-pipeline.md): a project's pipeline is blocked by a High CVE
in its dependency scanning report; an exception covering it is approved and activated on the
sandbox GitLab; ``exception-bot gate`` then lets the finding through and names the exception,
its expiry and the days left, until the day after expiry, when the same finding blocks again;
``exception-bot suppressions`` writes Trivy's and Snyk's ignore files for the same state. The
gate reads with a Reporter's read_api token, proves each exception as ``register verify``
does, and fails closed when it cannot read the register."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from exception_bot.cli import app
from tests.e2e.world import BOT, REGISTER, World
from tests.support.security_reports import dependency_report, vulnerability
from tests.support.stories import ACTIVATION, LOW, ROUTE

PROJECT = "payments/checkout-api"
CVE = "CVE-2024-12345"
EXPIRES = date(2027, 1, 15)  # the Expiration date of the low_staging request
COVERS = f"""## Kind

Gate

## Covers

- project: Payments/Checkout-API
- finding: {CVE.lower()}

"""
REQUEST = LOW.replace("/confidential", "").replace("## Approvals", COVERS + "## Approvals", 1)


def reader_token(world: World, username: str) -> str:
    """A read_api personal access token of ``username``, as an administrator creates one
    (doc/api/user_tokens.md): what a project's CI/CD variable holds for the gate."""
    admin = world.gl(BOT)
    (user,) = admin.users.list(username=username)
    token = admin.users.get(user.id, lazy=True).personal_access_tokens.create(
        {"name": "exception-gate", "scopes": ["read_api"]}
    )
    return str(token.token)


def gate(
    world: World, token: str, folder: Path, now: datetime, *reports: Path, **env: str
) -> tuple[int, str]:
    """``exception-bot gate`` as the project's pipeline runs it."""
    variables = {
        "GITLAB_URL": world.sandbox.url,
        "GITLAB_TOKEN": token,
        "CI_PROJECT_PATH": PROJECT,
        **env,
    }
    args = ["gate", *map(str, reports), "--out", str(folder), "--now", now.isoformat()]
    result = CliRunner().invoke(app, [*args, "--config", str(world.config)], env=variables)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def suppressions(world: World, token: str, fmt: str, now: datetime) -> str:
    env = {"GITLAB_URL": world.sandbox.url, "GITLAB_TOKEN": token}
    args = ["suppressions", "--format", fmt, "--project", PROJECT, "--now", now.isoformat()]
    result = CliRunner().invoke(app, [*args, "--config", str(world.config)], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def report_file(folder: Path) -> Path:
    findings = [
        vulnerability(CVE, "High"),
        vulnerability("CVE-2023-0001", "Low", "minimist"),
    ]
    path = folder / "gl-dependency-scanning-report.json"
    path.write_text(json.dumps(dependency_report(findings)))
    return path


def summary(folder: Path) -> dict[str, Any]:
    data = json.loads((folder / "exception-bot-gate.json").read_text())
    assert isinstance(data, dict)
    return data


def blocking(folder: Path) -> list[str]:
    data = json.loads((folder / "gl-dependency-scanning-report.blocking.json").read_text())
    assert data["version"] == "15.0.7"  # the same schema, every other key kept
    assert data["scan"]["type"] == "dependency_scanning"
    return [v["identifiers"][1]["value"] for v in data["vulnerabilities"]]


def test_an_active_exception_lets_its_finding_through_until_the_day_after_expiry(
    world: World, tmp_path: Path
) -> None:
    report = report_file(tmp_path)
    token = reader_token(world, "frank")  # Reporter on the requests, Developer on the register
    iid = world.open("bob", REQUEST, title="Let checkout 2.4 through the gate")
    world.approve(iid, ROUTE)

    # Approved, but its compensating controls are not confirmed: it does not count yet.
    code, out = gate(world, token, tmp_path / "approved", world.clock, report)
    assert code == 1, out
    assert f"blocks: {CVE} (High, {report})" in out
    assert "EXC-0001 does not count: EXC-0001 is approved, not active" in out
    assert "CVE-2023-0001" not in out  # Low: below the threshold
    assert blocking(tmp_path / "approved") == [CVE]

    world.later(hours=1).tick("bob", iid, ACTIVATION)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"
    code, out = gate(world, token, tmp_path / "active", world.clock, report)
    assert code == 0, out
    days = (EXPIRES - world.clock.date()).days
    assert f"let through: {CVE} (High, {report}) by exception EXC-0001, " in out
    assert f"expires {EXPIRES.isoformat()} ({days} days left)" in out
    assert "gate passed: 0 blocking at or above High, 1 let through" in out
    assert blocking(tmp_path / "active") == []
    found = summary(tmp_path / "active")
    assert (found["project"], found["passed"]) == (PROJECT, True)
    (let,) = [f for f in found["findings"].values() if f["status"] == "let-through"]
    assert (let["exception"], let["expires_at"], let["days_left"]) == (
        "EXC-0001",
        "2027-01-15",
        days,
    )
    assert CVE in let["keys"]

    # Its last day: still in force. The day after: blocks again, before the bot has run.
    last_day = datetime(2027, 1, 15, 23, 59, tzinfo=UTC)
    code, out = gate(world, token, tmp_path / "last", last_day, report)
    assert (code, "(last day)" in out) == (0, True), out
    day_after = datetime(2027, 1, 16, 0, 0, tzinfo=UTC)
    code, out = gate(world, token, tmp_path / "after", day_after, report)
    assert code == 1, out
    assert f"blocks: {CVE} (High, {report})" in out
    assert "EXC-0001 does not count: EXC-0001 expired on 2027-01-15" in out
    assert blocking(tmp_path / "after") == [CVE]
    assert summary(tmp_path / "after")["passed"] is False


def test_suppression_files_for_the_same_state(world: World) -> None:
    token = reader_token(world, "frank")
    iid = world.open("bob", REQUEST, title="Let checkout 2.4 through the gate")
    world.approve(iid, ROUTE)
    world.later(hours=1).tick("bob", iid, ACTIVATION)
    world.later(minutes=10).run()

    trivy = yaml.safe_load(suppressions(world, token, "trivy", world.clock))
    (entry,) = trivy["vulnerabilities"]
    assert entry["id"] == CVE
    # UTC is the config's calendar: the exception ends when 2027-01-16 begins.
    assert entry["expired_at"] == datetime(2027, 1, 16, tzinfo=UTC)
    assert "EXC-0001" in entry["statement"]
    snyk = yaml.safe_load(suppressions(world, token, "snyk", world.clock))
    assert snyk["version"] == "v1.25.0"
    ((rule,),) = [snyk["ignore"][CVE]]
    assert rule["*"]["expires"] == datetime(2027, 1, 16, tzinfo=UTC)
    assert "EXC-0001" in rule["*"]["reason"]

    after = datetime(2027, 1, 16, 0, 0, tzinfo=UTC)
    assert yaml.safe_load(suppressions(world, token, "trivy", after))["vulnerabilities"] == []


def test_a_forged_register_lets_nothing_through(world: World, tmp_path: Path) -> None:
    """Someone who may push to the register writes a row and an entry file of their own that
    claim an active exception for the CVE: neither is the bot's, so the finding blocks."""
    report = report_file(tmp_path)
    token = reader_token(world, "frank")
    other = world.open("bob", LOW.replace("/confidential", ""), title="Keep TLS 1.1")
    world.approve(other, ROUTE)  # a real register, for the forger to add to
    files = world.sandbox.files(REGISTER)
    (real_path,) = [p for p in files if p.startswith("exceptions/")]
    real = files[real_path]
    empty = "  projects: []\n  findings: []\n"
    assert empty in real, real
    forged = real.replace("status: approved", "status: active", 1)
    forged = forged.replace(empty, f"  projects: [{PROJECT}]\n  findings: [{CVE}]\n", 1)
    path = "exceptions/EXC-0099-forged.md"
    rows = json.loads(files["register.json"])
    rows.append(
        {
            **rows[0],
            "id": "EXC-0099",
            "status": "active",
            "path": path,
            "covers": {"projects": [PROJECT], "findings": [CVE]},
        }
    )
    store = world.sandbox.store
    project, person = store.project(REGISTER), store.user_named("alice")
    assert project is not None
    assert person is not None
    actions: list[dict[str, object]] = [
        {"action": "create", "file_path": path, "content": forged},
        {"action": "update", "file_path": "register.json", "content": json.dumps(rows)},
    ]
    store.commit(project, person, "main", "Add an exception", actions)
    # The report is hostile too: its text reaches the job log with no terminal escape.
    data = json.loads(report.read_text())
    hostile = vulnerability("CVE-2024-77777", "Critical")
    hostile["identifiers"] = [
        {"type": "x\x1b[2J", "name": "\x1b]0;owned\x07\u202e", "value": "\x1b[31m"}
    ]
    data["vulnerabilities"].append(hostile)
    report.write_text(json.dumps(data))
    code, out = gate(world, token, tmp_path / "out", world.clock, report)
    assert code == 1, out
    assert f"blocks: {CVE}" in out
    assert "EXC-0099 does not count: its file is not proven" in out
    assert not {"\x1b", "\x07", "\u202e"} & set(out)
    assert "\ufffd]0;owned\ufffd\ufffd (Critical" in out


def test_the_gate_fails_closed_with_one_line(world: World, tmp_path: Path) -> None:
    report = report_file(tmp_path)
    # tom may read the requests but not the register: nothing is let through.
    code, out = gate(world, reader_token(world, "tom"), tmp_path / "a", world.clock, report)
    assert code == 1
    (line,) = out.strip().splitlines()
    assert line.startswith("error: register.json of security/exception-register (branch main)")
    assert "cannot be read, so no exception counts" in line
    assert "Reporter" in line
    # A job token alone cannot read the issues that prove an exception.
    code, out = gate(world, "", tmp_path / "b", world.clock, report, CI_JOB_TOKEN="job")
    assert code == 2
    assert "CI_JOB_TOKEN cannot read issues" in out
    # Reports that are not what they claim to be: one line each, exit 2, no GitLab needed.
    for text, words in [
        ("not json", "not a JSON security report"),
        (json.dumps({"version": "99.0.0", "vulnerabilities": []}), "schema version '99.0.0'"),
        (json.dumps({"version": "15.0.7", "vulnerabilities": {}}), "not a list"),
        ("[" * 100_000, "not a JSON security report"),
        # A scanner that failed, or a key written twice to hide a finding from one reader.
        (
            json.dumps({"version": "15.0.7", "vulnerabilities": [], "scan": {"status": "failure"}}),
            "its scan as 'failure'",
        ),
        ('{"version": "15.0.7", "vulnerabilities": [{}], "vulnerabilities": []}', "twice"),
    ]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        code, out = gate(world, "glpat-none", tmp_path / "c", world.clock, bad)
        assert (code, out.count("\n")) == (2, 1), out
        assert words in out
