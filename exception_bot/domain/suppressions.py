"""Suppression files kept in step with the register: the ignore file of a scanner that gates
by itself, written from the exceptions active for one project (``exception-bot suppressions``).

- Trivy's ``.trivyignore.yaml`` (trivy.dev, "Filtering": ``vulnerabilities``,
  ``misconfigurations`` and ``secrets``, each a list of ``id`` with ``expired_at`` and
  ``statement``). Trivy drops an entry once ``expired_at`` is before now.
- Snyk's ``.snyk`` policy (docs.snyk.io, "snyk ignore": ``ignore: {ID: [{'*': {reason,
  expires, created}}]}``, ``version: v1.25.0``). Snyk drops an ignore once ``expires`` is past.

Both get the instant the exception ends (the start of the day after its expiry, in the
calendar's time zone, as ``run`` decides expiry), in UTC: the scanner blocks again exactly
when the gate does. This builds the data; :mod:`exception_bot.suppressions` writes it with a
safe YAML dumper, never string formatting: an id or an exception id cannot add keys or
documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from exception_bot.domain.calendar import day_start
from exception_bot.domain.gate import ActiveException, shown
from exception_bot.domain.settings import CalendarSettings

FORMATS = ("trivy", "snyk")
SNYK_POLICY_VERSION = "v1.25.0"


@dataclass(frozen=True)
class Suppressions:
    data: dict[str, Any]  # the file's content (moments as aware datetimes)
    skipped: tuple[str, ...]  # covered ids the format has no entry for


def suppressions(
    fmt: str, exceptions: Iterable[ActiveException], calendar: CalendarSettings
) -> Suppressions:
    """The ignore file in ``fmt`` (trivy or snyk) for ``exceptions``: one entry per covered id
    the format can name; an id two exceptions cover gets the one that lasts longest."""
    chosen: dict[str, ActiveException] = {}
    for exception in sorted(exceptions, key=lambda e: (e.expires, e.id)):
        for finding in exception.findings:
            chosen[finding] = exception
    place = _trivy_place if fmt == "trivy" else _snyk_place
    sections: dict[str, list[tuple[str, ActiveException]]] = {}
    skipped: list[str] = []
    for finding, exception in sorted(chosen.items()):
        where = place(finding)
        if where is None:
            skipped.append(finding)
        else:
            sections.setdefault(where[0], []).append((where[1], exception))
    data = _trivy(sections, calendar) if fmt == "trivy" else _snyk(sections, calendar)
    return Suppressions(data, tuple(skipped))


def ends_at(exception: ActiveException, calendar: CalendarSettings) -> datetime:
    return day_start(exception.expires + timedelta(days=1), calendar).astimezone(UTC)


def statement(exception: ActiveException) -> str:
    return (
        f"Exception {shown(exception.id, 60)} of the exception register, "
        f"in force through {exception.expires.isoformat()}"
    )


def _trivy_place(finding: str) -> tuple[str, str] | None:
    if finding.startswith(("CVE-", "GHSA-")):
        return "vulnerabilities", finding
    scanner, _, rule = finding.partition(":")
    if scanner != "trivy":
        return None
    # Trivy's misconfiguration ids are AVD-XXX-0000 in capitals; its secret rule ids are
    # lowercase words (aws-access-key-id). Covers keeps ids in lowercase.
    if rule.startswith("avd-"):
        return "misconfigurations", rule.upper()
    return "secrets", rule


def _snyk_place(finding: str) -> tuple[str, str] | None:
    if finding.startswith("CVE-"):
        return "ignore", finding
    scanner, _, rule = finding.partition(":")
    if scanner != "snyk":
        return None
    # Snyk's ids are SNYK-JS-LODASH-567746 in capitals; the older npm:ms:20170412 are not.
    return "ignore", rule.upper() if rule.startswith("snyk-") else rule


def _trivy(
    sections: dict[str, list[tuple[str, ActiveException]]], calendar: CalendarSettings
) -> dict[str, Any]:
    return {
        kind: [
            {"id": ident, "expired_at": ends_at(e, calendar), "statement": statement(e)}
            for ident, e in sections.get(kind, [])
        ]
        for kind in ("vulnerabilities", "misconfigurations", "secrets")
    }


def _snyk(
    sections: dict[str, list[tuple[str, ActiveException]]], calendar: CalendarSettings
) -> dict[str, Any]:
    ignore: dict[str, Any] = {}
    for ident, e in sections.get("ignore", []):
        rule: dict[str, Any] = {"reason": statement(e), "expires": ends_at(e, calendar)}
        if e.started is not None:
            rule["created"] = e.started
        ignore[ident] = [{"*": rule}]
    return {"version": SNYK_POLICY_VERSION, "ignore": ignore, "patch": {}}
