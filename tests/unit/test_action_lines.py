"""``run --dry-run``'s lines: every kind of action as a sentence, mentions as GitLab would
notify them, and nothing a person wrote able to drive the terminal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from exception_bot.action_lines import action_line, mentions, where
from exception_bot.domain import markers
from exception_bot.domain.actions import (
    AppendChecklist,
    AssignUsers,
    CloseIssue,
    EditNote,
    IndexFile,
    IssueRef,
    LinkIssues,
    NewNote,
    OpenIssue,
    PostNote,
    SetCheckbox,
    SetDescription,
    SetDueDate,
    SetLabels,
    WriteRegister,
    describe,
)

REF = IssueRef("security/exceptions", 1)
REGISTER = "security/exception-register"


@pytest.mark.parametrize(
    ("action", "line"),
    [
        (
            SetLabels(
                REF, frozenset({"exception::in-review"}), frozenset({"exception::submitted"})
            ),
            "would set labels exception::in-review and remove exception::submitted",
        ),
        (SetLabels(REF, frozenset(), frozenset({"x"})), "would remove x"),
        (
            PostNote(REF, "@carol, please review.", markers.marker("turn", "department_head")),
            "would post a note (turn) mentioning @carol",
        ),
        (EditNote(REF, 7, "Status", markers.marker(markers.STATUS)), "would edit the status note"),
        (
            SetCheckbox(REF, "Approvals", "Department head approval", False),
            "would untick Department head approval under ## Approvals",
        ),
        (AssignUsers(REF, ("carol", "dave")), "would assign @carol, @dave"),
        (AssignUsers(REF, ()), "would unassign everyone"),
        (SetDueDate(REF, date(2027, 1, 15)), "would set the due date to 2027-01-15"),
        (
            AppendChecklist(REF, "Verification", ("Fix verified",)),
            "would add ## Verification with 1 box",
        ),
        (
            LinkIssues(REF, IssueRef("security/exceptions", 2)),
            "would link it to security/exceptions#2",
        ),
        (CloseIssue(REF), "would close it"),
        (
            WriteRegister(REF, "archive/EXC-0001-x.md", "", (), ("exceptions/EXC-0001-x.md",), "m"),
            "would commit archive/EXC-0001-x.md to the register "
            "(removing exceptions/EXC-0001-x.md)",
        ),
        (
            IndexFile(REGISTER, "exceptions/EXC-0042-x.md", "", (("id", "EXC-0042"),), "m"),
            "would list exceptions/EXC-0042-x.md in the register's index",
        ),
        (
            OpenIssue(
                "security/exceptions",
                "Exception EXC-0042 expires on 2026-12-10",
                "@bob, EXC-0042 expires soon.",
                markers.marker("watch", "EXC-0042"),
                ("bob",),
                (NewNote("Reminder", markers.marker("watch-reminder", "EXC-0042:7")),),
            ),
            'would open the issue "Exception EXC-0042 expires on 2026-12-10" assigned to @bob '
            "mentioning @bob, then post a note (watch-reminder)",
        ),
        (
            OpenIssue(REGISTER, "Exception report 2026-W48", "# Report", "m"),
            'would open the issue "Exception report 2026-W48"',
        ),
        (SetDescription(IssueRef(REGISTER, 3), "# Report"), "would rewrite its description"),
    ],
)
def test_each_action_is_one_sentence(action: object, line: str) -> None:
    assert action_line(describe(action)) == line  # type: ignore[arg-type]


def test_mentions_are_those_gitlab_would_notify() -> None:
    body = (
        "@carol and @security/compliance, please review.\n"
        "Requested by `@mallory` in mail to bob@example.com.\n"
        "```\n@eve\n```\n<!-- @ghost -->\n@carol again."
    )
    assert mentions(body) == ("@carol", "@security/compliance")


def test_what_people_wrote_cannot_drive_the_terminal() -> None:
    hostile = "Approve\x1b[2J\x1b]0;pwned\x07\nnow"
    line = action_line(describe(SetCheckbox(REF, "Approvals", hostile, True)))
    assert line == "would tick Approve?[2J?]0;pwned??now under ## Approvals"


def test_an_action_is_shown_where_it_writes() -> None:
    """Its issue, or the project of the issue it opens or of the register it commits to."""
    opened = OpenIssue(REGISTER, "Unverified register file: EXC-9", "Body", "m")
    indexed = IndexFile(REGISTER, "exceptions/x.md", "", (), "m")
    shown = [where(describe(action)) for action in (opened, indexed, CloseIssue(REF))]
    assert shown == [REGISTER, REGISTER, str(REF)]
    full = describe(replace(opened, notes=(NewNote("Hello", "<!-- m -->"),), assignees=("bob",)))
    assert full["notes"] == [{"body": "Hello", "marker": "<!-- m -->"}]
