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


def task_note(task: Task) -> str:
    """issuables_service.rb change_task_status: one system note per toggled item."""
    state = "completed" if task.complete else "incomplete"
    escaped = _ESCAPED.sub(r"\\\1", task.text)
    return f"marked the checklist item **{escaped}** as {state}"
