"""GitLab's webhook deliveries made by hand, in the documented shapes
(gitlabhq doc/user/project/integrations/webhook_events.md: "Work item events", "Comment on an
issue", "Merge request events"), with GitLab's headers; and ``serve``'s service started in
this process on the sandbox."""

from __future__ import annotations

import time
import uuid as uuids
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import gitlab
import requests

from exception_bot.config import load_config
from exception_bot.gitlab import GitLab
from exception_bot.sandbox import Sandbox
from exception_bot.service import Service
from exception_bot.service.worker import Settings
from exception_bot.webhook_setup import HOOK_EVENTS

SECRET = "s3cret-for-tests"


def project_of(sandbox: Sandbox, path: str) -> dict[str, Any]:
    """A payload's ``project`` object, as GitLab writes it."""
    project = next(p for p in sandbox.store.projects.values() if p.path_with_namespace == path)
    return {
        "id": project.id,
        "name": path.rsplit("/", 1)[1],
        "path_with_namespace": path,
        "web_url": f"{sandbox.url}/{path}",
        "default_branch": "main",
    }


def issue_hook(project: dict[str, Any], iid: int, action: str = "update") -> dict[str, Any]:
    stamp = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
    return {
        "object_kind": "issue",
        "event_type": "issue",
        "user": {"id": 1, "name": "Someone", "username": "someone"},
        "project": project,
        "object_attributes": {
            "id": 1000 + iid,
            "iid": iid,
            "project_id": project["id"],
            "updated_at": stamp,
            "action": action,
            "state": "opened",
            "type": "Issue",
        },
        "labels": [],
        "changes": {},
    }


def note_hook(
    project: dict[str, Any], iid: int, noteable: str = "Issue", note: str = "a comment"
) -> dict[str, Any]:
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    target = {"issue": {"iid": iid, "id": 1000 + iid}}
    if noteable == "MergeRequest":
        target = {"merge_request": {"iid": iid, "id": 2000 + iid}}
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": {"id": 1, "name": "Someone", "username": "someone"},
        "project_id": project["id"],
        "project": project,
        "object_attributes": {
            "id": 5000 + iid,
            "note": note,
            "noteable_type": noteable,
            "created_at": stamp,
            "updated_at": stamp,
            "action": "create",
        },
        **target,
    }


def merge_request_hook(project: dict[str, Any], iid: int) -> dict[str, Any]:
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"id": 1, "name": "Someone", "username": "someone"},
        "project": project,
        "object_attributes": {"iid": iid, "action": "merge", "state": "merged"},
        "labels": [],
        "changes": {},
    }


HOOK_OF = {"issue": "Issue Hook", "note": "Note Hook", "merge_request": "Merge Request Hook"}


def deliver(
    url: str,
    payload: dict[str, Any] | bytes,
    *,
    hook: str | None = None,
    token: str | None = SECRET,
    event_uuid: str | None = None,
) -> requests.Response:
    """POST a delivery as GitLab sends it (headers from lib/gitlab/web_hooks/... and
    app/services/web_hook_service.rb: X-Gitlab-Event, X-Gitlab-Token, X-Gitlab-Event-UUID)."""
    if hook is None:
        assert isinstance(payload, dict)
        hook = HOOK_OF[payload["object_kind"]]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/18.6.0",
        "X-Gitlab-Event": hook,
        "X-Gitlab-Event-UUID": event_uuid or str(uuids.uuid4()),
        "X-Gitlab-Webhook-UUID": "4f1e9c5a-0000-4000-8000-000000000000",
        "X-Gitlab-Instance": url,
    }
    if token is not None:
        headers["X-Gitlab-Token"] = token
    if isinstance(payload, bytes):
        return requests.post(f"{url}/webhook", data=payload, headers=headers, timeout=30)
    return requests.post(f"{url}/webhook", json=payload, headers=headers, timeout=30)


def until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether ``check`` holds within ``timeout`` seconds: what a background thread (the
    service's worker, the sandbox's deliveries) does is waited for, never slept on."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


def register_hooks(sandbox: Sandbox, url: str, projects: tuple[str, ...]) -> None:
    """The sandbox's project hooks of ``projects`` POST to the service at ``url``, with the
    secret, as `setup --apply` registers them (a Maintainer's API call); the sandbox, like a
    new GitLab, refuses loopback URLs until the admin setting allows them."""
    sandbox.allow_local_webhooks()
    gl = gitlab.Gitlab(sandbox.url, private_token=sandbox.token("exception-bot"))
    for path in projects:
        data = {"url": f"{url}/webhook", "token": SECRET, **HOOK_EVENTS}
        gl.projects.get(path, lazy=True).hooks.create(data)


@contextmanager
def service(
    sandbox: Sandbox,
    config: Any,
    clock: Any,
    every: timedelta = timedelta(minutes=15),
    first_pass_now: bool = True,
    cooldown: float = 0.0,
) -> Iterator[tuple[Service, str]]:
    """``serve`` in this process against the sandbox, as the bot's user, at ``clock()``;
    without the cooldown between two runs of an issue unless asked (a test acts fast)."""
    settings = load_config(config) if not hasattr(config, "gitlab") else config
    gitlab = GitLab.connect(sandbox.url, sandbox.token("exception-bot"))
    how = Settings(every, first_pass_now=first_pass_now, cooldown=cooldown)
    made = Service(gitlab, settings, SECRET, clock, how)
    with made.running() as url:
        yield made, url
