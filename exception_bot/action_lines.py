"""One readable line per action, for ``run --dry-run``: what the bot would do to an issue, as
a person reads it (``would post a note mentioning @carol``); ``--json`` gives every action in
full (:func:`exception_bot.domain.actions.describe`).

The lines are made from the described actions (plain dicts), and show what people wrote
(label names, checklist items, paths) through :func:`_shown`, which keeps a terminal's
control characters out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from exception_bot.domain import markers

# Tokens GitLab shows as code or hides (HTML comments): no mention in them notifies anyone.
# Parsed with markdown-it rather than matched with a pattern: a lazy pattern over an unclosed
# ``<!--`` run is quadratic on hostile text, and a parser knows what GitLab treats as code.
_NOT_TEXT = frozenset({"code_inline", "code_block", "fence", "html_inline", "html_block"})
_MARKDOWN = MarkdownIt("commonmark").enable("table")
# @ then a username or a group's path, not after a word character (an e-mail address).
_MENTION = re.compile(r"(?<![\w@`])@([A-Za-z0-9_][A-Za-z0-9_.\-/]*[A-Za-z0-9_]|[A-Za-z0-9_])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def where(action: Mapping[str, Any]) -> str:
    """What an action writes to: its issue, or the project of an issue it opens or of the
    register it commits to."""
    return _shown(action.get("issue") or action.get("project"))


def action_line(action: Mapping[str, Any]) -> str:
    """``would …``: one action as a sentence."""
    kind = str(action.get("action"))
    if kind in _OTHERS:
        return _OTHERS[kind](action)
    if kind == "SetLabels":
        return "would " + _labels(action.get("add") or (), action.get("remove") or ())
    if kind in ("PostNote", "EditNote"):
        verb = "post" if kind == "PostNote" else "edit"
        what = _note_kind(str(action.get("marker") or ""))
        told = mentions(str(action.get("body") or ""))
        tail = f" mentioning {', '.join(told)}" if told else ""
        return f"would {verb} {what}{tail}"
    if kind == "SetCheckbox":
        verb = "tick" if action.get("checked") else "untick"
        return f"would {verb} {_shown(action.get('item'))} under ## {_shown(action.get('section'))}"
    if kind == "AssignUsers":
        people = [f"@{_shown(name)}" for name in action.get("usernames") or ()]
        return f"would assign {', '.join(people)}" if people else "would unassign everyone"
    if kind == "SetDueDate":
        return f"would set the due date to {_shown(action.get('due'))}"
    if kind == "AppendChecklist":
        items = action.get("items") or ()
        return f"would add ## {_shown(action.get('heading'))} with {_boxes(len(items))}"
    if kind == "LinkIssues":
        return f"would link it to {_shown(action.get('target'))}"
    if kind == "CloseIssue":
        return "would close it"
    if kind == "WriteRegister":
        gone = [_shown(path) for path in action.get("remove") or ()]
        moved = f" (removing {', '.join(gone)})" if gone else ""
        return f"would commit {_shown(action.get('path'))} to the register{moved}"
    return f"would {_shown(kind)}"


def _index_line(action: Mapping[str, Any]) -> str:
    return f"would list {_shown(action.get('path'))} in the register's index"


def _open_line(action: Mapping[str, Any]) -> str:
    people = [f"@{_shown(name)}" for name in action.get("assignees") or ()]
    assigned = f" assigned to {', '.join(people)}" if people else ""
    told = mentions(str(action.get("body") or ""))
    tail = f" mentioning {', '.join(told)}" if told else ""
    notes = [_note_kind(str(note.get("marker") or "")) for note in action.get("notes") or ()]
    then = f", then post {' and '.join(notes)}" if notes else ""
    title = _shown(action.get("title"))
    return f'would open the issue "{title}"{assigned}{tail}{then}'


def _description_line(action: Mapping[str, Any]) -> str:
    return "would rewrite its description"


_OTHERS = {
    "IndexFile": _index_line,
    "OpenIssue": _open_line,
    "SetDescription": _description_line,
}


def mentions(body: str) -> tuple[str, ...]:
    """The ``@handles`` a note would notify: those outside code and comments, once each."""
    found = (
        f"@{_shown(name)}"
        for text in _texts(_MARKDOWN.parse(body))
        for name in _MENTION.findall(text)
    )
    return tuple(dict.fromkeys(found))


def _texts(tokens: Iterable[Token]) -> Iterator[str]:
    for token in tokens:
        if token.type in _NOT_TEXT:
            continue
        if token.type == "text":
            yield token.content
        yield from _texts(token.children or ())


def _labels(add: Iterable[str], remove: Iterable[str]) -> str:
    added = ", ".join(_shown(name) for name in add)
    removed = ", ".join(_shown(name) for name in remove)
    parts = [f"set labels {added}" if added else "", f"remove {removed}" if removed else ""]
    return " and ".join(part for part in parts if part) or "set no labels"


def _note_kind(marker: str) -> str:
    found = re.search(r"kind=([\w-]+)", marker)
    kind = found.group(1) if found else ""
    if kind == markers.STATUS:
        return "the status note"
    return f"a note ({kind.replace('_', ' ')})" if kind else "a note"


def _boxes(count: int) -> str:
    return f"{count} box{'es' if count != 1 else ''}"


def _shown(value: object) -> str:
    """Text for a terminal: control characters (escape sequences, line breaks) as ``?``."""
    return _CONTROL.sub("?", str(value))
