"""Every field rule of docs/reference/request.md, table-driven over realistic request bodies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from exception_bot.domain.fields import MAX_DESCRIPTION_CHARS, parse_body
from exception_bot.domain.model import DataClassification, Flag, RenewalRef, RiskLevel
from exception_bot.domain.settings import Config
from exception_bot.domain.validation import Validation, parse_renewal_ref, validate
from tests.requests import NOW, body, drop_section, reverse_sections, set_field
from tests.support.live import mentions


def check(text: str, config: Config, *, renewal: bool = False) -> Validation:
    return validate(parse_body(text), config, created_at=NOW, now=NOW, renewal=renewal)


@dataclass(frozen=True)
class Case:
    name: str
    base: str
    edit: Callable[[str], str]
    problems: tuple[str, ...]  # the fields of the expected problems, in order
    flags: tuple[Flag, ...] = ()
    renewal: bool = False


def same(text: str) -> str:
    return text


LOW = "low_staging"
CASES = [
    # Good requests, as written and as people really write them.
    Case("low risk, complete", LOW, same, ()),
    Case(
        "critical in production is flagged, not refused",
        "critical_production",
        same,
        (),
        (Flag.NEEDS_CISO_ESCALATION,),
    ),
    Case("renewal with all fields", "renewal", same, ()),
    Case("hostile text in free fields is still a valid request", "hostile", same, ()),
    Case("CRLF line endings", LOW, lambda t: t.replace("\n", "\r\n"), ()),
    Case("trailing spaces and tabs", LOW, lambda t: t.replace("\n", "  \t\n"), ()),
    Case(
        "headings in any case, with colons",
        LOW,
        lambda t: t.replace("## Risk level", "## RISK LEVEL:").replace("## Scope", "## scope"),
        (),
    ),
    Case("sections in reverse order", LOW, reverse_sections, ()),
    Case(
        "enumerations in any case and decorated",
        LOW,
        lambda t: set_field(set_field(t, "Department", "**FINANCE**"), "Risk level", "`low`"),
        (),
    ),
    Case("classification optional", LOW, lambda t: set_field(t, "Data classification", ""), ()),
    Case(
        "expiry exactly at the 90-day limit",
        LOW,
        lambda t: set_field(t, "Expiration date", "2027-02-20"),
        (),
    ),
    Case(
        "autolink is a value, not a placeholder",
        LOW,
        lambda t: set_field(t, "Requester contact", "<https://chat.example.com/bob>"),
        (),
    ),
    # Missing and empty fields.
    Case("summary section missing", LOW, lambda t: drop_section(t, "Summary"), ("summary",)),
    Case(
        "placeholder left in summary",
        LOW,
        lambda t: set_field(t, "Summary", "<One sentence: what you need and why>"),
        ("summary",),
    ),
    Case(
        "only a guidance comment in scope",
        LOW,
        lambda t: set_field(t, "Scope", "<!-- The systems, data and people affected. -->"),
        ("scope",),
    ),
    Case(
        "summary of two paragraphs",
        LOW,
        lambda t: set_field(t, "Summary", "First sentence.\n\nSecond paragraph."),
        ("summary",),
    ),
    Case("summary too long", LOW, lambda t: set_field(t, "Summary", "word " * 80), ("summary",)),
    Case(
        "section written twice",
        LOW,
        lambda t: t + "\n## Justification\nAgain.\n",
        ("justification",),
    ),
    # Enumerations.
    Case(
        "unknown department",
        LOW,
        lambda t: set_field(t, "Department", "Marketing"),
        ("department",),
    ),
    Case(
        "two departments",
        LOW,
        lambda t: set_field(t, "Department", "finance\nsales"),
        ("department",),
    ),
    Case("unknown policy", LOW, lambda t: set_field(t, "Policy", "passwords"), ("policy",)),
    Case("unknown environment", LOW, lambda t: set_field(t, "Environment", "qa"), ("environment",)),
    Case(
        "bad classification",
        LOW,
        lambda t: set_field(t, "Data classification", "PURPLE"),
        ("data_classification",),
    ),
    Case("bad risk level", LOW, lambda t: set_field(t, "Risk level", "Severe"), ("risk_level",)),
    # Expiry.
    Case(
        "expiry not a date",
        LOW,
        lambda t: set_field(t, "Expiration date", "15/01/2027"),
        ("expiration_date",),
    ),
    Case(
        "expiry impossible date",
        LOW,
        lambda t: set_field(t, "Expiration date", "2027-02-30"),
        ("expiration_date",),
    ),
    Case(
        "expiry today",
        LOW,
        lambda t: set_field(t, "Expiration date", "2026-11-22"),
        ("expiration_date",),
    ),
    Case(
        "expiry in the past",
        LOW,
        lambda t: set_field(t, "Expiration date", "2026-10-01"),
        ("expiration_date",),
    ),
    Case(
        "expiry one day past the limit",
        LOW,
        lambda t: set_field(t, "Expiration date", "2027-02-21"),
        ("expiration_date",),
    ),
    # Approvals checklist.
    Case("approvals section missing", LOW, lambda t: drop_section(t, "Approvals"), ("approvals",)),
    Case(
        "an approval item missing",
        LOW,
        lambda t: t.replace("- [ ] Policy owner approval\n", ""),
        ("approvals",),
    ),
    Case(
        "an approval item indented",
        LOW,
        lambda t: t.replace(
            "- [ ] Policy owner approval", "  - [ ] Sub\n    - [ ] Policy owner approval"
        ),
        ("approvals",),
    ),
    Case(
        "an approval item twice",
        LOW,
        lambda t: t.replace(
            "- [ ] Policy owner approval",
            "- [ ] Policy owner approval\n- [ ] policy owner  approval",
        ),
        ("approvals",),
    ),
    Case(
        "an approval item only inside a code fence",
        LOW,
        lambda t: t.replace("- [ ] Policy owner approval", "```\n- [ ] Policy owner approval\n```"),
        ("approvals",),
    ),
    Case(
        "an approval item only inside an HTML comment",
        LOW,
        lambda t: t.replace(
            "- [ ] Policy owner approval", "<!--\n- [ ] Policy owner approval\n-->"
        ),
        ("approvals",),
    ),
    Case(
        # The review appends the item (issue 23, point 5): no reason for needs-info.
        "critical in production without the escalation item",
        "critical_production",
        lambda t: t.replace("- [ ] CISO escalation approval\n", ""),
        (),
        (Flag.NEEDS_CISO_ESCALATION,),
    ),
    Case(
        "the escalation item twice",
        "critical_production",
        lambda t: t.replace(
            "- [ ] CISO escalation approval\n",
            "- [ ] CISO escalation approval\n- [ ] CISO escalation approval\n",
        ),
        ("approvals",),
        (Flag.NEEDS_CISO_ESCALATION,),
    ),
    # Renewals.
    Case(
        "renewal flag without a Renews section",
        LOW,
        same,
        ("renews", "why_timeline_not_met", "updated_remediation_plan"),
        renewal=True,
    ),
    Case(
        "renewal pointing at nothing",
        "renewal",
        lambda t: set_field(t, "Renews", "the old one"),
        ("renews",),
    ),
    # Several problems at once, in template order.
    Case(
        "three problems in one answer",
        LOW,
        lambda t: set_field(
            set_field(set_field(t, "Department", "x"), "Risk level", "y"), "Expiration date", "z"
        ),
        ("department", "risk_level", "expiration_date"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validation_table(case: Case, config: Config) -> None:
    result = check(case.edit(body(case.base)), config, renewal=case.renewal)
    assert tuple(p.field for p in result.problems) == case.problems
    assert result.flags == case.flags
    assert (result.request is not None) == (not case.problems)
    for problem in result.problems:
        assert problem.what.endswith((".", "?")), problem
        assert problem.fix, problem


def test_values_are_normalised_to_the_config_spelling(config: Config) -> None:
    text = set_field(body(LOW), "Department", "**FINANCE**")
    request = check(text, config).request
    assert request is not None
    assert request.department == "finance"
    assert request.risk_level is RiskLevel.LOW
    assert request.data_classification is DataClassification.YELLOW
    assert request.expiration_date == date(2027, 1, 15)
    assert request.alternatives_considered is not None
    assert request.summary.startswith("Keep the legacy reporting VM")


def test_messages_say_what_to_write(config: Config) -> None:
    result = check(set_field(body(LOW), "Expiration date", "2027-03-01"), config)
    (problem,) = result.problems
    assert problem.message == (
        "The expiration date 2027-03-01 is more than 90 days after the request (2026-11-22). "
        "Choose 2027-02-20 or earlier; if the fix takes longer, request a renewal before this "
        "exception expires."
    )
    result = check(set_field(body(LOW), "Department", "Marketing"), config)
    assert result.problems[0].message == (
        "`Marketing` is not a known department. Write one of: engineering, finance, people, sales."
    )


def test_expiry_limit_counts_from_creation_not_today(config: Config) -> None:
    text = body(LOW)  # expires 2027-01-15
    created = datetime(2026, 10, 1, tzinfo=UTC)  # limit 2026-12-30
    result = validate(parse_body(text), config, created_at=created, now=NOW)
    assert [p.field for p in result.problems] == ["expiration_date"]


@pytest.mark.parametrize("expiry", ["15/01/2027", "2026-11-22", "2026-10-01"])
def test_expiry_messages_do_not_change_from_one_day_to_the_next(
    config: Config, expiry: str
) -> None:
    """The problems note quotes them: one naming today would be edited every day."""
    text = set_field(body(LOW), "Expiration date", expiry)
    created = NOW - timedelta(days=3)
    days = [
        validate(parse_body(text), config, created_at=created, now=NOW + timedelta(days=n))
        for n in range(3)
    ]
    (first,), (second,), (third,) = (result.problems for result in days)
    assert first == second == third
    assert "2027-02-17" in first.message  # the latest expiry allowed, 90 days after the request


def test_calendar_time_zone_decides_today(config: Config) -> None:
    # 23:30 UTC on the 22nd is already the 23rd in Tokyo: an expiry on the 23rd is then "today".
    from dataclasses import replace

    from exception_bot.domain.settings import CalendarSettings

    tokyo = replace(config, calendar=CalendarSettings(timezone="Asia/Tokyo"))
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    text = set_field(body(LOW), "Expiration date", "2026-11-23")
    assert check_at(text, config, late).valid
    assert not check_at(text, tokyo, late).valid


def check_at(text: str, config: Config, when: datetime) -> Validation:
    return validate(parse_body(text), config, created_at=when, now=when)


def test_renewal_fields_are_kept(config: Config) -> None:
    request = check(body("renewal"), config).request
    assert request is not None
    assert request.renews == RenewalRef(iid=42)
    assert request.why_timeline_not_met == "The vendor slipped their January release to February."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("#123", RenewalRef(iid=123)),
        (
            "https://gitlab.example.com/security/exceptions/-/issues/7",
            RenewalRef(iid=7, project_path="security/exceptions"),
        ),
        (
            "https://gitlab.example.com/a/b/c/issues/9#note_1",
            RenewalRef(iid=9, project_path="a/b/c"),
        ),
        ("https://gitlab.example.com/a/b/-/work_items/12", RenewalRef(iid=12, project_path="a/b")),
        ("EXC-0042", RenewalRef(exception_id="EXC-0042")),
        ("exc-pay-0042", RenewalRef(exception_id="EXC-PAY-0042")),
        ("42", None),
        ("EXC-42", None),
        ("#", None),
        ("see the old issue", None),
    ],
)
def test_renewal_references(raw: str, expected: RenewalRef | None) -> None:
    assert parse_renewal_ref(raw) == expected


def test_forbid_policy_makes_critical_production_a_problem(config: Config) -> None:
    from dataclasses import replace

    from exception_bot.domain.settings import CriticalInProduction

    forbid = replace(
        config, limits=replace(config.limits, critical_in_production=CriticalInProduction.FORBID)
    )
    result = check(body("critical_production"), forbid)
    assert [p.field for p in result.problems] == ["risk_level"]
    assert result.flags == ()


def test_empty_body_lists_every_required_field(config: Config) -> None:
    result = check("", config)
    fields = [p.field for p in result.problems]
    assert fields == [
        "summary",
        "requester_contact",
        "department",
        "policy",
        "scope",
        "environment",
        "risk_level",
        "justification",
        "risk_assessment",
        "compensating_controls",
        "remediation_plan",
        "expiration_date",
        "approvals",
    ]


def test_no_problem_message_mentions_anyone(config: Config) -> None:
    """Every guidance sentence is posted as the bot's own Markdown: an example like "@username"
    in it would notify the GitLab user of that name, once per request that leaves it empty."""
    for text in ("", "## Requester contact\n\n\n## Renews\n\n"):
        for renewal in (False, True):
            result = validate(parse_body(text), config, created_at=NOW, now=NOW, renewal=renewal)
            for problem in result.problems:
                assert mentions(problem.message) == [], problem


def test_oversized_body_is_one_problem(config: Config) -> None:
    text = body(LOW) + "x" * MAX_DESCRIPTION_CHARS
    result = check(text, config)
    assert [p.field for p in result.problems] == ["description"]


def test_one_megabyte_of_task_items_is_refused_quickly(config: Config) -> None:
    # A hostile body at GitLab's description limit must not be parsed item by item.
    result = check("- [ ] a\n" * 131_072, config)
    assert [p.field for p in result.problems] == ["description"]
