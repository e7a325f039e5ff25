"""Register entries: ids, paths, YAML that survives any text, confidential redaction."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exception_bot.domain.fields import parse_body
from exception_bot.domain.register import (
    RegisterFormatError,
    entry_path,
    exception_id,
    index_json,
    index_markdown,
    index_row,
    index_rows,
    merge_row,
    read_front_matter,
    read_index,
    register_files,
    render_entry,
    sections_for,
    slug,
)
from exception_bot.domain.settings import Config
from exception_bot.domain.validation import validate
from tests.requests import NOW, body, default_config
from tests.support.entries import entry


@pytest.mark.parametrize(
    ("prefix", "iid", "expected"),
    [("EXC-", 42, "EXC-0042"), ("EXC-PAY-", 7, "EXC-PAY-0007"), ("EXC-", 12345, "EXC-12345")],
)
def test_exception_id(prefix: str, iid: int, expected: str) -> None:
    assert exception_id(prefix, iid) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Keep TLS 1.1 on fin-report-01!", "keep-tls-1-1-on-fin-report-01"),
        ("Ünïcödé café — naïve", "unicode-cafe-naive"),
        ("🚀🚀", "exception"),
        ('/label ~"exception::approved" ../../etc/passwd', "label-exception-approved-etc-passwd"),
        ("word " * 40, "word-" * 8 + "word"),
    ],
)
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected


def test_entry_paths(config: Config) -> None:
    assert entry_path(config, entry()) == "exceptions/EXC-0042-keep-tls-1-1-on-the-reporting-vm.md"
    assert entry_path(config, entry(), archived=True).startswith("archive/EXC-0042-")


def test_entry_round_trips_through_yaml() -> None:
    text = render_entry(entry())
    data = read_front_matter(text)
    assert data is not None
    assert data["id"] == "EXC-0042"
    assert data["expires_at"] == "2027-01-15"
    assert data["approvals"] == [
        {"role": "department_head", "user": "carol", "at": "2026-11-24T15:30:00+00:00"}
    ]
    assert "## Scope\n\n```text\nfin-report-01\n```" in text


HOSTILE = st.text(min_size=0, max_size=200) | st.sampled_from(
    [
        "---",
        "...",
        "key: value",
        "- [x] x",
        "| a | b |",
        "\n---\nid: EXC-9999\n---\n",
        "!!python/object/apply:os.system ['id']",
        "{{ x }}",
        "@all",
        "<script>",
        "\x00\x85\u2028",
        "\ufeff",
        "'",
        '"',
        "#",
        "&anchor",
        "*alias",
        "%YAML 1.1",
    ]
)


@settings(max_examples=200, deadline=None)
@given(title=HOSTILE, scope=HOSTILE, requester=HOSTILE)
def test_any_text_survives_the_yaml_and_the_table(title: str, scope: str, requester: str) -> None:
    hostile = entry(title=title, requester=requester, sections={"Scope": scope})
    data = read_front_matter(render_entry(hostile))
    assert data is not None
    assert data["title"] == title
    assert data["requester"] == requester
    assert data["id"] == "EXC-0042"
    table = index_markdown(index_rows([hostile], {"EXC-0042": "exceptions/x.md"}))
    row = next(line for line in table.splitlines() if line.startswith("| [`EXC-0042`]"))
    assert row.count(" | ") == 6  # seven cells, whatever the title holds


def test_confidential_request_keeps_free_text_out() -> None:
    config = default_config()
    request = validate(parse_body(body("low_staging")), config, created_at=NOW, now=NOW).request
    assert request is not None
    shown = sections_for(request, confidential=False, config=config)
    assert "Scope" in shown
    assert sections_for(request, confidential=True, config=config) == {}  # the summary too
    allowed = replace(config, register=replace(config.register, include_confidential_details=True))
    assert sections_for(request, confidential=True, config=allowed) == shown


def test_index_lists_every_entry_and_charts_the_active_ones() -> None:
    entries = [entry(), entry(id="EXC-0007", status="closed", title="Old one")]
    rows = index_rows(entries, {"EXC-0042": "exceptions/EXC-0042-keep.md"})
    assert [r["id"] for r in rows] == ["EXC-0007", "EXC-0042"]
    text = index_markdown(rows)
    assert (
        "| [`EXC-0042`](exceptions/EXC-0042-keep.md) | `Keep TLS 1.1 on the reporting VM` |" in text
    )
    gantt = text[text.index("```mermaid") :]
    # The bar starts at approval (2026-11-24), not at the request (2026-11-22).
    assert "EXC-0042 Keep TLS 1.1 on the reporting VM :x1, 2026-11-24, 2027-01-15" in gantt
    assert "EXC-0007" not in gantt


def test_merging_a_row_keeps_hand_written_rows() -> None:
    by_hand = {"id": "LEGACY-1", "title": "Signed on paper", "status": "active"}
    ours = index_row(entry(), "exceptions/EXC-0042-keep.md")
    rows = merge_row(read_index(index_json([by_hand, {**ours, "status": "approved"}])), ours)
    assert [r["id"] for r in rows] == ["EXC-0042", "LEGACY-1"]
    assert rows[0] == ours
    assert rows[1] == by_hand
    assert "| `LEGACY-1` | `Signed on paper` | `active` |" in index_markdown(rows)


@pytest.mark.parametrize(
    "text",
    ["{not json", '{"id": "x"}', '[{"title": "no id"}]', "[1]", "[" * 100_000 + "]" * 100_000],
)
def test_a_broken_index_is_refused_not_replaced(text: str) -> None:
    with pytest.raises(RegisterFormatError, match="repair it"):
        read_index(text)


def test_register_files_writes_only_what_changed() -> None:
    ours = entry()
    path = "exceptions/EXC-0042-keep.md"
    row = index_row(ours, path)
    first = register_files({}, path, render_entry(ours), row)
    assert set(first) == {path, "register.json", "REGISTER.md"}
    assert register_files(first, path, render_entry(ours), row) == {}
    archived = "archive/EXC-0042-keep.md"
    closed = replace(ours, status="closed")
    moved = register_files(
        first, archived, render_entry(closed), index_row(closed, archived), [path]
    )
    assert moved[path] is None
    assert read_index(moved["register.json"])[0]["path"] == archived
