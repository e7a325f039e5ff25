"""Request fields -> a validated request, or the list of problems to fix
(docs/reference/request.md).

Problems are values: the bot posts them as one comment, and ``exception-bot validate`` prints
the same list. Each message says what is wrong and what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from exception_bot.domain.escape import inert
from exception_bot.domain.fields import (
    MAX_DESCRIPTION_CHARS,
    MAX_DESCRIPTION_LINES,
    ParsedBody,
    normalise_heading,
)
from exception_bot.domain.model import (
    ChecklistItem,
    Covers,
    DataClassification,
    ExceptionKind,
    ExceptionRequest,
    Flag,
    Problem,
    RenewalRef,
    RiskLevel,
)
from exception_bot.domain.request_covers import kind_problems, parse_covers, parse_kind
from exception_bot.domain.settings import Config, CriticalInProduction

SUMMARY_MAX_CHARS = 300


@dataclass(frozen=True)
class FieldSpec:
    """A section of the request template.

    Attributes:
        key: snake_case name, used in problems and ``--json``.
        heading: the heading as the template writes it.
        required: must be filled in.
        renewal: only renewals have it.
    """

    key: str
    heading: str
    required: bool = True
    renewal: bool = False

    @cached_property  # looked up for every field of every request
    def heading_key(self) -> str:
        return normalise_heading(self.heading)


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("renews", "Renews", renewal=True),
    FieldSpec("why_timeline_not_met", "Why the original timeline was not met", renewal=True),
    FieldSpec("updated_remediation_plan", "Updated remediation plan", renewal=True),
    FieldSpec("summary", "Summary"),
    FieldSpec("requester_contact", "Requester contact"),
    FieldSpec("department", "Department"),
    FieldSpec("policy", "Policy"),
    FieldSpec("scope", "Scope"),
    FieldSpec("environment", "Environment"),
    FieldSpec("kind", "Kind", required=False),
    FieldSpec("covers", "Covers", required=False),
    FieldSpec("data_classification", "Data classification", required=False),
    FieldSpec("risk_level", "Risk level"),
    FieldSpec("justification", "Justification"),
    FieldSpec("alternatives_considered", "Alternatives considered", required=False),
    FieldSpec("risk_assessment", "Risk assessment"),
    FieldSpec("compensating_controls", "Compensating controls"),
    FieldSpec("remediation_plan", "Remediation plan"),
    FieldSpec("expiration_date", "Expiration date"),
)
FIELD_BY_KEY: Mapping[str, FieldSpec] = {spec.key: spec for spec in FIELDS}
APPROVALS_HEADING = "Approvals"
APPROVALS_KEY = "approvals"

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# A list marker before a one-word answer ("- Low", "1. Low"). Matched at the start only, and
# the rest of the decoration is stripped with str methods: a pattern with a lazy group
# between two whitespace runs, as this once was, backtracks over every space of a long
# answer from every position (96,000 spaces took 123 s).
_LIST_MARKER_RE = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_EMPHASIS = "*_`~"
_ISSUE_REF_RE = re.compile(r"^#(\d+)$")
# An issue's URL is read in two steps: its host, then the leftmost "/issues/<iid>" (or
# work_items) that ends it, with any query or fragment after. One pattern for the whole, with
# a lazy path before an optional "[?#]\S*", rescanned the rest of the text from every
# "/issues/1#": a 40,000-character Renews took a second.
_URL_HEAD_RE = re.compile(r"^https?://[^\s/]+/")
_URL_TAIL_RE = re.compile(r"/(?:-/)?(?:issues|work_items)/(?P<iid>\d+)/?(?:[?#]|\Z)")
_SPACE_RE = re.compile(r"\s")
_EXC_ID_RE = re.compile(r"^(?P<prefix>[A-Za-z][A-Za-z0-9-]*-)(?P<number>\d{4,})$")


@dataclass(frozen=True)
class Validation:
    """The answer to "is this request complete and within policy?"."""

    request: ExceptionRequest | None
    problems: tuple[Problem, ...]
    flags: tuple[Flag, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Context:
    body: ParsedBody
    config: Config
    created: date  # creation day in the calendar's time zone
    today: date  # today in the calendar's time zone
    renewal: bool


def is_renewal(body: ParsedBody) -> bool:
    """A body is a renewal when it has a *Renews* section."""
    return body.section(FIELD_BY_KEY["renews"].heading_key) is not None


def validate(
    body: ParsedBody,
    config: Config,
    *,
    created_at: datetime,
    now: datetime,
    renewal: bool = False,
) -> Validation:
    """Check every field of a request.

    Args:
        body: the parsed description.
        config: the validated configuration.
        created_at: when the request was opened (timezone-aware); the expiry limit counts from
            its date in the calendar's time zone.
        now: the current time (timezone-aware).
        renewal: treat the body as a renewal even without a *Renews* section.
    """
    if body.too_long:
        problem = Problem(
            "description",
            f"The description is longer than {MAX_DESCRIPTION_CHARS:,} characters or "
            f"{MAX_DESCRIPTION_LINES:,} lines.",
            "Shorten it and link longer documents instead of pasting them.",
        )
        return Validation(None, (problem,), ())
    tz = config.calendar.tz
    ctx = _Context(
        body,
        config,
        created_at.astimezone(tz).date(),
        now.astimezone(tz).date(),
        renewal or is_renewal(body),
    )
    problems: list[Problem] = []
    values: dict[str, object] = {}
    for spec in FIELDS:
        if spec.renewal and not ctx.renewal:
            continue
        value, found = _check_field(ctx, spec)
        problems += found
        values[spec.key] = value
    flags, route_problems = _route_flags(ctx, values)
    problems += route_problems
    if not any(p.field == "covers" for p in problems):
        problems += kind_problems(values.get("kind"), values.get("covers"))
    problems += _check_approvals(ctx, values.get("risk_level"))
    if problems:
        return Validation(None, tuple(problems), flags)
    return Validation(_request(values), (), flags)


def _check_field(ctx: _Context, spec: FieldSpec) -> tuple[object, list[Problem]]:
    text = _field_text(ctx, spec)
    count = ctx.body.count(spec.heading_key)
    problems: list[Problem] = []
    if count > 1:
        problems.append(
            Problem(
                spec.key,
                f"The section '## {spec.heading}' appears {count} times.",
                "Keep one and delete the others.",
            )
        )
    if not text:
        if spec.required:
            problems.append(_missing(ctx, spec))
        return None, problems
    checker = _CHECKERS.get(spec.key)
    if checker is None:
        return text, problems
    value, problem = checker(ctx, spec, text)
    return value, [*problems, *([problem] if problem else [])]


def _field_text(ctx: _Context, spec: FieldSpec) -> str:
    section = ctx.body.section(spec.heading_key)
    return section.text if section else ""


def _missing(ctx: _Context, spec: FieldSpec) -> Problem:
    if ctx.body.section(spec.heading_key) is None:
        return Problem(
            spec.key,
            f"The section '## {spec.heading}' is missing.",
            f"Add it with its answer: {_GUIDANCE[spec.key]}",
        )
    return Problem(spec.key, f"'{spec.heading}' is empty.", f"Write {_GUIDANCE[spec.key]}")


_GUIDANCE: Mapping[str, str] = {
    "renews": "the request it renews: #123, its full issue URL, or its register id (EXC-0042).",
    "why_timeline_not_met": "why the fix was not done before the exception expired.",
    "updated_remediation_plan": "how and by when the fix will now be done.",
    "summary": "one sentence saying what you need and why.",
    "requester_contact": (
        "who to contact about this request (a GitLab username with its `@`, or an e-mail address)."
    ),
    "department": "your department.",
    "policy": "the policy this exception is from.",
    "scope": "the systems, data and people affected.",
    "environment": "the environment the exception applies to.",
    "kind": "why the exception is needed: " + ", ".join(k.label for k in ExceptionKind) + ".",
    "covers": "the projects and findings the exception applies to, one per line.",
    "data_classification": "the highest classification of the data involved.",
    "risk_level": "Critical, High, Medium or Low.",
    "justification": "why the exception is needed.",
    "alternatives_considered": "what else you considered.",
    "risk_assessment": "the impact if the weakness were exploited.",
    "compensating_controls": "the mitigations in place while the exception lasts.",
    "remediation_plan": "how and by when it will be fixed.",
    "expiration_date": "the last day of the exception as YYYY-MM-DD.",
}


def _plain_value(text: str) -> str | None:
    """A one-word answer with Markdown decoration stripped; None when it spans several lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    return _undecorated(lines[0])


