"""The one way user text reaches what the bot writes: inert, whatever it holds.

Every string a person controls (titles, label names, field text, usernames, file and branch
names) is hostile. GitLab's Markdown would turn it into mentions (``@all`` notifies everyone),
links, tracking images, HTML, table columns or headings, and the bot's own hidden markers are
HTML comments a forger would love to plant. Shown inside a code span or a fenced code block, text
is literal to GitLab: its reference and autolink filters skip ``code`` and ``pre``
(``lib/banzai/filter/references/reference_filter.rb``, ``lib/banzai/filter/autolink_filter.rb``
in gitlabhq), and CommonMark parses nothing inside them.

Templates get this for free: :func:`exception_bot.render.environment` runs every ``{{ value }}``
through :func:`finalize`, which passes :class:`Markdown` (text the bot vouches for) and escapes
every other string. Forgetting to mark text as Markdown shows it as code; it never makes user
text live.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import Enum

# GitLab usernames: letters, digits, '_', '-' and '.', not starting with '-' or ending with '.'
# (lib/gitlab/path_regex.rb, NAMESPACE_FORMAT_REGEX). Anything else is not a username we mention.
_USERNAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
_BACKTICKS_RE = re.compile(r"`+")
# An issue reference as GitLab writes it (``group/project#12``): project paths hold only these.
_REFERENCE_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]{0,254}#[0-9]{1,10}")
_FENCE_RUN_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})", re.M)
# A URL the bot may put in a link target: http(s), no space, no character that ends a
# Markdown link destination or opens HTML.
_URL_RE = re.compile(r"https?://[^\s()<>\[\]`\"'\\]+")


class Markdown(str):
    """Text the bot vouches for as Markdown: its own words, its config's, or made inert here."""

    __slots__ = ()


def _printable(text: str) -> str:
    """Control and format characters (bidi overrides, zero-width joiners) become U+FFFD: they
    can make text read differently from what it holds ("Trojan Source")."""
    return "".join(
        "\ufffd" if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t" else c for c in text
    )


def inert(value: object, limit: int = 120) -> Markdown:
    """``value`` as a code span on one line, at most ``limit`` characters: shown, never run.

    The fence is one backtick longer than the longest run inside (CommonMark). A ``|`` becomes
    ``¦``: a table splits its cells at a pipe even inside a code span, and a backslash escape
    would show outside tables.
    """
    flat = " ".join(_printable(str(value)).split()).replace("|", "\u00a6")
    if len(flat) > limit:
        flat = flat[: limit - 1] + "\u2026"
    if not flat:
        return Markdown("` `")
    longest = max((len(run) for run in _BACKTICKS_RE.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return Markdown(f"{fence}{pad}{flat}{pad}{fence}")


def inert_block(value: object) -> Markdown:
    """Multi-line text as a fenced code block, the fence longer than any fence inside it."""
    text = _printable(str(value)).strip("\n")
    longest = max((len(m.group(1)) for m in _FENCE_RUN_RE.finditer(text)), default=2)
    fence = "`" * max(3, longest + 1)
    return Markdown(f"{fence}text\n{text}\n{fence}")


def mention(username: object) -> Markdown:
    """``@name`` for a GitLab username; anything that is not one is shown, not mentioned."""
    name = str(username)
    if _USERNAME_RE.fullmatch(name) and not name.endswith("."):
        return Markdown(f"@{name}")
    return inert(name)


def name(username: object) -> Markdown:
    """A username shown without notifying its user (the status table's *By* column)."""
    text = str(username)
    if _USERNAME_RE.fullmatch(text) and not text.endswith("."):
        return Markdown(text.replace("_", "\\_"))  # '_a_' would be emphasis
    return inert(text)


def reference(value: object) -> Markdown:
    """``group/project#12``, which GitLab links to the issue; anything else is shown inert."""
    text = str(value)
    return Markdown(text) if _REFERENCE_RE.fullmatch(text) else inert(text)


def url(value: object) -> Markdown:
    """A link target the bot built from GitLab's answers; anything else is refused, since a
    link target cannot be escaped into a code span."""
    text = str(value)
    if not _URL_RE.fullmatch(text):
        raise ValueError(f"not a URL the bot links to: {text[:80]!r}")
    return Markdown(text)


def finalize(value: object) -> object:
    """What a template shows for ``{{ value }}``: Markdown as is, user text inert.

    Numbers, dates and enums are the bot's own; any other string is escaped, so a template
    cannot show user text live by accident.
    """
    if isinstance(value, Markdown):
        return value
    if isinstance(value, Enum):
        return Markdown(str(value.value))
    if isinstance(value, bool | int | float | date | datetime) or value is None:
        return value
    return inert(value)
