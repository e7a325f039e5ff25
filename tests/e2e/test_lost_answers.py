"""A lost answer never duplicates a write (docs/explanation/security.md). GitLab carries a POST out
but its answer is lost on the way back (the connection drops, or the proxy in front of GitLab gives
up and answers 502): the bot looks for what it wrote before sending it again, so after the run there
is exactly one of each note, issue, link, label and commit."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date

import pytest

from exception_bot.gitlab import writes
from exception_bot.sandbox import Sandbox
from exception_bot.sandbox.server import LoggedRequest
from tests.e2e.world import (
    BOT,
    REGISTER,
    REQUESTS,
    RunResult,
    World,
    final_state,
    new_world,
    writes_besides_the_lock,
)
from tests.e2e.world import LOW_ROUTE as ROUTE
from tests.requests import body, set_field
from tests.support.merge_route import merged
from tests.support.stories import activate

LOW = body("low_staging")
NOTES = r"/issues/\d+/notes$"
LOST = pytest.mark.parametrize("status", ["drop", 502], ids=["dropped", "proxy-502"])
MARKER = re.compile(r"<!-- exception-bot:kind=[a-z-]+:key=\S* -->")


@pytest.fixture(autouse=True)
def short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot waits before looking whether a write landed; here a moment is enough."""
    monkeypatch.setattr(writes, "LOST_ANSWER_PAUSE", 0.01)


def lose(
    sandbox: Sandbox,
    path: str,
    status: int | str,
    nth: int = 1,
    times: int = 1,
    branch: str | None = None,
) -> None:
    """From the ``nth`` POST to ``path`` (naming ``branch``, when given) on, ``times`` POSTs
    are carried out and answered with ``status`` (or dropped)."""
    sandbox.fault("POST", path, nth=nth, status=status, times=times, applied=True, branch=branch)


def commits(sandbox: Sandbox) -> list[LoggedRequest]:
    """The commits sent, but for the run lock's (tests/e2e/world.py)."""
    return [w for w in writes_besides_the_lock(sandbox) if w.path.endswith("/repository/commits")]


def succeeded(result: RunResult) -> RunResult:
    assert result.exit_code == 0, result.output
    assert result.summary["failed"] == 0, result.output
    return result


def markers(world: World, project: str, iid: int) -> Counter[str]:
    """How many of the bot's notes on the issue carry each marker."""
    issue = world.sandbox.issue(project, iid)
    users = world.sandbox.store.users
    mine = (n.body for n in issue.notes if not n.system and users[n.author_id].username == BOT)
    return Counter(found for text in mine for found in MARKER.findall(text))


def titles(world: World, project: str) -> list[str]:
    found = world.sandbox.store.project(project)
    assert found is not None
    return [issue.title for issue in found.issues.values()]


def approval_story(world: World, arm: Callable[[], object] = lambda: None) -> int:
    """A request through its whole route, tampered with on the way; ``arm()`` before each run.
    The runs post turn, status, tampering and approved notes, and commit the register entry."""
    iid = world.open("bob", LOW)
    steps = [("bob", ""), *ROUTE]  # first the requester tampers, then each approver ticks
    for user, item in steps:
        arm()
        succeeded(world.run())
        world.later(hours=1)
        if item:
            world.tick(user, iid, item)
        else:
            world.label(user, iid, add=["exception::approved"])
        world.later(minutes=10)
    arm()
    succeeded(world.run())
    assert world.state(iid) == "exception::approved"
    return iid


@pytest.fixture(scope="module")
def approved_without_faults() -> str:
    world = new_world()
    try:
        approval_story(world)
        return final_state(world)
    finally:
        world.sandbox.stop()


@LOST
@pytest.mark.parametrize("nth", [1, 2], ids=["first-note", "second-note"])
def test_a_note_whose_answer_is_lost_is_posted_once(
    world: World, status: int | str, nth: int, approved_without_faults: str
) -> None:
    iid = approval_story(world, lambda: lose(world.sandbox, NOTES, status, nth))
    said = markers(world, REQUESTS, iid)
    kinds = {m.split(":")[1].removeprefix("kind=") for m in said}
    assert {"turn", "status", "tampering", "approved"} <= kinds, kinds
    assert [m for m, n in said.items() if n > 1] == []
    assert final_state(world) == approved_without_faults


@LOST
def test_an_issue_whose_answer_is_lost_is_opened_once(world: World, status: int | str) -> None:
    """The run opens the weekly report issue and the reminder issue of an exception that
    expires in 6 days (and posts its reminder): each of the three POSTs loses its answer."""
    merged(world.sandbox, expires_at=date(2026, 11, 29))
    lose(world.sandbox, r"/issues$", status, times=2)
    lose(world.sandbox, NOTES, status)
    succeeded(world.run())
    succeeded(world.later(minutes=10).run())
    assert titles(world, REQUESTS) == ["Exception EXC-0042 expires on 2026-11-29"]
    assert world.assignees(1) == ["bob"]
    assert list(markers(world, REQUESTS, 1).values()) == [1]
    assert titles(world, REGISTER) == ["Exception report 2026-W48"]


@LOST
def test_a_link_whose_answer_is_lost_is_made_once(world: World, status: int | str) -> None:
    """GitLab answers a second link of the same issues 409 "Issue(s) already assigned": sent
    blindly again, it failed the renewal for the run."""
    original = world.open("bob", LOW)
    activate(world, original)
    renewal = world.open("bob", set_field(body("renewal"), "Renews", f"#{original}"))
    lose(world.sandbox, r"/issues/\d+/links$", status)
    succeeded(world.run())
    links = world.gl("bob").projects.get(REQUESTS, lazy=True).issues.get(renewal).links.list()
    assert [link.iid for link in links] == [original]
    assert len(world.sandbox.matching("POST", r"/links$")) == 1


@LOST
def test_a_register_commit_whose_answer_is_lost_is_made_once(
    world: World, status: int | str
) -> None:
    """The commit that writes an approved exception's entry loses its answer: still one
    commit (a blind retry was refused by GitLab, and the bot must not take that for a
    conflict either)."""
    lose(world.sandbox, r"/repository/commits$", status, branch="main")
    iid = approval_story(world)
    entry = world.register_entry(iid)
    assert entry["status"] == "approved"
    project = world.sandbox.store.project(REGISTER)
    assert project is not None
    entries = [c for c in project.commits.values() if entry["path"] in c.changed]
    assert len(entries) == 1, [c.message for c in entries]
    assert len(commits(world.sandbox)) == 1


@LOST
def test_setup_whose_answers_are_lost_creates_each_label_and_file_once(
    world: World, sandbox: Sandbox, status: int | str
) -> None:
    """A label sent again answers 409 "Label already exists", a file created again 400 "A
    file with this name already exists": sent blindly again, they failed the setup."""
    planned = world.cli("setup").output
    lose(sandbox, r"/labels$", status)
    lose(sandbox, r"/repository/commits$", status, times=2, branch="main")
    applied = world.cli("setup", "--apply")
    assert applied.exit_code == 0, applied.output
    again = world.cli("setup", "--apply")
    assert again.output.strip() == "nothing to do: GitLab is set up for this config"
    counts = sandbox.counts()
    assert counts["POST /projects/:id/labels"] == planned.count(": create label ")
    assert len(commits(sandbox)) == planned.count(": commit ")