def _undecorated(line: str) -> str:
    """``- **Low**.`` -> ``Low``: a list marker, emphasis around the answer and one final dot
    removed. Linear: each step strips one end once."""
    marker = _LIST_MARKER_RE.match(line)
    value = line[marker.end() :] if marker else line
    value = value.lstrip(_EMPHASIS).lstrip()
    value = value.removesuffix(".").rstrip(_EMPHASIS).rstrip()
    return value.strip()


def _choice(
    spec: FieldSpec, text: str, allowed: tuple[str, ...]
) -> tuple[str | None, Problem | None]:
    value = _plain_value(text)
    options = ", ".join(allowed)
    if value is None:
        return None, Problem(
            spec.key, f"'{spec.heading}' must be a single value.", f"Write one of: {options}."
        )
    for option in allowed:
        if option.lower() == value.lower():
            return option, None
    shown = _quote(value)
    return None, Problem(
        spec.key, f"{shown} is not a known {spec.heading.lower()}.", f"Write one of: {options}."
    )


def _quote(value: str) -> str:
    """Show the requester's value in a message: a code span, so nothing in it renders or
    mentions anyone when the message is posted as a comment."""
    return inert(value, limit=60)


_Checker = Callable[[_Context, FieldSpec, str], tuple[object, Problem | None]]


