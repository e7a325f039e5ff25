"""Building a GitLab through its API: users and their tokens, groups, projects and members.

What the functional suite (tests/functional) does to an empty GitLab, here as GitLab answers
it. Read from gitlabhq:

- lib/api/users.rb: ``POST /users`` validates its parameters first (email, name, username, and
  one of password, reset_password, force_random_password), then refuses anyone but an admin
  (``authenticated_as_admin!``: 403), then answers 409 for an email or a username already
  taken. ``POST /users/:user_id/personal_access_tokens`` refuses non-admins before anything
  else (``before { authenticated_as_admin! }``), needs a name and known scopes, and answers
  404 for an unknown user; the token's secret is in that answer only
  (lib/api/entities/personal_access_token_with_token.rb).
- lib/api/groups.rb: ``POST /groups`` needs a name and a path; a subgroup needs
  ``create_subgroup`` on its parent (Maintainer, the default subgroup creation level), a
  top-level group ``create_group`` (every user, by GitLab's default). The creator becomes an
  Owner (app/services/groups/create_service.rb). A path taken answers 400 ``Failed to save
  group {...}``.
- lib/api/projects.rb: ``POST /projects`` needs a name or a path; the namespace must allow the
  user ``create_projects`` (here Maintainer, a setting GitLab offers; its default also lets
  Developers), else 400 ``{"namespace": ["is not valid"]}``
  (app/services/projects/create_service.rb). The creator of a project in a group is not made a
  member of it. ``initialize_with_readme`` commits a README to the default branch.
- lib/api/members.rb and lib/api/helpers/members_helpers.rb: adding or changing a member
  needs ``admin_project_member`` (Maintainer) or ``admin_group_member`` (Owner): 403; an
  existing member answers 409 ``Member already exists``, an unknown user 404; a level below
  the one the user holds directly in an ancestor group is refused (app/models/member.rb,
  ``higher_access_level_than_group``).

Parameter errors come as Grape words them: 400 ``{"error": "email is missing"}``.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from exception_bot.sandbox import entities
from exception_bot.sandbox.api import Call, Handler, Reply, ok, route
from exception_bot.sandbox.policy import VISIBILITIES
from exception_bot.sandbox.store import (
    DEVELOPER,
    GUEST,
    MAINTAINER,
    OWNER,
    REPORTER,
    ApiError,
    Group,
    PersonalToken,
    Project,
    Store,
    User,
)

PLANNER = 15  # Gitlab::Access::PLANNER (17.7)
ACCESS_LEVELS = {
    GUEST: "Guest",
    PLANNER: "Planner",
    REPORTER: "Reporter",
    DEVELOPER: "Developer",
    MAINTAINER: "Maintainer",
    OWNER: "Owner",
}
# Gitlab::Auth.all_available_scopes on a self-managed instance
SCOPES = (
    "api",
    "read_api",
    "read_user",
    "create_runner",
    "manage_runner",
    "k8s_proxy",
    "self_rotate",
    "read_repository",
    "write_repository",
    "read_registry",
    "write_registry",
    "ai_features",
    "sudo",
    "admin_mode",
    "read_service_ping",
)
# Gitlab::PathRegex: a namespace or project path
_PATH = re.compile(r"^(?:[A-Za-z0-9_.][A-Za-z0-9_.-]*[A-Za-z0-9_-]|[A-Za-z0-9_])$")
_PATH_RULE = (
    "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in "
    "'.', '.git' or '.atom'."
)
FORBIDDEN = "403 Forbidden"


class _BadParameter(Exception):
    """A parameter that fails its declaration: Grape answers 400 ``{"error": ...}``."""


def _grape(handler: Handler) -> Handler:
    def answer(store: Store, call: Call) -> Reply:
        try:
            return handler(store, call)
        except _BadParameter as err:
            return Reply(400, {"error": str(err)})

    answer.__doc__ = handler.__doc__
    return answer


def _require(call: Call, *names: str) -> None:
    missing = [f"{name} is missing" for name in names if not call.param(name)]
    if missing:
        raise _BadParameter(", ".join(missing))


def _not_saved(problems: dict[str, list[str]]) -> Reply:
    """``render_validation_error!``: the model's errors by attribute."""
    return Reply(400, {"message": problems})


