"""Whose turn it is (docs/explanation/routing.md): at each stage the bot mentions the
stage's approvers once and assigns them; a role given by a group is assigned to the group's
own members. When the stage is done, its approvers are unassigned; anyone else assigned stays.
"""

from __future__ import annotations

from dataclasses import replace

from exception_bot.domain.actions import AssignUsers, UnassignUsers
from exception_bot.domain.approvals import Slot
from exception_bot.domain.escape import url
from exception_bot.domain.model import ExceptionRequest, State
from exception_bot.domain.people import named_users
from exception_bot.domain.review.appeals import legal_opinion_url
from exception_bot.domain.review.routing import past_max_renewals, stage_label, waiting_for
from exception_bot.domain.review.states import ROUTING
from exception_bot.domain.review.walk import Review, Walk

MAX_GROUP_ASSIGNEES = 5


def notify(review: Review, walk: Walk, request: ExceptionRequest, digest: str) -> Walk:
    """The stage's turn comment and assignees, once per stage and request text; the approval
    comment; the approvers of a stage that is over taken off the issue."""
    current = walk.current
    if walk.state in ROUTING and current is not None:
        stage = stage_label(review, walk) or ""
        rec = walk.rec
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
        )
        return walk if rec.stage == stage else _assign(review, walk, request, current)
    if walk.state is State.APPROVED:
        walk = walk.post_once("approved", "", "approved.md.j2", requester=review.requester)
    return walk if walk.rec.stage is None else _unassign(review, walk)


def _assign(review: Review, walk: Walk, request: ExceptionRequest, stage: tuple[Slot, ...]) -> Walk:
    """Assign the stage's named approvers; for a stage of group roles only, the groups'
    members (a few at most). GitLab Free keeps one assignee: the first one listed."""
    users = [u for slot in stage for u in named_users(review.config, slot.role, request)]
    if not users:
        members = {member for slot in stage for member in _askable(review, walk, slot)}
        users = sorted(members)[:MAX_GROUP_ASSIGNEES]
    if not users:
        return walk
    action = AssignUsers(walk.plan.ref, tuple(dict.fromkeys(users)))
    return replace(walk, plan=walk.plan.assigning(action))


def _askable(review: Review, walk: Walk, slot: Slot) -> frozenset[str]:
    """Whom to assign a slot of a group role: the members of the group itself, when any
    holds the role; else everyone who does (members/all). A parent group's members hold
    the role too, as in GitLab, but the head of sales, Owner of the top-level group, is
    not whom a Security Compliance review is for."""
    held = walk.holders.get(slot.key, frozenset()) - review.requesters
    group = review.config.roles[slot.role].group
    own = review.ctx.directory.direct(group) & held if group else frozenset()
    return own or held


def _unassign(review: Review, walk: Walk) -> Walk:
    """The stage the last run assigned is over (approved, rejected, changes requested):
    take its approvers off the issue. Anyone else assigned stays."""
    assignees = review.issue.assignees
    approvers = frozenset().union(*walk.holders.values())
    done = tuple(a for a in assignees if a.lower() in approvers)
    if not done:
        return walk
    keep = tuple(a for a in assignees if a.lower() not in approvers)
    return replace(walk, plan=walk.plan.assigning(UnassignUsers(walk.plan.ref, done, keep)))
