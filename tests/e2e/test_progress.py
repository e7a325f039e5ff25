"""A run in a CI job says how far it has got (docs/how-to/gitlab-ci.md), on stderr, through the
CLI."""

from __future__ import annotations

import re

import pytest

from exception_bot import progress
from tests.e2e.world import World
from tests.support.stories import LOW

LINE = re.compile(r"exception-bot: (\d+)/5 requests done, (\d+) actions? so far")


def test_a_run_in_ci_says_how_far_it_has_got(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(progress, "EVERY_REQUESTS", 2)  # a line every 2 requests, not 100
    for _ in range(5):
        world.open("bob", LOW)
    result = world.run()
    found = [LINE.fullmatch(line) for line in result.output.splitlines()]
    lines = [m for m in found if m is not None]
    assert [int(m.group(1)) for m in lines] == [2, 4, 5]
    counts = [int(m.group(2)) for m in lines]
    assert 0 < counts[0] < counts[1] < counts[2]
    assert result.summary["processed"] == 5  # and the summary is still the last line
