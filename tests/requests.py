"""Realistic request bodies for tests (tests/fixtures/requests) and edits that break them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from exception_bot.config import load_config
from exception_bot.domain.settings import Config

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "requests"
# The fixtures' dates are written for this moment: expiry 2027-01-15 is 54 days later.
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def body(name: str) -> str:
    return (FIXTURES / f"{name}.md").read_text(encoding="utf-8")


def set_field(text: str, heading: str, value: str) -> str:
    """Replace the text under ``## heading`` (up to the next ``## ``) with ``value``."""
    pattern = re.compile(rf"(^## {re.escape(heading)}\n)(.*?)(?=^## |\Z)", re.M | re.S)
    new, count = pattern.subn(lambda m: f"{m.group(1)}\n{value}\n\n", text, count=1)
    assert count == 1, f"no section {heading!r}"
    return new


def drop_section(text: str, heading: str) -> str:
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.M | re.S)
    new, count = pattern.subn("", text, count=1)
    assert count == 1, f"no section {heading!r}"
    return new


def reverse_sections(text: str) -> str:
    """The same request with its ``## `` sections in reverse order."""
    head, *sections = re.split(r"^(?=## )", text, flags=re.M)
    return head + "".join(reversed([s if s.endswith("\n") else s + "\n" for s in sections]))


@cache
def default_config() -> Config:
    """``config/exception-bot.yml``, loaded once per test session."""
    return load_config(ROOT / "config" / "exception-bot.yml")
