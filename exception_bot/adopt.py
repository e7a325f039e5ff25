"""Requests GitLab left without the intake label get it from the bot, once.

The bot lists requests by the intake label, which the issue templates add with ``/label``.
GitLab runs that quick action only for members of the project (a non-member may still open a
confidential issue in an internal or public project) and only for labels that exist, so a
request can arrive without it and would never be seen. Each run looks at the open issues
without the label (one list, usually short: the bot's own reminder issues and the odd stray),
and labels those that open with a template's comment (:mod:`exception_bot.domain.intake`):
the request is then processed in this same run, and its requester hears from the bot as for
any other. An issue whose intake label someone removed is left alone: that was a person's
decision, and its history shows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from exception_bot.domain.actions import IssueRef, SetLabels
from exception_bot.domain.intake import from_template
from exception_bot.domain.settings import Config
from exception_bot.gitlab import GitLab

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adoption:
    """A request GitLab left without the intake label: the label the bot adds, and the issue
    as GitLab listed it with that label in place, as the run's list of requests gives it once
    labelled (so that a dry run, which labels nothing, decides it as the run will)."""

    action: SetLabels
    listed: dict[str, Any]


def adoptions(gitlab: GitLab, config: Config) -> tuple[Adoption, ...]:
    """The intake label for every open request that carries a template's comment but not the
    label, and never had it: read here, applied by the run's sink (not at all in a dry run)."""
    intake = config.labels.intake
    adopted = []
    for project in config.gitlab.requests_projects:
        for attrs in gitlab.unlabelled_issues(project.path, intake):
            ref = IssueRef(project.path, int(attrs["iid"]))
            if not from_template(str(attrs.get("description") or "")):
                continue
            if gitlab.ever_labelled(ref, intake):
                continue
            log.warning(
                "%s opens with the request template but has no ~%s (GitLab runs the "
                "template's /label only for members of the project): the bot labels it",
                ref,
                intake,
            )
            labelled = {**attrs, "labels": [*(attrs.get("labels") or ()), intake]}
            adopted.append(Adoption(SetLabels(ref, frozenset({intake}), frozenset()), labelled))
    return tuple(adopted)
