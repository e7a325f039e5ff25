"""Every key of the config file, what it means and its default: the source of the config
reference (docs/reference/config.md, written by ``python docs/generate.py``).

A test asks the config loader which keys it accepts in each section and fails when this table
and the loader disagree, so a new key cannot ship undocumented. ``<role>`` stands for a role's
name, ``<risk>`` for a risk level (critical, high, medium, low).
"""

from __future__ import annotations

from dataclasses import dataclass

REQUIRED = "required"


@dataclass(frozen=True)
class ConfigKey:
    key: str
    meaning: str
    default: str


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        "gitlab",
        "Where the bot works and as whom.",
        REQUIRED,
    ),
    ConfigKey(
        "gitlab.requests_project",
        "Project path or id where requests are opened (an id costs `run` one request to look "
        "its path up); a list of `{path, id_prefix}` for several, each prefix naming its "
        "register ids.",
        REQUIRED,
    ),
    ConfigKey("gitlab.register_project", "The register project.", REQUIRED),
    ConfigKey("gitlab.register_branch", "The register's branch.", "`main`"),
    ConfigKey(
        "gitlab.bot_user",
        "The bot's GitLab username: `run` (also `--dry-run`), `daemon`, `report` and "
        "`setup --apply` refuse a token of anyone else before their first request beyond "
        "`GET /user`, exit 2.",
        REQUIRED,
    ),
    ConfigKey(
        "gitlab.approver_access_level",
        "The least GitLab role (`guest`, `planner`, `reporter`, `developer`, `maintainer`, "
        "`owner`) at which a member of a role's `group` holds the role. GitLab's `members/all` "
        "also lists Guests, blocked users and members of groups the group is shared with (at "
        "the share's level, at most); only active members at this level or above count. "
        "Reporter is the least role that reads a confidential request.",
        "`reporter`",
    ),
    ConfigKey("departments", "Allowed values of the *Department* field.", REQUIRED),
    ConfigKey("policies", "Allowed values of the *Policy* field.", REQUIRED),
    ConfigKey("environments", "Allowed values of the *Environment* field.", REQUIRED),
    ConfigKey(
        "roles",
        "Who holds each role, by role name. Roles are never inherited from the defaults.",
        REQUIRED,
    ),
    ConfigKey(
        "roles.<role>.users",
        "The users who hold the role.",
        "one of `users`, `group`, `by_department`, `by_policy`",
    ),
    ConfigKey(
        "roles.<role>.group",
        "A group whose members hold the role (inherited members and those of groups it is "
        "shared with count, see `gitlab.approver_access_level`).",
        "one of `users`, `group`, `by_department`, `by_policy`",
    ),
    ConfigKey(
        "roles.<role>.by_department",
        "A map naming someone for every department (a department head per department).",
        "one of `users`, `group`, `by_department`, `by_policy`",
    ),
    ConfigKey(
        "roles.<role>.by_policy",
        "A map naming someone for every policy (a policy owner per policy).",
        "one of `users`, `group`, `by_department`, `by_policy`",
    ),
    ConfigKey("roles.<role>.title", "The role's name as people read it.", "from the role's key"),
    ConfigKey(
        "roles.<role>.fallback",
        "The role a stage of this role falls to when no holder may approve the request (each "
        "is its requester, or approved for another role): one comment says so, and the "
        "approval is recorded as `<fallback> for <role>`. Followed on when the fallback's "
        "holders cannot approve either. `check-config` warns about roles one person holds.",
        "the CISO role (`escalation.ciso_role`)",
    ),
    ConfigKey(
        "checklist.<role>",
        "The *Approvals* item text each role ticks.",
        "required for every role in the matrix",
    ),
    ConfigKey(
        "approval_matrix.<risk>",
        "Ordered stages per risk level, each a list of roles that must all approve.",
        REQUIRED,
    ),
    ConfigKey(
        "review_sla.<risk>",
        "Time per stage: `30m`, `4h`, `2d` (calendar days), `3bd` (business days).",
        "critical 4h, high 1bd, medium 3bd, low 5bd",
    ),
    ConfigKey("review_sla.escalation", "Time for the CISO escalation stage.", "as critical"),
    ConfigKey("review_sla.appeal", "Time for each appeal stage.", "as critical"),
    ConfigKey("limits.max_duration_days", "Latest expiry after the request, in days.", "90"),
    ConfigKey("limits.max_renewals", "Renewals before CISO escalation.", "2"),
    ConfigKey(
        "limits.critical_in_production",
        "`escalate` (CISO first), `forbid` (a validation problem) or `allow`.",
        "`escalate`",
    ),
    ConfigKey(
        "limits.production_environments",
        "Which environments count as production.",
        "`production`",
    ),
    ConfigKey(
        "limits.appeal_window_days",
        "Days a rejected request may be appealed or escalated to the CISO.",
        "14",
    ),
    ConfigKey(
        "limits.activation_days",
        "Days after approval by which an exception should be active; then a reminder to the "
        "requester and Security Compliance.",
        "14",
    ),
    ConfigKey(
        "limits.activation_escalation_days",
        "Days after that reminder before an exception still not active goes to the CISO.",
        "7",
    ),
    ConfigKey(
        "limits.requests_per_minute",
        "The bot's own pace: writes in any minute (GitLab.com's limit).",
        "2000",
    ),
    ConfigKey(
        "limits.notes_per_minute",
        "The bot's own pace: note creations in any minute (GitLab.com's limit).",
        "60",
    ),
    ConfigKey("escalation.ciso_role", "The escalation approver's role.", "`ciso`"),
    ConfigKey(
        "escalation.checklist_item",
        "The escalation approver's checklist item.",
        "`CISO escalation approval`",
    ),
    ConfigKey(
        "appeal",
        "Appeal stages, e.g. `[[legal], [ceo, cfo]]`, or a mapping with `stages` and `checklist`.",
        "Legal opinion recorded; CEO decision; CFO decision",
    ),
    ConfigKey("appeal.stages", "The appeal's stages, when `appeal` is a mapping.", "as above"),
    ConfigKey(
        "appeal.checklist",
        "Item texts of the appeal's roles, to rename them (`{legal: …}`).",
        "as above",
    ),
    ConfigKey(
        "calendar.timezone",
        "Time zone of business-day SLAs and end-of-day expiry.",
        "`UTC`",
    ),
    ConfigKey("calendar.workdays", "Working days, `mon` … `sun`.", "Monday to Friday"),
    ConfigKey("calendar.holidays", "Dates that are no business days.", "none"),
    ConfigKey(
        "calendar.country",
        "Public holidays from the `holidays` package, e.g. `DE`.",
        "none",
    ),
    ConfigKey(
        "calendar.subdivision",
        "The country's subdivision for its public holidays, e.g. `BY`.",
        "none",
    ),
    ConfigKey("reminders.before_expiry_days", "Reminder days before expiry.", "`[14, 7, 1]`"),
    ConfigKey("register.directory", "Folder of the exceptions in force.", "`exceptions`"),
    ConfigKey(
        "register.archive_directory",
        "Folder of closed, revoked and renewed exceptions.",
        "`archive`",
    ),
    ConfigKey(
        "register.include_confidential_details",
        "Keep a confidential request's title and text in its entry.",
        "false",
    ),
    ConfigKey(
        "approvals.allow_same_person_multiple_roles",
        "May one person approve for two roles.",
        "false",
    ),
    ConfigKey(
        "approvals.note_grace",
        "How long a ticked box waits for GitLab's checklist note naming who ticked it, after "
        "the issue's `updated_at`, before it is unticked (minutes or hours: `2m`).",
        "`2m`",
    ),
    ConfigKey(
        "delegations",
        "Deputies for a period: a list of `{from: alice, to: bob, roles: [department_head], "
        "until: 2027-01-10}` (optional `since`, both days inclusive in the calendar's "
        "timezone). A tick by `to` on a day of the period counts for a role `from` holds on "
        "the request, recorded as `bob for alice`; not when either is a requester, nor for "
        "a second role of either. Stages are assigned to the deputy meanwhile.",
        "none",
    ),
    ConfigKey(
        "risk_assessment.roles",
        "Roles whose holders may change a request's risk level with "
        "`exception-action::risk-<level>` while the role is on the request's route: a raise "
        "takes effect at once, a lowering once the CISO adds the same label.",
        "`[security_team, security_lead]` (those the config has)",
    ),
    ConfigKey(
        "webhooks",
        "GitLab's webhooks for `serve` (docs/how-to/webhooks.md): `setup --apply` registers "
        "them, `check-config --online` checks them.",
        "none: no webhooks",
    ),
    ConfigKey(
        "webhooks.url",
        "The URL GitLab posts the events to: `serve`'s, behind your TLS proxy "
        "(`https://bot.example.com/hooks`); `serve` answers on its path.",
        "required in `webhooks`",
    ),
    ConfigKey(
        "webhooks.secret_env",
        "The environment variable holding the hooks' secret token, which GitLab sends in "
        "`X-Gitlab-Token` and `serve` checks. Unset when `setup --apply` creates a hook: a "
        "generated one, printed once.",
        "`EXCEPTION_BOT_WEBHOOK_SECRET`",
    ),
    ConfigKey(
        "webhooks.scope",
        "`project`: a hook on each requests project and on the register project; `group`: "
        "one hook on `webhooks.group` (GitLab Premium), which must hold them all.",
        "`project`",
    ),
    ConfigKey("webhooks.group", "The group of a group hook.", "required with scope `group`"),
    ConfigKey(
        "labels.prefix",
        "State labels are `<prefix>::<state>`.",
        "`exception`",
    ),
    ConfigKey("labels.intake", "The label of every request.", "`ExceptionRequest`"),
    ConfigKey(
        "labels.overrides",
        "Rename single labels, by their default name.",
        "none",
    ),
    ConfigKey(
        "state_file",
        "Where `run` keeps what it saw of each issue (`updated_at`, the next deadline or "
        "reminder, and the `updated_at` of the other open requests its decision read: a "
        "renewal and its original), so an unchanged issue costs no request beyond the list "
        "pages (an issue updated within two minutes of a run's read, by GitLab's clock, is "
        "read again next run: GitLab does not move `updated_at` for a comment or label within "
        "a minute of the last update), and the register branch's head with the merge-request "
        "route's files, so an unchanged register is not listed again. Losing it, upgrading "
        "the bot or changing the config only costs one full run; every issue is still read at "
        "least once a day (when a change to a linked issue outside the list, such as an "
        "incident in another project, shows).",
        "off",
    ),
)


def config_reference_markdown() -> str:
    """The config keys as a Markdown table, in the order above."""
    lines = ["| Key | Meaning | Default |", "|---|---|---|"]
    lines += [f"| `{k.key}` | {k.meaning} | {k.default} |" for k in CONFIG_KEYS]
    return "\n".join(lines) + "\n"
