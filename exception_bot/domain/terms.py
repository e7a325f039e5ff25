"""The approved terms: what the approvers approved, frozen at final approval.

From final approval on, the exception is what was approved, not what the description says
now: expiry, due date, reminders, risk, environment, the register entry and its file name all
come from the terms the bot kept in its record. A requester who edits the request afterwards
changes nothing (the bot says so and marks the issue until the text is put back); a change of
terms is a renewal, which goes through the approval route again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from exception_bot.domain.model import DataClassification, ExceptionRequest, RenewalRef, RiskLevel
from exception_bot.domain.request_covers import (
    LATER_FIELDS,
    covers_from_json,
    hashed_terms,
    kind_from_json,
)

_FIELDS = tuple(f.name for f in fields(ExceptionRequest))


@dataclass(frozen=True)
class Terms:
    """The approved request and title, and ``hash``: a digest of both (``approved_hash`` in
    the register, to compare with the issue's text as it stood when approved)."""

    request: ExceptionRequest
    title: str
    hash: str

    def matches(self, request: ExceptionRequest | None, title: str) -> bool:
        """Whether the issue says today what was approved."""
        return request is not None and terms_of(request, title).hash == self.hash


def terms_of(request: ExceptionRequest, title: str) -> Terms:
    payload = _fields(request)
    text = json.dumps({"fields": payload, "title": title}, sort_keys=True, ensure_ascii=False)
    return Terms(request, title, hashlib.sha256(text.encode()).hexdigest()[:32])


def to_payload(terms: Terms) -> dict[str, Any]:
    """The terms as the record's JSON keeps them."""
    return {"fields": _fields(terms.request), "title": terms.title, "hash": terms.hash}


def from_payload(data: Any) -> Terms:
    """The terms back from the record's JSON; ValueError (or KeyError, TypeError) when they
    are not what the bot wrote."""
    values: dict[str, Any] = {name: data["fields"].get(name) for name in _FIELDS}
    renews = values["renews"]
    classification = values["data_classification"]
    values |= {
        "kind": kind_from_json(values["kind"]),
        "covers": covers_from_json(values["covers"]),
        "data_classification": DataClassification(classification) if classification else None,
        "risk_level": RiskLevel(values["risk_level"]),
        "expiration_date": date.fromisoformat(values["expiration_date"]),
        "renews": RenewalRef(**renews) if renews else None,
    }
    request = ExceptionRequest(**values)
    terms = Terms(request, str(data["title"]), str(data["hash"]))
    if terms_of(request, terms.title).hash != terms.hash:
        raise ValueError("the approved terms do not match their hash")
    return terms


def _fields(request: ExceptionRequest) -> dict[str, Any]:
    # Kind and Covers came later: kept only when set, so the hashes of terms recorded before
    # them stay what they were.
    out: dict[str, Any] = {name: getattr(request, name) for name in _FIELDS}
    for name in LATER_FIELDS:
        del out[name]
    out |= hashed_terms(request)
    out["data_classification"] = (
        request.data_classification.value if request.data_classification else None
    )
    out["risk_level"] = request.risk_level.value
    out["expiration_date"] = request.expiration_date.isoformat()
    renews = request.renews
    out["renews"] = (
        None
        if renews is None
        else {
            "iid": renews.iid,
            "project_path": renews.project_path,
            "exception_id": renews.exception_id,
        }
    )
    return out
