"""Changes the bot makes to a description, computed on the freshest text.

GitLab's REST API replaces the whole description and has no locking, so the sink re-reads the
description right before writing and applies the smallest change to *that* text: one box, with
every other byte (line endings included) left as the humans wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from exception_bot.domain.fields import normalise_heading, parse_body
from exception_bot.domain.model import ChecklistItem
from exception_bot.domain.validation import item_key

_LINE_BREAK_RE = re.compile(r"(\r\n|\r|\n)")
_BOX_RE = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)\[([ xX])\]")


def _lines_with_breaks(text: str) -> list[str]:
    """Split into lines that keep their own line break; joins back to ``text`` exactly.

    Breaks are the ones CommonMark knows (CRLF, CR, LF), so line numbers match ``parse_body``.
    """
    parts = _LINE_BREAK_RE.split(text)
    return [
        parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)
    ]


def set_checkbox(description: str, section: str, item: str, checked: bool) -> str | None:
    """The description with the top-level ``item`` of ``section`` ticked or unticked.

    Returns None when there is nothing to change: the item is gone, or already as wanted.
    """
    parsed = parse_body(description)
    wanted = item_key(item)
    target = next(
        (
            i
            for i in parsed.items_in(normalise_heading(section))
            if not i.nested and item_key(i.text) == wanted
        ),
        None,
    )
    if target is None or target.checked == checked:
        return None
    lines = _lines_with_breaks(description)
    match = _BOX_RE.match(lines[target.line])
    if match is None:
        return None
    mark = "x" if checked else " "
    lines[target.line] = f"{match.group(1)}[{mark}]{lines[target.line][match.end() :]}"
    return "".join(lines)


def append_checklist(description: str, heading: str, items: Iterable[str]) -> str | None:
    """The description with ``## heading`` and unticked ``items`` appended at the end; when it
    has that section already, with the items it lacks put in before its first item (the CISO
    escalation item of an ``## Approvals`` written without it, docs/explanation/escalations.md).

    Returns None when there is nothing to add (a rerun after a crash, or a requester who wrote
    the items themselves). The new text uses the description's own line break, so a CRLF
    description stays CRLF.
    """
    parsed = parse_body(description)
    key = normalise_heading(heading)
    match = _LINE_BREAK_RE.search(description)
    eol = match.group(1) if match else "\n"
    section = parsed.section(key)
    if section is not None:
        present = {item_key(i.text) for i in parsed.items_in(key) if not i.nested}
        missing = [item for item in items if item_key(item) not in present]
        return _insert_items(description, parsed.items_in(key), section.first_line, missing, eol)
    lines = [f"## {heading}", "", *(f"- [ ] {item}" for item in items)]
    return description.rstrip("\r\n") + eol * 2 + eol.join(lines) + eol


def _insert_items(
    description: str,
    existing: Iterable[ChecklistItem],
    heading_line: int,
    items: list[str],
    eol: str,
) -> str | None:
    """``items`` as unticked boxes before the section's first top-level item, with its bullet
    (the same list), or right under the heading when it has none."""
    if not items:
        return None
    lines = _lines_with_breaks(description)
    first = next((i for i in existing if not i.nested), None)
    box = _BOX_RE.match(lines[first.line]) if first is not None else None
    if first is None or box is None:
        if not lines[heading_line].endswith(("\n", "\r")):
            lines[heading_line] += eol
        head, rest = "".join(lines[: heading_line + 1]), "".join(lines[heading_line + 1 :])
        boxes = "".join(f"- [ ] {item}{eol}" for item in items)
        # A paragraph right after the list would continue its last item: a blank line first.
        return head + eol + boxes + (eol if rest.strip() else "") + rest.lstrip("\r\n")
    prefix = box.group(1)
    added = [f"{prefix}[ ] {item}{eol}" for item in items]
    return "".join(lines[: first.line]) + "".join(added) + "".join(lines[first.line :])
