"""How long ``exception-bot gate`` takes over a big report and a big register.

A 50,000-finding dependency scanning report (about a kilobyte a finding, as gemnasium writes
them) against a register of 5,000 rows: a few exceptions the bot approved and activated on the
sandbox GitLab for this project's CVEs, rows of other projects, rows of this project for
findings the report does not hold, and forged rows that claim this project's CVEs with no file
behind them. The gate is the real console script in a process of its own (its start-up
included), over HTTP to the sandbox in this process with a per-request latency, reading with a
Reporter's read_api token. The pure decision over the same report is timed apart.

Target: under 5 s for the gate.

Run: python bench/gate.py [--latency-ms 20] [--json bench/latest.json]  (merges its key, gate)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the sandbox stories and report builders live with the tests

from exception_bot.domain.gate import decide  # noqa: E402
from exception_bot.security_reports import read_report  # noqa: E402
from tests.e2e.world import BOT, REGISTER, World, new_world  # noqa: E402
from tests.support.security_reports import dependency_report, vulnerability  # noqa: E402
from tests.support.stories import ACTIVATION, LOW, ROUTE  # noqa: E402

PROJECT = "payments/checkout-api"
FINDINGS = 50_000
ROWS = 5_000
ACTIVE = 3  # exceptions approved and activated through the bot
FORGED = 20  # rows that claim this project's CVEs with no proven file behind them
SEVERITIES = ("Critical", "High", "Medium", "Low", "Info", "Unknown")


def request(cves: list[str]) -> str:
    covers = "## Kind\n\nGate\n\n## Covers\n\n- project: " + PROJECT + "\n"
    covers += "".join(f"- finding: {cve}\n" for cve in cves) + "\n"
    return LOW.replace("/confidential", "").replace("## Approvals", covers + "## Approvals", 1)


def activate(world: World, cves: list[str]) -> None:
    iid = world.open("bob", request(cves), title=f"Let {cves[0]} through")
    world.approve(iid, ROUTE)
    world.later(hours=1).tick("bob", iid, ACTIVATION)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active", world.status(iid)


def grow_register(world: World, covered: list[str], rng: random.Random) -> int:
    """register.json padded to ROWS rows, pushed by a person with push access."""
    rows: list[dict[str, Any]] = json.loads(world.register_file("register.json") or "[]")
    template = rows[0]
    forged = 0
    for n in range(ROWS - len(rows)):
        project, findings = f"team-{n % 400}/service-{n}", [f"CVE-2025-{n:05d}"]
        if n % 10 == 0:  # this project, a finding the report does not hold
            project, findings = PROJECT, [f"CVE-2019-{n:05d}"]
        if forged < FORGED and n % 97 == 0:
            project, findings, forged = PROJECT, [rng.choice(covered)], forged + 1
        rows.append(
            {
                **template,
                "id": f"EXC-{9000 + n}",
                "status": "active",
                "path": f"exceptions/EXC-{9000 + n}-padding.md",
                "covers": {"projects": [project], "findings": findings},
            }
        )
    store = world.sandbox.store
    project_row, person = store.project(REGISTER), store.user_named("alice")
    assert project_row is not None
    assert person is not None
    actions: list[dict[str, object]] = [
        {"action": "update", "file_path": "register.json", "content": json.dumps(rows)}
    ]
    store.commit(project_row, person, "main", "Padding", actions)
    return len(rows)


def write_report(path: Path, covered: list[str], rng: random.Random) -> None:
    findings = [
        vulnerability(f"CVE-2024-{n:05d}", rng.choice(SEVERITIES), f"pkg-{n % 900}")
        for n in range(FINDINGS - len(covered))
    ]
    findings += [vulnerability(cve, "High", "lodash") for cve in covered]
    rng.shuffle(findings)
    path.write_text(json.dumps(dependency_report(findings)))


def reader_token(world: World) -> str:
    admin = world.gl(BOT)
    (user,) = admin.users.list(username="frank")
    token = admin.users.get(user.id, lazy=True).personal_access_tokens.create(
        {"name": "bench-gate", "scopes": ["read_api"]}
    )
    return str(token.token)


def run_gate(world: World, report: Path, out: Path, token: str) -> tuple[float, float, int, str]:
    """Wall time, CPU time (the child's user and system: steadier than wall time on a shared
    machine), exit code and output of the gate."""
    env = {**os.environ, "GITLAB_URL": world.sandbox.url, "GITLAB_TOKEN": token}
    exe = Path(sys.executable).parent / "exception-bot"
    args = [str(exe), "gate", str(report), "--project", PROJECT, "--out", str(out)]
    args += ["--now", world.clock.isoformat(), "--config", str(world.config)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.returncode, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(25)  # noqa: S311 - a reproducible test report, no secret
    work = Path(tempfile.mkdtemp(prefix="exception-bot-gate-bench-"))
    world = new_world()
    try:
        covered = [f"CVE-2024-9{n:04d}" for n in range(ACTIVE * 2)]
        for n in range(ACTIVE):
            activate(world, covered[2 * n : 2 * n + 2])
        rows = grow_register(world, covered, rng)
        report = work / "gl-dependency-scanning-report.json"
        write_report(report, covered, rng)
        token = reader_token(world)
        world.sandbox.latency(args.latency_ms / 1000)
        world.sandbox.clear_log()
        wall, cpu, code, output = run_gate(world, report, work / "out", token)
        requests = len(world.sandbox.requests)
    finally:
        world.sandbox.stop()
    loaded = read_report(report)
    start = time.perf_counter()
    decide([(loaded.name, loaded.findings)], "High", [])
    decide_s = time.perf_counter() - start
    summary = json.loads((work / "out" / "exception-bot-gate.json").read_text())
    figures = {
        "findings": FINDINGS,
        "register_rows": rows,
        "report_mb": round(report.stat().st_size / 1024 / 1024, 1),
        "latency_ms": args.latency_ms,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "load_average": round(os.getloadavg()[0], 1),
        "requests": requests,
        "exit_code": code,
        "counts": summary["counts"],
        "decide_s": round(decide_s, 3),
        "target_s": 5.0,
    }
    print(output.strip().splitlines()[-1])
    print(json.dumps(figures, indent=2))
    if args.json:
        data = json.loads(args.json.read_text()) if args.json.exists() else {}
        args.json.write_text(json.dumps({**data, "gate": figures}, indent=2) + "\n")
        print(f"written: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
