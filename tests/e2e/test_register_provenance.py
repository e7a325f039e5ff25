"""End to end (docs/explanation/security.md, Every register file is accounted for): every file of
the register's exceptions folder is accounted for, by the bot's record on its issue or by a merged
merge request whose approvals satisfy mr-check; mr-check refuses the approval of the file's
requester; and ``register verify``, with anyone's reading token, judges every file as the run does.
"""

from __future__ import annotations

import json
from datetime import date

from exception_bot.sandbox import Sandbox
from exception_bot.sandbox.store import GUEST, MAINTAINER, REPORTER
from tests.e2e.world import BOT, REGISTER, World
from tests.requests import body
from tests.support.merge_route import HIGH_APPROVERS, PATH, exception_file, merge_request, push
from tests.support.stories import ROUTE


def index_row(world: World, ident: str) -> dict[str, object]:
    rows = json.loads(world.register_file("register.json") or "[]")
    (row,) = [r for r in rows if r["id"] == ident]
    assert isinstance(row, dict)
    return row


def alerts(sandbox: Sandbox) -> list[str]:
    project = sandbox.store.project(REGISTER)
    assert project is not None
    return [i.title for i in project.issues.values() if "unverified" in i.title.lower()]


def test_a_direct_push_is_unverified_with_one_alert(world: World, sandbox: Sandbox) -> None:
    hostile = exception_file(risk_level="critical", environment="production", requester="mallory")
    push(world, "bob", "main", hostile)
    world.run()
    row = index_row(world, "EXC-0042")
    assert row["status"] == "unverified"
    assert "| `unverified` |" in (world.register_file("REGISTER.md") or "")
    chart = (world.register_file("REGISTER.md") or "").partition("```mermaid")[2]
    assert "EXC-0042" not in chart  # the Gantt chart of exceptions in force
    assert alerts(sandbox) == ["Unverified register file: EXC-0042"]
    text = world.cli("report", "--now", world.clock.isoformat()).output
    in_force = text.split("## Exceptions in force", 1)[1].split("##", 1)[0]
    assert "EXC-0042" not in in_force
    assert "EXC-0042" in text.split("## Unverified register files", 1)[1]
    world.later(hours=1).run()
    world.later(days=1).run()
    assert alerts(sandbox) == ["Unverified register file: EXC-0042"]  # one per file


def test_a_merge_request_without_the_approvals_is_unverified(world: World) -> None:
    merge_request(world, exception_file(), approvers=["carol", "frank"])
    world.run()
    assert index_row(world, "EXC-0042")["status"] == "unverified"


def test_a_merge_request_approved_by_the_requester_is_unverified(world: World) -> None:
    merge_request(world, exception_file(requester="frank"), approvers=HIGH_APPROVERS)
    world.run()
    assert index_row(world, "EXC-0042")["status"] == "unverified"


def test_a_merge_request_with_the_approvals_is_verified(world: World, sandbox: Sandbox) -> None:
    merge_request(world, exception_file(), approvers=HIGH_APPROVERS)
    world.run()
    assert index_row(world, "EXC-0042")["status"] == "approved"
    assert alerts(sandbox) == []
    # A later direct push over the merged file is the pusher's text, not the approved one.
    push(world, "bob", "main", exception_file(expires_at=date(2027, 12, 31)))
    world.later(hours=1).run()
    assert index_row(world, "EXC-0042")["status"] == "unverified"


def test_a_human_edit_of_a_bot_entry_is_unverified(world: World, sandbox: Sandbox) -> None:
    iid = world.open("alice", body("low_staging"))
    world.approve(iid, ROUTE)
    path = world.register_entry(iid)["path"]
    assert isinstance(path, str)
    ident = f"EXC-{iid:04d}"
    world.later(hours=1).run()
    assert alerts(sandbox) == []  # the bot's own entry
    text = world.register_file(path) or ""
    push(world, "alice", "main", text.replace("2027-01-15", "2029-01-15"), path=path)
    world.later(hours=1).run()
    assert index_row(world, ident)["status"] == "unverified"
    assert alerts(sandbox) == [f"Unverified register file: {ident}"]


def member(sandbox: Sandbox, username: str, level: int) -> None:
    project, user = sandbox.store.project(REGISTER), sandbox.store.user_named(username)
    assert project is not None
    assert user is not None
    project.members[user.id] = level


def auditor(sandbox: Sandbox, username: str = "lee") -> str:
    """An auditor's reading token: Reporter of the register (of the requests already, in the
    seed) and Guest of the approvers' groups, whose members verify reads. A Guest approves for
    no role (gitlab.approver_access_level)."""
    member(sandbox, username, REPORTER)
    user = sandbox.store.user_named(username)
    assert user is not None
    for path in ("security", "engineering", "legal"):  # their subgroups inherit
        group = sandbox.store.must_group(path)
        group.members.setdefault(user.id, GUEST)
    return username


def verify(world: World, user: str) -> tuple[int, list[str]]:
    """``register verify`` with ``user``'s token: a reader's, not the bot's."""
    result = world.cli("register verify", user=user)
    return result.exit_code, result.output.strip().splitlines()


def bot_signature(world: World) -> tuple[str, str]:
    """The name and committer e-mail of the bot's commits, as GET /user tells the bot."""
    client = world.gl(BOT)
    client.auth()
    assert client.user is not None
    return str(client.user.attributes["name"]), str(client.user.attributes["commit_email"])


