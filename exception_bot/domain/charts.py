"""Mermaid Gantt charts of exceptions in force: ``REGISTER.md`` and the weekly report draw them.

A Mermaid block is inside a code fence, where GitLab's Markdown reads nothing, but Mermaid
reads its own syntax there, line by line (its Gantt grammar: ``ganttDiagram`` in
mermaid-js/mermaid, ``packages/mermaid/src/diagrams/gantt/parser/gantt.jison``). A task line is
``name :data``: the name ends at the first ``:``, the data at ``#`` or ``;``; ``%`` starts a
comment anywhere; a line break ends the task; a line that starts with a statement word
(``section``, ``title``, ``click``, ...) or a date is that statement, not a task. Titles and the
ids of files that came by merge request are people's text, so a task name keeps only letters,
digits, spaces and a little plain punctuation, and never starts with such a word. Everything
else on the line is the bot's: a task id by position and ISO dates it parsed itself.

A bar starts when the exception took effect, as its record says (activation, else approval),
and ends with its expiry day, which it covers (``inclusiveEndDates``): an exception expires at
the end of that day. One without both dates recorded is left out of the chart, named below it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from exception_bot.domain.escape import inert

NAME_LIMIT = 60
# What a task name keeps besides letters and digits: none of it means anything to Mermaid.
_KEPT_PUNCTUATION = frozenset(" .,-_/()")
# The words that open a Gantt statement (and Mermaid's accessibility lines), and a date: a
# task name starting with one would be read as that statement. Matched on the name's start,
# case-insensitively, as Mermaid's lexer matches them.
_STATEMENT_START_RE = re.compile(
    r"(?i)(?:gantt|dateformat|inclusiveenddates|topaxis|axisformat|tickinterval|includes"
    r"|excludes|todaymarker|weekday|weekend|title|section|click|acc|\d{4}-\d\d-\d\d)"
)
# An ISO date, or the date part of an ISO timestamp, as the register writes them.
_ISO_DATE_RE = re.compile(r"(\d{4}-\d\d-\d\d)(?:[T ][0-9:.+\-Z]*)?")


@dataclass(frozen=True)
class Bar:
    """One exception in force, as its chart shows it."""

    ident: str
    title: str
    start: date | None  # when it took effect; None when nothing records it
    end: date | None  # its expiry day, covered by the bar


def task_name(ident: str, title: str) -> str:
    """``EXC-0042 Keep TLS 1.1 on fin-report-01``: the id first, then the title, in letters,
    digits, spaces and ``.,-_/()`` only, at most ``NAME_LIMIT`` characters."""
    name = f"{_plain(ident) or 'Exception'} {_plain(title)}".strip()
    if _STATEMENT_START_RE.match(name):
        name = f"Exception {name}"
    return name[:NAME_LIMIT].strip()


def _plain(text: str) -> str:
    normal = unicodedata.normalize("NFC", text)
    kept = "".join(c if c.isalnum() or c in _KEPT_PUNCTUATION else " " for c in normal)
    return " ".join(kept.split())


def started(approved: object, activated: object) -> date | None:
    """When an exception took effect: its activation, else its approval; None without either."""
    return chart_date(activated) or chart_date(approved)


def chart_date(value: object) -> date | None:
    """The day of a recorded date or timestamp; None for anything else. Rows of files that
    came by merge request hold whatever their author wrote."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _ISO_DATE_RE.fullmatch(str(value or "").strip())
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:  # 2026-02-30
        return None


def gantt(title: str, bars: Iterable[Bar]) -> str:
    """The chart as a fenced Mermaid block (no trailing newline), and a line naming the
    exceptions it leaves out; empty when there is nothing to show."""
    listed = list(bars)
    drawn = [b for b in listed if b.start is not None and b.end is not None]
    lines: list[str] = []
    if drawn:
        lines += [
            "```mermaid",
            "gantt",
            f"    title {title}",
            "    dateFormat YYYY-MM-DD",
            "    inclusiveEndDates",
        ]
        for n, bar in enumerate(drawn, start=1):
            lines.append(f"    {task_name(bar.ident, bar.title)} :x{n}, {bar.start}, {bar.end}")
        lines.append("```")
    missing = [b for b in listed if b not in drawn]
    if missing:
        names = ", ".join(inert(b.ident, limit=NAME_LIMIT) for b in missing)
        lines += ["", f"Not in the chart (no date it took effect, or no expiry date): {names}."]
    return "\n".join(lines).strip("\n")


# A pie slice's or a bar's label: only ever the bot's words (risk levels, stage names made of
# role names, "Approved"), and still kept to letters, digits, spaces and "+-" so that no quote
# can end Mermaid's string early.
_LABEL_RE = re.compile(r"[^A-Za-z0-9 +\-]")
LABEL_LIMIT = 40


def chart_label(text: str) -> str:
    return _LABEL_RE.sub("", text)[:LABEL_LIMIT].strip() or "-"


def pie(title: str, slices: Iterable[tuple[str, float]]) -> str:
    """A fenced Mermaid pie (``pie`` in mermaid-js/mermaid, packages/mermaid/src/diagrams/pie/
    parser/pie.langium); empty when no slice is above zero."""
    shown = [(chart_label(label), value) for label, value in slices if value > 0]
    if not shown:
        return ""
    lines = ["```mermaid", f"pie title {chart_label(title)}"]
    lines += [f'    "{label}" : {value:g}' for label, value in shown]
    return "\n".join([*lines, "```"])


def bars(title: str, unit: str, values: Iterable[tuple[str, float]]) -> str:
    """A fenced Mermaid bar chart (``xychart-beta``, packages/mermaid/src/diagrams/xychart/
    parser/xychart.jison): one bar a label; empty without any."""
    shown = [(chart_label(label), value) for label, value in values]
    if not shown:
        return ""
    names = ", ".join(f'"{label}"' for label, _ in shown)
    heights = ", ".join(f"{value:g}" for _, value in shown)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{chart_label(title)}"',
            f"    x-axis [{names}]",
            f'    y-axis "{chart_label(unit)}"',
            f"    bar [{heights}]",
            "```",
        ]
    )
