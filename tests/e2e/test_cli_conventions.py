"""The commands a script calls, as the real console script answers them against the sandbox
(docs/reference/usage.md): readable dry runs, JSON that is JSON, --json where a script needs it, a
missing --issue named, check-config --online saying what it checked, report --post's issue
URL, and Ctrl-C saying it stopped and that nothing is lost."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from exception_bot.sandbox import Sandbox
from tests.e2e.world import CONFIG, REGISTER, REQUESTS, World
from tests.support.console import SCRIPT, Ran, clean_env, console
from tests.support.stories import LOW


def bot(world: World, *args: str) -> Ran:
    """``exception-bot ARGS --config CONFIG`` as the bot's user, at the world's clock."""
    env = {"GITLAB_URL": world.sandbox.url, "GITLAB_TOKEN": world.sandbox.token("exception-bot")}
    return console(*args, "--config", str(CONFIG), env=env)


def test_a_dry_run_prints_one_readable_line_per_action(world: World) -> None:
    iid = world.open("bob", LOW)
    world.sandbox.clear_log()
    ran = bot(world, "run", "--dry-run", "--now", world.clock.isoformat())
    assert ran.code == 0, ran.err
    issue = f"{REQUESTS}#{iid}"
    assert ran.out.splitlines() == [
        f"{issue}: would assign @carol",
        f"{issue}: would post a note (turn) mentioning @carol",
        f"{issue}: would post the status note",
        f"{issue}: would set labels exception-risk::low, exception-stage::department-head, "
        "exception::in-review and remove exception::submitted",
        # the week's report, which the run would open: every write, not only the requests'
        f'{REGISTER}: would open the issue "Exception report 2026-W48"',
        "processed=1 changed=1 failed=0 skipped=0 api_requests=" + ran.out.rsplit("=")[-1].strip(),
    ]
    assert world.sandbox.writes() == []
    # --json gives the same actions in full: the note's body as GitLab would receive it
    full = json.loads(
        bot(world, "run", "--dry-run", "--json", "--now", world.clock.isoformat()).out
    )
    (result,) = full["issues"]
    notes = [a for a in result["actions"] if a["action"] == "PostNote"]
    assert any("@carol" in note["body"] for note in notes)


def test_run_json_is_json_with_every_figure(world: World) -> None:
    iid = world.open("bob", LOW)
    ran = bot(world, "run", "--json", "--now", world.clock.isoformat())
    assert ran.code == 0, ran.err
    data = json.loads(ran.out)
    assert set(data["summary"]) == {
        "processed",
        "changed",
        "failed",
        "skipped",
        "api_requests",
        "watch_error",
        "report",
    }
    assert (data["summary"]["processed"], data["summary"]["skipped"]) == (1, 0)
    (result,) = data["issues"]
    facts = result["facts"]  # an object, not a Python repr in a string
    assert facts["reference"] == f"{REQUESTS}#{iid}"
    assert (facts["state"], facts["risk"], facts["expires"]) == ("in-review", "low", "2027-01-15")
    assert "RequestFacts(" not in ran.out


def test_run_names_an_issue_that_is_no_open_request(world: World) -> None:
    iid = world.open("bob", LOW)
    ran = bot(world, "run", "--dry-run", "--issue", str(iid), "--issue", "999")
    assert ran.code == 2
    assert ran.errors == [
        f"error: --issue #999: no such open exception request in {REQUESTS} (the issue does not "
        "exist, is closed, or lacks the ExceptionRequest label)"
    ]
    assert f"{REQUESTS}#{iid}: would post the status note" in ran.out  # the others still run


def test_check_config_online_says_what_it_checked(world: World) -> None:
    ran = bot(world, "check-config", "--online")
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1] == (
        f"GitLab at {world.sandbox.url}, as @exception-bot: checked 2 projects and the bot's "
        "role in each, 4 groups, 11 users, and that every role holder can read the requests; "
        "all as the config says"
    )


def test_report_post_prints_the_issue_url_and_report_setup_mr_check_speak_json(
    world: World, sandbox: Sandbox
) -> None:
    world.open("bob", LOW)
    now = world.clock.isoformat()
    posted = bot(world, "report", "--post", "--now", now)
    assert posted.code == 0, posted.err
    register = sandbox.store.project(REGISTER)
    assert register is not None
    (issue,) = register.issues.values()
    url = f"{sandbox.url}/{REGISTER}/-/issues/{issue.iid}"
    assert posted.out == f"posted {REGISTER}#{issue.iid}: {url}\n"
    again = bot(world, "report", "--post", "--json", "--now", now)
    data = json.loads(again.out)
    assert (data["posted"], data["url"], data["week"]) == (True, url, "2026-W48")
    assert [r["reference"] for r in data["requests"]] == [f"{REQUESTS}#1"]

    plan = json.loads(bot(world, "setup", "--json").out)
    assert plan["applied"] is False
    assert {step["step"] for step in plan["steps"]} <= {"CreateLabel", "UpdateLabel", "CommitFiles"}

    checked = bot(world, "mr-check", "--json", "--project", REGISTER, "--mr", "999")
    assert checked.code == 2  # no such merge request: one line, no JSON to misread
    assert checked.out == ""


def test_ctrl_c_says_it_stopped_and_that_nothing_is_lost(world: World, sandbox: Sandbox) -> None:
    for _ in range(3):
        world.open("bob", LOW)
    # A run long enough (six notes, 0.6 s each) to be interrupted in the middle even when the
    # machine is slow to let this test see the first note and send the signal.
    sandbox.latency(0.6, r"/notes")
    env = clean_env({"GITLAB_URL": sandbox.url, "GITLAB_TOKEN": sandbox.token("exception-bot")})
    command = [str(SCRIPT), "run", "--config", str(CONFIG), "--now", world.clock.isoformat()]
    with subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as running:
        deadline = time.monotonic() + 30
        while not sandbox.matching("POST", "/notes") and time.monotonic() < deadline:
            time.sleep(0.05)
        running.send_signal(signal.SIGINT)
        _, err = running.communicate(timeout=30)
    assert running.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "stopped (Ctrl-C); nothing is lost: what was done stands, and the next run carries on "
        "from there"
    )
    # The lock was given back, and the next run finishes what the first began.
    again = world.later(minutes=1).run()
    assert again.exit_code == 0, again.output
    assert again.summary["failed"] == 0
    for iid in (1, 2, 3):
        assert world.state(iid) == "exception::in-review"
        assert len(world.bot_comments(iid, "status")) == 1
