"""How fast ``serve`` reacts, through the sandbox's own webhook deliveries.

The sandbox GitLab runs in this process with a per-request latency; the bot is the real
``exception-bot serve`` command in a process of its own (its memory measured alone), with a
project hook on the requests project pointing at it. Three phases, each on a fresh sandbox:

- latency: ``--issues`` requests (50), each approver ticks their box in turn, ``--ticks``
  ticks (200) one every ``--tick-every`` seconds spread over the requests; reaction time is
  from the tick's API call returning to the next stage's label on the issue (the last stage:
  the approved label), p50 and p95. The goal: p95 under 3 s at 20 ms latency.
- burst: ``--burst-events`` comments (2,000) on ``--burst-issues`` requests (500) in
  ``--burst-seconds`` (10), from 16 threads: every delivery answered, every issue read by the
  bot after its last comment (no event lost), runs per issue, the service's peak memory, the
  bot's API requests per event.
- drops: the latency phase's route with 10% of the deliveries lost (the sandbox's drop switch)
  and a full pass every ``--every`` seconds: the time from the last tick until every request
  is approved, as the faultless phase leaves them, against one interval.

The bot's writes are uncapped (``limits``), as in bench/run.py: 200 ticks in 20 s ask for 200
notes, which the default 60 notes a minute would spread over minutes.

Run: python bench/webhooks.py --json bench/latest.json (merged into the file's other keys)
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import gitlab
import requests
import yaml

from exception_bot.config import load_config
from exception_bot.demo import request_body
from exception_bot.domain.settings import Config
from exception_bot.sandbox import DEMO, Sandbox
from exception_bot.webhook_setup import HOOK_EVENTS

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "exception-bot.yml"
UNCAPPED = {"requests_per_minute": 1_000_000, "notes_per_minute": 1_000_000}
SECRET = "bench-webhook-secret"  # noqa: S105 - a loopback benchmark's secret
BOT = "exception-bot"
ROUTE = (  # the Low route of config/exception-bot.yml: each box and who ticks it
    ("Department head approval", "carol"),
    ("Security team approval", "victor"),
    ("Policy owner approval", "erin"),
    ("Security Compliance review", "sue"),
)
_NOTES_READ = re.compile(r"^/api/v4/projects/[^/]+/issues/(\d+)/notes$")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def served(sandbox: Sandbox, config: Path, every: str, log: Path) -> Iterator[tuple[str, int]]:
    """``exception-bot serve`` in its own process, healthy (its first full pass done), with
    the requests project's hook pointing at it; yields its URL and process id."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GITLAB_URL": sandbox.url,
        "GITLAB_TOKEN": sandbox.token(BOT),
        "EXCEPTION_BOT_WEBHOOK_SECRET": SECRET,
    }
    words = ["serve", "--port", str(port), "--every", every, "--config", str(config)]
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "exception_bot", *words], stdout=out, stderr=out, env=env
        )
        try:
            wait_for(lambda: healthy(url), 600, f"serve did not become healthy: see {log}")
            sandbox.allow_local_webhooks()
            admin = gitlab.Gitlab(sandbox.url, private_token=sandbox.token(BOT))
            hook = {"url": f"{url}/webhook", "token": SECRET, **HOOK_EVENTS}
            admin.projects.get("security/exceptions", lazy=True).hooks.create(hook)
            yield url, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def wait_for(check: Callable[[], bool], timeout: float, why: str) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise SystemExit(why)
        time.sleep(0.01)


def metrics(url: str) -> dict[str, float]:
    """/metrics as {sample: value}."""
    found: dict[str, float] = {}
    for line in requests.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def seed(sandbox: Sandbox, config: Config, count: int) -> list[int]:
    """``count`` new Low requests by bob, made in the store (no hook is registered yet)."""
    store = sandbox.store
    project = store.project("security/exceptions")
    bob = store.user_named("bob")
    assert project is not None
    assert bob is not None
    made = []
    for n in range(count):
        body = request_body(config, {"Summary": f"Exception {n}", "Risk level": "Low"})
        made.append(store.create_issue(project, bob, f"Exception {n}", body).iid)
    return made


