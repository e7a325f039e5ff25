"""The bot's own pace: at most N writes or notes in any minute; slow down before a 429."""

from __future__ import annotations

import pytest

from exception_bot.pacing import SlidingWindow, pause_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_short_burst_never_waits_and_the_next_one_waits_for_the_window() -> None:
    t = FakeTime()
    window = SlidingWindow(3, 60.0, t.clock, t.sleep)
    for _ in range(3):
        assert window.wait() == 0.0
        t.now += 1
    assert window.wait() == pytest.approx(57.0)  # the first left the window at 1060
    assert t.slept == [pytest.approx(57.0)]
    t.now += 1
    assert window.wait() == pytest.approx(0.0)  # the second left at 1061


def test_any_minute_holds_at_most_the_limit() -> None:
    t = FakeTime()
    window = SlidingWindow(60, 60.0, t.clock, t.sleep)
    stamps = []
    for _ in range(200):
        window.wait()
        stamps.append(t.now)
        t.now += 0.1
    for i, start in enumerate(stamps):
        assert sum(1 for s in stamps[i:] if s < start + 60) <= 60


def limits(limit: str, remaining: str, reset: str) -> dict[str, str]:
    return {"RateLimit-Limit": limit, "RateLimit-Remaining": remaining, "RateLimit-Reset": reset}


@pytest.mark.parametrize(
    ("headers", "pause"),
    [
        ({}, 0.0),
        (limits("2000", "1500", "1030"), 0.0),
        (limits("2000", "150", "1030"), 31.0),  # under a tenth left: wait past the reset
        (limits("2000", "0", "5000"), 60.0),  # never more than a minute
        (limits("x", "0", "1"), 0.0),
        (limits("20", "10", "1010"), 11.0),  # a small limit keeps a reserve for the threads
        (limits("20", "11", "1010"), 0.0),
    ],
)
def test_pause_before_the_limit_is_reached(headers: dict[str, str], pause: float) -> None:
    assert pause_for(headers, 1000.0) == pytest.approx(pause)


def observed(limit: str, seen: str, remaining: str, reset: str) -> dict[str, str]:
    return {**limits(limit, remaining, reset), "RateLimit-Observed": seen}


@pytest.mark.parametrize(
    ("headers", "pause"),
    [
        # 7,200 an hour (self-managed's default when enabled) shows as 120 a minute: 200 left
        # is under a tenth of the hour's limit, though over a tenth of the header's
        (observed("120", "7000", "200", "1030"), 31.0),
        # 30 a second shows as 1,800 a minute: 17 left of 30 is plenty
        (observed("1800", "13", "17", "1001"), 0.0),
        (observed("1800", "20", "10", "1001"), 2.0),
        (observed("2000", "1850", "150", "1030"), 31.0),  # a minute's window: the same either way
    ],
)
def test_the_real_limit_is_observed_plus_remaining(headers: dict[str, str], pause: float) -> None:
    """lib/gitlab/rack_attack/request_throttle_data.rb rounds RateLimit-Limit to a minute while
    RateLimit-Remaining counts against the throttle's own period."""
    assert pause_for(headers, 1000.0) == pytest.approx(pause)
