"""``exception-bot sandbox serve``: a sandbox GitLab to try the bot by hand."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated

import typer

from exception_bot.config import DEFAULT_CONFIG_PATH, load_config, shipped_config
from exception_bot.errors import ConfigError
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
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="The config whose roles to name for each user, and that the printed run "
            "command uses; as for run when absent.",
        ),
    ] = None,
) -> None:
    """Serve a sandbox GitLab on 127.0.0.1 until Ctrl-C.

    It prints its URL, a run command to paste into another terminal, and each user's token and
    role.

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
    for line in _introduce(sandbox, config):
        typer.echo(line)
    try:
        typer.echo("Ctrl-C stops it.")  # inside: a Ctrl-C right after it is a clean stop too
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        sandbox.stop()


def _introduce(sandbox: Sandbox, given: Path | None) -> list[str]:
    """A run command that works as printed, then each user's token and role. The config is the
    one ``run`` reads when given none (``config/exception-bot.yml`` here, else the one the
    package ships), or ``--config``, which the command then names too."""
    from exception_bot.demo_summary import roster  # the bot's side: only when serving

    path = given or (DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else shipped_config())
    try:
        cfg = load_config(path)
    except ConfigError as err:
        why = "; ".join(err.problems)
        typer.echo(f"note: the users' roles are not shown: {why}", err=True)
        return [f"  {name:<16} {token}" for name, token in sandbox.tokens().items()]
    tokens = sandbox.tokens()
    bot = cfg.gitlab.bot_user
    token = tokens.get(bot, f"<the token of {bot}, who is no user here>")
    flag = f" --config {shlex.quote(str(given))}" if given else ""
    lines = [
        "Run the bot against it (in another terminal):",
        f"  GITLAB_URL={sandbox.url} GITLAB_TOKEN={token} exception-bot run{flag}",
        f"Users, their tokens and their roles in {path}:",
    ]
    lines += [
        f"  {name:<16} {tokens[name]:<24} {role}" for name, role in roster(cfg, sandbox.store)
    ]
    return lines
