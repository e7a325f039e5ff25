"""End to end (docs/how-to/audit-the-register.md): ``register verify`` checks the register the bot
wrote against GitLab (the issue's checklist notes, the bot's record, the config's roles) and
register.json against the files: exit 0 on a clean register, and one line naming each discrepancy
(exit 1) when a person edits the register, or a record, behind the bot's back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from exception_bot.domain import record
from exception_bot.domain.markers import trailing
from exception_bot.sandbox import Sandbox
from tests.e2e.world import BOT, REGISTER, World, edit_config
from tests.requests import body, set_field

PUBLIC = body("low_staging").replace("/confidential", "")
ROUTE = {
    "exception-stage::department-head": ("carol", "Department head approval"),
    "exception-stage::security-team": ("victor", "Security team approval"),
    "exception-stage::policy-owner": ("erin", "Policy owner approval"),
    "exception-stage::security-compliance": ("sue", "Security Compliance review"),
}
TITLE = "Keep TLS 1.1 on fin-report-01"


def active_exception(world: World) -> tuple[int, str]:
    """An approved, activated request; its entry's path."""
    iid = world.open("bob", PUBLIC, title=TITLE)
    world.approve(iid, ROUTE)
    world.later(hours=1).tick("bob", iid, "Compensating controls implemented")
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::active"
    return iid, str(world.register_entry(iid)["path"])


def push(sandbox: Sandbox, changes: dict[str, str | None], user: str = "sue") -> None:
    """A person with push access commits straight to the register's branch (None deletes)."""
    store = sandbox.store
    project, person = store.project(REGISTER), store.user_named(user)
    assert project is not None
    assert person is not None
    files = sandbox.files(REGISTER)
    actions: list[dict[str, object]] = [
        {"action": "delete", "file_path": path}
        if text is None
        else {"action": "update" if path in files else "create", "file_path": path, "content": text}
        for path, text in changes.items()
    ]
    store.commit(project, person, "main", "Hand edit", actions)


def edit_file(sandbox: Sandbox, path: str, old: str, new: str) -> None:
    text = sandbox.file(REGISTER, path)
    assert text is not None
    assert old in text, (old, text)
    push(sandbox, {path: text.replace(old, new, 1)})


def verify(world: World, *args: str) -> tuple[int, list[str]]:
    result = world.cli("register verify", *args)
    return result.exit_code, result.output.strip().splitlines()


def test_a_register_the_bot_wrote_verifies(world: World) -> None:
    active_exception(world)
    code, lines = verify(world)
    assert (code, lines) == (0, ["entries=1 discrepancies=0"])
    data = json.loads(world.cli("register verify", "--json").output)
    assert data == {"entries": 1, "discrepancies": []}


