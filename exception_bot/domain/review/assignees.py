"""Whose turn it is (docs/explanation/routing.md): at each stage the bot mentions the
stage's approvers once and assigns them; a role given by a group is assigned to the group's
own members. When the stage is done, its approvers are unassigned; anyone else assigned stays.
"""

from __future__ import annotations

from dataclasses import replace

from exception_bot.domain.actions import AssignUsers, UnassignUsers
from exception_bot.domain.approvals import Slot
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.model import ExceptionRequest, State
from exception_bot.domain.review.appeals import legal_opinion_url
from exception_bot.domain.review.asking import MAX_GROUP_ASSIGNEES, Asking, whom_to_ask
from exception_bot.domain.review.routing import (
    past_max_renewals,
    role_mentions,
    stage_label,
    waiting_for,
)
from exception_bot.domain.review.states import ROUTING
from exception_bot.domain.review.walk import Review, Walk


def notify(review: Review, walk: Walk, request: ExceptionRequest, digest: str) -> Walk:
    """The stage's turn comment and assignees, once per stage and request text; the approval
    comment; the approvers of a stage that is over taken off the issue."""
    current = walk.current
    if walk.state in ROUTING and current is not None:
        stage = stage_label(review, walk) or ""
        rec = walk.rec
        # whom to ask, only for a stage not assigned yet: it may read GitLab statuses
        asking = None if rec.stage == stage else whom_to_ask(review, walk, request, current)
        walk = walk.post_once(
            "turn",
            f"{stage}:{digest}",
            "turn.md.j2",
            approvers=waiting_for(review, walk),
            issue_url=url(review.issue.web_url),
            escalation=walk.state is State.ESCALATED,
            appeal=walk.state is State.APPEAL,
            renewal_number=rec.renewal_number if past_max_renewals(review, rec) else None,
            max_renewals=review.config.limits.max_renewals,
            opinion_first=bool(walk.stages) and current is walk.stages[0],
            opinion_url=legal_opinion_url(review, walk),
            away=asking.away if asking else (),
        )
        walk = _falls(review, walk, current)
        return walk if asking is None else _assign(walk, asking)
    if walk.state is State.APPROVED:
        walk = walk.post_once("approved", "", "approved.md.j2", requester=review.requester)
    return walk if walk.rec.stage is None else _unassign(review, walk)


def _falls(review: Review, walk: Walk, stage: tuple[Slot, ...]) -> Walk:
    """One comment for each slot of the stage no holder of its role may approve: to whom it
    fell, or that it fell to no one (docs/explanation/approvals.md, "Fallbacks")."""
    keys = {slot.key for slot in stage}
    for fall in walk.falls:
        if fall.slot.key not in keys:
            continue
        to_role = fall.to_role
        walk = walk.post_once(
            "fallback",
            f"{fall.slot.key}:{to_role or '-'}",
            "fallback.md.j2",
            role=review.title(fall.slot.role),
            to_role=review.title(to_role) if to_role else None,
            config_key=f"roles.{fall.slot.role}.fallback",
            holders=sorted(fall.holders)[:MAX_GROUP_ASSIGNEES],
            mentions=role_mentions(review, to_role) if to_role else "",
            item=Markdown(fall.slot.item),
        )
    return walk


def _assign(walk: Walk, asking: Asking) -> Walk:
    """Assign whom the stage asks (see :func:`whom_to_ask`). GitLab Free keeps one
    assignee: the first one listed."""
    if not asking.users:
        return walk
    action = AssignUsers(walk.plan.ref, asking.users)
    return replace(walk, plan=walk.plan.assigning(action))


def _unassign(review: Review, walk: Walk) -> Walk:
    """The stage the last run assigned is over (approved, rejected, changes requested):
    take its approvers off the issue. Anyone else assigned stays."""
    assignees = review.issue.assignees
    deputies = frozenset(d.to_user for d in review.config.delegations)
    approvers = frozenset().union(*walk.holders.values()) | deputies
    done = tuple(a for a in assignees if a.lower() in approvers)
    if not done:
        return walk
    keep = tuple(a for a in assignees if a.lower() not in approvers)
    return replace(walk, plan=walk.plan.assigning(UnassignUsers(walk.plan.ref, done, keep)))
