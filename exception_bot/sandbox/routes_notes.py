"""Notes, resource label and state events, issue links (notes.md, resource_label_events.md,
resource_state_events.md, issue_links.md)."""

from __future__ import annotations

from collections.abc import Callable

from exception_bot.sandbox import entities, policy
from exception_bot.sandbox.api import Call, Reply, choice, ok, paginate, route
from exception_bot.sandbox.routes_issues import issue_for, project_for
from exception_bot.sandbox.store import ApiError, Note, Store


@route("GET", "/projects/:id/issues/:iid/notes")
def list_notes(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    key = choice(call, "order_by", ("created_at", "updated_at"), "created_at")
    # notes.md: sort defaults to desc
    direction = choice(call, "sort", ("asc", "desc"), "desc")
    activity = choice(call, "activity_filter", tuple(_ACTIVITY), "all_notes")
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
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    found = store.note(i, int(call.args["note"]))
    if found.internal and not store.can_read_internal(p, call.user):
        raise ApiError(404, "404 Note Not Found")
    return ok(entities.note(store, p, i, found))


@route("POST", "/projects/:id/issues/:iid/notes")
def create_note(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
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
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    body = call.param("body")
    if not body:
        raise ApiError(400, "400 Bad request - body is empty")
    found = store.update_note(i, int(call.args["note"]), call.user, body)
    return ok(entities.note(store, p, i, found))


@route("DELETE", "/projects/:id/issues/:iid/notes/:note")
def delete_note(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    store.delete_note(i, int(call.args["note"]), call.user)
    return Reply(204, None)


@route("GET", "/projects/:id/issues/:iid/resource_label_events")
def list_label_events(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    return paginate(call, i.label_events, lambda e: entities.label_event(store, i, e))


@route("GET", "/projects/:id/issues/:iid/resource_label_events/:event")
def get_label_event(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    found = next((e for e in i.label_events if e.id == int(call.args["event"])), None)
    if found is None:
        raise ApiError(404, "404 Not found")
    return ok(entities.label_event(store, i, found))


@route("GET", "/projects/:id/issues/:iid/resource_state_events")
def list_state_events(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    return paginate(call, i.state_events, lambda e: entities.state_event(store, i, e))


@route("GET", "/projects/:id/issues/:iid/resource_state_events/:event")
def get_state_event(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    found = next((e for e in i.state_events if e.id == int(call.args["event"])), None)
    if found is None:
        raise ApiError(404, "404 Not found")
    return ok(entities.state_event(store, i, found))


@route("GET", "/projects/:id/issues/:iid/links")
def list_links(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    # Issue#related_issues(current_user): only the linked issues the user may read
    return ok(
        [
            entities.linked_issue(store, link, other)
            for link, other in store.links_of(i)
            if policy.reads(store, store.projects[other.project_id], other, call.user)
        ]
    )


@route("POST", "/projects/:id/issues/:iid/links")
def create_link(store: Store, call: Call) -> Reply:
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    target_project = project_for(store, str(call.param("target_project_id") or ""), call.user)
    target = issue_for(store, target_project, str(call.param("target_issue_iid") or 0), call.user)
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
    p = project_for(store, call.args["id"], call.user)
    i = issue_for(store, p, call.args["iid"], call.user)
    wanted = int(call.args["link"])
    link = next((found for found, _ in store.links_of(i) if found.id == wanted), None)
    if link is None:
        raise ApiError(404, "404 Not found")
    store.unlink(link, call.user)
    other_id = link.target_id if link.source_id == i.id else link.source_id
    pair = store.issue_by_id(other_id)
    assert pair is not None  # noqa: S101 - links_of only returns existing issues
    return ok(entities.linked_issue(store, link, pair[1]))
