"""Renewals (docs/explanation/after-approval.md): *Renews* names an approved, active or expired
exception; the renewal is linked to it and numbered along the chain (past
``limits.max_renewals`` it goes to the CISO first); the original is closed as renewed once the
renewal is active, by the bot's record on the renewal, never by its labels or text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlencode

from exception_bot.domain import record, renewals
from exception_bot.domain.actions import IssueRef, LinkIssues
from exception_bot.domain.model import IssueSnapshot, Problem, RenewalRef, State
from exception_bot.domain.review.context import Context
from exception_bot.domain.review.walk import Review, Walk


def check_renewal(
    issue: IssueSnapshot, ctx: Context, rec: record.Record, original: IssueSnapshot | None
) -> tuple[record.Record, tuple[Problem, ...]]:
    """A renewal names an approved, active or expired exception; it takes the next number."""
    projects = ", ".join(p.path for p in ctx.config.gitlab.requests_projects)
    if original is None:
        return rec, (
            Problem(
                "renews",
                f"*Renews* does not name an exception request of {projects} that I can read.",
                "Write #123, the original issue's full URL, or its register id such as EXC-0042.",
            ),
        )
    found = renewals.original(original, ctx.config, ctx.bot.id)
    if found.state not in renewals.RENEWABLE:
        state = found.state.value if found.state else "not decided yet"
        return rec, (
            Problem(
                "renews",
                f"{found.exception_id} is {state}: only an approved, active or expired "
                "exception can be renewed.",
                "Name the exception this renewal extends, or open a new request instead.",
            ),
        )
    return replace(rec, renewal_of=found.exception_id, renewal_number=found.renewal_number + 1), ()


def link_original(review: Review, walk: Walk) -> Walk:
    """The renewal linked to the issue it renews, once."""
    if walk.rec.renewal_of is None:
        return walk
    issue = review.issue
    ref = RenewalRef(exception_id=walk.rec.renewal_of)
    target = renewals.resolve(ref, issue.project, review.config)
    linked = {(link.project.lower(), link.iid) for link in issue.links}
    if target is None or (target.project.lower(), target.iid) in linked:
        return walk
    return walk.edit(LinkIssues(walk.plan.ref, IssueRef(target.project, target.iid)))


def renewed(review: Review, walk: Walk) -> Walk:
    """An active renewal of this exception ends it: closed as renewed. Which linked issue is
    one goes by the bot's record on it, never by its labels or text."""
    found = renewals.renewed_by(review.issue, review.config, review.ctx.bot.id)
    if found is None:
        return walk
    link, activated = found
    walk = replace(walk, state=State.RENEWED, rec=walk.rec.reached("renewed", activated))
    return walk.post_once("renewed", link.reference, "renewed.md.j2", renewal=link.reference)


def renewal_url(issue: IssueSnapshot, ctx: Context) -> str:
    """A link that opens a new issue with the renewal template already filled with *Renews*.

    GitLab's new-issue page takes ``issue[title]`` and ``issue[description]`` from the query
    string, so the requester starts from the template with this issue's reference in place.
    """
    base = issue.web_url.rsplit("/-/issues/", 1)[0]
    template = ctx.renderer.renewal_template(ctx.config)
    filled = re.sub(r"^<#123>$", f"#{issue.iid}", template, count=1, flags=re.M)
    query = urlencode(
        {"issue[title]": f"Renewal of #{issue.iid}: {issue.title}", "issue[description]": filled}
    )
    return f"{base}/-/issues/new?{query}"
