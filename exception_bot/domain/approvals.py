"""Ticked boxes -> verified approvals (docs/explanation/approvals.md).

A ticked box counts only when GitLab's own checklist system note says who ticked it, that
person holds the role, is not the requester, has not already approved for another role, and
the request fields have not changed since. Everything else is a :class:`RejectedTick` for the
bot to untick and explain.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from exception_bot.domain.fields import ParsedBody
from exception_bot.domain.model import ChecklistItem, ExceptionRequest, Note, RiskLevel
from exception_bot.domain.record import ApprovalRecord, Record
from exception_bot.domain.request_covers import LATER_FIELDS, hashed_terms
from exception_bot.domain.settings import Config, Delegation
from exception_bot.domain.validation import APPROVALS_KEY, item_key

# GitLab: app/services/system_notes/issuables_service.rb (change_task_status). Before GitLab
# ~15.3 the wording was "marked the task **…**"; old notes were migrated, but accept both.
# The item is named by its source (older versions, migrated notes) or by its rendered plain
# text, Markdown-escaped (today): for the plain item texts the config allows
# (domain/item_text.py) both un-escape to the source.
_TOGGLE_RE = re.compile(
    r"^marked the (?:checklist item|task) \*\*(?P<item>.*)\*\* as (?P<state>completed|incomplete)$",
    re.S,
)
# GitLab Markdown-escapes punctuation in the item text of the note (`\#`, `\-`, `\.`).
_ESCAPE_RE = re.compile(r"\\(.)")
DESCRIPTION_CHANGED = "changed the description"


def fields_hash(request: ExceptionRequest) -> str:
    """A stable hash of the normalised request fields (docs/explanation/approvals.md): what an
    approval was given on (:attr:`ApprovalRecord.fields_hash`).

    Records in GitLab hold these hashes, so the text hashed must never change: it is what
    ``json.dumps(asdict(request), sort_keys=True, default=str)`` gives, built without asdict's
    deep copy of every field (the only nested dataclass is ``renews``).
    """
    data = {f.name: getattr(request, f.name) for f in _REQUEST_FIELDS}
    if request.renews is not None:
        data["renews"] = asdict(request.renews)
    # Kind and Covers came later: hashed only when set, so earlier hashes stay as they were.
    for name in LATER_FIELDS:
        del data[name]
    data |= hashed_terms(request)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_REQUEST_FIELDS = fields(ExceptionRequest)


@dataclass(frozen=True)
class Slot:
    """One approval the route needs: its key (a role, or the escalation), who may give it, and
    the checklist item that records it."""

    key: str
    role: str
    item: str
    # The role the slot is for when it fell to ``role``, its fallback: no holder of its own
    # role could approve the request (domain/stand_ins.py).
    stands_in: str | None = None


def escalation_slot(config: Config) -> Slot:
    role = config.escalation.ciso_role
    return Slot(f"{role}_escalation", role, config.escalation.checklist_item)


def route(config: Config, risk: RiskLevel, escalated: bool) -> tuple[tuple[Slot, ...], ...]:
    """The stages of slots for a request: the CISO escalation first when it applies."""
    stages = tuple(
        tuple(Slot(role, role, config.checklist[role]) for role in stage)
        for stage in config.stages(risk)
    )
    return ((escalation_slot(config),), *stages) if escalated else stages


APPEAL_PREFIX = "appeal_"


def appeal_route(config: Config) -> tuple[tuple[Slot, ...], ...]:
    """The appeal's stages (Legal, then CEO and CFO by default), ticked under ``## Appeal``."""
    return tuple(
        tuple(Slot(APPEAL_PREFIX + role, role, config.appeal.checklist[role]) for role in stage)
        for stage in config.appeal.stages
    )


def slot_title(config: Config, slot_key: str) -> str:
    """``Legal (appeal)``, ``CISO escalation``, ``Department Head``: a slot key for people."""
    role = slot_key.removesuffix("_escalation").removeprefix(APPEAL_PREFIX)
    suffix = " escalation" if slot_key.endswith("_escalation") else ""
    suffix += " (appeal)" if slot_key.startswith(APPEAL_PREFIX) else ""
    return config.roles[role].title + suffix if role in config.roles else slot_key


