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

from exception_bot.actions import IssueRef
from exception_bot.domain.intake import from_template
from exception_bot.domain.settings import Config
from exception_bot.gitlab_api import GitLab

log = logging.getLogger(__name__)


def adopt_requests(gitlab: GitLab, config: Config, dry_run: bool) -> tuple[IssueRef, ...]:
    """Label every open request that carries a template's comment but not the intake label
    (none in a dry run); the issues labelled, or that would be."""
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
                "template's /label only for members of the project): %s it",
                ref,
                intake,
                "would label" if dry_run else "labelled",
            )
            if not dry_run:
                gitlab.set_labels(ref, add=[intake], remove=[])
            adopted.append(ref)
    return tuple(adopted)
