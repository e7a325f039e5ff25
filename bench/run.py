"""How much a run costs: API requests, wall time and memory, for the bot and a naive baseline.

The sandbox GitLab runs in this process (with a per-request latency); each measured run is the
real bot in a fresh child process, talking to it over HTTP, with no rate cap. Before measuring,
the requests are settled as in an organisation where the bot has been running for a while: the
bot has run over them after each round of approvals, so they stand at every place of their
route, some wait for their requester and some are approved, registered and active (``MIX``).

- cold: the first run without a state file (4 reading threads);
- warm: the next run, nothing changed since, with the state file the cold run wrote;
- naive_cold / naive_warm: the same bot with the state file off and a single reading thread;
- decide_10k_s: the pure core deciding 10,000 parsed requests (the settled ones, renumbered),
  with the Markdown parse of their descriptions timed apart as parse_10k_s.

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
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from exception_bot.actions import IssueRef
from exception_bot.config import Config, load_config
from exception_bot.decide import decide
from exception_bot.demo import request_body
from exception_bot.domain.fields import parse_body
from exception_bot.domain.model import IssueSnapshot, State
from exception_bot.gitlab_api import GitLab
from exception_bot.plan import Context
from exception_bot.runner import context, needs_links, run_once
from exception_bot.sandbox import DEMO, Sandbox

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "exception-bot.yml"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RISKS = ("Low", "Medium", "High", "Low")
READERS = 4  # the runner's default reading threads
UNCAPPED = {"requests_per_minute": 1_000_000, "notes_per_minute": 1_000_000}


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


# Where each request stands once settled, in turn: (risk level, boxes of its route ticked by
# the right people). None: a field left empty, so the request waits for its requester.
MIX: tuple[tuple[str, int | None], ...] = (
    ("Low", None),
    ("High", 0),
    ("Medium", 0),
    ("Low", 1),
    ("Medium", 2),
    ("High", 1),
    ("Low", 3),
    ("Low", 4),  # approved and registered
    ("Medium", 5),  # and active
    ("Low", 5),
)
# The Low and Medium route of config/exception-bot.yml, each box with who ticks it, then the
# requester's confirmation that makes an approved exception active.
ROUTE = (
    ("Department head approval", "carol"),
    ("Security team approval", "victor"),
    ("Policy owner approval", "erin"),
    ("Security Compliance review", "sue"),
    ("Compensating controls implemented", "bob"),
)


def seed(sandbox: Sandbox, config: Config, n: int) -> None:
    store = sandbox.store
    project = store.project(config.gitlab.requests_projects[0].path)
    bob = store.user_named("bob")
    assert project is not None
    assert bob is not None
    sandbox.set_now(START - timedelta(days=1))
    for i in range(n):
        risk, ticks = MIX[i % len(MIX)]
        fields = {"Summary": f"Exception {i}", "Risk level": risk}
        if ticks is None:
            fields["Justification"] = ""
        store.create_issue(project, bob, f"Exception {i}", request_body(config, fields))


def tick_round(sandbox: Sandbox, config: Config, box: int) -> None:
    """The approvers of stage ``box`` (0-based) tick their box on the requests that get it."""
    store = sandbox.store
    project = store.project(config.gitlab.requests_projects[0].path)
    assert project is not None
    item, username = ROUTE[box]
    user = store.user_named(username)
    assert user is not None
    for n, issue in enumerate(list(project.issues.values())):
        ticks = MIX[n % len(MIX)][1]
        if ticks is not None and ticks > box:
            text = issue.description.replace(f"- [ ] {item}", f"- [x] {item}", 1)
            store.update_issue(project, issue, user, {"description": text})


def settle(pool: Any, sandbox: Sandbox, config: Config, config_path: Path) -> datetime:
    """Run the bot over the new requests, then once after each round of approvals, as in an
    organisation where it has been running for a while; returns the time of the last run."""
    now = START
    measure(pool, sandbox, config_path, now, READERS)
    for box in range(len(ROUTE)):
        now += timedelta(hours=1)
        sandbox.set_now(now)
        tick_round(sandbox, config, box)
        measure(pool, sandbox, config_path, now, READERS)
    return now


def states(sandbox: Sandbox, config: Config) -> dict[str, int]:
    """How many requests are in each state once settled (from their state labels)."""
    project = sandbox.store.project(config.gitlab.requests_projects[0].path)
    assert project is not None
    found: Counter[str] = Counter()
    for issue in project.issues.values():
        for state in State:
            if config.labels.state(state) in issue.labels:
                found[state.value] += 1
    return dict(sorted(found.items()))


def read_snapshots(sandbox: Sandbox, config: Config, now: datetime) -> list[IssueSnapshot]:
    """Every settled request as the bot reads it (no latency yet), for :func:`decide_10k`."""
    gitlab = GitLab.connect(sandbox.url, sandbox.token("exception-bot"))
    ctx = context(gitlab, config, now)
    path = config.gitlab.requests_projects[0].path
    return [
        gitlab.snapshot(IssueRef(path, int(attrs["iid"])), attrs, links=needs_links(attrs, ctx))
        for attrs in gitlab.open_requests(path, config.labels.intake)
    ]


def decide_10k(
    snapshots: list[IssueSnapshot], ctx: Context, count: int = 10_000
) -> tuple[float, float]:
    """Seconds for the pure core to decide ``count`` parsed requests (the settled ones, again
    and again under new numbers), and apart from that, seconds to parse their descriptions."""
    many = [
        replace(snapshots[n % len(snapshots)], iid=n + 1, title=f"Exception {n}")
        for n in range(count)
    ]
    parse = parse_body.__wrapped__  # the Markdown parse itself, not its cache
    started = time.perf_counter()
    for snapshot in many:
        parse(snapshot.description)
    parsing = time.perf_counter() - started
    for snapshot in snapshots:
        parse_body(snapshot.description)  # parsed: in the cache decide reads it from
    started = time.perf_counter()
    for snapshot in many:
        decide(snapshot, ctx)
    return round(time.perf_counter() - started, 3), round(parsing, 3)


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
    # The targets compare runs with no rate cap; the settling runs post a note per request,
    # which the default 60 notes a minute would spread over many minutes.
    data["limits"] = {**data.get("limits", {}), **UNCAPPED}
    plain.write_text(yaml.safe_dump(data))
    stateful.write_text(yaml.safe_dump({**data, "state_file": str(work / "state.json")}))
    figures: dict[str, Any] = {"n": args.n, "latency_ms": args.latency_ms}
    with (
        multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool,
        Sandbox(DEMO) as sandbox,
    ):
        seed(sandbox, config, args.n)
        now = settle(pool, sandbox, config, plain) + timedelta(hours=1)
        figures["states"] = states(sandbox, config)
        snapshots = read_snapshots(sandbox, config, now)
        sandbox.latency(args.latency_ms / 1000)
        figures["cold"] = measure(pool, sandbox, stateful, now, READERS)
        figures["warm"] = measure(pool, sandbox, stateful, now + timedelta(minutes=15), READERS)
        figures["naive_cold"] = measure(pool, sandbox, plain, now + timedelta(minutes=30), 1)
        figures["naive_warm"] = measure(pool, sandbox, plain, now + timedelta(minutes=45), 1)
        ctx = context(GitLab.connect(sandbox.url, sandbox.token("exception-bot")), config, now)
    figures["decide_10k_s"], figures["parse_10k_s"] = decide_10k(snapshots, ctx)
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
    print(f"decide 10k parsed requests: {figures['decide_10k_s']} s", end="; ")
    print(f"parse their descriptions: {figures['parse_10k_s']} s")
    print("settled states:", json.dumps(figures["states"]))
    print("ratios:", json.dumps(figures["ratios"]))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"written: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
