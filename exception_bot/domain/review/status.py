"""The status note (docs/explanation/how-run-decides.md): one comment per request,
edited in place, showing the stages, who approved when, what is missing, the review deadline
and the expiry, with the bot's own record in a hidden comment; and the facts the weekly
report is made of.
"""

from __future__ import annotations

from dataclasses import replace

from exception_bot.domain import charts, record
from exception_bot.domain.approvals import approval_names
from exception_bot.domain.escape import Markdown
from exception_bot.domain.model import ActionLabel
from exception_bot.domain.register import exception_id_of, shown_title
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.review import ciso_review
from exception_bot.domain.review.metric_facts import metric_facts
from exception_bot.domain.review.register_entry import incidents
from exception_bot.domain.review.risk_assessment import risk_status
from exception_bot.domain.review.routing import records, stage_label, waiting_for
from exception_bot.domain.review.slas import stage_started
from exception_bot.domain.review.states import REGISTERED, ROUTING
from exception_bot.domain.review.walk import Review, Walk

# How the status note names a recorded decision.
_DECIDED = {
    ActionLabel.REJECT.value: Markdown("Rejected"),
    ActionLabel.REQUEST_CHANGES.value: Markdown("Changes requested"),
    ActionLabel.REVOKE.value: Markdown("Revoked"),
}


def final_record(review: Review, walk: Walk) -> record.Record:
    """The record the status note keeps once the walk is over."""
    stage = stage_label(review, walk)
    return replace(
        walk.rec,
        state=walk.state.value,
        approvals=records(walk),
        stage=stage,
        stage_started_at=stage_started(review, walk, stage),
    )


def record_text(rec: record.Record, recorded: record.Record | None, status_body: str) -> str:
    """The record as the status note will hold it: an unchanged record keeps the text it was
    read from (even one an older version wrote), so it is not encoded again on every run."""
    if rec == recorded:
        kept = record.comment(status_body)
        if kept is not None:
            return Markdown(kept)
    return Markdown(record.encode(rec))


def status_context(review: Review, walk: Walk, final: record.Record) -> dict[str, object]:
    """What the status note's template shows."""
    approved = walk.approvals.approvals if walk.approvals else {}
    current = stage_label(review, walk) is not None
    given = {a.slot: a for a in final.approvals if a.slot in approved}
    rows = [
        {
            "stage": n + 1,
            "item": Markdown(s.item),
            "role": review.title(s.role),
            "user": approved[s.key].user if s.key in approved else None,
            "at": approved[s.key].at if s.key in approved else None,
            "current": stage is walk.current and current,
            # a fallback's approval "(CISO for Department Head)", a delegate's "for alice"
            "acting": Markdown(approval_names(review.config, given[s.key])[0])
            if s.key in given and given[s.key].role
            else None,
            "for_user": given[s.key].for_user if s.key in given else None,
        }
        for n, stage in enumerate(walk.stages)
        for s in stage
    ]
    decision = final.decision
    return {
        "state": walk.state,
        "rows": rows,
        "deadline": walk.deadline,
        "expires": review.request.expiration_date if review.request else None,
        "decision": None
        if decision is None
        else {
            "kind": _DECIDED.get(decision.kind, Markdown("Decided")),
            "user": decision.user,
            "at": decision.at,
        },
        "milestones": [
            (Markdown(name.replace("_", " ").capitalize()), at)
            for name, at in sorted(final.milestones.items(), key=lambda m: (m[1], m[0]))
            if name.isidentifier()  # the bot's own names; a record is read, not trusted
        ],
        "waiting": waiting_for(review, walk) if walk.current and walk.state in ROUTING else [],
        "escalations": ciso_review.status_lines(final),
        "risk": risk_status(review, final),
    }


def facts(review: Review, walk: Walk, final: record.Record) -> RequestFacts:
    """The request as the weekly report tells it."""
    issue, config, request = review.issue, review.config, review.request
    registered = walk.state in REGISTERED
    return RequestFacts(
        reference=f"{issue.project}#{issue.iid}",
        # The report issue is not confidential: a confidential request is named by its id.
        title=shown_title(
            final.terms.title if final.terms else issue.title,
            exception_id_of(issue, config),
            issue.confidential,
            config,
        ),
        web_url=issue.web_url,
        state=walk.state,
        stage=stage_label(review, walk),
        risk=request.risk_level if request else None,
        stage_started_at=final.stage_started_at,
        deadline=walk.deadline,
        breached=walk.breached,
        expires=request.expiration_date if request else None,
        in_force_since=charts.started(
            final.milestones.get("approved"), final.milestones.get("activated")
        ),
        exception_id=exception_id_of(issue, config) if registered else None,
        renewal_of=final.renewal_of,
        renewal_number=final.renewal_number,
        incidents=incidents(issue),
        **metric_facts(review, final),
        covered_projects=request.covers.projects if request else (),
        covered_findings=request.covers.findings if request else (),
    )
