"""Jinja2 rendering: issue templates, comments and the weekly report.

Templates are Markdown, so Jinja's HTML autoescaping is off; user text is never rendered *as* a
template. What the bot writes to GitLab (comments, the report) is rendered by an environment
whose ``finalize`` shows every string that is not :class:`~exception_bot.domain.escape.Markdown`
as an inert code span (see :mod:`exception_bot.domain.escape`): user text cannot come out live,
whichever variable holds it. The issue templates are made from the config alone.
``StrictUndefined`` turns a missing variable into an error instead of an empty string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jinja2

from exception_bot.domain.escape import Markdown, finalize, mention, name, reference
from exception_bot.domain.labels import quick_action_labels
from exception_bot.domain.model import ActionLabel, DataClassification, RiskLevel
from exception_bot.domain.report import WeeklyReport
from exception_bot.domain.request_covers import MAX_FINDINGS, MAX_PROJECTS
from exception_bot.domain.settings import Config
from exception_bot.domain.text import neutralise_quick_actions
from exception_bot.domain.validation import FIELD_BY_KEY

REQUEST_TEMPLATE_NAME = "Exception Request.md"
RENEWAL_TEMPLATE_NAME = "Exception Renewal.md"


@lru_cache(maxsize=2)
def environment(escaping: bool = True) -> jinja2.Environment:
    """The template environment: ``escaping`` (for everything written to GitLab but the issue
    templates) shows every non-Markdown string inert."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("exception_bot", "templates"),
        finalize=finalize if escaping else None,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - Markdown for GitLab, not HTML; see module docstring
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship inside the package and never change while the bot runs; with
        # reloading on, every render would stat() the template file.
        auto_reload=False,
    )
    # Filters that take user text return Markdown they made safe; the others take the bot's.
    env.filters.update(
        when=_when,
        field_title=_field_title,
        mention=mention,
        name=name,
        reference=reference,
    )
    return env


def render(template: str, **context: Any) -> str:
    return _template(template).render(**context)


@lru_cache(maxsize=64)
def _template(template: str) -> jinja2.Template:
    # get_template takes a lock and asks the loader's cache each time: a run renders the status
    # note once per request.
    escaping = not template.startswith("issue_templates/")
    return environment(escaping).get_template(template)


@dataclass(frozen=True)
class RenderedTemplate:
    filename: str
    content: str


def issue_templates(config: Config) -> tuple[RenderedTemplate, RenderedTemplate]:
    """The *Exception Request* and *Exception Renewal* issue templates for this config."""
    context = _template_context(config)
    return (
        RenderedTemplate(REQUEST_TEMPLATE_NAME, render("issue_templates/request.md.j2", **context)),
        RenderedTemplate(RENEWAL_TEMPLATE_NAME, render("issue_templates/renewal.md.j2", **context)),
    )


def _template_context(config: Config) -> dict[str, Any]:
    def title(role: str) -> str:
        return config.roles[role].title

    route_lines = [
        f"{risk.label}: "
        + " -> ".join(" + ".join(title(r) for r in stage) for stage in config.stages(risk))
        for risk in RiskLevel
    ]
    matrix_roles = set(config.matrix_roles())
    approval_items = [text for role, text in config.checklist.items() if role in matrix_roles]
    escalation_environments = (
        list(config.limits.production_environments)
        if config.limits.critical_in_production.value == "escalate"
        else []
    )
    if escalation_environments:
        approval_items.insert(0, config.escalation.checklist_item)
    return {
        "departments": config.departments,
        "policies": config.policies,
        "environments": config.environments,
        "classifications": [c.value for c in DataClassification],
        "risk_levels": [r.label for r in RiskLevel],
        "escalation_environments": escalation_environments,
        "escalation_item": config.escalation.checklist_item,
        "max_duration_days": config.limits.max_duration_days,
        "max_renewals": config.limits.max_renewals,
        # The two ways to contest a rejection (docs/explanation/escalations.md).
        "appeal_window_days": config.limits.appeal_window_days,
        "appeal_label": config.labels.action(ActionLabel.APPEAL),
        "escalate_label": config.labels.action(ActionLabel.ESCALATE),
        "max_covered_projects": MAX_PROJECTS,
        "max_covered_findings": MAX_FINDINGS,
        "route_lines": route_lines,
        "approval_items": approval_items,
        # GitLab runs these quick actions when the issue is created from the template.
        "quick_actions": f"/label {quick_action_labels(config.labels.creation_labels())}\n"
        "/confidential",
    }


def render_note(template: str, marker: str, **context: Any) -> str:
    """A comment body: the template, its hidden marker, and no line GitLab would run."""
    body = render(f"comments/{template}", **context).strip()
    return neutralise_quick_actions(f"{body}\n\n{marker}")


def render_report(report: WeeklyReport) -> str:
    """The weekly report issue's description, with its marker and no line GitLab would run."""
    body = render("report/weekly.md.j2", **report.context).strip()
    return neutralise_quick_actions(f"{body}\n\n{report.marker}\n")


@dataclass(frozen=True)
class Templates:
    """The package's templates as the review's renderer
    (:class:`~exception_bot.domain.rendering.Renderer`): the shell renders, the core decides
    which template and what it shows."""

    def render_note(self, template: str, marker: str, **context: object) -> str:
        return render_note(template, marker, **context)

    def render_report(self, report: WeeklyReport) -> str:
        return render_report(report)

    def renewal_template(self, config: Config) -> str:
        return issue_templates(config)[1].content


TEMPLATES = Templates()


def _when(moment: datetime) -> Markdown:
    """``2026-11-23 09:00 UTC`` (isoformat is several times faster than strftime)."""
    return Markdown(f"{moment.astimezone(UTC).isoformat(' ', 'minutes')[:16]} UTC")


def _field_title(key: str) -> Markdown:
    spec = FIELD_BY_KEY.get(key)
    return Markdown(spec.heading if spec else key.replace("_", " ").capitalize())
