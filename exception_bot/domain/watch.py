"""Watching exceptions that came by merge request: no request issue carries them, so the bot
opens one reminder issue per exception when expiry draws near, and keeps the index in step.

An exception file belongs to this route when its ``source`` is not an issue of a requests
project (those the issue route watches already).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from exception_bot.domain import markers
from exception_bot.domain.calendar import day_of
from exception_bot.domain.charts import started
from exception_bot.domain.merge_requests import FileUnit
from exception_bot.domain.model import RiskLevel, State
from exception_bot.domain.register import CHART_FIELDS, INDEX_FIELDS
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.request_covers import cover_fields
from exception_bot.domain.settings import Config

WATCH = "watch"
UNVERIFIED = "unverified"
ENDED = frozenset({"closed", "revoked", "renewed"})


_ID_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class WatchedFile:
    """An exception file of the merge-request route, as the register holds it."""

    path: str
    data: Mapping[str, Any]

    @property
    def exception_id(self) -> str:
        return str(self.data.get("id") or self.path)

    @property
    def expires(self) -> date | None:
        return day_of(self.data.get("expires_at"))

    @property
    def unit(self) -> FileUnit:
        return FileUnit(str(self.data.get("department") or ""), str(self.data.get("policy") or ""))

    @property
    def owner(self) -> str:
        return str(self.data.get("requester") or "").lstrip("@")


@dataclass(frozen=True)
class Reminder:
    """What the bot should say about one watched exception today, under which marker key."""

    key: str  # "14", "7", "1" days before, or "expired"
    days_left: int


def from_issue_route(data: Mapping[str, Any], config: Config) -> bool:
    source = str(data.get("source") or "")
    return "/-/issues/" in source and any(
        f"/{p.path}/-/issues/".lower() in source.lower() for p in config.gitlab.requests_projects
    )


def issue_of(source: str, config: Config) -> tuple[str, int] | None:
    """The requests project and iid an entry's ``source`` names (``.../group/project/-/issues/7``),
    or None when it names no issue of the config's requests projects."""
    for project in config.gitlab.requests_projects:
        marker = f"/{project.path}/-/issues/".lower()
        start = source.lower().rfind(marker)
        tail = source[start + len(marker) :] if start >= 0 else ""
        if tail.isdecimal() and tail.isascii():
            return project.path, int(tail)
    return None


def watched(
    path: str, data: Mapping[str, Any] | None, config: Config, *, unverified: bool = False
) -> WatchedFile | None:
    """The file, when the merge-request route is what the bot must watch it for, or when it is
    ``unverified``: whatever route it claims, and whether or not its front matter (``data``)
    can be read (one that cannot is listed as a file with no fields)."""
    if data is None and unverified:
        data = {}
    if data is None or (from_issue_route(data, config) and not unverified):
        return None
    if not path.startswith(f"{config.register.directory}/"):
        return None  # archived files are done with
    if str(data.get("status") or "") in ENDED:
        return None
    return WatchedFile(path, data)


def reminder_due(file: WatchedFile, config: Config, today: date) -> Reminder | None:
    """The nearest reminder due, or the expiry notice; None while expiry is far away."""
    expires = file.expires
    if expires is None:
        return None
    days_left = (expires - today).days
    if days_left < 0:
        return Reminder("expired", days_left)
    due = [days for days in config.reminder_days if days_left <= days]
    return Reminder(str(min(due)), days_left) if due else None


def index_row(
    file: WatchedFile, current: Mapping[str, Any] | None = None, *, verified: bool = True
) -> dict[str, Any]:
    """The file's row of ``register.json``, written by the bot for a file a person wrote. An
    unverified file is listed with status ``unverified``; a bot's entry a person edited keeps
    the row the bot wrote (``current``), its status aside. The id is the file's, or its path
    when it names none (or none can be read): ``register.json`` rows each have a text id."""
    if not verified and current is not None and from_issue_row(current):
        return {**current, "status": UNVERIFIED}
    row = {key: _plain(file.data.get(key)) for key in (*INDEX_FIELDS, *CHART_FIELDS)}
    row |= cover_fields(file.data)
    status = {} if verified else {"status": UNVERIFIED}
    return {**row, "id": file.exception_id, "path": file.path, **status}


def from_issue_row(row: Mapping[str, Any]) -> bool:
    return "/-/issues/" in str(row.get("source") or "")


def _plain(value: object) -> object:
    """The value as strict JSON can hold it. A hand-written file may hold YAML dates and
    timestamps (the index holds ISO strings), at any depth, and .nan or .inf, which JSON has
    no word for."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def watch_marker(file: WatchedFile) -> str:
    return markers.marker(WATCH, file.exception_id)


def plain_id(file: WatchedFile) -> str:
    """The file's id as the bot writes it in issue titles and commit messages, which GitLab
    renders (mentions in titles notify: ``mentionable_attrs`` in app/models/issue.rb) and which
    cannot hold a code span that stays one everywhere: only the characters of an id."""
    return _ID_UNSAFE_RE.sub("_", file.exception_id)[:60]


def watch_title(file: WatchedFile) -> str:
    return f"Exception {plain_id(file)} expires on {file.expires}"


def alert_marker(file: WatchedFile) -> str:
    return markers.marker(UNVERIFIED, file.path)


def alert_title(file: WatchedFile) -> str:
    return f"Unverified register file: {plain_id(file)}"


def facts(file: WatchedFile, web_url: str, *, verified: bool = True) -> RequestFacts:
    """The exception as the weekly report sees it; an unverified file is never in force."""
    status = str(file.data.get("status") or "approved")
    try:
        state = State(status)
    except ValueError:
        state = State.APPROVED
    try:
        risk: RiskLevel | None = RiskLevel(str(file.data.get("risk_level") or "").lower())
    except ValueError:
        risk = None
    covers = cover_fields(file.data)["covers"]
    return RequestFacts(
        reference=file.path,
        title=str(file.data.get("title") or file.exception_id),
        web_url=web_url,
        state=state,
        risk=risk,
        expires=file.expires,
        in_force_since=started(file.data.get("approved_at"), file.data.get("activated_at")),
        exception_id=file.exception_id,
        renewal_of=_text(file.data.get("renewal_of")),
        renewal_number=_count(file.data.get("renewal_number")),
        incidents=_texts(file.data.get("incidents")),
        unverified=not verified,
        # What it covers, as far as it parses.
        covered_projects=tuple(covers["projects"]),
        covered_findings=tuple(covers["findings"]),
    )


# The file is written by hand, and YAML gives whatever was written: a list, a date, a bool.
def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _count(value: object) -> int:
    if isinstance(value, str):  # "2" counts; "²" and a 5,000-digit number do not
        digits = value.strip()
        return int(digits) if digits.isdecimal() and len(digits) <= 6 else 0
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _texts(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()
