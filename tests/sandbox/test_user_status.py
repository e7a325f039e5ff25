"""User status (doc/api/users.md; lib/api/users.rb, lib/api/entities/user_status.rb): a user
sets their own with their token; anyone reads anyone's, by id or username."""

from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest

from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
FIELDS = {"emoji", "message", "availability", "message_html", "clear_status_at"}


def test_no_status_is_every_field_null(gl: Client) -> None:
    status = gl("bob").users.get("sid", lazy=True).status.get()
    assert set(status.attributes) - {"user_id"} == FIELDS  # python-gitlab adds user_id
    assert status.availability is None
    assert status.message is None


def test_a_user_sets_their_own_status_and_others_read_it(sandbox: Sandbox, gl: Client) -> None:
    sid = gl("sid")
    sid.auth()
    assert sid.user is not None
    own = sid.user.status.get()
    own.availability, own.message = "busy", "On leave"
    own.save()
    sid_id = sandbox.store.user_named("sid").id  # type: ignore[union-attr]
    for key in ("SID", "sid", sid_id):  # by username, case-insensitively, or by id
        read = gl("exception-bot").users.get(key, lazy=True).status.get()
        assert (read.availability, read.message, read.emoji) == (
            "busy",
            "On leave",
            "speech_balloon",
        )
    sandbox.set_status("sid", "not_set")
    assert gl("bob").users.get("sid", lazy=True).status.get().availability is None


def test_an_unknown_user_or_availability_is_refused(gl: Client) -> None:
    with pytest.raises(gitlab.GitlabGetError) as missing:
        gl("bob").users.get("nobody-here", lazy=True).status.get()
    assert missing.value.response_code == 404
    bob = gl("bob")
    bob.auth()
    assert bob.user is not None
    own = bob.user.status.get()
    own.availability = "away"
    with pytest.raises(gitlab.GitlabUpdateError) as wrong:
        own.save()
    assert wrong.value.response_code == 400
