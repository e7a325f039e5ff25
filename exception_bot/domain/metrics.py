"""Monthly metrics (docs/explanation/metrics.md): the source process asks how the exception
process is doing, month by month. Made from the facts ``decide`` reports about each request
(open ones and those closed since the month began), the bot's label events above all
(:mod:`~exception_bot.domain.timeline`).

- *Requests opened*: issues created in the month.
- *Decisions*, and the *approval rate*: requests whose first decision (approval or rejection,
  as the bot's state label recorded it) fell in the month; an appeal granted later does not
  turn a rejection into an approval here.
- *Time to decision* per risk level (the assessed level, point 8 of issue 23): from the issue's
  creation to that decision. Per stage: how long each approval stage that ended in the month
  lasted, from the bot's stage label events.
- *Exceptions in force* at the month's end (or now, for the month under way).
- *Time to remediation*: from final approval to the *Fix verified* confirmation that closed
  the exception, for those closed in the month.
- *Renewals* opened and *escalations* in the month: requests the bot put in the escalated state
  or whose decision was taken to the CISO (a rejection, missing controls, the activation
  deadline), each request once.

Medians are the middle value (the mean of the two middle ones); the 90th percentile is the
nearest rank: the smallest value at least 90 % of the values do not exceed. Hours, to one
decimal.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from exception_bot.domain import charts
from exception_bot.domain.escape import Markdown
from exception_bot.domain.model import RiskLevel, State
from exception_bot.domain.report import IN_FORCE, RequestFacts
from exception_bot.domain.timeline import first_decision, state_at

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})")
# What a stage's name in a chart keeps: stage labels are made of role names, but a chart is
# no place to find out what else a label could hold.
_STAGE_NAME_RE = re.compile(r"[^a-z0-9+\-]")
STAGE_NAME_LIMIT = 40


@dataclass(frozen=True)
class Spread:
    """How long something took: how many, the median and the 90th percentile, in hours."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class MonthlyMetrics:
    month: str  # "2026-11"
    start: datetime  # the month's first moment in the calendar's zone
    end: datetime  # the next month's first moment
    as_of: datetime  # the month's end, or now for the month under way
    opened: int
    approved: int
    rejected: int
    by_risk: tuple[tuple[RiskLevel, Spread], ...]
    by_stage: tuple[tuple[str, Spread], ...]
    in_force: int
    remediation: Spread
    renewals: int
    escalations: int

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def approval_rate(self) -> float | None:
        """Approvals among decisions, in percent to one decimal; None without decisions."""
        return round(100 * self.approved / self.decided, 1) if self.decided else None


def parse_month(text: str) -> tuple[int, int]:
    """``2026-11`` -> (2026, 11); ValueError with what was expected otherwise."""
    match = _MONTH_RE.fullmatch(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"a month is written YYYY-MM, e.g. 2026-11, not {text[:20]!r}")
    return int(match.group(1)), int(match.group(2))


