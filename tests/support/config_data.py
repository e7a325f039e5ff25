"""The default config as the YAML loader reads it, to edit one key at a time."""

from __future__ import annotations

from typing import Any

import yaml

from tests.requests import ROOT

Data = dict[str, Any]


def default_data() -> Data:
    data = yaml.safe_load((ROOT / "config" / "exception-bot.yml").read_text())
    assert isinstance(data, dict)
    return data