def _flag(call: Call, name: str) -> bool:
    return (call.param(name) or "").lower() in ("true", "1", "yes")


def _integer(call: Call, name: str) -> int | None:
    value = call.param(name)
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise _BadParameter(f"{name} is invalid")
    return int(value)


def _admin(user: User) -> None:
    """authenticated_as_admin! (lib/api/helpers.rb)"""
    if not user.admin:
        raise ApiError(403, FORBIDDEN)


# -- users ------------------------------------------------------------------------------------


@route("POST", "/users")
@_grape
def create_user(store: Store, call: Call) -> Reply:
    """POST /users (users.md, "Create a user"): for admins only."""
    _require(call, "email")
    if not any(call.param(k) for k in ("password", "reset_password", "force_random_password")):
        raise _BadParameter(
            "password, reset_password, force_random_password are missing, at least one "
            "parameter must be provided"
        )
    _require(call, "name", "username")
    _admin(call.user)
    email, username = str(call.param("email")), str(call.param("username"))
    if any(u.email.lower() == email.lower() for u in store.users.values()):
        raise ApiError(409, "Email has already been taken")
    if store.user_named(username) is not None:
        raise ApiError(409, "Username has already been taken")
    problems: dict[str, list[str]] = {}
    if not _PATH.match(username) or username.endswith((".git", ".atom")):
        problems["username"] = [_PATH_RULE]
    password = call.param("password")
    if password is not None and len(password) < 8:
        problems["password"] = ["is too short (minimum is 8 characters)"]
    if problems:
        return _not_saved(problems)
    # No token: the user has none until an admin creates one (below)
    user = User(store.next_id(), username, str(call.param("name")), "", _flag(call, "admin"))
    user.email = email
    store.users[user.id] = user
    return ok(_user_with_admin(store, user, confirmed=_flag(call, "skip_confirmation")), 201)


def _user_with_admin(store: Store, user: User, *, confirmed: bool) -> dict[str, Any]:
    """lib/api/entities/user_with_admin.rb: the public user, its email and is_admin."""
    now = entities.stamp(store.now())
    return {
        **entities.user(store, user),
        "created_at": now,
        "bio": "",
        "location": "",
        "public_email": None,
        "organization": "",
        "job_title": "",
        "bot": False,
        "last_sign_in_at": None,
        "confirmed_at": now if confirmed else None,
        "last_activity_on": None,
        "email": user.email,
        "projects_limit": 100000,
        "current_sign_in_at": None,
        "identities": [],
        "can_create_group": True,
        "can_create_project": True,
        "two_factor_enabled": False,
        "external": False,
        "private_profile": False,
        "commit_email": user.email,
        "is_admin": user.admin,
        "note": None,
    }


@route("POST", "/users/:user_id/personal_access_tokens")
@_grape
def create_personal_access_token(store: Store, call: Call) -> Reply:
    """An admin creates a token for a user (user_tokens.md): the only way to a token of
    someone else, and the only answer that shows its secret."""
    _admin(call.user)
    _require(call, "name")
    scopes = call.values("scopes")
    if not scopes:
        raise _BadParameter("scopes is missing")
    if any(s not in SCOPES for s in scopes):
        raise _BadParameter("scopes does not have a valid value")
    expires = call.param("expires_at")
    try:
        expires_at = date.fromisoformat(expires) if expires else None
    except ValueError:
        raise _BadParameter("expires_at is invalid") from None
    owner = store.users.get(int(call.args["user_id"]))
    if owner is None:
        raise ApiError(404, "404 User Not Found")
    secret = f"glpat-{secrets.token_urlsafe(15)}"
    token = PersonalToken(
        store.next_id(),
        owner.id,
        str(call.param("name")),
        tuple(dict.fromkeys(scopes)),
        expires_at,
        store.now(),
    )
    store.personal_tokens[secret] = token
    return ok({**_token(token), "token": secret}, 201)


