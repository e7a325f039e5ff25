"""Who stands in for whom, for ``exception-bot reference`` (docs/explanation/approvals.md,
"Fallbacks" and "Delegation"): each role's fallback and the config's delegations, made from the
config alone, so the page printed from it names the people and roles the bot applies."""

from __future__ import annotations

from exception_bot.domain.settings import Config
from exception_bot.domain.stand_ins import fallback_of


def stand_in_table(config: Config) -> list[str]:
    """The fallbacks, one row a role, then the delegations and the busy rule."""
    ciso = config.escalation.ciso_role

    def title(role: str) -> str:
        return config.roles[role].title

    rows = []
    for name, spec in config.roles.items():
        to = fallback_of(config, name)
        if to == name:
            falls = "no one: the stage waits for a config change (set the fallback)"
        else:
            how = "set" if spec.fallback else "by default"
            falls = f"{title(to)} ({how})"
        rows.append(f"| {title(name)} | `roles.{name}.fallback` | {falls} |")
    lines = [
        "Fallbacks: a stage no holder of its role may approve (each is a requester, or approved "
        "for another role) falls to the role's fallback, then to that role's; the approval is "
        f"recorded as `<fallback> for <role>`. An escalation of the {title(ciso)}'s own request "
        f"goes to the {title(ciso)} role's fallback.",
        "",
        "| Role | Key | Falls to |",
        "|---|---|---|",
        *rows,
        "",
        "Delegation: a holder who is away hands roles to a deputy for a period "
        "(`delegations: [{from, to, roles, until, since}]`, days inclusive in the calendar's "
        "time zone); the deputy is assigned in the holder's place and a tick on a day of the "
        "period counts for the holder, recorded as `<deputy> for <holder>`, never when either "
        "is a requester. Holders whose GitLab status is busy are not assigned while someone "
        "else can be.",
    ]
    if config.delegations:
        lines += ["", "| From | To | Roles | Since | Until |", "|---|---|---|---|---|"]
        lines += [
            f"| `{d.from_user}` | `{d.to_user}` | {', '.join(title(r) for r in d.roles)} "
            f"| {d.since or '—'} | {d.until} |"
            for d in config.delegations
        ]
    return lines
