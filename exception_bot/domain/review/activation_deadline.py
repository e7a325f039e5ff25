"""The activation deadline (docs/explanation/escalations.md): an approved exception whose
compensating controls are not confirmed within ``limits.activation_days`` gets one reminder to
the requester and Security Compliance; ``limits.activation_escalation_days`` later, still not
active, it goes to the CISO, who accepts it without the controls or revokes it. Without it an
approved exception would wait for its *Activation* box forever, with no word to anyone.
"""

from __future__ import annotations

from datetime import timedelta

from exception_bot.domain.escape import Markdown
from exception_bot.domain.people import mentions
from exception_bot.domain.review import ciso_review
from exception_bot.domain.review.ciso_assignees import assign_ciso
from exception_bot.domain.review.register_entry import ACTIVATION
from exception_bot.domain.review.walk import Review, Walk


def activation_deadline(review: Review, walk: Walk, confirmers: tuple[str, ...]) -> Walk:
    """For an approved exception not active yet: the reminder, then the escalation, each
    once, at its time (the review wakes for them)."""
    rec, request, limits = walk.rec, review.request, review.config.limits
    approved = rec.milestones.get("approved")
    if approved is None or request is None or ciso_review.pending(rec) is not None:
        return walk  # with the CISO already: their answer is awaited, not the requester's
    deadline = approved + timedelta(days=limits.activation_days)
    if review.ctx.now < deadline:
        return walk.wake_at(deadline)
    escalate_at = deadline + timedelta(days=limits.activation_escalation_days)
    if any(e.reason == ciso_review.DEADLINE for e in rec.ciso_escalations):
        return walk  # escalated once and answered: not again
    config = review.config
    compliance = " ".join(m for role in confirmers for m in mentions(config, role, request))
    walk = walk.post_once(
        "activation",
        "reminder",
        "activation_reminder.md.j2",
        requester=review.issue.author.username,
        compliance=Markdown(compliance),
        item=Markdown(ACTIVATION[1]),
        days=limits.activation_days,
        escalate_at=escalate_at,
    )
    if review.ctx.now < escalate_at:
        return walk.wake_at(escalate_at)
    walk = ciso_review.start(walk, ciso_review.DEADLINE, review.ctx.bot.username, escalate_at)
    walk = ciso_review.checklist(review.issue.description, walk, ciso_review.WAIVE_ITEM)
    walk = assign_ciso(review, walk)
    ciso = " ".join(mentions(config, config.escalation.ciso_role, request))
    return walk.post_once(
        "activation",
        "escalated",
        "activation_escalated.md.j2",
        ciso=Markdown(ciso),
        item=Markdown(ciso_review.WAIVE_ITEM),
        days=limits.activation_days + limits.activation_escalation_days,
    )
