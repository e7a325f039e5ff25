"""What a user may do with a project, its repository, merge requests, labels and members, and
with a group, as GitLab's policies decide (issues and notes are in :mod:`policy`).

Read from gitlabhq:

- app/policies/project_policy.rb: ``guest_access`` brings ``read_project``, ``read_label``
  and ``read_project_member``; ``reporter_access`` brings ``download_code`` (files, tree,
  commits, branches), ``read_merge_request`` and ``admin_label`` (``planner_access`` too from
  17.7); ``developer_access`` brings ``push_code``, ``update_merge_request`` and
  ``create_merge_request_from``. In an internal project every signed-in user, and in a public
  one everyone, has ``public_access``: read the project, its labels, members, code and merge
  requests, but write nothing. Merge requests are prevented without ``download_code``.
- app/policies/merge_request_policy.rb: ``approve_merge_request`` comes with
  ``update_merge_request``, which app/policies/issuable_policy.rb also gives the author and
  the assignees who may read the merge request; ``accept_merge_request`` is
  ``can_be_merged_by?``: may merge into the target branch.
- lib/gitlab/user_access.rb ``can_push_to_branch?`` and ``can_merge_to_branch?``: a
  protected branch takes its own push and merge access levels, others need ``push_code``.
  GitLab protects a project's default branch when it creates it (application setting
  ``default_branch_protection``, "fully protected" by default: Maintainers push and merge).
- app/policies/group_policy.rb: ``read_group`` (and with it ``read_group_member`` and
  ``read_label``) is for the group's members (inherited ones included), admins and users who
  may see a project in it or its subgroups (``has_projects``).

The routes answer as lib/api does: 404 for a project or group the user may not read
(``find_project!``, ``find_group!``), 403 for an ability missing on one they can
(``authorize!``), 401 for a merge the user may not do (lib/api/merge_requests.rb).
"""

from __future__ import annotations

from exception_bot.sandbox.store import ApiError, Group, MergeRequest, Project, Store, User

# Gitlab::Access
GUEST, PLANNER, REPORTER, DEVELOPER, MAINTAINER = 10, 15, 20, 30, 40


def level(store: Store, project: Project, user: User) -> int:
    """The user's access level in the project (members/all: inherited and shared included)."""
    return store.project_members_all(project).get(user.id, 0)


def _public(project: Project) -> bool:
    """``public_access``: an internal project for every signed-in user (the sandbox has no
    external users and no anonymous requests), a public one for everyone."""
    return project.visibility != "private"


def _at_least(store: Store, project: Project, user: User, wanted: int) -> bool:
    return user.admin or level(store, project, user) >= wanted


def reads_project(store: Store, project: Project, user: User) -> bool:
    """``read_project``, and with it ``read_label`` and ``read_project_member``."""
    return _public(project) or _at_least(store, project, user, GUEST)


def admins_labels(store: Store, project: Project, user: User) -> bool:
    """``admin_label``: create and update labels (Planner from 17.7, Reporter before)."""
    return _at_least(store, project, user, PLANNER)


def downloads_code(store: Store, project: Project, user: User) -> bool:
    """``download_code``: read files, the tree, commits and branches. Not for Guests of a
    private project."""
    return _public(project) or _at_least(store, project, user, REPORTER)


def pushes_code(store: Store, project: Project, user: User) -> bool:
    """``push_code``: create branches; commit to a branch that is not protected."""
    return _at_least(store, project, user, DEVELOPER)


def protected(project: Project, branch: str) -> bool:
    return branch == project.default_branch


def pushes_to(store: Store, project: Project, user: User, branch: str) -> bool:
    """``can_push_to_branch?``: Maintainers on the protected default branch."""
    if protected(project, branch):
        return _at_least(store, project, user, MAINTAINER)
    return pushes_code(store, project, user)


def merges_to(store: Store, project: Project, user: User, branch: str) -> bool:
    """``can_merge_to_branch?``: the protected default branch's merge access is Maintainers."""
    return pushes_to(store, project, user, branch)


def reads_merge_requests(store: Store, project: Project, user: User) -> bool:
    """``read_merge_request``: Reporter, or anyone with ``public_access``."""
    return downloads_code(store, project, user)


def opens_merge_requests(store: Store, project: Project, user: User) -> bool:
    """``create_merge_request_from`` (Developer) a branch of this project into it."""
    return reads_merge_requests(store, project, user) and pushes_code(store, project, user)


def updates_merge_request(store: Store, project: Project, mr: MergeRequest, user: User) -> bool:
    """``update_merge_request``, and so ``approve_merge_request``: Developers, and the author
    who may read it."""
    return reads_merge_requests(store, project, user) and (
        pushes_code(store, project, user) or user.id == mr.author_id
    )


def reads_group(store: Store, group: Group, user: User) -> bool:
    """``read_group``: a member (or one of an ancestor's), an admin, or one who may read a
    project of the group or of its subgroups; an internal or public group (``public_access``,
    the sandbox has no external users) every signed-in user."""
    if user.admin or group.visibility != "private" or user.id in store.group_members_all(group):
        return True
    prefix = group.full_path.lower() + "/"
    return any(
        p.path_with_namespace.lower().startswith(prefix) and reads_project(store, p, user)
        for p in store.projects.values()
    )


def project(store: Store, ident: str, user: User) -> Project:
    """The project, when ``user`` may read it; else 404 as for a missing one (lib/api/
    helpers.rb ``find_project!``)."""
    found = store.must_project(ident)
    if not reads_project(store, found, user):
        raise ApiError(404, "404 Project Not Found")
    return found


def group(store: Store, ident: str, user: User) -> Group:
    """The group, when ``user`` may read it; else 404 (``find_group!``)."""
    found = store.must_group(ident)
    if not reads_group(store, found, user):
        raise ApiError(404, "404 Group Not Found")
    return found


def require(allowed: bool, reason: str = "") -> None:
    """``authorize!`` and ``forbidden!(reason)`` (lib/api/helpers.rb): 403, the reason after
    the status when there is one."""
    if not allowed:
        raise ApiError(403, f"403 Forbidden - {reason}" if reason else "403 Forbidden")


def admins_group_labels(store: Store, group: Group, user: User) -> bool:
    """GroupPolicy ``admin_label``: Reporter of the group (Planner from 17.7)."""
    return user.admin or store.group_members_all(group).get(user.id, 0) >= PLANNER
