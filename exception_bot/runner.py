"""One pass over the open requests: read each, decide, apply. Each issue is on its own: a
failure is logged with the issue reference and the run goes on."""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from exception_bot import __version__, state
from exception_bot.adopt import Adoption, adoptions
from exception_bot.domain import renewals
from exception_bot.domain.actions import IssueRef, describe
from exception_bot.domain.model import IssueSnapshot
from exception_bot.domain.people import Directory, approvers
from exception_bot.domain.report import RequestFacts
from exception_bot.domain.review import Outcome, decide
from exception_bot.domain.review.context import Context
from exception_bot.domain.review.states import REGISTERED
from exception_bot.domain.settings import Config
from exception_bot.errors import GitLabUnavailable
from exception_bot.executor import GitLabSink, RecordingSink, Sink, execute
from exception_bot.gitlab import GitLab, GitLabError
from exception_bot.identity import the_bot
from exception_bot.render import TEMPLATES
from exception_bot.run_lock import run_lock
from exception_bot.watcher import WatchSummary, watch_register
from exception_bot.weekly import Reported, report_phase, weekly

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class IssueResult:
    issue: str
    state: str | None
    stage: str | None
    actions: tuple[dict[str, Any], ...]
    error: str | None = None
    facts: RequestFacts | None = None
    skipped: bool = False  # unchanged since the last run: not read (see the state file)


@dataclass(frozen=True)
class RunSummary:
    processed: int
    changed: int
    failed: int
    api_requests: int
    results: tuple[IssueResult, ...]
    report: str | None = None  # the weekly report issue this run posted, if it posted one
    watched: tuple[RequestFacts, ...] = ()  # exceptions that came by merge request
    skipped: int = 0
    watch_error: str | None = None  # the merge-request route watch failed: why
    # What the run wrote besides the requests' own actions (or, in a dry run, would write):
    # the intake label of requests GitLab left unlabelled, the register watch's index rows,
    # reminder and alert issues, and the weekly report's issue.
    adopted: tuple[dict[str, Any], ...] = ()
    watch_actions: tuple[dict[str, Any], ...] = ()
    report_actions: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed and self.watch_error is None

    def line(self) -> str:
        return (
            f"processed={self.processed} changed={self.changed} failed={self.failed} "
            f"skipped={self.skipped} api_requests={self.api_requests}"
        )


class _GroupMembers(Mapping[str, frozenset[str]]):
    """The config's groups, each read from GitLab the first time a decision asks for it: a run
    with nothing to decide reads none. A group that cannot be read fails every decision that
    needs it with the same error, read once. Only active members at ``least_level`` or above
    count (see :func:`approvers`). ``direct``: the groups' own members, without those GitLab
    counts in through parent groups and shared groups."""

    def __init__(
        self, gitlab: GitLab, groups: Iterable[str], least_level: int, direct: bool = False
    ) -> None:
        self._gitlab = gitlab
        self._groups = tuple(sorted(set(groups)))
        self._least_level = least_level
        self._read = gitlab.group_direct_members if direct else gitlab.group_members
        self._failed: dict[str, Exception] = {}

    def __getitem__(self, group: str) -> frozenset[str]:
        if group not in self._groups:
            raise KeyError(group)
        if group in self._failed:
            raise self._failed[group]
        try:
            # cached by the adapter for the run
            return approvers(self._read(group), self._least_level)
        except Exception as err:
            self._failed[group] = err
            raise

    def __iter__(self) -> Iterator[str]:
        return iter(self._groups)

    def __len__(self) -> int:
        return len(self._groups)


class _Availability(Mapping[str, str]):
    """Users' GitLab status ``availability``, each read the first time a decision asks (the
    review asks for the holders of a stage it assigns, no one else): a run that assigns no
    stage reads none. Not iterable: the users are whoever is asked about."""

    def __init__(self, gitlab: GitLab) -> None:
        self._gitlab = gitlab

    def __getitem__(self, username: str) -> str:
        return self._gitlab.availability(username)  # cached by the adapter for the run

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def directory(gitlab: GitLab, config: Config) -> Directory:
    groups = tuple(spec.group for spec in config.roles.values() if spec.group)
    level = config.gitlab.approver_access_level
    return Directory(
        _GroupMembers(gitlab, groups, level),
        _GroupMembers(gitlab, groups, level, direct=True),
        _Availability(gitlab),
    )


