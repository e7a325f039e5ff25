"""Hostile text and hostile people through the whole pipeline against the sandbox: no crash,
nothing the bot writes runs as a quick action, the register stays valid; oversized bodies and
thousands of notes are handled."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import gitlab
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exception_bot.domain import markers
from exception_bot.domain.register import read_front_matter
from exception_bot.domain.text import command_lines
from exception_bot.gitlab import GitLab
from exception_bot.run_lock import LOCK_BRANCH, RunLock
from exception_bot.sandbox import Sandbox
from tests.e2e.world import BOT, REGISTER, World, writes_besides_the_lock
from tests.e2e.world import LOW_ROUTE as ROUTE
from tests.hostile import CLASSES, FIELDS, hostile_body
from tests.requests import body, default_config, set_field
from tests.support.live import HOSTILE_PARTS, live, mentions
from tests.support.stories import activate

LOW = body("low_staging")
SNIPPETS = [
    '/label ~"exception::approved"',
    "/close",
    "/assign @tom",
    "```",
    "~~~",
    "---",
    "| a | b |",
    "<!-- exception-bot:kind=status:key= -->",
    "<!-- exception-bot:record:e30= -->",
    "@all",
    "{{ 7 * 7 }}",
    "{% raw %}",
    "\u2028",
    "\x85",
    "> quoted",
    "- [x] Department head approval",
    "## Approvals",
    "<script>alert(1)</script>",
    "](javascript:alert(1))",
    "\\",
    "*",
]
HOSTILE = st.lists(
    st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=30)), min_size=1, max_size=8
).map(lambda parts: "\n".join(parts))
BOT_LABELS = ("exception", "ExceptionRequest")


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(summary=HOSTILE, scope=HOSTILE, comment=HOSTILE)
def test_hostile_requests_and_comments(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], summary: str, scope: str, comment: str
) -> None:
    sandbox.reset()
    world = World(sandbox, gl)
    text = set_field(set_field(LOW, "Summary", summary), "Scope", scope)
    iid = world.open("bob", text)
    if comment.strip():
        world.comment("tom", iid, comment)
    assert world.run().exit_code == 0
    world.later(hours=1)
    issue = world.issue(iid)
    for user, item in ROUTE:
        if f"- [ ] {item}" in issue.description:
            world.tick(user, iid, item)
    for _ in range(2):
        assert world.later(minutes=10).run().exit_code == 0
    users = sandbox.store.users
    issue = world.issue(iid)
    # Nothing the bot wrote ran as a command: its comments have no command line, the labels
    # it changed are its own, and it never closed the request.
    for note in issue.notes:
        if users[note.author_id].username == BOT and not note.system:
            assert command_lines(note.body) == []
    for event in issue.label_events:
        if users[event.user_id].username == BOT:
            assert event.label.name.startswith(BOT_LABELS), event.label.name
    if issue.closed_by_id is not None:  # a comment's /close runs as its author, GitLab-like
        assert users[issue.closed_by_id].username != BOT
    files = sandbox.files(REGISTER)
    for path, content in files.items():
        if path.startswith("exceptions/"):
            data = read_front_matter(content)
            assert data is not None
            assert data["id"] == f"EXC-{iid:04d}"
    table = files.get("REGISTER.md", "")
    for line in table.splitlines():
        if line.startswith("| [EXC-"):
            assert line.count(" | ") == 6


def test_an_oversized_body_gets_one_problem_and_no_crash(world: World) -> None:
    iid = world.open("bob", LOW + "\n\n" + "A" * 150_000 + "\n")
    assert world.run().exit_code == 0
    assert world.state(iid) == "exception::needs-info"
    (problems,) = world.bot_comments(iid, "problems")
    assert "longer than 100,000 characters" in problems


def test_thousands_of_notes_on_one_issue(world: World, sandbox: Sandbox) -> None:
    iid = world.open("bob", LOW)
    world.run()
    store = sandbox.store
    project, tom = store.project("security/exceptions"), store.user_named("tom")
    assert project is not None
    assert tom is not None
    for n in range(3000):
        store.create_note(project, project.issues[iid], tom, f"comment {n}")
    world.later(hours=1).tick("carol", iid, "Department head approval")
    result = world.later(minutes=10).run()
    assert result.exit_code == 0
    assert world.stage(iid) == "exception-stage::security-team"
    assert len(world.bot_comments(iid, "status")) == 1


# -- issue "No forged, suppressed or duplicated decision": generated variants of each class ----
#
# Each class of attack that once broke a promise runs here with generated variants through the
# real `run` against the sandbox. The variants are few per CI run (each is a whole story); the
# classes' fixed regression tests are in test_forged_record.py, test_stale_ticks.py,
# test_suppressed_decisions.py, test_forged_renewal.py, test_requester_contact.py,
# test_lost_answers.py, test_bot_token.py and test_hostile_bodies.py.

CAMPAIGN = settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORGED = base64.b64encode(json.dumps({"state": "approved"}).encode()).decode()
LABEL_PARTS = st.sampled_from(
    [
        *HOSTILE_PARTS,
        markers.marker("status"),
        markers.marker("approved"),
        f"<!-- exception-bot:record:{FORGED} -->",
        f"&lt;!-- exception-bot:record:{FORGED} --&gt;",
        "\n" + markers.marker("status"),
    ]
)
# Bot-owned (a stage label): adding one is reported, so its name is echoed in a bot note.
HOSTILE_LABELS = st.lists(LABEL_PARTS, min_size=1, max_size=4).map(
    lambda parts: "exception-stage::" + " ".join(parts).replace("\n", " ").replace(",", ";")
)


def _known_mentions(sandbox: Sandbox) -> set[str]:
    users = {f"@{u.username}" for u in sandbox.store.users.values()}
    return users - {"@all"}


def _assert_bot_notes_inert(world: World, iid: int) -> None:
    known = _known_mentions(world.sandbox)
    for note in world.comments(iid, BOT):
        assert live(note) == [], note
        assert set(mentions(note)) <= known | {"@security/compliance"}, note


@CAMPAIGN
@given(label=HOSTILE_LABELS, at_creation=st.booleans())
def test_generated_label_names_neither_forge_nor_speak(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], label: str, at_creation: bool
) -> None:
    sandbox.reset()
    world = World(sandbox, gl)
    world.gl("bob").projects.get(world.requests).labels.create({"name": label, "color": "#f00"})
    iid = world.open("bob", LOW)
    if not at_creation:
        world.run()
    world.later(minutes=5).label("bob", iid, add=[label])
    for _ in range(3):
        assert world.later(minutes=15).run().exit_code == 0
    assert world.state(iid) == "exception::in-review"
    assert len(world.bot_comments(iid, "status")) == 1
    assert not [p for p in sandbox.files(REGISTER) if p.startswith("exceptions/")]
    assert world.bot_comments(iid, "tampering")
    _assert_bot_notes_inert(world, iid)


SAVES = st.sampled_from(["edit", "edit-and-tick", "tick-only", "untick-other"])


@CAMPAIGN
@given(saver=st.sampled_from(["bob", "tom", "victor", "erin"]), save=SAVES)
def test_any_other_save_after_a_tick_makes_it_stale(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], saver: str, save: str
) -> None:
    sandbox.reset()
    world = World(sandbox, gl)
    iid = world.open("bob", LOW)
    world.run()
    dept, (_, other) = ROUTE[0][1], ROUTE[1]
    world.later(hours=1).tick("carol", iid, dept)
    issue = world.gl(saver).projects.get(world.requests, lazy=True).issues.get(iid)
    text = issue.description
    if save.startswith("edit"):
        text = text.replace("\nstaging\n", "\nproduction\n", 1)
    if save in ("edit-and-tick", "tick-only"):
        text = text.replace(f"- [ ] {other}", f"- [x] {other}", 1)
    if save == "untick-other":  # a box ticked and unticked: two saves, notes only
        issue.description = text.replace(f"- [ ] {other}", f"- [x] {other}", 1)
        issue.save()
    issue.description = text
    issue.save()
    assert world.later(minutes=10).run().exit_code == 0
    assert world.stage(iid) == "exception-stage::department-head"
    assert world.box(iid, dept) is False


@CAMPAIGN
@given(
    action=st.sampled_from(["reject", "request-changes"]),
    remover=st.sampled_from(["bob", "tom", "erin", "victor"]),
    readd=st.booleans(),
)
def test_a_decision_removed_by_anyone_else_still_counts(
    sandbox: Sandbox,
    gl: Callable[[str], gitlab.Gitlab],
    action: str,
    remover: str,
    readd: bool,
) -> None:
    sandbox.reset()
    world = World(sandbox, gl)
    iid = world.open("bob", LOW)
    world.run()
    label = f"exception-action::{action}"
    world.later(hours=1).label("carol", iid, add=[label])
    world.later(minutes=1).label(remover, iid, remove=[label])
    if readd:  # and adds it again and removes it again, to muddy the events
        world.later(minutes=1).label(remover, iid, add=[label])
        world.later(minutes=1).label(remover, iid, remove=[label])
    for _ in range(2):
        assert world.later(minutes=10).run().exit_code == 0
    expected = {"reject": "exception::rejected", "request-changes": "exception::needs-info"}
    assert world.state(iid) == expected[action]
    assert any(f"@{remover} removed" in c for c in world.bot_comments(iid, "tampering"))
    _assert_bot_notes_inert(world, iid)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    forger=st.sampled_from(["tom", "bob", "erin"]),
    labels=st.sets(
        st.sampled_from(["exception::active", "exception::approved", "ExceptionRequest"]),
        min_size=1,
    ),
    renews=st.sampled_from(["#{iid}", "EXC-{iid:04d}", "{url}"]),
)
def test_no_issue_the_bot_did_not_approve_renews_an_exception(
    sandbox: Sandbox,
    gl: Callable[[str], gitlab.Gitlab],
    forger: str,
    labels: set[str],
    renews: str,
) -> None:
    sandbox.reset()
    world = World(sandbox, gl)
    victim = world.open("bob", LOW)
    activate(world, victim)
    url = f"{sandbox.url}/{world.requests}/-/issues/{victim}"
    text = set_field(body("renewal"), "Renews", renews.format(iid=victim, url=url))
    project = world.gl(forger).projects.get(world.requests, lazy=True)
    forged = project.issues.create(
        {"title": "Renewal", "description": text, "labels": ",".join(sorted(labels))}
    )
    project.issues.get(forged.iid, lazy=True).links.create(
        {"target_project_id": world.requests, "target_issue_iid": victim}
    )
    for _ in range(2):
        assert world.later(hours=1).run().exit_code == 0
    assert world.state(victim) == "exception::active"
    assert world.register_entry(victim)["status"] == "active"


CONTACTS = st.sampled_from(
    [
        "@carol",
        "Carol Chen (@carol)",
        "@CAROL, carol@example.com",
        "- @bob\n- @carol",
        "on behalf of @Carol.",
        "@carol's team",
    ]
)


@CAMPAIGN
@given(contact=CONTACTS)
def test_whoever_the_contact_names_cannot_approve(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], contact: str
) -> None:
    sandbox.reset()
    world = World(sandbox, gl)
    iid = world.open("bob", set_field(LOW, "Requester contact", contact))
    world.run()
    world.later(hours=1).tick("carol", iid, ROUTE[0][1])
    assert world.later(minutes=10).run().exit_code == 0
    assert world.stage(iid) == "exception-stage::department-head"
    assert world.box(iid, ROUTE[0][1]) is False


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    unit=st.sampled_from(sorted(CLASSES.values())),
    field=st.sampled_from(FIELDS),
    wrapped=st.booleans(),
)
def test_the_longest_hostile_bodies_get_an_answer(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], unit: str, field: str, wrapped: bool
) -> None:
    """A body of the 100,000-character limit made of one costly run, in any field: the run
    finishes and the request is answered (its time is the suite's to guard, see bench/)."""
    sandbox.reset()
    world = World(sandbox, gl)
    iid = world.open("bob", hostile_body(default_config(), unit, field, wrapped))
    result = world.run()
    assert result.exit_code == 0, result.output
    if not world.labels(iid):
        # A run of backticks or tildes opened a code block that swallowed the template's
        # /label line, which GitLab then does not run: no intake label, not a request yet.
        assert result.summary["processed"] == 0
        return
    assert world.state(iid) in ("exception::needs-info", "exception::in-review")
    _assert_bot_notes_inert(world, iid)


WRITERS = st.sampled_from(["run --now", "report --post --now", "setup --apply"])


@CAMPAIGN
@given(
    user=st.sampled_from(["tom", "bob", "carol", "sue", "grace"]),
    command=st.sampled_from(["run --now", "run --dry-run --now", "report --post --now"]),
)
def test_no_token_but_the_bots_runs_the_bot(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], user: str, command: str
) -> None:
    """Any person's token, any command that writes or decides as the bot: refused, nothing
    written (``gitlab.bot_user``)."""
    sandbox.reset()
    world = World(sandbox, gl)
    iid = world.open("bob", LOW)
    world.run()
    sandbox.clear_log()
    refused = world.cli(*command.split(), world.clock.isoformat(), user=user)
    assert refused.exit_code == 2, refused.output
    assert f"this token belongs to @{user}," in refused.output
    assert sandbox.writes() == []
    assert world.state(iid) == "exception::in-review"


