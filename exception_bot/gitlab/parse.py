"""GitLab's JSON as the core's values: users, notes, label events, linked issues, members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from exception_bot.domain.model import LabelAction, LabelEvent, LinkedIssue, Note, User
from exception_bot.domain.people import Member


def when(value: str) -> datetime:
    # GitLab writes "2026-11-22T12:00:00.000Z"; fromisoformat reads the Z since Python 3.11.
    return datetime.fromisoformat(value)


def user(data: dict[str, Any] | None) -> User:
    if not data:  # a deleted user: GitLab shows "Ghost User"
        return User(0, "ghost")
    return User(int(data["id"]), str(data["username"]))


def linked(data: dict[str, Any]) -> LinkedIssue | None:
    """A linked issue; its project from ``references.full`` (``group/proj#12``) or its URL."""
    full = str((data.get("references") or {}).get("full") or "")
    project = full.rsplit("#", 1)[0] if "#" in full else ""
    if not project:
        project = str(data.get("web_url") or "").split("/-/issues/")[0].split("/", 3)[-1]
    if not project:
        return None
    return LinkedIssue(
        project,
        int(data["iid"]),
        str(data.get("state") or "opened"),
        frozenset(data.get("labels") or ()),
        str(data.get("description") or ""),
        str(data.get("issue_type") or "issue"),
        when(data["updated_at"]) if data.get("updated_at") else None,
    )


def member(data: dict[str, Any]) -> Member:
    state = data.get("membership_state")
    return Member(
        str(data["username"]),
        int(data["access_level"]),
        str(data.get("state") or "active"),
        str(state) if state is not None else None,
    )


def note(data: dict[str, Any]) -> Note:
    return Note(
        int(data["id"]),
        user(data.get("author")),
        str(data.get("body") or ""),
        bool(data.get("system")),
        when(data["created_at"]),
    )


def label_event(data: dict[str, Any]) -> LabelEvent | None:
    label = data.get("label")
    if not label:  # the label was deleted since; the event no longer names it
        return None
    return LabelEvent(
        int(data["id"]),
        user(data.get("user")),
        str(label["name"]),
        LabelAction(data["action"]),
        when(data["created_at"]),
    )
