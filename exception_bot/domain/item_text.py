"""Checklist item texts that read the same in the description and in GitLab's notes.

The bot matches a ticked box to the checklist note that says who ticked it, by the item's
text. The description holds the item's Markdown source; GitLab's note names it differently by
version (``change_task_status`` in gitlabhq app/services/system_notes/issuables_service.rb):
today its *rendered plain text*, Markdown-escaped (``human\\-approved``); GitLab ~15.3 and the
notes its migration rewrote, the source. Un-escaping the note gives back the source only when
the source renders as itself, so configured item texts must be plain: no emphasis, links,
code, HTML, entities, backslash escapes or emoji codes, all of which rendering changes.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

# GLFM is CommonMark with GitHub's extensions; strikethrough and tables are those that can
# change an item's text (lib/banzai/filter/markdown_filter.rb).
_MARKDOWN = MarkdownIt("commonmark").enable(["strikethrough", "table"])
_KEPT = frozenset({"text", "code_inline"})  # their content is what a reader sees
# Banzai's EmojiFilter turns :name: into the emoji; a backslash makes the old and the new note
# wordings differ (the new one escapes it, the old one does not).
_CHANGED_BY_GITLAB = re.compile(r"\\|:[a-z0-9_+-]+:")


def rendered_text(source: str) -> str:
    """What a reader sees of an item's Markdown ``source``: its text with the markup gone."""
    (inline,) = _MARKDOWN.parseInline(source)
    parts = []
    for token in inline.children or []:
        if token.type in _KEPT:
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def markup_problem(text: str) -> str | None:
    """Why ``text`` cannot be a checklist item the bot matches to GitLab's notes, or None."""
    shown = rendered_text(text)
    if shown != text:
        return (
            f"'{text}' has Markdown or HTML, which GitLab's checklist notes drop (they would "
            f"name it '{shown.strip()}'); write the item as plain text"
        )
    if _CHANGED_BY_GITLAB.search(text):
        return (
            f"'{text}' has a backslash or an :emoji: code, which GitLab's checklist notes "
            "change; write the item without them"
        )
    return None
