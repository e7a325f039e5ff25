"""The GitLab adapter: the only module that imports ``gitlab``.

It reads request issues into :class:`IssueSnapshot` values and performs the writes the sinks
ask for. Label changes are always ``add_labels``/``remove_labels`` deltas sent with
``issues.update``: never ``issue.save()`` after reading ``issue.labels``, which would re-send
a stale full label list (python-gitlab's ``__getattr__`` marks read list attributes dirty).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.v4.objects import Project, ProjectIssue

from exception_bot.actions import IssueRef
from exception_bot.connection import Guard, check_url
from exception_bot.domain import markers
from exception_bot.domain.edits import append_checklist, set_checkbox
from exception_bot.domain.model import (
    IssueSnapshot,
    LabelAction,
    LabelEvent,
    LinkedIssue,
    Note,
    User,
)
from exception_bot.domain.people import Member
from exception_bot.domain.provenance import LastCommit, MergedRequest
from exception_bot.domain.register import INDEX_JSON, INDEX_MARKDOWN
from exception_bot.domain.text import command_lines
from exception_bot.errors import ExceptionBotError, UsageError
from exception_bot.gitlab.session import Meter, session
from exception_bot.pacing import SlidingWindow

log = logging.getLogger(__name__)
PER_PAGE = 100
T = TypeVar("T")
REGISTER_ATTEMPTS = 5
# Sends of one write whose answer keeps getting lost, the first pause before looking whether it
# landed (doubled each time: 0.5 + 1 + 2 + 4 s at most), then the issue fails for this run.
WRITE_ATTEMPTS = 4
LOST_ANSWER_PAUSE = 0.5


class GitLabError(ExceptionBotError):
    """GitLab refused or failed a request; the message says which and why."""


def unexplained(err: BaseException) -> GitLabError | None:
    """A python-gitlab or requests error that no caller put into words, as one line: the
    command line's last resort. None for any other error (a bug, whose traceback shows)."""
    if isinstance(err, gitlab.GitlabError):
        answer = " ".join(f"{err.response_code or ''} {err.error_message}".split())[:200]
        return GitLabError(
            f"GitLab refused a request ({answer}): check the config's projects and the bot's "
            "access (check-config --online); --verbose shows the request"
        )
    if isinstance(err, requests.RequestException):
        said = " ".join(str(err).split())[:200]
        return GitLabError(f"a request to GitLab failed ({said}): run the command again")
    return None


def _when(value: str) -> datetime:
    # GitLab writes "2026-11-22T12:00:00.000Z"; fromisoformat reads the Z since Python 3.11.
    return datetime.fromisoformat(value)


def _user(data: dict[str, Any] | None) -> User:
    if not data:  # a deleted user: GitLab shows "Ghost User"
        return User(0, "ghost")
    return User(int(data["id"]), str(data["username"]))


@dataclass(frozen=True)
class MergeRequestInfo:
    author: str
    source_branch: str
    changed: tuple[str, ...]  # paths added or changed (not deleted)
    approved_by: tuple[str, ...]


