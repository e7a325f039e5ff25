"""GitLab's JSON for sandbox objects, field names as in GitLab's API docs (``doc/api/*.md``)."""

from __future__ import annotations

import base64
import difflib
import hashlib
from datetime import UTC, datetime
from typing import Any

from exception_bot.sandbox.store import (
    Commit,
    Group,
    Issue,
    IssueLink,
    Label,
    LabelEvent,
    MergeRequest,
    Note,
    Project,
    StateEvent,
    Store,
    User,
)
from exception_bot.sandbox.taskable import tasks


def stamp(moment: datetime | None) -> str | None:
    """GitLab's timestamps: UTC with milliseconds, ``2026-11-22T12:00:00.000Z``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def user(store: Store, u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "state": u.state,
        "locked": False,
        "avatar_url": None,
        "web_url": f"{store.base_url}/{u.username}",
    }


def current_user(store: Store, u: User) -> dict[str, Any]:
    email = f"{u.username}@example.com"
    # lib/api/entities/user_public.rb: commit_email_or_default, the committer of API commits
    return {**user(store, u), "is_admin": u.admin, "email": email, "commit_email": email}


def member(store: Store, u: User, level: int) -> dict[str, Any]:
    return {**user(store, u), "access_level": level, "expires_at": None}


def group(store: Store, g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "path": g.full_path.rsplit("/", 1)[-1],
        "full_path": g.full_path,
        "full_name": g.full_path.replace("/", " / "),
        "parent_id": g.parent_id,
        "web_url": f"{store.base_url}/groups/{g.full_path}",
        "visibility": "private",
    }


def project(store: Store, p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "path": p.path_with_namespace.rsplit("/", 1)[-1],
        "path_with_namespace": p.path_with_namespace,
        "name_with_namespace": p.path_with_namespace.replace("/", " / "),
        "default_branch": p.default_branch,
        "web_url": f"{store.base_url}/{p.path_with_namespace}",
        "namespace": {"id": p.namespace_id},
        "visibility": p.visibility,
        "issues_enabled": True,
    }


def label(lb: Label, is_project_label: bool = True) -> dict[str, Any]:
    return {
        "id": lb.id,
        "name": lb.name,
        "color": lb.color,
        "text_color": "#FFFFFF",
        "description": lb.description,
        "description_html": lb.description or "",
        "open_issues_count": 0,
        "closed_issues_count": 0,
        "open_merge_requests_count": 0,
        "subscribed": False,
        "priority": None,
        "is_project_label": is_project_label,
        "archived": False,
    }


def issue(store: Store, p: Project, i: Issue, label_objects: bool = False) -> dict[str, Any]:
    author = store.users[i.author_id]
    assignees = [user(store, store.users[a]) for a in i.assignee_ids]
    found = tasks(i.description)
    done = sum(t.complete for t in found)
    url = store.issue_url(p, i)
    api = f"{store.base_url}/api/v4/projects/{p.id}/issues/{i.iid}"
    return {
        "id": i.id,
        "iid": i.iid,
        "project_id": p.id,
        "title": i.title,
        "description": i.description or None,  # issues.md: null when there is none
        "state": i.state,
        "created_at": stamp(i.created_at),
        "updated_at": stamp(i.updated_at),
        "closed_at": stamp(i.closed_at),
        "closed_by": user(store, store.users[i.closed_by_id]) if i.closed_by_id else None,
        "labels": [label_details(store, p, n) for n in i.labels]
        if label_objects
        else list(i.labels),
        "milestone": None,
        "assignees": assignees,
        "assignee": assignees[0] if assignees else None,
        "author": user(store, author),
        "type": i.issue_type.upper(),
        "issue_type": i.issue_type,
        "user_notes_count": sum(1 for n in i.notes if not n.system),
        "merge_requests_count": 0,
        "upvotes": 0,
        "downvotes": 0,
        "due_date": i.due_date.isoformat() if i.due_date else None,
        "confidential": i.confidential,
        "discussion_locked": i.discussion_locked,
        "web_url": url,
        "references": {
            "short": f"#{i.iid}",
            "relative": f"#{i.iid}",
            "full": f"{p.path_with_namespace}#{i.iid}",
        },
        "time_stats": {
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": None,
            "human_total_time_spent": None,
        },
        "has_tasks": bool(found),
        "task_status": _task_status(i.description, done, len(found)),
        "task_completion_status": {
            "count": len(found),
            "completed_count": done,
        },
        "_links": {
            "self": api,
            "notes": f"{api}/notes",
            "award_emoji": f"{api}/award_emoji",
            "project": f"{store.base_url}/api/v4/projects/{p.id}",
            "closed_as_duplicate_of": None,
        },
        "subscribed": False,
        "moved_to_id": None,
        "service_desk_reply_to": None,
        "severity": "UNKNOWN",
        "imported": False,
        "imported_from": "none",
    }


def _task_status(description: str, done: int, count: int) -> str:
    """Taskable#task_status: '' without a description, else "1 of 2 checklist items completed"
    (n_ makes it "checklist item" for one)."""
    if not description.strip():
        return ""
    noun = "checklist item" if count == 1 else "checklist items"
    return f"{done} of {count} {noun} completed"


def note(store: Store, p: Project, i: Issue, n: Note) -> dict[str, Any]:
    return {
        "id": n.id,
        "type": None,
        "body": n.body,
        "attachment": None,
        "author": user(store, store.users[n.author_id]),
        "created_at": stamp(n.created_at),
        "updated_at": stamp(n.updated_at),
        "system": n.system,
        "noteable_id": i.id,
        "noteable_type": "Issue",
        "noteable_iid": i.iid,
        "project_id": p.id,
        "resolvable": False,
        "confidential": n.internal,
        "internal": n.internal,
        "imported": False,
        "imported_from": "none",
        "commands_changes": {},
    }


def label_event(store: Store, i: Issue, e: LabelEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "user": user(store, store.users[e.user_id]),
        "created_at": stamp(e.created_at),
        "resource_type": "Issue",
        "resource_id": i.id,
        "label": {
            "id": e.label.id,
            "name": e.label.name,
            "color": e.label.color,
            "description": e.label.description,
        },
        "action": e.action,
    }


def state_event(store: Store, i: Issue, e: StateEvent) -> dict[str, Any]:
    """resource_state_events.md: who closed or reopened the issue, and when."""
    return {
        "id": e.id,
        "user": user(store, store.users[e.user_id]),
        "created_at": stamp(e.created_at),
        "resource_type": "Issue",
        "resource_id": i.id,
        "state": e.state,
    }


def label_details(store: Store, p: Project, name: str) -> dict[str, Any]:
    """An issue's label with ``with_labels_details=true`` (issues.md)."""
    found = store.available_labels(p).get(name)
    return {
        "id": found.id if found else None,
        "name": name,
        "color": found.color if found else None,
        "description": found.description if found else None,
        "description_html": (found.description or "") if found else "",
        "text_color": "#FFFFFF",
    }


