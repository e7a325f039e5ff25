"""The bot as a user gets it: a wheel built from this tree, installed in a fresh environment,
run from an empty folder, far from any clone (docs/tutorial/demo.md).

No network: the wheel is built with the build backend already installed here
(``--no-build-isolation``), and the fresh environment finds the bot's dependencies through a
``.pth`` line naming this environment's site-packages. A ``.pth`` line adds a folder to
``sys.path`` without running the ``.pth`` files in it, so this tree's editable install stays
out: the bot that runs is the wheel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The installed bot plays the demo, which drives the sandbox over HTTP.
pytestmark = pytest.mark.e2e


def _wheel(tmp_path: Path) -> Path:
    """A wheel of this tree, built from a copy so that the build leaves nothing in it."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "config", source / "config")
    # symlinks=True: the packaged default config is a link to config/exception-bot.yml
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "exception_bot", source / "exception_bot", symlinks=True, ignore=skip)
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    build = ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist)]
    subprocess.run([*pip, *build, str(source)], check=True, timeout=120)  # noqa: S603
    (wheel,) = dist.glob("exception_bot-*.whl")
    return wheel


def _install(wheel: Path, where: Path) -> Path:
    """A fresh environment holding the wheel; returns its bin folder."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    purelib = subprocess.run(  # noqa: S603 - our own commands, fixed arguments
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (Path(purelib) / "exception_bot_test_deps.pth").write_text("\n".join(ours) + "\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    install = ["--python", str(python), "install", "--no-deps", "--no-index", str(wheel)]
    subprocess.run([*pip, *install], check=True, timeout=120)  # noqa: S603
    return where / "bin"


def test_the_installed_bot_runs_the_demo_from_an_empty_folder(tmp_path: Path) -> None:
    bin_dir = _install(_wheel(tmp_path), tmp_path / "venv")
    empty = tmp_path / "anywhere"
    empty.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EXCEPTION_BOT_", "GITLAB_", "PYTHON"))
    }

    def command(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the installed bot, fixed arguments
            args, cwd=empty, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    where = command(bin_dir / "python", "-c", "import exception_bot; print(exception_bot.__file__)")
    assert where.stdout.startswith(str(tmp_path / "venv")), where  # the wheel's, not this tree's
    # Only the commands that use them load the demo and the sandbox.
    loaded = command(
        bin_dir / "python",
        "-c",
        "import sys, exception_bot.cli; "
        "print([m for m in sys.modules if m.startswith(('exception_bot.sandbox', "
        "'exception_bot.demo'))])",
    )
    assert loaded.stdout.strip() == "[]", loaded

    demo = command(bin_dir / "exception-bot", "demo")
    assert demo.returncode == 0, demo.stderr
    assert "EXC-0001" in demo.stdout  # the register the bot wrote
    assert "using the default config shipped with exception-bot" in demo.stderr
    assert "Traceback" not in demo.stderr

    checked = command(bin_dir / "exception-bot", "check-config")
    assert checked.returncode == 0, checked.stderr
    shipped = tmp_path / "venv" / "lib"
    assert checked.stdout.startswith(str(shipped)), checked.stdout  # names the file it used
    assert checked.stdout.rstrip().endswith("roles)")
    assert list(empty.iterdir()) == []  # the demo leaves nothing behind