class GitLab:
    """A python-gitlab client with the few calls the bot needs, and a request counter."""

    def __init__(self, client: gitlab.Gitlab, meter: Meter, guard: Guard) -> None:
        self._gl = client
        # Under python-gitlab's retries, its session's adapter (session.py) waits out a pause
        # GitLab's headers asked for, and a request that cannot connect is retried, or ends the
        # command in one line (connection.py); a 401 ends it too.
        self._meter = meter
        self._guard = guard
        self._projects: dict[str, Project] = {}
        self._members: dict[str, tuple[Member, ...]] = {}
        self._direct: dict[str, tuple[Member, ...]] = {}
        self._project_info: dict[str, dict[str, Any] | None] = {}
        self._user_ids: dict[str, int] = {}
        self._writes: SlidingWindow | None = None
        self._notes: SlidingWindow | None = None

    @property
    def requests(self) -> int:
        """Answers GitLab has given so far."""
        return self._meter.requests

    @property
    def server_time(self) -> datetime | None:
        """GitLab's clock at its latest answer."""
        return self._meter.server_time

    def new_run(self) -> None:
        """Forget what one run cached (group members, user ids): a daemon reuses this object,
        and membership changes must count from the next run on."""
        self._members.clear()
        self._direct.clear()
        self._user_ids.clear()
        self._project_info.clear()
        self._guard.reset()

    def pace(self, requests_per_minute: int, notes_per_minute: int) -> None:
        """Keep writes and note creations under these rates from now on."""
        self._writes = SlidingWindow(requests_per_minute)
        self._notes = SlidingWindow(notes_per_minute)

    def _write(self, note: bool = False) -> None:
        if self._writes is not None:
            self._writes.wait()
        if note and self._notes is not None:
            self._notes.wait()

    @classmethod
    def connect(
        cls, url: str, token: str, *, ssl_verify: bool | str = True, guard: Guard | None = None
    ) -> GitLab:
        meter, guard = Meter(), guard or Guard()
        client = gitlab.Gitlab(
            check_url(url),
            private_token=token,
            ssl_verify=ssl_verify,
            per_page=PER_PAGE,
            # 5xx, 520-530 and dropped connections are retried with backoff; 429 always is.
            retry_transient_errors=True,
            session=session(guard, meter),
        )
        return cls(client, meter, guard)

    @classmethod
    def from_config(cls, section: str, guard: Guard | None = None) -> GitLab:
        """A python-gitlab config file section (``~/.python-gitlab.cfg``) names URL and token."""
        meter, guard = Meter(), guard or Guard()
        try:
            client = gitlab.Gitlab.from_config(section, session=session(guard, meter))
        except gitlab.config.GitlabConfigMissingError:
            raise GitLabError("no python-gitlab config file found for --gitlab-section") from None
        except gitlab.config.GitlabDataError as err:
            raise GitLabError(f"--gitlab-section {section}: {err}") from None
        check_url(client.url, f"--gitlab-section {section}: url")
        client.retry_transient_errors = True
        client.per_page = PER_PAGE
        return cls(client, meter, guard)

    def _project(self, path: str) -> Project:
        if path not in self._projects:
            self._projects[path] = self._gl.projects.get(path, lazy=True)
        return self._projects[path]

    def _issue(self, ref: IssueRef) -> ProjectIssue:
        return self._project(ref.project).issues.get(ref.iid, lazy=True)

    # -- reads --------------------------------------------------------------------------------

    def whoami(self) -> User:
        self._gl.auth()  # a token GitLab refuses is TokenRefused (connection.py)
        user = self._gl.user
        assert user is not None  # noqa: S101 - auth() sets it or raises
        return User(int(user.id), str(user.username))

    def open_requests(
        self, project: str, intake: str, iids: Iterable[int] = ()
    ) -> Iterator[dict[str, Any]]:
        """Open issues with the intake label, oldest first, as the list API returns them.

        The list items carry every field a snapshot needs (description, labels, author,
        ``updated_at``), so a snapshot made from one reads no issue again.
        """
        params: dict[str, Any] = {
            "state": "opened",
            "labels": intake,
            "order_by": "created_at",
            "sort": "asc",
        }
        wanted = list(iids)
        if wanted:
            params["iids[]"] = wanted
        yield from self._requests_list(project, params)

    def unlabelled_issues(self, project: str, label: str) -> Iterator[dict[str, Any]]:
        """Open issues without ``label``, oldest first (``not[labels]``, issues.md)."""
        params = {"state": "opened", "not[labels]": label, "order_by": "created_at", "sort": "asc"}
        yield from self._requests_list(project, params)

    def _requests_list(self, project: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            yield from self._items(self._project(project).issues.path, **params)
        except gitlab.GitlabError as err:  # nothing can be done without the list: say why
            raise GitLabError(
                f"cannot list the open requests of {project} (GitLab answered {err}): check "
                "the project path, and that the bot's user has Reporter there "
                "(check-config --online names what is missing)"
            ) from None

    def ever_labelled(self, ref: IssueRef, label: str) -> bool:
        """Whether ``label`` was ever added to the issue (its resource label events)."""
        events = self._items(self._issue(ref).resourcelabelevents.path)
        return any((e.get("label") or {}).get("name") == label for e in events)

    def snapshot(
        self, ref: IssueRef, listed: dict[str, Any] | None = None, *, links: bool = True
    ) -> IssueSnapshot:
        """The issue, its notes and label events, and (when ``links``) its linked issues.

        ``listed`` is the issue as a list page returned it; without it the issue is read.
        """
        if listed is None:
            issue = self._project(ref.project).issues.get(ref.iid)
            attrs = issue.attributes
        else:
            issue, attrs = self._issue(ref), listed
        notes = list(self._items(issue.notes.path, sort="asc", order_by="created_at"))
        events = list(self._items(issue.resourcelabelevents.path))
        linked = list(self._items(issue.links.path)) if links else []
        return IssueSnapshot(
            project=ref.project,
            iid=ref.iid,
            title=str(attrs.get("title") or ""),
            web_url=str(attrs.get("web_url") or ""),
            author=_user(attrs.get("author")),
            description=str(attrs.get("description") or ""),
            labels=frozenset(attrs.get("labels") or ()),
            assignees=tuple(str(a["username"]) for a in attrs.get("assignees") or ()),
            created_at=_when(attrs["created_at"]),
            updated_at=_when(attrs["updated_at"]),
            state=str(attrs.get("state") or "opened"),
            confidential=bool(attrs.get("confidential")),
            notes=tuple(_note(n) for n in notes),
            due_date=date.fromisoformat(attrs["due_date"]) if attrs.get("due_date") else None,
            links=tuple(link for link in (_linked(item) for item in linked) if link is not None),
            label_events=tuple(
                sorted(
                    (e for e in (_label_event(ev) for ev in events) if e is not None),
                    key=lambda e: (e.created_at, e.id),
                )
            ),
        )

    def _items(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page after page, as plain dicts: runs read thousands
        of issues and notes, and a RESTObject for each (with the deep copy its ``attributes``
        makes) costs more CPU than deciding. ``http_list`` does not apply the client's
        ``per_page``, so it is asked for here."""
        query = {**params, "per_page": PER_PAGE}
        for item in self._gl.http_list(path, query_data=query, iterator=True):
            yield dict(item)

    def find_snapshot(self, ref: IssueRef) -> IssueSnapshot | None:
        """The snapshot of an issue that may not exist (a renewal's *Renews* target)."""
        return _unless_missing(lambda: self.snapshot(ref))

    def notes(self, ref: IssueRef) -> tuple[Note, ...]:
        """An issue's notes, oldest first; none when the issue is gone or hidden from the bot
        (a linked issue that claims to renew: only the bot's record in them counts)."""
        path = self._issue(ref).notes.path
        found = _unless_missing(lambda: list(self._items(path, sort="asc", order_by="created_at")))
        return tuple(_note(n) for n in found or ())

    def access_level(self, project: str, user_id: int) -> int | None:
        """The user's access level in the project, inherited ones included; None when the
        project does not exist or the user is not a member."""
        members = _unless_missing(
            lambda: self._gl.projects.get(project, lazy=True).members_all.list(get_all=True)
        )
        if members is None:
            return None
        return max((int(m.access_level) for m in members if int(m.id) == user_id), default=None)

    def project_exists(self, project: str) -> bool:
        return self._project_attributes(project) is not None

    def group_exists(self, group: str) -> bool:
        return _unless_missing(lambda: self._gl.groups.get(group)) is not None

    def _project_attributes(self, project: str) -> dict[str, Any] | None:
        """The project as GitLab describes it (read once a run); None when it does not exist."""
        if project not in self._project_info:
            found = _unless_missing(lambda: self._gl.projects.get(project))
            self._project_info[project] = dict(found.attributes) if found is not None else None
        return self._project_info[project]

    def user_exists(self, username: str) -> bool:
        return self._user_id(username) is not None

    def group_members(self, group: str) -> tuple[Member, ...]:
        """A group's ``members/all``: inherited members, members of the groups it is shared
        with (at most at the share's level) and blocked users included; cached for the run."""
        if group not in self._members:
            try:
                members = self._gl.groups.get(group, lazy=True).members_all.list(get_all=True)
            except gitlab.GitlabListError as err:
                raise GitLabError(
                    f"cannot read the members of group '{group}' "
                    f"({err.response_code}): check the group path in the config "
                    "and that the bot's user can see it"
                ) from None
            self._members[group] = tuple(_member(m.attributes) for m in members)
        return self._members[group]

    def group_direct_members(self, group: str) -> tuple[Member, ...]:
        """A group's own members (``/groups/:id/members``: none of its parent groups', none of
        the groups it is shared with, lib/api/members.rb with MembersFinder); cached for the
        run."""
        if group not in self._direct:
            try:
                members = self._gl.groups.get(group, lazy=True).members.list(get_all=True)
            except gitlab.GitlabListError as err:
                raise GitLabError(
                    f"cannot read the members of group '{group}' "
                    f"({err.response_code}): check the group path in the config "
                    "and that the bot's user can see it"
                ) from None
            self._direct[group] = tuple(_member(m.attributes) for m in members)
        return self._direct[group]

    def project_members(self, project: str) -> tuple[Member, ...]:
        """A project's ``members/all`` (members of its ancestor groups included), or none when
        the project cannot be seen."""
        members = _unless_missing(
            lambda: self._gl.projects.get(project, lazy=True).members_all.list(get_all=True)
        )
        return tuple(_member(m.attributes) for m in members or ())

    # -- writes -------------------------------------------------------------------------------

    def set_labels(self, ref: IssueRef, add: Iterable[str], remove: Iterable[str]) -> None:
        self._write()
        data = {
            key: ",".join(sorted(names))
            for key, names in (("add_labels", add), ("remove_labels", remove))
            if names
        }
        if data:
            self._project(ref.project).issues.update(ref.iid, data)

    def post_note(self, ref: IssueRef, body: str, marker: str) -> None:
        """Post ``body``, which ends with ``marker``, once: when GitLab's answer is lost, a note
        of the bot's with that marker means it was posted (lib/api/notes.rb creates one note per
        POST, so a blind retry would post it twice)."""
        self._once(
            f"{ref}: posting the note {marker}",
            lambda: int(self._issue(ref).notes.create({"body": body}, **_ONCE).id),
            lambda: self._my_note(ref, marker),
            note=True,
        )

    def _my_note(self, ref: IssueRef, marker: str) -> int | None:
        """The id of the bot's newest note on the issue that carries ``marker``."""
        me = self._me()
        path = self._issue(ref).notes.path
        for data in self._items(path, sort="desc", order_by="created_at"):
            note = _note(data)
            if not note.system and note.author.id == me and markers.trailing(note.body) == marker:
                return note.id
        return None

    def _me(self) -> int:
        """The bot's user id (``auth`` is run once, by :meth:`whoami` as a rule)."""
        if self._gl.user is None:
            self._gl.auth()
        assert self._gl.user is not None  # noqa: S101 - auth() sets it or raises
        return int(self._gl.user.id)

    def _once(
        self,
        what: str,
        send: Callable[[], T],
        landed: Callable[[], T | None],
        *,
        note: bool = False,
    ) -> T:
        """``send()`` a write GitLab carries out again when sent again (a POST that creates),
        at most WRITE_ATTEMPTS times: after each lost answer, ``landed()`` looks for what it
        would have made, and it is sent again only when that is not there.

        ``send`` must pass ``**_ONCE``: python-gitlab's own retry would send it blindly.
        """
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            self._write(note)
            try:
                return send()
            except (requests.RequestException, gitlab.GitlabError) as err:
                if isinstance(err, gitlab.GitlabError) and err.response_code == 429:
                    raise GitLabError(f"{what}: {_still_throttled(err)}") from None
                if not _lost(err):
                    raise
                _pause_after_lost(what, err, attempt)
            found = landed()
            if found is not None:
                return found
        raise GitLabError(
            f"{what}: GitLab's answer was lost {WRITE_ATTEMPTS} times and it is not there; "
            "the next run tries again"
        )

    def edit_note(self, ref: IssueRef, note_id: int, body: str) -> None:
        self._write()
        self._issue(ref).notes.update(note_id, {"body": body})

    def set_checkbox(self, ref: IssueRef, section: str, item: str, checked: bool) -> bool:
        """Flip one box on the freshest description; False when nothing needed changing."""
        fresh = self._project(ref.project).issues.get(ref.iid)
        updated = set_checkbox(
            str(fresh.attributes.get("description") or ""), section, item, checked
        )
        if updated is None:
            return False
        self._save_description(ref, updated)
        return True

    def _save_description(self, ref: IssueRef, text: str) -> None:
        self._write()
        # GitLab runs quick-action lines of a saved description as the saver: never save one
        # that holds any (a requester may have added it since the snapshot was read).
        found = command_lines(text)
        if found:
            raise GitLabError(
                f"{ref}: not saving the description: line {found[0][0]} would run "
                f"/{found[0][1]} as the bot"
            )
        self._project(ref.project).issues.update(ref.iid, {"description": text})

    def set_due_date(self, ref: IssueRef, due: date) -> None:
        self._write()
        self._project(ref.project).issues.update(ref.iid, {"due_date": due.isoformat()})

    def link(self, ref: IssueRef, target: IssueRef) -> None:
        # target_project_id takes a path too (doc/api/issue_links.md: "ID or URL-encoded path").
        data = {"target_project_id": target.project, "target_issue_iid": target.iid}

        def send() -> bool:
            self._issue(ref).links.create(data, **_ONCE)
            return True

        def landed() -> bool | None:
            # A second POST would answer 409 "Issue(s) already assigned"
            # (app/services/issuable_links/create_service.rb): look at the links instead.
            found = (_linked(item) for item in self._items(self._issue(ref).links.path))
            wanted = (target.project, target.iid)
            linked = any(f is not None and (f.project, f.iid) == wanted for f in found)
            return True if linked else None

        self._once(f"{ref}: linking {target}", send, landed)

    def close(self, ref: IssueRef) -> None:
        self._write()
        self._project(ref.project).issues.update(ref.iid, {"state_event": "close"})

    def append_checklist(self, ref: IssueRef, heading: str, items: Iterable[str]) -> bool:
        """Append ``## heading`` and its unticked items to the freshest description, once."""
        fresh = self._project(ref.project).issues.get(ref.iid)
        updated = append_checklist(str(fresh.attributes.get("description") or ""), heading, items)
        if updated is None:
            return False
        self._save_description(ref, updated)
        return True

    def write_register(
        self,
        project: str,
        branch: str,
        changes: Callable[[Mapping[str, str | None]], Mapping[str, str | None]],
        paths: Iterable[str],
        message: str,
    ) -> bool:
        """One commit of the files ``changes`` computes from their content on the branch.

        A concurrent commit to those files makes GitLab answer 400 (stale ``last_commit_id``,
        or "A file with this name already exists"); the files are read again and the commit
        retried, so nobody's change is lost. False when there was nothing to change.
        """
        names = tuple(dict.fromkeys([*paths, INDEX_JSON, INDEX_MARKDOWN]))
        lost = False  # a commit went out and its answer never came: it may have landed
        attempt = 0
        while True:
            current = {name: self._read_file(project, branch, name) for name in names}
            wanted = changes({name: c[0] if c else None for name, c in current.items()})
            if not wanted:  # nothing (left) to change: after a lost answer, that commit landed
                return lost
            attempt += 1
            if attempt > REGISTER_ATTEMPTS:
                raise GitLabError(
                    f"register commit to {project}@{branch} failed {REGISTER_ATTEMPTS} times "
                    "(the files kept changing, or GitLab's answers were lost); the next run "
                    "tries again"
                )
            actions = [
                _commit_action(name, text, current.get(name)) for name, text in wanted.items()
            ]
            try:
                if self._commit(project, branch, message, actions, attempt):
                    return True
                lost = True
            except gitlab.GitlabCreateError as err:
                if err.response_code != 400:
                    raise GitLabError(
                        f"register commit to {project}@{branch} failed ({err.response_code}): "
                        f"{err.error_message}"
                    ) from None
                log.info("register changed under us (%s); retrying on fresh content", err)

    def _commit(
        self, project: str, branch: str, message: str, actions: list[dict[str, Any]], attempt: int
    ) -> bool:
        """Send one commit, once; False when its answer was lost. It may have landed all the
        same: the caller reads the files again to know (a blind retry would be refused anyway,
        400 for a stale ``last_commit_id`` or a file created twice, app/services/files/
        multi_service.rb, but the caller could not tell that from a real conflict)."""
        self._write()
        try:
            data = {"branch": branch, "commit_message": message, "actions": actions}
            self._project(project).commits.create(data, **_ONCE)
        except (requests.RequestException, gitlab.GitlabError) as err:
            if not _lost(err):
                raise
            _pause_after_lost(f"commit to {project}@{branch}", err, attempt)
            return False
        return True

    def merge_request(self, project: str, iid: int) -> MergeRequestInfo:
        """Author, source branch, changed paths and approvers of a merge request."""
        mr = _unless_missing(lambda: self._project(project).mergerequests.get(iid))
        if mr is None:  # 404: no such project or merge request, or the bot may not see it
            if not self.project_exists(project):
                raise UsageError(
                    f"no project {project} on GitLab, or the token's user cannot see it: "
                    "check --project (CI_PROJECT_ID in CI)"
                )
            raise UsageError(
                f"no merge request !{iid} in {project}: check --mr (CI_MERGE_REQUEST_IID in CI)"
            )
        changes = mr.changes()
        paths = tuple(
            str(c.get("new_path") or c.get("old_path"))
            for c in (changes.get("changes") or [] if isinstance(changes, dict) else [])
            if not c.get("deleted_file")
        )
        approvals = mr.approvals.get()
        approved_by = tuple(
            str(a["user"]["username"]) for a in approvals.attributes.get("approved_by") or []
        )
        return MergeRequestInfo(
            str(mr.attributes["author"]["username"]),
            str(mr.attributes.get("source_branch") or ""),
            paths,
            approved_by,
        )

    def blobs(self, project: str, branch: str, path: str) -> dict[str, str]:
        """The files under ``path`` on ``branch``: path -> blob id (the id of the content, so a
        changed file has a new one); none when it does not exist."""
        items = _unless_missing(
            lambda: self._project(project).repository_tree(
                path=path, ref=branch, recursive=True, get_all=True, per_page=PER_PAGE
            )
        )
        return {str(i["path"]): str(i["id"]) for i in items or () if i.get("type") == "blob"}

    def last_commit(self, project: str, branch: str, path: str) -> LastCommit | None:
        """The newest commit on ``branch`` that changed ``path`` (doc/api/commits.md: the list
        takes ``path``, newest first; one item is all that is read)."""
        query = {"ref_name": branch, "path": path, "per_page": 1}
        found = self._gl.http_list(
            f"{self._project(project).commits.path}", query_data=query, get_all=False
        )
        for item in found:
            data = dict(item)
            return LastCommit(str(data["id"]), str(data.get("committer_name") or ""))
        return None

    def commit_merge_requests(self, project: str, sha: str) -> tuple[MergedRequest, ...]:
        """The merge requests GitLab relates to a commit (lib/api/commits.rb
        ``commits/:sha/merge_requests``: those whose commits, merge or squash commit it is),
        with the approvals of each merged one and who merged it (``merged_by``, deprecated
        for ``merge_user``, which lib/api/entities/merge_request_basic.rb gives as the same
        metrics' merger when there is one)."""
        path = f"{self._project(project).commits.path}/{sha}/merge_requests"
        found: list[MergedRequest] = []
        for data in self._items(path):
            approvals: tuple[tuple[str, datetime | None], ...] = ()
            if data.get("state") == "merged":
                approvals = self._approvals(project, int(data["iid"]))
            merger = data.get("merged_by") or data.get("merge_user") or {}
            found.append(
                MergedRequest(
                    int(data["iid"]),
                    str((data.get("author") or {}).get("username") or ""),
                    str(data.get("state") or ""),
                    str(data.get("target_branch") or ""),
                    _when(data["merged_at"]) if data.get("merged_at") else None,
                    approvals,
                    str(merger.get("username") or ""),
                    str(data.get("web_url") or ""),
                )
            )
        return tuple(found)

    def _approvals(self, project: str, iid: int) -> tuple[tuple[str, datetime | None], ...]:
        """Who approved, and when (``approved_at``: lib/api/entities/approvals.rb)."""
        mr = self._project(project).mergerequests.get(iid, lazy=True)
        given = mr.approvals.get().attributes.get("approved_by") or []
        return tuple(
            (str(a["user"]["username"]), _when(a["approved_at"]) if a.get("approved_at") else None)
            for a in given
        )

    def tree(self, project: str, branch: str, path: str) -> list[str]:
        """Paths of the files under ``path`` on ``branch``; none when it does not exist."""
        items = _unless_missing(
            # repository_tree goes through http_list too (see _items): without per_page
            # GitLab sends 20 entries a page.
            lambda: self._project(project).repository_tree(
                path=path, ref=branch, recursive=True, get_all=True, per_page=PER_PAGE
            )
        )
        return [str(i["path"]) for i in items or () if i.get("type") == "blob"]

    def create_branch(self, project: str, branch: str, ref: str) -> None:
        """Create ``branch`` from ``ref``; one that exists already is left as it is (GitLab
        answers 400 "Branch already exists", app/services/branches/create_service.rb).
        Not paced, as the run lock's commits (see :meth:`swap_file`)."""
        try:
            self._project(project).branches.create({"branch": branch, "ref": ref})
        except gitlab.GitlabCreateError as err:
            if err.response_code != 400 or "already exists" not in str(err.error_message):
                raise GitLabError(
                    f"cannot create the branch {branch} from {ref} in {project} "
                    f"({err.response_code}): {err.error_message}"
                ) from None

    def swap_file(
        self, project: str, branch: str, create: tuple[str, str], delete: str | None, message: str
    ) -> bool | None:
        """One commit that creates ``create`` (path, text) and deletes ``delete``: True when it
        landed, False when GitLab refused it (400: the file to create exists or the one to
        delete is gone, on the commit GitLab built on), None when the answer was lost.

        Gitaly builds the commit on the branch's head and moves the branch only from that
        head (internal/gitaly/service/operations/commit_files.go: ``oldRevision :=
        parentCommitOID``), so of two such commits racing, one lands and the other is refused.
        Sent once (a blind retry could take a lease twice) and not paced: the run lock's few
        commits a run must not wait behind the issues' writes, whose pace :meth:`pace` sets.
        """
        actions: list[dict[str, Any]] = [
            {"action": "create", "file_path": create[0], "content": create[1]}
        ]
        if delete is not None:
            actions.append({"action": "delete", "file_path": delete})
        data = {"branch": branch, "commit_message": message, "actions": actions}
        try:
            self._project(project).commits.create(data, **_ONCE)
        except (requests.RequestException, gitlab.GitlabError) as err:
            if isinstance(err, gitlab.GitlabCreateError) and err.response_code == 400:
                log.info("%s@%s: %s", project, branch, err.error_message)
                return False
            if not _lost(err):
                raise
            _pause_after_lost(f"commit to {project}@{branch}", err, 1)
            return None
        return True

    def head_message(self, project: str, branch: str) -> str | None:
        """The message of the commit ``branch`` points at; None when the branch does not
        exist."""
        found = _unless_missing(lambda: self._project(project).branches.get(branch))
        return str(found.commit.get("message") or "") if found is not None else None

    def branch_head(self, project: str, branch: str) -> str | None:
        """The id of the commit ``branch`` points at; None when the branch does not exist."""
        found = _unless_missing(lambda: self._project(project).branches.get(branch))
        return str(found.commit["id"]) if found is not None else None

    def project_path(self, project: str) -> str:
        """The path of a project named by its id or path (``security/exceptions``)."""
        found = self._project_attributes(project)
        if found is None:
            raise GitLabError(
                f"no project {project} (GitLab answered 404): check gitlab.requests_project, "
                "and that the bot's user is a member"
            )
        return str(found["path_with_namespace"])

    @property
    def url(self) -> str:
        """The GitLab this talks to: its URL as given, without the API's path."""
        return str(self._gl.url)

    def web_url(self, project: str) -> str:
        return str((self._project_attributes(project) or {}).get("web_url") or "")

    def labels(self, project: str) -> dict[str, tuple[str, str | None]]:
        """Labels a project can use (its own and its groups'): name -> (colour, description)."""
        found = self._project(project).labels.list(get_all=True)
        return {str(lb.name): (str(lb.color), lb.attributes.get("description")) for lb in found}

    def create_label(self, project: str, name: str, color: str, description: str) -> None:
        data = {"name": name, "color": color, "description": description}

        def send() -> bool:
            self._project(project).labels.create(data, **_ONCE)
            return True

        # Sent again, it would answer 409 "Label already exists" (lib/api/helpers/
        # label_helpers.rb, create_label): look at the labels instead.
        self._once(
            f"{project}: creating the label {name}",
            send,
            lambda: True if name in self.labels(project) else None,
        )

    def update_label(self, project: str, name: str, color: str, description: str) -> None:
        self._write()
        self._project(project).labels.update(name, {"color": color, "description": description})

    def default_branch(self, project: str) -> str:
        return str((self._project_attributes(project) or {}).get("default_branch") or "main")

    def commit_files(
        self, project: str, branch: str, files: Mapping[str, str], message: str
    ) -> None:
        """Create or update ``files`` in one commit on ``branch``; when GitLab's answer is
        lost, the files are read again and the commit sent again only if they differ."""
        attempt = 0
        while True:
            current = {path: self._read_file(project, branch, path) for path in files}
            if attempt and all(c is not None and c[0] == files[p] for p, c in current.items()):
                return  # the commit whose answer was lost landed
            attempt += 1
            if attempt > WRITE_ATTEMPTS:
                raise GitLabError(
                    f"commit to {project}@{branch}: GitLab's answer was lost {WRITE_ATTEMPTS} "
                    "times and the files are not there; run setup --apply again"
                )
            actions = [_commit_action(path, text, current[path]) for path, text in files.items()]
            if self._commit(project, branch, message, actions, attempt):
                return

    def read_file(self, project: str, branch: str, path: str) -> str | None:
        found = self._read_file(project, branch, path)
        return found[0] if found else None

    def _read_file(self, project: str, branch: str, path: str) -> tuple[str, str] | None:
        """A file's text and the id of the last commit that changed it; None when missing
        (or when the branch does not exist yet, as in a new, empty project)."""
        found = _unless_missing(
            lambda: self._project(project).files.get(file_path=path, ref=branch)
        )
        if found is None:
            return None
        return found.decode().decode("utf-8"), str(found.last_commit_id)

    def find_issue(self, project: str, title: str, marker: str, author_id: int) -> int | None:
        """The iid of the issue titled ``title`` that ``author_id`` wrote ending with ``marker``
        (the last line only: the weekly report quotes request titles, which may hold a marker)."""
        found = self._project(project).issues.list(
            search=title, get_all=True, query_parameters={"in": "title"}
        )
        for issue in found:
            attrs = issue.attributes
            author = attrs.get("author") or {}
            ends = markers.trailing(str(attrs.get("description") or "")) == marker
            if author.get("id") == author_id and attrs.get("title") == title and ends:
                return int(attrs["iid"])
        return None

    def issue_description(self, project: str, iid: int) -> str:
        return str(self._project(project).issues.get(iid).attributes.get("description") or "")

    def create_issue(
        self,
        project: str,
        title: str,
        description: str,
        marker: str,
        assignees: Iterable[str] = (),
    ) -> int:
        """Assignees are set by the same request: a run that dies after creating the issue
        must not leave it unassigned (a rerun finds the issue and does not create it again).

        ``description`` holds ``marker``: when GitLab's answer is lost, the bot's issue with
        this title and marker means it was created (each POST creates one more issue)."""
        ids = [uid for name in assignees if (uid := self._user_id(name)) is not None]
        data: dict[str, Any] = {"title": title, "description": description}
        if ids:
            data["assignee_ids"] = ids
        return self._once(
            f"{project}: creating the issue {title!r}",
            lambda: int(self._project(project).issues.create(data, **_ONCE).iid),
            lambda: self.find_issue(project, title, marker, self._me()),
        )

    def set_description(self, project: str, iid: int, description: str) -> None:
        self._save_description(IssueRef(project, iid), description)

    def set_assignees(self, ref: IssueRef, usernames: Iterable[str]) -> None:
        """The issue's assignees become exactly ``usernames``; none unassigns everyone (GitLab
        keeps an empty ``assignee_ids``: issuable_base_service.rb filter_assignees_using_checks
        returns early on a blank list)."""
        self._write()
        ids = [uid for name in usernames if (uid := self._user_id(name)) is not None]
        self._project(ref.project).issues.update(ref.iid, {"assignee_ids": ids})

    def assign(self, ref: IssueRef, usernames: Iterable[str]) -> None:
        self._write()
        ids = [uid for name in usernames if (uid := self._user_id(name)) is not None]
        if ids:
            self._project(ref.project).issues.update(ref.iid, {"assignee_ids": ids})

    def _user_id(self, username: str) -> int | None:
        if username not in self._user_ids:
            found = self._gl.users.list(username=username, get_all=False)
            if not found:
                log.warning("user %s from the config does not exist on GitLab", username)
                return None
            self._user_ids[username] = int(found[0].id)
        return self._user_ids[username]


# Per-call options for a write that must not be sent twice: python-gitlab's transient retry
# (gitlab/client.py http_request) sends a POST again after a 5xx or a broken connection,
# when GitLab may have carried it out already.
_ONCE: dict[str, Any] = {"retry_transient_errors": False}


def _lost(err: requests.RequestException | gitlab.GitlabError) -> bool:
    """Whether a failed write may have been carried out all the same: the connection broke
    once the request was sent, or a 5xx came, which a proxy (Workhorse, a load balancer) also
    sends when it gives up waiting while GitLab goes on."""
    if isinstance(err, requests.RequestException):
        return isinstance(
            err,
            requests.ConnectionError | requests.exceptions.ChunkedEncodingError | requests.Timeout,
        )
    return err.response_code is not None and err.response_code >= 500


def _still_throttled(err: gitlab.GitlabError) -> str:
    """One line for a 429 python-gitlab gave up on. GitLab's limits on note and issue creation
    answer ``{"message": {"error": "..."}}`` with no ``Retry-After``
    (lib/api/helpers/rate_limiter.rb), so python-gitlab's retries (gitlab/client.py
    ``http_request``: 0.1 s doubled, 10 times, about 100 s) have outlasted GitLab's one-minute
    window: the user's limit is being spent by something else too."""
    said = err.error_message
    if isinstance(said, dict):
        said = said.get("error") or said.get("message") or said
    if isinstance(said, bytes):
        said = said.decode("utf-8", "replace")
    detail = " ".join(str(said).split())
    return (
        f"GitLab still answered 429 after python-gitlab's retries ({detail}); the next run "
        "tries again. If this repeats, give the bot a token of its own (GitLab counts limits "
        "per user) or lower limits.notes_per_minute"
    )


def _pause_after_lost(what: str, err: Exception, attempt: int) -> None:
    """Wait before looking whether a write landed: a write a proxy gave up on may still be
    under way in GitLab."""
    log.warning("%s: GitLab's answer was lost (%s); looking whether it was done", what, err)
    time.sleep(LOST_ANSWER_PAUSE * 2 ** (attempt - 1))


def _unless_missing(call: Callable[[], T]) -> T | None:
    """``call()``, or None when GitLab answers 404: the thing does not exist (or the bot's user
    cannot see it, which GitLab reports the same way)."""
    try:
        return call()
    except gitlab.GitlabError as err:
        if err.response_code == 404:
            return None
        raise


def _commit_action(path: str, text: str | None, current: tuple[str, str] | None) -> dict[str, Any]:
    if text is None:
        action: dict[str, Any] = {"action": "delete", "file_path": path}
    elif current is None:
        return {"action": "create", "file_path": path, "content": text}
    else:
        action = {"action": "update", "file_path": path, "content": text}
    if current is not None:
        # GitLab refuses the whole commit when the file changed since this id (HTTP 400).
        action["last_commit_id"] = current[1]
    return action


def _linked(data: dict[str, Any]) -> LinkedIssue | None:
    """A linked issue; its project from ``references.full`` (``group/proj#12``) or its URL."""
    full = str((data.get("references") or {}).get("full") or "")
    project = full.rsplit("#", 1)[0] if "#" in full else ""
    if not project:
        project = str(data.get("web_url") or "").split("/-/issues/")[0].split("/", 3)[-1]
    if not project:
        return None
    return LinkedIssue(
        project,
        int(data["iid"]),
        str(data.get("state") or "opened"),
        frozenset(data.get("labels") or ()),
        str(data.get("description") or ""),
        str(data.get("issue_type") or "issue"),
        _when(data["updated_at"]) if data.get("updated_at") else None,
    )


def _member(data: dict[str, Any]) -> Member:
    state = data.get("membership_state")
    return Member(
        str(data["username"]),
        int(data["access_level"]),
        str(data.get("state") or "active"),
        str(state) if state is not None else None,
    )


def _note(data: dict[str, Any]) -> Note:
    return Note(
        int(data["id"]),
        _user(data.get("author")),
        str(data.get("body") or ""),
        bool(data.get("system")),
        _when(data["created_at"]),
    )


def _label_event(data: dict[str, Any]) -> LabelEvent | None:
    label = data.get("label")
    if not label:  # the label was deleted since; the event no longer names it
        return None
    return LabelEvent(
        int(data["id"]),
        _user(data.get("user")),
        str(label["name"]),
        LabelAction(data["action"]),
        _when(data["created_at"]),
    )
