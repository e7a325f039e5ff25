"""The grammar of what an exception covers: every accepted id is bounded, every refused one
says what to write instead, and a report finding matches exactly the ids it carries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exception_bot.domain.covers import (
    Refused,
    finding_keys,
    matching,
    parse_finding,
    parse_project,
    project_covered,
)

HOST = "gitlab.example.com"


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("CVE-2021-44228", "CVE-2021-44228"),
        ("  cve-2021-44228\n", "CVE-2021-44228"),
        ("cve:CVE-2021-44228", "CVE-2021-44228"),
        ("GHSA-jfh8-c2jp-5v3q", "GHSA-jfh8-c2jp-5v3q"),
        ("ghsa-JFH8-C2JP-5V3Q", "GHSA-jfh8-c2jp-5v3q"),
        ("semgrep:python.lang.eval", "semgrep:python.lang.eval"),
        ("semgrep_id:Bandit.B303-1", "semgrep:bandit.b303-1"),
        ("Gemnasium:4B6AB8EE-c9a1", "gemnasium:4b6ab8ee-c9a1"),
        ("eslint:security/detect-object-injection", "eslint:security/detect-object-injection"),
        ("vulnerability:4B6AB8EE-1234", "vulnerability:4b6ab8ee-1234"),
        ("image:registry.gitlab.com/Group/App:V1.2", "image:registry.gitlab.com/group/app:V1.2"),
        ("image:alpine:3.18", "image:alpine:3.18"),
        ("image:reg:5000/app@sha256:" + "A" * 64, "image:reg:5000/app@sha256:" + "a" * 64),
    ],
)
def test_accepted_ids_are_normalised(text: str, normal: str) -> None:
    assert parse_finding(text) == normal


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "empty"),
        ("*", "wildcard"),
        ("CVE-2021-*", "wildcard"),
        ("semgrep:python.*", "wildcard"),
        ("semgrep:rule[0-9]", "wildcard"),
        ("image:registry.gitlab.com/app:{a,b}", "wildcard"),
        ("cwe:79", "class of weakness"),
        ("CWE_id:79", "class of weakness"),
        ("owasp:A1", "class of weakness"),
        ("lodash", "neither"),
        ("CVE-21-1", "neither"),
        ("semgrep:", "neither"),
        ("cve:semgrep:x", "does not hold a CVE"),
        ("semgrep:" + "a" * 250, "not an identifier"),
        ("x" * 1000, "characters long"),
        ("Sem grep!:x", "wildcard"),
        ("se$grep:x", "scanner name"),
        ("image:registry.gitlab.com/group/app", "no tag or digest"),
        ("image:Registry/App Name:1", "not an image reference"),
        ("semgrep:\x1b[31mred", "wildcard"),
    ],
)
def test_refused_ids_say_what_and_how(text: str, what: str) -> None:
    refused = parse_finding(text)
    assert isinstance(refused, Refused)
    assert what in refused.what
    assert refused.fix


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("group/app", "group/app"),
        ("Group/Sub/App/", "group/sub/app"),
        (f"https://{HOST}/Group/App", "group/app"),
        (f"https://{HOST}/group/app.git", "group/app"),
        ("https://evil.example/group/app", None),
        (f"ftp://{HOST}/group/app", None),
        ("group/*", None),
        ("group/app-?", None),
        ("app", None),
        ("group/../app", None),
        ("group/ap p", None),
        ("/".join(["g"] * 30), None),
        ("g/" + "a" * 300, None),
    ],
)
def test_projects(text: str, result: str | None) -> None:
    parsed = parse_project(text, HOST)
    if result is None:
        assert isinstance(parsed, Refused)
    else:
        assert parsed == result


def test_project_covered_ignores_case() -> None:
    assert project_covered(["group/app"], "Group/App")
    assert not project_covered(["group/app"], "group/app2")
    assert not project_covered([], "group/app")


FINDING = {
    "id": "f1a2",
    "cve": "app/yarn.lock:lodash:gemnasium:0f",
    "severity": "High",
    "identifiers": [
        {"type": "cve", "name": "CVE-2021-44228", "value": "CVE-2021-44228"},
        {"type": "ghsa", "name": "GHSA-jfh8-c2jp-5v3q", "value": "GHSA-jfh8-c2jp-5v3q"},
        {"type": "semgrep_id", "name": "eval", "value": "python.lang.eval"},
        {"type": "cwe", "name": "CWE-79", "value": "79"},
    ],
    "location": {"image": "registry.gitlab.com/group/app:1.0"},
}


@pytest.mark.parametrize(
    ("covered", "matches"),
    [
        ("CVE-2021-44228", True),
        ("GHSA-jfh8-c2jp-5v3q", True),
        ("semgrep:python.lang.eval", True),
        ("vulnerability:f1a2", True),
        ("image:registry.gitlab.com/group/app:1.0", True),
        ("image:registry.gitlab.com/group/app:1.1", False),
        ("CVE-2021-44229", False),
        ("semgrep:python.lang", False),
        ("gemnasium:python.lang.eval", False),
    ],
)
def test_matching(covered: str, matches: bool) -> None:
    assert covered == parse_finding(covered)
    assert matching([covered], FINDING) == ((covered,) if matches else ())


def test_class_identifiers_give_no_key() -> None:
    assert not any(key.startswith("cwe") for key in finding_keys(FINDING))


@pytest.mark.parametrize(
    "finding",
    [
        {},
        {"identifiers": "CVE-2021-44228"},
        {"identifiers": [None, 3, {"type": None, "value": None}]},
        {"identifiers": [{"type": "cve", "value": "*"}], "location": "x"},
        {"identifiers": [{"type": "cve", "value": "CVE-2021-" + "1" * 10_000}]},
    ],
)
def test_findings_without_usable_identifiers_have_no_key(finding: dict[str, object]) -> None:
    assert finding_keys(finding) == frozenset()


@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused_and_bounded(text: str) -> None:
    parsed = parse_finding(text)
    if isinstance(parsed, str):
        assert len(parsed) <= 500
        assert not set("*?[]{} \n\t") & set(parsed)
        assert parse_finding(parsed) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "semgrep:\u212aey",  # KELVIN SIGN, which str.lower() folds to k
        "\u212aics:aws-key",
        "image:registry.gitlab.com/\u212a/app:1.0",
        "vulnerability:\u212a1",
        "gemnasium:\u0130d",  # LATIN CAPITAL I WITH DOT ABOVE
        "cve-2024-\uff11\uff12\uff13\uff14",  # fullwidth digits
        "CVE-2024-1234\u200b",  # a zero-width space
        "CVE\u20102024\u20101234",  # hyphens that are not the ASCII one
    ],
)
def test_lookalikes_are_refused_not_folded(text: str) -> None:
    """An id is ASCII: a letter that case folding turns into an ASCII one (the Kelvin sign
    into k) would let a finding named otherwise match a covered id."""
    assert isinstance(parse_finding(text), Refused)
    finding = {"identifiers": [{"type": "semgrep_id", "name": text, "value": text}]}
    assert finding_keys(finding) == frozenset()


@pytest.mark.parametrize(
    ("covered", "spelled"),
    [
        ("image:reg.example/app:1.0", {"type": "semgrep_id", "value": "image:reg.example/app:1.0"}),
        ("image:reg.example/app:1.0", {"type": "image", "value": "reg.example/app:1.0"}),
        ("image:reg.example/app:1.0", {"type": "image:reg.example/app", "value": "1.0"}),
        ("image:reg.example/app:1.0", {"type": "x", "name": "image:reg.example/app:1.0"}),
        ("vulnerability:abc", {"type": "vulnerability", "value": "abc"}),
        ("vulnerability:abc", {"type": "gemnasium", "value": "vulnerability:abc"}),
        ("semgrep:eval", {"type": "gemnasium", "value": "semgrep:eval"}),
        ("semgrep:eval", {"type": "cve", "value": "semgrep:eval"}),
        ("semgrep:eval", {"type": "x", "name": "semgrep:eval"}),
        ("CVE-2021-44228", {"type": "x", "value": "cve:CVE-2021-44228"}),
    ],
)
def test_an_identifier_names_only_its_own_kind(covered: str, spelled: dict[str, str]) -> None:
    """A report identifier is a key of its own type only: its text cannot spell an image, a
    report id or another scanner's rule and so match a cover of that kind (a finding of one
    image let through by an exception for another, any finding by a report id's exception)."""
    assert parse_finding(covered) == covered
    finding = {"id": "other", "identifiers": [spelled], "location": {}}
    assert matching([covered], finding) == ()


