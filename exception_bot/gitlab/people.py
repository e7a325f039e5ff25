"""Users and members: who the bot is, who holds which role, and user ids by name."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import gitlab

from exception_bot.domain.model import User
from exception_bot.domain.people import Member
from exception_bot.gitlab.client import Client, GitLabError, unless_missing
from exception_bot.gitlab.parse import member

log = logging.getLogger(__name__)


class People:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._members: dict[str, tuple[Member, ...]] = {}
        self._direct: dict[str, tuple[Member, ...]] = {}
        self._user_ids: dict[str, int] = {}
        self._availability: dict[str, str] = {}

    def new_run(self) -> None:
        """Forget group members and user ids: membership changes count from the next run on."""
        self._members.clear()
        self._direct.clear()
        self._user_ids.clear()
        self._availability.clear()

    def whoami(self) -> User:
        gl = self._client.gl
        gl.auth()  # a token GitLab refuses is TokenRefused (connection.py)
        user = gl.user
        assert user is not None  # noqa: S101 - auth() sets it or raises
        return User(int(user.id), str(user.username))

    def access_level(self, project: str, user_id: int) -> int | None:
        """The user's access level in the project, inherited ones included; None when the
        project does not exist or the user is not a member."""
        members = unless_missing(
            lambda: self._client.gl.projects.get(project, lazy=True).members_all.list(get_all=True)
        )
        if members is None:
            return None
        return max((int(m.access_level) for m in members if int(m.id) == user_id), default=None)

    def user_exists(self, username: str) -> bool:
        return self.user_id(username) is not None

    def group_members(self, group: str) -> tuple[Member, ...]:
        """A group's ``members/all``: inherited members, members of the groups it is shared
        with (at most at the share's level) and blocked users included; cached for the run."""
        if group not in self._members:
            self._members[group] = self._read_members(group, direct=False)
        return self._members[group]

    def group_direct_members(self, group: str) -> tuple[Member, ...]:
        """A group's own members (``/groups/:id/members``: none of its parent groups', none of
        the groups it is shared with, lib/api/members.rb with MembersFinder); cached for the
        run."""
        if group not in self._direct:
            self._direct[group] = self._read_members(group, direct=True)
        return self._direct[group]

    def _read_members(self, group: str, direct: bool) -> tuple[Member, ...]:
        found = self._client.gl.groups.get(group, lazy=True)
        try:
            members = (found.members if direct else found.members_all).list(get_all=True)
        except gitlab.GitlabListError as err:
            raise GitLabError(
                f"cannot read the members of group '{group}' "
                f"({err.response_code}): check the group path in the config "
                "and that the bot's user can see it"
            ) from None
        return tuple(member(m.attributes) for m in members)

    def project_members(self, project: str) -> tuple[Member, ...]:
        """A project's ``members/all`` (members of its ancestor groups included), or none when
        the project cannot be seen."""
        members = unless_missing(
            lambda: self._client.gl.projects.get(project, lazy=True).members_all.list(get_all=True)
        )
        return tuple(member(m.attributes) for m in members or ())

    def availability(self, username: str) -> str:
        """The user's ``availability`` as their GitLab status sets it (``busy``, ``not_set``;
        empty when they set no status): ``GET /users/:id_or_username/status``, which takes a
        username too (doc/api/users.md, lib/api/users.rb). One request a user a run, cached:
        the review asks only for the holders of a stage it is assigning. GitLab limits this
        endpoint on its own (lib/gitlab/application_rate_limiter.rb, user_status: 240 a minute by
        default, users_api_limit_status), far above what a run asks."""
        name = username.lower()
        if name not in self._availability:
            try:
                status = self._client.gl.users.get(name, lazy=True).status.get()
                self._availability[name] = str(status.attributes.get("availability") or "")
            except gitlab.GitlabGetError as err:  # an unknown user is no one to skip
                log.warning("cannot read the status of user %s (%s)", name, err.response_code)
                self._availability[name] = ""
        return self._availability[name]

    def user_id(self, username: str) -> int | None:
        if username not in self._user_ids:
            found = self._client.gl.users.list(username=username, get_all=False)
            if not found:
                log.warning("user %s from the config does not exist on GitLab", username)
                return None
            self._user_ids[username] = int(found[0].id)
        return self._user_ids[username]

    def user_ids(self, usernames: Iterable[str]) -> list[int]:
        """The ids of those of ``usernames`` that exist."""
        return [uid for name in usernames if (uid := self.user_id(name)) is not None]
