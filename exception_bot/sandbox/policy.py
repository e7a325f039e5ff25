"""Who may read, change and label an issue, as GitLab's policies decide.

Read from gitlabhq:

- app/policies/project_policy.rb: Guests (and, in an internal or public project, anyone signed
  in) may read and open issues; ``update_issue`` and ``admin_issue`` come with Reporter
  (``planner_access`` too from 17.7).
- app/policies/issuable_policy.rb: the author and the assignees may read and update their issue
  whatever their role.
- app/policies/issue_policy.rb: a confidential issue is hidden from everyone else unless they
  may read confidential issues (app/models/issue_collection.rb ``visible_to``: Reporter of the
  project, or author or assignee), and GitLab answers 404 as for an issue that does not exist.
  ``set_issue_metadata`` (labels, assignees, due date, lock) is for any project member while the
  issue is being created, and for ``admin_issue`` (Reporter, Planner) once it exists;
  ``set_confidentiality`` comes with ``set_issue_metadata``, or with ``create_issue`` on a new
  issue.
- app/services/issuable_base_service.rb ``filter_params``: metadata the user may not set is
  dropped without an error; ``filter_assignees_using_checks`` drops assignees who cannot read
  the project's issues (silently, and the request answers 200).
- app/services/issuable/callbacks/labels.rb: label parameters need ``set_issue_metadata``;
  the quick actions' conditions (lib/gitlab/quick_actions/issuable_actions.rb: ``/label``
  checks ``set_issue_metadata``; ``/close``, ``/title`` check ``update_issue``) say the same.

Admins may do everything. Blocked users never get this far (their token is refused).
The store applies :func:`allowed` to every change; the routes answer 404 or 403 with
:func:`reads` and :func:`updates`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store applies this module's rules: no import of it at run time
    from exception_bot.sandbox.store import Issue, Project, Store, User

# Gitlab::Access: GUEST 10; PLANNER (17.7) 15, the lowest role that reads confidential issues
# and manages them (before 17.7 that was Reporter, 20, and no member had 15).
GUEST, PLANNER = 10, 15
VISIBILITIES = ("private", "internal", "public")
# filter_params and the labels callback: dropped unless the user may set metadata
METADATA = (
    "labels",
    "add_labels",
    "remove_labels",
    "assignee_ids",
    "due_date",
    "discussion_locked",
)
# what a quick action in a note changes only for those who may update the issue
UPDATES = ("title", "description", "state_event")


def level(store: Store, project: Project, user: User) -> int:
    """The user's access level in the project (members/all: inherited and shared included)."""
    return store.project_members_all(project).get(user.id, 0)


def reads_issues(store: Store, project: Project, user: User) -> bool:
    """``read_issue`` on the project: a member, or anyone when the project is not private."""
    return user.admin or project.visibility != "private" or level(store, project, user) >= GUEST


def reads(store: Store, project: Project, issue: Issue, user: User) -> bool:
    if not reads_issues(store, project, user):
        return False
    return not issue.confidential or _manages(store, project, user) or _own(issue, user)


def updates(store: Store, project: Project, issue: Issue, user: User) -> bool:
    return reads(store, project, issue, user) and (
        _manages(store, project, user) or _own(issue, user)
    )


def sets_metadata(store: Store, project: Project, user: User, *, created: bool) -> bool:
    """``set_issue_metadata``: any member on a new issue, Reporter (Planner) on an existing one."""
    if user.admin:
        return True
    if created:
        return level(store, project, user) >= GUEST
    return _manages(store, project, user)


def allowed(
    store: Store,
    project: Project,
    issue: Issue,
    user: User,
    changes: dict[str, object],
    *,
    created: bool,
) -> dict[str, object]:
    """``changes`` (the request's parameters with its quick actions' merged in) without what
    ``user`` may not change: GitLab drops those silently."""
    kept = dict(changes)
    if not sets_metadata(store, project, user, created=created):
        for key in METADATA:
            kept.pop(key, None)
        if not created:  # set_confidentiality: create_issue is enough on a new issue
            kept.pop("confidential", None)
    if not created and not updates(store, project, issue, user):
        for key in UPDATES:
            kept.pop(key, None)
    if kept.get("assignee_ids"):
        assignees = [i for i in _ids(kept["assignee_ids"]) if _may_be_assigned(store, project, i)]
        if assignees:
            kept["assignee_ids"] = assignees
        else:
            kept.pop("assignee_ids")
    return kept


def _may_be_assigned(store: Store, project: Project, user_id: int) -> bool:
    # user_can_read?: read_issue on the issue's project (resource_parent), not on the issue
    user = store.users.get(user_id)
    return user is not None and reads_issues(store, project, user)


def _manages(store: Store, project: Project, user: User) -> bool:
    return user.admin or level(store, project, user) >= PLANNER


def _own(issue: Issue, user: User) -> bool:
    return user.id == issue.author_id or user.id in issue.assignee_ids


def _ids(value: object) -> list[int]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [int(str(i)) for i in items if str(i).strip().isdigit()]
