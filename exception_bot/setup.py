"""``exception-bot setup``: what a GitLab needs before the first run, as a plan of steps.

The labels every request project uses (colour by family, a description that says who sets
each), the two issue templates in the requests projects' ``.gitlab/issue_templates/``, and the
register's skeleton. ``plan`` compares what should exist with what exists and returns only the
difference, so applying it twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from exception_bot.domain.approvals import appeal_route, route
from exception_bot.domain.escalation_paths import escalation_table
from exception_bot.domain.model import ActionLabel, RiskLevel, State
from exception_bot.domain.register import INDEX_JSON, INDEX_MARKDOWN, index_json, index_markdown
from exception_bot.domain.settings import Config
from exception_bot.domain.stand_in_paths import stand_in_table
from exception_bot.render import issue_templates
from exception_bot.webhook_setup import AddHook, UpdateHook, describe_hook_step

TEMPLATES_DIR = ".gitlab/issue_templates"
REGISTER_README = "README.md"

STATE_COLORS = {
    State.SUBMITTED: "#6699cc",
    State.NEEDS_INFO: "#f0ad4e",
    State.IN_REVIEW: "#428bca",
    State.ESCALATED: "#d9534f",
    State.APPROVED: "#5cb85c",
    State.ACTIVE: "#2e7d32",
    State.EXPIRED: "#8e8e8e",
    State.CLOSED: "#555555",
    State.REJECTED: "#a94442",
    State.APPEAL: "#9b59b6",
    State.REVOKED: "#7f1d1d",
    State.RENEWED: "#1f78d1",
}
RISK_COLORS = {
    RiskLevel.CRITICAL: "#b71c1c",
    RiskLevel.HIGH: "#ef6c00",
    RiskLevel.MEDIUM: "#f9a825",
    RiskLevel.LOW: "#7cb342",
}
ACTION_COLOR = "#ad8d43"
STAGE_COLOR = "#6b7280"
ALERT_COLOR = "#e00000"
INTAKE_COLOR = "#428bca"
SLA_TEXT = "A review stage is past its deadline; set by the bot."
TAMPERING_TEXT = "Someone changed a label only the bot may set; set by the bot."
ACTION_WHO = {
    ActionLabel.REJECT: "an approver of the current stage, to reject the request",
    ActionLabel.REQUEST_CHANGES: "an approver of the current stage, to send the request back",
    ActionLabel.ESCALATE: "the requester or an approver, to send the request to the CISO"
    " (a rejection, or controls that cannot be implemented, too)",
    ActionLabel.APPEAL: "the requester, on a rejected request within the appeal window",
    ActionLabel.REVOKE: "Security Compliance or the CISO, to end an approved exception",
    ActionLabel.RISK_CRITICAL: "an approver of the security stage or the"
    " CISO, to set the risk level to Critical",
    ActionLabel.RISK_HIGH: "an approver of the security stage or the"
    " CISO, to set the risk level to High",
    ActionLabel.RISK_MEDIUM: "an approver of the security stage or the"
    " CISO, to set the risk level to Medium",
    ActionLabel.RISK_LOW: "an approver of the security stage or the"
    " CISO, to set the risk level to Low",
}


@dataclass(frozen=True)
class LabelSpec:
    name: str
    color: str
    description: str


@dataclass(frozen=True)
class CreateLabel:
    project: str
    label: LabelSpec


@dataclass(frozen=True)
class UpdateLabel:
    project: str
    label: LabelSpec


@dataclass(frozen=True)
class CommitFiles:
    """Files to create or update in one commit; ``files`` maps path to content."""

    project: str
    branch: str
    files: Mapping[str, str]
    message: str


SetupStep = CreateLabel | UpdateLabel | CommitFiles | AddHook | UpdateHook


def label_specs(config: Config) -> list[LabelSpec]:
    """Every label the bot reads or writes, with its colour and who sets it."""
    labels = config.labels
    specs = [
        LabelSpec(labels.intake, INTAKE_COLOR, "An exception request; the issue templates add it."),
        *(
            LabelSpec(labels.state(s), color, f"Exception request state {s.value}; set by the bot.")
            for s, color in STATE_COLORS.items()
        ),
        *(
            LabelSpec(labels.risk(r), color, f"{r.label} risk; set by the bot from the request.")
            for r, color in RISK_COLORS.items()
        ),
        *(
            LabelSpec(
                labels.action(a), ACTION_COLOR, f"Added by {ACTION_WHO[a]}; the bot acts on it."
            )
            for a in ActionLabel
        ),
        LabelSpec(
            labels.sla_breached, ALERT_COLOR, "A review stage is past its deadline; set by the bot."
        ),
        LabelSpec(
            labels.tampering,
            ALERT_COLOR,
            "Someone changed a label only the bot may set; set by the bot.",
        ),
        LabelSpec(
            labels.changed_after_approval,
            ALERT_COLOR,
            "The request was edited after approval; the approved terms stand. Set by the bot.",
        ),
    ]
    return specs + [
        LabelSpec(name, STAGE_COLOR, "The approval stage being waited for; set by the bot.")
        for name in stage_labels(config)
    ]


def stage_labels(config: Config) -> list[str]:
    """Every stage label a route can use, from the routes ``decide`` walks: each risk level's,
    with and without the CISO escalation, and the appeal's."""
    routes = [route(config, risk, escalated) for risk in RiskLevel for escalated in (True, False)]
    stages = [stage for stages in (*routes, appeal_route(config)) for stage in stages]
    return list(dict.fromkeys(config.labels.stage([s.key for s in stage]) for stage in stages))


