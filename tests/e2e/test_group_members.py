"""End to end (docs/reference/config.md, `gitlab.approver_access_level`): a role's group holds only
its active members at or above gitlab.approver_access_level, though members/all lists more (GitLab's
group_members_finder.rb: members of groups it is shared with, capped at the share's level, and
blocked users)."""

from __future__ import annotations

import pytest

from exception_bot.sandbox import Sandbox
from tests.e2e.world import World
from tests.requests import body

LOW = body("low_staging")  # finance / encryption: carol, then the security team
DH, ST = "Department head approval", "Security team approval"
GUEST, REPORTER = 10, 20


def at_security_team(world: World) -> int:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).tick("carol", iid, DH)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team", world.status(iid)
    return iid


def test_a_tick_by_a_member_blocked_since_does_not_count(world: World, sandbox: Sandbox) -> None:
    iid = at_security_team(world)
    world.later(hours=1).tick("victor", iid, ST)
    sandbox.block("victor")  # left the company before the bot's next run
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team", world.status(iid)
    assert world.box(iid, ST) is False


def test_a_guest_of_the_group_does_not_hold_its_role(world: World, sandbox: Sandbox) -> None:
    sandbox.load({"groups": [{"path": "security", "members": {"tom": "guest"}}]})
    iid = at_security_team(world)
    world.later(hours=1).tick("tom", iid, ST)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team", world.status(iid)
    assert any("@tom, I unticked **Security team approval**" in c for c in world.bot_comments(iid))


@pytest.mark.parametrize(("share", "counts"), [(REPORTER, True), (GUEST, False)])
def test_a_member_of_a_shared_group_holds_the_role_at_the_share_level(
    world: World, sandbox: Sandbox, share: int, counts: bool
) -> None:
    sandbox.share_group("security", "legal", share)  # lee: Maintainer of legal
    iid = at_security_team(world)
    world.later(hours=1).tick("lee", iid, ST)
    world.later(minutes=10).run()
    expected = "exception-stage::policy-owner" if counts else "exception-stage::security-team"
    assert world.stage(iid) == expected, world.status(iid)
