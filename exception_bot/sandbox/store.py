"""The sandbox's state and GitLab's behaviour on it, without HTTP.

Mutable on purpose: this is a small in-memory GitLab. The server holds one lock around every
request, so the store itself is not thread-safe.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from exception_bot.sandbox import commands, policy, quick_actions, taskable
from exception_bot.sandbox.webhook_model import HookEvent, WebHook, issue_state

if TYPE_CHECKING:  # pipelines.py reads the store: imported for the annotation only
    from exception_bot.sandbox.pipelines import Pipeline

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
NEW_LABEL_COLOR = "#6699cc"
# app/models/concerns/throttled_touch.rb (included by Issue): a touch moves updated_at only
# when the issue was last updated more than this long before.
TOUCH_INTERVAL = timedelta(minutes=1)
# The licensed tier, for the two Premium features the bot meets: scoped labels and several
# assignees on an issue (ee/app/models/gitlab_subscriptions/features.rb lists scoped_labels
# and multiple_issue_assignees among the Premium features; CE has neither).
EDITIONS = ("free", "premium")
_SCOPED_LABEL_PATTERN = re.compile(r"^.*::")


class ApiError(Exception):
    """A GitLab error answer: HTTP status and GitLab's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class User:
    id: int
    username: str
    name: str
    token: str
    admin: bool = False
    # "active", or "blocked" (and GitLab's other states): a blocked user's token is refused,
    # yet members/all still lists them, with their state (lib/api/entities/user_basic.rb).
    state: str = "active"
    email: str = ""  # POST /users: unique, as the username is (routes_admin.py)
    created_at: datetime | None = None
    # The user's status (emoji, message, availability), None when they set none
    # (routes_status.py).
    status: dict[str, object] | None = None


@dataclass
class Group:
    id: int
    full_path: str
    name: str
    parent_id: int | None
    members: dict[int, int] = field(default_factory=dict)  # user id -> access level
    labels: dict[str, Label] = field(default_factory=dict)
    # Groups this group is shared with ("invited groups"): group id -> the link's group_access.
    shared_with: dict[int, int] = field(default_factory=dict)
    visibility: str = "private"  # what POST /groups set; read access is not checked on groups


@dataclass(frozen=True)
class PersonalToken:
    """A personal access token an administrator created for a user (routes_admin.py)."""

    id: int
    user_id: int
    name: str
    scopes: tuple[str, ...]
    expires_at: date | None
    created_at: datetime


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str | None = None
    group_id: int | None = None


@dataclass
class Note:
    id: int
    body: str
    author_id: int
    system: bool
    created_at: datetime
    updated_at: datetime
    internal: bool = False


@dataclass
class LabelEvent:
    id: int
    user_id: int
    label: Label
    action: str  # "add" | "remove"
    created_at: datetime


@dataclass
class StateEvent:
    id: int
    user_id: int
    state: str  # "closed" | "reopened" (ResourceStateEvent's states)
    created_at: datetime


@dataclass
class Issue:
    id: int
    iid: int
    project_id: int
    title: str
    description: str
    author_id: int
    created_at: datetime
    updated_at: datetime
    labels: list[str] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    state: str = "opened"
    closed_at: datetime | None = None
    closed_by_id: int | None = None
    confidential: bool = False
    due_date: date | None = None
    discussion_locked: bool = False
    issue_type: str = "issue"
    notes: list[Note] = field(default_factory=list)
    label_events: list[LabelEvent] = field(default_factory=list)
    state_events: list[StateEvent] = field(default_factory=list)


@dataclass
class IssueLink:
    id: int
    source_id: int  # global issue ids
    target_id: int
    link_type: str
    created_at: datetime


@dataclass(frozen=True)
class Signature:
    """A commit's author and committer as ``git`` wrote them: whatever the pusher configured
    (``git -c user.email=... commit``, ``GIT_COMMITTER_EMAIL``). GitLab checks who pushes, not
    what the commits say (lib/gitlab/git_access.rb; only Premium's push rule
    ``commit_committer_check`` refuses a committer e-mail not the pusher's, and it is off by
    default)."""

    author_name: str
    author_email: str
    committer_name: str
    committer_email: str


@dataclass
class Commit:
    id: str
    parent_id: str | None
    message: str
    author: User  # who made it: the API's user, or the pusher
    created_at: datetime
    tree: dict[str, str]  # path -> content, the whole tree after this commit
    changed: frozenset[str]
    merged_parent_id: str | None = None  # a merge commit's second parent
    # A pushed commit's author and committer; None for one GitLab made (the Commits API and
    # merges), whose committer is the user (Gitaly's UserCommitFiles: the user is committer).
    signature: Signature | None = None


