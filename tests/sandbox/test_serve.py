"""``exception-bot sandbox serve``: a real process serving the demo company until Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import gitlab


def test_serve_prints_url_and_tokens_and_stops_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "exception_bot", "sandbox", "serve", "--port", "0"]
    # S603: our own command with fixed arguments
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as served:  # noqa: S603
        assert served.stdout is not None
        lines = [served.stdout.readline() for _ in range(4)]
        try:
            found = re.search(r"Sandbox GitLab at (http://127\.0\.0\.1:\d+)", lines[0])
            assert found is not None, lines
            tokens = dict(line.split() for line in lines[2:] if line.startswith("  "))
            bot = gitlab.Gitlab(found.group(1), private_token=tokens["exception-bot"])
            bot.auth()
            assert bot.user is not None
            assert bot.user.username == "exception-bot"
        finally:
            served.send_signal(signal.SIGINT)
            rest, _ = served.communicate(timeout=10)
    assert served.returncode == 0
    assert "stopping" in rest


def test_serve_refuses_a_seed_it_cannot_read(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "exception_bot", "sandbox", "serve", "--port", "0"]
    bad = tmp_path / "seed.yml"
    bad.write_text("projects: [{path: a/b, members: {ghost: developer}}]\n", encoding="utf-8")
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [*command, "--seed", str(bad)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert "ghost" in done.stderr