# Reads of different issues overlap: GitLab.com limits requests a minute, not requests in
# flight (a run slows down when RateLimit-Remaining runs low). With the thread deciding and
# writing, this stays within requests' pool of 10 connections a host.
READ_WORKERS = 8
_RENEWS_RE = re.compile(r"^#{1,6}\s*renews\b", re.I | re.M)
Progress = Callable[[int, int, IssueResult], None]


def context(gitlab: GitLab, config: Config, now: datetime) -> Context:
    """What a run knows before reading any request: the bot's user and the groups' members,
    and the config with its requests projects named by their paths. A token of anyone but
    ``gitlab.bot_user`` is refused here, before any other request (see :mod:`identity`)."""
    bot = the_bot(gitlab, config.gitlab)
    config = with_project_paths(gitlab, config)
    return Context(config, directory(gitlab, config), bot, now, TEMPLATES)


def with_project_paths(gitlab: GitLab, config: Config) -> Config:
    """The config with each requests project named by its path, as GitLab names it in links,
    references and URLs, which the bot compares with the config's projects: one given by its
    id is looked up (a request a run)."""
    settings = config.gitlab
    if not any(p.path.isdigit() for p in settings.requests_projects):
        return config
    projects = tuple(
        replace(p, path=gitlab.project_path(p.path)) if p.path.isdigit() else p
        for p in settings.requests_projects
    )
    return replace(config, gitlab=replace(settings, requests_projects=projects))


def run_once(
    gitlab: GitLab,
    config: Config,
    now: datetime,
    *,
    dry_run: bool = False,
    iids: Iterable[int] = (),
    issues: Iterable[IssueRef] = (),
    weekly: bool = True,
    ctx: Context | None = None,
    progress: Progress | None = None,
    workers: int = READ_WORKERS,
    lock_wait: float = 0.0,
) -> RunSummary:
    """Process every open request of every requests project, or only the given ``iids`` of
    each, or only the given ``issues`` (a project as the config names it, or its path).

    With ``config.state_file`` set, an issue unchanged since a run that had nothing to do for
    it is skipped until its next deadline or reminder (see :mod:`exception_bot.state`).
    Snapshots are read by up to ``workers`` threads; decisions and writes stay one at a time.
    ``progress`` hears of each issue as it is done (done, total, result).

    A run that writes holds the run lock (:mod:`exception_bot.run_lock`) from before its first
    read of a request to after its last write, waiting up to ``lock_wait`` seconds for another
    run's; a dry run writes nothing and takes no lock.
    """
    requests_before = gitlab.requests
    if ctx is None:
        gitlab.new_run()
    gitlab.pace(config.limits.requests_per_minute, config.limits.notes_per_minute)
    ctx = ctx or context(gitlab, config, now)  # the token is checked before the lock is taken
    wanted = _wanted(config, ctx.config, tuple(iids), tuple(issues))
    options = _Options(dry_run, wanted, weekly, progress, workers)
    if dry_run:
        summary = _pass(gitlab, ctx, RecordingSink(), options, lambda: None)
    else:
        settings = ctx.config.gitlab
        sink = GitLabSink(gitlab, settings.register_project, settings.register_branch)
        with run_lock(
            gitlab, settings.register_project, settings.register_branch, "run", lock_wait
        ) as lock:
            summary = _pass(gitlab, ctx, sink, options, lock.keep)
    return replace(summary, api_requests=gitlab.requests - requests_before)


def _wanted(
    config: Config, named: Config, iids: tuple[int, ...], issues: tuple[IssueRef, ...]
) -> dict[str, tuple[int, ...]]:
    """The iids a run of some issues lists in each requests project, by the project's path in
    ``named`` (the config as :func:`context` named its projects): the bare ``iids`` in each,
    an issue of ``issues`` in its own project only (#7 of one project is not #7 of another).
    Empty for a run of every request."""
    projects = config.gitlab.requests_projects
    paths = [p.path for p in named.gitlab.requests_projects]
    path_of = {p.path: q for p, q in zip(projects, paths, strict=True)} | {q: q for q in paths}
    wanted: dict[str, set[int]] = {q: set(iids) for q in paths} if iids else {}
    for ref in issues:
        path = path_of.get(ref.project)
        if path is not None:
            wanted.setdefault(path, set()).add(ref.iid)
    if issues and not wanted:  # none in a project of the config: list none, not all
        wanted = {"": set()}
    return {path: tuple(sorted(found)) for path, found in wanted.items()}


@dataclass(frozen=True)
class _Options:
    """What a run was asked for: a dry run or not, only these iids of each project named (all
    the requests when empty), the weekly report or not, who hears of each issue done, how many
    threads read."""

    dry_run: bool
    iids: Mapping[str, tuple[int, ...]]
    weekly: bool
    progress: Progress | None
    workers: int


