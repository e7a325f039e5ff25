"""Finding quick actions in descriptions and notes, as GitLab's extractor does.

GitLab interprets quick actions when an issue is created, when its description is updated and
when a note is posted (``QuickActions::InterpretService``; ``handle_quick_actions`` in
app/services/issuable_base_service.rb; lib/api/notes.rb). Where the commands can be is decided by
``Gitlab::QuickActions::Extractor`` (lib/gitlab/quick_actions/extractor.rb, newest version):

- the text is parsed as Markdown and only *top-level paragraphs* are searched
  (``Banzai::Pipeline::QuickActionPipeline``, ``QuickActionFilter``): nothing inside a code block
  (fenced with backticks or tildes, or indented), a blockquote, a list item or an HTML block runs;
- inside such a paragraph, a command is a line starting with ``/name``, then nothing, or one space
  and its arguments; a span in backticks (even across lines) shields what it holds;
- command names are case-insensitive; executed lines (and blank lines right after them) are
  removed from the stored text, which is then right-stripped; ``\\r`` is dropped;
- a line naming an unknown command stays as it is.

What each command does is :mod:`exception_bot.sandbox.store`'s business; this module only finds
them and reads their arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from markdown_it import MarkdownIt

# The commands GitLab CE defines for issues (lib/gitlab/quick_actions/*_actions.rb). Every one is
# removed from the text when it runs; the store gives effect to the ones the bot's process can
# meet (labels, state, assignees, due date, confidentiality, title, lock) and ignores the rest.
KNOWN = [
    "add_child",
    "assign",
    "award",
    "blocked_by",
    "blocks",
    "board_move",
    "clone",
    "close",
    "confidential",
    "copy_metadata",
    "create_merge_request",
    "done",
    "due",
    "duplicate",
    "estimate",
    "estimate_time",
    "label",
    "labels",
    "lock",
    "milestone",
    "move",
    "promote_to_incident",
    "react",
    "relabel",
    "relate",
    "remove_child",
    "remove_due_date",
    "remove_estimate",
    "remove_label",
    "remove_milestone",
    "remove_parent",
    "remove_time_estimate",
    "remove_time_spent",
    "remove_zoom",
    "reopen",
    "set_parent",
    "severity",
    "spend",
    "spend_time",
    "spent",
    "subscribe",
    "timeline",
    "title",
    "todo",
    "type",
    "unassign",
    "unlabel",
    "unlink",
    "unlock",
    "unrelate",
    "unsubscribe",
    "zoom",
]

# A CommonMark parser with GLFM's tables, to find top-level paragraphs as comrak does for GitLab.
# markdown-it-py is already a dependency of the package (domain/fields.py reads issue bodies
# with it); a hand-written block scanner would get CommonMark's edge cases wrong, and those edges
# are exactly where injected commands hide.
_MARKDOWN = MarkdownIt("commonmark").enable("table")
# The closing line of GitLab's multi-line blockquote, >>> ... >>> (Banzai
# BlockquoteFenceLegacyFilter, which runs before the Markdown parser in QuickActionPipeline).
_QUOTE_CLOSE = re.compile(r">>>[ \t]*")

# extractor.rb commands_regex, flags m (Python's S), i, x; ^ and $ are line anchors in Ruby.
_COMMANDS = re.compile(
    r"""
      (?P<inline_code>`.+?`)
    | (?P<html>^<[^>]+?>\n.+?\n</[^>]+?>$)
    | (?:^/(?P<cmd>"""
    + "|".join(sorted(KNOWN, key=len, reverse=True))
    + r""")(?:[ ](?P<arg>[^\n]*))?(?:\s*\n|$))
    """,
    re.MULTILINE | re.DOTALL | re.IGNORECASE | re.VERBOSE,
)

# app/models/label.rb reference_pattern: ~id, ~name (scoped parts joined by : or ::), ~"any name".
_LABEL_REF = re.compile(
    r"~(?:(?P<id>\d+)(?!\S\w)\b|(?P<name>[A-Za-z0-9_\-?.&]+(?:::?[A-Za-z0-9_\-?.&]+)*)(?<![.?])"
    r'|"(?P<quoted>.+?)")'
)
# interpret_service.rb extract_label_names: '"A" "A B C" A B' => ["A", "A B C", "A", "B"]
_BARE_LABEL = re.compile(r'"([^"]+)"|([^ ]+)')


@dataclass(frozen=True)
class Command:
    """One quick action found in a text: its name (lower case) and its arguments."""

    name: str
    arg: str = ""


@dataclass(frozen=True)
class LabelRefs:
    """The labels a ``/label``-like command names: by id, or by name."""

    ids: tuple[int, ...]
    names: tuple[str, ...]


def extract(text: str) -> tuple[str, tuple[Command, ...]]:
    """The text as GitLab stores it (executed lines removed), and the commands, in order."""
    text = text.replace("\r", "")
    lines = _lines(text)
    commands: list[Command] = []
    for start, end in _top_level_paragraphs(text, lines):
        # extractor.rb: a blank line right after the paragraph goes with it
        if end < len(lines) and lines[end] == "\n":
            end += 1
        paragraph = "".join(lines[start:end])
        kept = _COMMANDS.sub(lambda m: _take(m, commands), paragraph)
        lines[start:end] = [kept] + [""] * (end - start - 1)
    return "".join(lines).rstrip(), tuple(commands)


def _lines(text: str) -> list[str]:
    """The lines of ``text`` with their newlines; only ``\\n`` ends a line, as in Markdown."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _top_level_paragraphs(text: str, lines: list[str]) -> list[tuple[int, int]]:
    """Line ranges [start, end) of the top-level paragraphs with a line starting with ``/``."""
    found = []
    quoted = _quote_fences(text)
    for token in _MARKDOWN.parse(quoted):
        if token.type == "paragraph_open" and token.level == 0 and token.map:
            start, end = token.map
            if any(line.startswith("/") for line in lines[start:end]):
                found.append((start, end))
    return found


