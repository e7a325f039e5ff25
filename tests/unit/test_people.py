"""Who asked for an exception: the author and the @handles of *Requester contact*."""

from __future__ import annotations

import pytest

from exception_bot.domain.people import requesters


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (None, {"bob"}),
        ("@bob (Finance Systems), bob@example.com", {"bob"}),
        ("Carol Chen (@Carol), carol@example.com", {"bob", "carol"}),  # case-insensitive
        ("carol@example.com", {"bob"}),  # an e-mail address names no GitLab user
        ("@carol.chen. and @sam, @x-y_z;", {"bob", "carol.chen", "sam", "x-y_z"}),
        ("ask @CAROL or (@sid)", {"bob", "carol", "sid"}),
        ("no handle at all", {"bob"}),
    ],
)
def test_requesters_are_the_author_and_every_handle(
    contact: str | None, expected: set[str]
) -> None:
    assert requesters("Bob", contact) == expected
