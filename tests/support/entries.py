"""A register entry of the issue route, to vary one field at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from exception_bot.domain.register import ApprovalEntry, RegisterEntry
from tests.requests import NOW

APPROVED = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


def entry(**changes: object) -> RegisterEntry:
    base = RegisterEntry(
        id="EXC-0042",
        title="Keep TLS 1.1 on the reporting VM",
        status="approved",
        risk_level="low",
        department="finance",
        policy="encryption",
        environment="staging",
        requester="bob",
        source="https://gitlab.example.com/security/exceptions/-/issues/42",
        requested_at=NOW,
        expires_at=date(2027, 1, 15),
        approved_at=APPROVED,
        approvals=(ApprovalEntry("department_head", "carol", APPROVED),),
        sections={"Summary": "Keep TLS 1.1.", "Scope": "fin-report-01"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]
