"""GitLab's JSON for sandbox objects, field names as in GitLab's API docs (``doc/api/*.md``)."""

from __future__ import annotations

import base64
import difflib
import hashlib
from datetime import UTC, datetime
from typing import Any

from exception_bot.sandbox import access, merge_requests
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
    Signature,
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
    """GET /user (users.md, "List current user"): UserPublic, profile fields at GitLab's
    defaults for a user who never filled them in."""
    email = f"{u.username}@example.com"
    created = stamp(u.created_at)
    return {
        **user(store, u),
        "created_at": created,
        "is_admin": u.admin,
        "email": email,
        # lib/api/entities/user_public.rb: commit_email_or_default, the committer of API commits
        "commit_email": email,
        "public_email": None,
        **_PROFILE,
        "last_sign_in_at": created,
        "confirmed_at": created,
        "current_sign_in_at": created,
        "last_activity_on": u.created_at.date().isoformat() if u.created_at else None,
    }


# A new user's profile and preferences as GitLab sets them (users.md: bio "" from 13.2;
# theme 1 and colour scheme 1 are the application's defaults).
_PROFILE: dict[str, Any] = {
    "bio": "",
    "bio_html": "",
    "location": None,
    "skype": "",
    "linkedin": "",
    "twitter": "",
    "website_url": "",
    "organization": "",
    "job_title": "",
    "theme_id": 1,
    "color_scheme_id": 1,
    "projects_limit": 100000,
    "identities": [],
    "can_create_group": True,
    "can_create_project": True,
    "two_factor_enabled": False,
    "external": False,
    "private_profile": False,
}


def member(store: Store, u: User, level: int) -> dict[str, Any]:
    """lib/api/entities/member.rb; ``created_by`` is left out when nobody added the member
    (``expose_nil: false``), as for the sandbox's seeded members."""
    return {
        **user(store, u),
        "access_level": level,
        "created_at": stamp(u.created_at),
        "expires_at": None,
    }


def group(store: Store, g: Group, viewer: User | None = None) -> dict[str, Any]:
    """GET /groups/:id (groups.md, "Details of a group"): with its projects, those ``viewer``
    may see (``with_projects`` defaults to true)."""
    mine = [
        p
        for p in store.projects.values()
        if p.namespace_id == g.id and (viewer is None or access.reads_project(store, p, viewer))
    ]
    return {
        **namespace(store, g),
        "description": "",
        "visibility": g.visibility,
        "avatar_url": None,
        "request_access_enabled": True,
        "full_name": g.full_path.replace("/", " / "),
        "parent_id": g.parent_id,
        "projects": [project(store, p) for p in mine],
        "shared_projects": [],
    }


def namespace(store: Store, g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "path": g.full_path.rsplit("/", 1)[-1],
        "full_path": g.full_path,
        "web_url": f"{store.base_url}/groups/{g.full_path}",
    }


def project(store: Store, p: Project, viewer: User | None = None) -> dict[str, Any]:
    """GET /projects/:id (projects.md, "Get single project"): what the sandbox models, the
    rest at GitLab's defaults for a new project; ``permissions`` for ``viewer``."""
    url = f"{store.base_url}/{p.path_with_namespace}"
    api = f"{store.base_url}/api/v4/projects/{p.id}"
    first = min((c.created_at for c in p.commits.values()), default=store.now())
    space = store.groups.get(p.namespace_id) if p.namespace_id is not None else None
    head = store.head(p, None)
    data: dict[str, Any] = {
        "id": p.id,
        "description": None,
        "name": p.name,
        "path": p.path_with_namespace.rsplit("/", 1)[-1],
        "path_with_namespace": p.path_with_namespace,
        "name_with_namespace": p.path_with_namespace.replace("/", " / "),
        "default_branch": p.default_branch,
        "web_url": url,
        "ssh_url_to_repo": f"git@{store.base_url.split('://', 1)[-1]}:{p.path_with_namespace}.git",
        "http_url_to_repo": f"{url}.git",
        "readme_url": f"{url}/-/blob/{p.default_branch}/README.md"
        if head and "README.md" in head.tree
        else None,
        "namespace": {**namespace(store, space), "kind": "group", "avatar_url": None}
        if space
        else {"id": p.namespace_id},
        "visibility": p.visibility,
        "created_at": stamp(first),
        "last_activity_at": stamp(first),
        "creator_id": next((u.id for u in store.users.values() if u.admin), None),
        "open_issues_count": sum(1 for i in p.issues.values() if i.state == "opened"),
        "can_create_merge_request_in": viewer is not None
        and access.opens_merge_requests(store, p, viewer),
        "shared_with_groups": [],
        "permissions": _permissions(store, p, viewer),
        "_links": {
            "self": api,
            "issues": f"{api}/issues",
            "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches",
            "labels": f"{api}/labels",
            "events": f"{api}/events",
            "members": f"{api}/members",
        },
    }
    return {**data, **_PROJECT_SETTINGS}


def _permissions(store: Store, p: Project, viewer: User | None) -> dict[str, Any]:
    """ProjectWithAccess: the viewer's direct access and the best of its groups', or null."""
    if viewer is None:
        return {"project_access": None, "group_access": None}
    direct = p.members.get(viewer.id)
    inherited = store.members_all({}, p.namespace_id).get(viewer.id)
    return {
        "project_access": {"access_level": direct, "notification_level": 3} if direct else None,
        "group_access": {"access_level": inherited, "notification_level": 3} if inherited else None,
    }


