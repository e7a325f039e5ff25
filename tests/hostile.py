"""Hostile request bodies: the longest a requester may send (``MAX_DESCRIPTION_CHARS``), made
of one long run of a text that backtracking patterns and block parsers find costly.

A class is a unit repeated; each is tried bare and between two letters (``x   …   x``: a run a
pattern must scan and then fail after, the shape of the 96,000-space *Department* that took a
run 123 s), in each field whose text takes its own path through validation. The benchmark
(bench/hostile.py) times the slowest of these for each class; tests send some through the bot.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from exception_bot.demo import request_body
from exception_bot.domain.fields import (
    MAX_DESCRIPTION_CHARS,
    MAX_DESCRIPTION_LINES,
    normalise_text,
)
from exception_bot.domain.settings import Config

# name -> the unit repeated. Single characters: every one that Markdown or one of our patterns
# gives a meaning to, and the whitespace and line breaks that str.split()/splitlines() know
# besides space and newline. Longer units: the block and inline constructs a parser nests or
# looks ahead for.
CLASSES: Mapping[str, str] = {
    "spaces": " ",
    "tabs": "\t",
    "newlines": "\n",
    "crlf": "\r\n",
    "carriage returns": "\r",
    "line separators": "\u2028",
    "next lines": "\x85",
    "no-break spaces": "\u00a0",
    "form feeds": "\f",
    "dashes": "-",
    "stars": "*",
    "underscores": "_",
    "backticks": "`",
    "tildes": "~",
    "pipes": "|",
    "less-than": "<",
    "greater-than": ">",
    "bangs": "!",
    "open brackets": "[",
    "close brackets": "]",
    "open parens": "(",
    "slashes": "/",
    "backslashes": "\\",
    "at signs": "@",
    "hashes": "#",
    "digits": "0",
    "dots": ".",
    "colons": ":",
    "equals": "=",
    "plus signs": "+",
    "quotes": '"',
    "ampersands": "&",
    "letters": "a",
    "task items": "- [ ] x\n",
    "boxes on one line": "- [ ] ",
    "nested list markers": "- ",
    "ordered list markers": "1. ",
    "nested quotes": "> ",
    "indented lines": "    x\n",
    "headings": "## x\n",
    "setext underlines": "x\n=\n",
    "comment openers": "<!--",
    "html tags": "<a>\n",
    "placeholders": "<x>\n",
    "links": "[a](",
    "images": "![a](",
    "link labels": "[a]",
    "emphasis": "*a",
    "strong": "**a",
    "autolinks": "<http://a",
    "urls": "https://a/",
    "issue urls": "/issues/1#",
    "mentions": "@a ",
    "issue refs": "#1 ",
    "entities": "&amp",
    "code fences": "```\n",
    "table rows": "|a|\n",
    "table cells": "| a ",
    "escapes": "\\*",
    "quick actions": "/label ~x\n",
    "markers": "<!-- exception-bot:kind=x:key=",
}
# Fields whose text takes its own path: a single-value choice, the summary's length check, the
# date, the renewal reference (and with it a renewal's fields), free text, and the checklist.
FIELDS = (
    "Department",
    "Summary",
    "Expiration date",
    "Renews",
    "Justification",
    "Approvals",
)


@dataclass(frozen=True)
class HostileBody:
    """One hostile request: its class, where the run is, and the description."""

    name: str
    field: str
    wrapped: bool
    description: str


def hostile_run(unit: str, length: int, wrapped: bool) -> str:
    """``unit`` repeated to ``length`` characters; between two letters when ``wrapped``."""
    inner = length - 2 if wrapped else length
    run = (unit * (inner // len(unit) + 1))[:inner]
    return f"x{run}x" if wrapped else run


def hostile_body(config: Config, unit: str, field: str, wrapped: bool) -> str:
    """The longest request the bot reads, the run in ``field``: ``MAX_DESCRIPTION_CHARS``
    characters, or ``MAX_DESCRIPTION_LINES`` lines for a unit that breaks lines (a longer one is
    refused unread)."""
    if field == "Approvals":
        # The checklist is the last section: the run follows its boxes.
        base = request_body(config, {})
        head, tail = base.split("\n\n/label", 1)
        room = _room(base, unit, MAX_DESCRIPTION_CHARS - len(base) - 2, extra_lines=2)
        return f"{head}\n\n{hostile_run(unit, room, wrapped)}\n\n/label{tail}"
    base = request_body(config, {field: ""})
    room = _room(base, unit, MAX_DESCRIPTION_CHARS - len(base))
    return request_body(config, {field: hostile_run(unit, room, wrapped)})


def _room(base: str, unit: str, chars: int, extra_lines: int = 0) -> int:
    """How many characters of ``unit`` fit in ``base`` under both limits."""
    breaks = normalise_text(unit * 4).count("\n") / 4  # "\r\n" is one break, "\r" one
    if not breaks:
        return chars
    lines = len(normalise_text(base).split("\n")) + extra_lines
    units = int((MAX_DESCRIPTION_LINES - lines) / breaks)
    return min(chars, units * len(unit))


def hostile_bodies(config: Config) -> Iterator[HostileBody]:
    """Every class, bare and wrapped, in every field of ``FIELDS``."""
    for name, unit in CLASSES.items():
        for field in FIELDS:
            for wrapped in (False, True):
                yield HostileBody(name, field, wrapped, hostile_body(config, unit, field, wrapped))
