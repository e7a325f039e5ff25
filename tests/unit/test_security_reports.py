"""Report files as the gate reads them: the schema versions it knows, and one line for each
file it will not read (not JSON, unknown version, over the size cap)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exception_bot.errors import UsageError
from exception_bot.security_reports import filtered_report, filtered_text, read_report
from tests.support.security_reports import dependency_report, vulnerability


@pytest.mark.parametrize("version", ["14.0.0", "14.1.3", "15.0.0", "15.0.7", "15.2.1"])
def test_known_versions(tmp_path: Path, version: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(dependency_report([vulnerability("CVE-2024-1")], version)))
    report = read_report(path)
    assert len(report.findings) == 1
    assert report.scan_type == "dependency_scanning"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "not a JSON security report"),
        (b"\xff\xfe{", "not a JSON security report"),
        (b"[]", "its JSON is not an object"),
        (b'{"vulnerabilities": []}', "no schema version"),
        (b'{"version": 15, "vulnerabilities": []}', "no schema version"),
        (b'{"version": "16.0.0", "vulnerabilities": []}', "schema version '16.0.0'"),
        (b'{"version": "13.1.0", "vulnerabilities": []}', "is not one the gate knows"),
        (b'{"version": "15.0", "vulnerabilities": []}', "no schema version"),
        (b'{"version": "15.0.0"}', "not a list"),
        (
            b'{"version": "15.0.0", "vulnerabilities": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
            "nested too deep",
        ),
        (
            b'{"version": "15.0.0", "vulnerabilities": [' + b"9" * 5000 + b"]}",
            "not a JSON security report",
        ),
    ],
)
def test_files_it_will_not_read(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=words) as caught:
        read_report(path)
    assert "\n" not in str(caught.value)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # 100 MB, sparse: nothing to read, all to refuse
    with pytest.raises(UsageError, match="100 MB is over the gate's limit of 64 MB"):
        read_report(path)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such report file"):
        read_report(tmp_path / "nope.json")
    with pytest.raises(UsageError, match="is a directory"):
        read_report(tmp_path)


def test_the_filtered_report_keeps_every_other_key(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    data = dependency_report([vulnerability("CVE-2024-1"), 7, vulnerability("CVE-2024-2")])  # type: ignore[list-item]
    path.write_text(json.dumps(data))
    report = read_report(path)
    assert report.findings[1] == {}  # not an object: a finding nobody can name
    kept = filtered_report(report, {1, 2})
    assert kept["vulnerabilities"] == [7, data["vulnerabilities"][2]]
    assert {k: v for k, v in kept.items() if k != "vulnerabilities"} == {
        k: v for k, v in data.items() if k != "vulnerabilities"
    }


def _report_text(**scan: object) -> str:
    data = dependency_report([vulnerability("CVE-2024-1")])
    data["scan"] = {**data["scan"], **scan}
    return json.dumps(data)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        # A scanner that failed writes what it found before it failed, or nothing: the gate
        # would pass a pipeline whose scanner never looked.
        (_report_text(status="failure"), "its scan as 'failure'"),
        (_report_text(status=None), "its scan as 'None'"),
        (json.dumps({"version": "15.0.7", "vulnerabilities": []}), "no scan.status"),
        (json.dumps({"version": "15.0.7", "vulnerabilities": [], "scan": "ok"}), "no scan.status"),
        # Not JSON: Python reads NaN and Infinity, which no other reader of the report would.
        (_report_text().replace('"High"', "NaN", 1), "NaN"),
        (_report_text().replace('"High"', "-Infinity", 1), "Infinity"),
        # One key twice: whichever copy a reader keeps, another reader keeps the other.
        (
            _report_text().replace(
                '"severity": "High"', '"severity": "Critical", "severity": "Low"'
            ),
            "'severity' twice",
        ),
        (
            _report_text().replace(
                '"vulnerabilities": [', '"vulnerabilities": [], "vulnerabilities": [', 1
            ),
            "'vulnerabilities' twice",
        ),
    ],
)
def test_reports_that_would_hide_findings_are_refused(
    tmp_path: Path, content: str, words: str
) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=words) as caught:
        read_report(path)
    assert "\n" not in str(caught.value)


def test_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(b"\xef\xbb\xbf" + _report_text().encode())
    assert len(read_report(path).findings) == 1


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(st.text(max_size=6), _JSON, max_size=4),
    st.lists(_JSON, max_size=5),
    st.sampled_from([None, 0, 2]),
)
def test_the_report_is_read_as_json_reads_it(
    other: dict[str, object], findings: list[object], indent: int | None
) -> None:
    """The gate parses a report's top level itself (to know where each finding lies) and each
    value with json's decoder: what it reads is what json.loads reads."""
    from exception_bot.security_reports import _parse_top

    doc = {**other, "vulnerabilities": findings}
    text = json.dumps(doc, indent=indent)
    data, source = _parse_top(text)
    assert data == json.loads(text)
    assert source is not None
    assert [json.loads(text[a:b]) for a, b in source.spans] == findings


@pytest.mark.parametrize(
    "text",
    [
        '{"version": "15.0.7", "vulnerabilities": []} x',
        '{"version": "15.0.7" "vulnerabilities": []}',
        '{"version": "15.0.7", "vulnerabilities": [{},]}',
        '{"version": "15.0.7", "vulnerabilities": [{} {}]}',
        '{"version": "15.0.7", "vulnerabilities": [}',
        '{"version": "15.0.7",}',
        '{version: "15.0.7"}',
        '{"version"  "15.0.7"}',
        '{"a\x01": 1}',
        "",
    ],
)
def test_malformed_json_is_refused_as_json_refuses_it(tmp_path: Path, text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    path = tmp_path / "r.json"
    path.write_text(text)
    with pytest.raises(UsageError, match="not a JSON security report"):
        read_report(path)


def test_the_filtered_report_is_cut_from_the_report_and_ascii(tmp_path: Path) -> None:
    findings = [vulnerability(f"CVE-2024-{n}") for n in range(1000, 1005)]
    findings[2]["description"] = "bidi \u202e and an emoji \U0001f600 and an escape \x1b"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(dependency_report(findings), indent=2, ensure_ascii=False))
    report = read_report(path)
    text = filtered_text(report, {0, 2, 4})
    assert text.isascii()
    assert "\x1b" not in text
    assert json.loads(text) == filtered_report(report, {0, 2, 4})
    assert json.loads(filtered_text(report, set()))["vulnerabilities"] == []
