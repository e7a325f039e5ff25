"""Business-day arithmetic on the configured calendar (time zone, workdays, holidays).

Review deadlines in hours or minutes are clock time; deadlines in business days keep the local time
of day the stage started and skip weekends and holidays (docs/explanation/review-slas.md). A stage
that starts on a day off starts counting at the beginning of the next workday: a request filed on
Saturday with a one-business-day SLA is due at the end of Monday (Tuesday 00:00), not Monday at the
Saturday hour.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from exception_bot.domain.settings import CalendarSettings, Duration, DurationUnit

_CLOCK = {
    DurationUnit.MINUTES: timedelta(minutes=1),
    DurationUnit.HOURS: timedelta(hours=1),
    DurationUnit.DAYS: timedelta(days=1),
}
# A calendar with no workdays is refused by the config loader; this bounds the search anyway.
_MAX_DAYS_OFF_IN_A_ROW = 366


def day_of(value: object) -> date | None:
    """A date written in a register file or row: a YAML timestamp's day, a date, or an ISO
    date string; None for anything else (the file is hostile until proven)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def day_start(day: date, calendar: CalendarSettings) -> datetime:
    """Midnight at the start of ``day`` in the calendar's time zone: when a date-based rule
    (an expiry, a reminder ``n`` days before it) starts to hold."""
    return datetime.combine(day, time(0), tzinfo=calendar.tz)


def is_workday(day: date, calendar: CalendarSettings) -> bool:
    if day.weekday() not in calendar.workdays or day in calendar.holidays:
        return False
    return day not in calendar.public_holidays


# Every deadline and reminder of a run steps over the same few days; the arguments are
# immutable, so the answers can be kept.
@lru_cache(maxsize=4096)
def next_workday(day: date, calendar: CalendarSettings) -> date:
    """The first workday strictly after ``day``."""
    for step in range(1, _MAX_DAYS_OFF_IN_A_ROW + 1):
        candidate = day + timedelta(days=step)
        if is_workday(candidate, calendar):
            return candidate
    raise ValueError("the calendar has no workday within a year: check calendar.workdays")


def add_business_days(start: datetime, days: int, calendar: CalendarSettings) -> datetime:
    """``start`` moved ``days`` workdays forward in the calendar's time zone, same local time."""
    local = start.astimezone(calendar.tz)
    day, clock = local.date(), local.timetz().replace(tzinfo=None)
    if not is_workday(day, calendar):
        day, clock = next_workday(day, calendar), time(0)
    for _ in range(days):
        day = next_workday(day, calendar)
    return datetime.combine(day, clock, tzinfo=calendar.tz).astimezone(start.tzinfo)


def sla_deadline(started_at: datetime, sla: Duration, calendar: CalendarSettings) -> datetime:
    """When a stage that started at ``started_at`` is overdue."""
    if sla.unit is DurationUnit.BUSINESS_DAYS:
        return add_business_days(started_at, sla.amount, calendar)
    return started_at + sla.amount * _CLOCK[sla.unit]


def reminders_due(deadline: datetime, now: datetime, calendar: CalendarSettings) -> int:
    """How many business days have ended since ``deadline`` (0 on the day it passed).

    A breach is reminded once when it happens and once each further business day; a run that
    was missed for days posts one reminder, numbered for today, not one per missed day.
    """
    count = 0
    while add_business_days(deadline, count + 1, calendar) <= now:
        count += 1
    return count
