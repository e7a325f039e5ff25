"""A rule of the docs is one hop from its code: each step module of ``exception_bot/domain/review/``
names, in its docstring, the docs page of the rule it holds, and that page exists.

The plumbing modules (the values passed between steps, their order, the plan of actions) hold
no rule and are listed in :data:`PLUMBING`; any other module must cite a page.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.requests import ROOT

REVIEW = ROOT / "exception_bot" / "domain" / "review"
PLUMBING = frozenset({"__init__", "context", "plan", "pipeline", "walk"})
# A cited page: docs/<section>/<page>.md, or <page>.md alone for a page of the section last named.
CITED = re.compile(r"(?:docs/([\w-]+)/)?([\w-]+\.md)")


def cited_pages(docstring: str) -> list[Path]:
    """The docs pages a docstring names, resolved under ``ROOT``."""
    pages, section = [], None
    for named_section, name in CITED.findall(docstring):
        section = named_section or section
        if section is not None:
            pages.append(ROOT / "docs" / section / name)
    return pages


def docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


@pytest.mark.parametrize("path", sorted(REVIEW.glob("*.py")), ids=lambda p: p.stem)
def test_each_step_module_cites_the_page_of_its_rule(path: Path) -> None:
    pages = cited_pages(docstring(path))
    if path.stem not in PLUMBING:
        assert pages, f"{path.name}: its docstring names no docs/explanation/... page"
    missing = [str(p.relative_to(ROOT)) for p in pages if not p.is_file()]
    assert not missing, f"{path.name} cites pages that do not exist: {missing}"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Routing (docs/explanation/routing.md): stages.", ["docs/explanation/routing.md"]),
        (
            "(docs/explanation/how-run-decides.md, security.md)",
            ["docs/explanation/how-run-decides.md", "docs/explanation/security.md"],
        ),
        (
            "(docs/explanation/how-run-decides.md: Validation;\n security.md; after-approval.md:"
            "\n Renewals)",
            [
                "docs/explanation/how-run-decides.md",
                "docs/explanation/security.md",
                "docs/explanation/after-approval.md",
            ],
        ),
        ("The README's rules.", []),
    ],
)
def test_cited_pages_reads_the_forms_the_modules_use(text: str, found: list[str]) -> None:
    assert [str(p.relative_to(ROOT)) for p in cited_pages(text)] == found
