"""One request issue -> the actions that bring it where the rules say it should be.

``decide`` compares the desired state (from the description, GitLab's notes and label events,
and the bot's record) with what the issue shows, and returns only the difference, so a second
run over an unchanged issue returns nothing. It is part of the pure core: it reads no clock,
no file and asks GitLab nothing. What it knows comes in as values (the snapshot, the
:class:`Context`), and what it wants done goes out as actions
(:mod:`exception_bot.domain.actions`). The text of its comments comes from the renderer the
context carries (:mod:`exception_bot.domain.rendering`): the shell's ``render.py`` fills the
package's templates, which is reading files.

Each rule of docs/explanation/how-run-decides.md is one module of this package, a step that
takes the review so far (:class:`~exception_bot.domain.review.walk.Walk`) and returns the
next; :mod:`~exception_bot.domain.review.pipeline` says in which order they run.

Order of the actions matters for crash safety (see :meth:`Plan.actions`): explanations are
posted before the box they explain is unticked (a rerun then unticks without re-posting), and
the status note carrying the bot's record is written before the labels that consume an action
label. A new stage's assignees come before the status note that records the stage: the record
is what tells a rerun the stage was assigned already.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from exception_bot.domain import markers, record
from exception_bot.domain.actions import Action, IssueRef
from exception_bot.domain.model import IssueSnapshot, Problem, State
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.review import pipeline
from exception_bot.domain.review.context import Context
from exception_bot.domain.review.issue_labels import label_delta, label_names
from exception_bot.domain.review.plan import Plan
from exception_bot.domain.review.problems import problems_note
from exception_bot.domain.review.request import intake
from exception_bot.domain.review.risk_assessment import assess_risk
from exception_bot.domain.review.routing import stage_label
from exception_bot.domain.review.status import facts, final_record, record_text, status_context
from exception_bot.domain.review.walk import Review, Walk

__all__ = ["Context", "Outcome", "decide"]


@dataclass(frozen=True)
class Outcome:
    """What ``decide`` concluded about one issue, and the actions to get there."""

    issue: IssueRef
    state: State
    stage: str | None
    actions: tuple[Action, ...]
    problems: tuple[Problem, ...] = ()
    facts: RequestFacts | None = None  # for the weekly report
    next_check: datetime | None = None  # look again by then even if the issue is unchanged


def decide(issue: IssueSnapshot, ctx: Context, original: IssueSnapshot | None = None) -> Outcome:
    """Everything the bot should do to one request issue now.

    ``original`` is the issue a renewal renews, when its *Renews* field names one that exists.
    """
    ref = IssueRef(issue.project, issue.iid)
    said = markers.bot_notes(issue.notes, ctx.bot.id)
    status = said.status
    recorded = record.decode(status.body) if status else None
    plan = Plan(ref, said, {"labels": label_names(ctx.config)}, ctx.renderer)
    found = intake(issue, ctx, recorded or record.Record(), plan, original)
    review = replace(Review.of(issue, ctx, found.request, found.flags), original=original)
    state = State(found.rec.state) if found.rec.state else State.SUBMITTED
    # The security team's risk level first: the route and everything after go by it.
    review, walk = assess_risk(review, Walk(state, found.rec, found.plan))
    walk = pipeline.run(review, walk)
    # The bot saves the description to tick, untick or add a checklist: never while it
    # holds a line GitLab would run with the bot's rights, whatever step asked for it.
    plan = walk.plan.without_saves() if found.unsafe else walk.plan
    plan = problems_note(plan, found.problems, walk.state)
    labels = label_delta(review, walk, found.changed)
    final = final_record(review, walk)
    plan = plan.upsert(
        status.id if status else None,
        status.body if status else None,
        markers.STATUS,
        "status.md.j2",
        **status_context(review, walk, final),
        record=record_text(final, recorded, status.body if status else ""),
    )
    return Outcome(
        ref,
        walk.state,
        stage_label(review, walk),
        plan.actions(labels),
        found.problems,
        facts(review, walk, final),
        min((moment for moment in plan.wake if moment > ctx.now), default=None),
    )