def approval_names(config: Config, approval: ApprovalRecord) -> tuple[str, str]:
    """An approval as the status note and the register name it: the role (``CISO for
    Department Head`` when the slot fell to a fallback) and the user (``bob for alice`` for a
    delegate's approval)."""
    role = slot_title(config, approval.slot)
    if approval.role:
        acting = config.roles[approval.role].title if approval.role in config.roles else role
        role = f"{acting} for {role}"
    user = f"{approval.user} for {approval.for_user}" if approval.for_user else approval.user
    return role, user


@dataclass(frozen=True)
class Toggle:
    """A checklist system note: ``item`` (unescaped) marked completed or not, by its author."""

    item: str
    completed: bool
    note: Note


def toggles(notes: Iterable[Note]) -> tuple[Toggle, ...]:
    found = []
    for note in notes:
        if not note.system:
            continue
        match = _TOGGLE_RE.match(note.body.strip())
        if match:
            item = _ESCAPE_RE.sub(r"\1", match.group("item"))
            found.append(Toggle(item, match.group("state") == "completed", note))
    return tuple(found)


def newest_toggles(notes: Iterable[Note]) -> dict[str, Toggle]:
    """The newest toggle note per item key (notes arrive oldest first)."""
    newest: dict[str, Toggle] = {}
    for toggle in toggles(notes):
        newest[item_key(toggle.item)] = toggle
    return newest


@dataclass(frozen=True)
class Save:
    """A person's save of the description, as GitLab's system notes show it."""

    at: datetime
    note_id: int
    author_id: int


def description_saves(notes: Iterable[Note], bot_id: int) -> tuple[Save, ...]:
    """Every save of the description by someone other than the bot.

    A save that ticks or unticks a box shows only as checklist notes, even when it changed
    other text too; only a save that toggles nothing writes "changed the description"
    (``Issuable::CommonSystemNotesService#handle_description_change_note`` in gitlabhq). So a
    checklist note is a save that may have changed anything. The bot's own saves only tick.
    """
    return tuple(
        Save(n.created_at, n.id, n.author.id)
        for n in notes
        if n.system
        and n.author.id != bot_id
        and (n.body.strip() == DESCRIPTION_CHANGED or _TOGGLE_RE.match(n.body.strip()))
    )


def last_description_change(notes: Iterable[Note], bot_id: int) -> datetime | None:
    """When someone other than the bot last edited the description (other than a tick)."""
    times = [
        n.created_at
        for n in notes
        if n.system and n.author.id != bot_id and n.body.strip() == DESCRIPTION_CHANGED
    ]
    return max(times, default=None)


class TickProblem(StrEnum):
    """Why a ticked box does not count."""

    NO_RECORD = "no-record"  # ticked, but no system note names who ticked it
    NOT_HOLDER = "not-holder"
    REQUESTER = "requester"
    SECOND_ROLE = "second-role"
    STALE = "stale"  # the description changed after the tick, before the bot recorded it
    VOID = "void"  # recorded, but the request fields changed since


@dataclass(frozen=True)
class Approval:
    slot: str
    user: str
    at: datetime
    note_id: int
    for_user: str | None = None  # a delegate's approval: the holder it counts for


@dataclass(frozen=True)
class RejectedTick:
    slot: Slot
    item: ChecklistItem
    problem: TickProblem
    user: str | None
    note_id: int | None
    other_slot: str | None = None  # for SECOND_ROLE: the slot the user already approved


@dataclass(frozen=True)
class ApprovalState:
    """Valid ticks (counted once their stage is reached), ticks to undo, the updated records."""

    approvals: Mapping[str, Approval]
    rejected: tuple[RejectedTick, ...]
    records: tuple[ApprovalRecord, ...]
    waiting: tuple[Slot, ...] = ()  # ticked, their checklist notes may still be on the way


