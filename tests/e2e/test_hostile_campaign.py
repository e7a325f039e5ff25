"""Issue 9 (in part): hostile text through the whole pipeline against the sandbox: no crash,
nothing the bot writes runs as a quick action, the register stays valid; oversized bodies and
thousands of notes are handled."""

from __future__ import annotations

from collections.abc import Callable

import gitlab
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exception_bot.domain.register import read_front_matter
from exception_bot.domain.text import command_lines
from exception_bot.sandbox import Sandbox
from tests.e2e.world import BOT, REGISTER, World
from tests.e2e.world import LOW_ROUTE as ROUTE
from tests.requests import body, set_field

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
