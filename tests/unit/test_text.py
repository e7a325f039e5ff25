"""Quick-action lines: which lines of a text GitLab would run as commands."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exception_bot.domain import text as text_module
from exception_bot.domain.text import command_lines


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("## Summary\n\nTLS 1.1 for https://vendor.example/agent", []),
        ('/label ~"exception::approved"', [(1, "label")]),
        ("Summary\n   /close", [(2, "close")]),
        ("Summary\n    /close", []),  # four spaces: an indented code block, not a command
        ("```\n/close\n```\n/reopen", [(4, "reopen")]),
        ("a line\r/close", [(2, "close")]),  # a lone CR ends a line too
        ("a line\u2028/close", [(2, "close")]),  # so does a Unicode line separator
        ("see a/close", []),
    ],
)
def test_command_lines(text: str, found: list[tuple[int, str]]) -> None:
    assert command_lines(text) == found


LINE_PIECES = st.sampled_from(
    ["/close", " /label x", "\t/assign @me", "```", "~~~", "text", "http://a/b", "", "/nope"]
)
BREAKS = st.sampled_from(["\n", "\r\n", "\r", "\u2028", "\x0b", "\x85", "\x1c"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(LINE_PIECES, BREAKS), max_size=12), st.text(max_size=40))
def test_quick_test_never_hides_a_command(lines: list[tuple[str, str]], noise: str) -> None:
    text = "".join(piece + brk for piece, brk in lines) + noise
    with patch.object(text_module, "_slash_starts_a_line", return_value=True):
        every_line = command_lines(text)  # the line-by-line scan, not skipped
    assert command_lines(text) == every_line
