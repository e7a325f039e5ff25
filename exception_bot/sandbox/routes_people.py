"""Users, groups, projects and their members (users.md, groups.md, projects.md, members.md)."""

from __future__ import annotations

from exception_bot.sandbox import access, entities
from exception_bot.sandbox.api import Call, Reply, ok, paginate, route
from exception_bot.sandbox.store import ApiError, Store


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
    return ok(entities.group(store, access.group(store, call.args["id"], call.user), call.user))


@route("GET", "/groups/:id/members")
def group_members(store: Store, call: Call) -> Reply:
    g = access.group(store, call.args["id"], call.user)
    return _members(store, call, g.members)


@route("GET", "/groups/:id/members/all")
def group_members_all(store: Store, call: Call) -> Reply:
    g = access.group(store, call.args["id"], call.user)
    return _members(store, call, store.group_members_all(g))


@route("GET", "/groups/:id/members/all/:user_id")
def group_member_all(store: Store, call: Call) -> Reply:
    levels = store.group_members_all(access.group(store, call.args["id"], call.user))
    return _member(store, levels, int(call.args["user_id"]))


@route("GET", "/projects/:id")
def get_project(store: Store, call: Call) -> Reply:
    return ok(entities.project(store, access.project(store, call.args["id"], call.user), call.user))


@route("GET", "/projects/:id/members")
def project_members(store: Store, call: Call) -> Reply:
    return _members(store, call, access.project(store, call.args["id"], call.user).members)


@route("GET", "/projects/:id/members/all")
def project_members_all(store: Store, call: Call) -> Reply:
    p = access.project(store, call.args["id"], call.user)
    return _members(store, call, store.project_members_all(p))


@route("GET", "/projects/:id/members/all/:user_id")
def project_member_all(store: Store, call: Call) -> Reply:
    levels = store.project_members_all(access.project(store, call.args["id"], call.user))
    return _member(store, levels, int(call.args["user_id"]))


def _member(store: Store, levels: dict[int, int], user_id: int) -> Reply:
    if user_id not in levels:
        raise ApiError(404, "404 Member Not Found")
    return ok(entities.member(store, store.users[user_id], levels[user_id]))


def _members(store: Store, call: Call, levels: dict[int, int]) -> Reply:
    rows = sorted(levels.items())
    return paginate(call, rows, lambda row: entities.member(store, store.users[row[0]], row[1]))
