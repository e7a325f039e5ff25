"""One write path (docs/explanation/design.md). Every write of a run goes through actions and the
sink, so ``run --dry-run`` shows them all and writes none: the intake label of a request GitLab left
unlabelled, the register watch's index rows, a merge-request exception's reminder issue and its
note, an unverified file's alert issue, and the week's report. The run that follows does exactly
what the dry run said, the request it labels included."""

from __future__ import annotations

import json
from datetime import date

from exception_bot.sandbox import Sandbox
from tests.e2e.world import REGISTER, REQUESTS, World, final_state, writes_besides_the_lock
from tests.requests import body
from tests.support.merge_route import exception_file, merged, push

UNVERIFIED = "exceptions/EXC-0050-pushed.md"


def organisation(world: World) -> int:
    """A request by nora, no member of the internal requests project (GitLab does not run
    the template's /label for her), an exception merged by merge request that expires in a
    week, and a file pushed straight to the register; no report posted this week yet."""
    project = world.sandbox.store.project(REQUESTS)
    assert project is not None
    project.visibility = "internal"
    world.sandbox.load({"users": ["nora"]})
    iid = world.open("nora", body("low_staging"))
    merged(world.sandbox, expires_at=date(2026, 11, 30))
    pushed = exception_file(id="EXC-0050", title="Pushed", requester="mallory")
    push(world, "bob", "main", pushed, path=UNVERIFIED)
    return iid


def test_a_dry_run_names_every_write_and_writes_none(world: World, sandbox: Sandbox) -> None:
    iid = organisation(world)
    before = final_state(world, commits=True)
    sandbox.clear_log()
    dry = world.run("--dry-run")
    assert dry.exit_code == 0, dry.output
    assert sandbox.writes() == []  # not even the run lock: a dry run takes none
    assert final_state(world, commits=True) == before
    lines = dry.output.splitlines()
    for line in [
        f"{REQUESTS}#{iid}: would set labels ExceptionRequest",
        f"{REGISTER}: would list exceptions/EXC-0042-keep-tls.md in the register's index",
        f'{REQUESTS}: would open the issue "Exception EXC-0042 expires on 2026-11-30" assigned '
        "to @bob mentioning @bob, then post a note (watch-reminder)",
        f"{REGISTER}: would list {UNVERIFIED} in the register's index",
        f'{REGISTER}: would open the issue "Unverified register file: EXC-0050" '
        "mentioning @security/compliance",
        f'{REGISTER}: would open the issue "Exception report 2026-W48"',
    ]:
        assert line in lines, dry.output

    # --json gives them in full, and the run then does exactly that.
    said = json.loads(world.run("--dry-run", "--json").output)
    assert sandbox.writes() == []
    done = json.loads(world.run("--json").output)
    for part in ("adopted", "issues", "watch", "weekly_report"):
        assert done[part] == said[part], part
        assert done[part], part
    report = next(a for a in done["weekly_report"] if a["action"] == "OpenIssue")
    register = sandbox.store.project(REGISTER)
    assert register is not None
    titles = {issue.title: issue for issue in register.issues.values()}
    assert titles[report["title"]].description == report["body"].strip()  # as GitLab keeps it
    assert "ExceptionRequest" in world.labels(iid)


def test_report_post_writes_an_unchanged_report_no_more(world: World, sandbox: Sandbox) -> None:
    world.open("bob", body("low_staging"))
    now = world.clock.isoformat()
    first = world.cli("report", "--post", "--now", now)
    assert first.output.startswith("posted security/exception-register#"), first.output
    sandbox.clear_log()
    again = world.cli("report", "--post", "--now", now)
    assert again.output.startswith("the report issue is up to date: "), again.output
    assert writes_besides_the_lock(sandbox) == []
