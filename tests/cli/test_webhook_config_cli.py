"""check-config on the webhooks section (issue 24, point 3): valid, with a warning for a URL
GitLab would send the secret to in the clear; a bad section names the key and the fix."""

from __future__ import annotations

import json
from pathlib import Path

from tests.requests import ROOT
from tests.support.cli import run


def config_with(tmp_path: Path, section: str) -> str:
    text = (ROOT / "config" / "exception-bot.yml").read_text(encoding="utf-8")
    path = tmp_path / "c.yml"
    path.write_text(f"{text}\nwebhooks:\n{section}", encoding="utf-8")
    return str(path)


def test_a_plain_http_hook_url_is_valid_with_a_warning(tmp_path: Path) -> None:
    path = config_with(tmp_path, "  url: http://bot.example.com/hooks\n")
    code, _, err = run("check-config", "--config", path)
    assert code == 0
    assert "warning: webhooks.url: http://bot.example.com/hooks is plain HTTP" in err
    code, out, _ = run("check-config", "--config", path, "--json")
    assert code == 0
    assert any("GitLab would send the secret token" in w for w in json.loads(out)["warnings"])


def test_a_bad_section_names_the_key(tmp_path: Path) -> None:
    path = config_with(tmp_path, "  url: https://bot.example.com/hooks\n  scope: instance\n")
    code, _, err = run("check-config", "--config", path)
    assert code == 2
    assert "error: webhooks.scope: 'instance': use project" in err
