"""Checklist items of a description and which ones a description edit toggled.

GitLab compares the checklist items of the old and new description *by position*
(``Taskable.get_updated_tasks``, app/models/concerns/taskable.rb): an item counts as toggled only
when the item at the same index has the same text and only its box changed. Inserting an item
above, editing an item's text while ticking it, or adding an item already ticked toggles nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# app/models/concerns/taskable.rb ITEM_PATTERN: a list marker, a box, then the item's text.
_ITEM_RE = re.compile(r"^\s*(?:[-+*]|\d+[.)])\s+\[([ xX])\]\s+(\S.*?)\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
# GitLab writes the item text of its checklist notes Markdown-escaped (gitlab-api.md §2).
_ESCAPED = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=<>])")


@dataclass(frozen=True)
class Task:
    text: str
    complete: bool


def tasks(description: str) -> list[Task]:
    found: list[Task] = []
    fenced = False
    for line in description.splitlines():
        if _FENCE_RE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _ITEM_RE.match(line)
        if match:
            found.append(Task(match.group(2), match.group(1) != " "))
    return found


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
    state = "completed" if task.complete else "incomplete"
    escaped = _ESCAPED.sub(r"\\\1", task.text)
    return f"marked the checklist item **{escaped}** as {state}"