def _pass(
    gitlab: GitLab, ctx: Context, sink: Sink, options: _Options, keep: Callable[[], None]
) -> RunSummary:
    """One pass of :func:`run_once`, in its phases: adopt the unlabelled requests, list the
    open ones, read, decide and apply each, watch the register, save the state file, post the
    week's report. Every write goes to ``sink`` (a dry run's records them); ``keep`` renews
    the run lock's lease (between issues, and before the state file and the report)."""
    config = ctx.config
    wanted = options.iids
    state_file = None if options.dry_run or wanted else config.state_file
    source = state_source(config)
    saved = _saved(state_file, source)
    # Before the list, so that a request labelled now is processed now (a dry run, which
    # labels none, lists them as labelled).
    adopted = () if wanted else adoptions(gitlab, config)
    execute((adoption.action for adoption in adopted), sink)
    listing = _list(gitlab, ctx, wanted, saved, adopted if options.dry_run else ())
    done = _requests(gitlab, ctx, listing, sink, options, keep)
    watch = _Watched() if wanted else _watch(gitlab, ctx, sink, saved, done.failed_on)
    keep()  # the state file is written only while this run holds the lock
    if state_file is not None:  # after a failed watch, the register is listed again next run
        kept = state.forget_written(done.kept, done.written)
        state.save(state_file, state.Saved(kept, watch.summary.seen, source))
    # Without the watch, the report would miss the exceptions that came by merge request, and
    # a run of some issues would miss the others: the week's report waits for a full run.
    reported = Reported(None)
    if options.weekly and not wanted and watch.error is None:
        report = weekly(done.results, ctx, watch.summary.facts)
        reported = report_phase(gitlab, ctx, report, sink, update=False)
    return _summary(done.results, adopted, watch, reported)


def _saved(path: str | None, source: str) -> state.Saved:
    """The state file as the last run left it, when written under this version and config
    (and a run uses one: not a dry run, nor a run of some issues)."""
    saved = state.load(path) if path is not None else state.Saved()
    return saved if saved.source == source else state.Saved()


@dataclass(frozen=True)
class _Listing:
    """The open requests of a run: each with the attributes the list gave, those the state
    file lets the run skip (``kept``, ``results``) and those to read (``todo``)."""

    listed: list[tuple[IssueRef, dict[str, Any]]]
    listed_at: Mapping[str, str]
    read_at: datetime  # GitLab's clock before the list (state.settled)
    kept: dict[str, state.Seen]
    results: list[IssueResult]
    todo: list[tuple[IssueRef, dict[str, Any]]]


def _list(
    gitlab: GitLab,
    ctx: Context,
    wanted: Mapping[str, tuple[int, ...]],
    saved: state.Saved,
    unlabelled: Iterable[Adoption] = (),
) -> _Listing:
    """List the open requests (or the ``wanted`` iids), with the ``unlabelled`` ones a dry
    run would have labelled; set aside those unchanged since a run that had nothing to do
    for them, until their next deadline or reminder."""
    config = ctx.config
    # GitLab's clock (the Date of its latest answer) before the list is read: its throttle
    # compares updated_at with its own clock, not the bot's (state.settled)
    read_at = gitlab.server_time or ctx.now
    listed = [
        (IssueRef(project.path, int(attrs["iid"])), attrs)
        for project in config.gitlab.requests_projects
        if not wanted or project.path in wanted
        for attrs in gitlab.open_requests(
            project.path, config.labels.intake, wanted.get(project.path, ())
        )
    ]
    listed = _with_adopted(listed, unlabelled, config)
    listed_at = state.listed_times(listed)
    found = _Listing(listed, listed_at, read_at, {}, [], [])
    for ref, attrs in listed:
        prior = saved.issues.get(str(ref))
        if prior is not None and state.fresh(prior, attrs, ctx.now, listed_at):
            found.kept[str(ref)] = prior
            found.results.append(_skipped(ref, prior))
        else:
            found.todo.append((ref, attrs))
    return found


def _with_adopted(
    listed: list[tuple[IssueRef, dict[str, Any]]], adopted: Iterable[Adoption], config: Config
) -> list[tuple[IssueRef, dict[str, Any]]]:
    """The list as GitLab gives it once the adopted requests carry the intake label: by
    project, oldest first."""
    known = {ref for ref, _ in listed}
    more = [(a.action.issue, a.listed) for a in adopted if a.action.issue not in known]
    if not more:
        return listed
    order = {project.path: n for n, project in enumerate(config.gitlab.requests_projects)}
    return sorted(
        [*listed, *more],
        key=lambda item: (order.get(item[0].project, 0), str(item[1].get("created_at"))),
    )


