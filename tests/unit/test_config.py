"""Every key of the config is checked; errors name the key path and the fix."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from exception_bot.config import CountryHolidays, load_config, parse_config, role_title
from exception_bot.domain.model import RiskLevel
from exception_bot.domain.settings import CriticalInProduction, Duration, DurationUnit
from exception_bot.errors import ConfigError
from tests.requests import ROOT
from tests.support.config_data import Data, default_data


def errors_after(edit: Callable[[Data], None]) -> tuple[str, ...]:
    data = copy.deepcopy(default_data())
    edit(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.problems


def put(path: str, value: Any) -> Callable[[Data], None]:
    """An edit that sets ``a.b.c`` (list indexes as numbers) to ``value``."""

    def edit(data: Data) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def delete(path: str) -> Callable[[Data], None]:
    def edit(data: Data) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[key]
        del node[last]

    return edit


BAD = [
    (
        "unknown role in the matrix",
        put("approval_matrix.high.1.0", "cisco"),
        "approval_matrix.high[1][0]: unknown role 'cisco' (did you mean 'ciso'?)",
    ),
    (
        "a matrix role with no checklist item",
        delete("checklist.security_team"),
        "checklist: role 'security_team' is in the approval matrix but has no item; add "
        "security_team: Security Team approval",
    ),
    (
        "department head map missing a department",
        delete("roles.department_head.by_department.sales"),
        "roles.department_head.by_department: no one is named for 'sales'; add sales: [username]",
    ),
    (
        "policy owner for an unknown policy",
        put("roles.policy_owner.by_policy.passwords", ["x"]),
        "roles.policy_owner.by_policy.passwords: not one of the configured policies (known: "
        "access-control, encryption, change-management, logging)",
    ),
    (
        "bad duration",
        put("review_sla.high", "3x"),
        "review_sla.high: '3x' is not a duration; write a number and a unit: 30m, 4h, 2d "
        "(calendar days) or 3bd (business days)",
    ),
    ("zero duration", put("review_sla.low", "0bd"), "review_sla.low: '0bd' is not a duration"),
    (
        "unknown weekday",
        put("calendar.workdays", ["mon", "funday"]),
        "calendar.workdays[1]: 'funday' is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
    ),
    (
        "unknown time zone",
        put("calendar.timezone", "Mars/Base"),
        "calendar.timezone: unknown time zone 'Mars/Base'; use a name like Europe/Paris",
    ),
    (
        "bad holiday",
        put("calendar.holidays", ["2026-13-01"]),
        "calendar.holidays[0]: '2026-13-01' is not a date; write YYYY-MM-DD",
    ),
    (
        "unknown country",
        put("calendar.country", "XX"),
        "calendar.country: unknown country 'XX'; use an ISO 3166 code such as DE, FR, GB or US",
    ),
    (
        "subdivision without a country",
        put("calendar.subdivision", "BY"),
        "calendar.subdivision: needs calendar.country too, such as DE with BY",
    ),
    (
        "duplicate checklist texts",
        put("checklist.security_lead", "Department head approval"),
        "checklist.security_lead: 'Department head approval' is also the text of "
        "checklist.department_head; every item needs its own",
    ),
    (
        "an appeal item equal to another role's item",
        put("checklist.legal", "CEO decision"),
        "appeal.checklist.ceo: 'CEO decision' is also the text of checklist.legal; "
        "every item needs its own",
    ),
    (
        "escalation item equal to a matrix item",
        put("escalation.checklist_item", "CISO approval"),
        "escalation.checklist_item: 'CISO approval' is also the text of checklist.ciso",
    ),
    (
        "unknown top-level key",
        put("approval_matrx", {}),
        "approval_matrx: unknown key (did you mean 'approval_matrix'?)",
    ),
    (
        "unknown nested key",
        put("limits.max_renewal", 3),
        "limits.max_renewal: unknown key (did you mean 'max_renewals'?)",
    ),
    (
        "missing required section",
        delete("policies"),
        "policies: required key is missing (config/exception-bot.yml has an example)",
    ),
    (
        "missing risk level in the matrix",
        delete("approval_matrix.low"),
        "approval_matrix.low: required key is missing",
    ),
    (
        "role twice in one route",
        put("approval_matrix.low", [["department_head"], ["department_head"]]),
        "approval_matrix.low[1][0]: role 'department_head' is in this route twice",
    ),
    (
        "empty stage",
        put("approval_matrix.low", [["department_head"], []]),
        "approval_matrix.low[1]: a stage needs at least one role",
    ),
    ("negative limit", put("limits.max_renewals", -1), "limits.max_renewals: must be >= 0, got -1"),
    (
        "text where a number goes",
        put("limits.max_duration_days", "ninety"),
        "limits.max_duration_days: expected a whole number >= 1, got 'ninety'",
    ),
    (
        "unknown critical-in-production rule",
        put("limits.critical_in_production", "panic"),
        "limits.critical_in_production: 'panic' is not one of escalate, forbid, allow",
    ),
    (
        "production environment not an environment",
        put("limits.production_environments", ["prod"]),
        "limits.production_environments: 'prod' is not one of the environments",
    ),
    (
        "role with nobody",
        put("roles.ciso", {"title": "CISO"}),
        "roles.ciso: say who holds the role: users, group, by_department or by_policy",
    ),
    (
        "by_department mixed with users",
        put("roles.department_head.users", ["zed"]),
        "roles.department_head: use by_department or by_policy alone, not with",
    ),
    (
        "bad username",
        put("roles.ciso.users", ["grace hopper"]),
        "roles.ciso.users[0]: 'grace hopper' is not a GitLab username",
    ),
    (
        "bad role name",
        put("roles.Bad-Role", {"users": ["x"]}),
        "roles.Bad-Role: role names are lower_snake_case, like security_lead",
    ),
    (
        "duplicate department",
        put("departments", ["engineering", "finance", "people", "sales", "Finance"]),
        "departments[4]: 'Finance' is listed twice; remove the repeat",
    ),
    (
        "bad project path",
        put("gitlab.register_project", "not a path"),
        "gitlab.register_project: 'not a path' is not a project path",
    ),
    (
        "no bot user",
        delete("gitlab.bot_user"),
        "gitlab.bot_user: required key is missing (config/exception-bot.yml has an example)",
    ),
    (
        "bot user not a username",
        put("gitlab.bot_user", "exception bot"),
        "gitlab.bot_user: 'exception bot' is not a GitLab username",
    ),
    (
        "several request projects without prefixes",
        put("gitlab.requests_project", [{"path": "a/b", "id_prefix": "EXC-"}, "c/d"]),
        "gitlab.requests_project[1]: with several projects, give each as {path: ..., "
        "id_prefix: ...}",
    ),
    (
        "several request projects sharing a prefix",
        put(
            "gitlab.requests_project",
            [{"path": "a/b", "id_prefix": "EXC-"}, {"path": "c/d", "id_prefix": "EXC-"}],
        ),
        "gitlab.requests_project: each project needs its own id_prefix",
    ),
    (
        "label with a quote",
        put("labels.intake", 'Exception"Request'),
        "labels.intake: 'Exception\"Request' may not contain quotes, commas, tildes or line breaks",
    ),
    (
        "override of a label the bot does not set",
        put("labels.overrides", {"exception::done": "x"}),
        "labels.overrides.exception::done: not a label the bot sets",
    ),
    (
        "two labels renamed to one name",
        put("labels.overrides", {"exception::approved": "exception::active"}),
        "labels.overrides: two labels would get the same name",
    ),
    (
        "two kinds of label in one scope",
        put("labels.overrides", {"exception-sla::breached": "exception-alert::late"}),
        "labels: 'exception-alert::late' and 'exception-alert::tampering' share the scope "
        "'exception-alert', and GitLab Premium keeps one label of a scope on an issue: give one "
        "of them another part before '::'",
    ),
    (
        "appeal role unknown",
        put("appeal", [["legal"], ["ceo", "cfoo"]]),
        "appeal[1][1]: unknown role 'cfoo' (did you mean 'cfo'?)",
    ),
    (
        "default appeal route without its roles",
        lambda d: [d.pop("appeal"), d["roles"].pop("ceo")],
        "appeal: the default appeal route [[legal], [ceo, cfo]] needs the roles ceo",
    ),
    (
        "archive equal to directory",
        put("register.archive_directory", "exceptions"),
        "register.archive_directory: must differ from register.directory",
    ),
    (
        "boolean as text",
        put("approvals.allow_same_person_multiple_roles", "no"),
        "approvals.allow_same_person_multiple_roles: expected true or false, got 'no'",
    ),
    (
        "reminder days not a list",
        put("reminders.before_expiry_days", 7),
        "reminders.before_expiry_days: expected a list of day counts, like [14, 7, 1]",
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [(e, x) for _, e, x in BAD], ids=[name for name, _, _ in BAD]
)
def test_config_errors_name_the_path_and_the_fix(
    edit: Callable[[Data], None], expected: str
) -> None:
    problems = errors_after(edit)
    assert any(p.startswith(expected) for p in problems), problems
    assert len(problems) == 1, problems  # one mistake, one message: no cascade


def test_missing_roles_section_does_not_cascade() -> None:
    problems = errors_after(delete("roles"))
    assert problems == ("roles: required key is missing (config/exception-bot.yml has an example)",)


def test_every_problem_is_reported_at_once() -> None:
    def edit(data: Data) -> None:
        data["review_sla"]["high"] = "3x"
        data["calendar"]["timezone"] = "Nowhere/Town"
        data["approval_matrix"]["low"][0][0] = "boss"

    assert len(errors_after(edit)) == 3


def test_defaults_carry_the_policy_of_the_source_documents() -> None:
    config = load_config(ROOT / "config" / "exception-bot.yml")
    assert config.limits.max_duration_days == 90
    assert config.limits.max_renewals == 2
    assert config.limits.critical_in_production is CriticalInProduction.ESCALATE
    assert config.limits.appeal_window_days == 14
    assert config.review_sla["critical"] == Duration(4, DurationUnit.HOURS)
    assert config.review_sla["high"] == Duration(1, DurationUnit.BUSINESS_DAYS)
    assert config.review_sla["medium"] == Duration(3, DurationUnit.BUSINESS_DAYS)
    assert config.review_sla["low"] == Duration(5, DurationUnit.BUSINESS_DAYS)
    assert config.review_sla["appeal"] == config.review_sla["critical"]
    assert config.stages(RiskLevel.CRITICAL)[1] == ("ciso", "vp_engineering")
    assert config.stages(RiskLevel.HIGH)[1] == ("security_lead", "engineering_manager")
    assert config.stages(RiskLevel.MEDIUM)[1] == ("security_team",)
    assert config.reminder_days == (14, 7, 1)
    assert config.appeal.stages == (("legal",), ("ceo", "cfo"))
    assert dict(config.appeal.checklist) == {
        "legal": "Legal opinion recorded",
        "ceo": "CEO decision",
        "cfo": "CFO decision",
    }
    assert config.calendar.workdays == frozenset({0, 1, 2, 3, 4})
    assert config.is_production("production")
    assert not config.is_production("staging")
    assert config.allow_same_person_multiple_roles is False


def test_optional_sections_fall_back_to_policy_defaults() -> None:
    data = default_data()
    for key in (
        "review_sla",
        "limits",
        "escalation",
        "appeal",
        "calendar",
        "reminders",
        "register",
        "approvals",
        "labels",
    ):
        del data[key]
    config = parse_config(data)
    assert config.limits.max_duration_days == 90
    assert config.review_sla["medium"] == Duration(3, DurationUnit.BUSINESS_DAYS)
    assert config.labels.intake == "ExceptionRequest"
    assert config.limits.production_environments == ("production",)


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config" / "example.yml")
    assert [p.id_prefix for p in config.gitlab.requests_projects] == ["EXC-", "EXC-PAY-"]
    assert config.calendar.public_holidays == CountryHolidays("DE", "BY")
    assert date(2027, 1, 6) in config.calendar.public_holidays  # Epiphany, in Bavaria only
    assert date(2026, 12, 24) in config.calendar.holidays
    assert config.labels.tampering == "security-alert::tampering"
    assert config.roles["ciso"].title == "Chief Information Security Officer"


def test_file_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file; pass --config PATH"):
        load_config(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("roles: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML .* at line 2"):
        load_config(broken)
    no_such_day = tmp_path / "no-such-day.yml"
    no_such_day.write_text("calendar: {holidays: [2026-02-30]}\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(day is out of range for month\)"):
        load_config(no_such_day)
    deep = tmp_path / "deep.yml"
    deep.write_text("roles: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(nested too deep\)"):
        load_config(deep)
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_config(empty)


@pytest.mark.parametrize(
    ("role", "title"),
    [
        ("vp_engineering", "VP Engineering"),
        ("ciso", "CISO"),
        ("department_head", "Department Head"),
        ("security_compliance", "Security Compliance"),
    ],
)
def test_role_titles(role: str, title: str) -> None:
    assert role_title(role) == title


def test_a_role_named_under_checklist_with_its_appeal_items_text_is_accepted() -> None:
    """The same role ticking the same text under ## Approvals and ## Appeal is one role, not
    two: only the same text for two different roles is ambiguous (issue 23, point 6)."""
    data = copy.deepcopy(default_data())
    data["checklist"].update(
        {"legal": "Legal opinion recorded", "ceo": "CEO decision", "cfo": "CFO decision"}
    )
    config = parse_config(data)
    assert config.checklist["ceo"] == config.appeal.checklist["ceo"] == "CEO decision"
