"""How much a run costs: API requests, wall time and memory, for the bot and a naive baseline.

The sandbox GitLab runs in this process (with a per-request latency); each measured run is the
real bot in a fresh child process, talking to it over HTTP. Before measuring, the requests are
settled (the bot has run over them, some approvers have ticked), as in an organisation where
the bot has been running for a while:

- cold: the first run without a state file (4 reading threads);
- warm: the next run, nothing changed since, with the state file the cold run wrote;
- naive_cold / naive_warm: the same bot with the state file off and a single reading thread.

Run: python bench/run.py --n 1000 --latency-ms 20 --json bench/latest.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from exception_bot.config import Config, load_config
from exception_bot.decide import decide
from exception_bot.demo import request_body
from exception_bot.domain.model import IssueSnapshot, User
from exception_bot.domain.people import Directory
from exception_bot.gitlab_api import GitLab
from exception_bot.plan import Context
from exception_bot.runner import run_once
from exception_bot.sandbox import DEMO, Sandbox

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "exception-bot.yml"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RISKS = ("Low", "Medium", "High", "Low")


def phase(url: str, token: str, config: str, now: str, workers: int) -> dict[str, Any]:
    """One bot run in this (child) process: its summary, wall time and peak RSS."""
    cfg = load_config(Path(config))
    gitlab = GitLab.connect(url, token)
    started = time.perf_counter()
    summary = run_once(gitlab, cfg, datetime.fromisoformat(now), workers=workers)
    wall = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "summary": summary.line(),
        "failed": summary.failed,
    }


def measure(
    pool: Any, sandbox: Sandbox, config: Path, now: datetime, workers: int
) -> dict[str, Any]:
    before = sandbox.counts()
    result: dict[str, Any] = pool.apply(
        phase, (sandbox.url, sandbox.token("exception-bot"), str(config), now.isoformat(), workers)
    )
    by_endpoint = Counter(sandbox.counts())
    by_endpoint.subtract(before)
    result["requests_by_endpoint"] = {k: v for k, v in sorted(by_endpoint.items()) if v}
    result["requests"] = sum(result["requests_by_endpoint"].values())
    if result["failed"]:
        raise SystemExit(f"a measured run failed: {result['summary']}")
    return result


def seed(sandbox: Sandbox, config: Config, n: int) -> None:
    store = sandbox.store
    project = store.project(config.gitlab.requests_projects[0].path)
    bob = store.user_named("bob")
    assert project is not None
    assert bob is not None
    sandbox.set_now(START - timedelta(days=1))
    for i in range(n):
        fields = {"Summary": f"Exception {i}", "Risk level": RISKS[i % len(RISKS)]}
        store.create_issue(project, bob, f"Exception {i}", request_body(config, fields))


def tick_some(sandbox: Sandbox, config: Config, share: int) -> None:
    """Every ``share``-th request gets its department head's approval."""
    store = sandbox.store
    project = store.project(config.gitlab.requests_projects[0].path)
    carol = store.user_named("carol")
    assert project is not None
    assert carol is not None
    for issue in list(project.issues.values())[::share]:
        if "Department head" in issue.description:
            text = issue.description.replace(
                "- [ ] Department head approval", "- [x] Department head approval", 1
            )
            store.update_issue(project, issue, carol, {"description": text})


def decide_10k(config: Config) -> float:
    """Seconds for the pure core to decide 10,000 new requests: every rule runs, every note is
    rendered, and each description's Markdown parse is included."""
    bob, bot = User(5, "bob"), User(1, "exception-bot")
    snapshots = [
        IssueSnapshot(
            project="security/exceptions",
            iid=i,
            title=f"Exception {i}",
            web_url=f"https://gitlab.example.com/security/exceptions/-/issues/{i}",
            author=bob,
            description=request_body(config, {"Summary": f"Exception {i}"}),
            labels=frozenset({"ExceptionRequest", "exception::submitted"}),
            assignees=(),
            created_at=START,
            updated_at=START,
            state="opened",
            confidential=True,
            notes=(),
            label_events=(),
        )
        for i in range(1, 10_001)
    ]
    ctx = Context(config, Directory({"security": frozenset({"victor"})}), bot, START)
    started = time.perf_counter()
    for snapshot in snapshots:
        decide(snapshot, ctx)
    return round(time.perf_counter() - started, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    config = load_config(CONFIG)
    work = Path(tempfile.mkdtemp(prefix="exception-bot-bench-"))
    plain = work / "plain.yml"
    stateful = work / "stateful.yml"
    data = yaml.safe_load(CONFIG.read_text())
    plain.write_text(yaml.safe_dump(data))
    stateful.write_text(yaml.safe_dump({**data, "state_file": str(work / "state.json")}))
    figures: dict[str, Any] = {"n": args.n, "latency_ms": args.latency_ms}
    with (
        multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool,
        Sandbox(DEMO) as sandbox,
    ):
        seed(sandbox, config, args.n)
        # Settle: the bot has been running; some approvers have acted since.
        measure(pool, sandbox, plain, START, 4)
        tick_some(sandbox, config, 3)
        measure(pool, sandbox, plain, START + timedelta(hours=1), 4)
        measure(pool, sandbox, plain, START + timedelta(hours=2), 4)
        sandbox.latency(args.latency_ms / 1000)
        now = START + timedelta(hours=3)
        figures["cold"] = measure(pool, sandbox, stateful, now, 4)
        figures["warm"] = measure(pool, sandbox, stateful, now + timedelta(minutes=15), 4)
        figures["naive_cold"] = measure(pool, sandbox, plain, now + timedelta(minutes=30), 1)
        figures["naive_warm"] = measure(pool, sandbox, plain, now + timedelta(minutes=45), 1)
    figures["decide_10k_s"] = decide_10k(config)
    figures["ratios"] = {
        "warm_requests_vs_naive": round(
            figures["naive_warm"]["requests"] / max(1, figures["warm"]["requests"]), 1
        ),
        "cold_speedup_vs_naive": round(
            figures["naive_cold"]["wall_s"] / max(0.001, figures["cold"]["wall_s"]), 1
        ),
        "cold_requests_per_issue": round(figures["cold"]["requests"] / args.n, 2),
    }
    print(f"N={args.n}, latency {args.latency_ms:g} ms")
    print(f"{'run':<12} {'requests':>9} {'wall_s':>8} {'peak_rss_mb':>12}")
    for name in ("cold", "warm", "naive_cold", "naive_warm"):
        row = figures[name]
        print(f"{name:<12} {row['requests']:>9} {row['wall_s']:>8} {row['peak_rss_mb']:>12}")
    print(f"decide 10k new requests (Markdown parse included): {figures['decide_10k_s']} s")
    print("ratios:", json.dumps(figures["ratios"]))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"written: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
