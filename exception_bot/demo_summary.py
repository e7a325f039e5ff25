"""What the demo and ``sandbox serve`` say about the sandbox's people and requests: who holds
which role, and where each request of the demo ended and why.

All of it is read from what the sandbox holds (the groups' own members, the bot's status note
and its other notes) and from the config, never written out by hand, so it stays true when the
story, the seed or the bot changes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from exception_bot.domain import markers, record
from exception_bot.domain.people import roles_held
from exception_bot.domain.settings import Config
from exception_bot.sandbox.store import Issue, Project, Store

if TYPE_CHECKING:
    from exception_bot.runner import IssueResult

WIDTH = 100
ROUTING = ("in-review", "escalated", "appeal")
AFTERCARE = ("approved", "active", "expired")


def own_members(store: Store) -> dict[str, frozenset[str]]:
    """Each group's own members (not those it inherits from its parents), by path."""
    return {
        group.full_path: frozenset(store.users[uid].username for uid in group.members)
        for group in store.groups.values()
    }


def roster(config: Config, store: Store) -> list[tuple[str, str]]:
    """Every user of the sandbox and what the config makes them, in words."""
    groups = own_members(store)
    bot = config.gitlab.bot_user.lower()
    found = []
    for user in store.users.values():
        if user.username.lower() == bot:
            found.append((user.username, "the bot (gitlab.bot_user)"))
            continue
        roles = roles_held(config, user.username, groups)
        found.append((user.username, _and(roles) if roles else "no role: may open requests"))
    return found


def who_is_who(
    config: Config, store: Store, people: Sequence[str], requesters: Iterable[str]
) -> str:
    """One paragraph naming the people of the story in order of appearance, and their roles."""
    asking = [p for p in people if p in set(requesters)]
    groups = own_members(store)
    parts = [f"{_and(asking)} ask for exceptions"] if asking else []
    for person in people:
        roles = roles_held(config, person, groups)
        if roles:
            parts.append(f"{person}: {_and(roles)}{' too' if person in asking else ''}")
    text = "Who is who: " + "; ".join(parts) + "."
    for d in config.delegations:
        since = f"from {d.since:%a %-d %b} " if d.since else ""
        handed = _and([config.roles[r].title for r in d.roles if r in config.roles])
        text += f" {d.from_user} is away {since}to {d.until:%a %-d %b}: {d.to_user} approves "
        text += f"as {handed} for {d.from_user} meanwhile (delegations in the config)."
    return textwrap.fill(text, WIDTH, subsequent_indent="  ")


def endings(
    store: Store,
    project: Project,
    bot: str,
    results: Iterable[IssueResult],
    titles: Mapping[int, str],
) -> list[str]:
    """A line per request: the state it ended in and what brought it there."""
    bot_user = store.user_named(bot)
    if bot_user is None:
        return []
    lines = []
    for result in results:
        iid = int(result.issue.rsplit("#", 1)[-1])
        said = _bot_notes(project.issues[iid], bot_user.id)
        status = said.get(markers.STATUS, [])
        rec = (record.decode(status[0]) if status else None) or record.Record()
        why = [_where(result, rec), *_along_the_way(said, result.state)]
        text = f"#{iid} {titles.get(iid, '')}: " + "; ".join(w for w in why if w) + "."
        lines.append(textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="    "))
    return lines


def _bot_notes(issue: Issue, bot_id: int) -> dict[str, list[str]]:
    """The bot's notes on ``issue``, by the kind their marker names."""
    found: dict[str, list[str]] = {}
    for note in issue.notes:
        mark = markers.trailing(note.body) if note.author_id == bot_id and not note.system else None
        if mark is not None:
            kind = mark.split("kind=", 1)[1].split(":", 1)[0]
            found.setdefault(kind, []).append(note.body)
    return found


def _where(result: IssueResult, rec: record.Record) -> str:
    state, facts, milestones = result.state or "", result.facts, rec.milestones
    approvers = _and([_by(a) for a in sorted(rec.approvals, key=lambda a: a.at)])
    if result.error:
        return f"the bot failed on it: {result.error}"
    if state in AFTERCARE:
        approved = f"approved {_at(milestones.get('approved'))} by {approvers}"
        if rec.rejection is not None and "appealed" in milestones:
            approved = (
                f"approved on appeal {_at(milestones.get('approved'))} by {approvers}, after "
                f"{rec.rejection.user} rejected it {_at(rec.rejection.at)} and it was appealed "
                f"{_at(milestones['appealed'])}"
            )
        if "activated" in milestones:
            return (
                f"{state} since {_at(milestones['activated'])}, when its requester confirmed "
                f"the compensating controls; {approved}"
            )
        waiting = "not in force until its requester confirms the compensating controls"
        return f"{state}, {waiting}; {approved}"
    if state in ROUTING and facts is not None:
        stage = (facts.stage or "").split("::")[-1]
        told = [f"{state} at stage {stage} since {_at(facts.stage_started_at)}"]
        if facts.deadline is not None:
            late = "overdue since" if facts.breached else "due by"
            told.append(f"{late} {_at(facts.deadline)}")
        if rec.approvals:
            told.append(f"approved so far by {approvers}")
        return ", ".join(told)
    if state == "needs-info":
        return "needs-info: waiting for its requester to complete it"
    if state == "rejected" and rec.decision is not None:
        return f"rejected by {rec.decision.user} {_at(rec.decision.at)}"
    return state


def _along_the_way(said: Mapping[str, list[str]], state: str | None) -> list[str]:
    """What else the bot did that explains where the request stands."""
    told = []
    if said.get(markers.PROBLEMS) and state != "needs-info":
        told.append("the bot first asked its requester for what it lacked")
    if tampered := len(said.get("tampering", [])):
        told.append(f"the bot put back {_count(tampered, 'label change')} nobody may make")
    if unticked := len(said.get("untick", [])):
        told.append(f"it undid {_count(unticked, 'tick')} it could not count")
    return told


def _by(approval: record.ApprovalRecord) -> str:
    """``dave for erin``: a deputy's approval names whom it counts for."""
    return f"{approval.user} for {approval.for_user}" if approval.for_user else approval.user


def _count(n: int, what: str) -> str:
    return f"{'one' if n == 1 else n} {what}{'' if n == 1 else 's'}"


def _at(moment: datetime | None) -> str:
    return f"{moment:%a %-d %b %H:%M}" if moment else "(unknown)"


def _and(words: Sequence[str]) -> str:
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
