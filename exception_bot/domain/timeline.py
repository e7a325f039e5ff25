"""A request's history as the bot's own label events tell it: which state it was put in when,
and how long each approval stage lasted. The monthly metrics (:mod:`~exception_bot.domain.
metrics`) are made of these.

Only the bot's events count: people add and remove labels too (the template's quick action
adds the first state label, anyone may take a stage label off), but the bot's changes of the
state and stage labels are what it decided, dated by GitLab (resource label events API). A
stage lasts from the bot's addition of its label to the bot's removal of it; a label someone
else took off and the bot put back is the same stage going on (as slas.stage_started counts
it).
"""

from __future__ import annotations

from datetime import datetime

from exception_bot.domain.labels import LabelScheme
from exception_bot.domain.model import IssueSnapshot, LabelAction, State

# (state, when the bot set it), oldest first
StateHistory = tuple[tuple[State, datetime], ...]
# (stage label's roles, began, ended or None while it lasts), by beginning
StageHistory = tuple[tuple[str, datetime, datetime | None], ...]


def state_history(issue: IssueSnapshot, labels: LabelScheme, bot_id: int) -> StateHistory:
    """Each state the bot put the request in, with when."""
    names = {labels.state(state): state for state in State}
    return tuple(
        (names[e.label], e.created_at)
        for e in issue.label_events
        if e.user.id == bot_id and e.action is LabelAction.ADD and e.label in names
    )


def stage_history(issue: IssueSnapshot, labels: LabelScheme, bot_id: int) -> StageHistory:
    """Each approval stage the bot opened, with when it began and ended."""
    prefix = labels.stage_prefix
    began: dict[str, datetime] = {}
    done: list[tuple[str, datetime, datetime | None]] = []
    for e in issue.label_events:
        if e.user.id != bot_id or not e.label.startswith(prefix):
            continue
        stage = e.label[len(prefix) :]
        if e.action is LabelAction.ADD:
            began.setdefault(stage, e.created_at)
        elif stage in began:
            done.append((stage, began.pop(stage), e.created_at))
    done += [(stage, at, None) for stage, at in began.items()]
    return tuple(sorted(done, key=lambda s: (s[1], s[0])))


def state_at(history: StateHistory, moment: datetime) -> State | None:
    """The state the bot had set by ``moment``; None before its first."""
    found = None
    for state, at in history:
        if at > moment:
            break
        found = state
    return found


def first_decision(history: StateHistory) -> tuple[State, datetime] | None:
    """The request's first decision, approval or rejection, and when the bot recorded it."""
    return next(
        ((state, at) for state, at in history if state in (State.APPROVED, State.REJECTED)),
        None,
    )