@dataclass
class MergeRequest:
    id: int
    iid: int
    project_id: int
    title: str
    description: str
    author_id: int
    source_branch: str
    target_branch: str
    created_at: datetime
    updated_at: datetime
    state: str = "opened"
    labels: list[str] = field(default_factory=list)
    changes: list[dict[str, object]] = field(default_factory=list)  # a seed's fixed diffs
    approved_by: list[int] = field(default_factory=list)
    merged_by_id: int | None = None
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    approved_at: dict[int, datetime] = field(default_factory=dict)  # user id -> when


@dataclass
class Project:
    id: int
    path_with_namespace: str
    name: str
    namespace_id: int | None
    members: dict[int, int] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    merge_requests: dict[int, MergeRequest] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> head commit id
    commits: dict[str, Commit] = field(default_factory=dict)
    default_branch: str = "main"
    next_iid: int = 1
    # private: only members see it; internal: every signed-in user reads and opens its
    # (non-confidential) issues (policy.py)
    visibility: str = "private"


class Store:
    """Every object of the sandbox GitLab, and the operations the API performs on them."""

    def __init__(self, base_url: str = "http://127.0.0.1") -> None:
        self.base_url = base_url
        self.users: dict[int, User] = {}
        self.groups: dict[int, Group] = {}
        self.projects: dict[int, Project] = {}
        self.links: list[IssueLink] = []
        self.personal_tokens: dict[str, PersonalToken] = {}  # by the token's secret
        self.clock: datetime | None = None  # None: real time
        self._ids = itertools.count(1)
        # The wording of checklist notes (taskable.NOTE_FORMS) and how long after the save of
        # the description GitLab writes them: the save and the notes are not one transaction
        # (a live export shows 232 ms between them), so a read may fall in between.
        self.checklist_note_form = "rendered"
        self.checklist_note_delay = timedelta(0)
        self._late_notes: list[tuple[Issue, Note]] = []
        self.edition = "free"  # one of EDITIONS
        # Project and group webhooks by id, and the changes a request made that call them
        # (drained after it by the server: exception_bot/sandbox/webhooks.py).
        self.hooks: dict[int, WebHook] = {}
        self.hook_events: list[HookEvent] = []
        # The admin setting "Allow requests to the local network from webhooks and
        # integrations" (allow_local_requests_from_web_hooks_and_services), off by default.
        self.allow_local_hooks = False
        # Finished pipelines and their jobs' artifacts (exception_bot/sandbox/pipelines.py).
        self.pipelines: list[Pipeline] = []

    # -- basics -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock or datetime.now(UTC)

    def next_id(self) -> int:
        return next(self._ids)

    def user_by_token(self, token: str) -> User | None:
        found = next((u for u in self.users.values() if u.token == token), None)
        if found is None and token in self.personal_tokens:
            found = self.users.get(self.personal_tokens[token].user_id)
        return found

    def user_named(self, username: str) -> User | None:
        wanted = username.lower()
        return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def add_user(self, username: str, name: str = "", token: str = "", admin: bool = False) -> User:
        user = User(self.next_id(), username, name or username.title(), token, admin)
        user.created_at = self.now()
        user.token = token or f"glpat-{username}"
        self.users[user.id] = user
        return user

    def add_group(self, full_path: str, name: str = "") -> Group:
        parent_path, _, own = full_path.rpartition("/")
        parent = self.group(parent_path) if parent_path else None
        if parent_path and parent is None:
            parent = self.add_group(parent_path)
        group = Group(self.next_id(), full_path, name or own, parent.id if parent else None)
        self.groups[group.id] = group
        return group

    def add_project(self, path: str, name: str = "") -> Project:
        namespace, _, own = path.rpartition("/")
        group = self.group(namespace) if namespace else None
        if namespace and group is None:
            group = self.add_group(namespace)
        project = Project(self.next_id(), path, name or own, group.id if group else None)
        self.projects[project.id] = project
        return project

    # -- look-ups (":id" is a numeric id or a full path) ---------------------------------------

    def group(self, ident: str) -> Group | None:
        if ident.isdigit():
            return self.groups.get(int(ident))
        return next((g for g in self.groups.values() if g.full_path.lower() == ident.lower()), None)

    def project(self, ident: str) -> Project | None:
        if ident.isdigit():
            return self.projects.get(int(ident))
        return next(
            (p for p in self.projects.values() if p.path_with_namespace.lower() == ident.lower()),
            None,
        )

    def must_group(self, ident: str) -> Group:
        group = self.group(ident)
        if group is None:
            raise ApiError(404, "404 Group Not Found")
        return group

    def must_project(self, ident: str) -> Project:
        project = self.project(ident)
        if project is None:
            raise ApiError(404, "404 Project Not Found")
        return project

    def must_issue(self, project: Project, iid: int) -> Issue:
        issue = project.issues.get(iid)
        if issue is None:
            raise ApiError(404, "404 Issue Not Found")
        return issue

    def issue_by_id(self, issue_id: int) -> tuple[Project, Issue] | None:
        for project in self.projects.values():
            for issue in project.issues.values():
                if issue.id == issue_id:
                    return project, issue
        return None

    def ancestors(self, group_id: int | None) -> Iterator[Group]:
        while group_id is not None:
            group = self.groups[group_id]
            yield group
            group_id = group.parent_id

    def members_all(self, direct: dict[int, int], group_id: int | None) -> dict[int, int]:
        """Direct members, those inherited from ancestor groups and the members of groups any
        of them is shared with, highest access wins (app/finders/group_members_finder.rb,
        relations direct, inherited and shared_from_groups, as lib/api/helpers/
        members_helpers.rb asks for members/all). A shared group's members get at most the
        link's group_access (``GroupMember.shared_members``). Blocked users stay listed."""
        levels = dict(direct)
        for group in self.ancestors(group_id):
            for user_id, level in group.members.items():
                levels[user_id] = max(level, levels.get(user_id, 0))
            for invited_id, group_access in group.shared_with.items():
                # only the invited group's own members (GroupMember.of_groups), capped
                for user_id, level in self.groups[invited_id].members.items():
                    levels[user_id] = max(min(level, group_access), levels.get(user_id, 0))
        return levels

    def group_members_all(self, group: Group) -> dict[int, int]:
        return self.members_all({}, group.id)

    def project_members_all(self, project: Project) -> dict[int, int]:
        return self.members_all(project.members, project.namespace_id)

    def issue_url(self, project: Project, issue: Issue) -> str:
        return f"{self.base_url}/{project.path_with_namespace}/-/issues/{issue.iid}"

    # -- labels -----------------------------------------------------------------------------

    def available_labels(self, project: Project) -> dict[str, Label]:
        """Project labels and the labels of its ancestor groups (labels.md)."""
        found: dict[str, Label] = {}
        for group in reversed(list(self.ancestors(project.namespace_id))):
            found.update(group.labels)
        found.update(project.labels)
        return found

    def label_for(self, project: Project, name: str) -> Label:
        """The label of that name; unknown names become project labels (issues.md)."""
        label = self.available_labels(project).get(name)
        if label is None:
            label = Label(self.next_id(), name, NEW_LABEL_COLOR)
            project.labels[name] = label
        return label

    def create_label(
        self, labels: dict[str, Label], name: str, color: str, description: str | None
    ) -> Label:
        if name in labels:
            raise ApiError(409, "Label already exists")
        label = Label(self.next_id(), name, color, description)
        labels[name] = label
        return label

    # -- issues -----------------------------------------------------------------------------

    def create_issue(
        self,
        project: Project,
        author: User,
        title: str,
        description: str = "",
        labels: Iterable[str] = (),
        assignee_ids: Iterable[int] = (),
        confidential: bool = False,
        due_date: date | None = None,
        issue_type: str = "issue",
        created_at: datetime | None = None,
    ) -> Issue:
        """POST /projects/:id/issues, quick actions in the description included."""
        when = created_at or self.now()
        text, found = quick_actions.extract(description)
        issue = Issue(
            self.next_id(),
            project.next_iid,
            project.id,
            title,
            text,
            author.id,
            when,
            when,
            confidential=confidential,
            due_date=due_date,
            issue_type=issue_type,
        )
        project.next_iid += 1
        project.issues[issue.iid] = issue
        changes: dict[str, object] = {"add_labels": list(labels)}
        if assignee_ids:
            changes["assignee_ids"] = list(assignee_ids)
        # the commands' parameters win over the request's, as params.merge!(command_params)
        changes.update(
            _merged(changes, commands.interpret(self, project, issue, author, found, False))
        )
        changes = policy.allowed(self, project, issue, author, changes, created=True)
        self._apply(project, issue, author, changes, when, created=True)
        self.hook_events.append(HookEvent("issue", project.id, issue.iid, author.id))
        return issue

    def update_issue(
        self, project: Project, issue: Issue, user: User, changes: dict[str, object]
    ) -> Issue:
        """PUT /projects/:id/issues/:iid: the attributes given, quick actions of a new
        description included; ``updated_at`` moves only when a column of the issue changed,
        or by a throttled touch (labels, assignees: see :meth:`_touch`)."""
        when = self.now()
        was = issue_state(issue)
        changes = dict(changes)
        if "description" in changes:
            text, found = quick_actions.extract(str(changes["description"] or ""))
            # execute_with_original_text: commands already in the old text do not run again
            _, before = quick_actions.extract(issue.description)
            fresh = tuple(c for c in found if c not in before)
            changes["description"] = text
            changes.update(_merged(changes, commands.interpret(self, project, issue, user, fresh)))
        changes = policy.allowed(self, project, issue, user, changes, created=False)
        if self._apply(project, issue, user, changes, when, created=False):
            issue.updated_at = when
        self.record_issue_hook(project, issue, user, was)
        return issue

    def record_issue_hook(
        self, project: Project, issue: Issue, user: User, was: dict[str, object]
    ) -> None:
        """An Issue Hook for a change of the issue (Issues::UpdateService#execute_hooks runs
        when the save changed something: a save that changed nothing calls no hook)."""
        if issue_state(issue) != was:
            self.hook_events.append(HookEvent("issue", project.id, issue.iid, user.id, before=was))

    def _apply(
        self,
        project: Project,
        issue: Issue,
        user: User,
        changes: dict[str, object],
        when: datetime,
        created: bool,
    ) -> bool:
        """Apply REST-style changes with GitLab's system notes; True when a column of the
        issue changed, which moves ``updated_at`` when the issue is saved (issuable_base_service
        .rb: ``save(touch: true)``). Labels and assignees are other tables: they only touch.

        On create GitLab writes label events but none of the update notes
        (Issuable::CommonSystemNotesService with is_update: false).
        """
        changed = False
        add = list(_names(changes.get("add_labels")))
        remove = list(_names(changes.get("remove_labels")))
        # the order Premium's scoped labels keep the last of: add_label_ids + label_ids
        selection = list(add)
        if changes.get("labels") is not None:
            wanted = list(_names(changes["labels"]))
            selection += wanted
            add += [n for n in wanted if n not in issue.labels]
            remove += [n for n in issue.labels if n not in wanted]
        for key, step in self._STEPS:
            if key in changes:
                changed |= step(self, issue, user, changes[key], when, created)
        self._set_labels(project, issue, user, add, remove, when, selection)
        return changed

    def _change_title(
        self, issue: Issue, user: User, value: object, when: datetime, created: bool
    ) -> bool:
        title = str(value or "")
        if not title or title == issue.title:
            return False
        old, issue.title = issue.title, title
        self._system(issue, user, f"changed title from **{old}** to **{title}**", when)
        return True

    def _change_description(
        self, issue: Issue, user: User, value: object, when: datetime, created: bool
    ) -> bool:
        text = str(value or "")
        if text == issue.description:
            return False
        old, issue.description = issue.description, text
        # issuable/common_system_notes_service.rb handle_description_change_note: task notes
        # for toggled items and no description note, or "changed the description".
        toggled = taskable.toggled(old, text)
        for task in toggled:
            body = taskable.task_note(task, self.checklist_note_form)
            self._system(issue, user, body, when + self.checklist_note_delay)
        if not toggled:
            self._system(issue, user, "changed the description", when)
        return True

    def _change_confidential(
        self, issue: Issue, user: User, value: object, when: datetime, created: bool
    ) -> bool:
        wanted = _truthy(value)
        if wanted == issue.confidential:
            return False
        issue.confidential = wanted
        if not created:
            # issuables_service.rb change_issue_confidentiality
            body = "made the issue confidential" if wanted else "made the issue visible to everyone"
            self._system(issue, user, body, when)
        return True

    def _change_due_date(
        self, issue: Issue, user: User, value: object, when: datetime, created: bool
    ) -> bool:
        try:
            due = date.fromisoformat(str(value)) if value else None
        except ValueError:
            raise ApiError(400, "400 Bad request - due_date is invalid") from None
        if due == issue.due_date:
            return False
        issue.due_date = due
        if not created:
            # time_tracking_service.rb change_due_date; Rails' Date :long is "%B %-d, %Y"
            text = f"{due:%B} {due.day}, {due.year}" if due else ""
            self._system(
                issue, user, f"changed due date to {text}" if due else "removed due date", when
            )
        return True

    def _change_assignees(
        self, issue: Issue, user: User, value: object, when: datetime, created: bool
    ) -> bool:
        ids = [int(str(i)) for i in _list(value) if str(i).strip() not in ("", "0")]
        # Free keeps one assignee: filter_assignees_using_checks takes params.first(1) unless
        # issue.allows_multiple_assignees? (ee/app/models/ee/issue.rb: multiple_issue_assignees)
        self._assign(issue, user, ids if self.edition == "premium" else ids[:1], when)
        return False  # another table: _assign touched the issue

    def _change_state(
        self, issue: Issue, user: User, value: object, when: datetime, created: bool
    ) -> bool:
        event = str(value)
        if event not in ("close", "reopen"):
            raise ApiError(400, "400 Bad request - state_event does not have a valid value")
        # Closing and reopening are resource state events, not notes (notes.md).
        if event == "close" and issue.state == "opened":
            issue.state, issue.closed_at, issue.closed_by_id = "closed", when, user.id
        elif event == "reopen" and issue.state == "closed":
            issue.state, issue.closed_at, issue.closed_by_id = "opened", None, None
        else:
            return False
        state = "closed" if issue.state == "closed" else "reopened"
        issue.state_events.append(StateEvent(self.next_id(), user.id, state, when))
        return True

    def _change_lock(
        self, issue: Issue, user: User, value: object, when: datetime, created: bool
    ) -> bool:
        locked = _truthy(value)
        if locked == issue.discussion_locked:
            return False
        issue.discussion_locked = locked
        self._system(
            issue, user, "locked the discussion" if locked else "unlocked the discussion", when
        )
        return True

    _STEPS: tuple[tuple[str, Callable[..., bool]], ...] = (
        ("title", _change_title),
        ("description", _change_description),
        ("confidential", _change_confidential),
        ("due_date", _change_due_date),
        ("assignee_ids", _change_assignees),
        ("state_event", _change_state),
        ("discussion_locked", _change_lock),
    )

    def _set_labels(
        self,
        project: Project,
        issue: Issue,
        user: User,
        add: Iterable[str],
        remove: Iterable[str],
        when: datetime,
        selection: Iterable[str] = (),
    ) -> bool:
        """One label event per label added or removed, by ``user``; remove wins over add for a
        label in both lists (issuable/callbacks/labels.rb compute_new_label_ids). Unknown names
        become project labels (issues.md). On Premium a label added next to another of its
        scope removes that one (:func:`scoped_survivors`).

        The events are written as resource_events/change_labels_service.rb writes them: the
        added labels, then the removed ones, all at one time and by the user of the request,
        so GitLab's removal of a scoped label reads as that user's."""
        remove = list(dict.fromkeys(remove))
        added = [n for n in dict.fromkeys(add) if n not in issue.labels and n not in remove]
        new = [*(n for n in issue.labels if n not in remove), *added]
        if self.edition == "premium":
            new = scoped_survivors(new, added, list(selection) or added)
        removed = [n for n in issue.labels if n not in new]
        added = [n for n in added if n in new]
        for name in added:
            label = self.label_for(project, name)
            issue.labels.append(name)
            issue.label_events.append(LabelEvent(self.next_id(), user.id, label, "add", when))
        for name in removed:
            issue.labels.remove(name)
            label = self.available_labels(project).get(name) or Label(0, name, NEW_LABEL_COLOR)
            issue.label_events.append(LabelEvent(self.next_id(), user.id, label, "remove", when))
        if removed or added:
            self._touch(issue, when)  # issuable/callbacks/labels.rb: issuable.touch
        return bool(removed or added)

    def _assign(self, issue: Issue, user: User, ids: Iterable[int], when: datetime) -> bool:
        wanted = [i for i in dict.fromkeys(ids) if i in self.users]
        before = list(issue.assignee_ids)
        if wanted == before:
            return False
        issue.assignee_ids = wanted
        added = [i for i in wanted if i not in before]
        gone = [i for i in before if i not in wanted]
        # issuables_service.rb change_issuable_assignees
        parts = []
        if added:
            parts.append("assigned to " + " ".join(f"@{self.users[i].username}" for i in added))
        if gone:
            parts.append("unassigned " + " ".join(f"@{self.users[i].username}" for i in gone))
        self._system(issue, user, " and ".join(parts), when)
        self._touch(issue, when)  # issuable_base_service.rb assign_requested_assignees
        return True

    def _system(self, issue: Issue, user: User, body: str, when: datetime) -> None:
        """A system note, which touches nothing itself: the change it tells of moves
        ``updated_at`` (a column) or touches the issue (:meth:`_touch`). The notes of
        issuable/common_system_notes_service.rb are written under ``no_touching``."""
        note = Note(self.next_id(), body, user.id, True, when, when)
        if when > self.now():  # written later (checklist_note_delay): see settle()
            self._late_notes.append((issue, note))
        else:
            issue.notes.append(note)

    def settle(self) -> None:
        """Write the system notes whose time has come; called before each request."""
        due = [(i, n) for i, n in self._late_notes if n.created_at <= self.now()]
        self._late_notes = [(i, n) for i, n in self._late_notes if n.created_at > self.now()]
        for issue, note in due:
            issue.notes.append(note)  # under no_touching: updated_at stays

    @staticmethod
    def _touch(issue: Issue, when: datetime) -> None:
        """Issue#touch, throttled (app/models/concerns/throttled_touch.rb): a comment (Note
        after_save touch_noteable, app/models/note.rb), a label or an assignee change moves
        ``updated_at`` only when it was more than a minute old."""
        if when - issue.updated_at > TOUCH_INTERVAL:
            issue.updated_at = when

    # -- notes ------------------------------------------------------------------------------

    def create_note(
        self, project: Project, issue: Issue, user: User, body: str, internal: bool = False
    ) -> Note | None:
        """A comment; its quick actions run as its author. Only commands: no note (None).

        lib/api/helpers/notes_helpers.rb process_note_creation_result: a body of commands only
        answers 202 when they succeeded and 400 with their errors when one failed.
        """
        when = self.now()
        was = issue_state(issue)
        text, found = quick_actions.extract(body)
        run = commands.interpret(self, project, issue, user, found)
        granted = policy.allowed(self, project, issue, user, run.updates, created=False)
        if self._apply(project, issue, user, granted, when, created=False):
            issue.updated_at = when
        self.record_issue_hook(project, issue, user, was)  # the quick actions' changes
        if not text.strip():
            if run.errors:
                raise ApiError(400, f"400 Bad request - {', '.join(run.errors)}")
            if not found:
                raise ApiError(400, '400 Bad request - Note {:note=>["can\'t be blank"]}')
            return None
        note = Note(self.next_id(), text, user.id, False, when, when, internal)
        issue.notes.append(note)
        self._touch(issue, when)  # Note#touch_noteable
        # Notes::PostProcessService: a comment calls the note hooks; system notes (checklist
        # ticks, label changes) are skipped there (``unless note.system?``) and call none.
        event = HookEvent("note", project.id, issue.iid, user.id, "create", note_id=note.id)
        self.hook_events.append(event)
        return note

    def update_note(self, issue: Issue, note_id: int, user: User, body: str) -> Note:
        note = self.note(issue, note_id)
        if not self._admins_note(issue, note, user):
            raise ApiError(403, "403 Forbidden")
        changed = body != note.body
        note.body, note.updated_at = body, self.now()
        self._touch(issue, note.updated_at)  # Note#touch_noteable: after_save
        if changed:  # Notes::UpdateService#execute_note_webhook: when its text changed
            project = self.projects[issue.project_id]
            event = HookEvent("note", project.id, issue.iid, user.id, "update", note_id=note.id)
            self.hook_events.append(event)
        return note

    def delete_note(self, issue: Issue, note_id: int, user: User) -> None:
        note = self.note(issue, note_id)
        if not self._admins_note(issue, note, user):
            raise ApiError(403, "403 Forbidden")
        # notes/destroy_service.rb: note.destroy runs no after_save, so nothing is touched:
        # only user_notes_count tells of a deleted comment
        issue.notes.remove(note)

    def _admins_note(self, issue: Issue, note: Note, user: User) -> bool:
        """``admin_note`` (lib/api/helpers/notes_helpers.rb checks it to edit or delete): the
        note's author, and through the project (app/policies/note_policy.rb delegates to it)
        its Maintainers and admins (app/policies/project_policy.rb enables ``admin_note`` with
        ``maintainer_access``). A system note is no one's (``editable?`` is false)."""
        if note.system:
            return False
        if note.author_id == user.id or user.admin:
            return True
        project = self.projects[issue.project_id]
        return self.project_members_all(project).get(user.id, 0) >= MAINTAINER

    def note(self, issue: Issue, note_id: int) -> Note:
        found = next((n for n in issue.notes if n.id == note_id), None)
        if found is None:
            raise ApiError(404, "404 Note Not Found")
        return found

    def can_read_internal(self, project: Project, user: User) -> bool:
        """Internal notes are for Reporters and above (notes.md, "internal")."""
        level = self.project_members_all(project).get(user.id, 0)
        return user.admin or level >= REPORTER

    # -- issue links ------------------------------------------------------------------------

    def link(self, issue: Issue, target: Issue, user: User) -> IssueLink:
        for existing in self.links:
            if {existing.source_id, existing.target_id} == {issue.id, target.id}:
                raise ApiError(409, "Issue(s) already assigned")
        when = self.now()
        link = IssueLink(self.next_id(), issue.id, target.id, "relates_to", when)
        self.links.append(link)
        # issuables_service.rb relate_issuable; the wording has drifted across versions
        # (Sortie saw "marked as related to #2" on CE 19.2).
        self._system(
            issue, user, f"marked this issue as related to {self.ref(target, issue)}", when
        )
        self._system(
            target, user, f"marked this issue as related to {self.ref(issue, target)}", when
        )
        # issuable_links/create_service.rb create_notes: outside no_touching, so each note's
        # touch_noteable touches its issue
        self._touch(issue, when)
        self._touch(target, when)
        return link

    def unlink(self, link: IssueLink, user: User) -> None:
        self.links.remove(link)
        source, target = self.issue_by_id(link.source_id), self.issue_by_id(link.target_id)
        if source is None or target is None:
            return
        when = self.now()
        # issuables_service.rb unrelate_issuable
        self._system(
            source[1], user, f"removed the relation with {self.ref(target[1], source[1])}", when
        )
        self._system(
            target[1], user, f"removed the relation with {self.ref(source[1], target[1])}", when
        )
        self._touch(source[1], when)
        self._touch(target[1], when)

    def ref(self, issue: Issue, seen_from: Issue | None = None) -> str:
        """``#2`` within the same project, ``group/project#2`` from elsewhere (to_reference)."""
        if seen_from is not None and seen_from.project_id == issue.project_id:
            return f"#{issue.iid}"
        return f"{self.projects[issue.project_id].path_with_namespace}#{issue.iid}"

    def links_of(self, issue: Issue) -> list[tuple[IssueLink, Issue]]:
        found = []
        for link in self.links:
            other = link.target_id if link.source_id == issue.id else None
            other = link.source_id if link.target_id == issue.id else other
            if other is not None and (pair := self.issue_by_id(other)) is not None:
                found.append((link, pair[1]))
        return found

    # -- repository -------------------------------------------------------------------------

    def head(self, project: Project, ref: str | None) -> Commit | None:
        branch = project.default_branch if ref in (None, "", "HEAD") else str(ref)
        sha = project.branches.get(branch)
        if sha is None:
            sha = ref if ref in project.commits else None
        return project.commits.get(sha) if sha else None

    def last_commit_for(self, project: Project, head: Commit, path: str) -> Commit:
        commit: Commit | None = head
        while commit is not None:
            if path in commit.changed:
                return commit
            commit = project.commits.get(commit.parent_id) if commit.parent_id else None
        return head

    def commit(
        self,
        project: Project,
        user: User,
        branch: str,
        message: str,
        actions: list[dict[str, object]],
        start_branch: str | None = None,
        *,
        files_api: bool = False,
    ) -> Commit:
        """An atomic commit of several file actions (commits.md): all or nothing. Each action
        is checked against the tree of the commit it builds on, and the branch moves only from
        that commit (Gitaly's UserCommitFiles, internal/gitaly/service/operations/
        commit_files.go, updates the ref from the parent it built on): one of two commits
        creating the same file fails. ``files_api``: the Files API's wording for a stale
        ``last_commit_id``."""
        base_sha = project.branches.get(branch)
        if base_sha is None and start_branch:
            base_sha = project.branches.get(start_branch)
        if base_sha is None and project.branches:
            raise ApiError(400, "You can only create or edit files when you are on a branch")
        base = project.commits.get(base_sha) if base_sha else None
        tree = dict(base.tree) if base else {}
        changed: set[str] = set()
        for action in actions:
            self._file_action(project, base, tree, action, files_api)
            changed.add(str(action["file_path"]))
            if action.get("previous_path"):
                changed.add(str(action["previous_path"]))
        sha = hashlib.sha1(  # noqa: S324 - an id, as git's, not security
            f"{base_sha}{message}{self.next_id()}".encode()
        ).hexdigest()
        commit = Commit(sha, base_sha, message, user, self.now(), tree, frozenset(changed))
        project.commits[sha] = commit
        project.branches[branch] = sha
        return commit

    def _file_action(
        self,
        project: Project,
        base: Commit | None,
        tree: dict[str, str],
        action: dict[str, object],
        files_api: bool,
    ) -> None:
        kind = str(action.get("action"))
        path = str(action.get("file_path") or "").strip("/")
        if not path or ".." in path.split("/"):
            raise ApiError(400, "file_path is invalid")
        content = _content(action)
        last = action.get("last_commit_id")
        if last and base is not None and kind in ("update", "delete", "move"):
            checked = str(action.get("previous_path") or path)
            current = self.last_commit_for(project, base, checked)
            if current.id != last:
                # app/services/files/update_service.rb (Files API) and multi_service.rb
                # validate_file_status! (Commits API) word it differently; both answer 400.
                raise ApiError(
                    400,
                    "You are attempting to update a file that has changed since you started "
                    "editing it."
                    if files_api
                    else f"The file has changed since you started editing it: {checked}",
                )
        if kind == "create":
            if path in tree:
                raise ApiError(400, "A file with this name already exists")
            tree[path] = content
        elif kind == "update":
            if path not in tree:
                raise ApiError(400, "A file with this name doesn't exist")
            tree[path] = content
        elif kind == "delete":
            if path not in tree:
                raise ApiError(400, "A file with this name doesn't exist")
            del tree[path]
        elif kind == "move":
            old = str(action.get("previous_path") or "")
            if old not in tree:
                raise ApiError(400, "A file with this name doesn't exist")
            text = tree.pop(old)
            tree[path] = content if action.get("content") is not None else text
        else:
            raise ApiError(400, f"action is invalid: {kind}")

    def history(self, project: Project, head: Commit, path: str | None) -> list[Commit]:
        found: list[Commit] = []
        commit: Commit | None = head
        while commit is not None:
            if path is None or any(c == path or c.startswith(path + "/") for c in commit.changed):
                found.append(commit)
            commit = project.commits.get(commit.parent_id) if commit.parent_id else None
        return found


