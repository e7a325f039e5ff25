"""User status (doc/api/users.md, "Get the status of a user", "Set your user status"): the
``availability`` a user sets (``busy`` or ``not_set``) with an emoji and a message.

GitLab: lib/api/users.rb ``get ":user_id/status"`` finds the user by id or by username, case
insensitively (``find_user``), and presents ``user.status || {}`` with
lib/api/entities/user_status.rb, so a user who never set a status answers every field null;
``put "status"`` / ``patch "status"`` on ``/user`` sets one's own (Users::SetStatusService).
A status is the user's own: no one else's token sets it, an admin's included.
"""

from __future__ import annotations

import html
from typing import Any

from exception_bot.sandbox.api import Call, Reply, ok, route
from exception_bot.sandbox.store import ApiError, Store, User

AVAILABILITY = ("not_set", "busy")  # app/models/user_status.rb: enum availability


@route("GET", "/users/:id/status")
def get_status(store: Store, call: Call) -> Reply:
    wanted = call.args["id"]
    found = store.users.get(int(wanted)) if wanted.isdigit() else store.user_named(wanted)
    if found is None:
        raise ApiError(404, "404 User Not Found")
    return ok(status(found))


@route("PUT", "/user/status")
def put_status(store: Store, call: Call) -> Reply:
    return ok(_set(call))


@route("PATCH", "/user/status")
def patch_status(store: Store, call: Call) -> Reply:
    return ok(_set(call))


@route("GET", "/user/status")
def own_status(store: Store, call: Call) -> Reply:
    return ok(status(call.user))


def _set(call: Call) -> dict[str, Any]:
    availability = call.param("availability", "not_set") or "not_set"
    if availability not in AVAILABILITY:
        raise ApiError(400, "availability does not have a valid value")
    set_status(call.user, availability, call.param("message"), call.param("emoji"))
    return status(call.user)


def set_status(user: User, availability: str, message: str | None, emoji: str | None) -> None:
    """What Users::SetStatusService keeps: an empty status (no message, no emoji, not busy)
    is no status at all."""
    if availability == "not_set" and not message and not emoji:
        user.status = None
        return
    user.status = {
        "emoji": emoji or "speech_balloon",
        "message": message,
        "availability": availability,
    }


def status(user: User) -> dict[str, Any]:
    found = user.status or {}
    message = found.get("message")
    return {
        "emoji": found.get("emoji"),
        "message": found.get("message"),
        "availability": found.get("availability"),
        "message_html": f"<p>{html.escape(str(message))}</p>" if message else None,
        "clear_status_at": None,
    }
