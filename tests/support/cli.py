"""The commands run in this process with Typer's runner: exit code, stdout and stderr."""

from __future__ import annotations

from typer.testing import CliRunner

from exception_bot.cli import app

runner = CliRunner()


def run(*args: str, stdin: bytes | str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr
