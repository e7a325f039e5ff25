"""Project and group labels (labels.md, group_labels.md). Reading them needs ``read_label``
(whoever may read the project or group); creating and changing them ``admin_label`` (lib/api/
labels.rb and group_labels.rb ``authorize! :admin_label``): see :mod:`access`."""

from __future__ import annotations

from typing import Any

from exception_bot.sandbox import access, entities
from exception_bot.sandbox.api import Call, Reply, ok, paginate, route
from exception_bot.sandbox.store import ApiError, Store


@route("GET", "/projects/:id/labels")
def project_labels(store: Store, call: Call) -> Reply:
    p = access.project(store, call.args["id"], call.user)
    labels = sorted(store.available_labels(p).values(), key=lambda lb: lb.name.lower())
    return paginate(call, labels, lambda lb: entities.label(lb, lb.name in p.labels))


@route("POST", "/projects/:id/labels")
def create_project_label(store: Store, call: Call) -> Reply:
    p = access.project(store, call.args["id"], call.user)
    access.require(access.admins_labels(store, p, call.user))
    made = store.create_label(p.labels, *_label_fields(call))
    return ok(entities.label(made), 201)


@route("PUT", "/projects/:id/labels")  # the older form python-gitlab uses: name in the body
@route("PUT", "/projects/:id/labels/:name")
def update_project_label(store: Store, call: Call) -> Reply:
    p = access.project(store, call.args["id"], call.user)
    access.require(access.admins_labels(store, p, call.user))
    return ok(entities.label(_update_label(p.labels, call)))


@route("GET", "/groups/:id/labels")
def group_labels(store: Store, call: Call) -> Reply:
    g = access.group(store, call.args["id"], call.user)
    labels = sorted(g.labels.values(), key=lambda lb: lb.name.lower())
    return paginate(call, labels, lambda lb: entities.label(lb, False))


@route("POST", "/groups/:id/labels")
def create_group_label(store: Store, call: Call) -> Reply:
    g = access.group(store, call.args["id"], call.user)
    access.require(access.admins_group_labels(store, g, call.user))
    made = store.create_label(g.labels, *_label_fields(call))
    return ok(entities.label(made, False), 201)


@route("PUT", "/groups/:id/labels")
@route("PUT", "/groups/:id/labels/:name")
def update_group_label(store: Store, call: Call) -> Reply:
    g = access.group(store, call.args["id"], call.user)
    access.require(access.admins_group_labels(store, g, call.user))
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
