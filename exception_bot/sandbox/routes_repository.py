"""Repository files, commits, tree and branches (repository_files.md, commits.md,
repositories.md, branches.md). Reading needs ``download_code`` (lib/api/files.rb, commits.rb,
repositories.rb, branches.rb); committing ``can_push_to_branch?`` (``authorize_push_to_branch!``),
creating or deleting a branch ``push_code`` (``authorize_push_project``): see :mod:`access`."""

from __future__ import annotations

from typing import Any

from exception_bot.sandbox import access, entities, merge_requests
from exception_bot.sandbox.api import Call, Reply, ok, paginate, route
from exception_bot.sandbox.store import ApiError, Project, Store, User

PUSH_REFUSED = "You are not allowed to push into this branch"  # lib/api/helpers.rb


def _reader(store: Store, call: Call) -> Project:
    """The project, when the caller may read its code: 404 when they may not see it, 403
    when they see it but not its code (a Guest of a private project)."""
    p = access.project(store, call.args["id"], call.user)
    access.require(access.downloads_code(store, p, call.user))
    return p


def _pusher(store: Store, call: Call, branch: str) -> Project:
    p = access.project(store, call.args["id"], call.user)
    access.require(access.pushes_to(store, p, call.user, branch), PUSH_REFUSED)
    return p


def _head(store: Store, p: Project, ref: str | None) -> Any:
    head = store.head(p, ref)
    if head is None:
        raise ApiError(404, "404 Commit Not Found")
    return head


@route("GET", "/projects/:id/repository/files/:file/raw")
def get_raw_file(store: Store, call: Call) -> Reply:
    p = _reader(store, call)
    head = _head(store, p, call.param("ref"))
    path = call.args["file"]
    if path not in head.tree:
        raise ApiError(404, "404 File Not Found")
    return Reply(200, head.tree[path])


@route("GET", "/projects/:id/repository/files/:file")
def get_file(store: Store, call: Call) -> Reply:
    p = _reader(store, call)
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
    branch = call.param("branch")
    message = call.param("commit_message")
    if not branch or not message:
        raise ApiError(400, "400 Bad request - branch, commit_message are missing")
    p = _pusher(store, call, branch)
    step: dict[str, object] = {
        "action": action,
        "file_path": call.args["file"],
        "content": call.param("content") or "",
        "encoding": call.param("encoding") or "text",
        "last_commit_id": call.param("last_commit_id"),
    }
    store.commit(p, call.user, branch, message, [step], call.param("start_branch"), files_api=True)
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
    branch = call.param("branch")
    message = call.param("commit_message")
    actions = call.body.get("actions")
    if not branch or not message or not isinstance(actions, list) or not actions:
        raise ApiError(400, "400 Bad request - branch, commit_message, actions are missing")
    p = _pusher(store, call, branch)
    made = store.commit(p, call.user, branch, message, actions, call.param("start_branch"))
    return ok(entities.commit_detail(store, p, made), 201)


@route("GET", "/projects/:id/repository/commits")
def list_commits(store: Store, call: Call) -> Reply:
    p = _reader(store, call)
    head = store.head(p, call.param("ref_name"))
    history = store.history(p, head, call.param("path")) if head else []
    return paginate(call, history, lambda c: entities.commit(store, p, c))


@route("GET", "/projects/:id/repository/commits/:name")
def get_commit(store: Store, call: Call) -> Reply:
    p = _reader(store, call)
    found = p.commits.get(call.args["name"]) or store.head(p, call.args["name"])
    if found is None:
        raise ApiError(404, "404 Commit Not Found")
    return ok(entities.commit_detail(store, p, found))


@route("GET", "/projects/:id/repository/commits/:name/merge_requests")
def commit_merge_requests(store: Store, call: Call) -> Reply:
    """lib/api/commits.rb: the merge requests MergeRequestsFinder relates to the commit (its
    commits, merge or squash commit); 404 for an unknown commit."""
    p = _reader(store, call)
    access.require(access.reads_merge_requests(store, p, call.user))
    found = p.commits.get(call.args["name"]) or store.head(p, call.args["name"])
    if found is None:
        raise ApiError(404, "404 Commit Not Found")
    mrs = [m for m in p.merge_requests.values() if merge_requests.related(p, m, found.id)]
    return paginate(call, mrs, lambda m: entities.merge_request(store, p, m))


@route("GET", "/projects/:id/repository/tree")
def list_tree(store: Store, call: Call) -> Reply:
    p = _reader(store, call)
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
            # A blob's id is its content's (git's object id): a changed file has a new one.
            "id": entities.blob_id(head.tree[e[0]] if head and e[1] == "blob" else e[0]),
            "name": e[0].rsplit("/", 1)[-1],
            "type": e[1],
            "path": e[0],
            "mode": "040000" if e[1] == "tree" else "100644",
        },
    )


@route("GET", "/projects/:id/repository/branches")
def list_branches(store: Store, call: Call) -> Reply:
    p = _reader(store, call)
    names = sorted(p.branches)
    return paginate(call, names, lambda name: _branch(store, p, name, call.user))


@route("POST", "/projects/:id/repository/branches")
def create_branch(store: Store, call: Call) -> Reply:
    p = access.project(store, call.args["id"], call.user)
    access.require(access.pushes_code(store, p, call.user))
    name, ref = call.param("branch"), call.param("ref")
    if not name or not ref:
        raise ApiError(400, "400 Bad request - branch, ref are missing")
    if name in p.branches:
        raise ApiError(400, "Branch already exists")
    head = store.head(p, ref)
    if head is None:
        raise ApiError(400, "Invalid reference name")
    p.branches[name] = head.id
    return ok(_branch(store, p, name, call.user), 201)


@route("DELETE", "/projects/:id/repository/branches/:name")
def delete_branch(store: Store, call: Call) -> Reply:
    p = access.project(store, call.args["id"], call.user)
    access.require(access.pushes_code(store, p, call.user))
    name = call.args["name"]
    if name not in p.branches:
        raise ApiError(404, "404 Branch Not Found")
    if name == p.default_branch:
        raise ApiError(405, "405 Method Not Allowed")  # the default branch is protected
    del p.branches[name]
    return Reply(204, None)


@route("GET", "/projects/:id/repository/branches/:name")
def get_branch(store: Store, call: Call) -> Reply:
    p = _reader(store, call)
    if call.args["name"] not in p.branches:
        raise ApiError(404, "404 Branch Not Found")
    return ok(_branch(store, p, call.args["name"], call.user))


def _branch(store: Store, p: Project, name: str, viewer: User) -> dict[str, Any]:
    """branches.md; lib/api/entities/branch.rb: ``developers_can_push`` and ``_merge`` say
    whether a protected branch lets Developers in (the default branch's protection does
    not), ``can_push`` whether ``viewer`` may push to it."""
    return {
        "name": name,
        "commit": entities.commit(store, p, p.commits[p.branches[name]]),
        "merged": False,
        "protected": access.protected(p, name),
        "developers_can_push": False,
        "developers_can_merge": False,
        "can_push": access.pushes_to(store, p, viewer, name),
        "default": name == p.default_branch,
        "web_url": f"{store.base_url}/{p.path_with_namespace}/-/tree/{name}",
    }