def stage_of(sandbox: Sandbox, iid: int) -> str:
    """The request's stage label, or its state label once it has no stage."""
    with sandbox.app.lock:
        labels = list(sandbox.issue("security/exceptions", iid).labels)
    stages = [n for n in labels if n.startswith("exception-stage::")]
    return stages[0] if stages else next(n for n in labels if n.startswith("exception::"))


class Watcher:
    """Polls the store for each ticked issue's next label: the reaction times."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.pending: dict[int, tuple[str, float]] = {}
        self.reactions: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def expect(self, iid: int, before: str, since: float) -> None:
        with self.lock:
            self.pending[iid] = (before, since)

    def _poll(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                waiting = list(self.pending.items())
            for iid, (before, since) in waiting:
                if stage_of(self.sandbox, iid) != before:
                    now = time.monotonic()
                    with self.lock:
                        del self.pending[iid]
                        self.reactions.append(now - since)
            time.sleep(0.005)

    def reacted(self, iid: int) -> bool:
        with self.lock:
            return iid not in self.pending

    def drain(self, timeout: float) -> int:
        """Wait for every pending reaction; the number still missing after ``timeout``."""
        end = time.monotonic() + timeout
        while self.pending and time.monotonic() < end:
            time.sleep(0.01)
        self.stop.set()
        return len(self.pending)


def tick_route(
    sandbox: Sandbox, iids: list[int], ticks: int, every: float, watcher: Watcher
) -> None:
    """``ticks`` ticks, one every ``every`` seconds, each the next box of the next request in
    turn, by its approver through the API; a request is ticked again once the bot has moved
    it on (its next box is offered)."""
    boxes = dict.fromkeys(iids, 0)
    order = [iid for _ in ROUTE for iid in iids][:ticks]
    start = time.monotonic()
    for n, iid in enumerate(order):
        time.sleep(max(0.0, start + n * every - time.monotonic()))
        wait_for(partial(watcher.reacted, iid), 60, f"#{iid}: no reaction")
        before = stage_of(sandbox, iid)
        watcher.expect(iid, before, tick_one(sandbox, iid, boxes[iid]))
        boxes[iid] += 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def latency_phase(
    args: argparse.Namespace, config: Config, path: Path, work: Path
) -> dict[str, Any]:
    with Sandbox(DEMO) as sandbox:
        iids = seed(sandbox, config, args.issues)
        with served(sandbox, path, "1h", work / "latency.log") as (url, _pid):
            sandbox.latency(args.latency_ms / 1000)
            watcher = Watcher(sandbox)
            tick_route(sandbox, iids, args.ticks, args.tick_every, watcher)
            missing = watcher.drain(60)
            seen = metrics(url)
        reactions = watcher.reactions
    return {
        "issues": args.issues,
        "ticks": args.ticks,
        "tick_every_s": args.tick_every,
        "reacted": len(reactions),
        "missing": missing,
        "p50_s": round(statistics.median(reactions), 3),
        "p95_s": round(percentile(reactions, 0.95), 3),
        "max_s": round(max(reactions), 3),
        "full_passes": int(seen.get("exception_bot_full_pass_seconds_count", 0)),
    }


def comment_burst(
    sandbox: Sandbox, iids: list[int], events: int, seconds: float
) -> dict[int, float]:
    """``events`` comments by bob, spread evenly over ``seconds``, on the issues in random
    order (each gets events / len(iids)); returns each issue's last comment's time."""
    rng = random.Random(24)  # noqa: S311 - a repeatable order of comments
    order = [iids[n % len(iids)] for n in range(events)]
    rng.shuffle(order)
    local = threading.local()
    last: dict[int, float] = {}
    lock = threading.Lock()
    start = time.monotonic()

    def comment(n: int) -> None:
        if not hasattr(local, "gl"):
            local.gl = gitlab.Gitlab(sandbox.url, private_token=sandbox.token("bob"))
        time.sleep(max(0.0, start + n * seconds / events - time.monotonic()))
        iid = order[n]
        issue = local.gl.projects.get("security/exceptions", lazy=True).issues.get(iid, lazy=True)
        issue.notes.create({"body": f"burst comment {n}"})
        with lock:
            last[iid] = max(last.get(iid, 0.0), time.monotonic())

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(comment, range(events)))
    return last


class LogClock:
    """When each of the sandbox's logged requests was answered, to 10 ms: the log has no
    times, so a thread samples its length."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.samples: list[tuple[int, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.samples.append((len(self.sandbox.app.log), time.monotonic()))
            time.sleep(0.01)

    def time_of(self, index: int) -> float:
        """The first sample that saw the log longer than ``index``."""
        lengths = [n for n, _ in self.samples]
        return self.samples[min(bisect.bisect_right(lengths, index), len(lengths) - 1)][1]


