"""An escalation the CISO has not answered when the exception's time is over
(docs/explanation/escalations.md, "When the exception's time runs out"): it lapses. Waiting on
would leave the CISO assigned to a question nothing depends on, and an answer after the
expiration date would put in force, or back into review, an exception whose last day is past.

- Controls or the activation deadline, pending when the exception expires: recorded as
  lapsed at the expiry, the CISO taken off the issue, and the expiry comment says so.
- A rejection escalated and not answered when the request's expiration day begins (a request
  must expire after today to be decided): the rejection stands and is final, as the CISO's
  confirmation would make it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from exception_bot.domain.calendar import day_start
from exception_bot.domain.model import State
from exception_bot.domain.review import ciso_review
from exception_bot.domain.review.ciso_assignees import filed_request, unassign_ciso
from exception_bot.domain.review.walk import Review, Walk


def lapse_at_expiry(review: Review, walk: Walk) -> Walk:
    """An expired exception's pending escalation (controls, activation deadline), lapsed."""
    pending = ciso_review.pending(walk.rec)
    if walk.state is not State.EXPIRED or pending is None:
        return walk
    at = walk.rec.milestones.get("expired", review.ctx.now)
    walk = ciso_review.answered(walk, ciso_review.LAPSED, review.ctx.bot.username, at)
    return unassign_ciso(review, walk)


def rejection_lapsed(review: Review, walk: Walk) -> tuple[Walk, bool]:
    """A rejection still with the CISO when the request's expiration day begins (from then on
    it could not be decided: a request must expire after today): rejected for good (True);
    until then the review wakes for that moment."""
    rec = walk.rec
    expiry = _expiry(review)
    if expiry is None or rec.rejection is None:
        return walk, False
    end = day_start(expiry, review.config.calendar)
    if review.ctx.now < end:
        return walk.wake_at(end), False
    walk = ciso_review.answered(walk, ciso_review.LAPSED, review.ctx.bot.username, end)
    rec = replace(walk.rec, decision=rec.rejection, rejection=None)
    return unassign_ciso(review, replace(walk, rec=rec, state=State.REJECTED)), True


def _expiry(review: Review) -> date | None:
    """The expiration date written: on its day the request no longer validates, and that is
    when the escalation lapses."""
    request = filed_request(review)
    return request.expiration_date if request is not None else None
