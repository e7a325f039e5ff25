"""Configuration: YAML in, the core's frozen settings (``domain.settings``) out.

Every key of the file is checked before any command acts on it, and every problem is reported at
once, each naming its key path and the fix (``approval_matrix.high[1][0]: unknown role 'cisco'
(known: ciso, ...)``). A config file stands on its own: the policy defaults
(docs/reference/config.md) fill in optional sections, but people (roles) are never inherited from a
default file.

This is the shell's side: reading the file, the messages that name a key, and the look-up of a
country's public holidays in the `holidays` package. The values it builds hold no I/O.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml

from exception_bot.config_risk import risk_assessors
from exception_bot.config_stand_ins import delegations, with_fallbacks
from exception_bot.config_webhooks import webhook_settings
from exception_bot.domain.item_text import markup_problem
from exception_bot.domain.labels import (
    DEFAULT_INTAKE,
    DEFAULT_PREFIX,
    LabelScheme,
    default_names,
    scope,
)
from exception_bot.domain.model import RiskLevel
from exception_bot.domain.settings import (
    Appeal,
    CalendarSettings,
    Config,
    CriticalInProduction,
    Duration,
    DurationUnit,
    Escalation,
    GitLabSettings,
    Limits,
    ProjectRef,
    RegisterSettings,
    RoleSpec,
)
from exception_bot.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/exception-bot.yml")
# In the package, a link to the repository's config/exception-bot.yml, which is the file the
# wheel ships (pyproject.toml's package data): the default for a bot installed, not cloned.
_SHIPPED_CONFIG = Path(__file__).parent / "defaults" / "exception-bot.yml"
CONFIG_ENV_VAR = "EXCEPTION_BOT_CONFIG"

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_PATH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
_ROLE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*(m|h|d|bd)\s*$")
# Words that read better in capitals when a role name is turned into a title.
_ACRONYMS = frozenset({"ciso", "ceo", "cfo", "cto", "cio", "coo", "vp", "it", "hr", "dpo"})


@dataclass(frozen=True)
class CountryHolidays:
    """The public holidays of a country (ISO 3166) and, optionally, of one of its states or
    provinces, from the `holidays` package: what ``calendar.country`` adds to the config's own
    ``calendar.holidays``. Equal and hashable by its names, as the calendar is a cache key."""

    country: str
    subdivision: str | None = None

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in _country_holidays(self.country, self.subdivision)


@cache
def _country_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # The object fills in each year the first time a date of that year is asked for.
    return holidays.country_holidays(country, subdiv=subdivision)


DEFAULT_REVIEW_SLA: Mapping[str, Duration] = MappingProxyType(
    {
        "critical": Duration(4, DurationUnit.HOURS),
        "high": Duration(1, DurationUnit.BUSINESS_DAYS),
        "medium": Duration(3, DurationUnit.BUSINESS_DAYS),
        "low": Duration(5, DurationUnit.BUSINESS_DAYS),
    }
)
# Stages outside the matrix whose deadline defaults to the Critical one (docs/reference/config.md,
# review_sla).
EXTRA_SLA_KEYS = ("escalation", "appeal")
DEFAULT_APPEAL_STAGES = (("legal",), ("ceo", "cfo"))


def role_title(role: str) -> str:
    """``vp_engineering`` -> ``VP Engineering``; ``department_head`` -> ``Department Head``."""
    return " ".join(w.upper() if w in _ACRONYMS else w.capitalize() for w in role.split("_"))


def default_appeal_item(role: str, first_stage: bool) -> str:
    """Legal writes an opinion first; the later stages decide (docs/explanation/after-approval.md,
    Appeals)."""
    return f"{role_title(role)} opinion recorded" if first_stage else f"{role_title(role)} decision"


# --------------------------------------------------------------------------------------------
# Loading


def shipped_config() -> Path:
    """The default config installed with the package (the policy defaults and the demo's
    people): what commands use when no config is given outside a clone."""
    return _SHIPPED_CONFIG


def load_config(path: Path) -> Config:
    """Read and validate a config file; raise :class:`ConfigError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such config file; pass --config PATH or set {CONFIG_ENV_VAR}"]
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError([f"{path}: cannot read the config file ({err})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError([f"{path}: not valid YAML ({_yaml_position(err)})"]) from None
    # PyYAML raises ValueError for a date that does not exist (holidays: [2026-02-30]) and
    # RecursionError for nesting too deep: neither is a YAMLError.
    except ValueError as err:
        raise ConfigError([f"{path}: not valid YAML ({err})"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: not valid YAML (nested too deep)"]) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return replace(parse_config(data), digest=digest)


def parse_config(data: Any) -> Config:
    """Validate an already-parsed YAML document."""
    reader = _Reader()
    config = _build(reader, data)
    if reader.errors or config is None:
        raise ConfigError(reader.errors or ["config: the file is empty"])
    return config


def _yaml_position(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or "syntax error"
    if mark is None:
        return str(problem)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


class _Reader:
    """Walks the YAML tree, collecting ``path: problem. fix`` lines instead of stopping."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def mapping(
        self, value: Any, path: str, known: Sequence[str], required: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping with keys {', '.join(known)}")
            return None
        for key in value:
            if str(key) not in known:
                self.error(_join(path, str(key)), f"unknown key{_did_you_mean(str(key), known)}")
        for key in required:
            if key not in value:
                self.error(
                    _join(path, key),
                    "required key is missing (config/exception-bot.yml has an example)",
                )
        return {str(k): v for k, v in value.items() if str(k) in known}

    def string(self, value: Any, path: str) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.error(path, "expected a text value")
            return None
        text = str(value).strip()
        if not text or "\n" in text:
            self.error(path, "expected a non-empty, single-line text value")
            return None
        return text

    def string_list(self, value: Any, path: str, *, allow_single: bool = False) -> tuple[str, ...]:
        if allow_single and isinstance(value, (str, int)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not value:
            self.error(path, "expected a non-empty list")
            return ()
        items = [self.string(item, f"{path}[{i}]") for i, item in enumerate(value)]
        present: list[str] = []
        for i, item in enumerate(items):
            if item is not None and item.lower() in (p.lower() for p in present):
                self.error(f"{path}[{i}]", f"'{item}' is listed twice; remove the repeat")
            elif item is not None:
                present.append(item)
        return tuple(present)

    def integer(self, value: Any, path: str, minimum: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"expected a whole number >= {minimum}, got {value!r}")
            return None
        if value < minimum:
            self.error(path, f"must be >= {minimum}, got {value}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, f"expected true or false, got {value!r}")
            return None
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    known_list = ", ".join(known)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {known_list})"


# --------------------------------------------------------------------------------------------
# Sections

_TOP_KEYS = (
    "gitlab",
    "departments",
    "policies",
    "environments",
    "roles",
    "checklist",
    "approval_matrix",
    "review_sla",
    "limits",
    "escalation",
    "appeal",
    "calendar",
    "reminders",
    "register",
    "approvals",
    "labels",
    "state_file",
    "delegations",
    "webhooks",
    "risk_assessment",
)
_REQUIRED_TOP = (
    "gitlab",
    "departments",
    "policies",
    "environments",
    "roles",
    "checklist",
    "approval_matrix",
)


def _build(r: _Reader, data: Any) -> Config | None:
    if data is None:
        return None
    top = r.mapping(data, "", _TOP_KEYS, _REQUIRED_TOP)
    if top is None:
        return None
    # A missing required section is reported once; checks that depend on it are skipped.
    departments = _optional_list(r, top, "departments")
    policies = _optional_list(r, top, "policies")
    environments = _optional_list(r, top, "environments")
    roles = with_fallbacks(r, top.get("roles"), _roles(r, top.get("roles"), departments, policies))
    matrix = _matrix(r, top.get("approval_matrix"), roles)
    escalation = _escalation(r, top.get("escalation", {}), roles)
    appeal = _appeal(r, top.get("appeal", _default_appeal(r, roles)), roles)
    checklist = _checklist(r, top.get("checklist"), roles, matrix, escalation, appeal)
    config = Config(
        gitlab=_gitlab(r, top.get("gitlab")),
        departments=departments,
        policies=policies,
        environments=environments,
        roles=MappingProxyType(roles),
        checklist=MappingProxyType(checklist),
        approval_matrix=MappingProxyType(matrix),
        review_sla=_review_sla(r, top.get("review_sla", {})),
        limits=_limits(r, top.get("limits", {}), environments),
        escalation=escalation,
        appeal=appeal,
        calendar=_calendar(r, top.get("calendar", {})),
        reminder_days=_reminders(r, top.get("reminders", {})),
        register=_register(r, top.get("register", {})),
        allow_same_person_multiple_roles=_approvals(r, top.get("approvals", {})),
        labels=_labels(r, top.get("labels", {})),
        state_file=_state_file(r, top.get("state_file")),
        note_grace=_note_grace(r, top.get("approvals", {})),
        delegations=delegations(r, top.get("delegations"), roles),
        risk_assessors=risk_assessors(r, top.get("risk_assessment"), roles),
    )
    hooks = webhook_settings(r, top.get("webhooks"), config.gitlab)
    config = replace(config, webhooks=hooks) if hooks else config
    return None if r.errors else config


def _state_file(r: _Reader, value: Any) -> str | None:
    if value is None:
        return None
    return r.string(value, "state_file")


def _optional_list(r: _Reader, top: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return r.string_list(top[key], key) if key in top else ()


def _gitlab(r: _Reader, value: Any) -> GitLabSettings:
    if value is None:
        return GitLabSettings((), "?", "?")
    known = (
        "requests_project",
        "register_project",
        "bot_user",
        "register_branch",
        "approver_access_level",
    )
    required = ("requests_project", "register_project", "bot_user")
    section = r.mapping(value, "gitlab", known, required) or {}
    projects = _requests_projects(r, section.get("requests_project", "?"))
    register = _project_path(r, section.get("register_project", "?"), "gitlab.register_project")
    bot = _username(r, section["bot_user"], "gitlab.bot_user") if "bot_user" in section else None
    branch = r.string(section.get("register_branch", "main"), "gitlab.register_branch")
    level = _access_level(r, section.get("approver_access_level", "reporter"))
    return GitLabSettings(projects, register or "?", bot or "?", branch or "main", level)


# GitLab's access levels by role name (doc/api/members.md, "Roles"; Planner since 17.7).
ACCESS_LEVELS = {
    "guest": 10,
    "planner": 15,
    "reporter": 20,
    "developer": 30,
    "maintainer": 40,
    "owner": 50,
}


def _access_level(r: _Reader, value: Any) -> int:
    level = ACCESS_LEVELS.get(str(value).lower())
    if level is None:
        r.error(
            "gitlab.approver_access_level",
            f"unknown access level '{value}' (use one of {', '.join(ACCESS_LEVELS)})",
        )
        return ACCESS_LEVELS["reporter"]
    return level


def _project_path(r: _Reader, value: Any, path: str) -> str | None:
    text = r.string(value, path)
    if text is not None and not (text.isdigit() or _PATH_RE.match(text)):
        r.error(path, f"'{text}' is not a project path like 'security/exceptions' or an id")
        return None
    return text


def _requests_projects(r: _Reader, value: Any) -> tuple[ProjectRef, ...]:
    path = "gitlab.requests_project"
    if not isinstance(value, list):
        single = _project_path(r, value, path)
        return (ProjectRef(single, "EXC-"),) if single else ()
    refs: list[ProjectRef] = []
    for i, item in enumerate(value):
        item_path = f"{path}[{i}]"
        if not isinstance(item, dict):
            r.error(item_path, "with several projects, give each as {path: ..., id_prefix: ...}")
            continue
        entry = r.mapping(item, item_path, ("path", "id_prefix"), ("path", "id_prefix")) or {}
        project = _project_path(r, entry.get("path", "?"), f"{item_path}.path")
        prefix = r.string(entry.get("id_prefix", "?"), f"{item_path}.id_prefix")
        if project and prefix:
            refs.append(ProjectRef(project, prefix))
    prefixes = [ref.id_prefix for ref in refs]
    if len(set(prefixes)) != len(prefixes):
        r.error(path, "each project needs its own id_prefix, or register ids would collide")
    if not value:
        r.error(path, "name at least one project")
    return tuple(refs)


_ROLE_KEYS = ("users", "group", "by_department", "by_policy", "title", "fallback")


def _roles(
    r: _Reader, value: Any, departments: Sequence[str], policies: Sequence[str]
) -> dict[str, RoleSpec]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        r.error("roles", "expected a mapping of role name -> {users | group | by_department ...}")
        return {}
    roles: dict[str, RoleSpec] = {}
    for raw_name, spec in value.items():
        name = str(raw_name)
        if not _ROLE_NAME_RE.match(name):
            r.error(f"roles.{name}", "role names are lower_snake_case, like security_lead")
            continue
        # An invalid role is still a known name, so references to it raise no second error.
        role = _role(r, name, spec, departments, policies)
        roles[name] = role or RoleSpec(name, role_title(name))
    return roles


def _role(
    r: _Reader, name: str, value: Any, departments: Sequence[str], policies: Sequence[str]
) -> RoleSpec | None:
    path = f"roles.{name}"
    spec = r.mapping(value, path, _ROLE_KEYS)
    if spec is None:
        return None
    forms = [key for key in ("users", "group", "by_department", "by_policy") if key in spec]
    if not forms:
        r.error(path, "say who holds the role: users, group, by_department or by_policy")
        return None
    if len(forms) > 1 and not set(forms) <= {"users", "group"}:
        r.error(path, f"use by_department or by_policy alone, not with {', '.join(forms)}")
        return None
    users = _usernames(r, spec["users"], f"{path}.users") if "users" in spec else ()
    group = _project_path(r, spec["group"], f"{path}.group") if "group" in spec else None
    title = r.string(spec.get("title", role_title(name)), f"{path}.title") or name
    by_department = _holder_map(r, spec, "by_department", path, departments, "departments")
    by_policy = _holder_map(r, spec, "by_policy", path, policies, "policies")
    return RoleSpec(name, title, users, group, by_department, by_policy)


def _username(r: _Reader, value: Any, path: str) -> str | None:
    text = r.string(value, path)
    name = text.removeprefix("@") if text is not None else None
    if text is not None and not (name and _USERNAME_RE.match(name)):
        r.error(path, f"'{text}' is not a GitLab username")
        return None
    return name


def _usernames(r: _Reader, value: Any, path: str) -> tuple[str, ...]:
    names = r.string_list(value, path, allow_single=True)
    out: list[str] = []
    for i, raw in enumerate(names):
        name = raw.removeprefix("@")
        if _USERNAME_RE.match(name):
            out.append(name)
        else:
            r.error(f"{path}[{i}]", f"'{raw}' is not a GitLab username")
    return tuple(out)


def _holder_map(
    r: _Reader,
    spec: Mapping[str, Any],
    key: str,
    path: str,
    allowed: Sequence[str],
    allowed_name: str,
) -> Mapping[str, tuple[str, ...]]:
    if key not in spec:
        return MappingProxyType({})
    value = spec[key]
    map_path = f"{path}.{key}"
    if not isinstance(value, dict):
        r.error(map_path, f"expected a mapping of each of the {allowed_name} to usernames")
        return MappingProxyType({})
    if not allowed:  # the list itself is missing or wrong; that error is enough
        return MappingProxyType({})
    out: dict[str, tuple[str, ...]] = {}
    for raw, holders in value.items():
        item = str(raw)
        if item not in allowed:
            hint = _did_you_mean(item, allowed)
            r.error(f"{map_path}.{item}", f"not one of the configured {allowed_name}{hint}")
            continue
        out[item] = _usernames(r, holders, f"{map_path}.{item}")
    for item in allowed:
        if item not in value:
            r.error(map_path, f"no one is named for '{item}'; add {item}: [username]")
    return MappingProxyType(out)


def _known_role(r: _Reader, value: Any, path: str, roles: Mapping[str, RoleSpec]) -> str | None:
    name = r.string(value, path)
    if not roles:  # the roles section itself is wrong; that error is enough
        return None
    if name is not None and name not in roles:
        r.error(path, f"unknown role '{name}'{_did_you_mean(name, sorted(roles))}")
        return None
    return name


def _stages(
    r: _Reader, value: Any, path: str, roles: Mapping[str, RoleSpec]
) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list) or not value:
        r.error(path, "expected a list of stages, each a list of roles: [[department_head], ...]")
        return ()
    stages: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for i, stage in enumerate(value):
        stage_value = stage if isinstance(stage, list) else [stage]
        if not stage_value:
            r.error(f"{path}[{i}]", "a stage needs at least one role")
        names: list[str] = []
        for j, role in enumerate(stage_value):
            name = _known_role(r, role, f"{path}[{i}][{j}]", roles)
            if name is not None and name in seen:
                r.error(f"{path}[{i}][{j}]", f"role '{name}' is in this route twice")
            elif name is not None:
                seen.add(name)
                names.append(name)
        stages.append(tuple(names))
    return tuple(stages)


def _matrix(
    r: _Reader, value: Any, roles: Mapping[str, RoleSpec]
) -> dict[RiskLevel, tuple[tuple[str, ...], ...]]:
    levels = [risk.value for risk in RiskLevel]
    if value is None:
        return {}
    section = r.mapping(value, "approval_matrix", levels, levels) or {}
    return {
        RiskLevel(level): _stages(r, stages, f"approval_matrix.{level}", roles)
        for level, stages in section.items()
    }


def _default_appeal(r: _Reader, roles: Mapping[str, RoleSpec]) -> list[list[str]]:
    missing = [role for stage in DEFAULT_APPEAL_STAGES for role in stage if role not in roles]
    if roles and missing:
        r.error(
            "appeal",
            f"the default appeal route [[legal], [ceo, cfo]] needs the roles "
            f"{', '.join(missing)}; add them under roles, or write your own appeal route",
        )
        return []
    return [list(stage) for stage in DEFAULT_APPEAL_STAGES]


def _escalation(r: _Reader, value: Any, roles: Mapping[str, RoleSpec]) -> Escalation:
    section = r.mapping(value, "escalation", ("ciso_role", "checklist_item")) or {}
    default = Escalation()
    role = _known_role(
        r, section.get("ciso_role", default.ciso_role), "escalation.ciso_role", roles
    )
    item = r.string(
        section.get("checklist_item", default.checklist_item), "escalation.checklist_item"
    )
    return Escalation(role or default.ciso_role, item or default.checklist_item)


def _appeal(r: _Reader, value: Any, roles: Mapping[str, RoleSpec]) -> Appeal:
    # The appeal may be a bare list of stages (docs/reference/config.md); a mapping may also rename
    # the items.
    if isinstance(value, dict):
        section = r.mapping(value, "appeal", ("stages", "checklist"), ("stages",)) or {}
        stages = _stages(r, section.get("stages", []), "appeal.stages", roles)
        texts = section.get("checklist", {})
    elif value == []:  # the default route could not be used; _default_appeal said why
        stages, texts = (), {}
    else:
        stages = _stages(r, value, "appeal", roles)
        texts = {}
    if not isinstance(texts, dict):
        r.error("appeal.checklist", "expected a mapping of role -> checklist item text")
        texts = {}
    checklist: dict[str, str] = {}
    for i, stage in enumerate(stages):
        for role in stage:
            text = texts.get(role, default_appeal_item(role, first_stage=i == 0))
            checklist[role] = r.string(text, f"appeal.checklist.{role}") or role
    for role in texts:
        if role not in checklist:
            r.error(f"appeal.checklist.{role}", "this role is in no appeal stage")
    return Appeal(stages, MappingProxyType(checklist))


def _checklist(
    r: _Reader,
    value: Any,
    roles: Mapping[str, RoleSpec],
    matrix: Mapping[RiskLevel, tuple[tuple[str, ...], ...]],
    escalation: Escalation,
    appeal: Appeal,
) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        r.error("checklist", "expected a mapping of role -> approval checklist item text")
        return {}
    items: dict[str, str] = {}
    for raw, text in value.items():
        role = str(raw)
        if role not in roles:
            if roles:
                r.error(f"checklist.{role}", f"unknown role{_did_you_mean(role, sorted(roles))}")
            continue
        checked = r.string(text, f"checklist.{role}")
        if checked is not None:
            items[role] = checked
    needed = {role for stages in matrix.values() for stage in stages for role in stage}
    for role in sorted(needed - items.keys()):
        r.error(
            "checklist",
            f"role '{role}' is in the approval matrix but has no item; add "
            f"{role}: {role_title(role)} approval",
        )
    _no_duplicate_texts(r, items, escalation, appeal)
    return items


def _no_duplicate_texts(
    r: _Reader, items: Mapping[str, str], escalation: Escalation, appeal: Appeal
) -> None:
    # Items are matched to roles by text (GitLab's checklist note names only the text), so two
    # roles sharing a text would be ambiguous. The same role's item under ## Approvals and
    # under ## Appeal may share it: whoever ticks either holds that one role.
    owners: dict[str, tuple[str, str, str]] = {}  # text -> (path, role, section)
    named = [(f"checklist.{role}", role, "approvals", text) for role, text in items.items()]
    named.append(
        ("escalation.checklist_item", escalation.ciso_role, "approvals", escalation.checklist_item)
    )
    named += [
        (f"appeal.checklist.{role}", role, "appeal", text)
        for role, text in appeal.checklist.items()
    ]
    for path, role, section, text in named:
        problem = markup_problem(text)
        if problem is not None:
            r.error(path, problem)
        key = " ".join(text.lower().split())
        owner = owners.setdefault(key, (path, role, section))
        if owner[0] != path and (owner[1] != role or owner[2] == section):
            r.error(path, f"'{text}' is also the text of {owner[0]}; every item needs its own")


def _duration(r: _Reader, value: Any, path: str) -> Duration | None:
    match = _DURATION_RE.match(str(value)) if isinstance(value, (str, int)) else None
    if match is None or int(match.group(1)) == 0:
        r.error(
            path,
            f"'{value}' is not a duration; write a number and a unit: 30m, 4h, 2d (calendar "
            "days) or 3bd (business days)",
        )
        return None
    return Duration(int(match.group(1)), DurationUnit(match.group(2)))


def _review_sla(r: _Reader, value: Any) -> Mapping[str, Duration]:
    levels = [risk.value for risk in RiskLevel]
    section = r.mapping(value, "review_sla", [*levels, *EXTRA_SLA_KEYS]) or {}
    slas = dict(DEFAULT_REVIEW_SLA)
    for key, raw in section.items():
        duration = _duration(r, raw, f"review_sla.{key}")
        if duration is not None:
            slas[key] = duration
    for key in EXTRA_SLA_KEYS:
        slas.setdefault(key, slas["critical"])
    return MappingProxyType(slas)


def _limits(r: _Reader, value: Any, environments: Sequence[str]) -> Limits:
    known = (
        "max_duration_days",
        "max_renewals",
        "critical_in_production",
        "appeal_window_days",
        "production_environments",
        "requests_per_minute",
        "notes_per_minute",
        "activation_days",
        "activation_escalation_days",
    )
    section = r.mapping(value, "limits", known) or {}
    default = Limits()
    max_days = r.integer(section.get("max_duration_days", 90), "limits.max_duration_days", 1)
    renewals = r.integer(section.get("max_renewals", 2), "limits.max_renewals", 0)
    window = r.integer(section.get("appeal_window_days", 14), "limits.appeal_window_days", 0)
    policy = str(section.get("critical_in_production", "escalate"))
    if policy not in {p.value for p in CriticalInProduction}:
        r.error(
            "limits.critical_in_production",
            f"'{policy}' is not one of {', '.join(p.value for p in CriticalInProduction)}",
        )
        policy = "escalate"
    production = _production_environments(r, section, environments)
    rate = r.integer(section.get("requests_per_minute", 2000), "limits.requests_per_minute", 1)
    notes = r.integer(section.get("notes_per_minute", 60), "limits.notes_per_minute", 1)
    activation = r.integer(section.get("activation_days", 14), "limits.activation_days", 1)
    escalation = r.integer(
        section.get("activation_escalation_days", 7), "limits.activation_escalation_days", 0
    )
    return Limits(
        max_days or default.max_duration_days,
        default.max_renewals if renewals is None else renewals,
        CriticalInProduction(policy),
        default.appeal_window_days if window is None else window,
        production,
        rate or default.requests_per_minute,
        notes or default.notes_per_minute,
        activation_days=activation or default.activation_days,
        activation_escalation_days=(
            default.activation_escalation_days if escalation is None else escalation
        ),
    )


def _production_environments(
    r: _Reader, section: Mapping[str, Any], environments: Sequence[str]
) -> tuple[str, ...]:
    path = "limits.production_environments"
    if "production_environments" not in section:
        return tuple(env for env in environments if env.lower() in {"production", "prod"})
    names = r.string_list(section["production_environments"], path, allow_single=True)
    for name in names:
        if name not in environments:
            r.error(path, f"'{name}' is not one of the environments ({', '.join(environments)})")
    return names


def _calendar(r: _Reader, value: Any) -> CalendarSettings:
    known = ("timezone", "workdays", "holidays", "country", "subdivision")
    section = r.mapping(value, "calendar", known) or {}
    timezone = r.string(section.get("timezone", "UTC"), "calendar.timezone") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.error(
            "calendar.timezone", f"unknown time zone '{timezone}'; use a name like Europe/Paris"
        )
        timezone = "UTC"
    workdays: set[int] = set()
    names = r.string_list(section.get("workdays", list(WEEKDAYS[:5])), "calendar.workdays")
    for i, name in enumerate(names):
        day = name.lower()[:3]
        if day in WEEKDAYS and len(name) in (3, len(_full_day(day))):
            workdays.add(WEEKDAYS.index(day))
        else:
            r.error(f"calendar.workdays[{i}]", f"'{name}' is not a weekday ({', '.join(WEEKDAYS)})")
    country, subdivision = _country(r, section)
    return CalendarSettings(
        timezone,
        frozenset(workdays),
        _holidays(r, section.get("holidays", [])),
        CountryHolidays(country, subdivision) if country else frozenset(),
    )


def _country(r: _Reader, section: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``calendar.country`` and ``calendar.subdivision``, checked against the `holidays`
    package, which knows the public holidays of each (the config's own list adds to them)."""
    country = r.string(section.get("country"), "calendar.country") if "country" in section else None
    subdivision = (
        r.string(section.get("subdivision"), "calendar.subdivision")
        if "subdivision" in section
        else None
    )
    if not country:
        if subdivision:
            r.error("calendar.subdivision", "needs calendar.country too, such as DE with BY")
        return None, None
    supported = holidays.list_supported_countries()
    country = country.upper()
    if country not in supported:
        r.error(
            "calendar.country",
            f"unknown country '{country}'; use an ISO 3166 code such as DE, FR, GB or US",
        )
        return None, None
    if subdivision and subdivision.upper() not in {s.upper() for s in supported[country]}:
        r.error(
            "calendar.subdivision",
            f"'{subdivision}' is not a subdivision of {country}; use one of "
            + ", ".join(sorted(supported[country])[:12]),
        )
        return country, None
    return country, subdivision.upper() if subdivision else None


def _full_day(day: str) -> str:
    return {
        "mon": "monday",
        "tue": "tuesday",
        "wed": "wednesday",
        "thu": "thursday",
        "fri": "friday",
        "sat": "saturday",
        "sun": "sunday",
    }[day]


def _holidays(r: _Reader, value: Any) -> frozenset[date]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        r.error("calendar.holidays", "expected a list of dates (YYYY-MM-DD)")
        return frozenset()
    days: set[date] = set()
    for i, item in enumerate(value):
        # YAML turns an unquoted 2026-12-25 into a date already; a quoted one stays text.
        if isinstance(item, date):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError:
            r.error(f"calendar.holidays[{i}]", f"'{item}' is not a date; write YYYY-MM-DD")
    return frozenset(days)


def _reminders(r: _Reader, value: Any) -> tuple[int, ...]:
    section = r.mapping(value, "reminders", ("before_expiry_days",)) or {}
    raw = section.get("before_expiry_days", [14, 7, 1])
    if not isinstance(raw, list):
        r.error("reminders.before_expiry_days", "expected a list of day counts, like [14, 7, 1]")
        return (14, 7, 1)
    days = [r.integer(d, f"reminders.before_expiry_days[{i}]", 1) for i, d in enumerate(raw)]
    return tuple(sorted({d for d in days if d is not None}, reverse=True))


def _register(r: _Reader, value: Any) -> RegisterSettings:
    known = ("directory", "archive_directory", "include_confidential_details")
    section = r.mapping(value, "register", known) or {}
    default = RegisterSettings()
    directory = _project_path(r, section.get("directory", default.directory), "register.directory")
    archive = _project_path(
        r, section.get("archive_directory", default.archive_directory), "register.archive_directory"
    )
    if directory and directory == archive:
        r.error("register.archive_directory", "must differ from register.directory")
    details = r.boolean(
        section.get("include_confidential_details", False), "register.include_confidential_details"
    )
    return RegisterSettings(
        directory or default.directory, archive or default.archive_directory, bool(details)
    )


def _approvals(r: _Reader, value: Any) -> bool:
    section = r.mapping(value, "approvals", _APPROVALS_KEYS) or {}
    allowed = r.boolean(
        section.get("allow_same_person_multiple_roles", False),
        "approvals.allow_same_person_multiple_roles",
    )
    return bool(allowed)


_APPROVALS_KEYS = ("allow_same_person_multiple_roles", "note_grace")
_CLOCK_UNITS = {DurationUnit.MINUTES: timedelta(minutes=1), DurationUnit.HOURS: timedelta(hours=1)}


def _note_grace(r: _Reader, value: Any) -> timedelta:
    if not isinstance(value, dict) or "note_grace" not in value:
        return timedelta(minutes=2)  # _approvals reports a section that is no mapping
    duration = _duration(r, value["note_grace"], "approvals.note_grace")
    if duration is None:
        return timedelta(minutes=2)
    if duration.unit not in _CLOCK_UNITS:
        r.error("approvals.note_grace", f"'{duration}' is too long: write minutes, e.g. 2m")
        return timedelta(minutes=2)
    return duration.amount * _CLOCK_UNITS[duration.unit]


_LABEL_FORBIDDEN = re.compile(r'["\n\r,~]')


def _labels(r: _Reader, value: Any) -> LabelScheme:
    section = r.mapping(value, "labels", ("prefix", "intake", "overrides")) or {}
    prefix = _label_name(r, section.get("prefix", DEFAULT_PREFIX), "labels.prefix")
    intake = _label_name(r, section.get("intake", DEFAULT_INTAKE), "labels.intake")
    prefix = prefix or DEFAULT_PREFIX
    known = default_names(prefix)
    raw = section.get("overrides", {})
    if not isinstance(raw, dict):
        r.error("labels.overrides", "expected a mapping of default label name -> new name")
        raw = {}
    overrides: dict[str, str] = {}
    for key, new in raw.items():
        path = f"labels.overrides.{key}"
        if str(key) not in known:
            r.error(path, f"not a label the bot sets{_did_you_mean(str(key), known)}")
            continue
        name = _label_name(r, new, path)
        if name:
            overrides[str(key)] = name
    final = [overrides.get(name, name) for name in known]
    if len(set(final)) != len(final):
        r.error("labels.overrides", "two labels would get the same name")
    scheme = LabelScheme(prefix, intake or DEFAULT_INTAKE, MappingProxyType(overrides))
    for first, second in scheme.scope_clashes():
        r.error(
            "labels",
            f"'{first}' and '{second}' share the scope '{scope(first)}', and GitLab Premium "
            "keeps one label of a scope on an issue: give one of them another part before '::'",
        )
    return scheme


def _label_name(r: _Reader, value: Any, path: str) -> str | None:
    name = r.string(value, path)
    # These characters would break the `/label ~"name"` quick action in the templates.
    if name is not None and _LABEL_FORBIDDEN.search(name):
        r.error(path, f"'{name}' may not contain quotes, commas, tildes or line breaks")
        return None
    return name
