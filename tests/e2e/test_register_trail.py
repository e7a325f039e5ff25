"""End to end (docs/explanation/after-approval.md): a confidential request's register entry, index
rows and report rows keep no title and no free text; every register commit names the exception, the
event, who caused it and when as git trailers; a rejection an appeal set aside stays in the entry;
``register export`` gives the dates, approvals and renewal chain."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import gitlab

from exception_bot.domain.register import EXPORT_FIELDS
from exception_bot.sandbox import Sandbox
from tests.e2e.world import BOT, REGISTER, REQUESTS, World, edit_config
from tests.requests import body, set_field
from tests.support.merge_route import HIGH_APPROVERS, exception_file, merge_request, push
from tests.support.stories import ACTIVATION, ROUTE, activate

LOW = body("low_staging")
PUBLIC = LOW.replace("/confidential", "")
# Words of a confidential renewal that must reach no file of the register and no report.
SECRETS = {
    "Why the original timeline was not met": "Payroll vendor Zorblax missed its audit",
    "Updated remediation plan": "Migrate payroll-db-07 to Quenchcrypt",
    "Summary": "Plain TLS for the Kestrel payroll export",
    "Scope": "payroll-db-07 only",
}
SECRET_TITLE = "Kestrel payroll export keeps TLS 1.1"
PUSHED = "exceptions/EXC-0043-pushed.md"


def confidential_renewal(world: World) -> tuple[int, int]:
    original = world.open("bob", LOW)  # the template makes requests confidential
    activate(world, original)
    text = set_field(body("renewal"), "Renews", f"#{original}")
    for heading, words in SECRETS.items():
        text = set_field(text, heading, words)
    renewal = world.open("bob", text, title=SECRET_TITLE)
    activate(world, renewal)
    world.later(minutes=10).run()
    assert world.state(original) == "exception::renewed"
    return original, renewal


def everything_public(world: World, sandbox: Sandbox) -> str:
    """Every file of the register and every issue of the register project (the reports)."""
    project = sandbox.store.project(REGISTER)
    assert project is not None
    issues = [f"{i.title}\n{i.description}" for i in project.issues.values()]
    return "\n".join([*world.sandbox.files(REGISTER).values(), *issues])


def test_a_confidential_renewal_writes_no_free_text_anywhere_public(
    world: World, sandbox: Sandbox
) -> None:
    original, renewal = confidential_renewal(world)
    world.cli("report", "--post", "--now", world.clock.isoformat())
    public = everything_public(world, sandbox)
    for words in (*SECRETS.values(), SECRET_TITLE, "fin-report-01", "reporting VM"):
        assert words not in public, words
    entry = world.register_entry(renewal)
    neutral = f"Confidential exception EXC-{renewal:04d}"
    assert (entry["title"], entry["redacted"], entry["status"]) == (neutral, True, "active")
    assert entry["path"] == f"exceptions/EXC-{renewal:04d}-confidential.md"
    # What an auditor needs stays: the chain, the approvals, the dates, the link.
    assert (entry["renewal_of"], entry["renewal_number"]) == (f"EXC-{original:04d}", 1)
    assert [a["user"] for a in entry["approvals"]] == ["carol", "victor", "erin", "sue"]
    assert None not in (entry["approved_at"], entry["activated_at"])
    assert entry["source"].endswith(f"/-/issues/{renewal}")
    index = json.loads(world.register_file("register.json") or "[]")
    assert {r["id"]: r["title"] for r in index}[f"EXC-{renewal:04d}"] == neutral
    assert f"| `{neutral}` |" in (world.register_file("REGISTER.md") or "")
    report = world.cli("report", "--now", world.clock.isoformat()).output
    assert f"`{neutral}`" in report


def test_confidential_details_kept_when_the_config_says_so(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], tmp_path: Path
) -> None:
    def keep(data: dict[str, object]) -> None:
        register = data["register"]
        assert isinstance(register, dict)
        register["include_confidential_details"] = True

    world = World(sandbox, gl, edit_config(tmp_path / "config.yml", keep))
    iid = world.open("bob", LOW, title=SECRET_TITLE)
    world.approve(iid, ROUTE)
    entry = world.register_entry(iid)
    assert (entry["title"], entry["confidential"], entry["redacted"]) == (SECRET_TITLE, True, False)
    assert "fin-report-01" in (world.register_file(entry["path"]) or "")


def trailers(message: str) -> dict[str, str]:
    """The message's trailers as git itself reads them."""
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"],  # noqa: S607 - git from PATH, as CI has it
        input=message,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(": ", 1) for line in parsed.splitlines())


def register_commits(sandbox: Sandbox) -> list[str]:
    """The messages of the register branch's commits, oldest first."""
    store = sandbox.store
    project = store.project(REGISTER)
    assert project is not None
    head = store.head(project, None)
    assert head is not None
    return [c.message for c in reversed(store.history(project, head, None)) if c.parent_id]