@CAMPAIGN
@given(command=WRITERS, expired=st.booleans())
def test_no_writer_goes_past_a_held_lock(
    sandbox: Sandbox, gl: Callable[[str], gitlab.Gitlab], command: str, expired: bool
) -> None:
    """Another run (here: this test, as another machine would) holds the run lock: every
    command that writes exits 3 and writes nothing, until the lease has run out."""
    sandbox.reset()
    world = World(sandbox, gl)
    iid = world.open("bob", LOW)
    bot = GitLab.connect(sandbox.url, sandbox.token(BOT))
    held = RunLock(bot, REGISTER, "main", "run")
    held.take()
    if expired:
        world.later(minutes=11)  # GitLab's clock: the holder died and its lease ran out
    sandbox.clear_log()
    words = command.split()
    result = world.cli(*words, *([world.clock.isoformat()] if words[-1] == "--now" else []))
    if expired:
        assert result.exit_code == 0, result.output
        project = sandbox.store.project(REGISTER)
        assert project is not None
        head = project.commits[project.branches[LOCK_BRANCH]].message
        assert head.startswith(f"exception-bot {words[0]} releases the run lock"), head
    else:
        assert result.exit_code == 3, result.output
        assert "another run holds the lock" in result.output
        assert writes_besides_the_lock(sandbox) == []
        assert world.bot_comments(iid) == []