def _quote_fences(text: str) -> str:
    """Every >>> ... >>> block as ``> `` lines: from a line starting with ``>>>`` to the first
    line of only ``>>>`` (and spaces) at least two lines below, as the filter's pattern
    ``^>>>[^\\n]*\\n.*?\\n>>>[ \\t]*$`` (multi-line, dot-all) finds them. Found line by line,
    with the next closing line known for each: that pattern, searching lazily from every
    opening line, rescanned the rest of the text when no closing line followed."""
    lines = text.split("\n")
    next_close = [len(lines)] * (len(lines) + 2)
    for i in range(len(lines) - 1, -1, -1):
        next_close[i] = i if _QUOTE_CLOSE.fullmatch(lines[i]) else next_close[i + 1]
    out: list[str] = []
    i = 0
    while i < len(lines):
        close = next_close[i + 2] if lines[i].startswith(">>>") else len(lines)
        if close < len(lines):
            out += ["> " + line for line in lines[i : close + 1]]
            i = close + 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def _take(match: re.Match[str], commands: list[Command]) -> str:
    if match.group("cmd") is None:
        return match.group(0)  # inline code or an HTML block: left as it is
    commands.append(Command(match.group("cmd").lower(), (match.group("arg") or "").strip()))
    return ""


def label_refs(arg: str) -> LabelRefs:
    """The labels named by a command's argument (``find_labels`` in interpret_service.rb).

    With a ``~`` anywhere, only ``~`` references count; without one, the words (or quoted
    phrases) are label names. Either way only labels that exist are applied: GitLab's quick
    actions never create a label, unlike the API's ``labels``/``add_labels``.
    """
    if "~" not in arg:
        return LabelRefs((), tuple(q or w for q, w in _BARE_LABEL.findall(arg)))
    ids: list[int] = []
    names: list[str] = []
    for match in _LABEL_REF.finditer(arg):
        if match.group("id"):
            ids.append(int(match.group("id")))
        else:
            names.append(match.group("name") or match.group("quoted"))
    return LabelRefs(tuple(ids), tuple(names))


def user_refs(arg: str) -> tuple[tuple[str, ...], bool]:
    """The user references of an ``/assign`` as written (``@carol`` or ``carol``), and
    whether it says ``me`` (users_extractor.rb: split on spaces and commas, "and" dropped)."""
    words = [w.strip() for w in re.split(r"\s|,", arg) if w.strip()]
    words = [w for w in dict.fromkeys(words) if w != "and"]
    # underscores may come escaped from Markdown: \_
    return tuple(w.replace("\\_", "_") for w in words if w != "me"), "me" in words


def due_date(arg: str, today: date) -> date | None:
    """``/due`` reads dates with the Chronic gem; this reads the common forms of it."""
    text = arg.strip().lower()
    relative = re.fullmatch(r"in (\d+) (day|week)s?", text)
    if relative:
        days = int(relative.group(1)) * (7 if relative.group(2) == "week" else 1)
        return today + timedelta(days=days)
    named = {"today": 0, "tomorrow": 1}
    if text in named:
        return today + timedelta(days=named[text])
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
