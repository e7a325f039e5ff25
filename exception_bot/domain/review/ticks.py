"""Verified approvals (docs/explanation/approvals.md): a ticked box that does not count is
unticked, with one comment saying why.

Which ticks count is :func:`exception_bot.domain.approvals.evaluate`'s rule (GitLab's checklist
note names who ticked; that person holds the role, is not the requester, has not approved for
another role, and the request is unchanged since); this step answers the ones that do not.
"""

from __future__ import annotations

from dataclasses import replace

from exception_bot.domain.actions import SetCheckbox
from exception_bot.domain.approvals import slot_title
from exception_bot.domain.escape import Markdown
from exception_bot.domain.review.routing import heading
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.settings import Config


def undo_rejected(review: Review, walk: Walk) -> Walk:
    """Untick every box ticked by someone it does not count for, after saying why."""
    rejected = walk.approvals.rejected if walk.approvals else ()
    plan = walk.plan
    for tick in rejected:
        plan = plan.post_once(
            "untick",
            f"{tick.slot.key}:{tick.note_id or 0}",
            "untick.md.j2",
            problem=tick.problem.value,
            item=Markdown(tick.slot.item),
            user=tick.user,
            role=review.title(tick.slot.role),
            other=_slot_title(review.config, tick.other_slot),
            requester=review.requester,
        )
        plan = plan.untick(
            SetCheckbox(plan.ref, heading(walk.state), tick.slot.item, checked=False)
        )
    return replace(walk, plan=plan)


def _slot_title(config: Config, slot_key: str | None) -> Markdown | None:
    return None if slot_key is None else Markdown(slot_title(config, slot_key))
