"""GitLab's webhook payloads for the changes a request made, and the hooks they go to.

Read from gitlabhq:

- lib/gitlab/data_builder/issuable.rb: an issue's or merge request's data is ``object_kind``,
  ``event_type`` (``confidential_issue`` for a confidential issue), ``user``, ``project``,
  ``object_attributes`` (lib/gitlab/hook_data/issue_builder.rb's safe attributes, ``url``,
  ``assignee_ids``, ``labels`` and the ``action``), the issue's ``labels``, ``changes`` (each
  changed safe attribute or relation as ``{"previous": .., "current": ..}``, labels as label
  objects), ``repository`` and ``assignees`` when there are any.
- lib/gitlab/data_builder/note.rb: a comment's data is ``object_kind`` "note", ``event_type``
  ("confidential_note" for an internal note or one on a confidential issue), ``user``,
  ``project_id``, ``project``, ``object_attributes`` (the note's attributes, ``url``,
  ``action``) and the noteable: ``issue`` for a comment on an issue.
- app/models/issue.rb and note.rb ``hooks_scope``: a confidential issue's events go to the
  ``confidential_issues_events`` hooks only, a confidential note's to the
  ``confidential_note_events`` hooks only; app/services/web_hook_service.rb names the scope in
  ``X-Gitlab-Event`` (``confidential_issue_hooks`` -> "Confidential Issue Hook").
- ee/app/models/ee/project.rb ``execute_hooks``: group hooks of the project's group and its
  ancestors are called too, on Premium (licensed feature ``group_webhooks``).
- Notes::PostProcessService: system notes (checklist ticks among them) call no note hook; a
  tick is an issue update whose ``changes`` hold ``description``.
"""

from __future__ import annotations

from typing import Any

from exception_bot.sandbox.deliveries import Deliverer
from exception_bot.sandbox.entities import stamp
from exception_bot.sandbox.store import Issue, MergeRequest, Project, Store, User
from exception_bot.sandbox.webhook_model import HookEvent, WebHook, issue_state

# (scope flag, X-Gitlab-Event) of each kind of event, plain and confidential
SCOPES = {
    ("issue", False): ("issues_events", "Issue Hook"),
    ("issue", True): ("confidential_issues_events", "Confidential Issue Hook"),
    ("note", False): ("note_events", "Note Hook"),
    ("note", True): ("confidential_note_events", "Confidential Note Hook"),
    ("merge_request", False): ("merge_requests_events", "Merge Request Hook"),
}
# Gitlab::HookData::IssueBuilder's safe attributes and relations that may appear in changes.
_ISSUE_CHANGES = (
    "title",
    "description",
    "state_id",
    "labels",
    "assignees",
    "confidential",
    "due_date",
    "discussion_locked",
    "closed_at",
    "updated_at",
    "updated_by_id",
)
_STATE_IDS = {"opened": 1, "closed": 2}


def dispatch(store: Store, deliverer: Deliverer, recycled_uuid: str | None = None) -> int:
    """Queue a delivery of each event the last request recorded to each hook that wants it;
    ``recycled_uuid``: the request's own ``X-Gitlab-Event-UUID``. Returns how many."""
    events, store.hook_events = store.hook_events, []
    queued = 0
    for event in events:
        project = store.projects.get(event.project_id)
        hooks = hooks_for(store, project) if project is not None else []
        built = payloads(store, event) if hooks else None  # no hook: no payload to build
        if built is None:
            continue
        flag, header, payload = built
        for hook in hooks:
            if hook.flags.get(flag):
                headers = deliverer.headers(header, hook.token, store.base_url, recycled_uuid)
                deliverer.submit(hook.id, hook.url, headers, payload, hook.enable_ssl_verification)
                queued += 1
    return queued


def hooks_for(store: Store, project: Project) -> list[WebHook]:
    """The project's hooks, then the group hooks of its group and the group's ancestors (those
    only on Premium), that are not in a backoff."""
    groups = {g.id for g in store.ancestors(project.namespace_id)}
    premium = store.edition == "premium"
    now = store.now()
    return [
        h
        for h in store.hooks.values()
        if (h.project_id == project.id or (premium and h.group_id in groups)) and h.executable(now)
    ]


def payloads(store: Store, event: HookEvent) -> tuple[str, str, dict[str, Any]] | None:
    """(scope flag, X-Gitlab-Event, payload) for the event, or None when its object is gone."""
    project = store.projects.get(event.project_id)
    user = store.users.get(event.user_id)
    if project is None or user is None:
        return None
    if event.kind == "merge_request":
        mr = project.merge_requests.get(event.iid)
        if mr is None:
            return None
        flag, header = SCOPES[("merge_request", False)]
        return flag, header, merge_request_data(store, project, mr, user, event.action)
    issue = project.issues.get(event.iid)
    if issue is None:
        return None
    if event.kind == "issue":
        flag, header = SCOPES[("issue", issue.confidential)]
        return flag, header, issue_data(store, project, issue, user, event.before)
    note = next((n for n in issue.notes if n.id == event.note_id), None)
    if note is None:
        return None
    flag, header = SCOPES[("note", issue.confidential or note.internal)]
    # Gitlab::DataBuilder::Note.build(note, note.author, action): the note's author is the
    # payload's user, whoever edited it
    author = store.users.get(note.author_id, user)
    return flag, header, note_data(store, project, issue, author, note.id, event.action)


