"""The state file: what the bot saw of each issue last time, so an unchanged issue costs no
request beyond the list pages.

For each issue it keeps GitLab's ``updated_at`` from the list, when a deadline or reminder
next needs a look, and the facts the weekly report needs. An issue is skipped only when all of
these hold: its ``updated_at`` is the one recorded, the recorded run changed nothing (an issue
the bot wrote to is read once more), no wake-up time has come, and no other open request its
decision read has changed since (a renewal reads its original, an exception its renewals).
Linked issues outside the list (incidents in other projects, closed issues) are not followed:
a change to one of those is seen when the issue is next read, within a day (``MAX_SLEEP``).

``updated_at`` does not tell of every change. A comment, a label, an assignee or a link only
*touches* the issue, and GitLab throttles touches (app/models/concerns/throttled_touch.rb,
included by Issue): one within a minute of the last update leaves ``updated_at`` as it was,
and deleting a comment touches nothing. So an issue is recorded only when the run's read came
more than :data:`THROTTLE_WINDOW` after its ``updated_at`` (and after that of each request its
decision read), by GitLab's clock (the ``Date`` of its answer before the list), whatever the
bot's: from then on, any change moves it. One read too soon is read again next run. The list
page's comment count, labels and assignees (:class:`Signs`) are compared too: a deleted
comment touches nothing at all, and they tell of a throttled change should GitLab's clocks
disagree by more than the window allows. A label added and removed again leaves the labels as they
were; the time rule alone covers it, since either the addition moved ``updated_at`` or the
issue was not recorded.

It also keeps the register branch's head commit as the last run listed it, with the text of the
files the merge-request route watch reads: while no commit lands on the branch, the watch
needs one request instead of the whole tree. Losing or corrupting the file only costs a cold
run: every issue, and the register tree, is read again. So does a file written by another
version of the bot or under another config: its wake-up times came from other rules.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from exception_bot.domain.actions import Action, IssueRef, LinkIssues
from exception_bot.domain.model import IssueSnapshot, RiskLevel, State
from exception_bot.domain.provenance import Merge, Verdict
from exception_bot.domain.report import RequestFacts

log = logging.getLogger(__name__)
# 2: Seen.depends and the file's source; 3: Seen.signs; 4: RegisterSeen.verdicts; 5: verdicts
# rest on the bot's record, not the committer; 6: RequestFacts.in_force_since. A file of
# another version costs one cold run.
STATE_VERSION = 6
# However quiet an issue is, it is read at least this often: a safety net for any time-based
# trigger the wake-up times might miss, and when changes to linked issues outside the list show.
MAX_SLEEP = timedelta(days=1)
# GitLab's ThrottledTouch::TOUCH_INTERVAL, plus as much again for the clocks of GitLab's nodes
# and the whole seconds of its Date: an issue updated this shortly before the run's read (by
# GitLab's clock) is not recorded.
THROTTLE_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class Signs:
    """What the list page shows of the changes that need not move ``updated_at``: the number of
    comments (lib/api/entities/issue_basic.rb user_notes_count: a deleted one never touches the
    issue), the labels and the assignees' ids (touches a throttle may skip)."""

    notes: int | None = None
    labels: tuple[str, ...] = ()
    assignees: tuple[int, ...] = ()


def signs(attrs: Mapping[str, Any]) -> Signs:
    """The :class:`Signs` of an issue as a list page gives it."""
    count = attrs.get("user_notes_count")
    labels = (
        str(lb.get("name") if isinstance(lb, dict) else lb) for lb in attrs.get("labels") or ()
    )
    assignees = (int(a["id"]) for a in attrs.get("assignees") or () if isinstance(a, dict))
    return Signs(
        count if isinstance(count, int) else None, tuple(sorted(labels)), tuple(sorted(assignees))
    )


@dataclass(frozen=True)
class Seen:
    updated_at: str
    wake: datetime  # read the issue again from this moment on
    facts: RequestFacts | None = None
    # The other open requests its decision read (its renewals, a renewal's original), by
    # issue_key, with the updated_at they were read with: a write to one of them does not move
    # this issue's updated_at, yet may change its decision (an active renewal ends it).
    depends: Mapping[str, datetime] = field(default_factory=dict)
    signs: Signs = Signs()


@dataclass(frozen=True)
class RegisterSeen:
    """The register branch as a run listed it: the commit its head was on (read before the
    tree, so any later commit shows as a new head) and the text of each watched file."""

    commit: str
    files: Mapping[str, str]  # path -> text
    # Where each file of the exceptions folder came from, by path, with the blob judged: the
    # history is read again only for a new file or a changed blob (domain/provenance.py).
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)