@dataclass(frozen=True)
class TickContext:
    body: ParsedBody
    notes: tuple[Note, ...]
    holders: Mapping[str, frozenset[str]]  # slot key -> lower-case usernames
    requesters: frozenset[str]  # lower-case: the author and the Requester contact's @handles
    bot_id: int
    record: Record
    fields_hash: str
    allow_multiple_roles: bool
    section: str = APPROVALS_KEY  # the checklist whose boxes are checked ("appeal" in an appeal)
    # Until when a box ticked without its checklist note is left alone (note_due); None: no
    # note can be on its way, so such a box is unticked now.
    note_due: datetime | None = None
    delegations: tuple[Delegation, ...] = ()  # the config's, for ticks by deputies
    tz: tzinfo = UTC  # the config calendar's: a delegation's days are its days


def note_due(
    created_at: datetime, updated_at: datetime, grace: timedelta, now: datetime
) -> datetime | None:
    """Until when a ticked box may still get the checklist note that names who ticked it.

    GitLab saves the description first and writes the checklist notes after it, outside that
    save (``Issuable::CommonSystemNotesService``; a live export shows 232 ms between them), so
    a read in between sees a tick and no note. The save moves ``updated_at`` (a column), so no
    tick is later than it: ``grace`` after ``updated_at`` every note of a tick has come. An
    issue never updated since its creation has none to come (GitLab writes no checklist notes
    on create), and its ticked boxes need no waiting.
    """
    if updated_at <= created_at:
        return None
    due = updated_at + grace
    return due if now < due else None


def evaluate(ctx: TickContext, slots: Iterable[Slot]) -> ApprovalState:
    """Check every ticked approval box of the route (the rules of docs/explanation/approvals.md)."""
    newest = newest_toggles(ctx.notes)
    saves = description_saves(ctx.notes, ctx.bot_id)
    items = _checklist_items(ctx.body, ctx.section)
    candidates: list[tuple[Slot, ChecklistItem, Toggle]] = []
    rejected: list[RejectedTick] = []
    waiting: list[Slot] = []
    for slot in slots:
        item = items.get(item_key(slot.item))
        if item is None or not item.checked:
            continue  # not ticked (or unticked: a recorded approval is withdrawn)
        toggle = newest.get(item_key(slot.item))
        problem = _first_problem(ctx, slot, toggle, saves)
        if problem is TickProblem.NO_RECORD and ctx.note_due is not None:
            waiting.append(slot)  # its note may come yet: neither counted nor unticked
        elif problem is not None or toggle is None:
            user = toggle.note.author.username if toggle and toggle.completed else None
            note_id = toggle.note.id if toggle else None
            rejected.append(
                RejectedTick(slot, item, problem or TickProblem.NO_RECORD, user, note_id)
            )
        else:
            candidates.append((slot, item, toggle))
    approvals, more_rejected = _one_person_one_role(ctx, candidates)
    records = _records(ctx, approvals, {slot.key: slot for slot, _, _ in candidates})
    return ApprovalState(approvals, (*rejected, *more_rejected), records, tuple(waiting))


def _checklist_items(body: ParsedBody, section: str) -> dict[str, ChecklistItem]:
    # Validation refuses duplicates; the first top-level item of a text is the one that counts.
    items: dict[str, ChecklistItem] = {}
    for item in body.items_in(section):
        if not item.nested:
            items.setdefault(item_key(item.text), item)
    return items


def _first_problem(
    ctx: TickContext, slot: Slot, toggle: Toggle | None, saves: tuple[Save, ...]
) -> TickProblem | None:
    if toggle is None or not toggle.completed:
        return TickProblem.NO_RECORD
    user = toggle.note.author.username.lower()
    recorded = _recorded(ctx.record, slot.key, toggle.note.id)
    if recorded is not None:
        return TickProblem.VOID if recorded.fields_hash != ctx.fields_hash else None
    if _saved_by_another_since(toggle.note, saves):
        return TickProblem.STALE
    if user in ctx.requesters:
        return TickProblem.REQUESTER
    if user not in ctx.holders.get(slot.key, frozenset()) and _for_whom(ctx, slot, toggle) is None:
        return TickProblem.NOT_HOLDER
    return None


