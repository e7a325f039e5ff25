"""Issues: list (project and group), get, create, update (issues.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from exception_bot.sandbox import access, entities, policy
from exception_bot.sandbox.api import Call, Reply, choice, ok, paginate, route
from exception_bot.sandbox.store import ApiError, Issue, Project, Store, User

# issues.md: the values these list parameters accept; others answer 400 (Sortie saw
# "state does not have a valid value" for state=open). Unknown parameters are ignored.
_STATES = ("opened", "closed", "all")
_ORDERS: dict[str, Callable[[Issue], Any]] = {
    "created_at": lambda i: i.created_at,
    "updated_at": lambda i: i.updated_at,
    "title": lambda i: i.title.lower(),
    "due_date": lambda i: (i.due_date is None, i.due_date or date.min),
}


def _time_param(call: Call, name: str) -> datetime | None:
    value = call.param(name)
    if not value:
        return None
    try:
        return _parse_time(value)
    except ValueError:
        raise ApiError(400, f"400 Bad request - {name} is invalid") from None


def _issue_filter(store: Store, call: Call, issues: list[tuple[Project, Issue]]) -> list[Any]:
    state = choice(call, "state", _STATES, "all")
    order = choice(call, "order_by", tuple(_ORDERS), "created_at")
    direction = choice(call, "sort", ("asc", "desc"), "desc")
    labels = [n for n in (call.param("labels") or "").split(",") if n]
    not_labels = [n for n in (call.param("not[labels]") or "").split(",") if n]
    iids = {int(v) for v in call.values("iids") if v.isdigit()}
    # issues.md: "on or after" / "on or before" the given time
    bounds = [
        (_time_param(call, f"{k}_{e}"), k, e)
        for k in ("updated", "created")
        for e in ("after", "before")
    ]
    search = (call.param("search") or "").lower()
    author = (call.param("author_username") or "").lower()
    assignee = (call.param("assignee_username") or "").lower()
    confidential = call.param("confidential")
    found = []
    for p, i in issues:
        if state != "all" and i.state != state:
            continue
        if any(n not in i.labels for n in labels if n not in ("Any", "None")):
            continue
        if ("None" in labels and i.labels) or ("Any" in labels and not i.labels):
            continue
        if any(n in i.labels for n in not_labels):
            continue
        if iids and i.iid not in iids:
            continue
        if not all(_within(getattr(i, f"{k}_at"), bound, e) for bound, k, e in bounds):
            continue
        if search and search not in (i.title + "\n" + i.description).lower():
            continue
        if author and store.users[i.author_id].username.lower() != author:
            continue
        if assignee and assignee not in {store.users[a].username.lower() for a in i.assignee_ids}:
            continue
        if confidential is not None and i.confidential != (confidential.lower() == "true"):
            continue
        if not policy.reads(store, p, i, call.user):  # IssuesFinder: confidential ones hidden
            continue
        found.append((p, i))
    found.sort(key=lambda pi: (_ORDERS[order](pi[1]), pi[1].id), reverse=direction == "desc")
    return found


def _within(moment: datetime, bound: datetime | None, edge: str) -> bool:
    if bound is None:
        return True
    return moment >= bound if edge == "after" else moment <= bound


@route("GET", "/projects/:id/issues")
def list_issues(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    found = _issue_filter(store, call, [(p, i) for i in p.issues.values()])
    details = _details(call)
    return paginate(call, found, lambda pi: entities.issue(store, pi[0], pi[1], details))


@route("GET", "/groups/:id/issues")
def list_group_issues(store: Store, call: Call) -> Reply:
    g = access.group(store, call.args["id"], call.user)  # find_group!
    prefix = g.full_path.lower() + "/"
    pairs = [
        (p, i)
        for p in store.projects.values()
        if p.path_with_namespace.lower().startswith(prefix)
        for i in p.issues.values()
    ]
    found = _issue_filter(store, call, pairs)
    details = _details(call)
    return paginate(call, found, lambda pi: entities.issue(store, pi[0], pi[1], details))


@route("GET", "/projects/:id/issues/:iid")
def get_issue(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    found = issue_for(store, p, call.args["iid"], call.user)
    return ok(entities.issue(store, p, found, _details(call)))


@route("POST", "/projects/:id/issues")
def create_issue(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)  # create_issue: who reads its issues
    title = call.param("title")
    if not title:
        raise ApiError(400, "400 Bad request - title is missing")
    created_at = call.param("created_at")
    due = call.param("due_date")
    made = store.create_issue(
        p,
        call.user,
        title,
        call.param("description") or "",
        labels=call.values("labels"),
        assignee_ids=_assignees(call),
        confidential=(call.param("confidential") or "").lower() == "true",
        due_date=_date(due) if due else None,
        issue_type=call.param("issue_type") or "issue",
        # created_at is honoured for admins and project owners only (issues.md)
        created_at=_parse_time(created_at) if created_at and call.user.admin else None,
    )
    return ok(entities.issue(store, p, made), 201)


@route("PUT", "/projects/:id/issues/:iid")
def update_issue(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    if not policy.updates(store, p, i, call.user):
        raise ApiError(403, "403 Forbidden")  # lib/api/issues.rb: authorize! :update_issue
    changes: dict[str, object] = {}
    for key in (
        "title",
        "description",
        "state_event",
        "confidential",
        "due_date",
        "discussion_locked",
    ):
        if call.param(key) is not None or key in call.body:
            changes[key] = call.param(key)
    for key in ("labels", "add_labels", "remove_labels", "assignee_ids"):
        if key in call.body or key in call.params or f"{key}[]" in call.params:
            changes[key] = call.values(key)
    if "assignee_id" in call.body or "assignee_id" in call.params:
        changes["assignee_ids"] = _assignees(call)
    store.update_issue(p, i, call.user, changes)
    return ok(entities.issue(store, p, i))


def project_for(store: Store, ident: str, user: User) -> Project:
    """The project, when ``user`` may see its issues: GitLab hides a private project from
    non-members behind the 404 of a missing one (app/policies/project_policy.rb)."""
    project = store.must_project(ident)
    if not policy.reads_issues(store, project, user):
        raise ApiError(404, "404 Project Not Found")
    return project


def issue_for(store: Store, project: Project, iid: str, user: User) -> Issue:
    """The issue, when ``user`` may read it; else 404 as for a missing one (lib/api/helpers.rb
    ``find_project_issue`` looks it up through IssuesFinder, which hides what the user may
    not read: app/policies/issue_policy.rb)."""
    issue = store.must_issue(project, int(iid))
    if not policy.reads(store, project, issue, user):
        raise ApiError(404, "404 Issue Not Found")
    return issue


def _assignees(call: Call) -> list[int]:
    """``assignee_ids`` or the Free tier's single ``assignee_id`` (issues.md)."""
    values = call.values("assignee_ids") or call.values("assignee_id")
    return [int(v) for v in values if v.isdigit()]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "400 Bad request - due_date is invalid") from None


def _details(call: Call) -> bool:
    """issues.md with_labels_details: labels as objects instead of names."""
    return (call.param("with_labels_details") or "").lower() == "true"


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