@dataclass(frozen=True)
class Saved:
    issues: dict[str, Seen] = field(default_factory=dict)
    register: RegisterSeen | None = None
    # The bot's version and config all this was seen with (runner.state_source): under
    # another, wake-up times, facts and the watched files may be wrong, so none is used.
    source: str = ""


def load(where: str | Path | None) -> Saved:
    """What the last run saw, from ``where`` (the config's ``state_file``; None: off)."""
    if where is None or not Path(where).exists():
        return Saved()
    path = Path(where)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("version") != STATE_VERSION:
            raise ValueError(f"version {payload.get('version')!r}")
        issues = {key: _seen(value) for key, value in payload["issues"].items()}
        register = payload.get("register")  # None when the last watch failed
        return Saved(issues, _register(register) if register else None, str(payload["source"]))
    # Whatever the damage (a truncated write, a hand edit, nesting too deep for the parser, a
    # number too big for an int), the file is only a cache: read everything again.
    except Exception as err:
        log.warning("state file %s unreadable (%r): every issue is read this run", path, err)
        return Saved()


def save(where: str | Path | None, saved: Saved) -> None:
    """Write atomically: a crash mid-write leaves the previous file, not half of this one."""
    if where is None:
        return
    path = Path(where)
    payload = {
        "version": STATE_VERSION,
        "issues": {
            key: {
                "updated_at": value.updated_at,
                "wake": value.wake.isoformat(),
                "facts": _facts_payload(value.facts) if value.facts else None,
                "depends": {ref: at.isoformat() for ref, at in value.depends.items()},
                "signs": asdict(value.signs),
            }
            for key, value in saved.issues.items()
        },
        "register": asdict(saved.register) if saved.register else None,
        "source": saved.source,
    }
    # dumps, not dump: json.dump always takes the pure-Python encoder, several times slower
    # than the C one for the thousands of entries of a large organisation.
    text = json.dumps(payload, default=str)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def _facts_payload(facts: RequestFacts) -> dict[str, Any]:
    # asdict would deep-copy every value, for nothing: they are all immutable.
    return {name: getattr(facts, name) for name in _FACT_FIELDS}


def issue_key(project: str, iid: int) -> str:
    """An issue as :attr:`Seen.depends` names it (a linked issue's project is spelt as GitLab
    spells it, the configured one as the config does)."""
    return f"{project.lower()}#{iid}"


def listed_times(listed: Iterable[tuple[IssueRef, Mapping[str, Any]]]) -> dict[str, str]:
    """Each listed issue's ``updated_at`` by :func:`issue_key`, under the project as the config
    names it and as GitLab does: links name it GitLab's way, a renewal's original the
    config's, and the two differ once a project has moved (GitLab redirects the old path)."""
    found: dict[str, str] = {}
    for ref, attrs in listed:
        at = str(attrs.get("updated_at"))
        found[issue_key(ref.project, ref.iid)] = at
        full = str((attrs.get("references") or {}).get("full") or "")
        if "#" in full:
            found[issue_key(full.rsplit("#", 1)[0], ref.iid)] = at
    return found


def read_besides(
    snapshot: IssueSnapshot, original: IssueSnapshot | None, listed: Mapping[str, str]
) -> dict[str, datetime]:
    """What :attr:`Seen.depends` keeps: the requests of this run's list (``listed``, from
    :func:`listed_times`) that a decision read besides its issue, its linked issues and a
    renewal's original, with the ``updated_at`` they were read with."""
    others = [(link.project, link.iid, link.updated_at) for link in snapshot.links]
    if original is not None:
        others.append((original.project, original.iid, original.updated_at))
    return {
        key: at
        for project, iid, at in others
        if at is not None and (key := issue_key(project, iid)) in listed
    }


def written_to(ref: IssueRef, actions: Iterable[Action]) -> Iterator[str]:
    """The issues an issue's actions wrote to, by :func:`issue_key`: its own, and the other end
    of a link (GitLab notes a link on both issues)."""
    yield issue_key(ref.project, ref.iid)
    for action in actions:
        if isinstance(action, LinkIssues):
            yield issue_key(action.target.project, action.target.iid)


def fresh(
    seen: Seen | None, attrs: Mapping[str, Any], now: datetime, listed: Mapping[str, str]
) -> bool:
    """True when the issue (``attrs``: as this run's list page gives it) needs no reading this
    run: it is unchanged, no wake-up time has come, and no request its decision read has
    changed (``listed``: the ``updated_at`` of each open request of this run's list, by
    :func:`issue_key`)."""
    return (
        seen is not None
        and seen.updated_at == str(attrs.get("updated_at"))
        and seen.signs == signs(attrs)
        and now < seen.wake
        and all(_unchanged(listed.get(key), at) for key, at in seen.depends.items())
    )


