"""The two values every step of the review is handed.

:class:`Review` is what the steps read and nobody changes: the issue, the run's context, the
request as validated. :class:`Walk` is what the steps pass on: each takes one and returns the
next (``dataclasses.replace``), with the state, the bot's record and the actions so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from exception_bot.domain import record
from exception_bot.domain.actions import Action
from exception_bot.domain.approvals import ApprovalState, Slot
from exception_bot.domain.escape import Markdown
from exception_bot.domain.labels import LabelScheme
from exception_bot.domain.model import ExceptionRequest, Flag, IssueSnapshot, State
from exception_bot.domain.people import requesters
from exception_bot.domain.review.context import Context
from exception_bot.domain.review.plan import Plan
from exception_bot.domain.settings import Config
from exception_bot.domain.stand_ins import Fall


@dataclass(frozen=True)
class Review:
    """One issue under review, as the steps read it."""

    issue: IssueSnapshot
    ctx: Context
    request: ExceptionRequest | None  # None: it does not validate (needs-info)
    flags: tuple[Flag, ...]
    requester: str  # the author, lower-case: the one with the requester's rights
    # Who may not approve: the author and whoever *Requester contact* names. The author
    # alone keeps the requester's rights (appeal, escalate): see people.requesters.
    requesters: frozenset[str]
    # The issue a renewal renews, when *Renews* names one that exists: shown to the CISO
    # when a rejected renewal is escalated (docs/explanation/escalations.md).
    original: IssueSnapshot | None = None
    # The request as the requester wrote it, when the security team assessed another risk
    # level: ``request`` then carries the assessed level (domain/review/risk_assessment.py).
    # The approvals' hashes and the approved terms are of what was written.
    written: ExceptionRequest | None = None

    @classmethod
    def of(
        cls,
        issue: IssueSnapshot,
        ctx: Context,
        request: ExceptionRequest | None,
        flags: tuple[Flag, ...],
    ) -> Review:
        contact = request.requester_contact if request else None
        return cls(
            issue,
            ctx,
            request,
            flags,
            issue.author.username.lower(),
            requesters(issue.author.username, contact),
        )

    @property
    def as_written(self) -> ExceptionRequest | None:
        """The request as its text says, whatever level the security team assessed."""
        return self.written or self.request

    @property
    def config(self) -> Config:
        return self.ctx.config

    @property
    def labels(self) -> LabelScheme:
        return self.ctx.config.labels

    def title(self, role: str) -> Markdown:
        """A role as the config titles it (the config is reviewed like code)."""
        return Markdown(self.ctx.config.roles[role].title)


@dataclass(frozen=True)
class Walk:
    """Where the review has got to: what each step returns for the next."""

    state: State
    rec: record.Record
    plan: Plan
    stages: tuple[tuple[Slot, ...], ...] = ()  # the route: its stages, in order
    current: tuple[Slot, ...] | None = None  # the stage being waited for
    approvals: ApprovalState | None = None  # the ticks counted, once the route is known
    holders: Mapping[str, frozenset[str]] = field(default_factory=dict)  # slot key -> users
    consumed: frozenset[str] = frozenset()  # action labels dealt with: to be removed
    tampered: tuple[int, ...] = ()  # the label events reported: the alert label is owed
    breached: bool = False  # the current stage is past its review deadline
    deadline: datetime | None = None  # the current stage's review deadline
    falls: tuple[Fall, ...] = ()  # slots no holder may approve: to whom they fell

    def post_once(self, kind: str, key: str, template: str, **context: object) -> Walk:
        return replace(self, plan=self.plan.post_once(kind, key, template, **context))

    def edit(self, action: Action) -> Walk:
        return replace(self, plan=self.plan.edit(action))

    def wake_at(self, *moments: datetime) -> Walk:
        return replace(self, plan=self.plan.wake_at(*moments))
