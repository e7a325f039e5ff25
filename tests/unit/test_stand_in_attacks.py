"""Attacks on issue 23's stand-ins and escalations, each a rule that held when it was tried
(docs/explanation/approvals.md, escalations.md, routing.md)."""

from __future__ import annotations

import pytest

from exception_bot.config import parse_config
from exception_bot.errors import ConfigError
from tests.support.config_data import default_data


@pytest.mark.parametrize(
    "chain",
    [
        {"security_team": "security_lead", "security_lead": "security_team"},
        {
            "department_head": "policy_owner",
            "policy_owner": "vp_engineering",
            "vp_engineering": "department_head",
        },
    ],
)
def test_a_fallback_chain_that_cycles_is_refused(chain: dict[str, str]) -> None:
    data = default_data()
    for role, to in chain.items():
        data["roles"][role]["fallback"] = to
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert any("falls back in a circle" in p for p in caught.value.problems), caught.value


def test_the_ciso_role_may_fall_to_a_role_that_falls_to_the_ciso_by_default() -> None:
    """Not a circle the config wrote: the CISO's own requests go to the security lead, whose
    stage falls to the CISO as every role's does."""
    data = default_data()
    data["roles"]["ciso"]["fallback"] = "security_lead"
    assert parse_config(data).roles["ciso"].fallback == "security_lead"


def test_the_reference_describes_fallbacks_delegation_and_every_escalation_path() -> None:
    """issue 23's Done means: ``exception-bot reference`` describes them, from the config."""
    from datetime import date

    from exception_bot.setup import reference_markdown

    data = default_data()
    data["roles"]["department_head"]["fallback"] = "security_lead"
    data["delegations"] = [
        {"from": "grace", "to": "tom", "roles": ["ciso"], "until": date(2027, 1, 10)}
    ]
    text = reference_markdown(parse_config(data))
    assert "| Department Head | `roles.department_head.fallback` | Security Lead (set) |" in text
    assert "| Policy Owner | `roles.policy_owner.fallback` | CISO (by default) |" in text
    assert "| `grace` | `tom` | CISO | — | 2027-01-10 |" in text
    assert "GitLab status is busy" in text
    for path in (
        "A Critical request in production",
        "A renewal past",
        "A request under review",
        "A rejected request or renewal",
        "compensating controls cannot be implemented",
        "Not active 14 days after approval",
        "lapses",
    ):
        assert path in text, path


@pytest.mark.parametrize(
    ("deputy", "warned"),
    [
        ("grace", "also holds CISO"),  # the CISO as a department head's deputy
        ("frank", "also holds Security Lead"),  # on the High route with the department head
        ("tom", None),
    ],
)
def test_check_config_warns_of_a_deputy_who_holds_another_role_on_the_route(
    deputy: str, warned: str | None
) -> None:
    from datetime import date

    from exception_bot.config_stand_ins import deputy_warnings

    data = default_data()
    data["delegations"] = [
        {"from": "carol", "to": deputy, "roles": ["department_head"], "until": date(2027, 1, 1)}
    ]
    lines = deputy_warnings(parse_config(data))
    if warned is None:
        assert lines == []
    else:
        (line,) = lines
        assert warned in line
        assert line.startswith("delegations[0]: @")
