"""Issue description -> level-2 sections and task-list items.

GitLab renders descriptions as CommonMark (plus GFM task lists), so the description is parsed
with markdown-it rather than regular expressions: a ``## Heading`` or ``- [x]`` inside a code
fence, an HTML comment or a blockquote is then not mistaken for a section or an approval, just
as GitLab would not render it as one. Each item keeps its source line so the bot can later flip
exactly that box.

Only block structure matters here, so inline parsing is switched off, and task items are found
with the GFM rule (a list item whose paragraph starts with ``[ ]``, ``[x]`` or ``[X]`` and a
space) directly on the tokens. mdit-py-plugins' tasklists plugin applies the same rule but
searches back to the list start for every item, which is quadratic: 4,000 items took 4 s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from exception_bot.domain.model import ChecklistItem

_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# A placeholder is a line that is only `<...>`, as the templates write them; an autolink
# (`<https://...>`, `<a@b.c>`) is a value, not a placeholder.
_PLACEHOLDER_RE = re.compile(r"^\s*<([^<>\n]*)>\s*$")
_AUTOLINK_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[^\s@<>]+@[^\s@<>]+)$")
_HEADING_DECORATION_RE = re.compile(r"[*_`]+")
_BLANK_RUN_RE = re.compile(r"\n{3,}")
_TASK_RE = re.compile(r"^\[([ xX])\][ \t\n\v\f]")
# No exception request needs more text than this; a longer description is refused with a
# problem instead of parsed, because pure-Python Markdown parsing of a hostile 1 MB body
# (GitLab's limit) takes many seconds and would slow every run.
MAX_DESCRIPTION_CHARS = 100_000
# Nor more lines (the template has about 100). Block parsing costs up to 60 µs a line (a list
# item): 100,000 characters of one-character lines took 0.8 s to parse, 1,000 lines 60 ms.
MAX_DESCRIPTION_LINES = 1_000


@dataclass(frozen=True)
class Section:
    """A level-2 section: its heading and its cleaned text.

    Attributes:
        key: the heading normalised for matching (lower case, whitespace folded, no trailing
            colon or emphasis), e.g. ``expiration date``.
        title: the heading as written.
        text: the section's Markdown with HTML comments and placeholder lines removed.
        first_line: 0-based line of the heading.
        end_line: 0-based line where the next section starts (or the line count).
    """

    key: str
    title: str
    text: str
    first_line: int
    end_line: int


@dataclass(frozen=True)
class ParsedBody:
    """What the bot reads from a description."""

    sections: tuple[Section, ...]
    items: tuple[ChecklistItem, ...]
    lines: tuple[str, ...]
    too_long: bool = False

    def section(self, key: str) -> Section | None:
        """The first section with this normalised heading."""
        found = self._by_key.get(key)
        return found[0] if found else None

    def count(self, key: str) -> int:
        return len(self._by_key.get(key, ()))

    @cached_property
    def _by_key(self) -> dict[str, list[Section]]:
        # Validation looks up every field by heading: index the sections once.
        index: dict[str, list[Section]] = {}
        for section in self.sections:
            index.setdefault(section.key, []).append(section)
        return index

    def items_in(self, key: str) -> tuple[ChecklistItem, ...]:
        return tuple(item for item in self.items if item.section == key)


@lru_cache(maxsize=4096)  # the same few dozen headings, over and over
def normalise_heading(text: str) -> str:
    """``**Expiration Date:**`` -> ``expiration date``."""
    text = _HEADING_DECORATION_RE.sub("", text)
    return " ".join(text.split()).rstrip(":").strip().lower()


def normalise_text(text: str) -> str:
    """CRLF and lone CR become LF; NUL becomes U+FFFD, as CommonMark requires."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def clean_section_text(text: str) -> str:
    """Remove HTML comments and placeholder lines, trim, and fold runs of blank lines."""
    text = _COMMENT_RE.sub("", text)
    kept = [line.rstrip() for line in text.split("\n") if not _is_placeholder(line)]
    return _BLANK_RUN_RE.sub("\n\n", "\n".join(kept)).strip()


def _is_placeholder(line: str) -> bool:
    match = _PLACEHOLDER_RE.match(line)
    return match is not None and not _AUTOLINK_RE.match(match.group(1))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable("table")
    md.core.ruler.disable(["inline", "text_join"], ignoreInvalid=True)
    return md


# A run parses each description several times (validation, approvals, aftercare), and ParsedBody
# is immutable: parse once per text.
@lru_cache(maxsize=512)
def parse_body(description: str | None) -> ParsedBody:
    """Parse an issue description. Never raises on any text."""
    text = normalise_text(description or "")
    lines = tuple(text.split("\n"))
    if len(text) > MAX_DESCRIPTION_CHARS or len(lines) > MAX_DESCRIPTION_LINES:
        return ParsedBody((), (), lines, too_long=True)
    # A placeholder line such as `<YYYY-MM-DD>` is a complete HTML open tag to CommonMark, which
    # then swallows everything up to the next blank line as an HTML block. Sections are our
    # own idea, so read them leniently: blank placeholder lines out (keeping line numbers).
    blanked = "\n".join("" if _is_placeholder(line) else line for line in lines)
    tokens = _markdown().parse(blanked)
    sections = _sections(tokens, lines)
    items = _items(tokens, sections)
    return ParsedBody(sections, items, lines)


def _sections(tokens: list[Token], lines: tuple[str, ...]) -> tuple[Section, ...]:
    # Only top-level headings split sections: a heading in a blockquote or a list item is
    # content, and any h1/h2 ends the section before it.
    starts: list[tuple[int, int, str, bool]] = []  # (first line, body line, title, is_h2)
    for i, token in enumerate(tokens):
        top_heading = token.type == "heading_open" and token.level == 0
        if top_heading and token.map is not None and token.tag in ("h1", "h2"):
            title = tokens[i + 1].content if i + 1 < len(tokens) else ""
            starts.append((token.map[0], token.map[1], title, token.tag == "h2"))
    sections: list[Section] = []
    for n, (first, body, title, is_h2) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        if is_h2:
            raw = "\n".join(lines[body:end])
            sections.append(
                Section(
                    normalise_heading(title), title.strip(), clean_section_text(raw), first, end
                )
            )
    return tuple(sections)


def _items(tokens: list[Token], sections: tuple[Section, ...]) -> tuple[ChecklistItem, ...]:
    items: list[ChecklistItem] = []
    for i, token in enumerate(tokens):
        if token.type != "list_item_open" or i + 2 >= len(tokens):
            continue
        paragraph, inline = tokens[i + 1], tokens[i + 2]
        if paragraph.type != "paragraph_open" or inline.type != "inline":
            continue
        match = _TASK_RE.match(inline.content + "\n")
        if match is None:
            continue
        line = (paragraph.map or token.map or [0])[0]
        items.append(
            ChecklistItem(
                text=" ".join(inline.content[3:].split()),
                checked=match.group(1) in "xX",
                line=line,
                position=len(items),
                # Top-level list items sit at token level 1 (inside the list at level 0).
                nested=token.level > 1,
                section=_section_at(sections, line),
            )
        )
    return tuple(items)


def _section_at(sections: tuple[Section, ...], line: int) -> str:
    for section in sections:
        if section.first_line <= line < section.end_line:
            return section.key
    return ""
