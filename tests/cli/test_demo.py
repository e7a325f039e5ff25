"""`exception-bot demo` runs start to end with no GitLab and tells a coherent story."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from exception_bot.cli import app
from tests.requests import ROOT


def test_demo_plays_the_week_and_ends_with_the_register() -> None:
    result = CliRunner().invoke(app, ["demo", "--config", str(ROOT / "config/exception-bot.yml")])
    assert result.exit_code == 0, result.output
    out = result.output
    timeline = [
        line for line in out.splitlines() if re.match(r"^(Mon|Tue|Wed|Thu) \d\d:\d\d", line)
    ]
    assert timeline[0].startswith("Mon 09:00  bob")
    for expected in [
        "bot            #2 is now escalated, stage ciso-escalation",
        "bot            #3: lists what the request is missing",
        "bot            #4: restores the labels and reports who changed them",
        "bot            #4: unticks a box it cannot count, and says why",
        "bot            #5 is now rejected",
        "bot            #5 is now appeal, stage appeal-legal",
        "bot            #1 is now approved",
        "bot            #5 is now approved",
        "bot            #1 is now active",
    ]:
        assert any(line.endswith(expected) for line in timeline), expected
    assert "failed=0" in out
    assert "failed=1" not in out
    register = out[out.index("# Exception register") :]
    # The demo's requests are confidential, as the template makes them: named by their id only.
    row = "| [`EXC-0001`](exceptions/EXC-0001-confidential.md) | `Confidential exception EXC-0001`"
    assert row in register
    assert "reporting VM" not in register
    assert "| `active` | `low` | `finance` |" in register
    assert "EXC-0004" not in register  # the tampered request was never approved
    assert "```mermaid" in register
