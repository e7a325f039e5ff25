"""Review SLAs (docs/explanation/review-slas.md): each stage has a deadline from when it started
(clock hours for Critical, business days on the configured calendar otherwise); a breach gets
one reminder mentioning the stage's approvers and the breach label, then one reminder per
further business day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from exception_bot.domain.calendar import add_business_days, reminders_due, sla_deadline
from exception_bot.domain.escape import url
from exception_bot.domain.model import LabelAction, State
from exception_bot.domain.review.routing import stage_label, waiting_for
from exception_bot.domain.review.walk import Review, Walk


def watch_sla(review: Review, walk: Walk) -> Walk:
    """The stage's deadline; one reminder when it passes, then one per business day."""
    stage = stage_label(review, walk)
    started = stage_started(review, walk, stage)
    deadline = _deadline(review, walk, started)
    if deadline is None:
        return walk
    walk = replace(walk, deadline=deadline)
    now, calendar = review.ctx.now, review.config.calendar
    if now < deadline:
        return walk.wake_at(deadline)
    late = reminders_due(deadline, now, calendar)
    walk = replace(walk, breached=True).wake_at(add_business_days(deadline, late + 1, calendar))
    return walk.post_once(
        "sla",
        f"{stage}:{started.isoformat() if started else ''}:{late}",
        "sla.md.j2",
        approvers=waiting_for(review, walk),
        deadline=deadline,
        late=late,
        issue_url=url(review.issue.web_url),
    )


def _deadline(review: Review, walk: Walk, started: datetime | None) -> datetime | None:
    if started is None or review.request is None or walk.current is None:
        return None
    key = {State.ESCALATED: "escalation", State.APPEAL: "appeal"}.get(
        walk.state, review.request.risk_level.value
    )
    return sla_deadline(started, review.config.review_sla[key], review.config.calendar)


def stage_started(review: Review, walk: Walk, stage: str | None) -> datetime | None:
    """When the current stage began, the same on every run: the bot's record, which the run
    that began the stage wrote before it added the stage's label; without it (a deleted
    status note), the bot's addition of the label (GitLab's own record); for a stage that
    begins in this run, the last change a person made, which began it (a tick, an edit, a
    label), never the moment of the run: the label it adds next is dated a little later,
    and a stage that moved by that much would rewrite the status note on the next run."""
    if stage is None:
        return None
    issue = review.issue
    since = _stage_label_since(review, stage) if stage in issue.labels else None
    kept = walk.rec.stage_started_at if stage == walk.rec.stage else None
    if kept is not None and (since is None or kept <= since):
        return kept
    return since or issue.last_change_by_others(review.ctx.bot.id)


def _stage_label_since(review: Review, stage: str) -> datetime | None:
    """The bot's first addition of ``stage`` since it last took that label off or added
    another stage's. A later addition puts back a label someone else removed, which does
    not start the stage again (nor its SLA): on GitLab Premium adding any stage label
    removes the current one (ee/app/services/ee/issuable/callbacks/labels.rb)."""
    started = None
    prefix, bot = review.labels.stage_prefix, review.ctx.bot.id
    for event in review.issue.label_events:
        if event.user.id != bot or not event.label.startswith(prefix):
            continue
        if event.label == stage and event.action is LabelAction.ADD:
            started = started or event.created_at
        elif event.label == stage or event.action is LabelAction.ADD:
            started = None  # the stage ended, or another one began
    return started
