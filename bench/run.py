"""How much a run costs: API requests, wall time and memory, for the bot and a naive baseline.

The sandbox GitLab runs in this process (with a per-request latency); each measured run is the
real bot in a fresh child process, talking to it over HTTP, with no rate cap. Before measuring,
the requests are settled as in an organisation where the bot has been running for a while: the
bot has run over them after each round of approvals, so they stand at every place of their
route, some wait for their requester and some are approved, registered and active (``MIX``).

- cold: the first run without a state file (8 reading threads, the runner's default);
- warm: the next run, nothing changed since, with the state file the cold run wrote;
- naive_cold / naive_warm: the same bot with the state file off and a single reading thread;
- decide_10k_s: the pure core deciding 10,000 parsed requests (the settled ones, over again),
  with the Markdown parse of their descriptions timed apart as parse_10k_s;
- hostile_parse: parse and decide of the slowest 100,000-character hostile body of each class
  and of an ordinary request (bench/hostile.py; ``--hostile-only`` runs just this one).

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from hostile import measure_hostile, report

from exception_bot.config import load_config
from exception_bot.demo import request_body
from exception_bot.domain.actions import IssueRef
from exception_bot.domain.fields import parse_body
from exception_bot.domain.model import IssueSnapshot, State, User
from exception_bot.domain.people import Directory
from exception_bot.domain.review import decide
from exception_bot.domain.review.context import Context
from exception_bot.domain.settings import Config
from exception_bot.gitlab import GitLab
from exception_bot.render import TEMPLATES
from exception_bot.runner import READ_WORKERS, context, needs_links, run_once
from exception_bot.sandbox import DEMO, Sandbox

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "exception-bot.yml"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
UNCAPPED = {"requests_per_minute": 1_000_000, "notes_per_minute": 1_000_000}


def phase(url: str, token: str, config: str, now: str, workers: int) -> dict[str, Any]:
    """One bot run in this (child) process: its summary, wall time and peak RSS."""
    cfg = load_config(Path(config))
    gitlab = GitLab.connect(url, token)
    started = time.perf_counter()
    summary = run_once(gitlab, cfg, datetime.fromisoformat(now), workers=workers)
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "summary": summary.line(),
        "failed": summary.failed,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory. On Linux from /proc (VmHWM): ``ru_maxrss`` of a
    spawned child carries over the parent's size at the fork before the exec, here the
    sandbox's whole store."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    pool: Any, sandbox: Sandbox, config: Path, now: datetime, workers: int
) -> dict[str, Any]:
    # GitLab's clock moves with the bot's: a run reads issues as of its own time, so one the
    # last run left within the throttle window is settled by the next (state.settled).
    sandbox.set_now(now)
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
# the right people). None: a field left empty, so the request waits for its requester. High
# requests get one box at most: their second stage has other approvers than ROUTE's.
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
    """``n`` new requests by bob, in ``MIX``'s order (the bot has not seen them yet)."""
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
    measure(pool, sandbox, config_path, now, READ_WORKERS)
    for box in range(len(ROUTE)):
        now += timedelta(hours=1)
        sandbox.set_now(now)
        tick_round(sandbox, config, box)
        measure(pool, sandbox, config_path, now, READ_WORKERS)
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


def read_snapshots(sandbox: Sandbox, config: Config, now: datetime) -> Decisions:
    """Every settled request as the bot reads it (no latency yet), and what the bot knows
    before reading any, for :func:`decide_10k`."""
    gitlab = GitLab.connect(sandbox.url, sandbox.token("exception-bot"))
    ctx = context(gitlab, config, now)
    path = config.gitlab.requests_projects[0].path
    snapshots = [
        gitlab.snapshot(IssueRef(path, int(attrs["iid"])), attrs, links=needs_links(attrs, ctx))
        for attrs in gitlab.open_requests(path, config.labels.intake)
    ]
    members = {group: ctx.directory.members(group) for group in ctx.directory.group_members}
    return Decisions(snapshots, members, ctx.bot, now)


@dataclass(frozen=True)
class Decisions:
    """What :func:`decide_10k` decides on, sent to a fresh process."""

    snapshots: list[IssueSnapshot]
    members: dict[str, frozenset[str]]
    bot: User
    now: datetime


def decide_10k(config: str, work: Decisions, count: int = 10_000) -> tuple[float, float]:
    """Seconds for the pure core to decide ``count`` parsed requests (the settled ones, again
    and again), and apart from that, seconds to parse their descriptions.

    Run in a child process, as the bot runs: in this one, the sandbox's objects would make
    every garbage collection slower.
    """
    ctx = Context(load_config(Path(config)), Directory(work.members), work.bot, work.now, TEMPLATES)
    # A copy under another number would not be a settled request: its register entry, for
    # one, would have to be rewritten.
    many = [work.snapshots[n % len(work.snapshots)] for n in range(count)]
    parse = parse_body.__wrapped__  # the parse itself, whether or not its answer is cached
    parsing = deciding = 0.0
    for snapshot in many:
        started = time.perf_counter()
        parse(snapshot.description)
        parsing += time.perf_counter() - started
        parse_body(snapshot.description)  # parsed: into the cache decide reads bodies from
        started = time.perf_counter()
        decide(snapshot, ctx)
        deciding += time.perf_counter() - started
    return round(deciding, 3), round(parsing, 3)


def hostile_parse(config: str) -> dict[str, Any]:
    """bench/hostile.py's figures, in a child process (a Config does not pickle)."""
    return measure_hostile(load_config(Path(config)))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--hostile-only", action="store_true", help="only hostile_parse")
    args = parser.parse_args()
    config = load_config(CONFIG)
    if args.hostile_only:
        hostile = measure_hostile(config)
        report(hostile)
        if args.json:
            data = json.loads(args.json.read_text()) if args.json.exists() else {}
            args.json.write_text(json.dumps({**data, "hostile_parse": hostile}, indent=2) + "\n")
        return
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
        decisions = read_snapshots(sandbox, config, now)
        sandbox.latency(args.latency_ms / 1000)
        figures["cold"] = measure(pool, sandbox, stateful, now, READ_WORKERS)
        figures["warm"] = measure(
            pool, sandbox, stateful, now + timedelta(minutes=15), READ_WORKERS
        )
        figures["naive_cold"] = measure(pool, sandbox, plain, now + timedelta(minutes=30), 1)
        figures["naive_warm"] = measure(pool, sandbox, plain, now + timedelta(minutes=45), 1)
        figures["decide_10k_s"], figures["parse_10k_s"] = pool.apply(
            decide_10k, (str(plain), decisions)
        )
        figures["hostile_parse"] = pool.apply(hostile_parse, (str(plain),))
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
    report(figures["hostile_parse"])
    if args.json:
        # Other benchmarks' keys in the file (bench/webhooks.py's "webhooks") are kept.
        kept = json.loads(args.json.read_text()) if args.json.exists() else {}
        args.json.write_text(json.dumps({**kept, **figures}, indent=2) + "\n")
        print(f"written: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
