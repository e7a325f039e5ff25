"""The ignore files of ``exception-bot suppressions`` as YAML text (their content:
:mod:`exception_bot.domain.suppressions`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import yaml

from exception_bot.domain.gate import ActiveException
from exception_bot.domain.settings import CalendarSettings
from exception_bot.domain.suppressions import suppressions

HEADER = "# Written by exception-bot suppressions from the exception register: do not edit.\n"


@dataclass(frozen=True)
class Rendered:
    text: str
    skipped: tuple[str, ...]  # covered ids the format has no entry for


class _Dumper(yaml.SafeDumper):
    """The safe dumper, writing a moment as an RFC 3339 timestamp (``2026-12-02T00:00:00Z``):
    PyYAML's own form has a space before the time, which Go's YAML (Trivy's) does not read as
    a time."""


def _timestamp(dumper: yaml.SafeDumper, moment: datetime) -> yaml.ScalarNode:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


_Dumper.add_representer(datetime, _timestamp)


def render(fmt: str, exceptions: Iterable[ActiveException], calendar: CalendarSettings) -> Rendered:
    found = suppressions(fmt, exceptions, calendar)
    text = yaml.dump(found.data, Dumper=_Dumper, sort_keys=False, allow_unicode=False, width=1000)
    return Rendered(HEADER + text, found.skipped)
