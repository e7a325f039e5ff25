"""Label scopes, as GitLab Premium reads them (ee/app/models/ee/label.rb)."""

from __future__ import annotations

import pytest

from exception_bot.domain.labels import LabelScheme, scope
from exception_bot.sandbox.store import scoped_label_key


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a::b", "a"), ("a::b::c", "a::b"), ("plain", None), ("::x", ""), ("a:b", None)],
)
def test_the_bot_and_the_sandbox_read_a_scope_alike(name: str, expected: str | None) -> None:
    assert scope(name) == scoped_label_key(name) == expected


def test_the_default_labels_of_different_kinds_never_share_a_scope() -> None:
    assert LabelScheme().scope_clashes() == []
    assert LabelScheme(prefix="sec::exception").scope_clashes() == []


def test_an_intake_label_in_the_states_scope_clashes() -> None:
    clashes = LabelScheme(intake="exception::request").scope_clashes()
    assert clashes == [("exception::submitted", "exception::request")]
