"""The bot's record in its status note: what it writes it reads back, and a record nobody
could read is no record, whatever is in it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from exception_bot.domain import record

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_what_is_encoded_is_decoded() -> None:
    written = record.Record(
        state="in-review",
        approvals=(record.ApprovalRecord("department_head", "carol", AT, 41, "ab12"),),
        decision=record.Decision("request-changes", "erin", AT, 7),
        stage="exception-stage::policy-owner",
        stage_started_at=AT,
        milestones=MappingProxyType({"approved": AT}),
        renewal_of="EXC-0003",
        renewal_number=1,
    )
    assert record.decode(f"**status**\n\n{record.encode(written)}") == written


def _note(payload: str) -> str:
    return f"<!-- exception-bot:record:{base64.b64encode(payload.encode()).decode()} -->"


@pytest.mark.parametrize(
    "body",
    [
        "<!-- exception-bot:record:not*base64 -->",
        _note("not json"),
        _note("[" * 100_000 + "]" * 100_000),  # deeper than the JSON parser's recursion
        _note(json.dumps({"approvals": [{"slot": "x", "user": "y", "at": "z", "note": 1e400}]})),
        _note(json.dumps({"approvals": [{"slot": "x", "user": "y", "at": 5, "note": 1}]})),
        _note(json.dumps({"milestones": ["approved"]})),
        _note(json.dumps([1, 2])),
    ],
    ids=["base64", "json", "nested", "infinity", "at", "milestones", "list"],
)
def test_an_unreadable_record_is_no_record(body: str) -> None:
    assert record.decode(body) is None
