"""The bot's description edits change one box and nothing else."""

from __future__ import annotations

import pytest

from exception_bot.domain.edits import append_checklist, set_checkbox
from exception_bot.domain.fields import parse_body

TEXT = (
    "Intro\r\n## Approvals\r\n- [x] Department head approval\r\n"
    "  - [x] Department head approval\r\n* [X] Policy owner approval\r"
    "```\n- [x] Security Compliance review\n```\n## Activation\n- [ ] Department head approval\n"
)


@pytest.mark.parametrize(
    ("item", "checked", "expected"),
    [
        (
            "Department head approval",
            False,
            TEXT.replace("\r\n- [x] Department", "\r\n- [ ] Department", 1),
        ),
        (
            "  department HEAD approval ",
            False,
            TEXT.replace("\r\n- [x] Department", "\r\n- [ ] Department", 1),
        ),
        ("Policy owner approval", False, TEXT.replace("* [X] Policy", "* [ ] Policy")),
        ("Department head approval", True, None),  # already ticked
        ("Security Compliance review", False, None),  # only inside a code fence
        ("Missing item", False, None),
    ],
)
def test_set_checkbox(item: str, checked: bool, expected: str | None) -> None:
    assert set_checkbox(TEXT, "Approvals", item, checked) == expected


def test_other_sections_are_not_touched() -> None:
    updated = set_checkbox(TEXT, "Activation", "Department head approval", True)
    assert updated == TEXT.replace("## Activation\n- [ ]", "## Activation\n- [x]")


def test_append_checklist_once_keeping_line_breaks() -> None:
    crlf = "## Summary\r\n\r\nKeep TLS 1.1.\r\n"
    added = append_checklist(crlf, "Activation", ["Compensating controls implemented"])
    assert added == (
        "## Summary\r\n\r\nKeep TLS 1.1.\r\n\r\n## Activation\r\n\r\n"
        "- [ ] Compensating controls implemented\r\n"
    )
    assert append_checklist(added, "Activation", ["Compensating controls implemented"]) is None
    assert parse_body(added).items[0].text == "Compensating controls implemented"


def test_append_checklist_adds_the_items_an_existing_section_lacks() -> None:
    """The CISO escalation item put into an ## Approvals written without it: before the
    first item, with its bullet, and only once (issue 23, point 5)."""
    text = "## Approvals\r\n\r\n* [x] Department head approval\r\n\r\n## Activation\r\n"
    added = append_checklist(text, "Approvals", ["CISO escalation approval"])
    assert added == text.replace(
        "* [x] Department", "* [ ] CISO escalation approval\r\n* [x] Department"
    )
    assert append_checklist(added or "", "Approvals", ["CISO escalation approval"]) is None
    items = parse_body(added or "").items_in("approvals")
    assert [(i.text, i.checked) for i in items] == [
        ("CISO escalation approval", False),
        ("Department head approval", True),
    ]


def test_append_checklist_fills_an_empty_section() -> None:
    added = append_checklist("## Approvals\nNone yet.\n", "Approvals", ["CISO escalation approval"])
    assert added == "## Approvals\n\n- [ ] CISO escalation approval\n\nNone yet.\n"
    assert [i.text for i in parse_body(added or "").items_in("approvals")] == [
        "CISO escalation approval"
    ]
