"""Every way a request reaches the CISO, as a table for ``exception-bot reference`` and the
labels page (docs/explanation/escalations.md): made from the config alone, so a wiki page
printed from it names the roles, labels and limits the bot applies."""

from __future__ import annotations

from exception_bot.domain.model import ActionLabel, RiskLevel
from exception_bot.domain.review.ciso_review import REINSTATE_ITEM, WAIVE_ITEM
from exception_bot.domain.settings import Config, CriticalInProduction


def escalation_table(config: Config) -> list[str]:
    """The escalation paths, one row each: when, who starts it, and the CISO's answers."""
    limits, labels = config.limits, config.labels

    def title(role: str) -> str:
        return config.roles[role].title

    def label(action: ActionLabel) -> str:
        return f"`{labels.action(action)}`"

    ciso = title(config.escalation.ciso_role)
    compliance = " + ".join(title(r) for r in config.stages(RiskLevel.LOW)[-1])
    appeal = " → ".join(" + ".join(title(r) for r in stage) for stage in config.appeal.stages)
    reject, escalate = label(ActionLabel.REJECT), label(ActionLabel.ESCALATE)
    before = f"tick *{config.escalation.checklist_item}* (the review goes on), or {reject}"
    reinstate = (
        f"tick *{REINSTATE_ITEM}* (back into the route at the stage that rejected it), "
        f"or {reject} (final)"
    )
    waive = (
        f"tick *{WAIVE_ITEM}* (in force without them; the register says so), "
        f"or {label(ActionLabel.REVOKE)}"
    )
    rows = []
    if limits.critical_in_production is CriticalInProduction.ESCALATE:
        where = " or ".join(limits.production_environments)
        rows.append(f"| A Critical request in {where} | the bot | {before} |")
    rows += [
        f"| A renewal past {limits.max_renewals} renewals | the bot | {before} |",
        f"| A request under review | the requester or an approver, {escalate} | {before} |",
        f"| A rejected request or renewal, within {limits.appeal_window_days} days, once "
        f"(instead of the appeal: {appeal}) | the requester, {escalate} | {reinstate} |",
        f"| An approved exception, not active, whose compensating controls cannot be "
        f"implemented | the requester or {compliance}, {escalate} | {waive} |",
        f"| Not active {limits.activation_days} days after approval: a reminder; "
        f"{limits.activation_escalation_days} days later | the bot | {waive} |",
    ]
    return [
        f"Escalations to the {ciso}:",
        "",
        f"| When | Who starts it | The {ciso}'s answers |",
        "|---|---|---|",
        *rows,
        "",
        f"An escalation after a decision the {ciso} has not answered lapses: missing controls "
        "or the activation deadline when the exception expires, a rejection when its "
        "expiration day begins (the rejection is then final).",
    ]
