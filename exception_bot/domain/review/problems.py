"""Validation and Safety (docs/explanation/how-run-decides.md, security.md): a request with
problems gets one comment listing them all, edited in place, and needs-info; a description
holding a line GitLab would run as a command is one of those problems, and is never saved by
the bot.
"""

from __future__ import annotations

from collections.abc import Iterable

from exception_bot.domain import markers
from exception_bot.domain.escape import Markdown
from exception_bot.domain.model import Problem, State
from exception_bot.domain.review.plan import Plan
from exception_bot.domain.text import command_lines


def command_problems(description: str) -> tuple[Problem, ...]:
    """Lines of a stored description that GitLab would run as quick actions.

    GitLab runs and removes them when a person saves the description, so a stored one is
    hostile or was not GitLab's to run; either way the bot must not save the description
    (ticking or unticking a box) while it holds one, or GitLab would run it with the bot's rights.
    """
    found = command_lines(description)
    if not found:
        return ()
    where = ", ".join(f"line {number} (`/{command}`)" for number, command in found[:5])
    return (
        Problem(
            "description",
            f"The description has lines GitLab runs as commands: {where}.",
            "Remove those lines, or put them in a code block (``` above and below) if they "
            "are part of the request.",
        ),
    )


def problems_note(plan: Plan, problems: Iterable[Problem], state: State) -> Plan:
    """The one comment listing the problems, while the request needs info; emptied after."""
    listed = tuple(problems)
    existing = plan.said.problems
    if listed and state is State.NEEDS_INFO:
        return plan.upsert(
            existing.id if existing else None,
            existing.body if existing else None,
            markers.PROBLEMS,
            "problems.md.j2",
            # A problem's message is the bot's sentence; what it quotes of the request went
            # through escape.inert when the problem was made.
            problems=[{"field": p.field, "message": Markdown(p.message)} for p in listed],
        )
    if existing is not None:
        return plan.upsert(
            existing.id, existing.body, markers.PROBLEMS, "problems.md.j2", problems=()
        )
    return plan
