"""The state file: what it keeps round-trips, and no content of the file can stop a run."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exception_bot import state
from exception_bot.domain.actions import Action, CloseIssue, IssueRef, LinkIssues
from exception_bot.domain.model import LinkedIssue, RiskLevel, State
from exception_bot.domain.provenance import Merge, Verdict
from exception_bot.domain.report import RequestFacts
from tests.issues import FakeIssue, person
from tests.requests import body

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FACTS = RequestFacts(
    reference="security/exceptions#7",
    title="Keep TLS 1.1 on the payment gateway",
    web_url="https://gitlab.example.com/security/exceptions/-/issues/7",
    state=State.ACTIVE,
    stage=None,
    risk=RiskLevel.HIGH,
    stage_started_at=NOW,
    deadline=None,
    breached=False,
    expires=date(2027, 1, 15),
    exception_id="EXC-0007",
    renewal_of="EXC-0003",
    renewal_number=1,
    incidents=("security/exceptions#9",),
)


def test_what_is_saved_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    saved = state.Saved(
        {
            "security/exceptions#7": state.Seen("2026-11-23T09:00:00.000Z", NOW, FACTS),
            "security/exceptions#8": state.Seen(
                "2026-11-23T10:00:00.000Z",
                NOW,
                None,
                {"security/exceptions#7": NOW},
                state.Signs(3, ("a", "b"), (7,)),
            ),
        },
        state.RegisterSeen(
            "c0ffee",
            {"exceptions/EXC-0042.md": "---\nid: x\n---\n"},
            {
                "exceptions/EXC-0042.md": Verdict(
                    "b10b",
                    True,
                    "merge request !3",
                    Merge("http://x/-/merge_requests/3", "sue", NOW),
                ),
                "exceptions/EXC-0043.md": Verdict("b10c", False, "came by no merge request"),
            },
        ),
        '["1.0", "0123abcd", ["security/exceptions"]]',
    )
    state.save(path, saved)
    assert state.load(path) == saved


LISTED_AT = "2026-11-23T08:00:00.000Z"
READ_AT = datetime.fromisoformat(LISTED_AT)
RENEWAL = "security/exceptions#12"


LATER = NOW + timedelta(hours=1)
READ_RENEWAL = state.Seen(LISTED_AT, LATER, None, {RENEWAL: READ_AT})


@pytest.mark.parametrize(
    ("seen", "listed", "fresh"),
    [
        (state.Seen(LISTED_AT, LATER), {}, True),
        (state.Seen("2026-11-23T08:30:00.000Z", LATER), {}, False),  # edited since
        (state.Seen(LISTED_AT, NOW), {}, False),  # its wake-up time has come
        (READ_RENEWAL, {RENEWAL: LISTED_AT}, True),
        # The renewal it read has changed (it became active, say), or has left the list.
        (READ_RENEWAL, {RENEWAL: "2026-11-23T08:45:00.000Z"}, False),
        (READ_RENEWAL, {}, False),
        (READ_RENEWAL, {RENEWAL: "None"}, False),  # no time at all
    ],
)
def test_an_issue_is_fresh_while_it_and_what_it_read_are_unchanged(
    seen: state.Seen, listed: dict[str, str], fresh: bool
) -> None:
    assert state.fresh(seen, {"updated_at": LISTED_AT}, NOW, listed) is fresh


LISTED = {
    "updated_at": LISTED_AT,
    "user_notes_count": 2,
    "labels": ["exception::submitted", "ExceptionRequest"],
    "assignees": [{"id": 9, "username": "carol"}],
}


@pytest.mark.parametrize(
    ("change", "fresh"),
    [
        ({}, True),
        ({"user_notes_count": 1}, False),  # a comment deleted: it touches nothing
        ({"user_notes_count": 3}, False),  # a comment a throttled touch hid
        (
            {"labels": ["exception::submitted", "ExceptionRequest", "exception-action::reject"]},
            False,
        ),
        ({"assignees": []}, False),
        ({"labels": ["ExceptionRequest", "exception::submitted"]}, True),  # order is no change
    ],
)
def test_the_list_pages_signs_tell_of_changes_updated_at_hides(
    change: dict[str, object], fresh: bool
) -> None:
    seen = state.Seen(LISTED_AT, LATER, signs=state.signs(LISTED))
    assert state.fresh(seen, {**LISTED, **change}, NOW, {}) is fresh


@pytest.mark.parametrize(
    ("seconds", "depends", "settled"),
    [
        (121, {}, True),
        (120, {}, False),  # GitLab's minute, and a minute for the bot's clock running ahead
        (30, {}, False),
        (-5, {}, False),  # updated after the bot's clock says it read: its clock is behind
        (121, {RENEWAL: READ_AT + timedelta(seconds=60)}, False),  # what it read is too recent
        (121, {RENEWAL: READ_AT - timedelta(hours=1)}, True),
    ],
)
def test_an_issue_updated_within_the_throttle_window_of_the_read_is_not_recorded(
    seconds: int, depends: dict[str, datetime], settled: bool
) -> None:
    seen = state.Seen(LISTED_AT, LATER, None, depends)
    assert state.settled(seen, READ_AT + timedelta(seconds=seconds)) is settled
    assert not state.settled(state.Seen("yesterday", LATER), READ_AT + timedelta(days=1))


def test_an_issue_written_to_and_what_read_it_are_read_again() -> None:
    original = state.Seen(LISTED_AT, NOW, None, {RENEWAL: READ_AT})
    other = state.Seen(LISTED_AT, NOW)
    kept = {"security/exceptions#7": original, "security/exceptions#8": other}
    assert state.forget_written(kept, {RENEWAL}) == {"security/exceptions#8": other}
    assert state.forget_written(kept, {"security/exceptions#8"}) == {
        "security/exceptions#7": original
    }
    assert state.forget_written(kept, {"security/exceptions#9"}) == kept


def test_a_listed_issue_is_known_by_both_spellings_of_its_project() -> None:
    moved = {"updated_at": LISTED_AT, "references": {"full": "security/exceptions#7"}}
    listed = [(IssueRef("Security/Old-Exceptions", 7), moved)]
    assert state.listed_times(listed) == {
        "security/old-exceptions#7": LISTED_AT,
        "security/exceptions#7": LISTED_AT,
    }


def test_what_a_decision_read_besides_its_issue_is_kept_when_it_is_listed() -> None:
    def linked(iid: int, at: datetime | None) -> LinkedIssue:
        return LinkedIssue("security/exceptions", iid, "opened", frozenset(), "", "issue", at)

    issue = FakeIssue(body("low_staging"), person("bob"), NOW)
    issue.links = [linked(12, READ_AT), linked(13, READ_AT), linked(14, None)]
    original = FakeIssue(body("low_staging"), person("bob"), NOW, iid=3).snapshot()
    listed = {RENEWAL: LISTED_AT, "security/exceptions#14": LISTED_AT}  # 13 is closed
    assert state.read_besides(issue.snapshot(), None, listed) == {RENEWAL: READ_AT}
    listed["security/exceptions#3"] = LISTED_AT
    assert state.read_besides(issue.snapshot(), original, listed) == {
        RENEWAL: READ_AT,
        "security/exceptions#3": NOW,
    }


def test_a_link_writes_to_both_its_issues() -> None:
    renewal, original = IssueRef("security/exceptions", 12), IssueRef("Security/Exceptions", 3)
    actions: list[Action] = [CloseIssue(renewal), LinkIssues(renewal, original)]
    assert list(state.written_to(renewal, actions)) == [RENEWAL, "security/exceptions#3"]


def test_issue_keys_ignore_the_case_of_the_project_path() -> None:
    assert state.issue_key("Security/Exceptions", 7) == state.issue_key("security/exceptions", 7)


# Leaves and shapes a damaged or hand-edited file may hold, in the places the real one has.
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2026-11-23T09:00:00+00:00", "2027-01-15", "active", "high", "nope"]),
)
_VALUE = st.recursive(
    _LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_OPTIONAL_FACTS = [
    "stage", "risk", "stage_started_at", "deadline", "breached", "expires", "exception_id",
    "renewal_of", "renewal_number", "incidents",
]  # fmt: skip
_FACTS = st.fixed_dictionaries(
    {
        "reference": st.text(max_size=10),
        "title": st.text(max_size=10),
        "web_url": st.text(max_size=10),
        "state": st.sampled_from([s.value for s in State]),
    },
    optional=dict.fromkeys(_OPTIONAL_FACTS, _VALUE),
)
_SEEN = st.fixed_dictionaries({"updated_at": _VALUE, "wake": _VALUE, "facts": _FACTS | _VALUE})
_REGISTER = st.fixed_dictionaries(
    {}, optional={"source": _VALUE, "commit": _VALUE, "files": _VALUE}
)
_PAYLOAD = st.fixed_dictionaries(
    {"version": st.sampled_from([state.STATE_VERSION, 0, "1", None])},
    optional={
        "issues": st.dictionaries(st.text(max_size=10), _SEEN | _VALUE, max_size=3) | _VALUE,
        "register": _REGISTER | _VALUE,
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=_PAYLOAD)
def test_no_state_file_stops_a_run(tmp_path: Path, payload: dict[str, object]) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(payload))
    loaded = state.load(path)  # a cold run at worst
    assert isinstance(loaded, state.Saved)


_ENTRY = {"updated_at": "2026-11-23T09:00:00Z", "wake": "2026-11-24T09:00:00+00:00"}
_FACTS_JSON = {"reference": "p#1", "title": "t", "web_url": "u", "state": "active"}


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than the JSON parser's recursion
        json.dumps(
            {
                "version": state.STATE_VERSION,
                "issues": {"p#1": {**_ENTRY, "facts": {**_FACTS_JSON, "renewal_number": 1e400}}},
            }
        ),  # Infinity: too big for an int
        '{"version": 1, "issues": {"p#1": ',  # a write cut short
    ],
    ids=["nested", "infinity", "truncated"],
)
def test_a_damaged_file_costs_a_cold_run(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    assert state.load(path) == state.Saved()


def test_undecodable_bytes_cost_a_cold_run(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b'{"version": 1, "issues": {"\xff\xfe": 1}}')
    assert state.load(path) == state.Saved()