@dataclass(frozen=True)
class _Done:
    """The requests phase's outcome: every request's result, what the state file keeps, the
    issues written to (their entries are forgotten), those failed on."""

    results: list[IssueResult]
    kept: dict[str, state.Seen]
    written: set[str]
    failed_on: set[IssueRef]


def _requests(
    gitlab: GitLab,
    ctx: Context,
    listing: _Listing,
    sink: Sink,
    options: _Options,
    keep: Callable[[], None],
) -> _Done:
    """Read each request (ahead, on ``options.workers`` threads), decide, apply: one at a
    time, each on its own."""
    done = _Done(listing.results, listing.kept, set(), set())
    workers = options.workers
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        todo = listing.todo
        reads = _read_ahead(pool, lambda item: _read(gitlab, ctx, *item), todo, 2 * workers)
        for (ref, attrs), read in zip(todo, reads, strict=True):
            result, outcome = _process(ctx, ref, read, sink)
            done.results.append(result)
            _remember(done, ctx, listing, (ref, attrs), read, result, outcome)
            if options.progress is not None:
                options.progress(len(done.results), len(listing.listed), result)
            keep()
    return done


def _remember(
    done: _Done,
    ctx: Context,
    listing: _Listing,
    item: tuple[IssueRef, dict[str, Any]],
    read: Read,
    result: IssueResult,
    outcome: Outcome | None,
) -> None:
    """What the state file keeps of one request: when to read it again, if it had nothing
    to do; that it was written to (or failed on) otherwise."""
    ref, attrs = item
    if result.error is not None:
        done.failed_on.add(ref)
    if outcome is not None and not outcome.actions and result.error is None:
        wake = state.wake_time(outcome.next_check, ctx.now)
        depends = (
            {} if isinstance(read, Exception) else state.read_besides(*read, listing.listed_at)
        )
        updated_at = str(attrs.get("updated_at"))
        seen = state.Seen(updated_at, wake, outcome.facts, depends, state.signs(attrs))
        if state.settled(seen, listing.read_at):  # or it is read again next run
            done.kept[str(ref)] = seen
    else:
        done.written.update(state.written_to(ref, outcome.actions if outcome else ()))


@dataclass(frozen=True)
class _Watched:
    """The register watch's outcome, or why it failed."""

    summary: WatchSummary = field(default_factory=WatchSummary)
    error: str | None = None


def _watch(
    gitlab: GitLab, ctx: Context, sink: Sink, saved: state.Saved, failed_on: set[IssueRef]
) -> _Watched:
    """Watch the merge-request route's files; a failure, like an issue's, must not undo the
    issues' work: it is logged and reported (GitLab itself gone, or the token refused, stops
    the run)."""
    try:
        return _Watched(watch_register(gitlab, ctx, sink, saved.register, frozenset(failed_on)))
    except GitLabUnavailable:
        raise
    except Exception as err:
        why = str(err) or type(err).__name__
        error = f"watching {ctx.config.gitlab.register_project}: {why}"
        log.error("%s", error)
        log.debug("register watch: traceback", exc_info=(type(err), err, err.__traceback__))
        return _Watched(error=error)


def _summary(
    results: Sequence[IssueResult],
    adopted: Iterable[Adoption],
    watch: _Watched,
    reported: Reported,
) -> RunSummary:
    return RunSummary(
        processed=len(results),
        changed=sum(1 for r in results if r.actions and r.error is None),
        failed=sum(1 for r in results if r.error is not None),
        api_requests=0,  # run_once counts them, the lock's included
        results=tuple(results),
        report=reported.posted,
        watched=watch.summary.facts,
        skipped=sum(1 for r in results if r.skipped),
        watch_error=watch.error,
        adopted=tuple(describe(adoption.action) for adoption in adopted),
        watch_actions=tuple(describe(action) for action in watch.summary.actions),
        report_actions=tuple(describe(action) for action in reported.actions),
    )


def survey(gitlab: GitLab, ctx: Context) -> RunSummary:
    """Every open request and watched exception as it stands, changing nothing: what a report
    is made of. Without the exceptions that came by merge request a report would be wrong, so
    a failed watch fails the survey. It is a dry run without the report phase: the caller
    makes the report, and one search for the week's issue is saved."""
    summary = run_once(gitlab, ctx.config, ctx.now, dry_run=True, weekly=False, ctx=ctx)
    if summary.watch_error:
        raise GitLabError(f"no report: {summary.watch_error}")
    return summary