def user_data(store: Store, u: User) -> dict[str, Any]:
    """User#hook_attrs (the e-mail redacted, as GitLab does for hooks since 16.x)."""
    return {
        "id": u.id,
        "name": u.name,
        "username": u.username,
        "avatar_url": None,
        "email": "[REDACTED]",
    }


def project_data(store: Store, p: Project) -> dict[str, Any]:
    """Project#hook_attrs."""
    web = f"{store.base_url}/{p.path_with_namespace}"
    ssh = f"git@{store.base_url.split('://', 1)[-1]}:{p.path_with_namespace}.git"
    space = store.groups.get(p.namespace_id) if p.namespace_id is not None else None
    return {
        "id": p.id,
        "name": p.name,
        "description": None,
        "web_url": web,
        "avatar_url": None,
        "git_ssh_url": ssh,
        "git_http_url": f"{web}.git",
        "namespace": space.name if space else "",
        "visibility_level": {"private": 0, "internal": 10, "public": 20}.get(p.visibility, 0),
        "path_with_namespace": p.path_with_namespace,
        "default_branch": p.default_branch,
        "ci_config_path": None,
        "homepage": web,
        "url": ssh,
        "ssh_url": ssh,
        "http_url": f"{web}.git",
    }


def _label_data(store: Store, p: Project, name: str) -> dict[str, Any]:
    """Label#hook_attrs."""
    label = store.available_labels(p).get(name)
    own = label is not None and name in p.labels
    return {
        "id": label.id if label else None,
        "title": name,
        "color": label.color if label else None,
        "project_id": p.id if own else None,
        "created_at": None,
        "updated_at": None,
        "template": False,
        "description": label.description if label else None,
        "type": "ProjectLabel" if own else "GroupLabel",
        "group_id": None if own else p.namespace_id,
    }


# WorkItems::Type names, as object_attributes.type gives them (webhook_events.md)
_WORK_ITEM_TYPES = {
    "issue": "Issue",
    "task": "Task",
    "incident": "Incident",
    "test_case": "Test Case",
}


def issue_attributes(store: Store, p: Project, i: Issue) -> dict[str, Any]:
    """Gitlab::HookData::IssueBuilder#build."""
    return {
        "author_id": i.author_id,
        "closed_at": stamp(i.closed_at),
        "confidential": i.confidential,
        "created_at": stamp(i.created_at),
        "description": i.description,
        "discussion_locked": i.discussion_locked,
        "due_date": _day(i.due_date),
        "id": i.id,
        "iid": i.iid,
        "last_edited_at": None,
        "last_edited_by_id": None,
        "milestone_id": None,
        "moved_to_id": None,
        "duplicated_to_id": None,
        "project_id": p.id,
        "relative_position": None,
        "state_id": _STATE_IDS.get(i.state, 1),
        "time_estimate": 0,
        "title": i.title,
        "updated_at": stamp(i.updated_at),
        "updated_by_id": None,
        "type": _WORK_ITEM_TYPES.get(i.issue_type, i.issue_type.title()),
        "url": store.issue_url(p, i),
        "total_time_spent": 0,
        "time_change": 0,
        "human_total_time_spent": None,
        "human_time_change": None,
        "human_time_estimate": None,
        "assignee_ids": list(i.assignee_ids),
        "assignee_id": i.assignee_ids[0] if i.assignee_ids else None,
        "labels": [_label_data(store, p, n) for n in i.labels],
        "state": i.state,
        "severity": "unknown",
    }


def issue_data(
    store: Store, p: Project, i: Issue, user: User, before: dict[str, Any] | None
) -> dict[str, Any]:
    """Issue#to_hook_data: the issue opened (``before`` None) or changed from ``before``."""
    attributes = issue_attributes(store, p, i)
    attributes["action"] = _issue_action(before, i)
    if before is not None:
        attributes["updated_by_id"] = user.id
    # Gitlab::DataBuilder::Issuable: object_kind is the class's name; every work item type
    # but issues comes as a WorkItem (webhook_events.md, "Work item events")
    kind = "issue" if i.issue_type == "issue" else "work_item"
    data: dict[str, Any] = {
        "object_kind": kind,
        "event_type": f"confidential_{kind}" if i.confidential else kind,
        "user": user_data(store, user),
        "project": project_data(store, p),
        "object_attributes": attributes,
        "labels": list(attributes["labels"]),
        "changes": _issue_changes(store, p, i, user, before),
        "repository": _repository(store, p),
    }
    if i.assignee_ids:
        data["assignees"] = [user_data(store, store.users[a]) for a in i.assignee_ids]
    return data


