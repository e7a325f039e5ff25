"""Renewals (docs/explanation/after-approval.md): which issue a renewal renews, and what the bot
recorded about it.

The *Renews* field may name the original as ``#123`` (the renewal's own project), a full issue
URL, or a register id such as ``EXC-0042``. Only issues of the configured requests projects can
be renewed: a URL elsewhere names nothing the bot keeps a record of.

An original ends as renewed only by the bot's own record on the renewal (:func:`renewed_by`):
a linked issue's labels and *Renews* field are anyone's to write, so an issue that merely looks
like an active renewal ends nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from exception_bot.domain import markers, record
from exception_bot.domain.fields import ParsedBody, parse_body
from exception_bot.domain.model import IssueSnapshot, LinkedIssue, RenewalRef, State
from exception_bot.domain.register import exception_id_of
from exception_bot.domain.settings import Config
from exception_bot.domain.validation import parse_renewal_ref

RENEWABLE = frozenset({State.APPROVED, State.ACTIVE, State.EXPIRED})
_RENEWS_KEY = "renews"


@dataclass(frozen=True)
class Target:
    """A resolved *Renews* reference: a requests project and an issue iid."""

    project: str
    iid: int


@dataclass(frozen=True)
class Original:
    """The renewed issue as the bot's own status note records it."""

    target: Target
    exception_id: str
    state: State | None
    renewal_number: int
    web_url: str


def resolve(ref: RenewalRef, own_project: str, config: Config) -> Target | None:
    projects = config.gitlab.requests_projects
    if ref.exception_id is not None:
        # The longest prefix first: "EXC-FIN-" must not be read as "EXC-" + "FIN-…".
        for project in sorted(projects, key=lambda p: len(p.id_prefix), reverse=True):
            rest = ref.exception_id.removeprefix(project.id_prefix.upper())
            if rest != ref.exception_id and re.fullmatch(r"\d+", rest):
                return Target(project.path, int(rest))
        return None
    if ref.iid is None:
        return None
    path = ref.project_path or own_project
    if not any(p.path.lower() == path.lower() for p in projects):
        return None
    return Target(next(p.path for p in projects if p.path.lower() == path.lower()), ref.iid)


def renews(body: ParsedBody, own_project: str, config: Config) -> Target | None:
    """The issue a description's *Renews* field points at, if it names a known one."""
    section = body.section(_RENEWS_KEY)
    if section is None:
        return None
    for line in section.text.splitlines():
        ref = parse_renewal_ref(line)
        if ref is not None:
            return resolve(ref, own_project, config)
    return None


def renews_issue(description: str, own_project: str, config: Config) -> Target | None:
    return renews(parse_body(description), own_project, config)


def original(snapshot: IssueSnapshot, config: Config, bot_id: int) -> Original:
    said = markers.bot_notes(snapshot.notes, bot_id)
    rec = (record.decode(said.status.body) if said.status else None) or record.Record()
    return Original(
        Target(snapshot.project, snapshot.iid),
        exception_id_of(snapshot, config),
        State(rec.state) if rec.state else None,
        rec.renewal_number,
        snapshot.web_url,
    )


def endable(snapshot: IssueSnapshot, config: Config, bot_id: int) -> bool:
    """The bot's record says this is an exception an active renewal ends
    (docs/explanation/after-approval.md)."""
    return original(snapshot, config, bot_id).state in RENEWABLE


def claims_renewal(link: LinkedIssue, config: Config) -> bool:
    """A linked request that looks like an active renewal: its notes must be read to know.

    The label is anyone's to set (GitLab lets any member label an issue they open), so this only
    says which linked issues are worth a request for their notes, never that one renews.
    """
    return served(link.project, config) and config.labels.state(State.ACTIVE) in link.labels


def renewed_by(
    snapshot: IssueSnapshot, config: Config, bot_id: int
) -> tuple[LinkedIssue, datetime] | None:
    """The linked issue that renews this exception, by the bot's own record in its status
    note: a request of a served project, active, renewing this very exception; and when it
    became active, which is when this one was renewed.

    Only links whose notes were read (:attr:`LinkedIssue.notes`) can be one.
    """
    me = exception_id_of(snapshot, config)
    for link in snapshot.links:
        if link.notes is None or not served(link.project, config):
            continue
        said = markers.bot_notes(link.notes, bot_id)
        rec = record.decode(said.status.body) if said.status else None
        if rec is not None and rec.state == State.ACTIVE.value and rec.renewal_of == me:
            activated = rec.milestones.get("activated")
            # A record always dates its activation; one that does not is dated by its link.
            return link, activated or link.updated_at or snapshot.updated_at
    return None


def served(project: str, config: Config) -> bool:
    """``project`` is one of the requests projects: only there does the bot keep records."""
    return any(p.path.lower() == project.lower() for p in config.gitlab.requests_projects)
