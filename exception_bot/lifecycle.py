"""After approval (SPEC §6): due date, activation, expiry reminders, expiry, fix verification,
and the register entry that follows every state change.

Activation and fix verification are confirmations, not approvals: the box counts when GitLab's
checklist note shows a person allowed to confirm ticked it (the requester may confirm
activation). Any other tick is unticked and explained, as for approvals.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

from exception_bot.actions import (
    AppendChecklist,
    SetCheckbox,
    SetDueDate,
    WriteRegister,
)
from exception_bot.domain import record
from exception_bot.domain.approvals import newest_toggles, note_due, slot_title
from exception_bot.domain.calendar import day_start
from exception_bot.domain.escape import Markdown, url
from exception_bot.domain.fields import normalise_heading, parse_body
from exception_bot.domain.model import ActionLabel, ExceptionRequest, IssueSnapshot, State
from exception_bot.domain.people import holders, mentions
from exception_bot.domain.provenance import content_hash
from exception_bot.domain.register import (
    ApprovalEntry,
    RegisterEntry,
    RejectionEntry,
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
from exception_bot.domain.settings import Config
from exception_bot.domain.validation import item_key
from exception_bot.plan import Context, Plan
from exception_bot.render import issue_templates

ACTIVATION = ("Activation", "Compensating controls implemented")
VERIFICATION = ("Verification", "Fix verified")
# States in which the bot looks after an approved exception.
AFTERCARE = frozenset({State.APPROVED, State.ACTIVE, State.EXPIRED})
# States that put the exception in the register, and where its entry lives.
REGISTERED = frozenset(
    {State.APPROVED, State.ACTIVE, State.EXPIRED, State.CLOSED, State.REVOKED, State.RENEWED}
)
ARCHIVED = frozenset({State.CLOSED, State.REVOKED, State.RENEWED})
INCIDENT = "incident"  # the issue type, or a label of that name, marks an incident


@dataclass(frozen=True)
class Confirmation:
    """Who may tick a confirmation box, and how the explanation names them."""

    heading: str
    item: str
    allowed: frozenset[str]
    who: str


class Aftercare:
    """Moves an approved request along its life; the caller turns ``state`` into labels."""

    def __init__(
        self,
        issue: IssueSnapshot,
        ctx: Context,
        request: ExceptionRequest,
        rec: record.Record,
        plan: Plan,
        state: State,
    ) -> None:
        self.issue, self.ctx, self.request, self.plan = issue, ctx, request, plan
        self.rec, self.state = rec, state
        self.body = parse_body(issue.description)
        # Security Compliance is the route's final stage in SPEC §2; a config that ends its
        # routes with another role gets that role as the confirmer.
        self.confirmers = ctx.config.stages(request.risk_level)[-1]
        self.compliance = frozenset().union(
            *(holders(ctx.config, role, request, ctx.directory) for role in self.confirmers)
        )

    def run(self) -> tuple[State, record.Record]:
        # Approved when the last approval was given, not when a run saw it: a run that stops
        # before its status note is written records the same time again.
        last = max((a.at for a in self.rec.approvals), default=None)
        self.rec = self.rec.reached("approved", last or self._changed_at)
        if self.state in AFTERCARE:
            self._due_date()
        if self.state is State.APPROVED:
            self._activation()
        if self.state in (State.APPROVED, State.ACTIVE):
            self._expiry()
        if self.state is State.EXPIRED:
            self._verification()
        self._register()
        return self.state, self.rec

    # -- steps ----------------------------------------------------------------------------------

    def _due_date(self) -> None:
        if self.issue.due_date != self.request.expiration_date:
            self.plan.edits.append(SetDueDate(self.plan.ref, self.request.expiration_date))

    def _activation(self) -> None:
        heading, item = ACTIVATION
        confirmation = Confirmation(
            heading,
            item,
            self.compliance | {self.issue.author.username.lower()},
            "the requester or Security Compliance",
        )
        at = self._confirmed(confirmation)
        if at is not None:
            self.state = State.ACTIVE
            self.rec = self.rec.reached("activated", at)

    def _expiry(self) -> None:
        calendar = self.ctx.config.calendar
        expires = self.request.expiration_date
        end = day_start(expires + timedelta(days=1), calendar)
        if self.ctx.now >= end:
            self.state = State.EXPIRED
            self.rec = self.rec.reached("expired", end)
            return
        days_left = (expires - self.ctx.now.astimezone(calendar.tz).date()).days
        self.plan.wake.append(end)
        self.plan.wake += [
            day_start(expires - timedelta(days=days), calendar)
            for days in self.ctx.config.reminder_days
            if days_left > days
        ]
        due = [days for days in self.ctx.config.reminder_days if days_left <= days]
        if due:
            # Only the nearest reminder: a bot that starts late does not post 14, 7 and 1 at once.
            self.plan.post_once(
                "expiry",
                str(min(due)),
                "expiry.md.j2",
                requester=self.issue.author.username,
                expires=expires,
                days_left=days_left,
                renewal_url=url(renewal_url(self.issue, self.ctx.config)),
            )

    def _verification(self) -> None:
        heading, item = VERIFICATION
        confirmation = Confirmation(heading, item, self.compliance, "Security Compliance")
        at = self._confirmed(confirmation)
        if at is None:
            self.plan.post_once(
                "expired",
                "",
                "expired.md.j2",
                item=Markdown(item),
                expires=self.request.expiration_date,
                compliance=self._compliance_mentions(),
            )
            return
        self.state = State.CLOSED  # decide closes the issue of a closed request
        self.rec = self.rec.reached("closed", at)

    def _compliance_mentions(self) -> Markdown:
        return Markdown(
            " ".join(
                m for role in self.confirmers for m in mentions(self.ctx.config, role, self.request)
            )
        )

    # -- confirmations --------------------------------------------------------------------------

    def _confirmed(self, confirmation: Confirmation) -> datetime | None:
        """When the confirmation box was validly ticked; appends it and undoes bad ticks."""
        key = normalise_heading(confirmation.heading)
        items = [i for i in self.body.items_in(key) if not i.nested]
        if self.body.section(key) is None:
            self.plan.edits.append(
                AppendChecklist(self.plan.ref, confirmation.heading, (confirmation.item,))
            )
            return None
        box = next((i for i in items if item_key(i.text) == item_key(confirmation.item)), None)
        if box is None or not box.checked:
            return None
        toggle = newest_toggles(self.issue.notes).get(item_key(confirmation.item))
        if toggle is not None and toggle.completed:
            user = toggle.note.author.username.lower()
            if user in confirmation.allowed and toggle.note.author.id != self.ctx.bot.id:
                return toggle.note.created_at
        else:
            # Ticked, and GitLab may not have written its checklist note yet (note_due).
            due = note_due(
                self.issue.created_at,
                self.issue.updated_at,
                self.ctx.config.note_grace,
                self.ctx.now,
            )
            if due is not None:
                self.plan.wake.append(due)
                return None
        self.plan.post_once(
            "untick",
            f"{key}:{toggle.note.id if toggle else 0}",
            "unconfirm.md.j2",
            item=Markdown(confirmation.item),
            user=toggle.note.author.username if toggle and toggle.completed else None,
            who=Markdown(confirmation.who),
            who_first=Markdown(confirmation.who[:1].upper() + confirmation.who[1:]),
        )
        self.plan.unticks.append(
            SetCheckbox(self.plan.ref, confirmation.heading, confirmation.item, checked=False)
        )
        return None

    # -- register -------------------------------------------------------------------------------

    def _register(self) -> None:
        if self.state not in REGISTERED:
            return
        config = self.ctx.config
        entry = register_entry(self.issue, self.ctx, self.request, self.rec, self.state)
        archived = self.state in ARCHIVED
        path = entry_path(config, entry, archived=archived)
        # Rewritten when the state or a date changes, not on every edit of the request text
        # after approval: the register keeps the text as of the last state change.
        facts = f"{path}\n{entry.status}\n{sorted(self.rec.milestones.items())}\n{entry.incidents}"
        digest = hashlib.sha256(facts.encode()).hexdigest()[:16]
        # A record without the file it vouches for (a bot before it kept one) writes it again:
        # the commit is empty when the branch holds that text already.
        if self.rec.registered == digest and self.rec.written is not None:
            return
        # Where the entry may stand now: in the register's folder, under its title or, for a
        # confidential request, without it (the issue made confidential, or a bot before this
        # one that wrote the title).
        titled = register_entry(
            replace(self.issue, confidential=False), self.ctx, self.request, self.rec, self.state
        )
        earlier = {entry_path(config, entry), entry_path(config, titled)} - {path}
        trail = self._trail()
        content = render_entry(entry)  # YAML is slow to write: only for an entry that changed
        # What the register file holds once the commit lands: the status note, written after
        # it, vouches for this file and no other version of it (domain/provenance.py).
        written = record.Written(path, content_hash(content))
        self.rec = replace(self.rec, registered=digest, written=written)
        self.plan.register.append(
            WriteRegister(
                self.plan.ref,
                path,
                content,
                tuple(index_row(entry, path).items()),
                tuple(sorted(earlier)),
                commit_message(entry, trail),
            )
        )

    def _trail(self) -> Trail:
        """The event a register commit records, and whose action caused it, when: the last
        approval, the confirmation tick, the revocation; the bot for what time or a renewal's
        approval did. A rewrite in the same state (a linked incident) is an update."""
        bot, changed, rec = self.ctx.bot.username, self._changed_at, self.rec
        if rec.state == self.state.value:
            return Trail("updated", bot, changed)
        toggles = newest_toggles(self.issue.notes)
        confirmation = {State.ACTIVE: ACTIVATION[1], State.CLOSED: VERIFICATION[1]}
        if self.state is State.APPROVED and rec.approvals:
            last = max(rec.approvals, key=_at)
            return Trail(self.state.value, last.user, last.at)
        if self.state in confirmation:
            toggle = toggles.get(item_key(confirmation[self.state]))
            if toggle is not None and toggle.completed:
                return Trail(self.state.value, toggle.note.author.username, toggle.note.created_at)
        if self.state is State.REVOKED and rec.decision is not None:
            return Trail(self.state.value, rec.decision.user, rec.decision.at)
        milestone = {State.EXPIRED: "expired", State.RENEWED: "renewed"}.get(self.state, "")
        return Trail(self.state.value, bot, rec.milestones.get(milestone, changed))

    @property
    def _changed_at(self) -> datetime:
        """The last change a person made to the issue: what the bot answers when no approval
        or confirmation dates it (a linked incident, the issue made confidential)."""
        return self.issue.last_change_by_others(self.ctx.bot.id)


def register_entry(
    issue: IssueSnapshot,
    ctx: Context,
    request: ExceptionRequest,
    rec: record.Record,
    state: State,
) -> RegisterEntry:
    config = ctx.config
    ident = exception_id_of(issue, config)
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
        approved_at=rec.milestones.get("approved"),
        activated_at=rec.milestones.get("activated"),
        closed_at=(
            rec.milestones.get("closed")
            or rec.milestones.get("revoked")
            or rec.milestones.get("renewed")
        ),
        appealed_at=rec.milestones.get("appealed"),
        appeal_granted_at=rec.milestones.get("appeal_granted"),
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
        sections=sections_for(request, issue.confidential, config),
    )


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
        ApprovalEntry(slot_title(ctx.config, a.slot), a.user, a.at)
        for a in sorted(approvals, key=_at)
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


def renewal_url(issue: IssueSnapshot, config: Config) -> str:
    """A link that opens a new issue with the renewal template already filled with *Renews*.

    GitLab's new-issue page takes ``issue[title]`` and ``issue[description]`` from the query
    string, so the requester starts from the template with this issue's reference in place.
    """
    base = issue.web_url.rsplit("/-/issues/", 1)[0]
    template = issue_templates(config)[1].content
    filled = re.sub(r"^<#123>$", f"#{issue.iid}", template, count=1, flags=re.M)
    query = urlencode(
        {"issue[title]": f"Renewal of #{issue.iid}: {issue.title}", "issue[description]": filled}
    )
    return f"{base}/-/issues/new?{query}"
