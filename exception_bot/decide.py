"""One request issue -> the actions that bring it where the rules say it should be.

``decide`` compares the desired state (from the description, GitLab's notes and label events,
and the bot's record) with what the issue shows, and returns only the difference, so a second
run over an unchanged issue returns nothing. It reads no clock and does no I/O.

Order of the actions matters for crash safety: explanations are posted before the box they
explain is unticked (a rerun then unticks without re-posting), and the status note carrying the
bot's record is written before the labels that consume an action label. A new stage's
assignees come before the status note that records the stage: the record is what tells a
rerun the stage was assigned already.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from exception_bot.actions import (
    Action,
    AppendChecklist,
    AssignUsers,
    CloseIssue,
    IssueRef,
    LinkIssues,
    SetCheckbox,
    SetLabels,
    UnassignUsers,
)
from exception_bot.domain import charts, markers, record, renewals
from exception_bot.domain.approvals import (
    APPEAL_PREFIX,
    Approval,
    ApprovalState,
    Slot,
    TickContext,
    appeal_route,
    evaluate,
    fields_hash,
    last_description_change,
    note_due,
    route,
    slot_title,
)
from exception_bot.domain.calendar import (
    add_business_days,
    day_start,
    reminders_due,
    sla_deadline,
)
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.fields import normalise_heading, parse_body
from exception_bot.domain.labels import scope
from exception_bot.domain.model import (
    ActionLabel,
    ExceptionRequest,
    Flag,
    IssueSnapshot,
    LabelAction,
    LabelEvent,
    Problem,
    RenewalRef,
    RiskLevel,
    State,
)
from exception_bot.domain.people import holders, mentions, named_users, requesters
from exception_bot.domain.register import exception_id_of, shown_title
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.settings import Config
from exception_bot.domain.terms import Terms, terms_of
from exception_bot.domain.text import command_lines
from exception_bot.domain.validation import APPROVALS_HEADING, FIELD_BY_KEY, validate
from exception_bot.lifecycle import (
    AFTERCARE,
    REGISTERED,
    Aftercare,
    incidents,
    renewal_url,
)
from exception_bot.plan import Context, Plan

# Once the bot has put a request in one of these states, routing no longer moves it.
SETTLED = frozenset({State.REJECTED, *AFTERCARE, State.CLOSED, State.REVOKED, State.RENEWED})
REVOCABLE = AFTERCARE
# Requests that are over: their issue is closed.
ENDED = frozenset({State.REVOKED, State.RENEWED, State.CLOSED})
MAX_GROUP_ASSIGNEES = 5
# States in which a stage of approvers is being waited for.
ROUTING = frozenset({State.IN_REVIEW, State.ESCALATED, State.APPEAL})
APPEAL_HEADING = "Appeal"
# How the status note names a recorded decision.
_DECIDED = {
    ActionLabel.REJECT.value: Markdown("Rejected"),
    ActionLabel.REQUEST_CHANGES.value: Markdown("Changes requested"),
    ActionLabel.REVOKE.value: Markdown("Revoked"),
}
# The template's own labels, applied by the requester's quick action when the issue is opened.
CREATION_GRACE = timedelta(minutes=1)


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
    recorded = record.decode(said.status.body) if said.status else None
    rec = recorded or record.Record()
    plan = Plan(ref, said, {"labels": _label_names(ctx.config)})
    # "Expires after today" is a rule for deciding a request, not for watching an approved one.
    settled = rec.state is not None and State(rec.state) in SETTLED
    validation = validate(
        parse_body(issue.description),
        ctx.config,
        created_at=issue.created_at,
        now=issue.created_at if settled else ctx.now,
    )
    request = validation.request
    if request is not None and not settled:
        # It passed "expires after today" now: that stops holding when its expiry day begins.
        plan.wake.append(day_start(request.expiration_date, ctx.config.calendar))
    unsafe = _command_problems(issue.description)
    problems = (*validation.problems, *unsafe)
    if problems:
        request = None
    if request is not None and request.renews is not None and not settled:
        rec, renewal_problems = _check_renewal(issue, ctx, rec, original)
        if renewal_problems:
            request, problems = None, (*problems, *renewal_problems)
    approved = rec.terms if settled else None
    changed: bool | None = None
    if approved is not None:
        # From final approval on, the exception is what was approved (domain/terms.py): the
        # description as it is now only decides whether to say that the terms stand.
        changed = _changed_after_approval(plan, issue, ctx, approved, request)
        request, problems = approved.request, ()
    walk = _Walk(issue, ctx, rec, plan, request, validation.flags)
    walk.run()
    if unsafe:
        # The bot saves the description to tick, untick or add a checklist: never while it
        # holds a line GitLab would run with the bot's rights, whatever step asked for it.
        plan.unticks.clear()
        plan.edits[:] = [a for a in plan.edits if not isinstance(a, AppendChecklist)]
    _problems_note(plan, problems, walk.state)
    labels = _label_delta(issue, ctx, walk, changed)
    rec = walk.final_record()
    plan.upsert(
        said.status.id if said.status else None,
        said.status.body if said.status else None,
        markers.STATUS,
        "status.md.j2",
        **walk.status_context(rec),
        record=_record_text(rec, recorded, said.status.body if said.status else ""),
    )
    closing = [a for a in plan.edits if isinstance(a, CloseIssue)]
    edits = [a for a in plan.edits if not isinstance(a, CloseIssue)]
    actions: list[Action] = [*plan.register, *plan.assign, *plan.notes, *plan.unticks, *edits]
    if labels.add or labels.remove:
        actions.append(labels)
    actions += closing  # last: a closed issue is no longer listed, so nothing may follow it
    wake = [moment for moment in plan.wake if moment > ctx.now]
    return Outcome(
        ref,
        walk.state,
        walk.stage_label,
        tuple(actions),
        problems,
        walk.facts(rec),
        min(wake, default=None),
    )


def _record_text(rec: record.Record, recorded: record.Record | None, status_body: str) -> str:
    """The record as the status note will hold it: an unchanged record keeps the text it was
    read from (even one an older version wrote), so it is not encoded again on every run."""
    if rec == recorded:
        kept = record.comment(status_body)
        if kept is not None:
            return Markdown(kept)
    return Markdown(record.encode(rec))


def _changed_after_approval(
    plan: Plan,
    issue: IssueSnapshot,
    ctx: Context,
    approved: Terms,
    current: ExceptionRequest | None,
) -> bool:
    """Whether the request says something else today than what was approved; the first time
    it does, one comment says the approved terms stand and how to change them (a renewal)."""
    if approved.matches(current, issue.title):
        return False
    fields = [] if current is None else _changed_fields(approved, current, issue.title)
    plan.post_once(
        "changed",
        approved.hash,
        "changed.md.j2",
        fields=fields,
        expires=approved.request.expiration_date,
        alert=Markdown(ctx.config.labels.changed_after_approval),
        requester=issue.author.username,
        renewal_url=url(renewal_url(issue, ctx.config)),
    )
    return True


def _changed_fields(approved: Terms, current: ExceptionRequest, title: str) -> list[Markdown]:
    """The headings of the fields that differ from the approved ones, the title first."""
    names = [f.name for f in fields(ExceptionRequest)]
    changed = [n for n in names if getattr(current, n) != getattr(approved.request, n)]
    headings = [FIELD_BY_KEY[n].heading if n in FIELD_BY_KEY else n for n in changed]
    return [Markdown(h) for h in (["Title"] if title != approved.title else []) + headings]


def _command_problems(description: str) -> tuple[Problem, ...]:
    """Lines of a stored description that GitLab would run as quick actions.

    GitLab runs and removes them when a person saves the description, so a stored one is
    hostile or was not GitLab's to run; either way the bot must not save the description
    (ticking or unticking a box) while it holds one, or GitLab would run it with the bot's rights.
    """
    found = command_lines(description)
    if not found:
        return ()
    where = ", ".join(f"line {number} (`/{command}`)" for number, command in found[:5])
    return (
        Problem(
            "description",
            f"The description has lines GitLab runs as commands: {where}.",
            "Remove those lines, or put them in a code block (``` above and below) if they "
            "are part of the request.",
        ),
    )


def _check_renewal(
    issue: IssueSnapshot, ctx: Context, rec: record.Record, original: IssueSnapshot | None
) -> tuple[record.Record, tuple[Problem, ...]]:
    """A renewal names an approved, active or expired exception; it takes the next number."""
    projects = ", ".join(p.path for p in ctx.config.gitlab.requests_projects)
    if original is None:
        return rec, (
            Problem(
                "renews",
                f"*Renews* does not name an exception request of {projects} that I can read.",
                "Write #123, the original issue's full URL, or its register id such as EXC-0042.",
            ),
        )
    found = renewals.original(original, ctx.config, ctx.bot.id)
    if found.state not in renewals.RENEWABLE:
        state = found.state.value if found.state else "not decided yet"
        return rec, (
            Problem(
                "renews",
                f"{found.exception_id} is {state}: only an approved, active or expired "
                "exception can be renewed.",
                "Name the exception this renewal extends, or open a new request instead.",
            ),
        )
    return replace(rec, renewal_of=found.exception_id, renewal_number=found.renewal_number + 1), ()


class _Walk:
    """Works out state, stage, approvals and the notes they call for, for one issue."""

    def __init__(
        self,
        issue: IssueSnapshot,
        ctx: Context,
        rec: record.Record,
        plan: Plan,
        request: ExceptionRequest | None,
        flags: tuple[Flag, ...],
    ) -> None:
        self.issue, self.ctx, self.rec, self.plan = issue, ctx, rec, plan
        self.request, self.flags = request, flags
        self.labels = ctx.config.labels
        self.requester = issue.author.username.lower()
        # Who may not approve: the author and whoever *Requester contact* names. The author
        # alone keeps the requester's rights (appeal, escalate): see people.requesters.
        contact = request.requester_contact if request else None
        self.requesters = requesters(issue.author.username, contact)
        self.state = State(rec.state) if rec.state else State.SUBMITTED
        self.stages: tuple[tuple[Slot, ...], ...] = ()
        self.current: tuple[Slot, ...] | None = None
        self.approval_state: ApprovalState | None = None
        self.holders: dict[str, frozenset[str]] = {}
        self.consumed: set[str] = set()
        self.tampered: list[int] = []  # the label events reported
        self.breached = False
        self.hash = fields_hash(request) if request else None
        self._deadlines: dict[tuple[datetime, str], datetime] = {}

    # -- the walk ---------------------------------------------------------------------------

    def run(self) -> None:
        self._report_tampering()
        if self.state is State.REJECTED:
            self._accept_appeal()
        else:
            self._refuse_actions(ActionLabel.APPEAL)
        self._walk()
        if self.state is State.REJECTED:
            self._close_when_final()
        elif self.state in ENDED and self.issue.state != "closed":
            # The request's state, not the run that ended it, says the issue is done: a rerun
            # closes it when that run died before closing it (or a person reopened it).
            self.plan.edits.append(CloseIssue(self.plan.ref))

    def _walk(self) -> None:
        if self.state in SETTLED:
            self._refuse_actions(
                ActionLabel.REJECT, ActionLabel.REQUEST_CHANGES, ActionLabel.ESCALATE
            )
            self._freeze()
            self._accept_revocation()
            if self.state in AFTERCARE:
                self._renewed()
            self._aftercare()
            return
        self._refuse_actions(ActionLabel.REVOKE)
        if self.state is State.NEEDS_INFO and self._appeal_pending:
            # An appeal accepted, or under way, when the text stopped validating: it waited in
            # needs-info and is still the appeal, not the route that rejected the request.
            self.state = State.APPEAL
        if self.state is State.APPEAL:
            self._appeal_checklist()
        if self.request is None:
            self.state = State.NEEDS_INFO
            return
        if self.state is State.APPEAL:
            self._refuse_actions(ActionLabel.ESCALATE, ActionLabel.REQUEST_CHANGES)
        else:
            self._accept_escalation()
        self._link_original()
        self._route()
        self._accept_decisions()
        self.state = self._routing_state()
        self._notify()
        self._aftercare()

    def _aftercare(self) -> None:
        if self.state in REGISTERED and self.request is not None:
            rec = replace(self.rec, approvals=self._records())  # this run's approvals count too
            if rec.terms is None:  # final approval: what was approved is what stands
                rec = replace(rec, terms=terms_of(self.request, self.issue.title))
            after = Aftercare(self.issue, self.ctx, self.request, rec, self.plan, self.state)
            self.state, self.rec = after.run()

    def _route(self) -> None:
        assert self.request is not None  # noqa: S101 - run() checks
        assert self.hash is not None  # noqa: S101 - set with the request
        escalated = (
            Flag.NEEDS_CISO_ESCALATION in self.flags
            or self.rec.escalated_by is not None
            or self._past_max_renewals
        )
        if self.state is State.APPEAL:
            self.stages = appeal_route(self.ctx.config)
        else:
            self.stages = route(self.ctx.config, self.request.risk_level, escalated)
        slots = [slot for stage in self.stages for slot in stage]
        self.holders = {
            s.key: holders(self.ctx.config, s.role, self.request, self.ctx.directory) for s in slots
        }
        tick_ctx = TickContext(
            parse_body(self.issue.description),
            self.issue.notes,
            self.holders,
            self.requesters,
            self.ctx.bot.id,
            self.rec,
            self.hash,
            self.ctx.config.allow_same_person_multiple_roles,
            normalise_heading(self._heading),
            note_due(
                self.issue.created_at,
                self.issue.updated_at,
                self.ctx.config.note_grace,
                self.ctx.now,
            ),
        )
        self.approval_state = evaluate(tick_ctx, slots)
        if self.approval_state.waiting and tick_ctx.note_due is not None:
            # the notes write nothing that moves updated_at: come back when the wait is over
            self.plan.wake.append(tick_ctx.note_due)
        approved = self.approval_state.approvals
        self.current = next(
            (stage for stage in self.stages if any(s.key not in approved for s in stage)), None
        )
        self._undo_rejected_ticks()

    def _last_approval(self) -> datetime:
        """When the last approval counted was given (its checklist note's time)."""
        approved = self.approval_state.approvals if self.approval_state else {}
        return max(
            (a.at for a in approved.values()),
            default=self.issue.last_change_by_others(self.ctx.bot.id),
        )

    @property
    def _appeal_pending(self) -> bool:
        """An appeal was accepted (the rejection set aside) and neither granted nor denied."""
        milestones = self.rec.milestones
        return (
            "appealed" in milestones
            and "appeal_granted" not in milestones
            and self.rec.decision is None
        )

    @property
    def _past_max_renewals(self) -> bool:
        return self.rec.renewal_number > self.ctx.config.limits.max_renewals

    @property
    def _heading(self) -> str:
        return APPEAL_HEADING if self.state is State.APPEAL else APPROVALS_HEADING

    def _records(self) -> tuple[record.ApprovalRecord, ...]:
        """The recorded approvals: the route's, and the appeal's next to them."""
        if self.approval_state is None:
            return self.rec.approvals
        if self.state is not State.APPEAL:
            return self.approval_state.records
        kept = tuple(a for a in self.rec.approvals if not a.slot.startswith(APPEAL_PREFIX))
        return kept + self.approval_state.records

    def _freeze(self) -> None:
        """A settled request keeps the approvals it was decided on; ticks no longer count."""
        if self.request is not None:
            escalated = self.rec.escalated_by is not None or any(
                a.slot.endswith("_escalation") for a in self.rec.approvals
            )
            self.stages = route(self.ctx.config, self.request.risk_level, escalated)
        if "appeal_granted" in self.rec.milestones:  # the decision that counts is the appeal's
            self.stages = appeal_route(self.ctx.config)
        self.approval_state = ApprovalState(
            {a.slot: Approval(a.slot, a.user, a.at, a.note_id) for a in self.rec.approvals},
            (),
            self.rec.approvals,
        )

    def _routing_state(self) -> State:
        decision = self.rec.decision
        if decision is not None and decision.kind == ActionLabel.REJECT.value:
            return State.REJECTED
        if self.state is State.APPEAL:
            if self.current is None:
                self.rec = self.rec.reached("appeal_granted", self._last_approval())
                return State.APPROVED
            return State.APPEAL
        if decision is not None and decision.kind == ActionLabel.REQUEST_CHANGES.value:
            changed = last_description_change(self.issue.notes, self.ctx.bot.id)
            if changed is None or changed <= decision.at:
                return State.NEEDS_INFO
            self.rec = replace(self.rec, decision=None)  # the requester answered: continue
        if self.current is None:
            return State.APPROVED
        if self.stages and self.current is self.stages[0] and self._is_escalation(self.current):
            return State.ESCALATED
        return State.IN_REVIEW

    def _is_escalation(self, stage: tuple[Slot, ...]) -> bool:
        return stage[0].key == f"{self.ctx.config.escalation.ciso_role}_escalation"

    # -- ticks --------------------------------------------------------------------------------

    def _undo_rejected_ticks(self) -> None:
        assert self.approval_state is not None  # noqa: S101 - set by _route
        for tick in self.approval_state.rejected:
            self.plan.post_once(
                "untick",
                f"{tick.slot.key}:{tick.note_id or 0}",
                "untick.md.j2",
                problem=tick.problem.value,
                item=Markdown(tick.slot.item),
                user=tick.user,
                role=self._title(tick.slot.role),
                other=self._slot_title(tick.other_slot),
                requester=self.requester,
            )
            self.plan.unticks.append(
                SetCheckbox(self.plan.ref, self._heading, tick.slot.item, checked=False)
            )

    # -- action labels ------------------------------------------------------------------------

    def _action_event(self, action: ActionLabel) -> LabelEvent | None:
        """The oldest addition of an action label by a person that the bot has not dealt with.

        A decision is the label *event*, not the label's presence: one that someone else
        removed before the run still counts (``_report_tampering`` reports the removal), one
        its own adder removed was withdrawn. The bot deals with an event by removing the label
        (its removal then marks every earlier addition done) or, when the label is gone
        already, by keeping the event's id in its record.
        """
        name = self.labels.action(action)
        if name in self.consumed:  # dealt with earlier in this run
            return None
        events = [e for e in self.issue.label_events if e.label == name]
        decided = self.rec.decision.event_id if self.rec.decision else None
        for n, event in enumerate(events):
            if event.id == decided:
                # Acted on by a run that stopped before removing the label: remove it now.
                self.consumed.add(name)
                continue
            if (
                event.action is not LabelAction.ADD
                or event.user.id == self.ctx.bot.id
                or event.id in self.rec.handled
            ):
                continue
            undone = next((e for e in events[n + 1 :] if e.action is LabelAction.REMOVE), None)
            if undone is None or undone.user.id not in (self.ctx.bot.id, event.user.id):
                return event
        return None

    def _dealt_with(self, event: LabelEvent) -> None:
        """The bot has answered ``event``: remove its label, or remember the event if the label
        is gone (the record is written before the labels, so a rerun after a crash answers
        again, and the answer's marker keeps it from being posted twice)."""
        self.consumed.add(event.label)
        if event.label not in self.issue.labels and event.id not in self.rec.handled:
            self.rec = replace(self.rec, handled=(*self.rec.handled, event.id))

    def _accept_escalation(self) -> None:
        event = self._action_event(ActionLabel.ESCALATE)
        if event is None:
            return
        self._dealt_with(event)
        user = event.user.username.lower()
        allowed = user == self.requester or user in self._all_approvers()
        if not allowed:
            self._tamper(event, "which only the requester or an approver may add")
            return
        if self.rec.escalated_by is None:
            self.rec = replace(self.rec, escalated_by=user)
        self._answer(event, "escalate", ciso=self._mentions(self.ctx.config.escalation.ciso_role))

    def _all_approvers(self) -> frozenset[str]:
        assert self.request is not None  # noqa: S101 - only called for valid requests
        roles = {
            role for stage in self.ctx.config.stages(self.request.risk_level) for role in stage
        } | {self.ctx.config.escalation.ciso_role}
        found: set[str] = set()
        for role in roles:
            found |= holders(self.ctx.config, role, self.request, self.ctx.directory)
        return frozenset(found)

    def _accept_decisions(self) -> None:
        for action in (ActionLabel.REJECT, ActionLabel.REQUEST_CHANGES):
            event = self._action_event(action)
            if event is None:
                continue
            self._dealt_with(event)
            stage_holders = frozenset().union(
                *(self.holders.get(s.key, frozenset()) for s in self.current or ())
            )
            if event.user.username.lower() not in stage_holders:
                self._tamper(event, "which only an approver of the current stage may add")
                continue
            self.rec = replace(
                self.rec,
                decision=record.Decision(
                    action.value,
                    event.user.username.lower(),
                    event.created_at,
                    event.id,
                    "+".join(s.key for s in self.current or ()),
                ),
            )
            self._answer(event, action.value, requester=self.requester)

    def _accept_appeal(self) -> None:
        """``appeal`` from the requester, once, within the window after the rejection."""
        event = self._action_event(ActionLabel.APPEAL)
        if event is None:
            return
        self._dealt_with(event)
        decision = self.rec.decision
        window = timedelta(days=self.ctx.config.limits.appeal_window_days)
        if event.user.username.lower() != self.requester:
            reason = "requester"
        elif "appealed" in self.rec.milestones or decision is None:
            reason = "again"
        elif event.created_at > decision.at + window:
            reason = "late"
        else:
            self.rec = (
                replace(
                    self.rec, decision=None, rejection=decision, stage=None, stage_started_at=None
                )
                .reached("rejected", decision.at)
                .reached("appealed", event.created_at)
            )
            self.state = State.APPEAL  # the walk adds the Appeal checklist
            self._answer(event, "appeal")
            return
        self.plan.post_once(
            "action",
            str(event.id),
            "appeal_refused.md.j2",
            reason=reason,
            user=event.user.username,
            requester=self.requester,
            days=self.ctx.config.limits.appeal_window_days,
        )

    def _appeal_checklist(self) -> None:
        """An appeal is ticked under ``## Appeal``: add it while the description lacks it. Going
        by the description, not by the run that accepted the appeal, a rerun adds it when that
        run recorded the appeal but died before the description was saved."""
        body = parse_body(self.issue.description)
        if body.section(normalise_heading(APPEAL_HEADING)) is None:
            items = tuple(s.item for stage in appeal_route(self.ctx.config) for s in stage)
            self.plan.edits.append(AppendChecklist(self.plan.ref, APPEAL_HEADING, items))

    def _close_when_final(self) -> None:
        """A rejection is final after a denied appeal, or once the appeal window has passed."""
        decision = self.rec.decision
        if decision is None or self.issue.state == "closed":
            return
        window = timedelta(days=self.ctx.config.limits.appeal_window_days)
        appealed = "appealed" in self.rec.milestones
        self.plan.wake.append(decision.at + window + timedelta(seconds=1))
        if appealed or self.ctx.now > decision.at + window:
            self.plan.post_once("final", "", "final.md.j2", appealed=appealed)
            self.plan.edits.append(CloseIssue(self.plan.ref))

    def _legal_opinion_url(self) -> str | None:
        """The newest comment of whoever ticked the appeal's first item, before the tick."""
        first = appeal_route(self.ctx.config)[0]
        approved = self.approval_state.approvals if self.approval_state else {}
        tick = next((approved[s.key] for s in first if s.key in approved), None)
        if self.state is not State.APPEAL or tick is None:
            return None
        notes = [
            n
            for n in self.issue.notes
            if not n.system and n.author.username.lower() == tick.user and n.created_at <= tick.at
        ]
        return f"{self.issue.web_url}#note_{notes[-1].id}" if notes else None

    def _link_original(self) -> None:
        if self.rec.renewal_of is None:
            return
        ref = RenewalRef(exception_id=self.rec.renewal_of)
        target = renewals.resolve(ref, self.issue.project, self.ctx.config)
        linked = {(link.project.lower(), link.iid) for link in self.issue.links}
        if target is not None and (target.project.lower(), target.iid) not in linked:
            self.plan.edits.append(LinkIssues(self.plan.ref, IssueRef(target.project, target.iid)))

    def _renewed(self) -> None:
        """An active renewal of this exception ends it: closed as renewed (SPEC §6). Which
        linked issue is one goes by the bot's record on it, never by its labels or text."""
        renewal = renewals.renewed_by(self.issue, self.ctx.config, self.ctx.bot.id)
        if renewal is not None:
            link, activated = renewal
            self.state = State.RENEWED
            self.rec = self.rec.reached("renewed", activated)
            self.plan.post_once("renewed", link.reference, "renewed.md.j2", renewal=link.reference)

    def _accept_revocation(self) -> None:
        """``revoke`` from Security Compliance (the route's final stage) or the CISO."""
        if self.state not in REVOCABLE or self.request is None:
            self._refuse_actions(ActionLabel.REVOKE)
            return
        event = self._action_event(ActionLabel.REVOKE)
        if event is None:
            return
        self._dealt_with(event)
        config, request = self.ctx.config, self.request
        roles = (*config.stages(request.risk_level)[-1], config.escalation.ciso_role)
        allowed = frozenset().union(
            *(holders(config, role, request, self.ctx.directory) for role in roles)
        )
        if event.user.username.lower() not in allowed:
            who = " or ".join(self._title(role) for role in roles)
            self._tamper(event, f"which only {who} may add")
            return
        user = event.user.username.lower()
        self.rec = replace(
            self.rec,
            decision=record.Decision(ActionLabel.REVOKE.value, user, event.created_at, event.id),
        ).reached("revoked", event.created_at)
        self.state = State.REVOKED
        self._answer(event, "revoke", requester=self.requester)

    def _answer(self, event: LabelEvent, action: str, **context: object) -> None:
        """The one comment that answers an action label, naming who added it."""
        self.plan.post_once(
            "action",
            str(event.id),
            "action.md.j2",
            action=action,
            user=event.user.username,
            **context,
        )

    def _refuse_actions(self, *actions: ActionLabel) -> None:
        for action in actions:
            event = self._action_event(action)
            if event is None:
                continue
            self._dealt_with(event)
            label = Markdown(self.labels.action(action))
            self._answer(event, "refused", label=label, state=self.state)

    # -- tampering ----------------------------------------------------------------------------

    def _expected_at_creation(self, event: LabelEvent) -> bool:
        return (
            event.action is LabelAction.ADD
            and event.label == self.labels.state(State.SUBMITTED)
            and event.user.id == self.issue.author.id
            and event.created_at - self.issue.created_at <= CREATION_GRACE
        )

    def _report_tampering(self) -> None:
        """Changes to labels only the bot sets; removals of people's action labels by someone
        else (a decision cannot be suppressed: it is acted on, see ``_action_event``); and the
        alert removed by anyone but Security Compliance and the CISO, who clear it after review."""
        actions = {self.labels.action(a) for a in ActionLabel}
        events = self.issue.label_events
        for n, event in enumerate(events):
            if event.user.id == self.ctx.bot.id or self._expected_at_creation(event):
                continue
            if self._scope_swap(event, actions):
                continue
            if bot_owned(self.ctx.config, event.label):
                self._tamper(event)
            elif event.action is LabelAction.REMOVE and event.label in actions:
                added = next(
                    (
                        e
                        for e in reversed(events[:n])
                        if e.label == event.label and e.action is LabelAction.ADD
                    ),
                    None,
                )
                if added is not None and added.user.id not in (event.user.id, self.ctx.bot.id):
                    self._tamper(event)
            elif (
                event.action is LabelAction.REMOVE
                and event.label == self.labels.tampering
                and event.user.username.lower() not in self._alert_reviewers()
            ):
                self._tamper(event)

    def _scope_swap(self, event: LabelEvent, actions: set[str]) -> bool:
        """A removal that came with its remover's addition of a label of the same scope, which
        is answered on its own: reported (a label only the bot sets) or acted on (an action
        label; a decision it removed is acted on all the same). On GitLab Premium adding a
        scoped label removes the other label of its scope, written as a removal by the same
        user at the same time (gitlabhq ee/app/services/ee/issuable/callbacks/labels.rb,
        resource_events/change_labels_service.rb): one act, told once. On Free the same two
        events are a swap by hand, which the addition's answer covers as well. Any other
        addition (the tampering alert taken off by adding ``exception-alert::x``) is no
        cover: the removal is reported."""
        key = scope(event.label)
        return (
            event.action is LabelAction.REMOVE
            and key is not None
            and any(
                other.action is LabelAction.ADD
                and other.user.id == event.user.id
                and other.created_at == event.created_at
                and other.label != event.label
                and scope(other.label) == key
                and (bot_owned(self.ctx.config, other.label) or other.label in actions)
                for other in self.issue.label_events
            )
        )

    def _alert_reviewers(self) -> frozenset[str]:
        """Who may clear the tampering alert: the route's final stage (Security Compliance)
        and the CISO, for this request; for one that does not validate, for any request."""
        config = self.ctx.config
        units: list[ExceptionRequest | _AnyUnit] = (
            [self.request] if self.request else [_AnyUnit(d, "") for d in config.departments]
        )
        risks = [self.request.risk_level] if self.request else list(RiskLevel)
        roles = {config.escalation.ciso_role} | {
            role for risk in risks for role in config.stages(risk)[-1]
        }
        return frozenset().union(
            *(holders(config, r, unit, self.ctx.directory) for r in roles for unit in units)
        )

    def _tamper(self, event: LabelEvent, reason: str = "") -> None:
        """Report a label change nobody may make; the label name is the changer's text, so
        the note shows it inert, never as a label reference."""
        mark = markers.marker("tampering", str(event.id))
        if not self.plan.said.has(mark):
            self.tampered.append(event.id)
            self.plan.post_once(
                "tampering",
                str(event.id),
                "tampering.md.j2",
                user=event.user.username,
                verb=Markdown("added" if event.action is LabelAction.ADD else "removed"),
                label=event.label,
                reason=Markdown(reason),
                alert=Markdown(self.labels.tampering),
            )
        elif not self._alert_set_since(mark):
            # Reported, but the run stopped before the alert label: it is still owed. (Once
            # the bot has set it, a person may remove it after looking into the report.)
            self.tampered.append(event.id)

    def _alert_set_since(self, mark: str) -> bool:
        reported = min(
            (
                n.created_at
                for n in self.issue.notes
                if n.author.id == self.ctx.bot.id and markers.trailing(n.body) == mark
            ),
            default=None,
        )
        return reported is not None and any(
            e.label == self.labels.tampering
            and e.action is LabelAction.ADD
            and e.user.id == self.ctx.bot.id
            and e.created_at >= reported
            for e in self.issue.label_events
        )

    # -- notifications ------------------------------------------------------------------------

    def _notify(self) -> None:
        if self.state in ROUTING and self.current is not None:
            stage = self.stage_label or ""
            self.plan.post_once(
                "turn",
                f"{stage}:{self.hash}",
                "turn.md.j2",
                approvers=self._waiting_for(),
                issue_url=url(self.issue.web_url),
                escalation=self.state is State.ESCALATED,
                appeal=self.state is State.APPEAL,
                renewal_number=self.rec.renewal_number if self._past_max_renewals else None,
                max_renewals=self.ctx.config.limits.max_renewals,
                opinion_first=bool(self.stages) and self.current is self.stages[0],
                opinion_url=self._legal_opinion_url(),
            )
            if self.rec.stage != stage:
                self._assign()
            self._watch_sla()
            return
        if self.state is State.APPROVED:
            self.plan.post_once("approved", "", "approved.md.j2", requester=self.requester)
        if self.rec.stage is not None:
            self._unassign()

    def _watch_sla(self) -> None:
        """One reminder when the stage's review deadline passes, then one per business day."""
        final = self.final_record()
        deadline = self._deadline(final)
        if deadline is None:
            return
        if self.ctx.now < deadline:
            self.plan.wake.append(deadline)
            return
        self.breached = True
        late = reminders_due(deadline, self.ctx.now, self.ctx.config.calendar)
        self.plan.wake.append(add_business_days(deadline, late + 1, self.ctx.config.calendar))
        started = final.stage_started_at.isoformat() if final.stage_started_at else ""
        self.plan.post_once(
            "sla",
            f"{final.stage}:{started}:{late}",
            "sla.md.j2",
            approvers=self._waiting_for(),
            deadline=deadline,
            late=late,
            issue_url=url(self.issue.web_url),
        )

    def _assign(self) -> None:
        """Assign the stage's named approvers; for a stage of group roles only, the groups'
        members (a few at most). GitLab Free keeps one assignee: the first one listed."""
        assert self.request is not None  # noqa: S101 - only while routing a valid request
        users = [
            u
            for slot in self.current or ()
            for u in named_users(self.ctx.config, slot.role, self.request)
        ]
        if not users:
            members = {member for slot in self.current or () for member in self._askable(slot)}
            users = sorted(members)[:MAX_GROUP_ASSIGNEES]
        if users:
            self.plan.assign.append(AssignUsers(self.plan.ref, tuple(dict.fromkeys(users))))

    def _askable(self, slot: Slot) -> frozenset[str]:
        """Whom to assign a slot of a group role: the members of the group itself, when any
        holds the role; else everyone who does (members/all). A parent group's members hold
        the role too, as in GitLab, but the head of sales, Owner of the top-level group, is
        not whom a Security Compliance review is for."""
        held = self.holders.get(slot.key, frozenset()) - self.requesters
        group = self.ctx.config.roles[slot.role].group
        own = self.ctx.directory.direct(group) & held if group else frozenset()
        return own or held

    def _unassign(self) -> None:
        """The stage the last run assigned is over (approved, rejected, changes requested):
        take its approvers off the issue. Anyone else assigned stays."""
        approvers = frozenset().union(*self.holders.values())
        done = tuple(a for a in self.issue.assignees if a.lower() in approvers)
        if done:
            keep = tuple(a for a in self.issue.assignees if a.lower() not in approvers)
            self.plan.assign.append(UnassignUsers(self.plan.ref, done, keep))

    def _waiting_for(self) -> list[dict[str, object]]:
        assert self.request is not None  # noqa: S101 - only while routing a valid request
        assert self.approval_state is not None  # noqa: S101 - set by _route
        approved = self.approval_state.approvals
        return [
            {
                "item": Markdown(s.item),
                "role": self._title(s.role),
                "mentions": self._mentions(s.role),
            }
            for s in self.current or ()
            if s.key not in approved
        ]

    def _mentions(self, role: str) -> Markdown:
        """The role's holders as the config names them: mentioning them is the point."""
        if self.request is None:
            return Markdown("")
        return Markdown(" ".join(mentions(self.ctx.config, role, self.request)))

    def _title(self, role: str) -> Markdown:
        return Markdown(self.ctx.config.roles[role].title)

    def _slot_title(self, slot_key: str | None) -> Markdown | None:
        return None if slot_key is None else Markdown(slot_title(self.ctx.config, slot_key))

    # -- results ------------------------------------------------------------------------------

    @property
    def stage_label(self) -> str | None:
        if self.state not in ROUTING or self.current is None:
            return None
        return self.labels.stage([s.key for s in self.current])

    def final_record(self) -> record.Record:
        approvals = self._records()
        stage = self.stage_label
        return replace(
            self.rec,
            state=self.state.value,
            approvals=approvals,
            stage=stage,
            stage_started_at=self._stage_started(stage),
        )

    def _stage_started(self, stage: str | None) -> datetime | None:
        """When the current stage began, the same on every run: the bot's record, which the run
        that began the stage wrote before it added the stage's label; without it (a deleted
        status note), the bot's addition of the label (GitLab's own record); for a stage that
        begins in this run, the last change a person made, which began it (a tick, an edit, a
        label), never the moment of the run: the label it adds next is dated a little later,
        and a stage that moved by that much would rewrite the status note on the next run."""
        if stage is None:
            return None
        since = self._stage_label_since(stage) if stage in self.issue.labels else None
        kept = self.rec.stage_started_at if stage == self.rec.stage else None
        if kept is not None and (since is None or kept <= since):
            return kept
        return since or self.issue.last_change_by_others(self.ctx.bot.id)

    def _stage_label_since(self, stage: str) -> datetime | None:
        """The bot's first addition of ``stage`` since it last took that label off or added
        another stage's. A later addition puts back a label someone else removed, which does
        not start the stage again (nor its SLA): on GitLab Premium adding any stage label
        removes the current one (ee/app/services/ee/issuable/callbacks/labels.rb)."""
        started = None
        for event in self.issue.label_events:
            if event.user.id != self.ctx.bot.id or not event.label.startswith(
                self.labels.stage_prefix
            ):
                continue
            if event.label == stage and event.action is LabelAction.ADD:
                started = started or event.created_at
            elif event.label == stage or event.action is LabelAction.ADD:
                started = None  # the stage ended, or another one began
        return started

    def facts(self, final: record.Record) -> RequestFacts:
        issue, config = self.issue, self.ctx.config
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
            state=self.state,
            stage=self.stage_label,
            risk=self.request.risk_level if self.request else None,
            stage_started_at=final.stage_started_at,
            deadline=self._deadline(final),
            breached=self.breached,
            expires=self.request.expiration_date if self.request else None,
            in_force_since=charts.started(
                final.milestones.get("approved"), final.milestones.get("activated")
            ),
            exception_id=exception_id_of(issue, config) if self.state in REGISTERED else None,
            renewal_of=final.renewal_of,
            renewal_number=final.renewal_number,
            incidents=incidents(issue),
        )

    def status_context(self, final: record.Record) -> dict[str, object]:
        approved = self.approval_state.approvals if self.approval_state else {}
        rows = [
            {
                "stage": n + 1,
                "item": Markdown(s.item),
                "role": self._title(s.role),
                "user": approved[s.key].user if s.key in approved else None,
                "at": approved[s.key].at if s.key in approved else None,
                "current": stage is self.current and self.stage_label is not None,
            }
            for n, stage in enumerate(self.stages)
            for s in stage
        ]
        decision = final.decision
        return {
            "state": self.state,
            "rows": rows,
            "deadline": self._deadline(final),
            "expires": self.request.expiration_date if self.request else None,
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
            "waiting": self._waiting_for() if self.current and self.state in ROUTING else [],
        }

    def _deadline(self, final: record.Record) -> datetime | None:
        if final.stage_started_at is None or self.request is None or self.current is None:
            return None
        key = {State.ESCALATED: "escalation", State.APPEAL: "appeal"}.get(
            self.state, self.request.risk_level.value
        )
        # Asked for by the SLA watch, the status note and the report: count business days once.
        asked = (final.stage_started_at, key)
        if asked not in self._deadlines:
            sla = self.ctx.config.review_sla[key]
            self._deadlines[asked] = sla_deadline(asked[0], sla, self.ctx.config.calendar)
        return self._deadlines[asked]


