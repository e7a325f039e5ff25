"""Hostile bodies that once made a run take minutes go through the real ``run`` against the
sandbox, and the requester gets an answer (docs/explanation/security.md: linear time on any input).

The test suite's total time is the guard on speed here, not an assertion on a clock: before the
fix, the first test alone ran for two minutes.
"""

from __future__ import annotations

from tests.e2e.world import World
from tests.requests import body, set_field

LOW = body("low_staging")


def test_a_department_of_96000_spaces_gets_a_problems_note(world: World) -> None:
    # Validation once stripped decoration from a one-word answer with a lazy group between two
    # whitespace runs: it backtracked over every space from every position (123 s).
    department = "finance" + " " * 96_000 + "x"
    iid = world.open("bob", set_field(LOW, "Department", department))
    result = world.run()
    assert result.exit_code == 0, result.output
    assert result.summary["failed"] == 0
    assert world.state(iid) == "exception::needs-info"
    (problems,) = world.bot_comments(iid, "problems")
    assert "`finance x` is not a known department." in problems
    assert "Write one of: engineering, finance, people, sales." in problems


def test_a_renews_of_9000_issue_urls_gets_a_problems_note(world: World) -> None:
    # The issue URL pattern had a lazy path before an optional "[?#]\S*": from every
    # "/issues/1#" it rescanned the rest of the line before failing at the space.
    renews = "https://gitlab.example.com/security/exceptions" + "/issues/1#" * 9_000 + " x"
    iid = world.open("bob", set_field(body("renewal"), "Renews", renews))
    result = world.run()
    assert result.exit_code == 0, result.output
    assert world.state(iid) == "exception::needs-info"
    (problems,) = world.bot_comments(iid, "problems")
    assert "does not name the request it renews" in problems


def test_20000_unclosed_quote_fences_in_a_request_are_read(world: World) -> None:
    # The sandbox reads GitLab's >>> blocks before finding quick actions; its pattern searched
    # lazily for a closing >>> from every opening line, rescanning the rest of the text.
    justification = "Quoted from the vendor:\n\n" + ">>>a\n" * 18_000
    iid = world.open("bob", set_field(LOW, "Justification", justification))
    result = world.run()
    assert result.exit_code == 0, result.output
    assert world.state(iid) == "exception::needs-info"  # over the 1,000-line limit
    (problems,) = world.bot_comments(iid, "problems")
    assert "1,000 lines" in problems
    assert world.issue(iid).confidential  # the template's /confidential still ran
