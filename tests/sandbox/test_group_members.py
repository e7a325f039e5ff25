"""members/all as GitLab answers it: invited groups' members and blocked users included."""

from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest

from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
GUEST, REPORTER = 10, 20


def members_all(gl: Client, group: str) -> dict[str, tuple[int, str]]:
    rows = gl("exception-bot").groups.get(group, lazy=True).members_all.list(get_all=True)
    return {str(m.username): (int(m.access_level), str(m.state)) for m in rows}


def test_members_of_a_shared_group_count_at_most_at_the_share_level(
    sandbox: Sandbox, gl: Client
) -> None:
    # app/finders/group_members_finder.rb: members/all asks for the direct, inherited and
    # shared_from_groups relations (lib/api/helpers/members_helpers.rb); a shared group's
    # members get the lower of their own level and the link's group_access.
    sandbox.share_group("security", "legal", REPORTER)  # lee is a Maintainer of legal
    sandbox.share_group("security", "engineering/managers", GUEST)  # mia: Maintainer there
    found = members_all(gl, "security")
    assert found["lee"] == (REPORTER, "active")
    assert found["mia"] == (GUEST, "active")
    # Shared into an ancestor counts in its subgroups too (Group.shared_into_ancestors).
    assert members_all(gl, "security/compliance")["lee"] == (REPORTER, "active")


def test_the_highest_level_wins_over_a_share(sandbox: Sandbox, gl: Client) -> None:
    sandbox.share_group("security", "engineering", GUEST)  # alice: Owner of engineering
    sandbox.load({"groups": [{"path": "security", "members": {"alice": "developer"}}]})
    assert members_all(gl, "security")["alice"] == (30, "active")


def test_a_blocked_user_is_listed_with_their_state_and_their_token_refused(
    sandbox: Sandbox, gl: Client
) -> None:
    sandbox.block("victor")
    # lib/api/entities/member.rb merges UserBasic, whose `state` says "blocked".
    assert members_all(gl, "security")["victor"] == (30, "blocked")
    blocked = gitlab.Gitlab(sandbox.url, private_token=sandbox.token("victor"))
    with pytest.raises(gitlab.GitlabGetError) as err:
        blocked.auth()
    assert err.value.response_code == 403
    assert err.value.error_message == "403 Forbidden - Your account has been blocked."
