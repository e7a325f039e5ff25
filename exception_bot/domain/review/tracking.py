"""Tracking issues at the end of an exception (docs/explanation/after-approval.md): the source
process asks, at expiry, to verify the fix and to close any related tracking issues. The
issues linked to the request that are neither incidents nor exception requests (its renewals,
its original) are its tracking issues: the verification comment at expiry lists them, and when
Security Compliance closes the exception, one comment names those still open.

Only their references and states are shown, as GitLab's links API gives them: a linked issue
is anyone's to link, and its title is not read.
"""

from __future__ import annotations

from dataclasses import dataclass

from exception_bot.domain.escape import Markdown
from exception_bot.domain.intake import from_template
from exception_bot.domain.model import IssueSnapshot, LinkedIssue
from exception_bot.domain.review.register_entry import INCIDENT
from exception_bot.domain.review.walk import Review, Walk
from exception_bot.domain.settings import Config

# A request lists at most this many; a longer list says how many more there are.
MAX_LISTED = 20


@dataclass(frozen=True)
class Tracking:
    """The tracking issues as a comment lists them."""

    listed: tuple[LinkedIssue, ...]
    more: int

    @property
    def open(self) -> tuple[LinkedIssue, ...]:
        return tuple(link for link in self.listed if link.state == "opened")

    def rows(self) -> list[dict[str, object]]:
        shown = {"opened": Markdown("open"), "closed": Markdown("closed")}
        return [
            {"reference": x.reference, "state": shown.get(x.state, shown["closed"])}
            for x in self.listed
        ]


def tracking_issues(issue: IssueSnapshot, config: Config) -> Tracking:
    """The request's linked issues that are neither incidents nor exception requests, by
    reference."""
    found = sorted(
        (link for link in issue.links if not _incident(link) and not _request(link, config)),
        key=lambda link: (link.project.lower(), link.iid),
    )
    return Tracking(tuple(found[:MAX_LISTED]), max(0, len(found) - MAX_LISTED))


def _incident(link: LinkedIssue) -> bool:
    return link.issue_type == INCIDENT or INCIDENT in {label.lower() for label in link.labels}


def _request(link: LinkedIssue, config: Config) -> bool:
    return config.labels.intake in link.labels or from_template(link.description)


def at_closure(review: Review, walk: Walk) -> Walk:
    """Once, when the exception is closed: the tracking issues still open, if any."""
    still_open = tracking_issues(review.issue, review.config).open
    if not still_open:
        return walk
    return walk.post_once(
        "tracking",
        "closed",
        "tracking.md.j2",
        references=[link.reference for link in still_open],
    )
