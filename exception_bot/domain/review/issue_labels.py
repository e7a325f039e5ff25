"""The labels an issue should carry (docs/reference/labels.md): one state label,
the stage's, the risk's, and the alerts; only the difference from what it carries is sent.

State, stage and risk labels are the bot's alone (:func:`bot_owned`): anyone else's change to
them is tampering.
"""

from __future__ import annotations

from exception_bot.domain.actions import IssueRef, SetLabels
from exception_bot.domain.escape import Markdown
from exception_bot.domain.model import ActionLabel
from exception_bot.domain.review.routing import stage_label
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.settings import Config


def label_delta(review: Review, walk: Walk, changed: bool | None) -> SetLabels:
    """``changed``: whether the request differs from its approved terms (None: it has none)."""
    issue, labels = review.issue, review.labels
    desired = {labels.state(walk.state)}
    stage = stage_label(review, walk)
    if stage:
        desired.add(stage)
    if review.request is not None:
        desired.add(labels.risk(review.request.risk_level))
    owned = {name for name in issue.labels if bot_owned(review.config, name)}
    add = desired - issue.labels
    if walk.tampered and labels.tampering not in issue.labels:
        add.add(labels.tampering)
    remove = (owned - desired) | (walk.consumed & issue.labels)
    if walk.breached:
        add.add(labels.sla_breached)
    else:
        remove.add(labels.sla_breached)
    if changed is not None:
        (add if changed else remove).add(labels.changed_after_approval)
    add -= issue.labels
    remove &= issue.labels
    return SetLabels(IssueRef(issue.project, issue.iid), frozenset(add), frozenset(remove))


def label_names(config: Config) -> dict[str, Markdown]:
    """The config's label names and escalation item, for the templates (the config is reviewed
    like code: its words are the bot's)."""
    return {
        "reject": Markdown(config.labels.action(ActionLabel.REJECT)),
        "request_changes": Markdown(config.labels.action(ActionLabel.REQUEST_CHANGES)),
        "appeal": Markdown(config.labels.action(ActionLabel.APPEAL)),
        "escalate": Markdown(config.labels.action(ActionLabel.ESCALATE)),
        "revoke": Markdown(config.labels.action(ActionLabel.REVOKE)),
        "escalation_item": Markdown(config.escalation.checklist_item),
    }


def bot_owned(config: Config, label: str) -> bool:
    """State, stage and risk labels: only the bot may set or remove them."""
    labels = config.labels
    return (
        label in labels.all_states
        or label in labels.all_risks
        or label.startswith(labels.stage_prefix)
    )
