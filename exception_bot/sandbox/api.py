"""GitLab REST API v4 routes of the sandbox: one function per endpoint, over the store."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from exception_bot.sandbox import entities, merge_requests
from exception_bot.sandbox.store import ApiError, Issue, MergeRequest, Note, Project, Store, User

MAX_PER_PAGE = 100  # rest/index.md: per_page is capped at 100
DEFAULT_PER_PAGE = 20
MAX_COUNTED = 10_000


@dataclass
class Call:
    """One API request, parsed."""

    method: str
    path: str  # without the query, still URL-encoded
    params: dict[str, list[str]]
    body: dict[str, Any]
    user: User
    base_url: str
    args: dict[str, str] = field(default_factory=dict)

    def param(self, name: str, default: str | None = None) -> str | None:
        if name in self.body and not isinstance(self.body[name], (list, dict)):
            value = self.body[name]
            return None if value is None else str(value)
        values = self.params.get(name)
        return values[-1] if values else default

    def values(self, name: str) -> list[str]:
        """A list parameter: ``iids[]=1&iids[]=2``, ``iids=1,2`` or a JSON list."""
        value = self.body.get(name)
        if isinstance(value, list):
            return [str(v) for v in value]
        found = [str(value)] if value is not None else []
        found += self.params.get(f"{name}[]", []) + self.params.get(name, [])
        return [v for raw in found for v in raw.split(",") if v]


@dataclass
class Reply:
    status: int
    body: Any  # JSON-ready data, or str for raw text
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Store, Call], Reply]
ROUTES: list[tuple[str, re.Pattern[str], Handler, str]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    regex = re.compile(
        "^/api/v4"
        + pattern.replace(":id", "(?P<id>[^/]+)")
        .replace(":iid", r"(?P<iid>\d+)")
        .replace(":note", r"(?P<note>\d+)")
        .replace(":file", "(?P<file>.+?)")
        .replace(":link", r"(?P<link>\d+)")
        .replace(":event", r"(?P<event>\d+)")
        .replace(":user_id", r"(?P<user_id>\d+)")
        .replace(":name", "(?P<name>[^/]+)")
        + "$"
    )

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, regex, handler, f"{method} {pattern}"))
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Handler, dict[str, str], str] | None:
    # Grape answers HEAD on every GET route (the server then sends the headers only).
    verbs = (method, "GET") if method == "HEAD" else (method,)
    for verb in verbs:
        for route_verb, regex, handler, name in ROUTES:
            if route_verb == verb and (match := regex.match(path)):
                return handler, {k: unquote(v) for k, v in match.groupdict().items()}, name
    return None


def ok(body: Any, status: int = 200) -> Reply:
    return Reply(status, body)


def paginate(
    call: Call,
    items: Sequence[Any],
    render: Callable[[Any], Any],
    visible: Callable[[Any], bool] | None = None,
) -> Reply:
    """A page of ``items`` with GitLab's pagination headers (rest/index.md, offset-based).

    ``visible`` filters the page *after* it is cut, as lib/api/notes.rb does: a page can then
    be short without being the last one.
    """
    try:
        per_page = max(1, min(MAX_PER_PAGE, int(call.param("per_page") or DEFAULT_PER_PAGE)))
        page = max(1, int(call.param("page") or 1))
    except ValueError:
        raise ApiError(400, "400 Bad request - page or per_page is invalid") from None
    total = len(items)
    pages = max(1, -(-total // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    # rest/index.md: above 10,000 records the totals and rel="last" are left out
    counted = total <= MAX_COUNTED
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if page < pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    if counted:
        headers.update({"X-Total": str(total), "X-Total-Pages": str(pages)})
    links = []
    for rel, number in (
        ("prev", page - 1 if page > 1 else None),
        ("next", page + 1 if page < pages else None),
        ("first", 1),
        ("last", pages if counted else None),
    ):
        if number is not None:
            links.append(f'<{_page_url(call, number, per_page)}>; rel="{rel}"')
    headers["Link"] = ", ".join(links)
    shown = [item for item in chunk if visible is None or visible(item)]
    return Reply(200, [render(item) for item in shown], headers)


def _page_url(call: Call, page: int, per_page: int) -> str:
    query = [(k, v) for k, vs in call.params.items() for v in vs if k not in ("page", "per_page")]
    query += [("page", str(page)), ("per_page", str(per_page))]
    return f"{call.base_url}{call.path}?{urlencode(query)}"


# -- users, groups, members ---------------------------------------------------------------------


@route("GET", "/user")
def get_user(store: Store, call: Call) -> Reply:
    return ok(entities.current_user(store, call.user))


@route("GET", "/users")
def list_users(store: Store, call: Call) -> Reply:
    wanted = call.param("username")
    users = [
        u for u in store.users.values() if wanted is None or u.username.lower() == wanted.lower()
    ]
    return paginate(call, users, lambda u: entities.user(store, u))


@route("GET", "/users/:id")
def get_user_by_id(store: Store, call: Call) -> Reply:
    found = store.users.get(int(call.args["id"])) if call.args["id"].isdigit() else None
    if found is None:
        raise ApiError(404, "404 User Not Found")
    return ok(entities.user(store, found))


@route("GET", "/groups/:id")
def get_group(store: Store, call: Call) -> Reply:
    return ok(entities.group(store, store.must_group(call.args["id"])))


@route("GET", "/groups/:id/members")
def group_members(store: Store, call: Call) -> Reply:
    g = store.must_group(call.args["id"])
    return _members(store, call, g.members)


@route("GET", "/groups/:id/members/all")
def group_members_all(store: Store, call: Call) -> Reply:
    return _members(store, call, store.group_members_all(store.must_group(call.args["id"])))


@route("GET", "/groups/:id/members/all/:user_id")
def group_member_all(store: Store, call: Call) -> Reply:
    levels = store.group_members_all(store.must_group(call.args["id"]))
    return _member(store, levels, int(call.args["user_id"]))


@route("GET", "/projects/:id")
def get_project(store: Store, call: Call) -> Reply:
    return ok(entities.project(store, store.must_project(call.args["id"])))


@route("GET", "/projects/:id/members")
def project_members(store: Store, call: Call) -> Reply:
    return _members(store, call, store.must_project(call.args["id"]).members)


@route("GET", "/projects/:id/members/all")
def project_members_all(store: Store, call: Call) -> Reply:
    return _members(store, call, store.project_members_all(store.must_project(call.args["id"])))


@route("GET", "/projects/:id/members/all/:user_id")
def project_member_all(store: Store, call: Call) -> Reply:
    levels = store.project_members_all(store.must_project(call.args["id"]))
    return _member(store, levels, int(call.args["user_id"]))


def _member(store: Store, levels: dict[int, int], user_id: int) -> Reply:
    if user_id not in levels:
        raise ApiError(404, "404 Member Not Found")
    return ok(entities.member(store, store.users[user_id], levels[user_id]))


def _members(store: Store, call: Call, levels: dict[int, int]) -> Reply:
    rows = sorted(levels.items())
    return paginate(call, rows, lambda row: entities.member(store, store.users[row[0]], row[1]))


# -- labels -------------------------------------------------------------------------------------


@route("GET", "/projects/:id/labels")
def project_labels(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    labels = sorted(store.available_labels(p).values(), key=lambda lb: lb.name.lower())
    return paginate(call, labels, lambda lb: entities.label(lb, lb.name in p.labels))


@route("POST", "/projects/:id/labels")
def create_project_label(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    made = store.create_label(p.labels, *_label_fields(call))
    return ok(entities.label(made), 201)


@route("PUT", "/projects/:id/labels")  # the older form python-gitlab uses: name in the body
@route("PUT", "/projects/:id/labels/:name")
def update_project_label(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    return ok(entities.label(_update_label(p.labels, call)))


@route("GET", "/groups/:id/labels")
def group_labels(store: Store, call: Call) -> Reply:
    g = store.must_group(call.args["id"])
    labels = sorted(g.labels.values(), key=lambda lb: lb.name.lower())
    return paginate(call, labels, lambda lb: entities.label(lb, False))


@route("POST", "/groups/:id/labels")
def create_group_label(store: Store, call: Call) -> Reply:
    g = store.must_group(call.args["id"])
    made = store.create_label(g.labels, *_label_fields(call))
    return ok(entities.label(made, False), 201)


@route("PUT", "/groups/:id/labels")
@route("PUT", "/groups/:id/labels/:name")
def update_group_label(store: Store, call: Call) -> Reply:
    g = store.must_group(call.args["id"])
    return ok(entities.label(_update_label(g.labels, call), False))


def _label_fields(call: Call) -> tuple[str, str, str | None]:
    name, color = call.param("name"), call.param("color")
    if not name or not color:
        raise ApiError(400, "400 Bad request - name, color are missing")
    return name, color, call.param("description")


def _update_label(labels: dict[str, Any], call: Call) -> Any:
    key = call.args.get("name") or call.param("name") or ""
    found = labels.get(key) or next((lb for lb in labels.values() if str(lb.id) == key), None)
    if found is None:
        raise ApiError(404, "404 Label Not Found")
    if new_name := call.param("new_name"):
        del labels[found.name]
        found.name = new_name
        labels[new_name] = found
    found.color = call.param("color") or found.color
    if call.param("description") is not None:
        found.description = call.param("description")
    return found


# -- issues -------------------------------------------------------------------------------------


# issues.md: the values these list parameters accept; others answer 400 (Sortie saw
# "state does not have a valid value" for state=open). Unknown parameters are ignored.
_STATES = ("opened", "closed", "all")
_ORDERS: dict[str, Callable[[Issue], Any]] = {
    "created_at": lambda i: i.created_at,
    "updated_at": lambda i: i.updated_at,
    "title": lambda i: i.title.lower(),
    "due_date": lambda i: (i.due_date is None, i.due_date or date.min),
}


def _choice(call: Call, name: str, allowed: Sequence[str], default: str) -> str:
    value = call.param(name) or default
    if value not in allowed:
        raise ApiError(400, f"400 Bad request - {name} does not have a valid value")
    return value


def _time_param(call: Call, name: str) -> datetime | None:
    value = call.param(name)
    if not value:
        return None
    try:
        return _parse_time(value)
    except ValueError:
        raise ApiError(400, f"400 Bad request - {name} is invalid") from None


def _issue_filter(store: Store, call: Call, issues: list[tuple[Project, Issue]]) -> list[Any]:
    state = _choice(call, "state", _STATES, "all")
    order = _choice(call, "order_by", tuple(_ORDERS), "created_at")
    direction = _choice(call, "sort", ("asc", "desc"), "desc")
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
        found.append((p, i))
    found.sort(key=lambda pi: (_ORDERS[order](pi[1]), pi[1].id), reverse=direction == "desc")
    return found


def _within(moment: datetime, bound: datetime | None, edge: str) -> bool:
    if bound is None:
        return True
    return moment >= bound if edge == "after" else moment <= bound


@route("GET", "/projects/:id/issues")
def list_issues(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    found = _issue_filter(store, call, [(p, i) for i in p.issues.values()])
    details = _details(call)
    return paginate(call, found, lambda pi: entities.issue(store, pi[0], pi[1], details))


@route("GET", "/groups/:id/issues")
def list_group_issues(store: Store, call: Call) -> Reply:
    g = store.must_group(call.args["id"])
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
    p = store.must_project(call.args["id"])
    found = store.must_issue(p, int(call.args["iid"]))
    return ok(entities.issue(store, p, found, _details(call)))


@route("POST", "/projects/:id/issues")
def create_issue(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
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
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
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


# -- notes and label events ---------------------------------------------------------------------


@route("GET", "/projects/:id/issues/:iid/notes")
def list_notes(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    key = _choice(call, "order_by", ("created_at", "updated_at"), "created_at")
    # notes.md: sort defaults to desc
    direction = _choice(call, "sort", ("asc", "desc"), "desc")
    activity = _choice(call, "activity_filter", tuple(_ACTIVITY), "all_notes")
    internal = store.can_read_internal(p, call.user)
    notes = [n for n in i.notes if _ACTIVITY[activity](n)]
    notes.sort(key=lambda n: (getattr(n, key), n.id), reverse=direction == "desc")
    return paginate(
        call, notes, lambda n: entities.note(store, p, i, n), lambda n: internal or not n.internal
    )


_ACTIVITY: dict[str, Callable[[Note], bool]] = {
    "all_notes": lambda n: True,
    "only_comments": lambda n: not n.system,
    "only_activity": lambda n: n.system,
}


@route("GET", "/projects/:id/issues/:iid/notes/:note")
def get_note(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    found = store.note(i, int(call.args["note"]))
    if found.internal and not store.can_read_internal(p, call.user):
        raise ApiError(404, "404 Note Not Found")
    return ok(entities.note(store, p, i, found))


@route("POST", "/projects/:id/issues/:iid/notes")
def create_note(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    body = call.param("body")
    if body is None:
        raise ApiError(400, "400 Bad request - body is missing")
    internal = (call.param("internal") or call.param("confidential") or "").lower() == "true"
    made = store.create_note(p, i, call.user, body, internal)
    if made is None:
        # notes_helpers.rb: commands only, all applied: 202 with Entities::NoteCommands
        return ok({"commands_changes": {}, "summary": []}, 202)
    return ok(entities.note(store, p, i, made), 201)


@route("PUT", "/projects/:id/issues/:iid/notes/:note")
def update_note(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    body = call.param("body")
    if not body:
        raise ApiError(400, "400 Bad request - body is empty")
    found = store.update_note(i, int(call.args["note"]), call.user, body)
    return ok(entities.note(store, p, i, found))


@route("DELETE", "/projects/:id/issues/:iid/notes/:note")
def delete_note(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    store.delete_note(i, int(call.args["note"]), call.user)
    return Reply(204, None)


@route("GET", "/projects/:id/issues/:iid/resource_label_events")
def list_label_events(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    return paginate(call, i.label_events, lambda e: entities.label_event(store, i, e))


@route("GET", "/projects/:id/issues/:iid/resource_label_events/:event")
def get_label_event(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    found = next((e for e in i.label_events if e.id == int(call.args["event"])), None)
    if found is None:
        raise ApiError(404, "404 Not found")
    return ok(entities.label_event(store, i, found))


@route("GET", "/projects/:id/issues/:iid/resource_state_events")
def list_state_events(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    return paginate(call, i.state_events, lambda e: entities.state_event(store, i, e))


@route("GET", "/projects/:id/issues/:iid/resource_state_events/:event")
def get_state_event(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    found = next((e for e in i.state_events if e.id == int(call.args["event"])), None)
    if found is None:
        raise ApiError(404, "404 Not found")
    return ok(entities.state_event(store, i, found))


# -- issue links --------------------------------------------------------------------------------


@route("GET", "/projects/:id/issues/:iid/links")
def list_links(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    return ok([entities.linked_issue(store, link, other) for link, other in store.links_of(i)])


@route("POST", "/projects/:id/issues/:iid/links")
def create_link(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    target_project = store.must_project(str(call.param("target_project_id") or ""))
    target = store.must_issue(target_project, int(call.param("target_issue_iid") or 0))
    link = store.link(i, target, call.user)
    return ok(
        {
            "source_issue": entities.issue(store, p, i),
            "target_issue": entities.issue(store, target_project, target),
            "link_type": link.link_type,
        },
        201,
    )


@route("DELETE", "/projects/:id/issues/:iid/links/:link")
def delete_link(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    i = store.must_issue(p, int(call.args["iid"]))
    wanted = int(call.args["link"])
    link = next((found for found, _ in store.links_of(i) if found.id == wanted), None)
    if link is None:
        raise ApiError(404, "404 Not found")
    store.unlink(link, call.user)
    other_id = link.target_id if link.source_id == i.id else link.source_id
    pair = store.issue_by_id(other_id)
    assert pair is not None  # noqa: S101 - links_of only returns existing issues
    return ok(entities.linked_issue(store, link, pair[1]))


# -- repository ---------------------------------------------------------------------------------


def _head(store: Store, p: Project, ref: str | None) -> Any:
    head = store.head(p, ref)
    if head is None:
        raise ApiError(404, "404 Commit Not Found")
    return head


@route("GET", "/projects/:id/repository/files/:file/raw")
def get_raw_file(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    head = _head(store, p, call.param("ref"))
    path = call.args["file"]
    if path not in head.tree:
        raise ApiError(404, "404 File Not Found")
    return Reply(200, head.tree[path])


@route("GET", "/projects/:id/repository/files/:file")
def get_file(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    ref = call.param("ref")
    if not ref:
        raise ApiError(400, "400 Bad request - ref is missing")
    head = _head(store, p, ref)
    path = call.args["file"]
    if path not in head.tree:
        raise ApiError(404, "404 File Not Found")
    last = store.last_commit_for(p, head, path)
    data = entities.file(path, ref, head.tree[path], head, last)
    # repository_files.md: HEAD answers the metadata as X-Gitlab-* headers (GET sends them too)
    headers = {
        "X-Gitlab-" + "-".join(w.title() for w in key.split("_")): str(value).lower()
        if isinstance(value, bool)
        else str(value)
        for key, value in data.items()
        if key != "content"
    }
    return Reply(200, data, headers)


def _file_write(store: Store, call: Call, action: str, status: int) -> Reply:
    p = store.must_project(call.args["id"])
    branch = call.param("branch")
    message = call.param("commit_message")
    if not branch or not message:
        raise ApiError(400, "400 Bad request - branch, commit_message are missing")
    step: dict[str, object] = {
        "action": action,
        "file_path": call.args["file"],
        "content": call.param("content") or "",
        "encoding": call.param("encoding") or "text",
        "last_commit_id": call.param("last_commit_id"),
    }
    store.commit(p, call.user, branch, message, [step], call.param("start_branch"))
    return ok({"file_path": call.args["file"], "branch": branch}, status)


@route("POST", "/projects/:id/repository/files/:file")
def create_file(store: Store, call: Call) -> Reply:
    return _file_write(store, call, "create", 201)


@route("PUT", "/projects/:id/repository/files/:file")
def update_file(store: Store, call: Call) -> Reply:
    return _file_write(store, call, "update", 200)


@route("DELETE", "/projects/:id/repository/files/:file")
def delete_file(store: Store, call: Call) -> Reply:
    _file_write(store, call, "delete", 204)
    return Reply(204, None)


@route("POST", "/projects/:id/repository/commits")
def create_commit(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    branch = call.param("branch")
    message = call.param("commit_message")
    actions = call.body.get("actions")
    if not branch or not message or not isinstance(actions, list) or not actions:
        raise ApiError(400, "400 Bad request - branch, commit_message, actions are missing")
    made = store.commit(p, call.user, branch, message, actions, call.param("start_branch"))
    return ok(entities.commit_detail(store, p, made), 201)


@route("GET", "/projects/:id/repository/commits")
def list_commits(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    head = store.head(p, call.param("ref_name"))
    history = store.history(p, head, call.param("path")) if head else []
    return paginate(call, history, lambda c: entities.commit(store, p, c))


@route("GET", "/projects/:id/repository/commits/:name")
def get_commit(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    found = p.commits.get(call.args["name"]) or store.head(p, call.args["name"])
    if found is None:
        raise ApiError(404, "404 Commit Not Found")
    return ok(entities.commit_detail(store, p, found))


@route("GET", "/projects/:id/repository/tree")
def list_tree(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    head = store.head(p, call.param("ref"))
    base = (call.param("path") or "").strip("/")
    recursive = (call.param("recursive") or "").lower() == "true"
    entries: dict[str, str] = {}
    for path in head.tree if head else {}:
        if base and not path.startswith(base + "/"):
            continue
        rest = path[len(base) + 1 :] if base else path
        parts = rest.split("/")
        for depth in range(1, len(parts) + 1 if recursive else 2):
            name = "/".join(parts[:depth])
            full = f"{base}/{name}" if base else name
            entries[full] = "blob" if depth == len(parts) else "tree"
    rows = sorted(entries.items(), key=lambda e: (e[1] != "tree", e[0]))
    return paginate(
        call,
        rows,
        lambda e: {
            "id": entities.blob_id(e[0]),
            "name": e[0].rsplit("/", 1)[-1],
            "type": e[1],
            "path": e[0],
            "mode": "040000" if e[1] == "tree" else "100644",
        },
    )


@route("GET", "/projects/:id/repository/branches")
def list_branches(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    names = sorted(p.branches)
    return paginate(call, names, lambda name: _branch(store, p, name))


@route("POST", "/projects/:id/repository/branches")
def create_branch(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    name, ref = call.param("branch"), call.param("ref")
    if not name or not ref:
        raise ApiError(400, "400 Bad request - branch, ref are missing")
    if name in p.branches:
        raise ApiError(400, "Branch already exists")
    head = store.head(p, ref)
    if head is None:
        raise ApiError(400, "Invalid reference name")
    p.branches[name] = head.id
    return ok(_branch(store, p, name), 201)


@route("DELETE", "/projects/:id/repository/branches/:name")
def delete_branch(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    name = call.args["name"]
    if name not in p.branches:
        raise ApiError(404, "404 Branch Not Found")
    if name == p.default_branch:
        raise ApiError(405, "405 Method Not Allowed")  # the default branch is protected
    del p.branches[name]
    return Reply(204, None)


@route("GET", "/projects/:id/repository/branches/:name")
def get_branch(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    if call.args["name"] not in p.branches:
        raise ApiError(404, "404 Branch Not Found")
    return ok(_branch(store, p, call.args["name"]))


def _branch(store: Store, p: Project, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "commit": entities.commit(store, p, p.commits[p.branches[name]]),
        "merged": False,
        "protected": name == p.default_branch,
        "default": name == p.default_branch,
        "web_url": f"{store.base_url}/{p.path_with_namespace}/-/tree/{name}",
    }


# -- merge requests ------------------------------------------------------------------------------


def _mr(store: Store, call: Call) -> tuple[Project, MergeRequest]:
    p = store.must_project(call.args["id"])
    found = p.merge_requests.get(int(call.args["iid"]))
    if found is None:
        raise ApiError(404, "404 Merge Request Not Found")
    return p, found


@route("GET", "/projects/:id/merge_requests")
def list_merge_requests(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
    state = _choice(call, "state", ("opened", "closed", "merged", "locked", "all"), "all")
    source, target = call.param("source_branch"), call.param("target_branch")
    found = [
        m
        for m in p.merge_requests.values()
        if state in ("all", m.state)
        and source in (None, m.source_branch)
        and target in (None, m.target_branch)
    ]
    found.sort(key=lambda m: m.id, reverse=_choice(call, "sort", ("asc", "desc"), "desc") == "desc")
    return paginate(call, found, lambda m: entities.merge_request(store, p, m))


@route("POST", "/projects/:id/merge_requests")
def create_merge_request(store: Store, call: Call) -> Reply:
    p = store.must_project(call.args["id"])
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
    return ok(entities.merge_request(store, p, made), 201)


@route("GET", "/projects/:id/merge_requests/:iid")
def get_merge_request(store: Store, call: Call) -> Reply:
    return ok(entities.merge_request(store, *_mr(store, call)))


@route("GET", "/projects/:id/merge_requests/:iid/changes")
def merge_request_changes(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    diffs = merge_requests.changes(store, p, m)
    return ok({**entities.merge_request(store, p, m), "changes": diffs})


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
    merge_requests.approve(m, call.user)
    return ok(entities.approvals(store, p, m, call.user), 201)


@route("POST", "/projects/:id/merge_requests/:iid/unapprove")
def unapprove_merge_request(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    merge_requests.unapprove(m, call.user)
    return ok(entities.approvals(store, p, m, call.user), 201)


@route("PUT", "/projects/:id/merge_requests/:iid/merge")
def merge_merge_request(store: Store, call: Call) -> Reply:
    p, m = _mr(store, call)
    merge_requests.merge(store, p, m, call.user)
    return ok(entities.merge_request(store, p, m))
