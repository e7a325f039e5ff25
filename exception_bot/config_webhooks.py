"""The config's ``webhooks`` section (docs/how-to/webhooks.md): where GitLab sends the events
``serve`` answers, the variable their secret token is in, and the hooks' scope; checked as the
rest of the config is by :mod:`exception_bot.config`, whose reader collects ``path: problem.
fix`` lines."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from exception_bot.domain.settings import (
    WEBHOOK_SECRET_ENV,
    Config,
    GitLabSettings,
    WebhookSettings,
)

if TYPE_CHECKING:
    from exception_bot.config import _Reader

_KEYS = ("url", "secret_env", "scope", "group")
SCOPES = ("project", "group")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
MAX_URL = 2048  # GitLab's hook URL column is text; a config line is read by people


def webhook_settings(r: _Reader, value: Any, gitlab: GitLabSettings) -> WebhookSettings | None:
    """``webhooks: {url, secret_env, scope, group}``; None when the section is absent."""
    if value is None:
        return None
    section = r.mapping(value, "webhooks", _KEYS, ("url",))
    if section is None or "url" not in section:
        return None
    url = _url(r, section["url"])
    env = r.string(section.get("secret_env", WEBHOOK_SECRET_ENV), "webhooks.secret_env")
    if env is not None and not _ENV_NAME.fullmatch(env):
        r.error(
            "webhooks.secret_env",
            f"'{env}' is no environment variable name: letters, digits and _ only, "
            "not starting with a digit",
        )
    scope = r.string(section.get("scope", "project"), "webhooks.scope")
    if scope is not None and scope not in SCOPES:
        r.error("webhooks.scope", f"'{scope}': use project (a hook on each project) or group")
    group = _group(r, section, scope, gitlab)
    if url is None or env is None or scope not in SCOPES:
        return None
    return WebhookSettings(url, env, str(scope), group)


def _url(r: _Reader, value: Any) -> str | None:
    url = r.string(value, "webhooks.url")
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        r.error(
            "webhooks.url",
            "expected the http(s) URL GitLab posts to, e.g. https://bot.example.com/hooks",
        )
        return None
    if len(url) > MAX_URL or parts.username or parts.password:
        r.error("webhooks.url", "keep credentials out of the URL: the secret is secret_env's")
        return None
    return url


def _group(
    r: _Reader, section: dict[str, Any], scope: str | None, gitlab: GitLabSettings
) -> str | None:
    """The group of a group hook: it must hold every configured project, or their events
    would not reach it (ee/app/models/ee/project.rb calls the hooks of the project's groups)."""
    if scope != "group":
        if "group" in section:
            r.error("webhooks.group", "only with scope: group; leave it out")
        return None
    group = r.string(section.get("group"), "webhooks.group") if "group" in section else None
    if group is None:
        if "group" not in section:
            r.error("webhooks.group", "scope group needs the group's path, e.g. security")
        return None
    group = group.strip("/")
    projects = [p.path for p in gitlab.requests_projects] + [gitlab.register_project]
    outside = [p for p in projects if not p.lower().startswith(group.lower() + "/")]
    if outside and "?" not in outside:
        r.error(
            "webhooks.group",
            f"'{group}' does not hold {', '.join(outside)}: name a group all the projects are "
            "in, or use scope: project",
        )
    return group


def webhook_warnings(config: Config) -> list[str]:
    """What ``check-config`` warns of in a valid webhooks section: a plain-HTTP URL to a host
    other than a loopback one, over which GitLab would send the secret token in the clear."""
    hooks = config.webhooks
    if hooks is None or not hooks.url.startswith("http://"):
        return []
    host = (urlsplit(hooks.url).hostname or "").lower()
    if host in ("localhost", "127.0.0.1", "::1"):
        return []
    return [
        f"webhooks.url: {hooks.url} is plain HTTP: GitLab would send the secret token in "
        "the clear; put serve behind a TLS proxy and use https (docs/how-to/webhooks.md)"
    ]
