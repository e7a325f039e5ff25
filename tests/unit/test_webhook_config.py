"""The config's webhooks section and the hooks setup plans from it (exception_bot/
config_webhooks.py, webhook_setup.py), as tables."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from exception_bot.config import parse_config
from exception_bot.config_webhooks import webhook_warnings
from exception_bot.domain.settings import WEBHOOK_SECRET_ENV, Config, WebhookSettings
from exception_bot.errors import ConfigError
from exception_bot.gitlab.hooks import HookInfo
from exception_bot.webhook_setup import (
    HOOK_EVENTS,
    AddHook,
    UpdateHook,
    hook_problems,
    hook_steps,
    hook_targets,
    webhook_secret,
)
from tests.support.config_data import default_data

URL = "https://bot.example.com/hooks"


def config_with(webhooks: Any) -> Config:
    data = copy.deepcopy(default_data())
    data["webhooks"] = webhooks
    return parse_config(data)


def test_a_config_without_webhooks_has_none() -> None:
    assert parse_config(copy.deepcopy(default_data())).webhooks is None


def test_the_defaults() -> None:
    assert config_with({"url": URL}).webhooks == WebhookSettings(URL, WEBHOOK_SECRET_ENV)


BAD = [
    ({}, "webhooks.url: required key is missing"),
    ({"url": "bot.example.com/hooks"}, "webhooks.url: expected the http(s) URL"),
    ({"url": "ftp://bot.example.com/"}, "webhooks.url: expected the http(s) URL"),
    ({"url": "https://u:p@bot.example.com/"}, "webhooks.url: keep credentials out of the URL"),
    ({"url": URL, "secret_env": "MY-SECRET"}, "webhooks.secret_env: 'MY-SECRET' is no"),
    ({"url": URL, "scope": "instance"}, "webhooks.scope: 'instance': use project"),
    ({"url": URL, "scope": "group"}, "webhooks.group: scope group needs the group's path"),
    ({"url": URL, "group": "security"}, "webhooks.group: only with scope: group"),
    ({"url": URL, "scope": "group", "group": "other"}, "webhooks.group: 'other' does not hold"),
    ({"url": URL, "token": "x"}, "webhooks.token: unknown key"),
    ("https://bot.example.com", "webhooks: expected a mapping"),
]


@pytest.mark.parametrize(("section", "expected"), BAD, ids=[e for _, e in BAD])
def test_bad_sections_name_the_key_and_the_fix(section: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config_with(section)
    assert any(p.startswith(expected) for p in raised.value.problems), raised.value.problems


def test_a_group_holding_every_project_is_accepted() -> None:
    hooks = config_with({"url": URL, "scope": "group", "group": "security/"}).webhooks
    assert hooks == WebhookSettings(URL, WEBHOOK_SECRET_ENV, "group", "security")


CONFIG = config_with({"url": URL})
REQUESTS, REGISTER = "security/exceptions", "security/exception-register"
RIGHT = HookInfo(1, URL, dict(HOOK_EVENTS), "executable")


def test_the_targets_are_every_project_or_the_group() -> None:
    assert hook_targets(CONFIG) == [("project", REQUESTS), ("project", REGISTER)]
    assert CONFIG.webhooks is not None
    grouped = replace(CONFIG, webhooks=replace(CONFIG.webhooks, scope="group", group="security"))
    assert hook_targets(grouped) == [("group", "security")]


STEPS = [
    ("none yet", [], [AddHook("project", REQUESTS, URL)]),
    ("right", [RIGHT], []),
    ("elsewhere", [replace(RIGHT, url="https://old/h")], [AddHook("project", REQUESTS, URL)]),
    (
        "lacks notes",
        [replace(RIGHT, events={**HOOK_EVENTS, "note_events": False})],
        [UpdateHook("project", REQUESTS, 1, URL, ("note_events",))],
    ),
    (
        "pushes too",
        [replace(RIGHT, events={**HOOK_EVENTS, "push_events": True})],
        [UpdateHook("project", REQUESTS, 1, URL, ("push_events",))],
    ),
]


@pytest.mark.parametrize(
    ("hooks", "steps"), [(h, s) for _, h, s in STEPS], ids=[n for n, *_ in STEPS]
)
def test_setup_steps(hooks: list[HookInfo], steps: list[object]) -> None:
    existing = {("project", REQUESTS): hooks, ("project", REGISTER): [RIGHT]}
    assert list(hook_steps(CONFIG, existing)) == steps


PROBLEMS = [
    ("right", [RIGHT], None),
    ("refused", None, "webhooks: GitLab does not show the hooks of 'security/exceptions'"),
    ("none", [], f"webhooks: no hook of '{REQUESTS}' posts to {URL}: run"),
    ("elsewhere", [replace(RIGHT, url="https://o/h")], "(its hooks post to https://o/h)"),
    ("stopped", [replace(RIGHT, alert_status="temporarily_disabled")], "GitLab stopped calling"),
    (
        "hostile url",
        [replace(RIGHT, url="https://x/\x1b]0;pwned\x07" + "a" * 300)],
        "(its hooks post to https://x/\ufffd]0;pwned\ufffd",
    ),
]


@pytest.mark.parametrize(
    ("hooks", "expected"), [(h, e) for _, h, e in PROBLEMS], ids=[n for n, *_ in PROBLEMS]
)
def test_check_config_problems(hooks: list[HookInfo] | None, expected: str | None) -> None:
    found = hook_problems(CONFIG, {("project", REQUESTS): hooks, ("project", REGISTER): [RIGHT]})
    if expected is None:
        assert found == []
    else:
        (line,) = found
        assert expected in line
        assert "\x1b" not in line
        assert len(line) < 400


def test_the_secret_comes_from_the_variable_or_is_made_when_every_hook_is_new() -> None:
    all_new = [AddHook("project", REQUESTS, URL), AddHook("project", REGISTER, URL)]
    given = {WEBHOOK_SECRET_ENV: " given-by-the-operator "}
    assert webhook_secret(CONFIG, all_new, given) == ("given-by-the-operator", False)
    with pytest.raises(ConfigError, match="holds 5 characters; a webhooks' secret token needs"):
        webhook_secret(CONFIG, all_new, {WEBHOOK_SECRET_ENV: " given "})
    made, generated = webhook_secret(CONFIG, all_new, {})
    assert generated
    assert len(made) >= 32
    assert made != webhook_secret(CONFIG, all_new, {})[0]
    assert webhook_secret(CONFIG, [], {}) == ("", False)
    with pytest.raises(ConfigError, match="already on GitLab"):
        webhook_secret(CONFIG, all_new[:1], {})


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("https://bot.example.com/hooks", False),
        ("http://127.0.0.1:8080/hooks", False),
        ("http://localhost/hooks", False),
        ("http://bot.example.com/hooks", True),
        ("http://10.0.0.5:8080/hooks", True),
    ],
)
def test_plain_http_to_another_host_is_warned_of(url: str, warned: bool) -> None:
    found = webhook_warnings(config_with({"url": url}))
    assert bool(found) == warned
    if warned:
        assert "GitLab would send the secret token in the clear" in found[0]
