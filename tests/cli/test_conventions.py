"""The command line's conventions (docs/reference/usage.md): --version and -h, help without Typer's
type labels and without a sentence broken across the command list, and the commands a script
calls saying clearly when they had nothing to work on. The real console script where a user's
terminal matters; the help of every command in-process, as the same code prints it."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from exception_bot import __version__
from exception_bot.cli import app
from tests.support.console import CONFIG, console

# What Typer prints for a value's type unless told better: <bool>, <list[int]>, <path>,
# <float range>, {paths} in a usage line, [x>=0] for a range.
TYPE_NOISE = re.compile(r"<[a-z][\w\[\], |]*>|\{\w+\}|\[x[<>]=?")


def commands() -> Iterator[tuple[str, Any]]:
    """Every command and group, by its words after ``exception-bot``, the lazy ones too."""
    root = typer.main.get_command(app)
    ctx = root.make_context("exception-bot", [], resilient_parsing=True)
    todo: list[tuple[str, Any]] = [("", root)]
    while todo:
        words, command = todo.pop()
        yield words, command
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                todo.append((f"{words} {name}".strip(), command.get_command(ctx, name)))


@pytest.mark.e2e  # the console script, in a process of its own
def test_version_and_short_help_flags() -> None:
    assert console("--version").out == f"{__version__}\n"
    short = console("run", "-h", env={"COLUMNS": "100"})
    assert (short.code, short.out) == (0, console("run", "--help", env={"COLUMNS": "100"}).out)
    assert "Usage: exception-bot run [OPTIONS]" in short.out
    assert "--issue                   IID" in short.out
    assert not TYPE_NOISE.search(short.out), TYPE_NOISE.findall(short.out)


def test_no_help_shows_type_labels() -> None:
    runner = CliRunner()
    seen = 0
    for words, _ in commands():
        shown = runner.invoke(app, [*words.split(), "--help"], env={"COLUMNS": "120"})
        assert shown.exit_code == 0, words
        assert not TYPE_NOISE.search(shown.output), (words, TYPE_NOISE.findall(shown.output))
        seen += 1
    assert seen >= 18  # the commands, the groups, and the sandbox's, loaded lazily


def test_each_command_says_what_it_does_in_one_line() -> None:
    """The command list shows a command's first paragraph with its line breaks: one that
    spans lines comes out broken mid-sentence."""
    for words, command in commands():
        first = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert "\n" not in first, f"{words}: {first!r}"
    listing = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "One pass over the open exception requests: check, route, record." in listing


@pytest.mark.e2e  # the console script, in a process of its own
def test_lint_of_a_folder_without_exception_files_checks_nothing_and_says_so(
    tmp_path: Path,
) -> None:
    (tmp_path / "README.md").write_text("# not an exception\n")
    ran = console("lint", str(tmp_path), "--config", str(CONFIG))
    assert ran.code == 2
    assert ran.errors == [
        f"error: 0 files checked: no exception files (*.md) in {tmp_path}",
    ]


@pytest.mark.e2e  # the console script, in a process of its own
def test_validate_of_a_binary_file_says_it_is_not_text(tmp_path: Path) -> None:
    picture = tmp_path / "screenshot.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    ran = console("validate", str(picture), "--config", str(CONFIG))
    assert ran.code == 2
    assert ran.errors == [
        f"error: {picture}: not text (it holds NUL bytes); give a request body in Markdown"
    ]
    assert ran.out == ""