@pytest.mark.parametrize(
    ("covered", "field"),
    [
        ("semgrep:eval", {"cve": "semgrep:eval"}),
        ("image:reg.example/app:1.0", {"cve": "image:reg.example/app:1.0"}),
        ("vulnerability:abc", {"cve": "vulnerability:abc"}),
    ],
)
def test_the_cve_field_names_only_a_cve(covered: str, field: dict[str, str]) -> None:
    finding = {"id": "other", "identifiers": [{"type": "x", "value": "y"}], **field}
    assert matching([covered], finding) == ()


_ID_TEXT = st.text(alphabet="abcCVEGHSAghsa-_.:/0123456789xK\u212a*", max_size=40)


@given(_ID_TEXT, _ID_TEXT)
def test_the_fast_paths_read_ids_as_the_parser_does(kind: str, value: str) -> None:
    """finding_keys spares the parser for ids already written as Covers normalises them; it
    must give what the parser gives."""
    from exception_bot.domain import covers

    scanner = kind.lower().removesuffix("_id")
    if scanner in ("cve", "ghsa"):
        slow = covers.bare_id(value)
    elif scanner in ("image", "vulnerability") or not (
        kind.isascii() and covers._SCANNER_RE.fullmatch(kind.lower())
    ):
        slow = None
    else:
        slow = covers._kind_of(scanner, f"{kind}:{value}")
    assert covers._scoped(kind, value) == slow
    bare = parse_finding(value)
    assert covers.bare_id(value) == (bare if isinstance(bare, str) and ":" not in bare else None)
    report = parse_finding("vulnerability:" + value)
    expected = report if isinstance(report, str) and report.startswith("vulnerability:") else None
    assert covers.report_key(value) == expected