def linked_issue(store: Store, link: IssueLink, other: Issue) -> dict[str, Any]:
    data = issue(store, store.projects[other.project_id], other)
    return {
        **data,
        "issue_link_id": link.id,
        "link_type": link.link_type,
        "link_created_at": stamp(link.created_at),
        "link_updated_at": stamp(link.created_at),
    }


def commit(store: Store, p: Project, c: Commit) -> dict[str, Any]:
    title = c.message.split("\n", 1)[0]
    return {
        "id": c.id,
        "short_id": c.id[:8],
        "title": title,
        "message": c.message,
        "author_name": c.author.name,
        "author_email": f"{c.author.username}@example.com",
        "authored_date": stamp(c.created_at),
        "committer_name": c.author.name,
        "committer_email": f"{c.author.username}@example.com",
        "committed_date": stamp(c.created_at),
        "created_at": stamp(c.created_at),
        "parent_ids": [p for p in (c.parent_id, c.merged_parent_id) if p],
        "web_url": f"{store.base_url}/{p.path_with_namespace}/-/commit/{c.id}",
        "trailers": {},
        "extended_trailers": {},
    }


def commit_detail(store: Store, p: Project, c: Commit) -> dict[str, Any]:
    """Entities::CommitDetail, which creating a commit and getting one answer (commits.md)."""
    parent = p.commits.get(c.parent_id) if c.parent_id else None
    added = deleted = 0
    for path in c.changed:
        old = (parent.tree.get(path, "") if parent else "").splitlines()
        new = c.tree.get(path, "").splitlines()
        for line in difflib.ndiff(old, new):
            added += line.startswith("+ ")
            deleted += line.startswith("- ")
    return {
        **commit(store, p, c),
        "stats": {"additions": added, "deletions": deleted, "total": added + deleted},
        "status": None,
        "project_id": p.id,
        "last_pipeline": None,
    }


def blob_id(content: str) -> str:
    data = content.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id


def file(path: str, ref: str, content: str, head: Commit, last: Commit) -> dict[str, Any]:
    data = content.encode()
    return {
        "file_name": path.rsplit("/", 1)[-1],
        "file_path": path,
        "size": len(data),
        "encoding": "base64",
        "content": base64.b64encode(data).decode(),
        "content_sha256": hashlib.sha256(data).hexdigest(),
        "ref": ref,
        "blob_id": blob_id(content),
        "commit_id": head.id,
        "last_commit_id": last.id,
        "execute_filemode": False,
    }


def merge_request(store: Store, p: Project, m: MergeRequest) -> dict[str, Any]:
    return {
        "id": m.id,
        "iid": m.iid,
        "project_id": p.id,
        "title": m.title,
        "description": m.description,
        "state": m.state,
        "created_at": stamp(m.created_at),
        "updated_at": stamp(m.updated_at),
        "source_branch": m.source_branch,
        "target_branch": m.target_branch,
        "author": user(store, store.users[m.author_id]),
        "labels": list(m.labels),
        "web_url": f"{store.base_url}/{p.path_with_namespace}/-/merge_requests/{m.iid}",
        "references": {
            "short": f"!{m.iid}",
            "relative": f"!{m.iid}",
            "full": f"{p.path_with_namespace}!{m.iid}",
        },
        "sha": p.branches.get(m.source_branch),
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable" if m.state == "opened" else "not_open",
        "draft": m.title.lower().startswith(("draft:", "[draft]", "(draft)")),
        "merged_by": user(store, store.users[m.merged_by_id]) if m.merged_by_id else None,
        "merged_at": stamp(m.merged_at),
        "merge_commit_sha": m.merge_commit_sha,
        "squash_commit_sha": None,
        "assignees": [],
        "reviewers": [],
    }


def approvals(store: Store, p: Project, m: MergeRequest, viewer: User) -> dict[str, Any]:
    """merge_request_approvals.md, Free tier: who approved; nothing is required."""
    return {
        "id": m.id,
        "iid": m.iid,
        "project_id": p.id,
        "title": m.title,
        "state": m.state,
        "approved": bool(m.approved_by),
        "approvals_required": 0,
        "approvals_left": 0,
        # lib/api/entities/approvals.rb: each approval's user and its created_at as approved_at
        "approved_by": [
            {"user": user(store, store.users[u]), "approved_at": stamp(m.approved_at.get(u))}
            for u in m.approved_by
        ],
        "user_has_approved": viewer.id in m.approved_by,
        "user_can_approve": viewer.id not in m.approved_by,
    }
