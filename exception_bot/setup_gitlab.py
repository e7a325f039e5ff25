"""Carrying out ``setup``: read what GitLab has, plan, apply one step at a time."""

from __future__ import annotations

from exception_bot.domain.settings import Config
from exception_bot.errors import ConfigError
from exception_bot.gitlab import GitLab
from exception_bot.gitlab.hooks import HookInfo
from exception_bot.setup import (
    CommitFiles,
    CreateLabel,
    SetupStep,
    UpdateLabel,
    managed_files,
    plan,
)
from exception_bot.webhook_setup import (
    HOOK_EVENTS,
    AddHook,
    UpdateHook,
    hook_steps,
    hook_targets,
    unreadable,
)


def setup_plan(gitlab: GitLab, config: Config) -> list[SetupStep]:
    missing_projects(gitlab, config)
    labels = {p.path: gitlab.labels(p.path) for p in config.gitlab.requests_projects}
    files: dict[str, dict[str, str | None]] = {}
    for project, wanted in managed_files(config).items():
        branch = _branch(gitlab, config, project)
        files[project] = {path: gitlab.read_file(project, branch, path) for path in wanted}
    hooks = read_hooks(gitlab, config)
    if refused := unreadable(config, hooks):
        raise ConfigError(refused)
    return [*plan(config, labels, files), *hook_steps(config, hooks)]


def read_hooks(gitlab: GitLab, config: Config) -> dict[tuple[str, str], list[HookInfo] | None]:
    """The hooks of each place ``webhooks`` puts one (None where GitLab will not show them)."""
    return {(kind, path): gitlab.webhooks(kind, path) for kind, path in hook_targets(config)}


def apply_step(gitlab: GitLab, step: SetupStep, secret: str = "") -> None:
    """Carry the step out; ``secret``: the webhooks' token (an update without one keeps the
    hook's)."""
    events = dict(HOOK_EVENTS)
    match step:
        case CreateLabel(project, label):
            gitlab.create_label(project, label.name, label.color, label.description)
        case UpdateLabel(project, label):
            gitlab.update_label(project, label.name, label.color, label.description)
        case CommitFiles(project, branch, files, message):
            gitlab.commit_files(project, branch or gitlab.default_branch(project), files, message)
        case AddHook(kind, target, url):
            gitlab.add_webhook(kind, target, url, events, secret)
        case UpdateHook(kind, target, hook_id, url, _):
            gitlab.update_webhook(kind, target, hook_id, url, events, secret)


def _branch(gitlab: GitLab, config: Config, project: str) -> str:
    if project == config.gitlab.register_project:
        return config.gitlab.register_branch
    return gitlab.default_branch(project)


def missing_projects(gitlab: GitLab, config: Config) -> None:
    """ConfigError naming each configured project GitLab does not show the token's user (a
    misspelt path, or a project the bot is no member of): nothing can be set up there."""
    settings = config.gitlab
    named = [("gitlab.requests_project", p.path) for p in settings.requests_projects]
    named.append(("gitlab.register_project", settings.register_project))
    problems = [
        f"{key}: no project '{path}' on GitLab, or the token's user cannot see it: check the "
        "path, and that the bot's user is a member"
        for key, path in named
        if not gitlab.project_exists(path)
    ]
    if problems:
        raise ConfigError(problems)
