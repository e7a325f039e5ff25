"""The register entry (docs/explanation/after-approval.md):
written in the register project whenever the state or a date changes, with the trailers that
say who caused the change and when; a confidential request's entry holds no free text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from exception_bot.domain import record
from exception_bot.domain.actions import WriteRegister
from exception_bot.domain.approvals import approval_names, newest_toggles, slot_title
from exception_bot.domain.model import ActionLabel, ExceptionRequest, IssueSnapshot, State
from exception_bot.domain.provenance import content_hash
from exception_bot.domain.register import (
    ApprovalEntry,
    EscalationEntry,
    RegisterEntry,
    RejectionEntry,
    RiskAssessmentEntry,
    Trail,
    commit_message,
    entry_path,
    exception_id_of,
    index_row,
    redacts,
    render_entry,
    sections_for,
    shown_title,
)
from exception_bot.domain.review.ciso_review import ACCEPTED
from exception_bot.domain.review.context import Context
from exception_bot.domain.review.states import ARCHIVED, REGISTERED
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.validation import item_key

ACTIVATION = ("Activation", "Compensating controls implemented")
VERIFICATION = ("Verification", "Fix verified")
INCIDENT = "incident"  # the issue type, or a label of that name, marks an incident


def register(review: Review, walk: Walk, request: ExceptionRequest) -> Walk:
    """The entry written again when its state or a date changed since the bot last wrote it."""
    if walk.state not in REGISTERED:
        return walk
    issue, ctx, rec, state = review.issue, review.ctx, walk.rec, walk.state
    entry = register_entry(issue, ctx, request, rec, state)
    path = entry_path(ctx.config, entry, archived=state in ARCHIVED)
    # Rewritten when the state or a date changes, not on every edit of the request text
    # after approval: the register keeps the text as of the last state change.
    facts = f"{path}\n{entry.status}\n{sorted(rec.milestones.items())}\n{entry.incidents}"
    if entry.ciso_escalations:  # only then: the digests of the others stay as they were
        facts += f"\n{entry.ciso_escalations}"
    digest = hashlib.sha256(facts.encode()).hexdigest()[:16]
    # A record without the file it vouches for (a bot before it kept one) writes it again:
    # the commit is empty when the branch holds that text already.
    if rec.registered == digest and rec.written is not None:
        return walk
    # Where the entry may stand now: in the register's folder, under its title or, for a
    # confidential request, without it (the issue made confidential, or a bot before this
    # one that wrote the title).
    titled = register_entry(replace(issue, confidential=False), ctx, request, rec, state)
    earlier = {entry_path(ctx.config, entry), entry_path(ctx.config, titled)} - {path}
    trail = _trail(review, walk)
    content = render_entry(entry)  # YAML is slow to write: only for an entry that changed
    # What the register file holds once the commit lands: the status note, written after
    # it, vouches for this file and no other version of it (domain/provenance.py).
    written = record.Written(path, content_hash(content))
    action = WriteRegister(
        walk.plan.ref,
        path,
        content,
        tuple(index_row(entry, path).items()),
        tuple(sorted(earlier)),
        commit_message(entry, trail),
    )
    rec = replace(rec, registered=digest, written=written)
    return replace(walk, rec=rec, plan=walk.plan.registering(action))


def _trail(review: Review, walk: Walk) -> Trail:
    """The event a register commit records, and whose action caused it, when: the last
    approval, the confirmation tick, the revocation; the bot for what time or a renewal's
    approval did. A rewrite in the same state (a linked incident) is an update."""
    bot = review.ctx.bot.username
    changed = review.issue.last_change_by_others(review.ctx.bot.id)
    rec, state = walk.rec, walk.state
    if rec.state == state.value:
        return Trail("updated", bot, changed)
    toggles = newest_toggles(review.issue.notes)
    confirmation = {State.ACTIVE: ACTIVATION[1], State.CLOSED: VERIFICATION[1]}
    if state is State.APPROVED and rec.approvals:
        last = max(rec.approvals, key=_at)
        return Trail(state.value, last.user, last.at)
    waived = next((e for e in rec.ciso_escalations if e.outcome == ACCEPTED), None)
    if state is State.ACTIVE and waived and waived.decided_by and waived.decided_at:
        return Trail(state.value, waived.decided_by, waived.decided_at)
    if state in confirmation:
        toggle = toggles.get(item_key(confirmation[state]))
        if toggle is not None and toggle.completed:
            return Trail(state.value, toggle.note.author.username, toggle.note.created_at)
    if state is State.REVOKED and rec.decision is not None:
        return Trail(state.value, rec.decision.user, rec.decision.at)
    milestone = {State.EXPIRED: "expired", State.RENEWED: "renewed"}.get(state, "")
    return Trail(state.value, bot, rec.milestones.get(milestone, changed))


def register_entry(
    issue: IssueSnapshot,
    ctx: Context,
    request: ExceptionRequest,
    rec: record.Record,
    state: State,
) -> RegisterEntry:
    config = ctx.config
    ident = exception_id_of(issue, config)
    milestones = rec.milestones
    return RegisterEntry(
        id=ident,
        # The approved title: a rename after approval neither retitles nor moves the entry.
        title=shown_title(
            rec.terms.title if rec.terms else issue.title, ident, issue.confidential, config
        ),
        status=state.value,
        risk_level=request.risk_level.value,
        department=request.department,
        policy=request.policy,
        environment=request.environment,
        requester=issue.author.username,
        source=issue.web_url,
        requested_at=issue.created_at,
        expires_at=request.expiration_date,
        approvals=_approvals(ctx, rec.approvals),
        approved_at=milestones.get("approved"),
        activated_at=milestones.get("activated"),
        closed_at=(
            milestones.get("closed") or milestones.get("revoked") or milestones.get("renewed")
        ),
        appealed_at=milestones.get("appealed"),
        appeal_granted_at=milestones.get("appeal_granted"),
        rejections=_rejections(ctx, rec),
        renewal_of=rec.renewal_of,
        renewal_number=rec.renewal_number,
        incidents=incidents(issue),
        revoked_by=rec.decision.user
        if rec.decision and rec.decision.kind == ActionLabel.REVOKE.value
        else None,
        confidential=issue.confidential,
        redacted=redacts(issue.confidential, config),
        approved_hash=rec.terms.hash if rec.terms else None,
        kind=request.kind.value if request.kind else None,
        covers=request.covers,
        sections=sections_for(request, issue.confidential, config),
        ciso_escalations=tuple(
            EscalationEntry(e.reason, e.by, e.at, e.outcome, e.decided_by, e.decided_at)
            for e in rec.ciso_escalations
        ),
        risk_assessment=risk_entry(request, rec),
    )


def risk_entry(request: ExceptionRequest, rec: record.Record) -> RiskAssessmentEntry | None:
    """The assessment that set ``request``'s level, when it differs from the written one (the
    approved terms hold what was written)."""
    assessed = rec.risk.assessed if rec.risk else None
    written = rec.terms.request.risk_level if rec.terms else None
    if assessed is None or written is None or written is request.risk_level:
        return None
    return RiskAssessmentEntry(written.value, assessed.by, assessed.at, assessed.confirmed_by)


def incidents(issue: IssueSnapshot) -> tuple[str, ...]:
    """Linked issues that are incidents: the incident issue type, or an ``incident`` label."""
    return tuple(
        sorted(
            link.reference
            for link in issue.links
            if link.issue_type == INCIDENT or INCIDENT in {x.lower() for x in link.labels}
        )
    )


def _approvals(
    ctx: Context, approvals: Iterable[record.ApprovalRecord]
) -> tuple[ApprovalEntry, ...]:
    return tuple(
        ApprovalEntry(*approval_names(ctx.config, a), a.at) for a in sorted(approvals, key=_at)
    )


def _rejections(ctx: Context, rec: record.Record) -> tuple[RejectionEntry, ...]:
    """The rejection an appeal set aside; for an appeal recorded before the bot kept the
    rejection, only its time is known."""
    rejection = rec.rejection
    if rejection is None:
        at = rec.milestones.get("rejected")
        return () if at is None else (RejectionEntry(None, at, None),)
    stage = " + ".join(slot_title(ctx.config, key) for key in rejection.stage.split("+") if key)
    return (RejectionEntry(rejection.user, rejection.at, stage or None),)


def _at(approval: record.ApprovalRecord) -> datetime:
    return approval.at
