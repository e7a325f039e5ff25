"""End to end (docs/explanation/after-approval.md): the register, activation, SLAs, expiry, renewals
and the weekly report, across simulated weeks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import gitlab

from exception_bot.domain.register import read_front_matter
from exception_bot.sandbox import Sandbox
from exception_bot.sandbox.store import Store
from tests.e2e.world import REGISTER, World, edit_config, writes_besides_the_lock
from tests.requests import body, set_field
from tests.support.live import mentions
from tests.support.stories import ACTIVATION, LOW, ROUTE, activate


def test_approval_and_activation_write_the_register(world: World) -> None:
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    entry = world.register_entry(iid)
    assert (entry["status"], entry["expires_at"]) == ("approved", "2027-01-15")
    assert entry["activated_at"] is None
    assert world.issue(iid).due_date == date(2027, 1, 15)
    world.later(hours=1).tick("tom", iid, ACTIVATION)
    world.later(minutes=10).run()
    assert world.box(iid, ACTIVATION) is False  # tom may not confirm
    world.later(hours=1).tick("bob", iid, ACTIVATION)
    world.later(minutes=10).run()
    entry = world.register_entry(iid)
    assert (entry["status"], entry["activated_at"] is not None) == ("active", True)
    index = json.loads(world.register_file("register.json") or "[]")
    assert [(r["id"], r["status"]) for r in index] == [(f"EXC-{iid:04d}", "active")]
    table = world.register_file("REGISTER.md") or ""
    assert f"| [`EXC-{iid:04d}`](exceptions/EXC-{iid:04d}-confidential.md) |" in table
    assert "gantt" in table


def test_an_sla_breach_over_a_weekend_and_a_holiday(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    holiday = ["2026-11-30"]  # the Monday after
    config = edit_config(
        tmp_path / "holiday.yml", lambda data: data["calendar"].update(holidays=holiday)
    )
    world = World(sandbox, gl, config)
    world.at(datetime(2026, 11, 27, 15, 0, tzinfo=UTC))  # Friday afternoon
    iid = world.open("bob", set_field(LOW, "Risk level", "High"))
    # The stage starts when the request was opened, Friday 15:00, not at the run five
    # minutes later; one business day
    world.later(minutes=5).run()
    reminders = []
    for moment in [
        "2026-11-30T16:00",  # the holiday: not due yet
        "2026-12-01T14:55",  # Tuesday, just before 15:00
        "2026-12-01T15:30",  # breached: the first reminder
        "2026-12-01T18:00",
        "2026-12-02T15:30",  # one more business day: a second reminder
        "2026-12-02T17:00",
    ]:
        world.at(datetime.fromisoformat(moment).replace(tzinfo=UTC)).run()
        reminders.append(len(world.bot_comments(iid, "sla")))
    assert reminders == [0, 0, 1, 1, 2, 2]
    assert "exception-sla::breached" in world.labels(iid)
    assert all("@carol" in c for c in world.bot_comments(iid, "sla"))


def test_expiry_reminders_expiry_and_fix_verification(world: World) -> None:
    iid = world.open("bob", LOW)
    activate(world, iid)
    seen = []
    for day in ["2026-12-31", "2027-01-01", "2027-01-02", "2027-01-08", "2027-01-14", "2027-01-15"]:
        world.at(datetime.fromisoformat(f"{day}T09:00:00+00:00")).run()
        seen.append(len(world.bot_comments(iid, "expiry")))
    assert seen == [0, 1, 1, 2, 3, 3]  # 14, 7 and 1 days before, each once
    (first,) = world.bot_comments(iid, "expiry")[:1]
    assert "issue%5Bdescription%5D=" in first  # the renewal link, Renews filled in
    world.at(datetime(2027, 1, 16, 0, 30, tzinfo=UTC)).run()
    assert world.state(iid) == "exception::expired"
    assert world.register_entry(iid)["status"] == "expired"
    world.later(hours=2).tick("sue", iid, "Fix verified")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::closed"
    assert world.issue(iid).state == "closed"
    entry = world.register_entry(iid)
    assert entry["path"].startswith("archive/")
    assert entry["status"] == "closed"
    files = world.sandbox.files(REGISTER)
    assert not any(p.startswith("exceptions/") for p in files)


def test_renewals_link_number_and_close_the_original(world: World) -> None:
    original = world.open("bob", LOW)
    activate(world, original)
    renewal = world.open("bob", set_field(body("renewal"), "Renews", f"#{original}"))
    world.run()
    (link,) = (
        world.gl("bob")
        .projects.get("security/exceptions", lazy=True)
        .issues.get(renewal)
        .links.list(get_all=True)
    )
    assert link.iid == original
    activate(world, renewal)
    world.later(minutes=10).run()
    assert world.state(original) == "exception::renewed"
    assert world.issue(original).state == "closed"
    assert world.register_entry(original)["status"] == "renewed"
    entry = world.register_entry(renewal)
    assert (entry["renewal_of"], entry["renewal_number"]) == (f"EXC-{original:04d}", 1)


def test_a_concurrent_register_edit_is_kept(world: World, sandbox: Sandbox) -> None:
    iid = world.open("bob", LOW)

    def hand_edit(store: Store) -> None:
        """Someone commits to the register while the bot is about to."""
        project = store.project(REGISTER)
        auditor = store.user_named("sue")
        assert project is not None
        assert auditor is not None
        legacy = {"id": "LEGACY-7", "title": "Signed on paper in 2025", "status": "active"}
        store.commit(
            project,
            auditor,
            "main",
            "Add a legacy exception",
            [
                {"action": "create", "file_path": "exceptions/LEGACY-7.md", "content": "paper"},
                {"action": "create", "file_path": "register.json", "content": json.dumps([legacy])},
            ],
        )

    world.run()
    (*first, (last_user, last_item)) = ROUTE.values()
    for user, item in first:
        world.later(hours=1).tick(user, iid, item)
        world.later(minutes=10).run()
    # The approving run commits twice to the lock's branch (taking and releasing the lock) and
    # once to the register, in between: the second commit it sends.
    sandbox.before("POST", r"/repository/commits$", hand_edit, nth=2)
    sandbox.clear_log()
    world.later(hours=1).tick(last_user, iid, last_item)
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    files = sandbox.files(REGISTER)
    assert "exceptions/LEGACY-7.md" in files
    rows = {row["id"]: row for row in json.loads(files["register.json"])}
    # The hand-written row is kept; the file, whose front matter cannot be read, is nobody's
    # entry: listed by its path as unverified.
    paper = "exceptions/LEGACY-7.md"
    assert list(rows) == [f"EXC-{iid:04d}", "LEGACY-7", paper]
    assert rows[paper]["status"] == "unverified"
    assert "LEGACY-7" in files["REGISTER.md"]
    commits = [
        r
        for r in writes_besides_the_lock(sandbox)
        if r.endpoint == "POST /projects/:id/repository/commits"
    ]
    # The entry's commit, refused on stale content, then retried; the unverified file's row.
    assert [r.status for r in commits] == [400, 201, 201]


def test_hostile_text_cannot_break_the_register(world: World) -> None:
    hostile = LOW
    nasty = (
        "--- \nfront: matter\n---\n| broken | table |\n<img src=x onerror=alert(1)>\n"
        "@all &amp; `code` ]]> \"quotes\" 'single' \\ \t tab ¿ünïcødé? \u2028 #tag ~label"
    )
    for field in ("Summary", "Scope", "Justification", "Risk assessment", "Remediation plan"):
        hostile = set_field(hostile, field, nasty)
    # A public request: a confidential one's title and text never reach the register.
    public = hostile.replace("/confidential", "")
    iid = world.open("bob", public, title='x: | y "z" --- ]]> @all <b>')
    world.approve(iid, ROUTE)
    entry = world.register_entry(iid)
    assert entry["title"] == 'x: | y "z" --- ]]> @all <b>'
    table = world.register_file("REGISTER.md") or ""
    (row,) = [line for line in table.splitlines() if line.startswith(f"| [`EXC-{iid:04d}`]")]
    assert row.count(" | ") == 6
    assert mentions(table) == []  # no mention from the register's table
    text = world.register_file(entry["path"]) or ""
    assert mentions(text.split("\n---\n", 1)[1]) == []  # nor from the entry's sections


def test_confidential_requests_keep_their_free_text_out(world: World) -> None:
    secret = world.open("bob", LOW)  # the template makes requests confidential
    public = world.open("bob", LOW.replace("/confidential", ""))
    for iid in (secret, public):
        world.approve(iid, ROUTE)
    secret_text = world.register_file(world.register_entry(secret)["path"]) or ""
    public_text = world.register_file(world.register_entry(public)["path"]) or ""
    assert "fin-report-01" not in secret_text
    assert "its text is kept in the request issue only" in secret_text
    assert "fin-report-01" in public_text
    secret_data = read_front_matter(secret_text)
    assert secret_data is not None
    assert secret_data["confidential"] is True


def test_the_weekly_report_is_posted_once_per_week(world: World, sandbox: Sandbox) -> None:
    world.open("bob", LOW)
    world.run()
    world.later(hours=5).run()
    world.later(days=2).run()

    def reports() -> list[str]:
        project = sandbox.store.project(REGISTER)
        assert project is not None
        return sorted(i.title for i in project.issues.values())

    assert reports() == ["Exception report 2026-W48"]
    world.later(days=5).run()  # the next Monday
    assert reports() == ["Exception report 2026-W48", "Exception report 2026-W49"]
    project = sandbox.store.project(REGISTER)
    assert project is not None
    latest = max(project.issues.values(), key=lambda i: i.iid).description
    assert "## Open requests" in latest
    assert "security/exceptions#1" in latest
    assert "pie title Requests by risk level" in latest


def test_report_command_prints_and_posts(world: World, sandbox: Sandbox) -> None:
    iid = world.open("bob", LOW)
    world.run("--dry-run")
    printed = world.cli("report", "--now", world.clock.isoformat())
    assert printed.exit_code == 0, printed.output
    assert "# Exception report 2026-W48" in printed.output
    assert f"security/exceptions#{iid}" in printed.output
    assert world.labels(iid) == {"ExceptionRequest", "exception::submitted"}  # nothing written
    posted = world.cli("report", "--post", "--now", world.clock.isoformat())
    assert "posted security/exception-register#" in posted.output
    world.later(hours=1).run()  # the request moves; the week's report exists already
    again = world.cli("report", "--post", "--now", world.clock.isoformat())
    assert "posted security/exception-register#" in again.output  # updated in place
    project = sandbox.store.project(REGISTER)
    assert project is not None
    (report,) = project.issues.values()
    assert "| in-review | department-head |" in report.description


def test_register_export_for_auditors(world: World) -> None:
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    as_csv = world.cli("register export", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    header, row = as_csv.output.splitlines()
    assert header.startswith("id,title,status,risk_level")
    assert row.startswith(f"EXC-{iid:04d},Confidential exception EXC-{iid:04d},approved,low")
    as_json = json.loads(world.cli("register export", "--format", "json").output)
    assert [r["id"] for r in as_json] == [f"EXC-{iid:04d}"]


def test_linked_incidents_reach_the_register(world: World, sandbox: Sandbox) -> None:
    iid = world.open("bob", LOW)
    activate(world, iid)
    ops = world.gl("tom").projects.get("security/exceptions", lazy=True)
    incident = ops.issues.create({"title": "TLS downgrade seen", "issue_type": "incident"})
    ops.issues.get(incident.iid).links.create(
        {"target_project_id": "security/exceptions", "target_issue_iid": iid}
    )
    world.later(hours=1).run()
    assert world.register_entry(iid)["incidents"] == [f"security/exceptions#{incident.iid}"]
    report = world.cli("report", "--now", world.clock.isoformat()).output
    assert f"security/exceptions#{incident.iid}" in report[report.index("## Incidents") :]
