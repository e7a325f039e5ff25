"""A test GitLab built from nothing through GitLab's public API, as an administrator would.

Everything here is done with python-gitlab and an admin's token, on any GitLab: the sandbox by
default, a real one with ``GITLAB_FUNCTIONAL_URL`` (docs/how-to/functional-tests.md). Names end
in a random suffix, so the suite runs again and again on the same GitLab; what it made stays
there for inspection (a throw-away GitLab is dropped whole: ``docker compose down -v``).

The people and the groups that hold roles are made once a session (:func:`make_people`); each
story gets its own requests and register projects (:func:`make_projects`), with the members
and access levels docs/tutorial/your-gitlab.md asks for.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gitlab
import yaml

from tests.requests import ROOT

BASE_CONFIG = ROOT / "config" / "exception-bot.yml"
GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
BOT = "exception-bot"
# The demo company of config/exception-bot.yml: every user a role names, the requester, and
# a developer with no role.
PEOPLE = (
    *("alice", "bob", "carol", "paula", "sam", "dave", "erin", "frank", "grace"),
    *("heidi", "ivan", "judy", "sue", "sid", "victor", "mia", "lee", "tom"),
)
# The groups config/exception-bot.yml gives roles to, and their members.
ROLE_GROUPS: dict[str, dict[str, int]] = {
    "security": {"victor": DEVELOPER, "sam": DEVELOPER},
    "security/compliance": {"sue": MAINTAINER, "sid": MAINTAINER},
    "engineering": {"alice": OWNER, "heidi": OWNER, "tom": DEVELOPER},
    "engineering/managers": {"mia": MAINTAINER},
    "legal": {"lee": MAINTAINER},
}


@dataclass(frozen=True)
class Target:
    """The GitLab under test and an administrator's token (scope api)."""

    url: str
    admin_token: str

    def client(self, token: str | None = None) -> gitlab.Gitlab:
        return gitlab.Gitlab(self.url, private_token=token or self.admin_token, per_page=100)


@dataclass(frozen=True)
class People:
    """The users made for this session (by their name in the demo, e.g. ``bob``), their tokens,
    and the top-level group every group and project of the session lives in."""

    suffix: str
    top: str  # the top-level group's full path
    top_id: int
    ids: dict[str, int]
    tokens: dict[str, str]

    def username(self, name: str) -> str:
        return f"{name}-{self.suffix}"


def make_people(target: Target) -> People:
    """The users (each with a token of scope ``api``), the top-level group and the role groups.

    The groups are internal: the bot, a member of none, must read who holds a role (GitLab
    answers 404 for a private group to anyone not in it)."""
    admin = target.client()
    suffix = secrets.token_hex(3)
    expires = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    ids, tokens = {}, {}
    for name in (BOT, *PEOPLE):
        user = admin.users.create(
            {
                "username": f"{name}-{suffix}",
                "name": f"{name.replace('-', ' ').title()} {suffix}",
                "email": f"{name}-{suffix}@example.com",
                "force_random_password": True,
                "skip_confirmation": True,
            }
        )
        token = admin.users.get(user.id, lazy=True).personal_access_tokens.create(
            {"name": "functional tests", "scopes": ["api"], "expires_at": expires}
        )
        ids[name], tokens[name] = int(user.id), str(token.token)
    top = admin.groups.create(
        {"name": f"exception-bot {suffix}", "path": f"exbot-{suffix}", "visibility": "internal"}
    )
    made = {"": int(top.id)}
    for path, members in ROLE_GROUPS.items():
        parent, _, own = path.rpartition("/")
        group = admin.groups.create(
            {"name": own, "path": own, "parent_id": made[parent], "visibility": "internal"}
        )
        made[path] = int(group.id)
        for name, level in members.items():
            group.members.create({"user_id": ids[name], "access_level": level})
    return People(suffix, str(top.full_path), int(top.id), ids, tokens)


@dataclass(frozen=True)
class Projects:
    requests: str  # full paths
    register: str


def make_projects(target: Target, people: People, story: str) -> Projects:
    """The story's group with its requests and register projects, and their members: everyone a
    Reporter of the requests project (approvers must read confidential requests, requesters use
    action labels), the bot a Maintainer of the register (its default branch is protected) and,
    until ``setup --apply`` has committed the issue templates, of the requests project
    (:func:`demote_bot` then makes it the Reporter docs/tutorial/your-gitlab.md asks for)."""
    admin = target.client()
    group = admin.groups.create(
        {"name": story, "path": story, "parent_id": people.top_id, "visibility": "internal"}
    )
    made = {}
    for path in ("exceptions", "exception-register"):
        project = admin.projects.create(
            {
                "name": path,
                "path": path,
                "namespace_id": group.id,
                "visibility": "private",
                "initialize_with_readme": True,
            }
        )
        made[path] = project
    requests, register = made["exceptions"], made["exception-register"]
    for name in PEOPLE:
        requests.members.create({"user_id": people.ids[name], "access_level": REPORTER})
    for project in (requests, register):
        project.members.create({"user_id": people.ids[BOT], "access_level": MAINTAINER})
    return Projects(str(requests.path_with_namespace), str(register.path_with_namespace))


def demote_bot(target: Target, people: People, projects: Projects) -> None:
    """The bot needs no more than Reporter in a requests project to run."""
    members = target.client().projects.get(projects.requests, lazy=True).members
    members.update(people.ids[BOT], {"access_level": REPORTER})


def add_members(target: Target, project: str, levels: dict[int, int]) -> None:
    members = target.client().projects.get(project, lazy=True).members
    for user_id, level in levels.items():
        members.create({"user_id": user_id, "access_level": level})


def write_config(path: Path, people: People, projects: Projects) -> Path:
    """config/exception-bot.yml with this session's people, groups and the story's projects."""
    data: dict[str, Any] = yaml.safe_load(BASE_CONFIG.read_text(encoding="utf-8"))
    data["gitlab"].update(
        requests_project=projects.requests,
        register_project=projects.register,
        bot_user=people.username(BOT),
    )
    for spec in data["roles"].values():
        if "users" in spec:
            spec["users"] = [people.username(u) for u in spec["users"]]
        if "group" in spec:
            spec["group"] = f"{people.top}/{spec['group']}"
        for key in ("by_department", "by_policy"):
            if key in spec:
                spec[key] = {k: [people.username(u) for u in v] for k, v in spec[key].items()}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
