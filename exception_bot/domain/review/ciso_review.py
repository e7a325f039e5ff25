"""A decision taken to the CISO after it was made (docs/explanation/escalations.md): what the
record keeps of it, the ``## CISO escalation`` checklist the CISO answers in, and how the
status note shows it.

The CISO's boxes have texts of their own, not the ``CISO escalation approval`` of the route:
GitLab's checklist note names an item by its text alone, and a request escalated before its
review (Critical in production) has that box ticked already.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from exception_bot.domain.actions import AppendChecklist
from exception_bot.domain.escape import Markdown
from exception_bot.domain.fields import normalise_heading, parse_body
from exception_bot.domain.model import State
from exception_bot.domain.record import CisoEscalation, Record
from exception_bot.domain.review.walk import Walk
from exception_bot.domain.settings import Config
from exception_bot.domain.validation import item_key

HEADING = "CISO escalation"
REINSTATE_ITEM = "CISO reinstates the request"
WAIVE_ITEM = "CISO accepts without compensating controls"

# Why a decision went to the CISO.
REJECTION = "rejection"  # the requester disagrees with a rejection (or a renewal's)
CONTROLS = "controls"  # the compensating controls cannot be implemented
DEADLINE = "activation-deadline"  # not activated in time: the bot escalated

# The CISO's answers, as the register and the status note say them.
REINSTATED = "reinstated"
CONFIRMED = "rejection confirmed"
ACCEPTED = "accepted without compensating controls"
REVOKED = "revoked"
WITHDRAWN = "withdrawn: activated with the controls"
LAPSED = "lapsed: the exception expired first"  # unanswered when its time was over
_OUTCOMES = frozenset({REINSTATED, CONFIRMED, ACCEPTED, REVOKED, WITHDRAWN, LAPSED})

_REASONS = {
    REJECTION: "the requester disagrees with the rejection",
    CONTROLS: "the compensating controls cannot be implemented",
    DEADLINE: "not activated in time",
}


def pending(rec: Record) -> CisoEscalation | None:
    """The escalation the CISO has not answered yet."""
    last = rec.ciso_escalations[-1] if rec.ciso_escalations else None
    return last if last is not None and last.outcome is None else None


def confirmed(rec: Record) -> bool:
    """The rejection stands because the CISO confirmed it on escalation: it is final."""
    last = rec.ciso_escalations[-1] if rec.ciso_escalations else None
    return last is not None and last.outcome == CONFIRMED and rec.decision is not None


def lapsed(rec: Record) -> bool:
    """The last escalation lapsed unanswered (escalation_lapse.py): a rejection it held
    stands and is final, as a confirmed one is."""
    last = rec.ciso_escalations[-1] if rec.ciso_escalations else None
    return last is not None and last.outcome == LAPSED


def contest_ways(config: Config, rec: Record, state: State) -> dict[str, object]:
    """How a rejection decided now may be contested, for the comment that announces it: an
    appeal to Legal and the executives, an escalation to the CISO, each once, within the
    appeal window (docs/explanation/escalations.md). A rejection in an appeal is final."""
    appeal = state is not State.APPEAL and "appealed" not in rec.milestones
    escalate = state is not State.APPEAL and not any(
        e.reason == REJECTION for e in rec.ciso_escalations
    )
    return {"appeal": appeal, "escalate": escalate, "days": config.limits.appeal_window_days}


def start(walk: Walk, reason: str, by: str, at: datetime, event_id: int = 0) -> Walk:
    escalation = CisoEscalation(reason, by, at, event_id)
    rec = replace(walk.rec, ciso_escalations=(*walk.rec.ciso_escalations, escalation))
    return replace(walk, rec=rec)


def answered(walk: Walk, outcome: str, user: str, at: datetime) -> Walk:
    """The pending escalation with the CISO's answer."""
    rec = walk.rec
    last = pending(rec)
    if last is None:
        return walk
    done = replace(last, outcome=outcome, decided_by=user, decided_at=at)
    rec = replace(rec, ciso_escalations=(*rec.ciso_escalations[:-1], done))
    return replace(walk, rec=rec)


def checklist(description: str, walk: Walk, item: str) -> Walk:
    """The CISO's box under ``## CISO escalation``, added while the description lacks it."""
    body = parse_body(description)
    key = normalise_heading(HEADING)
    if any(item_key(i.text) == item_key(item) for i in body.items_in(key) if not i.nested):
        return walk
    return walk.edit(AppendChecklist(walk.plan.ref, HEADING, (item,)))


def status_lines(rec: Record) -> list[dict[str, object]]:
    """The escalations as the status note lists them (the words are the bot's)."""
    return [
        {
            "reason": Markdown(_REASONS.get(e.reason, "escalated")),
            "by": e.by,
            "at": e.at,
            # A record is the bot's, but an admin can edit any note: only its own words live.
            "outcome": Markdown(e.outcome) if e.outcome in _OUTCOMES else e.outcome,
            "decided_by": e.decided_by,
            "decided_at": e.decided_at,
        }
        for e in rec.ciso_escalations
        if e.reason in _REASONS
    ]
