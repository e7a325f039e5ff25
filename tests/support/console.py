"""The real ``exception-bot`` console script, run as a user runs it: a process of its own,
its exit code, its two streams, and how long it took."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("exception-bot")
ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "exception-bot.yml"


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def errors(self) -> list[str]:
        """The ``error:`` lines on stderr."""
        return [line for line in self.err.splitlines() if line.startswith("error: ")]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without the variables that would point the bot elsewhere."""
    skip = ("GITLAB_", "CI_", "EXCEPTION_BOT_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(skip)}
    env.pop("CI", None)
    return {**env, **(extra or {})}


def consoles(
    commands: Sequence[Sequence[str]], env: Mapping[str, str] | None = None, timeout: float = 60
) -> list[Ran]:
    """Several commands at once (each a process of its own), for tests that try many."""
    started = time.monotonic()
    running = [
        subprocess.Popen(  # noqa: S603 - our own command, arguments from the tests
            [str(SCRIPT), *args],
            env=clean_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    done = []
    for process in running:
        out, err = process.communicate(timeout=timeout)
        done.append(Ran(process.returncode, out, err, time.monotonic() - started))
    return done


def console(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> Ran:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own command, arguments from the tests
        [str(SCRIPT), *args],
        env=clean_env(env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
