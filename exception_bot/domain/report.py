"""The weekly report (docs/reference/usage.md, `report`): what every open request and active
exception looks like now.

Built from the facts ``decide`` reports about each request in a run; rendered from
``templates/report/weekly.md.j2``. One issue per ISO week in the register project carries it,
found again by its hidden marker, so a later report updates that week's issue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from exception_bot.domain import charts, markers
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.model import RiskLevel, State
from exception_bot.domain.settings import CalendarSettings
from exception_bot.domain.timeline import StageHistory, StateHistory

REPORT = "report"
EXPIRING_WITHIN = timedelta(days=14)
# Requests still being decided, and exceptions in force, as the report groups them.
OPEN = frozenset(
    {State.SUBMITTED, State.NEEDS_INFO, State.IN_REVIEW, State.ESCALATED, State.APPEAL}
)
IN_FORCE = frozenset({State.APPROVED, State.ACTIVE})


@dataclass(frozen=True)
class RequestFacts:
    """What the report needs to know about one request, as of the run."""

    reference: str  # group/project#iid
    title: str
    web_url: str
    state: State
    stage: str | None = None
    risk: RiskLevel | None = None
    stage_started_at: datetime | None = None
    # The day the exception took effect (activation, else approval: charts.started), as its
    # record or register file says: its Gantt bar starts there.
    in_force_since: date | None = None
    deadline: datetime | None = None
    breached: bool = False
    expires: date | None = None
    exception_id: str | None = None
    renewal_of: str | None = None
    renewal_number: int = 0
    incidents: tuple[str, ...] = ()
    # A register file no bot commit or approved merge request accounts for: listed on its own,
    # never counted (domain/provenance.py).
    unverified: bool = False
    # For the monthly metrics (domain/metrics.py): when the issue was opened, the states and
    # stages the bot's label events record, final approval and the Fix verified that closed it.
    opened_at: datetime | None = None
    states: StateHistory = ()
    stages: StageHistory = ()
    approved_at: datetime | None = None
    remediated_at: datetime | None = None
    # The level the requester wrote, when the security team assessed another (``risk``).
    requested_risk: RiskLevel | None = None
    # When a decision was taken to the CISO after it was made (a rejection, missing controls,
    # the activation deadline): the record's escalations, besides the escalated state.
    escalated_at: tuple[datetime, ...] = ()
    # What the exception covers (its approved Covers), for the report's remediation progress
    # (domain/remediation.py).
    covered_projects: tuple[str, ...] = ()
    covered_findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class WeeklyReport:
    week: str  # ISO week, "2026-W48"
    title: str
    marker: str
    context: dict[str, object]


def iso_week(moment: datetime, calendar: CalendarSettings) -> str:
    year, week, _ = moment.astimezone(calendar.tz).isocalendar()
    return f"{year}-W{week:02d}"


def weekly_report(
    facts: Iterable[RequestFacts],
    now: datetime,
    calendar: CalendarSettings,
    uncounted: Iterable[str] = (),
    month: Mapping[str, object] | None = None,
    remediation: Sequence[Mapping[str, object]] | None = None,
) -> WeeklyReport:
    """``uncounted``: references of requests the run could not process, named in the report
    so that its reader knows the counts leave them out. ``month``: the month so far's
    figures (domain/metrics.py ``metrics_context``), when the closed requests were read.
    ``remediation``: its rows (domain/remediation.py), when the gate summaries were read."""
    every = sorted(facts, key=lambda f: f.reference)
    listed = [f for f in every if not f.unverified]
    today = now.astimezone(calendar.tz).date()
    week = iso_week(now, calendar)
    in_force = [f for f in listed if f.state in IN_FORCE and f.expires is not None]
    return WeeklyReport(
        week,
        f"Exception report {week}",
        markers.marker(REPORT, week),
        {
            "week": Markdown(week),
            "now": now,
            "uncounted": sorted(uncounted),
            "by_state": sorted(Counter(Markdown(f.state.value) for f in listed).items()),
            "by_risk": sorted(
                Counter(Markdown(f.risk.label) for f in listed if f.risk is not None).items()
            ),
            "open": [{**_row(f), "waiting": _waiting(f, now)} for f in listed if f.state in OPEN],
            "in_force": [{**_row(f), "days_left": _days_left(f, today)} for f in in_force],
            "in_force_chart": Markdown(
                charts.gantt("Exceptions in force", (_bar(f) for f in in_force))
            ),
            "expiring": [
                {**_row(f), "days_left": _days_left(f, today)}
                for f in in_force
                if f.expires is not None and f.expires - today <= EXPIRING_WITHIN
            ],
            "breaches": [_row(f) for f in listed if f.breached],
            "renewals": [_row(f) for f in listed if f.renewal_of],
            "incidents": [_row(f) for f in listed if f.incidents],
            "unverified": [_row(f) for f in every if f.unverified],
            "month": month,
            # Covered findings still in the covered projects' gate summaries
            # (domain/remediation.py), when the summaries were read.
            "remediation": remediation,
        },
    )


def _row(f: RequestFacts) -> dict[str, object]:
    """One request as the report's tables show it. Titles, references and the ids of files
    that came by merge request are people's text (plain strings, shown inert); states, stages
    and risks are the bot's words."""
    return {
        "reference": f.reference,
        "id": f.exception_id or f.reference,
        "title": f.title,
        "url": url(f.web_url),
        "state": Markdown(f.state.value),
        "stage": Markdown(f.stage.split("::", 1)[-1] if f.stage else ""),
        "risk": Markdown(f.risk.label if f.risk else ""),
        "deadline": f.deadline,
        "expires": f.expires,
        "renewal_of": f.renewal_of,
        "renewal_number": f.renewal_number,
        "incidents": f.incidents,
    }


def _bar(f: RequestFacts) -> charts.Bar:
    return charts.Bar(
        f.exception_id or f.reference,
        f.title,
        f.in_force_since,
        f.expires,
    )


def _waiting(f: RequestFacts, now: datetime) -> Markdown:
    if f.stage_started_at is None:
        return Markdown("")
    hours = int((now - f.stage_started_at).total_seconds() // 3600)
    return Markdown(f"{hours // 24}d {hours % 24}h" if hours >= 24 else f"{hours}h")


def _days_left(f: RequestFacts, today: date) -> int | None:
    return (f.expires - today).days if f.expires else None
