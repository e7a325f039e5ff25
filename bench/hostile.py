"""How long the pure core takes on the most hostile bodies a requester may send.

For each class of tests/hostile.py (the longest request the bot reads: 100,000 characters, or
1,000 lines for a unit that breaks lines, made of one long run of a unit,
bare and between two letters, in each field with a path of its own), the time to parse the
description and decide the request, which validates it and renders the bot's notes; reported
is the slowest body of each class, next to an ordinary request. Each body is timed best of
``--repeat`` (the machine is shared), with the parse cache emptied before every try.

Targets: under 50 ms for the slowest hostile body of each class, under 2 ms for the ordinary.

Run: python bench/hostile.py [--json bench/latest.json]  (bench/run.py includes it too)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the catalogue of hostile bodies lives with the tests

from exception_bot.config import load_config  # noqa: E402
from exception_bot.demo import request_body  # noqa: E402
from exception_bot.domain.fields import MAX_DESCRIPTION_LINES, parse_body  # noqa: E402
from exception_bot.domain.model import IssueSnapshot, LabelAction, LabelEvent, User  # noqa: E402
from exception_bot.domain.people import Directory  # noqa: E402
from exception_bot.domain.review import decide  # noqa: E402
from exception_bot.domain.review.context import Context  # noqa: E402
from exception_bot.domain.settings import Config  # noqa: E402
from exception_bot.render import TEMPLATES  # noqa: E402
from tests.hostile import hostile_bodies  # noqa: E402

CONFIG = ROOT / "config" / "exception-bot.yml"
OPENED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REQUESTER = User(2, "bob")
BOT = User(1, "exception-bot")
TARGET_HOSTILE_MS = 50.0
TARGET_ORDINARY_MS = 2.0


def snapshot(description: str) -> IssueSnapshot:
    """A request just opened from the template, as the bot first reads it."""
    labels = ("ExceptionRequest", "exception::submitted")
    return IssueSnapshot(
        project="security/exceptions",
        iid=1,
        title="Exception request",
        web_url="https://gitlab.example.com/security/exceptions/-/issues/1",
        author=REQUESTER,
        description=description,
        labels=frozenset(labels),
        assignees=(),
        created_at=OPENED,
        updated_at=OPENED,
        state="opened",
        confidential=True,
        notes=(),
        label_events=tuple(
            LabelEvent(n, REQUESTER, label, LabelAction.ADD, OPENED)
            for n, label in enumerate(labels, start=1)
        ),
    )


@dataclass(frozen=True)
class Timing:
    """Best-of-n seconds to parse a description, and to parse and decide it."""

    parse_s: float
    total_s: float


def time_body(ctx: Context, description: str, repeat: int) -> Timing:
    issue = snapshot(description)
    parse_best = total_best = float("inf")
    for _ in range(repeat):
        parse_body.cache_clear()
        started = time.perf_counter()
        parse_body(description)
        parsed = time.perf_counter()
        decide(issue, ctx)
        done = time.perf_counter()
        parse_best = min(parse_best, parsed - started)
        total_best = min(total_best, done - started)
    return Timing(parse_best, total_best)


def measure_hostile(config: Config, repeat: int = 3) -> dict[str, Any]:
    """The figures for bench/latest.json's ``hostile_parse``: milliseconds per class (its
    slowest body: the field and whether wrapped) and for the ordinary request."""
    ctx = Context(config, Directory({}), BOT, OPENED + timedelta(minutes=5), TEMPLATES)
    worst: dict[str, dict[str, Any]] = {}
    for body in hostile_bodies(config):
        timing = time_body(ctx, body.description, repeat)
        if body.name not in worst or timing.total_s * 1000 > worst[body.name]["total_ms"]:
            worst[body.name] = {
                "total_ms": round(timing.total_s * 1000, 2),
                "parse_ms": round(timing.parse_s * 1000, 2),
                "field": body.field,
                "wrapped": body.wrapped,
            }
    ordinary = time_body(ctx, request_body(config, {}), repeat * 10)
    slowest = max(worst, key=lambda name: worst[name]["total_ms"])
    return {
        "chars": len(next(hostile_bodies(config)).description),
        "ordinary_ms": round(ordinary.total_s * 1000, 3),
        "slowest_class": slowest,
        "slowest_ms": worst[slowest]["total_ms"],
        "over_target": sorted(n for n, w in worst.items() if w["total_ms"] > TARGET_HOSTILE_MS),
        "classes": dict(sorted(worst.items(), key=lambda kv: -float(kv[1]["total_ms"]))),
    }


def report(figures: dict[str, Any]) -> None:
    """Print the slowest classes and the verdict against the targets."""
    print(
        f"hostile bodies of up to {figures['chars']:,} characters and {MAX_DESCRIPTION_LINES:,}"
        " lines, parse + decide (best of n):"
    )
    for name, row in list(figures["classes"].items())[:8]:
        where = f"{row['field']}{', wrapped' if row['wrapped'] else ''}"
        print(f"  {name:<22} {row['total_ms']:>8.2f} ms  (parse {row['parse_ms']} ms; {where})")
    print(f"  ... {len(figures['classes'])} classes; ordinary request {figures['ordinary_ms']} ms")
    over = figures["over_target"]
    verdict = f"over {TARGET_HOSTILE_MS:g} ms: {', '.join(over)}" if over else "all within target"
    print(f"  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="update hostile_parse in it")
    args = parser.parse_args()
    figures = measure_hostile(load_config(CONFIG), args.repeat)
    report(figures)
    if args.json:
        data = json.loads(args.json.read_text()) if args.json.exists() else {}
        data["hostile_parse"] = figures
        args.json.write_text(json.dumps(data, indent=2) + "\n")
        print(f"written: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