def _approvals(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    edit_file(sandbox, path, "user: carol", "user: mallory")


def _hash(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    text = sandbox.file(REGISTER, path) or ""
    (digest,) = re.findall(r"^approved_hash: (\w+)$", text, re.M)
    edit_file(sandbox, path, f"approved_hash: {digest}", "approved_hash: 0" + digest[1:])


def _terms(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    """The file and its index row both say production: consistent, and not what was approved."""
    text = sandbox.file(REGISTER, path) or ""
    index = sandbox.file(REGISTER, "register.json") or ""
    push(
        sandbox,
        {
            path: text.replace("environment: staging", "environment: production", 1),
            "register.json": index.replace('"staging"', '"production"', 1),
        },
    )


def _index(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    edit_file(sandbox, "register.json", '"expires_at": "2027-01-15"', '"expires_at": "2027-02-20"')


def _unindexed(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    text = sandbox.file(REGISTER, path) or ""
    push(sandbox, {"exceptions/EXC-0099-pushed.md": text.replace(f"EXC-{iid:04d}", "EXC-0099")})


def _deleted(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    push(sandbox, {path: None})


def _duplicate(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    push(sandbox, {path.replace("exceptions/", "archive/"): sandbox.file(REGISTER, path) or ""})


def _status(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    text = sandbox.file(REGISTER, path) or ""
    index = sandbox.file(REGISTER, "register.json") or ""
    push(
        sandbox,
        {
            path: text.replace("status: active", "status: approved", 1),
            "register.json": index.replace('"active"', '"approved"', 1),
        },
    )


def _source(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    edit_file(sandbox, path, f"/-/issues/{iid}\n", "/-/issues/999\n")
    edit_file(sandbox, "register.json", f'/-/issues/{iid}"', '/-/issues/999"')


def forge_record(world: World, iid: int, change: Callable[[record.Record], record.Record]) -> None:
    """Someone holding the bot's token rewrites the record in its status note."""
    (note,) = [
        n
        for n in world.issue(iid).notes
        if not n.system and (trailing(n.body) or "").startswith("<!-- exception-bot:kind=status")
    ]
    old = record.comment(note.body)
    rec = record.decode(note.body)
    assert old is not None
    assert rec is not None
    new = note.body.replace(old, record.encode(change(rec)))
    issue = world.gl(BOT).projects.get(world.requests, lazy=True).issues.get(iid, lazy=True)
    issue.notes.update(note.id, {"body": new})


def _note(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    """The Department Head's approval now points at the Security team's checklist note."""

    def swap(rec: record.Record) -> record.Record:
        first, second, *rest = sorted(rec.approvals, key=lambda a: a.at)
        return replace(rec, approvals=(replace(first, note_id=second.note_id), second, *rest))

    forge_record(world, iid, swap)


def _text(world: World, sandbox: Sandbox, iid: int, path: str) -> None:
    def other(rec: record.Record) -> record.Record:
        first, *rest = sorted(rec.approvals, key=lambda a: a.at)
        return replace(rec, approvals=(replace(first, fields_hash="0" * 16), *rest))

    forge_record(world, iid, other)


Tamper = Callable[[World, Sandbox, int, str], None]
# Each edit of the register (or of the bot's record), and the line that must name it.
DISCREPANCIES: dict[str, tuple[Tamper, str]] = {
    "approval-unrecorded": (_approvals, "Department Head: mallory at {at} is not in the issue's"),
    "approval-missing": (_approvals, "Department Head: carol at {at} is recorded but not listed"),
    "approved-hash": (_hash, "approved_hash '0"),
    "terms": (_terms, "environment 'production', the approved terms 'staging'"),
    "index-differs": (_index, "register.json says expires_at '2027-02-20', the file '2027-01-15'"),
    "unindexed": (_unindexed, "EXC-0099 (exceptions/EXC-0099-pushed.md): the file has no row"),
    "index-missing-file": (_deleted, "{id} ({path}): the index names no such file"),
    "duplicate": (_duplicate, "{id}: 2 files: archive/"),
    "status": (_status, "status 'approved', the issue's record active"),
    "issue-unreadable": (_source, "its issue 'http"),
    "approval-note": (_note, "Department Head: carol: no checklist note"),
    "approval-text": (_text, "Department Head: carol approved other text than the approved terms"),
}


@pytest.mark.parametrize("kind", DISCREPANCIES)
def test_each_discrepancy_has_its_line(world: World, sandbox: Sandbox, kind: str) -> None:
    iid, path = active_exception(world)
    tamper, expected = DISCREPANCIES[kind]
    tamper(world, sandbox, iid, path)
    code, lines = verify(world)
    entry: dict[str, Any] = {"id": f"EXC-{iid:04d}", "path": path, "at": _carol_at(world, iid)}
    wanted = expected.format(**entry)
    assert code == 1, lines
    assert any(wanted in line for line in lines), (wanted, lines)
    found = json.loads(world.cli("register verify", "--json").output)["discrepancies"]
    assert kind in {d["kind"] for d in found}, found


def _carol_at(world: World, iid: int) -> str:
    rec = record.decode(world.status(iid))
    assert rec is not None
    (carol,) = [a for a in rec.approvals if a.user == "carol"]
    return carol.at.isoformat()


def test_an_approver_who_no_longer_holds_the_role_is_named(world: World, tmp_path: Path) -> None:
    active_exception(world)

    def new_head(data: dict[str, Any]) -> None:
        data["roles"]["department_head"]["by_department"]["finance"] = ["paula"]

    world.config = edit_config(tmp_path / "config.yml", new_head)
    code, lines = verify(world)
    assert code == 1
    assert any(
        "Department Head: carol does not hold this role (config and groups today)" in line
        for line in lines
    ), lines


def test_appeals_renewals_and_revocations_verify(world: World) -> None:
    """Every route the bot records approvals on: the appeal's stages, a renewal's, and an
    entry archived by revocation and by renewal."""
    appealed = world.open("bob", PUBLIC, title="Appealed")
    world.run()
    world.later(hours=1).label("carol", appealed, add=["exception-action::reject"])
    world.later(minutes=10).run()
    world.later(days=2).label("bob", appealed, add=["exception-action::appeal"])
    world.later(minutes=10).run()
    for user, item in (("lee", "Legal opinion recorded"), ("ivan", "CEO decision")):
        world.later(hours=1).tick(user, appealed, item)
        world.later(minutes=10).run()
    world.later(hours=1).tick("judy", appealed, "CFO decision")
    world.later(minutes=10).run()
    assert world.state(appealed) == "exception::approved"
    world.later(hours=1).label("sue", appealed, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    assert world.state(appealed) == "exception::revoked"
    original, _ = active_exception(world)
    renewal = world.open("bob", set_field(body("renewal"), "Renews", f"#{original}"))
    world.approve(renewal, ROUTE)
    world.later(hours=1).tick("bob", renewal, "Compensating controls implemented")
    world.later(minutes=10).run()
    world.later(minutes=10).run()
    assert world.state(original) == "exception::renewed"
    code, lines = verify(world)
    assert (code, lines) == (0, ["entries=3 discrepancies=0"])
