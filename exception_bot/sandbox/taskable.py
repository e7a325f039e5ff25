"""Checklist items of a description and which ones a description edit toggled.

GitLab reads checklist items from the *rendered* Markdown (``Taskable.get_tasks``,
app/models/concerns/taskable.rb, newest version): only list items whose text starts with a box
count, so items in code blocks or HTML comments do not, and items marked inapplicable (``[~]``)
are skipped. It compares the items of the old and new description *by position*
(``Taskable.get_updated_tasks``): an item counts as toggled only when the item at the same index
has the same text and only its box changed. Inserting an item above, editing an item's text while
ticking it, or adding an item already ticked toggles nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt

# markdown-it-py is a dependency of the package already; see quick_actions.py for why.
_MARKDOWN = MarkdownIt("commonmark").enable("table")
# taskable.rb COMPLETE_PATTERN / INCOMPLETE_PATTERN, and GLFM's inapplicable [~]
_BOX_RE = re.compile(r"\[(\s|[xX~])\]\s+(\S.*)")
# GitLab writes the item text of its checklist notes Markdown-escaped (gitlab-api.md §2).
_ESCAPED = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=<>])")


@dataclass(frozen=True)
class Task:
    text: str
    complete: bool


# Every issue GET reports task_completion_status: parse once per text (and keep the answers
# for a benchmark's thousands of requests, or each page of a list would parse them again).
@lru_cache(maxsize=65_536)
def tasks(description: str) -> tuple[Task, ...]:
    """The description's checklist items, in order, as GitLab's Taskable finds them."""
    found: list[Task] = []
    tokens = _MARKDOWN.parse(description)
    for index, token in enumerate(tokens[:-2]):
        if token.type != "list_item_open" or tokens[index + 1].type != "paragraph_open":
            continue
        first_line = tokens[index + 2].content.split("\n", 1)[0]
        match = _BOX_RE.match(first_line)
        if match and match.group(1) != "~":
            found.append(Task(match.group(2).strip(), match.group(1) in "xX"))
    return tuple(found)


def toggled(old: str, new: str) -> list[Task]:
    """The items of ``new`` whose box alone changed against the same position in ``old``."""
    before = tasks(old)
    return [
        task
        for index, task in enumerate(tasks(new))
        if index < len(before)
        and before[index].text == task.text
        and before[index].complete != task.complete
    ]


# The three wordings GitLab has written for a toggled item, newest first:
# - "rendered": `marked the checklist item **X** as completed`, X the item's rendered plain
#   text, Markdown-escaped (a live gitlab.com note reads `human\-approved ... scope\.`;
#   gitlab-fidelity.md row 1);
# - "source": the same words with the item's Markdown source, as issuables_service.rb
#   change_task_status wrote `new_task.source` after MR !94136 (GitLab ~15.3), and as the
#   migration RenameTaskSystemNoteToChecklistItem left the older notes;
# - "task": `marked the task **X** as completed` with the source, before GitLab ~15.3.
NOTE_FORMS = ("rendered", "source", "task")


def plain_text(source: str) -> str:
    """The item's text once rendered, as a reader sees it: emphasis, links and HTML tags gone,
    entities and backslash escapes resolved; an HTML comment's text stays, without ``<!--``
    and ``-->`` (gitlab-api.md, "Item text": a live observation of gitlab.com)."""
    (inline,) = _MARKDOWN.parseInline(source)
    parts: list[str] = []
    for token in inline.children or []:
        if token.type in ("text", "text_special", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type == "html_inline" and token.content.startswith("<!--"):
            parts.append(token.content.removeprefix("<!--").removesuffix("-->"))
    return "".join(parts).strip()


def task_note(task: Task, form: str = "rendered") -> str:
    """issuables_service.rb change_task_status: one system note per toggled item, in the
    wording of ``form`` (one of :data:`NOTE_FORMS`)."""
    state = "completed" if task.complete else "incomplete"
    if form == "task":
        return f"marked the task **{task.text}** as {state}"
    if form == "source":
        return f"marked the checklist item **{task.text}** as {state}"
    escaped = _ESCAPED.sub(r"\\\1", plain_text(task.text))
    return f"marked the checklist item **{escaped}** as {state}"