def most_in_a_window(times: list[float], window: float) -> int:
    """The most of ``times`` that fall in any half-open span of ``window`` seconds."""
    ordered = sorted(times)
    most = 0
    for n, start in enumerate(ordered):
        most = max(most, bisect.bisect_left(ordered, start + window) - n)
    return most


def burst_phase(args: argparse.Namespace, config: Config, path: Path, work: Path) -> dict[str, Any]:
    with Sandbox(DEMO) as sandbox:
        iids = seed(sandbox, config, args.burst_issues)
        with served(sandbox, path, "1h", work / "burst.log") as (url, pid):
            sandbox.latency(args.latency_ms / 1000)
            before = metrics(url)
            log_start = len(sandbox.requests)
            clock = LogClock(sandbox)
            started = time.monotonic()
            comment_burst(sandbox, iids, args.burst_events, args.burst_seconds)
            sent = time.monotonic() - started
            sandbox.wait_for_deliveries(60)
            wait_for(lambda: metrics(url)["exception_bot_queue_depth"] == 0, 300, "no drain")
            time.sleep(1.0)  # the last batch's run
            wait_for(lambda: metrics(url)["exception_bot_queue_depth"] == 0, 300, "no drain")
            drained = time.monotonic() - started
            after = metrics(url)
            rss = peak_rss_mb(pid)
            clock.stop.set()
            log = sandbox.requests[log_start:]
            deliveries = [d for d in sandbox.deliveries if d.event.endswith("Note Hook")]
    runs = Counter(
        int(m.group(1))
        for r in log
        if r.username == BOT and r.method == "GET" and (m := _NOTES_READ.match(r.path))
    )
    # Log order is the order answers were given: a bot read of an issue's notes answered after
    # its last comment's answer saw that comment.
    last_comment = {}
    last_read = {}
    for n, r in enumerate(log):
        found = _NOTES_READ.match(r.path)
        if found is None:
            continue
        iid = int(found.group(1))
        if r.method == "POST" and r.username == "bob":
            last_comment[iid] = n
        elif r.method == "GET" and r.username == BOT:
            last_read[iid] = n
    unseen = [iid for iid, n in last_comment.items() if last_read.get(iid, -1) < n]
    read_times: dict[int, list[float]] = {}
    for n, r in enumerate(log):
        found = _NOTES_READ.match(r.path)
        if found is not None and r.method == "GET" and r.username == BOT:
            read_times.setdefault(int(found.group(1)), []).append(clock.time_of(log_start + n))
    window = args.burst_seconds
    in_a_window = max((most_in_a_window(t, window) for t in read_times.values()), default=0)
    bot_requests = sum(1 for r in log if r.username == BOT)
    queued = sum(
        after.get(k, 0) - before.get(k, 0)
        for k in (
            'exception_bot_webhook_queued_total{how="new"}',
            'exception_bot_webhook_queued_total{how="coalesced"}',
        )
    )
    per_issue = list(runs.values())
    return {
        "issues": args.burst_issues,
        "events": args.burst_events,
        "sent_in_s": round(sent, 2),
        "drained_in_s": round(drained, 2),
        "deliveries": len(deliveries),
        "deliveries_answered_2xx": sum(1 for d in deliveries if d.ok),
        "queued": int(queued),
        "issues_not_read_after_their_last_comment": len(unseen),
        "runs": sum(per_issue),
        "issues_run": len(per_issue),
        "runs_per_issue_max": max(per_issue, default=0),
        "runs_per_issue_mean": round(statistics.mean(per_issue), 2) if per_issue else 0,
        "issues_run_once": sum(1 for v in per_issue if v == 1),
        "window_s": window,
        "most_runs_of_one_issue_in_a_window": in_a_window,
        "bot_api_requests": bot_requests,
        "api_requests_per_event": round(bot_requests / args.burst_events, 2),
        "service_peak_rss_mb": round(rss, 1),
    }


