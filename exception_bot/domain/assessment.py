"""The security team's assessment of a request's risk level, as the bot's record keeps it
(docs/explanation/routing.md, "The security team assesses the risk").

The requester writes a risk level; an approver of the security stage may set another with an
``exception-action::risk-<level>`` label. A raise takes effect at once; a lowering is only
*proposed* until the CISO adds the same label (the CISO's own label takes effect at once).
What the requester wrote stays in the description, the approved terms and the approvals'
hashes; the assessed level is the one the request is routed, labelled and registered by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exception_bot.domain.model import RiskLevel

# Higher first: a lower index is a higher risk.
_ORDER = tuple(RiskLevel)


@dataclass(frozen=True)
class Assessment:
    """A risk level set by ``by`` with the label event ``event_id``; ``confirmed_by``: the
    CISO who confirmed a lowering."""

    level: RiskLevel
    by: str
    at: datetime
    event_id: int
    confirmed_by: str | None = None
    # The level the requester had written when it was assessed (None: a record from before).
    written: RiskLevel | None = None


@dataclass(frozen=True)
class RiskRecord:
    """The assessment in force, and a lowering waiting for the CISO."""

    assessed: Assessment | None = None
    proposed: Assessment | None = None


def lower(level: RiskLevel, than: RiskLevel) -> bool:
    return _ORDER.index(level) > _ORDER.index(than)


def effective(written: RiskLevel, risk: RiskRecord | None) -> RiskLevel:
    """The level the request goes by: the assessment in force, else what the requester wrote.

    An assessment lower than the level written now holds only for the text it assessed: a
    requester who writes a higher level afterwards (the scope grew) is not routed lower by
    an assessment of another level, which no CISO lowered."""
    assessed = None if risk is None else risk.assessed
    if assessed is None:
        return written
    if lower(assessed.level, written) and assessed.written not in (None, written):
        return written
    return assessed.level


def to_payload(risk: RiskRecord) -> dict[str, Any]:
    return {"assessed": _assessment(risk.assessed), "proposed": _assessment(risk.proposed)}


def _assessment(a: Assessment | None) -> dict[str, Any] | None:
    if a is None:
        return None
    payload: dict[str, Any] = {
        "level": a.level.value,
        "by": a.by,
        "at": a.at.isoformat(),
        "event": a.event_id,
    }
    if a.confirmed_by is not None:
        payload["confirmed_by"] = a.confirmed_by
    if a.written is not None:
        payload["written"] = a.written.value
    return payload


def from_payload(payload: Any) -> RiskRecord | None:
    if not isinstance(payload, dict):
        return None
    return RiskRecord(_read(payload.get("assessed")), _read(payload.get("proposed")))


def _read(payload: Any) -> Assessment | None:
    if not isinstance(payload, dict):
        return None
    confirmed = payload.get("confirmed_by")
    written = payload.get("written")
    return Assessment(
        RiskLevel(payload["level"]),
        str(payload["by"]),
        datetime.fromisoformat(payload["at"]),
        int(payload["event"]),
        str(confirmed) if confirmed is not None else None,
        RiskLevel(written) if written is not None else None,
    )