def plan(
    config: Config,
    labels: Mapping[str, Mapping[str, tuple[str, str | None]]],
    files: Mapping[str, Mapping[str, str | None]],
) -> list[SetupStep]:
    """The steps that bring GitLab to what the config needs.

    ``labels`` maps each requests project to its labels (name -> colour, description) and
    ``files`` each project to the current content of the files setup manages (None: missing).
    """
    return [*_label_steps(config, labels), *_file_steps(config, files)]


def _label_steps(
    config: Config, labels: Mapping[str, Mapping[str, tuple[str, str | None]]]
) -> Iterator[SetupStep]:
    for project in config.gitlab.requests_projects:
        existing = labels.get(project.path, {})
        for spec in label_specs(config):
            found = existing.get(spec.name)
            if found is None:
                yield CreateLabel(project.path, spec)
            elif (found[0].lower(), found[1] or "") != (spec.color.lower(), spec.description):
                yield UpdateLabel(project.path, spec)


def managed_files(config: Config) -> dict[str, dict[str, str]]:
    """Project -> path -> the content setup wants there."""
    templates = {f"{TEMPLATES_DIR}/{t.filename}": t.content for t in issue_templates(config)}
    wanted = {p.path: dict(templates) for p in config.gitlab.requests_projects}
    wanted.setdefault(config.gitlab.register_project, {}).update(
        {
            REGISTER_README: REGISTER_README_TEXT,
            INDEX_JSON: index_json([]),
            INDEX_MARKDOWN: index_markdown([]),
        }
    )
    return wanted


def _file_steps(
    config: Config, files: Mapping[str, Mapping[str, str | None]]
) -> Iterator[SetupStep]:
    register = config.gitlab.register_project
    for project, wanted in managed_files(config).items():
        current = files.get(project, {})
        changes = {
            path: text
            for path, text in wanted.items()
            # The register's files are the bot's data once they exist: created, never reset.
            if current.get(path) is None or (project != register and current.get(path) != text)
        }
        if changes:
            # The requests projects' templates go to their default branch ("" until resolved).
            branch = config.gitlab.register_branch if project == register else ""
            yield CommitFiles(project, branch, changes, _message(project, register))


def _message(project: str, register: str) -> str:
    if project == register:
        return "exception-bot setup: register skeleton"
    return "exception-bot setup: exception request issue templates"


def describe_step(step: SetupStep) -> str:
    match step:
        case CreateLabel(project, label):
            return f'{project}: create label ~"{label.name}" ({label.color})'
        case UpdateLabel(project, label):
            return (
                f'{project}: update label ~"{label.name}" to {label.color}, {label.description!r}'
            )
        case CommitFiles(project, branch, files, _):
            where = f"{project}@{branch}" if branch else f"{project} (default branch)"
            return f"{where}: commit {', '.join(sorted(files))}"
        case AddHook() | UpdateHook():
            return describe_hook_step(step)
    raise AssertionError(step)  # pragma: no cover - the match is exhaustive


def reference_markdown(config: Config) -> str:
    """The approval matrix and the label reference of a config, as Markdown tables."""

    def title(role: str) -> str:
        return config.roles[role].title

    lines = [
        "| Risk | Route (stages in order; roles joined by + approve in either order) |",
        "|---|---|",
    ]
    for risk in RiskLevel:
        route = " → ".join(" + ".join(title(r) for r in stage) for stage in config.stages(risk))
        lines.append(f"| {risk.label} | {route} |")
    ciso = title(config.escalation.ciso_role)
    appeal = " → ".join(" + ".join(title(r) for r in stage) for stage in config.appeal.stages)
    lines += [
        "",
        f"Escalated requests go to the {ciso} first ({config.escalation.checklist_item}); "
        f"appeals go {appeal}.",
        "",
        *escalation_table(config),
        "",
        *stand_in_table(config),
        "",
        "| Label | Colour | Set by |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{spec.name}` | `{spec.color}` | {spec.description} |" for spec in label_specs(config)
    ]
    return "\n".join(lines) + "\n"


REGISTER_README_TEXT = """# Exception register

Written by the exception bot. One file per exception under `exceptions/` (YAML front matter
for tools, the request text below it); closed, revoked and renewed ones move to `archive/`.
`REGISTER.md` is the index with a chart of the exceptions in force; `register.json` is the same
index for tools. Every change is one commit whose message names the exception and the event,
so this project's history is the audit trail.
"""
