"""The demo seed is a company where every role of the shipped config has real people."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gitlab
import pytest

from exception_bot.config import load_config
from exception_bot.sandbox import DEMO, SeedError, read_seed
from exception_bot.sandbox.seed import load
from exception_bot.sandbox.store import Store

CONFIG = load_config(Path(__file__).parents[2] / "config" / "exception-bot.yml")
Client = Callable[[str], gitlab.Gitlab]


@pytest.mark.parametrize("role", sorted(CONFIG.roles))
def test_every_role_resolves_to_seeded_people(gl: Client, role: str) -> None:
    spec = CONFIG.roles[role]
    named = {
        *spec.users,
        *(u for users in spec.by_department.values() for u in users),
        *(u for users in spec.by_policy.values() for u in users),
    }
    for username in named:
        assert [u.username for u in gl("bob").users.list(username=username)] == [username]
    if spec.group is not None:
        # the bot's view: a private group is hidden from non-members (group_policy.rb)
        bot = gl("exception-bot").groups.get(spec.group, lazy=True)
        members = bot.members_all.list(get_all=True)
        assert members, f"{role}: group {spec.group} has no members"
    assert named or spec.group is not None


def test_the_configured_projects_exist_and_the_bot_maintains_them(gl: Client) -> None:
    bot = gl("exception-bot")
    bot.auth()
    assert bot.user is not None
    paths = [p.path for p in CONFIG.gitlab.requests_projects] + [CONFIG.gitlab.register_project]
    for path in paths:
        project = bot.projects.get(path)
        assert project.members_all.get(bot.user.id).access_level >= 40
    register = bot.projects.get(CONFIG.gitlab.register_project)
    assert register.default_branch == CONFIG.gitlab.register_branch


def test_a_seed_naming_an_unknown_user_is_refused(tmp_path: Path) -> None:
    assert read_seed(DEMO)["users"]
    bad = tmp_path / "seed.yml"
    bad.write_text("groups: [{path: g, members: {ghost: developer}}]\n", encoding="utf-8")
    with pytest.raises(SeedError, match="ghost"):
        load(Store(), bad)
    with pytest.raises(SeedError, match="access level"):
        load(Store(), {"users": ["a"], "groups": [{"path": "g", "members": {"a": "boss"}}]})