# A new project's settings as GitLab creates it (projects.md, "Create project"): the sandbox
# models none of them, and the bot reads none.
_PROJECT_SETTINGS: dict[str, Any] = {
    "tag_list": [],
    "topics": [],
    "issues_enabled": True,
    "merge_requests_enabled": True,
    "jobs_enabled": True,
    "wiki_enabled": True,
    "snippets_enabled": True,
    "resolve_outdated_diff_discussions": False,
    "container_registry_enabled": True,
    "container_expiration_policy": {
        "cadence": "1d",
        "enabled": False,
        "keep_n": 10,
        "older_than": "90d",
        "name_regex": ".*",
        "name_regex_delete": ".*",
        "name_regex_keep": None,
        "next_run_at": None,
    },
    "import_status": "none",
    "import_error": None,
    "archived": False,
    "avatar_url": None,
    "shared_runners_enabled": True,
    "forks_count": 0,
    "star_count": 0,
    "ci_default_git_depth": 20,
    "public_jobs": True,
    "only_allow_merge_if_pipeline_succeeds": False,
    "allow_merge_on_skipped_pipeline": None,
    "only_allow_merge_if_all_discussions_are_resolved": False,
    "remove_source_branch_after_merge": True,
    "printing_merge_requests_link_enabled": True,
    "request_access_enabled": True,
    "merge_method": "merge",
    "auto_devops_enabled": False,
    "auto_devops_deploy_strategy": "continuous",
    "approvals_before_merge": 0,
    "mirror": False,
    "mirror_user_id": None,
    "mirror_trigger_builds": False,
    "only_mirror_protected_branches": None,
    "mirror_overwrites_diverged_branches": None,
    "external_authorization_classification_label": "",
    "packages_enabled": True,
    "service_desk_enabled": False,
    "service_desk_address": None,
    "autoclose_referenced_issues": True,
    "suggestion_commit_message": None,
    "marked_for_deletion_at": None,
    "marked_for_deletion_on": None,
    "compliance_frameworks": [],
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
    email = f"{c.author.username}@example.com"
    # A pushed commit says what its pusher wrote; one GitLab made names its user.
    sign = c.signature or Signature(c.author.name, email, c.author.name, email)
    return {
        "id": c.id,
        "short_id": c.id[:8],
        "title": title,
        "message": c.message,
        "author_name": sign.author_name,
        "author_email": sign.author_email,
        "authored_date": stamp(c.created_at),
        "committer_name": sign.committer_name,
        "committer_email": sign.committer_email,
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
    """merge_requests.md: the merge request entity; what the sandbox does not model (votes,
    milestones, pipelines, assignees) as GitLab answers for a merge request without them."""
    found = tasks(m.description)
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
        "assignee": None,
        "reviewers": [],
        "source_project_id": p.id,
        "target_project_id": p.id,
        "upvotes": 0,
        "downvotes": 0,
        "work_in_progress": m.title.lower().startswith(("draft:", "[draft]", "(draft)")),
        "milestone": None,
        "merge_when_pipeline_succeeds": False,
        "merge_error": None,
        "user_notes_count": 0,
        "discussion_locked": None,
        "should_remove_source_branch": None,
        "force_remove_source_branch": False,
        "allow_collaboration": False,
        "allow_maintainer_to_push": False,
        "squash": False,
        "subscribed": False,
        "time_stats": {
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": None,
            "human_total_time_spent": None,
        },
        "task_completion_status": {
            "count": len(found),
            "completed_count": sum(t.complete for t in found),
        },
        "closed_by": None,
        "closed_at": None,
        "latest_build_started_at": None,
        "latest_build_finished_at": None,
        "first_deployed_to_production_at": None,
        "pipeline": None,
    }


def merge_request_detail(store: Store, p: Project, m: MergeRequest) -> dict[str, Any]:
    """GET .../merge_requests/:iid: the entity, with its diff's refs and size."""
    diffs = merge_requests.changes(store, p, m)
    base = merge_requests.merge_base(store, p, m.source_branch, m.target_branch)
    head = p.branches.get(m.source_branch)
    return {
        **merge_request(store, p, m),
        "changes_count": str(len(diffs)),
        "diff_refs": {
            "base_sha": base.id if base else None,
            "head_sha": head,
            "start_sha": p.branches.get(m.target_branch),
        },
    }


def approvals(store: Store, p: Project, m: MergeRequest, viewer: User) -> dict[str, Any]:
    """merge_request_approvals.md, Free tier: who approved; nothing is required."""
    return {
        "id": m.id,
        "iid": m.iid,
        "project_id": p.id,
        "title": m.title,
        "description": m.description,
        "state": m.state,
        "created_at": stamp(m.created_at),
        "updated_at": stamp(m.updated_at),
        "merge_status": "can_be_merged",
        "approved": bool(m.approved_by),
        "approvals_required": 0,
        "approvals_left": 0,
        # lib/api/entities/approvals.rb: each approval's user and its created_at as approved_at
        "approved_by": [
            {"user": user(store, store.users[u]), "approved_at": stamp(m.approved_at.get(u))}
            for u in m.approved_by
        ],
        "user_has_approved": viewer.id in m.approved_by,
        # eligible_for_approval_by?: not yet approved, and approve_merge_request
        "user_can_approve": viewer.id not in m.approved_by
        and access.updates_merge_request(store, p, m, viewer),
    }