def drop_phase(args: argparse.Namespace, config: Config, path: Path, work: Path) -> dict[str, Any]:
    with Sandbox(DEMO) as sandbox:
        iids = seed(sandbox, config, args.issues)
        every = f"{args.every}s"
        with served(sandbox, path, every, work / "drops.log") as (url, _pid):
            sandbox.latency(args.latency_ms / 1000)
            sandbox.webhook_faults(drop=args.drop, seed=24)
            # each request's route in full: a tick waits for the bot to offer the next box
            approved = "exception::approved"
            last = 0.0
            for box in range(len(ROUTE)):
                for iid in iids:
                    if box:  # the bot offered the box: the previous one's tick was seen
                        wait_for(
                            partial(_moved_on, sandbox, iid, box),
                            3 * args.every + 60,
                            f"#{iid} never left stage {box}",
                        )
                    last = tick_one(sandbox, iid, box)
            wait_for(
                lambda: all(stage_of(sandbox, i) == approved for i in iids),
                2 * args.every + 120,
                "not every request was approved",
            )
            healed = time.monotonic() - last
            dropped = sum(1 for d in sandbox.deliveries if d.dropped)
            seen = metrics(url)
    passes = int(seen.get("exception_bot_full_pass_seconds_count", 0))
    pass_s = seen.get("exception_bot_full_pass_seconds_sum", 0.0) / max(1, passes)
    return {
        "issues": args.issues,
        "drop": args.drop,
        "full_pass_every_s": args.every,
        "deliveries_dropped": dropped,
        "all_approved_after_last_tick_s": round(healed, 2),
        "full_passes": passes,
        "full_pass_mean_s": round(pass_s, 2),
        # A tick lost just after a pass read its request waits for the next pass: an interval
        # (the schedule counts it from the end of a pass) and that pass's time to reach it.
        "within_one_interval_and_a_pass": healed <= args.every + pass_s,
    }


def _moved_on(sandbox: Sandbox, iid: int, box: int) -> bool:
    """Whether the request left the stage of box ``box - 1``."""
    stages = ("department-head", "security-team", "policy-owner", "security-compliance")
    return stage_of(sandbox, iid) != f"exception-stage::{stages[box - 1]}"


_CLIENTS: dict[str, gitlab.Gitlab] = {}


def tick_one(sandbox: Sandbox, iid: int, box: int) -> float:
    item, user = ROUTE[box]
    key = f"{sandbox.url} {user}"  # each phase has a sandbox of its own
    if key not in _CLIENTS:
        _CLIENTS[key] = gitlab.Gitlab(sandbox.url, private_token=sandbox.token(user))
    issue = _CLIENTS[key].projects.get("security/exceptions", lazy=True).issues.get(iid)
    issue.description = issue.description.replace(f"- [ ] {item}", f"- [x] {item}", 1)
    issue.save()
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--issues", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--tick-every", type=float, default=0.5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--burst-issues", type=int, default=500)
    parser.add_argument("--burst-events", type=int, default=2000)
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--drop", type=float, default=0.1)
    parser.add_argument("--every", type=int, default=30, help="full-pass interval, seconds")
    parser.add_argument("--phases", default="latency,burst,drops")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    config = load_config(CONFIG)
    work = Path(tempfile.mkdtemp(prefix="exception-bot-webhooks-"))
    data = yaml.safe_load(CONFIG.read_text())
    data["limits"] = {**data.get("limits", {}), **UNCAPPED}
    path = work / "config.yml"
    path.write_text(yaml.safe_dump(data))
    phases = {"latency": latency_phase, "burst": burst_phase, "drops": drop_phase}
    figures: dict[str, Any] = {"latency_ms": args.latency_ms}
    for name in args.phases.split(","):
        started = time.monotonic()
        figures[name] = phases[name](args, config, path, work)
        print(f"{name} ({time.monotonic() - started:.0f} s):", json.dumps(figures[name]))
    if args.json:
        data = json.loads(args.json.read_text()) if args.json.exists() else {}
        merged = {**data.get("webhooks", {}), **figures}
        args.json.write_text(json.dumps({**data, "webhooks": merged}, indent=2) + "\n")
        print(f"written: {args.json} (key webhooks)", file=sys.stderr)


if __name__ == "__main__":
    main()
