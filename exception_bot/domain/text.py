"""Making hostile text harmless in what the bot writes to GitLab.

GitLab runs a line starting with ``/`` in a note or description as a quick action with the
bot's rights, and turns ``@name`` into a mention. Requester text is therefore only ever shown
inside a code span (no mentions, no Markdown) and every body the bot writes goes through
:func:`neutralise_quick_actions`.
"""

from __future__ import annotations

import re

_BACKTICK_RUN_RE = re.compile(r"`+")
_QUICK_ACTION_LINE_RE = re.compile(r"^([ \t]*)/", re.M)


def code_span(text: str, limit: int = 80) -> str:
    """``text`` as an inline code span on one line, shortened to ``limit`` characters.

    The fence is one backtick longer than the longest run inside (CommonMark), padded with a
    space when the text starts or ends with a backtick.
    """
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    longest = max((len(run) for run in _BACKTICK_RUN_RE.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def neutralise_quick_actions(body: str) -> str:
    """Escape the slash of every line that GitLab would read as a quick action.

    ``\\/close`` renders as ``/close`` but is not a command: GitLab only runs lines that start
    with the slash.
    """
    return _QUICK_ACTION_LINE_RE.sub(lambda m: f"{m.group(1)}\\/", body)
