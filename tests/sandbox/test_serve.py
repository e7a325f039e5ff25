"""``exception-bot sandbox serve``: a real process serving the demo company until Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gitlab

SERVE = [sys.executable, "-m", "exception_bot", "sandbox", "serve", "--port", "0"]
# The console script next to this Python, as an installed bot runs it.
SCRIPT = Path(sys.executable).with_name("exception-bot")


@contextmanager
def served(folder: Path) -> Iterator[list[str]]:
    """What ``sandbox serve`` printed until it was ready, run from ``folder``; stopped after."""
    # S603: our own command with fixed arguments
    with subprocess.Popen(  # noqa: S603
        SERVE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder
    ) as process:
        assert process.stdout is not None
        out = process.stdout
        said: queue.Queue[str] = queue.Queue()
        # a thread reads, so that a serve that never says it is ready fails the test, not hangs

        def read() -> None:
            for line in iter(out.readline, ""):
                said.put(line)

        reader = threading.Thread(target=read)
        reader.start()
        lines: list[str] = []
        try:
            while not lines or lines[-1] != "Ctrl-C stops it.":
                lines.append(said.get(timeout=30).rstrip("\n"))
            yield lines
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=10)
            reader.join(timeout=10)
        assert process.returncode == 0
        rest = []
        while not said.empty():
            rest.append(said.get())
        assert "stopping\n" in rest


def test_serve_prints_url_and_tokens_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with served(tmp_path) as lines:
        found = re.search(r"Sandbox GitLab at (http://127\.0\.0\.1:\d+)", lines[0])
        assert found is not None, lines
        users = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ")}
        bot = gitlab.Gitlab(found.group(1), private_token=users["exception-bot"][0])
        bot.auth()
        assert bot.user is not None
        assert bot.user.username == "exception-bot"


def test_serve_names_each_users_role(tmp_path: Path) -> None:
    with served(tmp_path) as lines:
        roles = {
            words[0]: " ".join(words[2:])
            for words in (line.split() for line in lines if line.startswith("  "))
            if len(words) > 2 and words[1].startswith("glpat-")
        }
    assert roles["exception-bot"] == "the bot (gitlab.bot_user)"
    assert roles["carol"] == "Department Head for finance"
    assert roles["sue"] == "Security Compliance"
    # a member of the parent group `security` is not introduced as Security Compliance
    assert roles["sam"] == "Department Head for sales and Security Team"
    assert roles["bob"] == "no role: may open requests"


def test_the_printed_run_command_works_as_printed(tmp_path: Path) -> None:
    """Pasted into a shell in an empty folder: the default config the package ships fits the
    demo company, and the token is the bot's."""
    with served(tmp_path) as lines:
        (command,) = [line.strip() for line in lines if line.strip().endswith("exception-bot run")]
        *assignments, program, verb = shlex.split(command)
        env = {**os.environ, **dict(a.split("=", 1) for a in assignments)}
        assert set(env) >= {"GITLAB_URL", "GITLAB_TOKEN"}
        assert (program, verb) == ("exception-bot", "run")
        ran = subprocess.run(  # noqa: S603 - the console script, with the printed arguments
            [str(SCRIPT), verb], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
    assert ran.returncode == 0, ran.stderr
    assert "processed=0 changed=0 failed=0" in ran.stdout


def test_serve_refuses_a_seed_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "seed.yml"
    bad.write_text("projects: [{path: a/b, members: {ghost: developer}}]\n", encoding="utf-8")
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [*SERVE, "--seed", str(bad)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert "ghost" in done.stderr
