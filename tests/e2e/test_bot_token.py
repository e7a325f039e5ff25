"""Only the bot's own token runs the bot (gitlab.bot_user): a person's token is refused by
every command that writes, or decides as the bot, before its first write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exception_bot.sandbox import Sandbox
from tests.e2e.world import CONFIG, World, edit_config, final_state
from tests.support.stories import LOW, activate

REFUSAL = (
    "error: this token belongs to @tom, not the bot's user @exception-bot (gitlab.bot_user): "
    "run with the bot's token"
)


@pytest.mark.parametrize(
    "command",
    [
        "run --now",
        "run --dry-run --now",
        "report --post --now",
        "report --now",
        "setup --apply",
    ],
)
def test_a_persons_token_is_refused_before_any_write(
    world: World, sandbox: Sandbox, command: str
) -> None:
    iid = world.open("bob", LOW)
    activate(world, iid)
    before = final_state(world)
    sandbox.clear_log()
    # tom is a Reporter of the requests project: his token could label, tick and comment.
    words = command.split()
    if words[-1] == "--now":
        words.append(world.clock.isoformat())
    refused = world.cli(*words, user="tom")
    assert sandbox.writes() == []
    assert final_state(world) == before
    assert (refused.exit_code, refused.output.strip()) == (2, REFUSAL)
    assert world.state(iid) == "exception::active"
    # The bot's own token still finds nothing to do: nothing was written in its name.
    assert world.later(minutes=5).run().summary["changed"] == 0


def test_the_daemon_with_a_persons_token_stops_before_its_first_pass(
    world: World, sandbox: Sandbox
) -> None:
    iid = world.open("bob", LOW)
    activate(world, iid)
    before = final_state(world)
    sandbox.clear_log()
    env = {**os.environ, "GITLAB_URL": sandbox.url, "GITLAB_TOKEN": sandbox.token("tom")}
    daemon = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "exception_bot", "daemon", "--every", "1s", "--config", str(CONFIG)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,  # a daemon that does not refuse runs until stopped: this fails the test
        check=False,
    )
    assert (daemon.returncode, daemon.stderr.strip()) == (2, REFUSAL)
    assert sandbox.writes() == []
    assert final_state(world) == before


def test_a_username_differing_in_case_is_the_same_user(world: World, tmp_path: Path) -> None:
    config = edit_config(
        tmp_path / "config.yml", lambda data: data["gitlab"].update(bot_user="Exception-Bot")
    )
    world.config = config
    world.open("bob", LOW)
    assert world.run().exit_code == 0


def test_check_config_online_names_the_tokens_user(world: World) -> None:
    checked = world.cli("check-config", "--online", user="tom")
    assert checked.exit_code == 2
    assert checked.output.strip() == (
        "error: gitlab.bot_user: this token belongs to @tom, not @exception-bot: check with the "
        "bot's token, or name its user in gitlab.bot_user"
    )
