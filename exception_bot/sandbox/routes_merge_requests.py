"""Merge requests: list, open, changes, approvals, merge (merge_requests.md,
merge_request_approvals.md). Reading needs ``read_merge_request``, opening one
``create_merge_request_from``, approving ``approve_merge_request``, merging
``can_be_merged_by?`` (lib/api/merge_requests.rb, merge_request_approvals.rb): see
:mod:`access`."""

from __future__ import annotations

from exception_bot.sandbox import access, entities, merge_requests
from exception_bot.sandbox.api import Call, Reply, choice, ok, paginate, route
from exception_bot.sandbox.store import ApiError, MergeRequest, Project, Store, User
from exception_bot.sandbox.webhook_model import HookEvent


def _mr(store: Store, call: Call) -> tuple[Project, MergeRequest]:
    """The merge request; 404 as for a missing one when the caller may not read it
    (``find_project_merge_request``: MergeRequestsFinder hides it)."""
    p = access.project(store, call.args["id"], call.user)
    found = p.merge_requests.get(int(call.args["iid"]))
    if found is None or not access.reads_merge_requests(store, p, call.user):
        raise ApiError(404, "404 Merge Request Not Found")
    return p, found


@route("GET", "/projects/:id/merge_requests")
def list_merge_requests(store: Store, call: Call) -> Reply:
    p = access.project(store, call.args["id"], call.user)
    access.require(access.reads_merge_requests(store, p, call.user))
    state = choice(call, "state", ("opened", "closed", "merged", "locked", "all"), "all")
    source, target = call.param("source_branch"), call.param("target_branch")
    found = [
        m
        for m in p.merge_requests.values()
        if state in ("all", m.state)
        and source in (None, m.source_branch)
        and target in (None, m.target_branch)
    ]
    found.sort(key=lambda m: m.id, reverse=choice(call, "sort", ("asc", "desc"), "desc") == "desc")
    return paginate(call, found, lambda m: entities.merge_request(store, p, m))


@route("POST", "/projects/:id/merge_requests")
def create_merge_request(store: Store, call: Call) -> Reply:
    p = access.project(store, call.args["id"], call.user)
    access.require(access.opens_merge_requests(store, p, call.user))
    source, target, title = (call.param(k) for k in ("source_branch", "target_branch", "title"))
    if not source or not target or not title:
        raise ApiError(400, "400 Bad request - source_branch, target_branch, title are missing")
    made = merge_requests.open_merge_request(
        store,
        p,
        call.user,
        source,
        target,
        title,
        call.param("description") or "",
        tuple(call.values("labels")),
    )
    _hook(store, p, made, call.user, "open")
    return ok(entities.merge_request(store, p, made), 201)


@route("GET", "/projects/:id/merge_requests/:iid")
def get_merge_request(store: Store, call: Call) -> Reply:
    return ok(entities.merge_request_detail(store, *_mr(store, call)))


@route("GET", "/projects/:id/merge_requests/:iid/changes")
def merge_request_changes(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    diffs = merge_requests.changes(store, p, m)
    return ok({**entities.merge_request_detail(store, p, m), "changes": diffs})


@route("GET", "/projects/:id/merge_requests/:iid/diffs")
def merge_request_diffs(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    return paginate(call, merge_requests.changes(store, p, m), lambda c: c)


@route("GET", "/projects/:id/merge_requests/:iid/approvals")
def merge_request_approvals(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    return ok(entities.approvals(store, p, m, call.user))


@route("POST", "/projects/:id/merge_requests/:iid/approve")
def approve_merge_request(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    access.require(access.updates_merge_request(store, p, m, call.user))
    merge_requests.approve(store, m, call.user)
    _hook(store, p, m, call.user, "approved")
    return ok(entities.approvals(store, p, m, call.user), 201)


@route("POST", "/projects/:id/merge_requests/:iid/unapprove")
def unapprove_merge_request(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    access.require(access.updates_merge_request(store, p, m, call.user))
    merge_requests.unapprove(m, call.user)
    _hook(store, p, m, call.user, "unapproved")
    return ok(entities.approvals(store, p, m, call.user), 201)


@route("PUT", "/projects/:id/merge_requests/:iid/merge")
def merge_merge_request(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    if not access.merges_to(store, p, call.user, m.target_branch):
        raise ApiError(401, "401 Unauthorized")  # merge_requests.md: 401 without the right
    merge_requests.merge(store, p, m, call.user)
    _hook(store, p, m, call.user, "merge")
    return ok(entities.merge_request(store, p, m))


def _hook(store: Store, p: Project, m: MergeRequest, user: User, action: str) -> None:
    """A Merge Request Hook: MergeRequests::BaseService#execute_hooks with the action
    (open, merge; MergeRequests::ApprovalService and RemoveApprovalService: approved,
    unapproved)."""
    store.hook_events.append(HookEvent("merge_request", p.id, m.iid, user.id, action))
