from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exception_bot.config import CountryHolidays
from exception_bot.domain.calendar import add_business_days, is_workday, sla_deadline
from exception_bot.domain.settings import CalendarSettings, Duration, DurationUnit

UTC_WEEK = CalendarSettings()
BAVARIA = CalendarSettings(timezone="Europe/Berlin", public_holidays=CountryHolidays("DE", "BY"))
BERLIN = CalendarSettings(timezone="Europe/Berlin", holidays=frozenset({date(2026, 12, 25)}))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("started", "sla", "calendar", "due"),
    [
        # Critical: clock hours, weekends included.
        (
            "2026-11-20T22:00:00+00:00",
            Duration(4, DurationUnit.HOURS),
            UTC_WEEK,
            "2026-11-21T02:00:00+00:00",
        ),
        (
            "2026-11-20T10:00:00+00:00",
            Duration(90, DurationUnit.MINUTES),
            UTC_WEEK,
            "2026-11-20T11:30:00+00:00",
        ),
        (
            "2026-11-20T10:00:00+00:00",
            Duration(2, DurationUnit.DAYS),
            UTC_WEEK,
            "2026-11-22T10:00:00+00:00",
        ),
        # Business days keep the time of day and skip the weekend (Fri -> Mon).
        (
            "2026-11-20T15:00:00+00:00",
            Duration(1, DurationUnit.BUSINESS_DAYS),
            UTC_WEEK,
            "2026-11-23T15:00:00+00:00",
        ),
        (
            "2026-11-18T09:30:00+00:00",
            Duration(5, DurationUnit.BUSINESS_DAYS),
            UTC_WEEK,
            "2026-11-25T09:30:00+00:00",
        ),
        # Filed on Saturday: counting starts Monday 00:00, one business day ends Monday night.
        (
            "2026-11-21T10:00:00+00:00",
            Duration(1, DurationUnit.BUSINESS_DAYS),
            UTC_WEEK,
            "2026-11-24T00:00:00+00:00",
        ),
        # Holidays are skipped, in the calendar's time zone: 24 Dec 17:00 Berlin -> 28 Dec.
        (
            "2026-12-24T16:00:00+00:00",
            Duration(1, DurationUnit.BUSINESS_DAYS),
            BERLIN,
            "2026-12-28T16:00:00+00:00",
        ),
        # Friday 23:30 UTC is already Saturday in Berlin: counting starts Monday 00:00 Berlin.
        (
            "2026-11-20T23:30:00+00:00",
            Duration(1, DurationUnit.BUSINESS_DAYS),
            BERLIN,
            "2026-11-23T23:00:00+00:00",
        ),
        # Year end with Germany's public holidays: New Year's Day is skipped.
        (
            "2026-12-31T09:00:00+00:00",
            Duration(1, DurationUnit.BUSINESS_DAYS),
            BAVARIA,
            "2027-01-04T09:00:00+00:00",
        ),
        # Epiphany is a holiday in Bavaria only.
        (
            "2027-01-05T09:00:00+00:00",
            Duration(1, DurationUnit.BUSINESS_DAYS),
            BAVARIA,
            "2027-01-07T09:00:00+00:00",
        ),
        (
            "2027-01-05T09:00:00+00:00",
            Duration(1, DurationUnit.BUSINESS_DAYS),
            CalendarSettings(timezone="Europe/Berlin", public_holidays=CountryHolidays("DE")),
            "2027-01-06T09:00:00+00:00",
        ),
        # Critical: four clock hours over the night.
        (
            "2026-11-24T21:30:00+00:00",
            Duration(4, DurationUnit.HOURS),
            BAVARIA,
            "2026-11-25T01:30:00+00:00",
        ),
        # Across the end of daylight saving time the local hour is kept, not the UTC hour.
        (
            "2026-10-23T08:00:00+00:00",
            Duration(1, DurationUnit.BUSINESS_DAYS),
            BERLIN,
            "2026-10-26T09:00:00+00:00",
        ),
    ],
)
def test_sla_deadline(started: str, sla: Duration, calendar: CalendarSettings, due: str) -> None:
    assert sla_deadline(at(started), sla, calendar) == at(due)


def test_a_calendar_with_four_workdays() -> None:
    mon_to_thu = CalendarSettings(workdays=frozenset(range(4)))
    assert not is_workday(date(2026, 11, 20), mon_to_thu)
    got = add_business_days(at("2026-11-19T12:00:00+00:00"), 1, mon_to_thu)
    assert got == at("2026-11-23T12:00:00+00:00")


@given(
    # hypothesis takes naive bounds and attaches the time zone itself
    start=st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    days=st.integers(min_value=1, max_value=30),
)
def test_business_days_land_on_a_workday_and_never_early(start: datetime, days: int) -> None:
    due = add_business_days(start, days, BERLIN)
    local = due.astimezone(BERLIN.tz)
    assert is_workday(local.date(), BERLIN) or local.time() == datetime.min.time()
    assert due >= start + timedelta(days=days)
