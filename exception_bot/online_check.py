"""``check-config --online``: does GitLab have what the config names, and may the bot write?

GitLab's roles (doc/user/permissions.md): Reporter may open issues, comment and manage
labels; writing files to a branch needs Developer, or Maintainer when the branch is protected.
Requests are confidential (the issue template's ``/confidential``): only their author, their
assignees and members with Reporter (Planner from GitLab 17.7) or more may read them, tick
their boxes or be notified of them; anyone else gets 404 (app/policies/issue_policy.rb,
app/models/issue_collection.rb ``visible_to``). So every role holder needs that role in every
requests project.
"""

from __future__ import annotations

from collections.abc import Iterator

from exception_bot.domain.people import approvers
from exception_bot.domain.settings import Config, RoleSpec
from exception_bot.gitlab import GitLab
from exception_bot.identity import same_user
from exception_bot.setup_gitlab import read_hooks
from exception_bot.webhook_setup import hook_problems

# Gitlab::Access: Planner (17.7) is the lowest role that reads confidential issues; before
# 17.7 that was Reporter, and no member had 15
PLANNER, REPORTER, DEVELOPER = 15, 20, 30


def online_problems(gitlab: GitLab, config: Config) -> list[str]:
    """One line per thing missing on GitLab, naming the config key and the fix."""
    bot = gitlab.whoami()
    settings = config.gitlab
    if not same_user(bot.username, settings.bot_user):
        # Every check below is of the token's user: of someone else's, they would mislead.
        return [
            f"gitlab.bot_user: this token belongs to @{bot.username}, not @{settings.bot_user}: "
            "check with the bot's token, or name its user in gitlab.bot_user"
        ]
    problems: list[str] = []
    needs = [(p.path, REPORTER, "Reporter") for p in settings.requests_projects]
    needs.append((settings.register_project, DEVELOPER, "Developer (Maintainer if protected)"))
    for project, level, role in needs:
        if not gitlab.project_exists(project):
            problems.append(
                f"gitlab: project '{project}' does not exist or @{bot.username} "
                "cannot see it; check the path and add the bot as a member"
            )
            continue
        found = gitlab.access_level(project, bot.id)
        if found is None or found < level:
            problems.append(
                f"gitlab: @{bot.username} needs the {role} role in '{project}' "
                f"(has {found or 'none'}): add it under Manage > Members"
            )
    for name, spec in config.roles.items():
        if spec.group and not gitlab.group_exists(spec.group):
            problems.append(f"roles.{name}.group: group '{spec.group}' does not exist on GitLab")
        users = [*spec.users]
        users += [u for us in spec.by_department.values() for u in us]
        users += [u for us in spec.by_policy.values() for u in us]
        for user in dict.fromkeys(users):
            if not gitlab.user_exists(user):
                problems.append(f"roles.{name}: user '{user}' does not exist on GitLab")
    problems += blind_role_holders(gitlab, config)
    # the hooks serve answers: there, posting to webhooks.url, with the events it needs
    problems += hook_problems(config, read_hooks(gitlab, config))
    return problems


def blind_role_holders(gitlab: GitLab, config: Config) -> list[str]:
    """One line per role and requests project naming the role's holders who cannot read
    its confidential requests there: on GitLab they could neither see nor tick them, and
    assigning them would silently do nothing (issuable_base_service.rb
    filter_assignees_using_checks drops whoever cannot read)."""
    problems = []
    for project in config.gitlab.requests_projects:
        levels = {
            m.username.lower(): m.access_level
            for m in gitlab.project_members(project.path)
            if m.state == "active"
        }
        for name, spec in config.roles.items():
            blind = [u for u in _holders(gitlab, config, spec) if levels.get(u, 0) < PLANNER]
            if blind:
                who = ", ".join(f"@{u}" for u in blind)
                problems.append(
                    f"roles.{name}: {who} cannot read the confidential requests in "
                    f"'{project.path}': make them Reporters of it (Manage > Members)"
                )
    return problems


def _holders(gitlab: GitLab, config: Config, spec: RoleSpec) -> Iterator[str]:
    """The role's users, lower-cased and once each: named, or the group's approvers."""
    named = [*spec.users]
    named += [u for us in spec.by_department.values() for u in us]
    named += [u for us in spec.by_policy.values() for u in us]
    found = [u.lower() for u in named if gitlab.user_exists(u)]
    if spec.group and gitlab.group_exists(spec.group):
        level = config.gitlab.approver_access_level
        found += sorted(approvers(gitlab.group_members(spec.group), level))
    yield from dict.fromkeys(found)


def lone_group_holders(gitlab: GitLab, config: Config) -> list[str]:
    """``check-config --online``'s warnings about the group roles one approver holds (the
    offline ones are config_stand_ins.lone_holders'): that person's own requests fall to the
    role's fallback (docs/explanation/approvals.md, "Fallbacks")."""
    level = config.gitlab.approver_access_level
    lines = []
    for name, spec in config.roles.items():
        if spec.users or not spec.group or not gitlab.group_exists(spec.group):
            continue
        held = sorted(approvers(gitlab.group_members(spec.group), level))
        if len(held) == 1:
            to = spec.fallback or config.escalation.ciso_role
            lines.append(
                f"roles.{name}: held by one person only (@{held[0]} in {spec.group}); their "
                f"own requests fall to the {to} role (roles.{name}.fallback). Add a member."
            )
    return lines


def checked(config: Config) -> str:
    """What :func:`online_problems` looks at, in words, for the line saying all was found."""
    settings = config.gitlab
    projects = len({p.path for p in settings.requests_projects} | {settings.register_project})
    groups = len({spec.group for spec in config.roles.values() if spec.group})
    users = len({u.lower() for spec in config.roles.values() for u in _named(spec)})
    parts = [
        f"{projects} projects and the bot's role in each",
        f"{groups} groups",
        f"{users} users",
        "that every role holder can read the requests",
    ]
    if config.webhooks:
        parts.append("the webhooks to webhooks.url")
    return f"{', '.join(parts[:-1])}, and {parts[-1]}"


def _named(spec: RoleSpec) -> list[str]:
    named = [*spec.users]
    named += [u for us in spec.by_department.values() for u in us]
    named += [u for us in spec.by_policy.values() for u in us]
    return named