def settled(seen: Seen, read_at: datetime) -> bool:
    """True when ``seen`` may be recorded for a run that listed the issues at ``read_at``: it
    and every request its decision read were last updated more than :data:`THROTTLE_WINDOW`
    before, so that any later change to them moves their ``updated_at``."""
    try:
        times = [datetime.fromisoformat(seen.updated_at), *seen.depends.values()]
        return all(read_at - at > THROTTLE_WINDOW for at in times)
    except (TypeError, ValueError):  # no time GitLab would write: read it again
        return False


def forget_written(kept: Mapping[str, Seen], written: Set[str]) -> dict[str, Seen]:
    """``kept`` without the issues this run wrote to (or failed on), by :func:`issue_key`, and
    those whose decision read one: they are read again next run. Their ``updated_at`` would
    tell too, unless the write carried the very time of the read (a renewal's link lands on its
    original in the run that read the original; the sandbox's clock stands still in a run)."""
    return {
        key: seen
        for key, seen in kept.items()
        if key.lower() not in written and not written & seen.depends.keys()
    }


def _unchanged(listed_at: str | None, read_at: datetime) -> bool:
    # Gone from the list: closed (or its intake label removed), which is a change too.
    if listed_at is None:
        return False
    try:
        return datetime.fromisoformat(listed_at) == read_at
    except ValueError:  # no time GitLab would write: take it as a change
        return False


def wake_time(next_check: datetime | None, now: datetime) -> datetime:
    latest = now + MAX_SLEEP
    return min(next_check, latest) if next_check is not None else latest


def _seen(value: dict[str, Any]) -> Seen:
    facts = value.get("facts")
    depends = value["depends"]
    marks = value["signs"]
    return Seen(
        str(value["updated_at"]),
        datetime.fromisoformat(value["wake"]),
        _facts(facts) if facts else None,
        {str(key): datetime.fromisoformat(at) for key, at in depends.items()},
        Signs(
            int(marks["notes"]) if marks["notes"] is not None else None,
            tuple(str(label) for label in marks["labels"]),
            tuple(int(user) for user in marks["assignees"]),
        ),
    )


def _register(data: dict[str, Any]) -> RegisterSeen:
    files = data["files"]
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise TypeError("register files must map paths to texts")
    verdicts = {
        str(path): Verdict(str(v["blob"]), bool(v["verified"]), str(v["why"]), _merge(v))
        for path, v in data["verdicts"].items()
    }
    return RegisterSeen(str(data["commit"]), dict(files), verdicts)


def _merge(verdict: dict[str, Any]) -> Merge | None:
    """The merge a verdict keeps for the index commit's trailers; none in a file before it."""
    merge = verdict.get("merge")
    if not merge:
        return None
    return Merge(str(merge["url"]), str(merge["user"]), datetime.fromisoformat(merge["at"]))


_FACT_FIELDS = tuple(f.name for f in fields(RequestFacts))


def _facts(data: dict[str, Any]) -> RequestFacts:
    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(data[key]) if data.get(key) else None

    return RequestFacts(
        reference=str(data["reference"]),
        title=str(data["title"]),
        web_url=str(data["web_url"]),
        state=State(data["state"]),
        stage=data.get("stage"),
        risk=RiskLevel(data["risk"]) if data.get("risk") else None,
        stage_started_at=when("stage_started_at"),
        deadline=when("deadline"),
        breached=bool(data.get("breached")),
        expires=date.fromisoformat(data["expires"]) if data.get("expires") else None,
        in_force_since=(
            date.fromisoformat(data["in_force_since"]) if data.get("in_force_since") else None
        ),
        exception_id=data.get("exception_id"),
        renewal_of=data.get("renewal_of"),
        renewal_number=int(data.get("renewal_number") or 0),
        incidents=tuple(data.get("incidents") or ()),
        opened_at=when("opened_at"),
        states=tuple(
            (State(state), datetime.fromisoformat(at)) for state, at in data.get("states") or ()
        ),
        stages=tuple(
            (str(stage), datetime.fromisoformat(began), _moment(ended))
            for stage, began, ended in data.get("stages") or ()
        ),
        approved_at=when("approved_at"),
        remediated_at=when("remediated_at"),
        requested_risk=RiskLevel(data["requested_risk"]) if data.get("requested_risk") else None,
        escalated_at=tuple(datetime.fromisoformat(at) for at in data.get("escalated_at") or ()),
        covered_projects=tuple(map(str, data.get("covered_projects") or ())),
        covered_findings=tuple(map(str, data.get("covered_findings") or ())),
    )


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None
