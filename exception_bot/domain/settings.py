"""The configuration as the rules read it: frozen values, no YAML, no files.

``exception_bot.config`` (the shell) reads the YAML file, checks every key and builds these;
the core (``exception_bot.domain``) only reads them. A value built here in code, as the tests
do, skips those checks: build through ``config.parse_config`` to have them.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from exception_bot.domain.labels import LabelScheme
from exception_bot.domain.model import RiskLevel


class DurationUnit(StrEnum):
    MINUTES = "m"
    HOURS = "h"
    DAYS = "d"
    BUSINESS_DAYS = "bd"


@dataclass(frozen=True)
class Duration:
    """A review deadline length: clock minutes/hours, calendar days or business days."""

    amount: int
    unit: DurationUnit

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"


class CriticalInProduction(StrEnum):
    """What a Critical request for a production environment needs (docs/explanation/routing.md)."""

    ESCALATE = "escalate"  # allowed only through the CISO escalation stage
    FORBID = "forbid"  # a validation problem: such requests cannot be made
    ALLOW = "allow"  # no special handling


@dataclass(frozen=True)
class ProjectRef:
    """A requests project and the prefix of the register ids of its issues."""

    path: str
    id_prefix: str


@dataclass(frozen=True)
class GitLabSettings:
    requests_projects: tuple[ProjectRef, ...]
    register_project: str
    # The username whose token alone may run the bot: the bot knows its own notes, labels and
    # commits by their author, so another user's token would take them for someone else's.
    bot_user: str
    register_branch: str = "main"
    # The least GitLab access level (doc/api/members.md, Gitlab::Access) at which a member of
    # a role's group counts as holding the role: members/all also lists Guests, and members of
    # groups the group is shared with, whom the share may cap at Guest. Reporter is the least
    # level that reads a confidential request (app/policies/issue_policy.rb; Planner from 17.7).
    approver_access_level: int = 20


# The variable the webhooks' secret token is in when ``webhooks.secret_env`` names none.
WEBHOOK_SECRET_ENV = "EXCEPTION_BOT_WEBHOOK_SECRET"  # noqa: S105 - a variable's name


@dataclass(frozen=True)
class WebhookSettings:
    """``webhooks``: where GitLab sends the events ``serve`` answers (``url``), the variable
    holding their secret token, and whether ``setup`` registers the hooks on each configured
    project or once on ``group`` (group hooks are a Premium feature)."""

    url: str
    secret_env: str = WEBHOOK_SECRET_ENV
    scope: str = "project"  # "project" or "group"
    group: str | None = None


@dataclass(frozen=True)
class RoleSpec:
    """Who holds a role: named users, members of a group, or a per-department/-policy map."""

    name: str
    title: str
    users: tuple[str, ...] = ()
    group: str | None = None
    by_department: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    by_policy: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    # The role a stage of this role falls to when no holder may approve the request (its
    # requester, or someone who approved for another role): None for the CISO role
    # (docs/explanation/approvals.md, "Fallbacks").
    fallback: str | None = None


@dataclass(frozen=True)
class Delegation:
    """``from_user`` hands ``roles`` to ``to_user`` until ``until`` (inclusive, in the config
    calendar's timezone), from ``since`` when given: a tick of the delegate counts for the
    delegator's role then (docs/explanation/approvals.md, "Delegation"). Lower-case names."""

    from_user: str
    to_user: str
    roles: tuple[str, ...]
    until: date
    since: date | None = None

    def covers(self, role: str, day: date) -> bool:
        """Whether the delegation hands over ``role`` on ``day``."""
        started = self.since is None or self.since <= day
        return role in self.roles and started and day <= self.until


@dataclass(frozen=True)
class Limits:
    max_duration_days: int = 90
    max_renewals: int = 2
    critical_in_production: CriticalInProduction = CriticalInProduction.ESCALATE
    appeal_window_days: int = 14
    production_environments: tuple[str, ...] = ("production",)
    # The bot's own pace, under GitLab.com's limits: API requests and note creations a minute.
    requests_per_minute: int = 2000
    notes_per_minute: int = 60
    # An approved exception not activated this many days after approval gets a reminder, and
    # this many more later goes to the CISO (docs/explanation/escalations.md).
    activation_days: int = 14
    activation_escalation_days: int = 7


@dataclass(frozen=True)
class Escalation:
    ciso_role: str = "ciso"
    checklist_item: str = "CISO escalation approval"


@dataclass(frozen=True)
class Appeal:
    """Appeal stages (Legal, then CEO and CFO) and the items of the ``## Appeal`` checklist."""

    stages: tuple[tuple[str, ...], ...]
    checklist: Mapping[str, str]


@dataclass(frozen=True)
class CalendarSettings:
    timezone: str = "UTC"
    workdays: frozenset[int] = frozenset(range(5))  # date.weekday(): Monday is 0
    holidays: frozenset[date] = frozenset()  # the config's own days off
    # A country's public holidays (calendar.country): the shell looks them up in the `holidays`
    # package (config.CountryHolidays); the core only asks whether a day is one. Hashable, as
    # the calendar is a cache key.
    public_holidays: Container[date] = frozenset()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class RegisterSettings:
    directory: str = "exceptions"
    archive_directory: str = "archive"
    include_confidential_details: bool = False


@dataclass(frozen=True)
class Config:
    gitlab: GitLabSettings
    departments: tuple[str, ...]
    policies: tuple[str, ...]
    environments: tuple[str, ...]
    roles: Mapping[str, RoleSpec]
    checklist: Mapping[str, str]
    approval_matrix: Mapping[RiskLevel, tuple[tuple[str, ...], ...]]
    review_sla: Mapping[str, Duration]
    limits: Limits
    escalation: Escalation
    appeal: Appeal
    calendar: CalendarSettings
    reminder_days: tuple[int, ...]
    register: RegisterSettings
    allow_same_person_multiple_roles: bool
    labels: LabelScheme
    # Where `run` keeps what it saw of each issue, to skip unchanged ones (None: off): a path
    # as the config wrote it, which the shell opens.
    state_file: str | None = None
    # How long a ticked box may wait for the checklist note that names who ticked it: GitLab
    # writes the note after saving the description, not with it (approvals.note_grace).
    note_grace: timedelta = timedelta(minutes=2)
    # Approvers' deputies for a period (docs/explanation/approvals.md, "Delegation").
    delegations: tuple[Delegation, ...] = ()
    # Roles whose holders may assess the risk level while the role is on the request's route
    # (risk_assessment.roles; docs/explanation/routing.md).
    risk_assessors: tuple[str, ...] = ()
    # Where GitLab's webhooks go and their secret's variable (None: no webhooks section).
    webhooks: WebhookSettings | None = None
    # A digest of the file it was read from (load_config): a state file written under another
    # config is not trusted, since its wake-up times and facts came from other rules.
    digest: str = ""

    def stages(self, risk: RiskLevel) -> tuple[tuple[str, ...], ...]:
        return self.approval_matrix[risk]

    def matrix_roles(self) -> tuple[str, ...]:
        """Every role some risk level's route needs, in first-seen order."""
        seen: dict[str, None] = {}
        for risk in RiskLevel:
            for stage in self.approval_matrix[risk]:
                seen.update(dict.fromkeys(stage))
        return tuple(seen)

    def is_production(self, environment: str) -> bool:
        return environment in self.limits.production_environments
