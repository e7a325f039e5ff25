"""``exception-bot sandbox serve``: a sandbox GitLab to try the bot by hand."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from exception_bot.sandbox.control import Sandbox
from exception_bot.sandbox.seed import DEMO, SeedError
from exception_bot.sandbox.store import EDITIONS

app = typer.Typer(
    help="A local sandbox GitLab for trying the bot.\n\nExample: exception-bot sandbox serve",
    no_args_is_help=True,
)


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port", help="Loopback port; 0 picks a free one.")] = 8080,
    seed: Annotated[
        Path | None,
        typer.Option("--seed", help="A seed scenario (YAML or JSON); the demo company if absent."),
    ] = None,
    edition: Annotated[
        str | None,
        typer.Option(
            "--edition",
            help="free or premium (one label per scope, several assignees); the seed's if absent.",
        ),
    ] = None,
) -> None:
    """Serve a sandbox GitLab on 127.0.0.1 until Ctrl-C; print its URL and users' tokens.

    Example: exception-bot sandbox serve --port 8080
    """
    if edition not in (None, *EDITIONS):
        typer.echo(f"error: --edition must be one of {', '.join(EDITIONS)}", err=True)
        raise typer.Exit(2)
    try:
        sandbox = Sandbox(seed or DEMO).start(port=port)
        if edition is not None:
            sandbox.edition(edition)
    except (OSError, SeedError) as err:
        typer.echo(f"error: cannot start the sandbox: {err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Sandbox GitLab at {sandbox.url}  (control plane: {sandbox.url}/-/sandbox/)")
    typer.echo(f"Try the bot:  GITLAB_URL={sandbox.url} GITLAB_TOKEN=<token> exception-bot run")
    for username, token in sandbox.tokens().items():
        typer.echo(f"  {username:<16} {token}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        sandbox.stop()
