"""The architecture holds: the core is pure, one adapter imports `gitlab`, the CLI alone prints
and reads the clock, and the sandbox and the bot meet only in the CLI, lazily.

The rules and their exceptions, each with its reason, are in `tests/support/layers.py`. The
second half of this module writes small packages that break one rule each and checks that the
checker says so: a checker that finds nothing proves nothing until it is seen failing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.requests import ROOT
from tests.support.layers import violations


def test_the_package_keeps_its_layers() -> None:
    found = violations(ROOT)
    assert not found, "\n".join(
        ["The package breaks its layering (rules: tests/support/layers.py):", *found]
    )


def write(root: Path, files: dict[str, str]) -> Path:
    """A package ``exception_bot`` under ``root`` with these modules (path: source)."""
    for name, text in files.items():
        path = root / "exception_bot" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


# A package that keeps every rule, including each allowed exception, which each case below
# breaks in one way.
CLEAN = {
    "__init__.py": "",
    "domain/__init__.py": "",
    "domain/model.py": """
        import re
        from datetime import UTC, datetime
        from urllib.parse import quote

        from markdown_it import MarkdownIt

        from . import settings
        from exception_bot.domain.settings import Config

        def later(now: datetime) -> datetime:
            return now.astimezone(UTC)
    """,
    "domain/settings.py": "class Config: ...\n",
    "domain/register.py": "import yaml\n",
    "config.py": "import yaml\nimport holidays\nfrom exception_bot.domain.settings import Config\n",
    "gitlab/session.py": "import time\n\nimport gitlab\n\nwait = time.time()\n",
    "gitlab/__init__.py": "from gitlab.v4.objects import Project\n",
    "pacing.py": "import time\nclock = time.monotonic\n",
    "cli.py": """
        import sys
        from datetime import UTC, datetime

        import typer

        def demo() -> None:
            from exception_bot.demo import play
            from exception_bot.sandbox import Sandbox
            print(datetime.now(UTC), file=sys.stderr)
    """,
    "daemon.py": "import schedule\n",
    "demo.py": """
        from exception_bot.demo_summary import roster
        from exception_bot.runner import run
        from exception_bot.sandbox import Sandbox
    """,
    "demo_summary.py": """
        from exception_bot.domain.settings import Config
        from exception_bot.sandbox.store import Store
    """,
    "runner.py": "from exception_bot.domain.model import later\n",
    "sandbox/__init__.py": "from datetime import UTC, datetime\nclock = datetime.now(UTC)\n",
    "sandbox/store.py": "from exception_bot.sandbox import clock\n",
    "sandbox/cli.py": """
        import typer

        from exception_bot.config import load_config
        from exception_bot.sandbox.store import clock

        def serve() -> None:
            from exception_bot.demo_summary import roster
    """,
}


def test_a_package_that_keeps_the_rules_passes(tmp_path: Path) -> None:
    assert violations(write(tmp_path, CLEAN)) == []


BROKEN = [
    pytest.param(
        "domain/model.py",
        "from exception_bot.config import Config\n",
        "exception_bot/domain/model.py:1: the core imports exception_bot.config; the core imports "
        "nothing from the shell",
        id="core imports the shell",
    ),
    pytest.param(
        "domain/model.py",
        "from .. import config\n",
        "exception_bot/domain/model.py:1: the core imports exception_bot.config; the core "
        "imports nothing from the shell",
        id="core imports the shell, relatively",
    ),
    pytest.param(
        "domain/calendar.py",
        "import holidays\n",
        "exception_bot/domain/calendar.py:1: the core imports holidays; it imports only the "
        "standard library's pure modules and markdown_it: do this in the shell and pass the "
        "result in",
        id="core imports holidays",
    ),
    pytest.param(
        "domain/lint.py",
        "import yaml\n",
        "exception_bot/domain/lint.py:1: the core imports yaml; it imports only the standard "
        "library's pure modules and markdown_it: do this in the shell and pass the result in",
        id="core imports yaml outside the register",
    ),
    pytest.param(
        "domain/model.py",
        "from pathlib import Path\n",
        "exception_bot/domain/model.py:1: the core imports pathlib, which does I/O or reads the "
        "clock or environment",
        id="core imports pathlib",
    ),
    pytest.param(
        "domain/model.py",
        "def read() -> str:\n    import os\n    return os.environ['X']\n",
        "exception_bot/domain/model.py:2: the core imports os, which does I/O or reads the clock "
        "or environment",
        id="core imports os lazily",
    ),
    pytest.param(
        "domain/model.py",
        "def read(name: str) -> str:\n    with open(name) as f:\n        return f.read()\n",
        "exception_bot/domain/model.py:2: the core calls open(); the shell does I/O and passes "
        "values in",
        id="core opens a file",
    ),
    pytest.param(
        "domain/model.py",
        "import datetime\nNOW = datetime.datetime.now(datetime.UTC)\n",
        "exception_bot/domain/model.py:2: exception_bot.domain.model reads the clock "
        "(datetime.datetime.now); take `now` as an argument",
        id="core reads the clock",
    ),
    pytest.param(
        "runner.py",
        "from datetime import date\ntoday = date.today\n",
        "exception_bot/runner.py:2: exception_bot.runner reads the clock (date.today); take "
        "`now` as an argument",
        id="shell reads the clock, passing it on",
    ),
    pytest.param(
        "executor.py",
        "from time import monotonic\n",
        "exception_bot/executor.py:1: exception_bot.executor reads the clock (time.monotonic); "
        "take `now` as an argument",
        id="shell imports a clock",
    ),
    pytest.param(
        "gitlab/issues.py",
        "import time\nstarted = time.time()\n",
        "exception_bot/gitlab/issues.py:2: exception_bot.gitlab.issues reads the clock "
        "(time.time); take `now` as an argument",
        id="adapter reads the clock outside its session",
    ),
    pytest.param(
        "watcher.py",
        "import schedule\n",
        "exception_bot/watcher.py:1: exception_bot.watcher imports schedule, which reads the "
        "clock; only the CLI may",
        id="shell imports schedule",
    ),
    pytest.param(
        "runner.py",
        "import gitlab\n",
        "exception_bot/runner.py:1: exception_bot.runner imports gitlab; only the GitLab adapter "
        "imports `gitlab`",
        id="shell imports gitlab",
    ),
    pytest.param(
        "domain/people.py",
        "from requests import Session\n",
        "exception_bot/domain/people.py:1: the core imports requests; it imports only the "
        "standard library's pure modules and markdown_it: do this in the shell and pass the "
        "result in",
        id="core imports requests",
    ),
    pytest.param(
        "runner.py",
        "import sys\nsys.stdout.write('done')\n",
        "exception_bot/runner.py:2: exception_bot.runner prints (sys.stdout); return text and "
        "let the CLI print it",
        id="shell writes to stdout",
    ),
    pytest.param(
        "runner.py",
        "print('done')\n",
        "exception_bot/runner.py:1: exception_bot.runner prints (print); return text and let "
        "the CLI print it",
        id="shell prints",
    ),
    pytest.param(
        "setup.py",
        "import typer\n",
        "exception_bot/setup.py:1: exception_bot.setup imports typer, which prints; only the "
        "CLI may",
        id="shell imports typer",
    ),
    pytest.param(
        "sandbox/store.py",
        "from exception_bot.domain.model import later\n",
        "exception_bot/sandbox/store.py:1: the sandbox imports exception_bot.domain.model; it "
        "knows nothing of the bot",
        id="sandbox imports the bot",
    ),
    pytest.param(
        "runner.py",
        "def run() -> None:\n    from exception_bot.sandbox import Sandbox\n",
        "exception_bot/runner.py:2: exception_bot.runner imports the sandbox "
        "(exception_bot.sandbox); only the CLI does, inside a function",
        id="bot imports the sandbox",
    ),
    pytest.param(
        "cli.py",
        "from exception_bot.sandbox import Sandbox\n",
        "exception_bot/cli.py:1: exception_bot.cli imports the sandbox "
        "(exception_bot.sandbox); only the CLI does, inside a function",
        id="CLI imports the sandbox at load time",
    ),
    pytest.param(
        "cli.py",
        "from exception_bot.demo import play\n",
        "exception_bot/cli.py:1: exception_bot.cli imports exception_bot.demo at load time; "
        "import it inside the command",
        id="CLI imports the demo at load time",
    ),
    pytest.param(
        "runner.py",
        "def run() -> None:\n    from exception_bot import demo\n",
        "exception_bot/runner.py:2: exception_bot.runner imports exception_bot.demo; only the "
        "CLI loads it",
        id="bot imports the demo",
    ),
    pytest.param(
        "watcher.py",
        "from exception_bot.demo_summary import roster\n",
        "exception_bot/watcher.py:1: exception_bot.watcher imports exception_bot.demo_summary; "
        "only the CLI loads it",
        id="bot imports the demo's summary",
    ),
    pytest.param(
        "sandbox/server.py",
        "from exception_bot.sandbox.cli import serve\n",
        "exception_bot/sandbox/server.py:1: exception_bot.sandbox.server imports "
        "exception_bot.sandbox.cli; only the CLI loads it",
        id="sandbox imports its command line",
    ),
]


@pytest.mark.parametrize(("module", "source", "expected"), BROKEN)
def test_the_checker_names_a_broken_rule(
    tmp_path: Path, module: str, source: str, expected: str
) -> None:
    root = write(tmp_path, {**CLEAN, module: source})
    assert violations(root) == [expected]
