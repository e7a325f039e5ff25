"""``examples/`` (docs/reference/request.md): one filled-in request per kind and per risk level,
each of which ``exception-bot validate`` accepts, written from the current template."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from exception_bot.domain.fields import parse_body
from exception_bot.domain.intake import from_template
from exception_bot.domain.model import ExceptionKind, RiskLevel
from exception_bot.domain.validation import validate
from exception_bot.render import issue_templates
from tests.requests import ROOT, default_config
from tests.support.cli import run

EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.md") if p.name != "README.md")
# The day the examples' dates are written for (docs/reference/request.md says to pass it).
NOW = "2026-12-02T09:00:00Z"
_HEADING_RE = re.compile(r"^## (.+)$", re.M)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_passes_validate(path: Path) -> None:
    config = str(ROOT / "config" / "exception-bot.yml")
    code, out, err = run("validate", str(path), "--now", NOW, "--config", config)
    assert code == 0, out + err
    assert out.strip().startswith(f"{path}: valid (")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_is_written_from_the_template(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert from_template(text)
    (request_template, _) = issue_templates(default_config())
    headings = set(_HEADING_RE.findall(request_template.content))
    assert set(_HEADING_RE.findall(text)) <= headings


def test_the_examples_cover_every_kind_and_risk_level() -> None:
    now = datetime.fromisoformat(NOW)
    requests = []
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        result = validate(parse_body(text), default_config(), created_at=now, now=now)
        assert result.request is not None, (path, result.problems)
        requests.append(result.request)
    assert {r.kind for r in requests} == set(ExceptionKind)
    assert {r.risk_level for r in requests} == set(RiskLevel)
    for request in requests:
        if request.kind in (ExceptionKind.GATE, ExceptionKind.VULNERABILITY):
            assert request.covers.projects
            assert request.covers.findings


def test_the_docs_link_the_examples() -> None:
    linked = (ROOT / "docs" / "reference" / "request.md").read_text(encoding="utf-8")
    for path in EXAMPLES:
        assert f"examples/{path.name}" in linked
