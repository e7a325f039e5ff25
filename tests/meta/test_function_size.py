"""No function of the bot over 60 lines: one a maintainer can read on one screen.

Ruff's C901 (pyproject.toml) bounds each function's branches at 15; this bounds its length, from
its ``def`` line to its last, outside the sandbox, which mimics GitLab's own branching, and the
demo script, which tells a story in order.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.requests import ROOT

MAX_LINES = 60
EXEMPT = ("exception_bot/sandbox/", "exception_bot/demo.py")
# Functions still longer than the limit, by path:name, each with why it may be for now. Empty
# is the goal; an entry whose function got short fails below, so that the list only shrinks.
STILL_LONG: Mapping[str, str] = {}


def long_functions(root: Path) -> Iterator[tuple[str, int]]:
    """``(path:name, lines)`` of each function of the package over :data:`MAX_LINES`."""
    for path in sorted((root / "exception_bot").rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if where.startswith(EXEMPT):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), where)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LINES:
                    yield f"{where}:{node.name}", lines


def test_no_function_is_over_60_lines() -> None:
    found = {name: lines for name, lines in long_functions(ROOT) if name not in STILL_LONG}
    assert not found, "\n".join(
        [f"Functions over {MAX_LINES} lines; split them into named steps:"]
        + [f"  {name}: {lines} lines" for name, lines in found.items()]
    )


def test_the_list_of_long_functions_only_shrinks() -> None:
    long = {name for name, _ in long_functions(ROOT)}
    stale = sorted(set(STILL_LONG) - long)
    assert not stale, f"no longer over {MAX_LINES} lines, remove from STILL_LONG: {stale}"


@pytest.mark.parametrize(
    ("module", "body_lines", "found"),
    [
        ("exception_bot/runner.py", MAX_LINES - 1, []),
        ("exception_bot/runner.py", MAX_LINES, [("exception_bot/runner.py:f", MAX_LINES + 1)]),
        ("exception_bot/sandbox/store.py", MAX_LINES * 2, []),
        ("exception_bot/demo.py", MAX_LINES * 2, []),
    ],
)
def test_the_count_runs_from_def_to_the_last_line(
    tmp_path: Path, module: str, body_lines: int, found: list[tuple[str, int]]
) -> None:
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    path.write_text("def f() -> None:\n" + "    pass\n" * body_lines, encoding="utf-8")
    assert list(long_functions(tmp_path)) == found
