"""Merge requests on the sandbox's repositories: open, diff, approve, merge.

Enough of merge_requests.md and merge_request_approvals.md for an "exceptions as code" flow:
a merge request's changes are computed from its branches (against their merge base, as
GitLab's merge request diff is), approvals record who approved, and merging lands the source
branch's changes on the target branch in a merge commit, refusing when both sides changed a
file differently.
"""

from __future__ import annotations

import difflib
import hashlib

from exception_bot.sandbox.store import ApiError, Commit, MergeRequest, Project, Store, User


def open_merge_request(
    store: Store,
    project: Project,
    author: User,
    source: str,
    target: str,
    title: str,
    description: str = "",
    labels: tuple[str, ...] = (),
) -> MergeRequest:
    """POST /projects/:id/merge_requests; 409 when one is already open for the branches."""
    if source not in project.branches or target not in project.branches:
        raise ApiError(404, "404 Branch Not Found")
    for other in project.merge_requests.values():
        if (other.source_branch, other.target_branch, other.state) == (source, target, "opened"):
            # merge_requests.md: one open merge request per source and target branch
            raise ApiError(
                409,
                f'["Another open merge request already exists for this source branch: '
                f'!{other.iid}"]',
            )
    now = store.now()
    iid = max(project.merge_requests, default=0) + 1
    made = MergeRequest(
        store.next_id(),
        iid,
        project.id,
        title,
        description,
        author.id,
        source,
        target,
        now,
        now,
        labels=list(labels),
    )
    project.merge_requests[iid] = made
    return made


def merge_base(store: Store, project: Project, one: str, other: str) -> Commit | None:
    """The newest commit both branch heads descend from (first parents and merged parents)."""
    seen = set(_ancestors(project, project.branches.get(other)))
    for sha in _ancestors(project, project.branches.get(one)):
        if sha in seen:
            return project.commits[sha]
    return None


def _ancestors(project: Project, sha: str | None) -> list[str]:
    found: list[str] = []
    queue = [sha] if sha else []
    while queue:
        current = queue.pop(0)
        if current in found or current not in project.commits:
            continue
        found.append(current)
        commit = project.commits[current]
        queue += [p for p in (commit.parent_id, commit.merged_parent_id) if p]
    return found


def changes(store: Store, project: Project, mr: MergeRequest) -> list[dict[str, object]]:
    """The merge request's diffs: a seed's fixed list, or its branches against their base."""
    if mr.changes or mr.source_branch not in project.branches:
        return mr.changes
    base = merge_base(store, project, mr.source_branch, mr.target_branch)
    head = project.commits[project.branches[mr.source_branch]]
    before = base.tree if base else {}
    paths = sorted(p for p in {*before, *head.tree} if before.get(p) != head.tree.get(p))
    return [_diff(path, before.get(path), head.tree.get(path)) for path in paths]


def _diff(path: str, old: str | None, new: str | None) -> dict[str, object]:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True), n=3
    )
    body = "".join(line for line in lines if not line.startswith(("---", "+++")))
    return {
        "old_path": path,
        "new_path": path,
        "a_mode": "100644" if old is not None else "0",
        "b_mode": "100644" if new is not None else "0",
        "new_file": old is None,
        "renamed_file": False,
        "deleted_file": new is None,
        "diff": body,
    }


def approve(store: Store, mr: MergeRequest, user: User) -> None:
    """POST .../approve: 401 when the user has approved already (merge_request_approvals.md)."""
    if user.id in mr.approved_by:
        raise ApiError(401, "401 Unauthorized")
    mr.approved_by.append(user.id)
    mr.approved_at[user.id] = store.now()


def unapprove(mr: MergeRequest, user: User) -> None:
    if user.id not in mr.approved_by:
        raise ApiError(404, "404 Not found")
    mr.approved_by.remove(user.id)


def related(project: Project, mr: MergeRequest, sha: str) -> bool:
    """Whether GitLab relates the commit to the merge request (``by_related_commit_sha`` in
    app/models/merge_request.rb: one of its commits, or its merge commit)."""
    if sha == mr.merge_commit_sha:
        return True
    if mr.merge_commit_sha is not None:  # its commits: those the merge brought in
        merged = project.commits[mr.merge_commit_sha]
        ours = _ancestors(project, merged.merged_parent_id)
        return sha in ours and sha not in _ancestors(project, merged.parent_id)
    if mr.source_branch not in project.branches:
        return False
    ours = _ancestors(project, project.branches[mr.source_branch])
    return sha in ours and sha not in _ancestors(project, project.branches.get(mr.target_branch))


def merge(store: Store, project: Project, mr: MergeRequest, user: User) -> Commit:
    """PUT .../merge: a merge commit on the target branch. 405 unless open; 406 on a conflict,
    as merge_requests.md documents ("Branch cannot be merged")."""
    if mr.state != "opened":
        raise ApiError(405, "405 Method Not Allowed")
    base = merge_base(store, project, mr.source_branch, mr.target_branch)
    source = project.commits[project.branches[mr.source_branch]]
    target = project.commits[project.branches[mr.target_branch]]
    before = base.tree if base else {}
    tree = dict(target.tree)
    changed: set[str] = set()
    for path in {*before, *source.tree}:
        theirs, ours, old = source.tree.get(path), target.tree.get(path), before.get(path)
        if theirs in (old, ours):
            continue
        if ours != old:
            raise ApiError(406, "Branch cannot be merged")
        changed.add(path)
        if theirs is None:
            tree.pop(path, None)
        else:
            tree[path] = theirs
    message = f"Merge branch '{mr.source_branch}' into '{mr.target_branch}'\n\n{mr.title}"
    sha = hashlib.sha1(  # noqa: S324 - an id, as git's, not security
        f"{target.id}{source.id}{store.next_id()}".encode()
    ).hexdigest()
    made = Commit(sha, target.id, message, user, store.now(), tree, frozenset(changed), source.id)
    project.commits[sha] = made
    project.branches[mr.target_branch] = sha
    mr.state, mr.merged_by_id, mr.merged_at = "merged", user.id, made.created_at
    mr.merge_commit_sha = sha
    mr.updated_at = made.created_at
    return made