def test_a_push_signed_as_the_bot_is_unverified_in_the_run_and_in_verify(
    world: World, sandbox: Sandbox
) -> None:
    """A register Maintainer pushes with git, author and committer set to the bot's name and
    e-mail: an edit of the bot's entry and a new file. Neither is the bot's."""
    iid = world.open("alice", body("low_staging"))
    world.approve(iid, ROUTE)
    path = str(world.register_entry(iid)["path"])
    ident = f"EXC-{iid:04d}"
    world.later(hours=1).run()
    member(sandbox, "frank", MAINTAINER)
    assert verify(world, auditor(sandbox)) == (0, ["entries=1 discrepancies=0"])
    signed = bot_signature(world)
    text = world.register_file(path) or ""
    changes = {path: text.replace("2027-01-15", "2029-01-15"), PATH: exception_file()}
    sandbox.git_push(REGISTER, "frank", changes, author=signed, committer=signed)
    commits = (
        world.gl("lee")
        .projects.get(REGISTER)
        .commits.list(ref_name="main", per_page=1, get_all=False)
    )
    assert (commits[0].committer_name, commits[0].committer_email) == signed  # the forgery took
    world.later(hours=1).run()
    assert index_row(world, ident)["status"] == "unverified"
    assert index_row(world, "EXC-0042")["status"] == "unverified"
    assert sorted(alerts(sandbox)) == sorted(
        [f"Unverified register file: {ident}", "Unverified register file: EXC-0042"]
    )
    code, lines = verify(world, "lee")
    assert code == 1
    unverified = [line for line in lines if ": unverified: " in line]
    assert unverified == [
        f"{ident} ({path}): unverified: its content is not what the bot last wrote (the "
        f"record on security/exceptions#{iid})",
        f"EXC-0042 ({PATH}): unverified: commit {commits[0].id[:8]} (committed as "
        "Exception Bot) came by no merge request",
    ], lines


def test_an_older_version_of_a_bot_entry_pushed_again_is_unverified(
    world: World, sandbox: Sandbox
) -> None:
    """Every version of the entry is the bot's text, but only the last is in force: a push that
    puts back the approved one over the revoked entry, or a copy of the entry at another
    path, is not what the bot's record vouches for."""
    iid = world.open("alice", body("low_staging"))
    world.approve(iid, ROUTE)
    path = str(world.register_entry(iid)["path"])
    approved = world.register_file(path) or ""
    world.later(hours=1).label("sue", iid, add=["exception-action::revoke"])
    world.later(minutes=10).run()
    assert world.state(iid) == "exception::revoked"
    assert world.register_file(path) is None  # archived
    member(sandbox, "frank", MAINTAINER)
    sandbox.git_push(REGISTER, "frank", {path: approved})
    world.later(hours=1).run()
    assert index_row(world, f"EXC-{iid:04d}")["status"] == "unverified"
    code, lines = verify(world, BOT)
    assert code == 1
    assert any(
        f"the bot's record on security/exceptions#{iid} vouches for " in line for line in lines
    ), lines


def test_a_merge_request_file_verifies_and_a_push_over_it_does_not(
    world: World, sandbox: Sandbox
) -> None:
    merge_request(world, exception_file(), approvers=HIGH_APPROVERS)
    world.run()
    assert verify(world, auditor(sandbox)) == (0, ["entries=1 discrepancies=0"])
    push(world, "bob", "main", exception_file(expires_at=date(2027, 12, 31)))
    world.later(hours=1).run()
    code, lines = verify(world, "lee")
    assert code == 1
    assert any(line.startswith(f"EXC-0042 ({PATH}): unverified: commit ") for line in lines), lines


def test_a_file_whose_front_matter_cannot_be_read_is_listed_unverified(
    world: World, sandbox: Sandbox
) -> None:
    """Nobody's entry and no exception in force, yet in the folder: the index, REGISTER.md,
    the report, an alert and verify all name it, by its path."""
    junk = "exceptions/EXC-0050-waiver.md"
    push(world, "bob", "main", "---\nid: EXC-0050\nrisk_level: [critical\n---\nApproved.\n", junk)
    world.run()
    (row,) = json.loads(world.register_file("register.json") or "[]")
    assert (row["id"], row["status"], row["path"]) == (junk, "unverified", junk)
    assert f"| [`{junk}`]({junk}) |  | `unverified` |" in (world.register_file("REGISTER.md") or "")
    text = world.cli("report", "--now", world.clock.isoformat()).output
    assert junk in text.split("## Unverified register files", 1)[1]
    assert alerts(sandbox) == ["Unverified register file: exceptions_EXC-0050-waiver.md"]
    world.later(hours=1).run()
    assert len(alerts(sandbox)) == 1
    code, lines = verify(world, auditor(sandbox))
    assert code == 1
    assert [line for line in lines if "unverified" in line] == [
        f"{junk} ({junk}): unverified: its front matter cannot be read (the front matter is "
        "not valid YAML (expected ',' or ']', but got '<stream end>' on line 3))"
    ], lines
    found = json.loads(world.cli("register verify", "--json", user="lee").output)
    assert [d["kind"] for d in found["discrepancies"]] == ["unreadable"]
