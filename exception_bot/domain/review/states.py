"""Which states mean what to the review: the sets docs/explanation/how-run-decides.md names."""

from __future__ import annotations

from exception_bot.domain.model import State

# States in which the bot looks after an approved exception (docs/explanation/after-approval.md).
AFTERCARE = frozenset({State.APPROVED, State.ACTIVE, State.EXPIRED})
# States that put the exception in the register, and those whose entry lives in its archive.
REGISTERED = frozenset(
    {State.APPROVED, State.ACTIVE, State.EXPIRED, State.CLOSED, State.REVOKED, State.RENEWED}
)
ARCHIVED = frozenset({State.CLOSED, State.REVOKED, State.RENEWED})
# Once the bot has put a request in one of these states, routing no longer moves it.
SETTLED = frozenset({State.REJECTED, *AFTERCARE, State.CLOSED, State.REVOKED, State.RENEWED})
REVOCABLE = AFTERCARE
# Requests that are over: their issue is closed.
ENDED = frozenset({State.REVOKED, State.RENEWED, State.CLOSED})
# States in which a stage of approvers is being waited for.
ROUTING = frozenset({State.IN_REVIEW, State.ESCALATED, State.APPEAL})
