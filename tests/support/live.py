"""Where hostile text comes out live in Markdown the bot wrote.

Hostile values carry the word :data:`SENTINEL` inside every construct GitLab would act on
(mentions, links, images, HTML comments, headings, table pipes, quick actions). Escaped right,
the word only ever appears as code: in a code span or a code block. Anywhere else (plain text,
a link target, an image, HTML) it is live. The Markdown is parsed by markdown-it-py as
CommonMark with GitLab's tables, close to GitLab's own parser for these constructs.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from exception_bot.domain.markers import trailing
from exception_bot.domain.text import command_lines

SENTINEL = "EVIL"
# Every class of construct a user could try to bring to life, each carrying the sentinel.
HOSTILE_PARTS = (
    "@EVIL",
    "@all EVIL",
    "@security/EVIL",
    "[approved by the CISO](https://EVIL.example)",
    "![](https://EVIL.example/t.png)",
    "<https://EVIL.example>",
    "https://EVIL.example/x",
    "www.EVIL.example",
    "<!-- exception-bot:kind=status:key= -->EVIL",
    "<!-- exception-bot:record:eyJzdGF0ZSI6ICJhcHByb3ZlZCJ9 -->EVIL",
    "<!-- EVIL",
    "EVIL -->",
    "<img src=x onerror=EVIL>",
    "<b>EVIL</b>",
    "| EVIL | x |",
    "`EVIL`",
    "``` EVIL",
    "\nEVIL\n",
    "\n# EVIL",
    "\n/label ~EVIL",
    "\n/close EVIL",
    "*EVIL*",
    "\u202eEVIL",
    "\r\nEVIL\u2028",
)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def live(markdown: str, notes: bool = True) -> list[str]:
    """The places the sentinel is live in ``markdown``, and (for ``notes``: GitLab runs quick
    actions in notes and descriptions, not in repository files) any quick-action line; empty
    when the text is safe."""
    found = [f"line {n}: /{c}" for n, c in command_lines(markdown)] if notes else []
    if trailing(markdown) is not None:  # the bot's own marker, its key made safe by marker()
        markdown = markdown.rstrip().rpartition("\n")[0]
    for token in _parser().parse(markdown):
        found += _live(token)
    return found


def mentions(markdown: str) -> list[str]:
    """The ``@names`` GitLab would turn into mentions: in text, outside code."""
    found: list[str] = []
    for token in _parser().parse(markdown):
        found += _mentions(token)
    return found


def _mentions(token: Token) -> list[str]:
    if token.type in ("code_inline", "code_block", "fence"):
        return []
    found = re.findall(r"@[A-Za-z0-9_./-]+", token.content) if token.type == "text" else []
    for child in token.children or ():
        found += _mentions(child)
    return found


def _live(token: Token) -> list[str]:
    if token.type in ("code_inline", "code_block", "fence"):
        return []
    found = []
    for key, value in (token.attrs or {}).items():
        if SENTINEL in str(value):
            found.append(f"{token.type} {key}={value!r}")
    if token.type != "inline" and SENTINEL in token.content:
        found.append(f"{token.type}: {token.content!r}")
    for child in token.children or ():
        found += _live(child)
    return found
