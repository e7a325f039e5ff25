"""One request decided run after run in the pure core, as the unit tests of the approval walk
and the lifecycle drive it: the demo company's people, a low-risk request, one bot step."""

from __future__ import annotations

from datetime import UTC, datetime

from exception_bot.domain.actions import PostNote
from exception_bot.domain.people import Directory
from exception_bot.domain.register import read_front_matter
from exception_bot.domain.review import Outcome, decide
from exception_bot.domain.review.context import Context
from exception_bot.domain.settings import Config
from exception_bot.render import TEMPLATES
from tests.issues import BOT, FakeIssue, person
from tests.requests import body

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
BOB, CAROL, ERIN = person("bob"), person("carol"), person("erin")  # requester, finance head, owner
SAM, TOM, GRACE = person("sam"), person("tom"), person("grace")  # security team; outsider; CISO
HEIDI, FRANK, ALICE = person("heidi"), person("frank"), person("alice")
DIRECTORY = Directory(
    {
        "security": frozenset({"sam", "sue"}),
        "security/compliance": frozenset({"sue", "sid"}),
        "engineering/managers": frozenset({"mia"}),
        "legal": frozenset({"lee"}),
    }
)
SUE, MIA = person("sue"), person("mia")


def step(
    issue: FakeIssue, config: Config, original: FakeIssue | None = None, **later: float
) -> Outcome:
    """One bot run at the issue's clock; its actions are applied to the issue."""
    if later:
        issue.later(**later)
    assert issue.clock is not None
    ctx = Context(config, DIRECTORY, BOT, issue.clock, TEMPLATES)
    outcome = decide(issue.snapshot(), ctx, original.snapshot() if original else None)
    issue.apply(outcome.actions)
    return outcome


def low_request() -> FakeIssue:
    return FakeIssue(body("low_staging"), BOB, T0)


def posted(outcome: Outcome) -> list[str]:
    return [a.body for a in outcome.actions if isinstance(a, PostNote)]


def front(issue: FakeIssue) -> dict[str, object]:
    data = read_front_matter(issue.register[-1].content)
    assert data is not None
    return data