@dataclass(frozen=True)
class _AnyUnit:
    """A department and policy to look role holders up by, when the request names none."""

    department: str
    policy: str


def _problems_note(plan: Plan, problems: Iterable[Problem], state: State) -> None:
    listed = tuple(problems)
    existing = plan.said.problems
    if listed and state is State.NEEDS_INFO:
        plan.upsert(
            existing.id if existing else None,
            existing.body if existing else None,
            markers.PROBLEMS,
            "problems.md.j2",
            # A problem's message is the bot's sentence; what it quotes of the request went
            # through escape.inert when the problem was made.
            problems=[{"field": p.field, "message": Markdown(p.message)} for p in listed],
        )
    elif existing is not None:
        plan.upsert(existing.id, existing.body, markers.PROBLEMS, "problems.md.j2", problems=())


def _label_delta(
    issue: IssueSnapshot, ctx: Context, walk: _Walk, changed: bool | None
) -> SetLabels:
    """``changed``: whether the request differs from its approved terms (None: it has none)."""
    labels = ctx.config.labels
    desired = {labels.state(walk.state)}
    if walk.stage_label:
        desired.add(walk.stage_label)
    if walk.request is not None:
        desired.add(labels.risk(walk.request.risk_level))
    owned = {name for name in issue.labels if bot_owned(ctx.config, name)}
    add = desired - issue.labels
    if walk.tampered and labels.tampering not in issue.labels:
        add.add(labels.tampering)
    remove = (owned - desired) | (walk.consumed & issue.labels)
    if walk.breached:
        add.add(labels.sla_breached)
    else:
        remove.add(labels.sla_breached)
    if changed is not None:
        (add if changed else remove).add(labels.changed_after_approval)
    add -= issue.labels
    remove &= issue.labels
    return SetLabels(IssueRef(issue.project, issue.iid), frozenset(add), frozenset(remove))


def _label_names(config: Config) -> dict[str, Markdown]:
    """The config's label names and escalation item, for the templates (the config is reviewed
    like code: its words are the bot's)."""
    return {
        "reject": Markdown(config.labels.action(ActionLabel.REJECT)),
        "request_changes": Markdown(config.labels.action(ActionLabel.REQUEST_CHANGES)),
        "appeal": Markdown(config.labels.action(ActionLabel.APPEAL)),
        "escalation_item": Markdown(config.escalation.checklist_item),
    }


def bot_owned(config: Config, label: str) -> bool:
    """State, stage and risk labels: only the bot may set or remove them."""
    labels = config.labels
    return (
        label in labels.all_states
        or label in labels.all_risks
        or label.startswith(labels.stage_prefix)
    )