def _token(token: PersonalToken) -> dict[str, Any]:
    """lib/api/entities/personal_access_token.rb"""
    return {
        "id": token.id,
        "name": token.name,
        "revoked": False,
        "created_at": entities.stamp(token.created_at),
        "description": None,
        "scopes": list(token.scopes),
        "user_id": token.user_id,
        "last_used_at": None,
        "active": True,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


# -- groups and projects ----------------------------------------------------------------------


def _visibility(call: Call) -> str:
    value = call.param("visibility") or "private"  # default_group/project_visibility
    if value not in VISIBILITIES:
        raise _BadParameter("visibility does not have a valid value")
    return value


def _level(levels: dict[int, int], user: User) -> int:
    return OWNER if user.admin else levels.get(user.id, 0)


@route("POST", "/groups")
@_grape
def create_group(store: Store, call: Call) -> Reply:
    """POST /groups (groups.md, "Create a group"), a subgroup with ``parent_id``."""
    _require(call, "name", "path")
    parent_id = _integer(call, "parent_id")
    visibility = _visibility(call)
    path = str(call.param("path"))
    parent = None
    if parent_id is not None:
        parent = store.groups.get(parent_id)
        if parent is None:
            raise ApiError(404, "404 Group Not Found")
        # create_subgroup: Maintainer of the parent, GitLab's default subgroup creation level
        if _level(store.group_members_all(parent), call.user) < MAINTAINER:
            raise ApiError(403, FORBIDDEN)
    full_path = f"{parent.full_path}/{path}" if parent else path
    problems: dict[str, list[str]] = {}
    if not _PATH.match(path):
        problems["path"] = [_PATH_RULE]
    elif _taken(store, full_path):
        problems["path"] = ["has already been taken"]
    if parent is not None and _rank(visibility) > _rank(parent.visibility):
        problems["visibility_level"] = [
            f"{visibility} is not allowed since the parent group has a {parent.visibility} "
            "visibility."
        ]
    if problems:
        # render_api_error!("Failed to save group #{group.errors.messages}", 400): Ruby's Hash
        shown = ", ".join(f":{k}=>{_ruby(v)}" for k, v in problems.items())
        raise ApiError(400, f"Failed to save group {{{shown}}}")
    group = store.add_group(full_path, str(call.param("name")))
    group.visibility = visibility
    group.members[call.user.id] = OWNER  # Groups::CreateService: the creator is its Owner
    return ok({**entities.group(store, group), "visibility": visibility}, 201)


def _ruby(texts: list[str]) -> str:
    return "[" + ", ".join('"' + t.replace('"', '\\"') + '"' for t in texts) + "]"


def _rank(visibility: str) -> int:
    return VISIBILITIES.index(visibility)


def _taken(store: Store, full_path: str) -> bool:
    """One route per path: a group and a project cannot share one."""
    return store.group(full_path) is not None or store.project(full_path) is not None


@route("POST", "/projects")
@_grape
def create_project(store: Store, call: Call) -> Reply:
    """POST /projects (projects.md, "Create a project") in a group's namespace."""
    name, path = call.param("name"), call.param("path")
    if not name and not path:
        raise _BadParameter("name, path are missing, at least one parameter must be provided")
    namespace_id = _integer(call, "namespace_id")
    visibility = _visibility(call)
    if namespace_id is None:
        # GitLab puts it in the user's own namespace; the sandbox has only groups
        raise ApiError(400, "the sandbox has no personal namespaces: give a group's namespace_id")
    path = path or re.sub(r"[^a-z0-9_.-]+", "-", str(name).lower()).strip("-")
    name = name or path
    group = store.groups.get(namespace_id)
    if group is None or _level(store.group_members_all(group), call.user) < MAINTAINER:
        return _not_saved({"namespace": ["is not valid"]})
    full_path = f"{group.full_path}/{path}"
    problems: dict[str, list[str]] = {}
    if any(p.namespace_id == group.id and p.name == name for p in store.projects.values()):
        problems["name"] = ["has already been taken"]
    if not _PATH.match(path):
        problems["path"] = [_PATH_RULE]
    elif _taken(store, full_path):
        problems["path"] = ["has already been taken"]
    if problems:
        return _not_saved(problems)
    project = store.add_project(full_path, name)
    project.visibility = visibility
    project.default_branch = call.param("default_branch") or project.default_branch
    if _flag(call, "initialize_with_readme"):
        readme: list[dict[str, object]] = [
            {"action": "create", "file_path": "README.md", "content": f"# {name}\n"}
        ]
        store.commit(project, call.user, project.default_branch, "Initial commit", readme)
    return ok(entities.project(store, project), 201)


# -- members ----------------------------------------------------------------------------------


class _Refused(Exception):
    """A membership its model's validations refuse (render_validation_error!)."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__(str(problems))
        self.problems = problems


def _source(store: Store, call: Call, kind: str) -> tuple[Group | Project, dict[int, int]]:
    """The group or the project, and the levels (members/all) that say who manages it:
    admin_group_member is for Owners, admin_project_member for Maintainers."""
    if kind == "groups":
        group = store.must_group(call.args["id"])
        levels, needed = store.group_members_all(group), OWNER
        source: Group | Project = group
    else:
        source = store.must_project(call.args["id"])
        levels, needed = store.project_members_all(source), MAINTAINER
    if _level(levels, call.user) < needed:
        raise ApiError(403, FORBIDDEN)
    return source, levels


def _access_level(store: Store, call: Call, source: Group | Project, user_id: int) -> int:
    level = _integer(call, "access_level")
    if level not in ACCESS_LEVELS:
        raise _Refused({"access_level": ["is not included in the list"]})
    parent = source.parent_id if isinstance(source, Group) else source.namespace_id
    for group in store.ancestors(parent):
        held = group.members.get(user_id, 0)
        if held > level:
            inherited = f"{ACCESS_LEVELS[held]} inherited membership from group {group.name}"
            raise _Refused({"access_level": [f"should be greater than or equal to {inherited}"]})
    return level


def _add_member(store: Store, call: Call, kind: str) -> Reply:
    _require(call, "access_level", "user_id")
    source, _ = _source(store, call, kind)
    raw = str(call.param("user_id"))
    user = store.users.get(int(raw)) if raw.isdigit() else None
    if user is not None and user.id in source.members:
        raise ApiError(409, "Member already exists")
    if user is None:
        raise ApiError(404, "404 User Not Found")
    try:
        level = _access_level(store, call, source, user.id)
    except _Refused as refused:
        return _not_saved(refused.problems)
    source.members[user.id] = level
    return ok(entities.member(store, user, level), 201)


def _update_member(store: Store, call: Call, kind: str) -> Reply:
    _require(call, "access_level")
    source, _ = _source(store, call, kind)
    user_id = int(call.args["user_id"])
    if user_id not in source.members:
        raise ApiError(404, "404 Not found")  # find_by!: ActiveRecord::RecordNotFound
    try:
        level = _access_level(store, call, source, user_id)
    except _Refused as refused:
        return _not_saved(refused.problems)
    source.members[user_id] = level
    return ok(entities.member(store, store.users[user_id], level))


@route("POST", "/groups/:id/members")
@_grape
def add_group_member(store: Store, call: Call) -> Reply:
    return _add_member(store, call, "groups")


@route("POST", "/projects/:id/members")
@_grape
def add_project_member(store: Store, call: Call) -> Reply:
    return _add_member(store, call, "projects")


@route("PUT", "/groups/:id/members/:user_id")
@_grape
def update_group_member(store: Store, call: Call) -> Reply:
    return _update_member(store, call, "groups")


@route("PUT", "/projects/:id/members/:user_id")
@_grape
def update_project_member(store: Store, call: Call) -> Reply:
    return _update_member(store, call, "projects")


@route("GET", "/groups/:id/members/:user_id")
def get_group_member(store: Store, call: Call) -> Reply:
    return _direct_member(store, store.must_group(call.args["id"]).members, call)


@route("GET", "/projects/:id/members/:user_id")
def get_project_member(store: Store, call: Call) -> Reply:
    return _direct_member(store, store.must_project(call.args["id"]).members, call)


def _direct_member(store: Store, members: dict[int, int], call: Call) -> Reply:
    """members.md, "Get a member": direct members only (members/all/:user_id for others)."""
    user_id = int(call.args["user_id"])
    if user_id not in members:
        raise ApiError(404, "404 Not found")
    return ok(entities.member(store, store.users[user_id], members[user_id]))
