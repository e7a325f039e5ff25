"""Making hostile text harmless in what the bot writes to GitLab.

GitLab runs a line starting with ``/`` in a note or description as a quick action with the
bot's rights, and turns ``@name`` into a mention. Requester text is therefore only ever shown
inert (:mod:`exception_bot.domain.escape`) and every body the bot writes goes through
:func:`neutralise_quick_actions`.
"""

from __future__ import annotations

import re

# GitLab's quick actions for issues (doc/user/project/quick_actions.md). A line that starts
# with one of them runs as a command for whoever saves the text: the bot, if it rewrites it.
QUICK_ACTIONS = frozenset(
    {
        "add_child",
        "add_contacts",
        "approve",
        "assign",
        "assign_reviewer",
        "award",
        "blocked_by",
        "blocks",
        "board_move",
        "cc",
        "checkin_reminder",
        "clear_weight",
        "clone",
        "close",
        "confidential",
        "convert_to_ticket",
        "copy_metadata",
        "create_merge_request",
        "done",
        "draft",
        "due",
        "duplicate",
        "epic",
        "estimate",
        "health_status",
        "iteration",
        "label",
        "link",
        "lock",
        "merge",
        "milestone",
        "move",
        "page",
        "promote",
        "promote_to_incident",
        "publish",
        "q",
        "react",
        "ready",
        "reassign",
        "reassign_reviewer",
        "rebase",
        "relabel",
        "relate",
        "remove_child",
        "remove_contacts",
        "remove_due_date",
        "remove_epic",
        "remove_estimate",
        "remove_iteration",
        "remove_milestone",
        "remove_parent",
        "remove_time_spent",
        "remove_zoom",
        "reopen",
        "request_review",
        "set_parent",
        "severity",
        "shrug",
        "spend",
        "spent",
        "status",
        "submit_review",
        "subscribe",
        "tableflip",
        "target_branch",
        "timeline",
        "title",
        "todo",
        "type",
        "unassign",
        "unassign_reviewer",
        "unlabel",
        "unlink",
        "unlock",
        "unsubscribe",
        "weight",
        "zoom",
    }
)
_COMMAND_RE = re.compile(r"^[ \t]{0,3}/([a-z_]+)(?=[ \t]|$)")
_FENCE_RE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_QUICK_ACTION_LINE_RE = re.compile(r"^([ \t]*)/", re.M)
# What str.splitlines() ends a line at.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def neutralise_quick_actions(body: str) -> str:
    """Escape the slash of every line that GitLab would read as a quick action.

    ``\\/close`` renders as ``/close`` but is not a command: GitLab only runs lines that start
    with the slash.
    """
    return _QUICK_ACTION_LINE_RE.sub(lambda m: f"{m.group(1)}\\/", body)


def command_lines(text: str) -> list[tuple[int, str]]:
    """(1-based line number, command) of every line GitLab would run as a quick action.

    Lines in fenced code blocks are text to GitLab and are skipped.
    """
    if not _slash_starts_a_line(text):  # most texts: the quick answer
        return []
    found = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE_RE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _COMMAND_RE.match(line)
        if match and match.group(1) in QUICK_ACTIONS:
            found.append((number, match.group(1)))
    return found


def _slash_starts_a_line(text: str) -> bool:
    """Whether some line's first character other than spaces and tabs is a slash: a test
    that visits only the slashes (a regular expression would try every position)."""
    at = text.find("/")
    while at != -1:
        start = at
        while start > 0 and text[start - 1] in " \t":
            start -= 1
        if start == 0 or text[start - 1] in _LINE_BREAKS:
            return True
        at = text.find("/", at + 1)
    return False