def month_of(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"


def month_bounds(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    year, number = parse_month(month)
    after = (year + 1, 1) if number == 12 else (year, number + 1)
    start = datetime.combine(date(year, number, 1), time(), tz)
    return start, datetime.combine(date(*after, 1), time(), tz)


def spread(hours: Iterable[float]) -> Spread:
    values = sorted(hours)
    if not values:
        return Spread(0, None, None)
    rank = math.ceil(0.9 * len(values))
    return Spread(len(values), round(statistics.median(values), 1), round(values[rank - 1], 1))


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def monthly(facts: Iterable[RequestFacts], month: str, now: datetime, tz: tzinfo) -> MonthlyMetrics:
    """The month's figures from every request the report knows of (each once)."""
    listed = _unique(facts)
    start, end = month_bounds(month, tz)
    as_of = min(end, now)

    def within(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    opened = [f for f in listed if within(f.opened_at)]
    decisions = [(f, d) for f in listed if (d := first_decision(f.states)) and within(d[1])]
    remediated = [
        _hours(f.remediated_at - f.approved_at)
        for f in listed
        if f.remediated_at is not None and f.approved_at is not None and within(f.remediated_at)
    ]
    return MonthlyMetrics(
        month,
        start,
        end,
        as_of,
        opened=len(opened),
        approved=sum(1 for _, (state, _) in decisions if state is State.APPROVED),
        rejected=sum(1 for _, (state, _) in decisions if state is State.REJECTED),
        by_risk=_by_risk(decisions),
        by_stage=_by_stage(listed, within),
        in_force=sum(1 for f in listed if _in_force(f, as_of, tz)),
        remediation=spread(remediated),
        renewals=sum(1 for f in opened if f.renewal_of or f.renewal_number),
        escalations=sum(_escalations(f, within) for f in listed),
    )


def _escalations(f: RequestFacts, within: Callable[[datetime | None], bool]) -> int:
    """Times taken to the CISO in the month: each time put in the escalated state, and each
    decision escalated that leaves the state as it is (controls, the activation deadline:
    the facts' ``escalated_at``; an escalated rejection is in the escalated state)."""
    # Into the escalated state from another: the label put back after someone removed it is
    # the same escalation.
    before = (None, *(s for s, _ in f.states))
    states = sum(
        1
        for (s, at), prior in zip(f.states, before, strict=False)
        if s is State.ESCALATED and prior is not State.ESCALATED and within(at)
    )
    return states + sum(1 for at in f.escalated_at if within(at))


def _unique(facts: Iterable[RequestFacts]) -> list[RequestFacts]:
    """One fact a request: a request listed open and closed since (read twice) counts once."""
    found: dict[str, RequestFacts] = {}
    for f in facts:
        if not f.unverified:
            found.setdefault(f.reference, f)
    return list(found.values())


def _by_risk(
    decisions: Sequence[tuple[RequestFacts, tuple[State, datetime]]],
) -> tuple[tuple[RiskLevel, Spread], ...]:
    waits: dict[RiskLevel, list[float]] = defaultdict(list)
    for f, (_, at) in decisions:
        if f.risk is not None and f.opened_at is not None:
            waits[f.risk].append(_hours(at - f.opened_at))
    return tuple((risk, spread(waits[risk])) for risk in RiskLevel if risk in waits)


def _by_stage(
    listed: Iterable[RequestFacts], within: Callable[[datetime | None], bool]
) -> tuple[tuple[str, Spread], ...]:
    waits: dict[str, list[float]] = defaultdict(list)
    for f in listed:
        for stage, began, ended in f.stages:
            if ended is not None and within(ended):
                waits[stage_name(stage)].append(_hours(ended - began))
    return tuple((stage, spread(waits[stage])) for stage in sorted(waits))


def stage_name(stage: str) -> str:
    """A stage as the metrics name it: its label's roles, in ``a-z0-9+-`` only."""
    return _STAGE_NAME_RE.sub("", stage.lower())[:STAGE_NAME_LIMIT] or "stage"


def _in_force(f: RequestFacts, moment: datetime, tz: tzinfo) -> bool:
    """In force at ``moment``: by the states the bot set; an exception that came by merge
    request (no issue, no states) by its recorded dates."""
    if f.states:
        return state_at(f.states, moment) in IN_FORCE
    day = moment.astimezone(tz).date()
    if f.state not in IN_FORCE or f.in_force_since is None or f.expires is None:
        return False
    return f.in_force_since <= day <= f.expires


def metrics_context(m: MonthlyMetrics) -> dict[str, object]:
    """What ``report/metrics.md.j2`` shows: the figures, all the bot's own, and their charts."""
    return {
        "month": Markdown(m.month),
        "as_of": m.as_of,
        "opened": m.opened,
        "approved": m.approved,
        "rejected": m.rejected,
        "decided": m.decided,
        "approval_rate": Markdown("-" if m.approval_rate is None else f"{m.approval_rate:g} %"),
        "by_risk": [(Markdown(risk.label), _shown(s)) for risk, s in m.by_risk],
        "by_stage": [(Markdown(stage), _shown(s)) for stage, s in m.by_stage],
        "in_force": m.in_force,
        "remediation": _shown(m.remediation),
        "renewals": m.renewals,
        "escalations": m.escalations,
        "decisions_chart": Markdown(
            charts.pie("Decisions", (("Approved", m.approved), ("Rejected", m.rejected)))
        ),
        "stage_chart": Markdown(
            charts.bars(
                "Median hours per stage",
                "Hours",
                ((stage, s.median) for stage, s in m.by_stage if s.median is not None),
            )
        ),
    }


def _shown(s: Spread) -> dict[str, object]:
    def hours(value: float | None) -> Markdown:
        return Markdown("-" if value is None else f"{value:g} h")

    return {"count": s.count, "median": hours(s.median), "p90": hours(s.p90)}


def metrics_json(m: MonthlyMetrics) -> dict[str, object]:
    """The figures for ``report --month --json``."""

    def figures(s: Spread) -> dict[str, object]:
        return {"count": s.count, "median_hours": s.median, "p90_hours": s.p90}

    return {
        "month": m.month,
        "as_of": m.as_of.isoformat(),
        "opened": m.opened,
        "decided": m.decided,
        "approved": m.approved,
        "rejected": m.rejected,
        "approval_rate": m.approval_rate,
        "time_to_decision_by_risk": {risk.value: figures(s) for risk, s in m.by_risk},
        "time_in_stage": {stage: figures(s) for stage, s in m.by_stage},
        "in_force": m.in_force,
        "approval_to_remediation": figures(m.remediation),
        "renewals": m.renewals,
        "escalations": m.escalations,
    }
