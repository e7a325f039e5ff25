"""Which members of a role's group hold the role: gitlab.approver_access_level and state."""

from __future__ import annotations

import pytest

from exception_bot.config import parse_config
from exception_bot.domain.people import Member, approvers
from exception_bot.errors import ConfigError
from tests.support.config_data import default_data

REPORTER = 20
MEMBERS = (
    Member("Sue", 40),
    Member("gus", 10),  # a Guest, or a member of a group shared at Guest level
    Member("rita", 20),
    Member("bea", 30, "blocked"),
    Member("dee", 30, "deactivated"),
    Member("ava", 30, "active", "awaiting"),  # a seat not yet approved (Premium)
    Member("ann", 30, "active", "active"),
)


@pytest.mark.parametrize(
    ("least", "expected"),
    [
        (REPORTER, {"sue", "rita", "ann"}),
        (10, {"sue", "gus", "rita", "ann"}),
        (40, {"sue"}),
    ],
)
def test_only_active_members_at_the_level_count(least: int, expected: set[str]) -> None:
    assert approvers(MEMBERS, least) == expected


def test_the_level_is_reporter_unless_the_config_says_otherwise() -> None:
    data = default_data()
    assert parse_config(data).gitlab.approver_access_level == REPORTER
    data["gitlab"]["approver_access_level"] = "Developer"
    assert parse_config(data).gitlab.approver_access_level == 30


def test_an_unknown_level_names_the_known_ones() -> None:
    data = default_data()
    data["gitlab"]["approver_access_level"] = "admin"
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.problems == (
        "gitlab.approver_access_level: unknown access level 'admin' "
        "(use one of guest, planner, reporter, developer, maintainer, owner)",
    )
