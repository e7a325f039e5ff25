"""Exception files of the merge-request route are written by hand: whatever their front
matter holds, the watch, lint and mr-check read them without raising."""

from __future__ import annotations

import json
from datetime import UTC, date

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from exception_bot.domain.lint import lint_entry
from exception_bot.domain.merge_requests import check_file
from exception_bot.domain.people import Directory
from exception_bot.domain.register import (
    CHART_FIELDS,
    INDEX_FIELDS,
    INDEX_JSON,
    INDEX_MARKDOWN,
    read_front_matter,
    register_files,
)
from exception_bot.domain.settings import Config
from exception_bot.domain.watch import (
    WatchedFile,
    facts,
    index_row,
    reminder_due,
    watch_title,
    watched,
)

PATH = "exceptions/EXC-0042-keep-tls.md"
TODAY = date(2026, 11, 23)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(
        ["2027-01-15", "critical", "production", "@bob", "closed", "abc", "2", "²", "9" * 5000]
    ),
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
_FIELDS = (
    *INDEX_FIELDS,
    *CHART_FIELDS,
    "renewal_of",
    "renewal_number",
    "incidents",
    "approvals",
    "owner",
)
_FRONT_MATTER = st.fixed_dictionaries(
    {"id": st.just("EXC-0042"), "source": st.just("merge request")},
    optional={key: _VALUE for key in _FIELDS if key not in ("id", "source")},
)


def _not_json(constant: str) -> object:
    raise AssertionError(f"{constant} is not JSON: other tools cannot read the index")


def _file(front_matter: dict[str, object]) -> str:
    return f"---\n{yaml.safe_dump(front_matter, allow_unicode=True)}---\n\n# EXC-0042\n"


@settings(max_examples=300, deadline=None)
@given(front_matter=_FRONT_MATTER)
def test_any_front_matter_is_read_without_raising(
    config: Config, front_matter: dict[str, object]
) -> None:
    text = _file(front_matter)
    data = read_front_matter(text)
    assert data is not None  # YAML of our making always reads back: the watch sees it all
    file = watched(PATH, data, config)
    if file is not None:
        assert facts(file, "https://gitlab.example.com/blob").exception_id == "EXC-0042"
        row = index_row(file)
        assert row["path"] == PATH
        written = register_files({}, PATH, text, row)  # the index rows the watch commits
        rows = json.loads(written[INDEX_JSON] or "", parse_constant=_not_json)
        assert [r["id"] for r in rows] == ["EXC-0042"]
        assert "EXC-0042" in (written[INDEX_MARKDOWN] or "")
        reminder_due(file, config, TODAY)
        assert "EXC-0042" in watch_title(file)
    for problem in lint_entry(PATH, text, config, TODAY):
        assert problem.message
    check_file(PATH, text, "bob", ["carol"], config, Directory({}))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_is_linted_without_raising(config: Config, text: str) -> None:
    lint_entry(PATH, f"---\n{text}\n---\n", config, TODAY)
    read_front_matter(text)


@pytest.mark.parametrize(
    ("written", "read"),
    [(3, 3), ("2", 2), (" 4 ", 4), ("²", 0), ("9" * 5000, 0), (True, 0), ([1], 0), (None, 0)],
)
def test_a_renewal_number_is_read_only_when_it_is_one(written: object, read: int) -> None:
    file = WatchedFile(PATH, {"id": "EXC-0042", "renewal_number": written})
    assert facts(file, "https://gitlab.example.com/blob").renewal_number == read
