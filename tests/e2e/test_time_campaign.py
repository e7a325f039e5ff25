"""A state file never changes a decision (docs/reference/config.md, `state_file`). Two bots, one
with a state file and one without, watch the same organisation for four weeks, run at irregular
moments; after every run, both GitLabs must hold exactly the same. The weeks cross every time-based
trigger: review deadlines and their reminders (in hours and in business days, over weekends and a
holiday), a CISO escalation and an appeal waiting, expiry reminders and expiry, a request whose
expiry date arrives while in review, a renewal that ends its original, a merge-request exception's
reminder issue (and its expiry moved by a later merge request), the end of an appeal window and the
weekly reports; on two calendars, the second with the project named by its id. A wake-up time the
state file got wrong shows as a run in which the bot with the state file skipped an issue that the
other one acted on. Before each run, the bot without a state file is also run with --dry-run: it
must name exactly the actions the run then takes, the register watch's and the weekly report's
included (docs/explanation/design.md), and write nothing.

One short case on the same twins: GitLab throttles the touch of a label
(app/models/concerns/throttled_touch.rb), so a decision within a minute of the bot's note leaves
``updated_at`` as a run just read it; the bot with the state file must still act next run."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from exception_bot import state
from tests.e2e.world import LOW_ROUTE, REQUESTS, World, edit_config, final_state, new_world
from tests.requests import body, set_field
from tests.support.merge_route import merged
from tests.support.stories import ACTIVATION, activate, rejected

LOW = body("low_staging")
END = datetime(2026, 12, 19, 12, 0, tzinfo=UTC)
STATE_FILE = Path("keeper", "exception-bot.json")  # new_world's, in the keeper's folder
# The iids organisation() gives its requests.
CRITICAL, EXPIRING, RENEWED, ESCALATED, REJECTED, RENEWAL = 1, 5, 6, 7, 8, 11
DEPARTMENT, SECURITY = "Department head approval", "Security team approval"
# The parts of `run --json` that list what a run writes (or, with --dry-run, would write).
WRITES = ("adopted", "issues", "watch", "weekly_report")
# What people do while the bots watch: (from when, what), each done once, in both worlds.
Event = tuple[datetime, Callable[[World], object]]


def organisation(world: World) -> list[Event]:
    """Requests at every place of their life on Monday 23 November, and what their people will
    do in the weeks after. Iids are the same in both worlds: the story is the same."""
    critical = world.open("bob", set_field(LOW, "Risk level", "Critical"))  # 4-hour review
    high = world.open("bob", set_field(LOW, "Risk level", "High"))  # 1 business day
    medium = world.open("bob", set_field(LOW, "Risk level", "Medium"))  # 3 business days
    incomplete = world.open("bob", set_field(LOW, "Justification", ""))
    expiring = world.open("bob", set_field(LOW, "Expiration date", "2026-12-15"))
    renewed = world.open("bob", set_field(LOW, "Expiration date", "2026-12-12"))
    escalated = world.open("alice", body("critical_production"))  # the CISO first, in 4 hours
    world.run()
    world.later(minutes=30).tick("carol", medium, DEPARTMENT)
    activate(world, expiring)  # reminders 14, 7 and 1 days before 15 December, then expiry
    activate(world, renewed)  # its renewal, active from 10 December, ends it before expiry
    assert rejected(world) == REJECTED  # its appeal window ends 14 days later
    appealing = rejected(world)
    merged(world.sandbox, expires_at=date(2026, 12, 10))  # a reminder issue, then expiry
    assert (critical, expiring, renewed, escalated) == (CRITICAL, EXPIRING, RENEWED, ESCALATED)
    renewal = RENEWAL  # opened on 3 December, the next iid

    def fill_in(world: World) -> None:
        world.edit("bob", incomplete, "## Justification\n", "## Justification\n\nPayroll.\n")

    def renew(world: World) -> None:
        assert world.open("bob", set_field(body("renewal"), "Renews", f"#{renewed}")) == renewal

    def appeal(world: World) -> None:
        world.label("bob", appealing, add=["exception-action::appeal"])

    return [
        (at(11, 25, 10), lambda w: w.comment("carol", critical, "Why?")),
        (at(11, 26, 15), appeal),
        (at(11, 27, 16), lambda w: w.tick("carol", high, DEPARTMENT)),
        (at(12, 1, 11), lambda w: w.tick("victor", medium, SECURITY)),
        (at(12, 2, 9), fill_in),
        (at(12, 3, 10), renew),
        (at(12, 4, 15), lambda w: merged(w.sandbox, "update", expires_at=date(2026, 12, 22))),
        *(
            (at(12, day, 10), lambda w, user=user, item=item: w.tick(user, renewal, item))
            for day, (user, item) in zip(
                (4, 7, 8, 9, 10), [*LOW_ROUTE, ("bob", ACTIVATION)], strict=True
            )
        ),
    ]


def at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


# The default calendar, and one far from UTC, with a holiday and a four-day week: wake-up
# times of reminders and review deadlines count days in the calendar's time zone. In the
# second, the bot with the state file also names the requests project by its id, which must
# not change what it does either. The dry runs are compared on the first only: what --dry-run
# prints does not depend on the calendar, and they are a third of the campaign's time.
VARIANTS = {
    "utc": ({"timezone": "UTC", "workdays": ["mon", "tue", "wed", "thu", "fri"]}, False),
    "auckland-by-id": (
        {
            "timezone": "Pacific/Auckland",
            "workdays": ["mon", "tue", "wed", "thu"],
            "holidays": [date(2026, 12, 1)],
        },
        True,
    ),
}
DRY_RUNS = "utc"


@pytest.fixture(params=list(VARIANTS.values()), ids=list(VARIANTS))
def twins(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, World]]:
    """The same organisation twice: watched with a state file, and without."""
    calendar, by_id = request.param
    keeper, forgetter = tmp_path / "keeper", tmp_path / "forgetter"
    keeper.mkdir()
    forgetter.mkdir()
    worlds = (
        new_world(keeper, state_file=True, calendar=calendar),
        new_world(forgetter, calendar=calendar),
    )
    if by_id:
        project = worlds[0].sandbox.store.project(REQUESTS)
        assert project is not None
        config = worlds[0].config
        edit_config(config, lambda data: data["gitlab"].update(requests_project=project.id), config)
    yield worlds
    for world in worlds:
        world.sandbox.stop()


def next_run(now: datetime, rng: random.Random, wakes: Iterable[datetime]) -> datetime:
    """15 minutes to 16 hours after ``now``, or sooner: a minute before the bot with the state
    file would next read any issue. A trigger due earlier than that wake-up time is then acted
    on by the other bot in this run, and skipped by it: however late the wake-up time is."""
    step = now + timedelta(minutes=rng.randint(15, 16 * 60))
    before = [wake - timedelta(minutes=1) for wake in wakes]
    return min([step, *(moment for moment in before if moment > now)])


def test_a_state_file_never_changes_what_the_bot_does(
    twins: tuple[World, World], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    keeper, forgetter = twins
    dry_runs = request.node.callspec.id == DRY_RUNS
    events = organisation(keeper)
    organisation(forgetter)
    assert keeper.clock == forgetter.clock
    assert final_state(keeper, commits=True) == final_state(forgetter, commits=True)
    rng = random.Random(20261123)  # noqa: S311 - a test's schedule, not a secret
    runs = skipped = 0
    written: Counter[str] = Counter()  # the actions of each part, over the weeks
    moment = next_run(keeper.clock, rng, ())
    while moment < END:
        for world in twins:
            world.at(moment)
            for _, act in (event for event in events if event[0] <= moment):
                act(world)
        events = [event for event in events if event[0] > moment]
        # The bot without a state file says what it would do first: --dry-run must tell it
        # (the register watch's commits and issues, and the week's report, too) and do none.
        if dry_runs:
            before = final_state(forgetter, commits=True)
            would = json.loads(forgetter.run("--dry-run", "--json").output)
            assert final_state(forgetter, commits=True) == before, f"--dry-run at {moment} wrote"
        kept, forgot = keeper.run(), forgetter.run("--json")
        assert (kept.exit_code, forgot.exit_code) == (0, 0), kept.output + forgot.output
        did = json.loads(forgot.output)
        for part in WRITES:
            if dry_runs:
                assert did[part] == would[part], f"--dry-run at {moment}: {part}"
            written[part] += len(did[part])
        runs, skipped = runs + 1, skipped + kept.summary["skipped"]
        assert final_state(keeper, commits=True) == final_state(forgetter, commits=True), (
            f"after the run at {moment}"
        )
        wakes = [seen.wake for seen in state.load(tmp_path / STATE_FILE).issues.values()]
        moment = next_run(moment, rng, wakes)
    assert not events
    assert skipped > 2 * runs  # the state file was used: most runs skipped most requests
    # The dry runs were compared on every kind of write: reminder issues and notes, index
    # rows, the reports of the weeks after the first.
    assert written["watch"] >= 3, written
    assert written["weekly_report"] == 3, written  # weeks 49 to 51: 48's came before
    # The weeks crossed what they were meant to cross (in one world: both are the same).
    assert keeper.state(EXPIRING) == "exception::expired"
    assert len(keeper.bot_comments(EXPIRING, "expiry")) == 3
    assert len(keeper.bot_comments(CRITICAL, "sla")) > 5  # a reminder every business day
    assert keeper.issue(REJECTED).state == "closed"  # the appeal window ended
    assert (keeper.state(RENEWAL), keeper.state(RENEWED)) == (
        "exception::active",
        "exception::renewed",
    )
    index = json.loads(keeper.register_file("register.json") or "[]")
    assert {r["id"]: r["expires_at"] for r in index}["EXC-0042"] == "2026-12-22"
    assert keeper.state(ESCALATED) == "exception::needs-info"  # its expiry day came first


@pytest.fixture
def utc_twins(tmp_path: Path) -> Iterator[tuple[World, World]]:
    """The twins on the default calendar, with no organisation yet."""
    forgetter = tmp_path / "forgetter"
    forgetter.mkdir()
    worlds = (new_world(tmp_path, state_file=True), new_world(forgetter))
    yield worlds
    for world in worlds:
        world.sandbox.stop()


def test_a_decision_label_within_a_minute_of_the_bots_note_is_acted_on_next_run(
    utc_twins: tuple[World, World],
) -> None:
    keeper, forgetter = utc_twins

    def both(act: Callable[[World], object]) -> None:
        for world in utc_twins:
            act(world)

    def run(world: World) -> dict[str, int]:
        done = world.run()
        assert done.exit_code == 0, done.output
        return done.summary

    both(lambda w: w.open("bob", LOW))
    both(lambda w: w.later(minutes=10))
    both(run)  # the bot's status note and labels move updated_at
    noted = keeper.issue(1).updated_at
    assert noted == keeper.clock
    both(lambda w: w.later(seconds=20))
    assert run(keeper)["changed"] == 0  # it reads what it wrote: nothing more to do
    run(forgetter)
    both(lambda w: w.later(seconds=20).label("carol", 1, add=["exception-action::reject"]))
    assert keeper.issue(1).updated_at == noted  # 40 s after the note: throttled
    both(lambda w: w.later(minutes=10))
    both(run)
    assert final_state(keeper, commits=True) == final_state(forgetter, commits=True)
    assert keeper.state(1) == "exception::rejected"