def _for_whom(ctx: TickContext, slot: Slot, toggle: Toggle) -> str | None:
    """The holder a delegate's tick counts for: one who handed the slot's role to the ticker
    for the day of the tick and may approve the request (not a requester)."""
    user = toggle.note.author.username.lower()
    recorded = _recorded(ctx.record, slot.key, toggle.note.id)
    if recorded is not None:
        return recorded.for_user
    if user in ctx.holders.get(slot.key, frozenset()):
        return None
    day = toggle.note.created_at.astimezone(ctx.tz).date()
    return next(
        (
            d.from_user
            for d in ctx.delegations
            if d.to_user == user
            and d.covers(slot.role, day)
            and d.from_user in ctx.holders.get(slot.key, frozenset())
            and d.from_user not in ctx.requesters
        ),
        None,
    )


def _saved_by_another_since(tick: Note, saves: tuple[Save, ...]) -> bool:
    """Whether someone else saved the description after ``tick``, before the bot recorded it.

    An approval counts for the text it was given on, and the bot knows that text only as it
    reads it: after another person's save it cannot tell what the approver saw, so the tick is
    stale. (Once recorded, the record's hash of the fields shows any later change.)
    """
    return any(
        save.author_id != tick.author.id and (save.at, save.note_id) > (tick.created_at, tick.id)
        for save in saves
    )


def _recorded(record: Record, slot: str, note_id: int) -> ApprovalRecord | None:
    return next((a for a in record.approvals if a.slot == slot and a.note_id == note_id), None)


def _one_person_one_role(
    ctx: TickContext, candidates: list[tuple[Slot, ChecklistItem, Toggle]]
) -> tuple[dict[str, Approval], list[RejectedTick]]:
    """The earliest tick wins; the same person's tick for another role does not count.

    The CISO ticking the escalation item and a CISO item of the matrix is one role, not two.
    A delegate's approval is both the delegate's and the delegator's: neither may approve
    for another role.
    """
    approvals: dict[str, Approval] = {}
    roles_of: dict[str, tuple[str, str]] = {}  # user -> (role, slot key) of their first approval
    rejected: list[RejectedTick] = []
    for slot, item, toggle in sorted(
        candidates, key=lambda c: (c[2].note.created_at, c[2].note.id)
    ):
        user = toggle.note.author.username.lower()
        for_user = _for_whom(ctx, slot, toggle)
        people = (user,) if for_user is None else (user, for_user)
        first = next((roles_of[p] for p in people if p in roles_of), None)
        if first and first[0] != slot.role and not ctx.allow_multiple_roles:
            rejected.append(
                RejectedTick(slot, item, TickProblem.SECOND_ROLE, user, toggle.note.id, first[1])
            )
            continue
        for person in people:
            roles_of.setdefault(person, (slot.role, slot.key))
        at = toggle.note.created_at
        approvals[slot.key] = Approval(slot.key, user, at, toggle.note.id, for_user)
    return approvals, rejected


def _records(
    ctx: TickContext, approvals: Mapping[str, Approval], slots: Mapping[str, Slot]
) -> tuple[ApprovalRecord, ...]:
    """Keep the hash an approval was first recorded with; new approvals get today's hash, and
    the role they were given in when the slot fell to a fallback."""
    out = []
    for approval in approvals.values():
        kept = _recorded(ctx.record, approval.slot, approval.note_id)
        slot = slots.get(approval.slot)
        role = slot.role if slot is not None and slot.stands_in is not None else None
        out.append(
            kept
            or ApprovalRecord(
                approval.slot,
                approval.user,
                approval.at,
                approval.note_id,
                ctx.fields_hash,
                role,
                approval.for_user,
            )
        )
    return tuple(out)
