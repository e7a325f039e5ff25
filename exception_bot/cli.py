"""The `exception-bot` command line.

This is the only module that prints, reads the environment for the command line, and reads the
clock. It catches :class:`ExceptionBotError` once and turns it into one line and an exit code.
"""

from __future__ import annotations

import typer

from exception_bot import __version__

app = typer.Typer(
    name="exception-bot",
    help="Run a security policy exception process on GitLab issues.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Run a security policy exception process on GitLab issues."""


@app.command()
def version() -> None:
    """Print the version.

    Example: exception-bot version
    """
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
