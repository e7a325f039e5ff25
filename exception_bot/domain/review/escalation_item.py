"""The CISO escalation item the route needs (docs/explanation/escalations.md): a request whose
route starts with the CISO (Critical in production, ``exception-action::escalate``, a renewal
past the maximum) but whose ``## Approvals`` lacks *CISO escalation approval* (an older
template, a hand-written request, an escalation decided after it was opened) gets the item put
in by the bot, as *Activation* and *Appeal* are, rather than an answer that it needs info.
"""

from __future__ import annotations

from exception_bot.domain.actions import AppendChecklist
from exception_bot.domain.fields import parse_body
from exception_bot.domain.model import State
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.validation import APPROVALS_HEADING, APPROVALS_KEY, item_key


def escalation_item(review: Review, walk: Walk) -> Walk:
    """The item added to ``## Approvals`` while the route needs it and the text lacks it."""
    config = review.config
    first = walk.stages[0] if walk.stages else ()
    wanted = f"{config.escalation.ciso_role}_escalation"
    if walk.state is State.APPEAL or not any(slot.key == wanted for slot in first):
        return walk
    item = config.escalation.checklist_item
    body = parse_body(review.issue.description)
    if any(item_key(i.text) == item_key(item) for i in body.items_in(APPROVALS_KEY)):
        return walk  # there, top-level or not: validation names an indented one
    return walk.edit(AppendChecklist(walk.plan.ref, APPROVALS_HEADING, (item,)))
