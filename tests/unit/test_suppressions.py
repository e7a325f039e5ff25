"""Suppression files: Trivy's .trivyignore.yaml and Snyk's .snyk from the active exceptions,
each entry ending when its exception does and naming it, and no id can inject YAML."""

from __future__ import annotations

from datetime import UTC, date, datetime

import yaml

from exception_bot.domain.gate import ActiveException
from exception_bot.domain.settings import CalendarSettings
from exception_bot.suppressions import render

BERLIN = CalendarSettings(timezone="Europe/Berlin")
EXC = ActiveException(
    "EXC-0042",
    "exceptions/EXC-0042-x.md",
    date(2026, 12, 1),
    frozenset(
        {
            "CVE-2021-44228",
            "GHSA-jfh8-c2jp-5v3q",
            "trivy:avd-ds-0002",
            "snyk:snyk-js-lodash-567746",
            "semgrep:x",
        }
    ),
    datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
)
# The day after expiry begins in Berlin at 23:00 UTC on the expiry day.
END = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def test_trivy() -> None:
    out = render("trivy", [EXC], BERLIN)
    assert out.text.startswith("# Written by exception-bot")
    assert "expired_at: 2026-12-01T23:00:00Z\n" in out.text  # RFC 3339: Go's YAML reads it
    data = yaml.safe_load(out.text)
    assert set(data) == {"vulnerabilities", "misconfigurations", "secrets"}
    ids = [entry["id"] for entry in data["vulnerabilities"]]
    assert ids == ["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"]
    for entry in data["vulnerabilities"]:
        assert entry["expired_at"] == END
        assert "EXC-0042" in entry["statement"]
    assert [e["id"] for e in data["misconfigurations"]] == ["AVD-DS-0002"]
    assert out.skipped == ("semgrep:x", "snyk:snyk-js-lodash-567746")


def test_snyk() -> None:
    out = render("snyk", [EXC], BERLIN)
    data = yaml.safe_load(out.text)
    assert data["version"] == "v1.25.0"
    assert data["patch"] == {}
    assert set(data["ignore"]) == {"CVE-2021-44228", "SNYK-JS-LODASH-567746"}
    (rule,) = data["ignore"]["SNYK-JS-LODASH-567746"]
    assert rule["*"]["expires"] == END
    assert rule["*"]["created"] == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert "EXC-0042" in rule["*"]["reason"]


def test_nothing_active_is_an_empty_file() -> None:
    assert yaml.safe_load(render("trivy", [], BERLIN).text) == {
        "vulnerabilities": [],
        "misconfigurations": [],
        "secrets": [],
    }
    assert yaml.safe_load(render("snyk", [], BERLIN).text)["ignore"] == {}


def test_a_hostile_exception_id_stays_one_string() -> None:
    hostile = ActiveException(
        "x'\n- id: CVE-1999-0001\n\x1b[2J", "p", date(2026, 12, 1), frozenset({"CVE-2021-44228"})
    )
    trivy = render("trivy", [hostile], BERLIN).text
    assert [e["id"] for e in yaml.safe_load(trivy)["vulnerabilities"]] == ["CVE-2021-44228"]
    snyk = render("snyk", [hostile], BERLIN).text
    assert list(yaml.safe_load(snyk)["ignore"]) == ["CVE-2021-44228"]
    assert "\x1b" not in trivy + snyk


def test_the_longest_lasting_exception_wins_an_id() -> None:
    later = ActiveException("EXC-0050", "p", date(2027, 1, 31), frozenset({"CVE-2021-44228"}))
    data = yaml.safe_load(render("trivy", [later, EXC], BERLIN).text)
    (entry,) = [e for e in data["vulnerabilities"] if e["id"] == "CVE-2021-44228"]
    assert "EXC-0050" in entry["statement"]
