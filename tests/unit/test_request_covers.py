"""Kind and Covers (docs/reference/request.md): shapes, normalisation, hostile values, and the
hashes of requests approved before the fields existed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exception_bot.domain.approvals import fields_hash
from exception_bot.domain.fields import parse_body
from exception_bot.domain.lint import lint_entry
from exception_bot.domain.model import Covers, ExceptionKind, ExceptionRequest
from exception_bot.domain.register import (
    front_matter,
    index_row,
    parse_front_matter,
    render_entry,
)
from exception_bot.domain.request_covers import (
    MAX_FINDINGS,
    MAX_PROJECTS,
    cover_fields,
    parse_covers,
)
from exception_bot.domain.settings import Config
from exception_bot.domain.terms import from_payload, terms_of, to_payload
from exception_bot.domain.validation import Validation, validate
from exception_bot.domain.verify import EntryFile, check_index
from tests.requests import NOW, body
from tests.support.entries import entry
from tests.support.live import mentions


def check(kind: str | None, covers: str | None, config: Config) -> Validation:
    text = body("low_staging")
    if kind is not None:
        text += f"\n## Kind\n\n{kind}\n"
    if covers is not None:
        text += f"\n## Covers\n\n{covers}\n"
    return validate(parse_body(text), config, created_at=NOW, now=NOW)


GOOD = "- project: group/app\n- finding: CVE-2024-12345"
_PIECES = (
    "- project: ",
    "- finding: ",
    "**Findings:** ",
    "group/app",
    "CVE-2024-12345",
    "semgrep:a.b",
    "image:r.io/a/b:1",
    "*",
    ", ",
    "\n",
    " ",
    "@alice",
    "`",
    "<b>",
    ":",
)


@pytest.mark.parametrize(
    ("kind", "covers", "expected_kind", "expected"),
    [
        (None, None, None, Covers()),
        ("Gate", GOOD, ExceptionKind.GATE, Covers(("group/app",), ("CVE-2024-12345",))),
        ("- **vulnerability**", GOOD, ExceptionKind.VULNERABILITY, None),
        ("False positive", None, ExceptionKind.FALSE_POSITIVE, Covers()),
        ("false-positive", None, ExceptionKind.FALSE_POSITIVE, Covers()),
        ("Legacy", "- project: Group/Legacy-App", ExceptionKind.LEGACY, None),
        (
            "Gate",
            "**Projects:** Group/App, group/lib\n"
            "**Findings:** `cve-2024-12345`, GHSA-jfh8-c2jp-5v3q, semgrep:Python.Lang.Eval\n"
            "- finding: image:Registry.example.com/group/app:1.2.3\n"
            "- finding: CVE-2024-12345",
            ExceptionKind.GATE,
            Covers(
                ("group/app", "group/lib"),
                (
                    "CVE-2024-12345",
                    "GHSA-jfh8-c2jp-5v3q",
                    "semgrep:python.lang.eval",
                    "image:registry.example.com/group/app:1.2.3",
                ),
            ),
        ),
    ],
)
def test_kind_and_covers_are_read_and_normalised(
    kind: str | None,
    covers: str | None,
    expected_kind: ExceptionKind | None,
    expected: Covers | None,
    config: Config,
) -> None:
    result = check(kind, covers, config)
    assert result.problems == ()
    assert result.request is not None
    assert result.request.kind is expected_kind
    if expected is not None:
        assert result.request.covers == expected


@pytest.mark.parametrize(
    ("kind", "covers", "words"),
    [
        ("Maybe", None, "not a known kind"),
        ("Gate\nLegacy", None, "single value"),
        ("Gate", None, "must name the projects and the findings"),
        ("Vulnerability", "- project: group/app", "must name the projects and the findings"),
        ("Gate", "- finding: CVE-2024-12345", "findings but no project"),
        (None, "- finding: CVE-2024-12345", "findings but no project"),
        ("Gate", "- project: *\n- finding: CVE-2024-12345", "wildcard"),
        ("Gate", "- project: group/*\n- finding: CVE-2024-12345", "wildcard"),
        ("Gate", "- project: group/app\n- finding: CVE-2024-*", "wildcard"),
        ("Gate", "- project: group/app\n- finding: *", "wildcard"),
        ("Gate", "- project: https://gitlab.example.com/group/app\n" + GOOD, "URL"),
        ("Gate", "- project: group\n- finding: CVE-2024-12345", "not a project path"),
        ("Gate", "- project: group/app\n- finding: cwe:79", "class of weakness"),
        ("Gate", GOOD + "\n- everything please", "names no project or finding"),
        ("Gate", GOOD + "\n- finding:", "names no project or finding"),
        (
            "Gate",
            "- project: a/b\n" + "".join(f"- finding: CVE-2024-{n:05d}\n" for n in range(101)),
            f"more than {MAX_FINDINGS} findings",
        ),
        (
            "Legacy",
            "".join(f"- project: g/p{n}\n" for n in range(MAX_PROJECTS + 1)),
            f"more than {MAX_PROJECTS} projects",
        ),
    ],
)
def test_bad_kind_or_covers_is_one_problem_saying_the_fix(
    kind: str | None, covers: str | None, words: str, config: Config
) -> None:
    result = check(kind, covers, config)
    (problem,) = result.problems
    assert problem.field in ("kind", "covers")
    assert words in problem.what
    assert problem.what.endswith(".")
    assert problem.fix


@pytest.mark.parametrize(
    "hostile",
    [
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "@alice",
        '/label ~"exception::approved"',
        "CVE-2024-1234`<b>`",
        "x" * 5000,
    ],
)
def test_hostile_covers_values_are_refused_and_shown_inert(hostile: str, config: Config) -> None:
    result = check("Gate", f"- project: group/app\n- finding: {hostile}", config)
    (problem,) = result.problems
    assert problem.field == "covers"
    assert not mentions(problem.message)
    assert "<img" not in problem.message.replace("`<img", "")
    assert "](" not in problem.message.replace("`[click](", "")
    assert len(problem.message) < 1000


def _old_fields_hash(request: ExceptionRequest) -> str:
    """fields_hash as it was before Kind and Covers: records in GitLab hold these."""
    data = {f.name: getattr(request, f.name) for f in fields(request)}
    del data["kind"], data["covers"]
    if request.renews is not None:
        data["renews"] = asdict(request.renews)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_hashes_of_requests_without_kind_or_covers_do_not_change(config: Config) -> None:
    request = check(None, None, config).request
    assert request is not None
    assert fields_hash(request) == _old_fields_hash(request)
    terms = terms_of(request, "Keep TLS")
    payload = to_payload(terms)
    assert "kind" not in payload["fields"]
    assert "covers" not in payload["fields"]
    assert from_payload(payload) == terms


def test_covers_are_part_of_the_approved_terms(config: Config) -> None:
    request = check("Gate", GOOD, config).request
    assert request is not None
    terms = terms_of(request, "Let the release through")
    assert from_payload(to_payload(terms)) == terms
    widened = replace(request, covers=Covers(("group/app",), ("CVE-2024-12345", "CVE-2024-9999")))
    assert not terms.matches(widened, "Let the release through")
    assert fields_hash(widened) != fields_hash(request)
    assert not terms.matches(replace(request, kind=ExceptionKind.LEGACY), terms.title)


def test_the_register_keeps_kind_and_covers_even_when_redacted() -> None:
    covers = Covers(("group/app",), ("CVE-2024-12345",))
    redacted = entry(kind="gate", covers=covers, redacted=True, confidential=True, sections={})
    matter = front_matter(redacted)
    assert matter["kind"] == "gate"
    assert matter["covers"] == {"projects": ["group/app"], "findings": ["CVE-2024-12345"]}
    row = index_row(redacted, "exceptions/EXC-0042-confidential.md")
    assert row["kind"] == "gate"
    assert row["covers"] == matter["covers"]
    assert front_matter(entry())["covers"] == {"projects": [], "findings": []}


def test_a_hand_written_file_covers_only_what_parses(config: Config) -> None:
    data = {
        "kind": "gate",
        "covers": {
            "projects": ["Group/App", "*", 7],
            "findings": ["cve-2024-12345", "CVE-*", "cwe:79"],
        },
    }
    assert cover_fields(data) == {
        "kind": "gate",
        "covers": {"projects": ["group/app"], "findings": ["CVE-2024-12345"]},
    }
    assert cover_fields({"kind": "whatever", "covers": "everything"}) == {
        "kind": None,
        "covers": {"projects": [], "findings": []},
    }
    assert cover_fields({"covers": {"findings": ["CVE-2024-12345"]}})["covers"] == {
        "projects": [],
        "findings": [],
    }
    text = render_entry(entry()).replace(
        "kind: null\ncovers:\n  projects: []\n  findings: []\n",
        "kind: gate\ncovers:\n  projects: ['*']\n  findings: []\n",
    )
    checks = [p.check for p in lint_entry("exceptions/EXC-0042-x.md", text, config, NOW.date())]
    assert "bad-covers" in checks
    assert "missing-covers" in checks


def test_verify_compares_covers_as_the_watch_indexes_them(config: Config) -> None:
    text = render_entry(entry()).replace(
        "kind: null\ncovers:\n  projects: []\n  findings: []\n",
        "kind: Gate\ncovers:\n  projects: [Group/App]\n  findings: [cve-2024-12345]\n",
    )
    path = "exceptions/EXC-0042-keep.md"
    file = EntryFile(path, parse_front_matter(text), text)
    data = file.matter.data or {}
    row = {**index_row(entry(), path), **cover_fields(data)}
    assert check_index([row], [file]) == []
    widened = {**row, "covers": {"projects": ["group/app"], "findings": ["CVE-2021-44228"]}}
    (found,) = check_index([widened], [file])
    assert found.kind == "index-differs"
    assert found.what.startswith("register.json says covers")
    # A row and a file from before Covers cover nothing, and agree.
    old = {k: v for k, v in index_row(entry(), path).items() if k not in ("kind", "covers")}
    old_text = render_entry(entry()).replace(
        "kind: null\ncovers:\n  projects: []\n  findings: []\n", ""
    )
    assert check_index([old], [EntryFile(path, parse_front_matter(old_text), old_text)]) == []


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400) | st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_any_covers_text_is_read_or_refused_without_raising(text: str) -> None:
    covers, problem = parse_covers(text)
    if covers is None:
        assert problem is not None
        assert problem.what.endswith(".")
        assert not mentions(problem.message)
    else:
        assert len(covers.projects) <= MAX_PROJECTS
        assert len(covers.findings) <= MAX_FINDINGS
        assert not covers.findings or covers.projects
        assert all("*" not in value for value in (*covers.projects, *covers.findings))