def test_each_register_commit_names_the_event_who_caused_it_and_when(
    world: World, sandbox: Sandbox
) -> None:
    iid = world.open("bob", PUBLIC)
    world.approve(iid, ROUTE)
    approved_at = world.clock - timedelta(minutes=10)  # sue's tick: approve runs 10 min later
    world.later(hours=1).tick("bob", iid, ACTIVATION)
    activated_at = world.clock
    world.later(minutes=10).run()
    world.later(days=1).label("sue", iid, add=["exception-action::revoke"])
    revoked_at = world.clock
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::revoked"
    url = world.gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid).web_url
    expected = [
        ("approved", "sue", approved_at),
        ("active", "bob", activated_at),
        ("revoked", "sue", revoked_at),
    ]
    messages = register_commits(sandbox)
    assert [m.splitlines()[0] for m in messages] == [
        f"EXC-{iid:04d}: {event}" for event, _, _ in expected
    ]
    assert [trailers(m) for m in messages] == [
        {
            "Exception-Id": f"EXC-{iid:04d}",
            "Event": event,
            "Actor": actor,
            "Acted-At": at.isoformat(),
            "Issue": url,
        }
        for event, actor, at in expected
    ]


def test_a_rejection_set_aside_on_appeal_stays_in_the_entry(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).label("carol", iid, add=["exception-action::reject"])
    rejected_at = world.clock
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::rejected"
    world.later(days=2).label("bob", iid, add=["exception-action::appeal"])
    appealed_at = world.clock
    world.later(minutes=10).run()
    world.later(hours=1).tick("lee", iid, "Legal opinion recorded")
    world.later(minutes=10).run()
    world.later(hours=1).tick("ivan", iid, "CEO decision")
    world.later(minutes=10).run()
    world.later(hours=1).tick("judy", iid, "CFO decision")
    granted_at = world.clock  # the last tick, not the run that saw it
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved"
    entry = world.register_entry(iid)
    assert entry["rejections"] == [
        {"user": "carol", "at": rejected_at.isoformat(), "stage": "Department Head"}
    ]
    assert entry["appealed_at"] == appealed_at.isoformat()
    assert entry["appeal_granted_at"] == granted_at.isoformat()
    assert [a["user"] for a in entry["approvals"]] == ["lee", "ivan", "judy"]


def test_register_export_gives_dates_approvals_and_the_renewal_chain(world: World) -> None:
    original, renewal = confidential_renewal(world)
    as_csv = world.cli("register export", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert list(rows[0]) == list(EXPORT_FIELDS)
    by_id = {r["id"]: r for r in rows}
    old, new = by_id[f"EXC-{original:04d}"], by_id[f"EXC-{renewal:04d}"]
    assert (old["status"], new["status"]) == ("renewed", "active")
    assert "" not in (old["closed_at"], old["approved_at"], old["activated_at"])
    assert (new["renewal_of"], new["renewal_number"]) == (f"EXC-{original:04d}", "1")
    approvals = new["approvals"].split("; ")
    assert [a.split(" ")[-2] for a in approvals] == ["carol", "victor", "erin", "sue"]
    assert approvals[0].startswith("Department Head: carol 2026-")
    assert (old["expires_at"], new["expires_at"]) == ("2027-01-15", "2027-02-20")
    as_json = json.loads(world.cli("register export", "--format", "json").output)
    entry = {e["id"]: e for e in as_json}[f"EXC-{renewal:04d}"]
    assert entry["approvals"][0]["user"] == "carol"
    assert entry["path"] == f"exceptions/EXC-{renewal:04d}-confidential.md"
    assert {"rejections", "incidents", "activated_at", "closed_at"} <= set(entry)


def test_the_index_commits_of_the_merge_request_route_have_their_trailers(
    world: World, sandbox: Sandbox
) -> None:
    """A merged file is indexed as ``merged`` by whoever merged it, at the merge, with its merge
    request; a pushed one as ``unverified`` by the bot, now (its commit's author and committer
    are the pusher's say). No ``Issue``: none is involved."""
    iid = merge_request(world, exception_file(), approvers=HIGH_APPROVERS)
    mr = world.gl("bob").projects.get(REGISTER).mergerequests.get(iid)
    world.later(minutes=10).run()
    push(world, "bob", "main", exception_file(id="EXC-0043", title="Pushed"), path=PUSHED)
    world.later(minutes=10).run()
    pushed_at = world.clock
    indexed = [trailers(m) for m in register_commits(sandbox) if "Exception-Id" in m]
    assert indexed == [
        {
            "Exception-Id": "EXC-0042",
            "Event": "merged",
            "Actor": "sue",
            "Acted-At": datetime.fromisoformat(mr.merged_at).isoformat(),
            "Merge-Request": mr.web_url,
        },
        {
            "Exception-Id": "EXC-0043",
            "Event": "unverified",
            "Actor": BOT,
            "Acted-At": pushed_at.isoformat(),
        },
    ]