def scoped_label_key(name: str) -> str | None:
    """A scoped label's scope: everything before its last ``::`` (``a::b::c``: ``a::b``);
    None for an unscoped label (ee/app/models/ee/label.rb, ``scoped_label_key`` with the
    greedy SCOPED_LABEL_PATTERN ``/^.*::/``)."""
    found = _SCOPED_LABEL_PATTERN.match(name)
    return found.group()[: -len("::")] if found else None


def scoped_survivors(new: list[str], added: list[str], selection: list[str]) -> list[str]:
    """The labels Premium keeps of ``new``: a scope holding two or more labels, one of them
    just ``added``, keeps only the one that comes last in ``selection`` (the request's
    add_labels then labels, quick actions' included); a scope that held two before and gains
    none keeps both. ee/app/services/ee/issuable/callbacks/labels.rb
    filter_mutually_exclusive_labels with ee/app/models/scoped_label_set.rb
    ``last_id_by_order`` (a label outside the selection ranks -1)."""
    if not added:
        return new
    rank = {name: i for i, name in enumerate(selection)}  # to_h: a repeated name's last place
    scopes: dict[str | None, list[str]] = {}
    for name in new:
        scopes.setdefault(scoped_label_key(name), []).append(name)
    keep: set[str] = set()
    for key, names in scopes.items():
        if key is None or len(names) < 2 or not set(names) & set(added):
            keep.update(names)
        else:
            keep.add(max(names, key=lambda n: rank.get(n, -1)))
    return [n for n in new if n in keep]


def _merged(changes: dict[str, object], run: commands.Interpreting) -> dict[str, object]:
    """The request's parameters with the commands' merged in: label lists add up, the rest of
    the commands' values win (issuable_base_service.rb merges command params over params)."""
    merged = {**changes, **run.updates}
    for key in ("add_labels", "remove_labels"):
        if key in changes and key in run.updates:
            merged[key] = [*_names(changes[key]), *_names(run.updates[key])]
    return merged


def _content(action: dict[str, object]) -> str:
    raw = str(action.get("content") or "")
    if action.get("encoding") == "base64":
        return base64.b64decode(raw).decode("utf-8")
    return raw


def _list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [v for v in str(value).split(",") if v != ""]


def _names(value: object) -> Iterator[str]:
    for item in _list(value):
        name = str(item).strip()
        if name:
            yield name


def _truthy(value: object) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")
