"""The description parser follows GitLab's Markdown: what GitLab renders is what we read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exception_bot.domain.fields import clean_section_text, normalise_heading, parse_body
from exception_bot.domain.settings import Config
from exception_bot.domain.validation import validate
from tests.requests import NOW, body, default_config, reverse_sections

ITEMS = """## Approvals
- [ ] open dash
- [x] ticked
- [X] ticked upper
* [ ] star
+ [x] plus
1. [ ] ordered
2) [x] ordered paren
   - [x] nested under ordered
> - [x] in a blockquote
- [~] inapplicable is not an item
- [] no space is not an item
- [x]no space after is not an item
-[ ] no space after dash is not a list
```
- [x] in a fence
```
~~~
- [x] in a tilde fence
~~~
<!--
- [x] in a comment
-->
    - [x] indented code block
"""


def test_task_items_follow_gitlab() -> None:
    items = parse_body(ITEMS).items
    got = [(i.text, i.checked, i.nested) for i in items]
    assert got == [
        ("open dash", False, False),
        ("ticked", True, False),
        ("ticked upper", True, False),
        ("star", False, False),
        ("plus", True, False),
        ("ordered", False, False),
        ("ordered paren", True, False),
        ("nested under ordered", True, True),
        ("in a blockquote", True, True),
    ]
    assert [i.position for i in items] == list(range(9))
    assert all(i.section == "approvals" for i in items)


def test_items_keep_their_source_line() -> None:
    text = body("low_staging")
    lines = text.split("\n")
    for item in parse_body(text).items:
        assert lines[item.line].endswith(item.text)
        assert lines[item.line].startswith("- [ ] ")


def test_crlf_keeps_line_numbers() -> None:
    text = body("low_staging")
    lf = parse_body(text).items
    crlf = parse_body(text.replace("\n", "\r\n")).items
    assert lf == crlf


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Expiration date", "expiration date"),
        ("  EXPIRATION   DATE: ", "expiration date"),
        ("**Risk level**", "risk level"),
        ("`Scope`", "scope"),
    ],
)
def test_heading_normalisation(raw: str, key: str) -> None:
    assert normalise_heading(raw) == key


def test_only_top_level_h2_headings_make_sections() -> None:
    text = (
        "## Summary\nOne.\n> ## Department\n> quoted\n- ## Policy\n```\n## Scope\n```\n"
        "### Detail\nmore\n# Title\nfree text\n## Risk level\nLow\n"
    )
    sections = parse_body(text).sections
    assert [s.key for s in sections] == ["summary", "risk level"]
    summary = sections[0].text
    assert "## Department" in summary
    assert "### Detail" in summary
    assert "free text" not in summary  # an h1 ends the section before it


def test_setext_heading_is_a_section() -> None:
    sections = parse_body("Summary\n-------\nOne sentence.\n").sections
    assert [(s.key, s.text) for s in sections] == [("summary", "One sentence.")]


def test_placeholder_line_does_not_swallow_the_next_heading() -> None:
    # `<department>` is an HTML open tag to CommonMark, which would start an HTML block
    # running to the next blank line; sections must survive a placeholder left in place.
    text = "## Department\n<department>\n## Policy\nencryption\n"
    sections = parse_body(text).sections
    assert [(s.key, s.text) for s in sections] == [("department", ""), ("policy", "encryption")]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<!-- guidance -->\nvalue", "value"),
        ("<!-- multi\nline -->\n\n\n\nvalue\n", "value"),
        ("value <!-- inline --> more", "value  more"),
        ("<!-- never closed\nvalue", ""),
        ("<YYYY-MM-DD>\n", ""),
        ("<https://example.com/x>", "<https://example.com/x>"),
        ("<bob@example.com>", "<bob@example.com>"),
        ("text <not a placeholder>", "text <not a placeholder>"),
        ("a\n\n\n\nb", "a\n\nb"),
    ],
)
def test_clean_section_text(raw: str, clean: str) -> None:
    assert clean_section_text(raw) == clean


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_and_validator_never_raise(text: str) -> None:
    result = validate(parse_body(text), default_config(), created_at=NOW, now=NOW)
    assert result.valid == (result.request is not None)


MARKDOWNISH = st.lists(
    st.sampled_from(
        [
            "## ",
            "- [ ] ",
            "- [x] ",
            "```",
            "<!--",
            "-->",
            "> ",
            "\n",
            "\r\n",
            "<x>",
            "---",
            "    ",
            "1. ",
            "Summary",
            "Approvals",
            "#",
            "\x00",
            "🚀",
            "|",
        ]
    )
    | st.text(max_size=20),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKDOWNISH)
def test_parser_never_raises_on_markdown_fragments(text: str) -> None:
    parsed = parse_body(text)
    for item in parsed.items:
        assert 0 <= item.line < len(parsed.lines)


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(["low_staging", "renewal", "critical_production"]),
    st.booleans(),
    st.booleans(),
    st.integers(min_value=0, max_value=3),
)
def test_order_and_whitespace_do_not_matter(
    name: str, reverse: bool, crlf: bool, extra_blank: int
) -> None:
    config: Config = default_config()
    original = body(name)
    text = reverse_sections(original) if reverse else original
    text = text.replace("\n## ", "\n" * (extra_blank + 1) + "## ")
    if crlf:
        text = text.replace("\n", "\r\n")
    a = validate(parse_body(original), config, created_at=NOW, now=NOW)
    b = validate(parse_body(text), config, created_at=NOW, now=NOW)
    assert a == b
