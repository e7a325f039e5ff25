"""``check-config --online``: does GitLab have what the config names, and may the bot write?

GitLab's roles (doc/user/permissions.md): Reporter may open issues, comment and manage
labels; writing files to a branch needs Developer, or Maintainer when the branch is protected.
"""

from __future__ import annotations

from exception_bot.config import Config
from exception_bot.gitlab_api import GitLab
from exception_bot.identity import same_user

REPORTER, DEVELOPER = 20, 30


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
    return problems