def _issue_action(before: dict[str, Any] | None, i: Issue) -> str:
    """Issues::BaseService#execute_hooks' action: open, close, reopen or update."""
    if before is None:
        return "open"
    if before["state"] != i.state:
        return "close" if i.state == "closed" else "reopen"
    return "update"


def _issue_changes(
    store: Store, p: Project, i: Issue, user: User, before: dict[str, Any] | None
) -> dict[str, Any]:
    """``changes``: each safe attribute whose value differs from ``before`` (everything set,
    for a new issue: its previous values are nil)."""
    now = issue_state(i)
    was: dict[str, Any] = before or dict.fromkeys(now)
    values: dict[str, tuple[Any, Any]] = {
        key: (was[key], now[key])
        for key in ("title", "description", "confidential", "discussion_locked")
    }
    values["due_date"] = (_day(was["due_date"]), _day(i.due_date))
    values["closed_at"] = (stamp(was["closed_at"]), stamp(i.closed_at))
    values["updated_at"] = (stamp(was["updated_at"]), stamp(i.updated_at))
    values["state_id"] = (_STATE_IDS.get(was["state"] or ""), _STATE_IDS.get(i.state, 1))
    old_labels, new_labels = was["labels"] or [], now["labels"]
    if old_labels != new_labels:
        values["labels"] = (
            [_label_data(store, p, n) for n in old_labels],
            [_label_data(store, p, n) for n in new_labels],
        )
    old_people, new_people = was["assignee_ids"] or [], now["assignee_ids"]
    if old_people != new_people:
        values["assignees"] = (
            [user_data(store, store.users[a]) for a in old_people],
            [user_data(store, store.users[a]) for a in new_people],
        )
    changes = {
        k: {"previous": old, "current": new}
        for k, (old, new) in values.items()
        if old != new and not (before is None and new in (None, False, "", []))
    }
    if changes and before is not None:
        changes["updated_by_id"] = {"previous": None, "current": user.id}
    return {k: changes[k] for k in _ISSUE_CHANGES if k in changes}


def _day(value: Any) -> str | None:
    return value.isoformat() if value else None


def note_data(
    store: Store, p: Project, i: Issue, user: User, note_id: int, action: str = "create"
) -> dict[str, Any]:
    """Gitlab::DataBuilder::Note.build for a comment on an issue, created or edited."""
    note = store.note(i, note_id)
    confidential = i.confidential or note.internal
    return {
        "object_kind": "note",
        "event_type": "confidential_note" if confidential else "note",
        "user": user_data(store, user),
        "project_id": p.id,
        "project": project_data(store, p),
        "object_attributes": {
            "attachment": None,
            "author_id": note.author_id,
            "change_position": None,
            "commit_id": None,
            "created_at": stamp(note.created_at),
            "discussion_id": f"{note.id:040x}",
            "id": note.id,
            "line_code": None,
            "note": note.body,
            "noteable_id": i.id,
            "noteable_type": "Issue",
            "original_position": None,
            "position": None,
            "project_id": p.id,
            "resolved_at": None,
            "resolved_by_id": None,
            "resolved_by_push": None,
            "st_diff": None,
            "system": note.system,
            "type": None,
            "updated_at": stamp(note.updated_at),
            "updated_by_id": None,
            "description": note.body,
            "internal": note.internal,
            "confidential": note.internal,
            "url": f"{store.issue_url(p, i)}#note_{note.id}",
            "action": action,
        },
        "repository": _repository(store, p),
        "issue": {
            **issue_attributes(store, p, i),
            "labels": [_label_data(store, p, n) for n in i.labels],
        },
    }


def merge_request_data(
    store: Store, p: Project, m: MergeRequest, user: User, action: str
) -> dict[str, Any]:
    """Gitlab::DataBuilder::Issuable for a merge request (HookData::MergeRequestBuilder)."""
    url = f"{store.base_url}/{p.path_with_namespace}/-/merge_requests/{m.iid}"
    labels = [_label_data(store, p, n) for n in m.labels]
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": user_data(store, user),
        "project": project_data(store, p),
        "object_attributes": {
            "id": m.id,
            "iid": m.iid,
            "title": m.title,
            "description": m.description,
            "state": m.state,
            "author_id": m.author_id,
            "source_branch": m.source_branch,
            "target_branch": m.target_branch,
            "source_project_id": p.id,
            "target_project_id": p.id,
            "created_at": stamp(m.created_at),
            "updated_at": stamp(m.updated_at),
            "merge_commit_sha": m.merge_commit_sha,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "mergeable" if m.state == "opened" else "not_open",
            "last_commit": {"id": p.branches.get(m.source_branch)},
            "url": url,
            "labels": labels,
            "action": action,
        },
        "labels": labels,
        "changes": {},
        "repository": _repository(store, p),
    }


def _repository(store: Store, p: Project) -> dict[str, Any]:
    """The deprecated ``repository`` key: a slice of the project's hook attributes."""
    data = project_data(store, p)
    return {k: data[k] for k in ("name", "url", "description", "homepage")}