def _read_ahead(
    pool: Executor, read: Callable[[T], R], items: Sequence[T], depth: int
) -> Iterator[R]:
    """``pool.map(read, items)`` that keeps at most ``depth`` reads ahead of the caller: the
    snapshots waiting to be decided stay few however many issues are open."""
    pending: deque[Future[R]] = deque()
    upcoming = iter(items)
    for item in islice(upcoming, max(1, depth)):
        pending.append(pool.submit(read, item))
    while pending:
        done = pending.popleft().result()
        for item in islice(upcoming, 1):
            pending.append(pool.submit(read, item))
        yield done


def _original(gitlab: GitLab, ctx: Context, snapshot: IssueSnapshot) -> IssueSnapshot | None:
    """The issue a renewal renews, when its *Renews* field names one that exists."""
    target = renewals.renews_issue(snapshot.description, snapshot.project, ctx.config)
    if target is None:
        return None
    return gitlab.find_snapshot(IssueRef(target.project, target.iid))


def _with_renewal_notes(gitlab: GitLab, ctx: Context, snapshot: IssueSnapshot) -> IssueSnapshot:
    """The snapshot with the notes of each linked issue that looks like an active renewal of
    it (a request each), while it is an exception a renewal ends: whether one renews it is the
    bot's record in those notes, not the labels or *Renews* anyone can write."""
    config = ctx.config
    if not snapshot.links or not renewals.endable(snapshot, config, ctx.bot.id):
        return snapshot
    links = tuple(
        replace(link, notes=gitlab.notes(IssueRef(link.project, link.iid)))
        if renewals.claims_renewal(link, config)
        else link
        for link in snapshot.links
    )
    return replace(snapshot, links=links)


Read = tuple[IssueSnapshot, IssueSnapshot | None] | Exception


def _read(gitlab: GitLab, ctx: Context, ref: IssueRef, attrs: dict[str, Any]) -> Read:
    """The issue's snapshot (and a renewal's original); an error is returned, not raised, so
    one issue's failure stays that issue's."""
    try:
        snapshot = gitlab.snapshot(ref, attrs, links=needs_links(attrs, ctx))
        snapshot = _with_renewal_notes(gitlab, ctx, snapshot)
        return snapshot, _original(gitlab, ctx, snapshot)
    except Exception as err:  # reported by _process with the issue's reference
        return err


def state_source(config: Config) -> str:
    """What the state file was written under: the bot's version, its config, and the paths of
    the requests projects (a config may name one by its id). An upgrade or a config change may
    decide issues differently, wake them at other times, or watch other register files."""
    projects = sorted(p.path for p in config.gitlab.requests_projects)
    return json.dumps([__version__, config.digest, projects])


def needs_links(attrs: dict[str, Any], ctx: Context) -> bool:
    """Linked issues matter to registered exceptions (their renewals and incidents) and to
    renewals (their original); for any other request the links are not read."""
    labels = set(attrs.get("labels") or ())
    registered = {ctx.config.labels.state(s) for s in REGISTERED}
    if labels & registered:
        return True
    return bool(_RENEWS_RE.search(str(attrs.get("description") or "")))


def _skipped(ref: IssueRef, prior: state.Seen) -> IssueResult:
    facts = prior.facts
    return IssueResult(
        str(ref),
        facts.state.value if facts else None,
        facts.stage if facts else None,
        (),
        facts=facts,
        skipped=True,
    )


def _process(
    ctx: Context, ref: IssueRef, read: Read, sink: Sink
) -> tuple[IssueResult, Outcome | None]:
    try:
        if isinstance(read, Exception):
            raise read
        snapshot, original = read
        outcome = decide(snapshot, ctx, original)
        execute(outcome.actions, sink)
    except GitLabUnavailable:  # not this issue's failure: every other one would fail alike
        raise
    except Exception as err:  # one issue's failure must not stop the run
        log.error("%s: failed: %s", ref, err)
        log.debug("%s: traceback", ref, exc_info=(type(err), err, err.__traceback__))
        return IssueResult(str(ref), None, None, (), error=str(err) or type(err).__name__), None
    described = tuple(describe(action) for action in outcome.actions)
    result = IssueResult(
        str(ref), outcome.state.value, outcome.stage, described, None, outcome.facts
    )
    return result, outcome
