"""The webhooks ``serve`` needs, as ``setup`` steps and ``check-config --online`` problems
(docs/how-to/webhooks.md).

A hook per configured project (the requests projects and the register project) or one on the
configured group, posting to ``webhooks.url`` the events ``serve`` answers. An existing hook at
that URL is updated, never duplicated; hooks at other URLs are left alone. GitLab never shows
a hook's secret token again (doc/api/project_webhooks.md: ``token`` "will not be returned"),
so setup cannot compare it: it sets the token when it creates a hook, and when it updates one
while ``webhooks.secret_env`` holds a secret.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from exception_bot.domain.settings import Config, WebhookSettings
from exception_bot.errors import ConfigError
from exception_bot.gitlab.hooks import HookInfo

# What serve answers (issues, comments, merge requests; confidential ones too, since requests
# are confidential and GitLab sends their events only to hooks that ask for them), and no
# pushes: GitLab's default for push_events is on.
HOOK_EVENTS: Mapping[str, bool] = {
    "issues_events": True,
    "confidential_issues_events": True,
    "note_events": True,
    "confidential_note_events": True,
    "merge_requests_events": True,
    "push_events": False,
}


MAX_LISTED = 5  # other hooks' URLs named in a check-config line
MAX_URL_SHOWN = 200


@dataclass(frozen=True)
class AddHook:
    kind: str  # "project" or "group"
    project: str  # the project's or the group's path
    url: str


@dataclass(frozen=True)
class UpdateHook:
    kind: str
    project: str
    hook_id: int
    url: str
    missing: tuple[str, ...]  # the event switches it lacks


def hook_targets(config: Config) -> list[tuple[str, str]]:
    """(kind, path) of each place a hook goes."""
    hooks = config.webhooks
    if hooks is None:
        return []
    if hooks.scope == "group" and hooks.group:
        return [("group", hooks.group)]
    paths = [p.path for p in config.gitlab.requests_projects] + [config.gitlab.register_project]
    return [("project", path) for path in dict.fromkeys(paths)]


def wrong_events(hook: HookInfo) -> tuple[str, ...]:
    return tuple(k for k, v in HOOK_EVENTS.items() if bool(hook.events.get(k)) != v)


def hook_steps(
    config: Config, existing: Mapping[tuple[str, str], Sequence[HookInfo] | None]
) -> Iterator[AddHook | UpdateHook]:
    """The steps that give each target one hook at the URL with the events serve needs."""
    settings = config.webhooks
    if settings is None:
        return
    for kind, path in hook_targets(config):
        hooks = existing.get((kind, path)) or []
        found = next((h for h in hooks if h.url == settings.url), None)
        if found is None:
            yield AddHook(kind, path, settings.url)
        elif missing := wrong_events(found):
            yield UpdateHook(kind, path, found.id, settings.url, missing)


def hook_problems(
    config: Config, existing: Mapping[tuple[str, str], Sequence[HookInfo] | None]
) -> list[str]:
    """One line per target whose hook is missing, points elsewhere, lacks events, or that
    GitLab has stopped calling after failed deliveries."""
    settings = config.webhooks
    if settings is None:
        return []
    return [
        line
        for kind, path in hook_targets(config)
        if (line := _problem(settings, kind, path, existing.get((kind, path))))
    ]


def unreadable(
    config: Config, existing: Mapping[tuple[str, str], Sequence[HookInfo] | None]
) -> list[str]:
    """One line per target GitLab does not show the bot the hooks of: setup cannot add one
    there either."""
    settings = config.webhooks
    if settings is None:
        return []
    return [
        _problem(settings, kind, path, None)
        for kind, path in hook_targets(config)
        if existing.get((kind, path)) is None
    ]


def _problem(
    settings: WebhookSettings, kind: str, path: str, hooks: Sequence[HookInfo] | None
) -> str:
    fix = "run exception-bot setup --apply"
    if hooks is None:
        needs = (
            "Owner of the group, on GitLab Premium (Free has no group hooks)"
            if kind == "group"
            else "Maintainer of the project"
        )
        return (
            f"webhooks: GitLab does not show the hooks of '{path}' to the bot: it must be {needs}"
        )
    found = next((h for h in hooks if h.url == settings.url), None)
    if found is None:
        others = sorted({_shown(h.url) for h in hooks})
        listed = ", ".join(others[:MAX_LISTED]) + (", ..." if len(others) > MAX_LISTED else "")
        seen = f" (its hooks post to {listed})" if others else ""
        return f"webhooks: no hook of '{path}' posts to {settings.url}{seen}: {fix}"
    if missing := wrong_events(found):
        wrong = ", ".join(missing)
        return f"webhooks: the hook of '{path}' to {settings.url} has {wrong} wrong: {fix}"
    if found.alert_status not in ("", "executable"):
        return (
            f"webhooks: GitLab stopped calling the hook of '{path}' ({found.alert_status}) after "
            f"failed deliveries: check that {settings.url} reaches serve; GitLab retries later"
        )
    return ""


# A shorter secret could be guessed by anyone who reaches serve's port (it answers each wrong
# guess at once); the generated one (secrets.token_urlsafe(32)) has 43 characters.
MIN_WEBHOOK_SECRET = 16


def webhook_secret(
    config: Config, steps: Sequence[object], environ: Mapping[str, str]
) -> tuple[str, bool]:
    """The secret token the hooks get and whether it was generated here: the variable
    ``webhooks.secret_env`` names, else a new one when every hook is new. With some hooks in
    place and the variable unset, GitLab's copy of their secret cannot be read back, and a new
    one for the rest would split them: ConfigError."""
    settings = config.webhooks
    if settings is None:
        return "", False
    given = environ.get(settings.secret_env, "").strip()
    if given and len(given) < MIN_WEBHOOK_SECRET:
        raise ConfigError(
            [
                f"webhooks.secret_env: {settings.secret_env} holds {len(given)} characters; a "
                f"webhooks' secret token needs at least {MIN_WEBHOOK_SECRET} (serve refuses a "
                "shorter one): set a longer one, or unset it for a generated one"
            ]
        )
    if given:
        return given, False
    new = sum(isinstance(step, AddHook) for step in steps)
    if not new:
        return "", False
    if new < len(hook_targets(config)):
        raise ConfigError(
            [
                f"webhooks.secret_env: set {settings.secret_env} to the secret token of the "
                "webhooks already on GitLab, so the new ones get the same (GitLab never shows "
                "it again; to start over, delete those hooks)"
            ]
        )
    return secrets.token_urlsafe(32), True


def secret_notice(config: Config, secret: str) -> str:
    """Said once, after setup generated the hooks' secret."""
    env = config.webhooks.secret_env if config.webhooks else ""
    return (
        f"webhooks: the new hooks send this secret token, which GitLab never shows again; "
        f"give it to serve in {env}:\n{secret}"
    )


def _shown(url: str) -> str:
    """Another hook's URL, which any Maintainer of the project chose, fit for a terminal:
    control and format characters (escape sequences, bidi overrides) replaced, one line,
    bounded."""
    text = "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf") else c for c in url)
    return text if len(text) <= MAX_URL_SHOWN else text[: MAX_URL_SHOWN - 1] + "\u2026"


def describe_hook_step(step: AddHook | UpdateHook) -> str:
    if isinstance(step, AddHook):
        return f"{step.project}: add a {step.kind} webhook to {step.url} ({_events()})"
    return f"{step.project}: update the webhook to {step.url}: {', '.join(step.missing)}"


def _events() -> str:
    return ", ".join(k for k, v in HOOK_EVENTS.items() if v)