def _check_summary(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    flat = " ".join(text.split())
    if "\n\n" in text or len(flat) > SUMMARY_MAX_CHARS:
        return None, Problem(
            spec.key,
            "The summary is longer than one sentence.",
            f"Write one sentence of at most {SUMMARY_MAX_CHARS} characters; "
            "put details under Scope and Justification.",
        )
    return flat, None


def _check_department(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    return _choice(spec, text, ctx.config.departments)


def _check_policy(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    return _choice(spec, text, ctx.config.policies)


def _check_environment(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    return _choice(spec, text, ctx.config.environments)


def _check_classification(
    ctx: _Context, spec: FieldSpec, text: str
) -> tuple[object, Problem | None]:
    value, problem = _choice(spec, text, tuple(c.value for c in DataClassification))
    return (DataClassification(value) if value else None), problem


def _check_risk(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    value, problem = _choice(spec, text, tuple(r.label for r in RiskLevel))
    return (RiskLevel(value.lower()) if value else None), problem


def _check_expiry(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    # No message names today: the problems note would change every day the request waits,
    # an edit a day for nothing, at a time no wake-up time of the state file foresees.
    raw = _plain_value(text) or " ".join(text.split())
    expiry = _parse_date(raw)
    latest = ctx.created + timedelta(days=ctx.config.limits.max_duration_days)
    if expiry is None:
        return None, Problem(
            spec.key,
            f"{_quote(raw)} is not a date.",
            f"Write the last day of the exception as YYYY-MM-DD, at the latest {latest}.",
        )
    if expiry <= ctx.today:
        return None, Problem(
            spec.key,
            f"The expiration date {expiry.isoformat()} is not after today.",
            f"Choose a later date, at the latest {latest.isoformat()}.",
        )
    if expiry > latest:
        days = ctx.config.limits.max_duration_days
        return None, Problem(
            spec.key,
            f"The expiration date {expiry.isoformat()} is more than "
            f"{days} days after the request ({ctx.created.isoformat()}).",
            f"Choose {latest.isoformat()} or earlier; if the fix takes longer, "
            "request a renewal before this exception expires.",
        )
    return expiry, None


def _parse_date(raw: str) -> date | None:
    if not _DATE_RE.match(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _check_renews(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    raw = _plain_value(text) or ""
    ref = parse_renewal_ref(raw)
    if ref is None:
        return None, Problem(
            spec.key,
            f"{_quote(raw or text)} does not name the request it renews.",
            "Write #123, the original issue's full URL, or its register id such as EXC-0042.",
        )
    return ref, None


def parse_renewal_ref(raw: str) -> RenewalRef | None:
    """``#123``, ``https://gitlab.example.com/group/proj/-/issues/123`` or ``EXC-0042``."""
    raw = raw.strip()
    if match := _ISSUE_REF_RE.match(raw):
        return RenewalRef(iid=int(match.group(1)))
    if url := _issue_url(raw):
        return url
    if match := _EXC_ID_RE.match(raw):
        return RenewalRef(exception_id=f"{match.group('prefix').upper()}{match.group('number')}")
    return None


def _issue_url(raw: str) -> RenewalRef | None:
    """``https://host/group/proj/-/issues/123?x#y`` -> iid 123 of ``group/proj``."""
    head = _URL_HEAD_RE.match(raw)
    if head is None or _SPACE_RE.search(raw):
        return None
    # The path is at least one character; the first tail after it wins, as a lazy path would.
    tail = _URL_TAIL_RE.search(raw, head.end() + 1)
    if tail is None:
        return None
    return RenewalRef(iid=int(tail.group("iid")), project_path=raw[head.end() : tail.start()])


def _check_kind(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    return parse_kind(text)


def _check_covers(ctx: _Context, spec: FieldSpec, text: str) -> tuple[object, Problem | None]:
    return parse_covers(text)


_CHECKERS: Mapping[str, _Checker] = {
    "kind": _check_kind,
    "covers": _check_covers,
    "summary": _check_summary,
    "department": _check_department,
    "policy": _check_policy,
    "environment": _check_environment,
    "data_classification": _check_classification,
    "risk_level": _check_risk,
    "expiration_date": _check_expiry,
    "renews": _check_renews,
}


def _route_flags(
    ctx: _Context, values: Mapping[str, object]
) -> tuple[tuple[Flag, ...], list[Problem]]:
    critical = values.get("risk_level") is RiskLevel.CRITICAL
    environment = values.get("environment")
    if not (critical and isinstance(environment, str) and ctx.config.is_production(environment)):
        return (), []
    rule = ctx.config.limits.critical_in_production
    if rule is CriticalInProduction.ESCALATE:
        return (Flag.NEEDS_CISO_ESCALATION,), []
    if rule is CriticalInProduction.FORBID:
        return (), [
            Problem(
                "risk_level",
                f"Critical exceptions are not allowed in {environment}.",
                "Lower the risk with compensating controls, or "
                "fix the issue instead of requesting an exception.",
            )
        ]
    return (), []


def required_items(config: Config, risk: RiskLevel) -> tuple[str, ...]:
    """The Approvals checklist items a request of this risk level must carry.

    Not the CISO escalation item, which the review appends when the route needs it and the
    request lacks it (docs/explanation/escalations.md): an older template, a hand-written
    request or an escalation decided later is no reason for needs-info."""
    return tuple(config.checklist[role] for stage in config.stages(risk) for role in stage)


def item_key(text: str) -> str:
    """Items are matched case-insensitively with whitespace folded."""
    return " ".join(text.split()).lower()


def _check_approvals(ctx: _Context, risk: object) -> list[Problem]:
    if ctx.body.section(APPROVALS_KEY) is None:
        return [
            Problem(
                APPROVALS_KEY,
                "The '## Approvals' checklist is missing.",
                "Copy it from the Exception Request template; leave every box unticked.",
            )
        ]
    if not isinstance(risk, RiskLevel):
        return []
    by_key: dict[str, list[ChecklistItem]] = {}
    for item in ctx.body.items_in(APPROVALS_KEY):
        by_key.setdefault(item_key(item.text), []).append(item)
    problems = [
        p
        for text in required_items(ctx.config, risk)
        if (p := _check_item(text, by_key.get(item_key(text), [])))
    ]
    # The escalation item may be missing (the bot adds it), but not twice or indented.
    escalation = ctx.config.escalation.checklist_item
    found = by_key.get(item_key(escalation), [])
    if found and (p := _check_item(escalation, found)):
        problems.append(p)
    return problems


def _check_item(text: str, matches: list[ChecklistItem]) -> Problem | None:
    top = [item for item in matches if not item.nested]
    if len(top) > 1:
        return Problem(
            APPROVALS_KEY,
            f"The item '{text}' appears {len(top)} times.",
            "Keep one and delete the others.",
        )
    if top:
        return None
    if matches:
        return Problem(
            APPROVALS_KEY,
            f"The item '{text}' is indented or quoted.",
            f"Put '- [ ] {text}' at the start of its own line under ## Approvals; "
            "GitLab records no approver for indented items.",
        )
    return Problem(
        APPROVALS_KEY,
        f"The Approvals checklist has no item '{text}'.",
        f"Add the line '- [ ] {text}' under ## Approvals.",
    )


def _request(values: Mapping[str, object]) -> ExceptionRequest:
    def text(key: str) -> str:
        return str(values[key])

    def optional(key: str) -> str | None:
        value = values.get(key)
        return str(value) if value is not None else None

    classification = values.get("data_classification")
    renews = values.get("renews")
    kind, covers = values.get("kind"), values.get("covers")
    expiry = values["expiration_date"]
    risk = values["risk_level"]
    if not isinstance(expiry, date) or not isinstance(risk, RiskLevel):
        raise TypeError("_request needs a checked expiry and risk level")  # only if misused
    return ExceptionRequest(
        summary=text("summary"),
        requester_contact=text("requester_contact"),
        department=text("department"),
        policy=text("policy"),
        scope=text("scope"),
        environment=text("environment"),
        data_classification=classification
        if isinstance(classification, DataClassification)
        else None,
        risk_level=risk,
        justification=text("justification"),
        alternatives_considered=optional("alternatives_considered"),
        risk_assessment=text("risk_assessment"),
        compensating_controls=text("compensating_controls"),
        remediation_plan=text("remediation_plan"),
        expiration_date=expiry,
        renews=renews if isinstance(renews, RenewalRef) else None,
        why_timeline_not_met=optional("why_timeline_not_met"),
        updated_remediation_plan=optional("updated_remediation_plan"),
        kind=kind if isinstance(kind, ExceptionKind) else None,
        covers=covers if isinstance(covers, Covers) else Covers(),
    )
