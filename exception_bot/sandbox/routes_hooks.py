"""Project and group webhooks (doc/api/project_webhooks.md, doc/api/group_webhooks.md).

Read from gitlabhq:

- lib/api/project_hooks.rb: every route needs ``admin_project`` (``authorize_admin_project``;
  app/policies/project_policy.rb gives it to Maintainers); a URL that fails validation answers
  422 "Invalid url given"; ``token`` is write-only ("this will not be returned in the
  response"), so no entity shows it. DELETE answers 204.
- app/models/hooks/web_hook.rb validates the URL with ``public_url`` unless the admin setting
  ``allow_local_requests_from_web_hooks_and_services`` is on (off by default): a hook to
  localhost or a private address is refused (lib/gitlab/url_blocker.rb).
- ee/lib/api/group_hooks.rb: group hooks are Premium (licensed ``group_webhooks``) and need
  ``admin_group``: the group's Owners. On Free the routes do not exist.
- lib/api/entities/project_hook.rb and hook.rb: the fields shown, ``alert_status``
  (executable, temporarily_disabled, disabled) and ``disabled_until`` among them.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from exception_bot.sandbox import access
from exception_bot.sandbox.api import Call, Reply, ok, paginate, route
from exception_bot.sandbox.entities import stamp
from exception_bot.sandbox.store import MAINTAINER, OWNER, ApiError, Store
from exception_bot.sandbox.webhook_model import EVENT_FLAGS, WebHook

_TRUE, _FALSE = ("true", "1", "yes", "t"), ("false", "0", "no", "f")


@route("GET", "/projects/:id/hooks")
def list_project_hooks(store: Store, call: Call) -> Reply:
    project_id = _project(store, call)
    found = [h for h in store.hooks.values() if h.project_id == project_id]
    return paginate(call, found, lambda h: entity(store, h))


@route("GET", "/projects/:id/hooks/:hook_id")
def get_project_hook(store: Store, call: Call) -> Reply:
    return ok(entity(store, _hook(store, call, project_id=_project(store, call))))


@route("POST", "/projects/:id/hooks")
def create_project_hook(store: Store, call: Call) -> Reply:
    return ok(entity(store, _create(store, call, project_id=_project(store, call))), 201)


@route("PUT", "/projects/:id/hooks/:hook_id")
def update_project_hook(store: Store, call: Call) -> Reply:
    hook = _hook(store, call, project_id=_project(store, call))
    return ok(entity(store, _update(store, call, hook)))


@route("DELETE", "/projects/:id/hooks/:hook_id")
def delete_project_hook(store: Store, call: Call) -> Reply:
    hook = _hook(store, call, project_id=_project(store, call))
    del store.hooks[hook.id]
    return Reply(204, None)


@route("GET", "/groups/:id/hooks")
def list_group_hooks(store: Store, call: Call) -> Reply:
    group_id = _group(store, call)
    found = [h for h in store.hooks.values() if h.group_id == group_id]
    return paginate(call, found, lambda h: entity(store, h))


@route("GET", "/groups/:id/hooks/:hook_id")
def get_group_hook(store: Store, call: Call) -> Reply:
    return ok(entity(store, _hook(store, call, group_id=_group(store, call))))


@route("POST", "/groups/:id/hooks")
def create_group_hook(store: Store, call: Call) -> Reply:
    return ok(entity(store, _create(store, call, group_id=_group(store, call))), 201)


@route("PUT", "/groups/:id/hooks/:hook_id")
def update_group_hook(store: Store, call: Call) -> Reply:
    hook = _hook(store, call, group_id=_group(store, call))
    return ok(entity(store, _update(store, call, hook)))


@route("DELETE", "/groups/:id/hooks/:hook_id")
def delete_group_hook(store: Store, call: Call) -> Reply:
    hook = _hook(store, call, group_id=_group(store, call))
    del store.hooks[hook.id]
    return Reply(204, None)


def entity(store: Store, hook: WebHook) -> dict[str, Any]:
    """Entities::ProjectHook / GroupHook: never the token."""
    now = store.now()
    status = hook.alert_status(now)
    data: dict[str, Any] = {
        "id": hook.id,
        "url": hook.url,
        "name": hook.name,
        "description": hook.description,
        "created_at": stamp(hook.created_at),
        **hook.flags,
        "repository_update_events": False,
        "enable_ssl_verification": hook.enable_ssl_verification,
        "alert_status": status,
        "disabled_until": stamp(hook.disabled_until) if status == "temporarily_disabled" else None,
        "url_variables": [],
        "push_events_branch_filter": None,
        "branch_filter_strategy": "wildcard",
        "custom_webhook_template": None,
        "custom_headers": [],
    }
    if hook.project_id is not None:
        data["project_id"] = hook.project_id
    else:
        data["group_id"] = hook.group_id
    return data


def _project(store: Store, call: Call) -> int:
    project = access.project(store, call.args["id"], call.user)
    access.require(access.level(store, project, call.user) >= MAINTAINER or call.user.admin)
    return project.id


def _group(store: Store, call: Call) -> int:
    if store.edition != "premium":  # CE has no group hooks: an unknown route
        raise ApiError(404, "404 Not Found")
    group = access.group(store, call.args["id"], call.user)
    level = store.group_members_all(group).get(call.user.id, 0)
    access.require(level >= OWNER or call.user.admin)
    return group.id


def _hook(
    store: Store, call: Call, project_id: int | None = None, group_id: int | None = None
) -> WebHook:
    hook = store.hooks.get(int(call.args["hook_id"]))
    if hook is None or (hook.project_id, hook.group_id) != (project_id, group_id):
        raise ApiError(404, "404 Not found")
    return hook


def _create(
    store: Store, call: Call, project_id: int | None = None, group_id: int | None = None
) -> WebHook:
    url = call.param("url")
    if not url:
        raise ApiError(400, "400 Bad request - url is missing")
    hook = WebHook(store.next_id(), "", store.now(), project_id, group_id)
    return _update(store, call, hook, created=True)


def _update(store: Store, call: Call, hook: WebHook, created: bool = False) -> WebHook:
    """The hook with the call's fields: all checked before any is set (a failed save changes
    nothing)."""
    url = call.param("url")
    if url is not None and not _valid_url(store, url):
        raise ApiError(422, "Invalid url given")
    flags = {name: _boolean(call, name) for name in EVENT_FLAGS}
    ssl = _boolean(call, "enable_ssl_verification")
    if url is not None:
        hook.url = url
    hook.flags.update({k: v for k, v in flags.items() if v is not None})
    if ssl is not None:
        hook.enable_ssl_verification = ssl
    for key in ("token", "name", "description"):
        if (value := call.param(key)) is not None:
            setattr(hook, key, value)
    if created:
        store.hooks[hook.id] = hook
    return hook


def _boolean(call: Call, name: str) -> bool | None:
    raw = call.body.get(name)
    if isinstance(raw, bool):
        return raw
    value = call.param(name)
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ApiError(400, f"400 Bad request - {name} is invalid")  # Grape's Boolean coercion


def _valid_url(store: Store, url: str) -> bool:
    """AddressableUrlValidator: http(s) with a host; a local or private address only when the
    admin allows requests to the local network from webhooks."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return store.allow_local_hooks or not _local(parts.hostname)


def _local(host: str) -> bool:
    """lib/gitlab/url_blocker.rb: localhost, loopback, private, link-local and unspecified
    addresses (a name is judged by what it is; the sandbox resolves no DNS)."""
    if host.lower() in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return (
        address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified
    )