@pytest.mark.parametrize(
    "text", ["image:reg.example/app:latest", "image:app:LATEST", "image:reg:5000/a/b:Latest"]
)
def test_an_image_tagged_latest_is_refused(text: str) -> None:
    """ "latest" names whatever is pushed next, as a reference without a tag does: an
    exception reviewed for one image would let through the findings of every later one."""
    refused = parse_finding(text)
    assert isinstance(refused, Refused)
    assert "latest" in refused.what
    assert "digest" in refused.fix
    finding = {"location": {"image": text.removeprefix("image:")}, "identifiers": []}
    assert finding_keys(finding) == frozenset()


def test_a_covered_project_is_compared_as_ascii() -> None:
    """A file of the merge-request route is written by hand: a Kelvin sign in its project
    path, which str.lower() folds to k, must not cover group/key."""
    assert not project_covered(["group/\u212aey"], "group/key")
    assert not project_covered(["gr\u0130oup/app"], "gri\u0307oup/app")
    assert project_covered(["Group/Key"], "group/key")


@pytest.mark.parametrize(
    ("covered", "other"),
    [
        ("CVE-2021-4422", {"type": "cve", "value": "CVE-2021-44228"}),
        ("CVE-2021-44228", {"type": "cve", "value": "CVE-2021-442281"}),
        ("GHSA-jfh8-c2jp-5v3q", {"type": "ghsa", "value": "GHSA-jfh8-c2jp-5v3qx"}),
        ("semgrep:python.lang", {"type": "semgrep_id", "value": "python.lang.eval"}),
        ("semgrep:python.lang.eval", {"type": "semgrep_id", "value": "python.lang.eval2"}),
        ("vulnerability:abc", {"type": "x", "value": "y"}),
    ],
)
def test_no_cover_matches_by_prefix(covered: str, other: dict[str, str]) -> None:
    """Matching is a set lookup of whole normalised ids: an id is never a prefix of another's."""
    assert parse_finding(covered) == covered
    assert matching([covered], {"id": "abcd", "identifiers": [other], "location": {}}) == ()


@pytest.mark.parametrize(
    "image", ["registry.example/app-evil:1.0", "registry.example/app:1.0.1", "evil.example/app:1.0"]
)
def test_an_image_cover_matches_that_image_only(image: str) -> None:
    covered = "image:registry.example/app:1.0"
    finding = {"id": "x", "identifiers": [], "location": {"image": image}}
    assert matching([covered], finding) == ()
    finding["location"] = {"image": "registry.example/app:1.0"}
    assert matching([covered], finding) == (covered,)
