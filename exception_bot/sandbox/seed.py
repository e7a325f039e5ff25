"""Seed scenarios: users, groups, projects, issues, files and merge requests, from YAML or JSON.

edition: premium                              # or free (the default): see Store.edition
users: [exception-bot, {username: alice, name: Alice Adams, admin: false, state: blocked}]
groups: [{path: security, members: {sam: developer}, shared_with: {audit: reporter}}]
projects:
  - path: security/exceptions
    members: {bob: reporter}
    visibility: internal                      # or private (the default), public
    labels: [{name: ExceptionRequest, color: "#428bca"}]
    issues: [{author: bob, title: ..., description: ..., labels: [...], created_at: ...}]
    files: {README.md: "# Register"}          # one initial commit on the default branch
    merge_requests: [{author: bob, title: ..., changes: [...], approved_by: [carol]}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from exception_bot.sandbox.policy import VISIBILITIES
from exception_bot.sandbox.store import (
    DEVELOPER,
    EDITIONS,
    GUEST,
    MAINTAINER,
    NEW_LABEL_COLOR,
    OWNER,
    REPORTER,
    Label,
    MergeRequest,
    Project,
    Store,
    User,
)

LEVELS = {
    "guest": GUEST,
    "reporter": REPORTER,
    "developer": DEVELOPER,
    "maintainer": MAINTAINER,
    "owner": OWNER,
}
DEMO = Path(__file__).parent / "seeds" / "demo.yml"


class SeedError(ValueError):
    """A seed that names something it does not define, or has the wrong shape."""


Seed = Mapping[str, Any] | Path | str  # a scenario, or the path of its YAML or JSON file


def read(source: Seed) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    if not isinstance(data, Mapping):
        raise SeedError(f"{source}: a seed is a mapping with users, groups and projects")
    return data


def load(store: Store, source: Seed) -> None:
    data = read(source)
    if "edition" in data:
        if data["edition"] not in EDITIONS:
            choices = ", ".join(EDITIONS)
            raise SeedError(f"edition must be one of {choices}, not {data['edition']!r}")
        store.edition = str(data["edition"])
    for entry in data.get("users") or ():
        spec = {"username": entry} if isinstance(entry, str) else dict(entry)
        store.add_user(
            str(spec["username"]),
            str(spec.get("name") or ""),
            str(spec.get("token") or ""),
            bool(spec.get("admin")),
        ).state = str(spec.get("state") or "active")
    for spec in data.get("groups") or ():
        group = store.group(str(spec["path"])) or store.add_group(str(spec["path"]))
        group.members.update(_members(store, spec.get("members") or {}))
        _labels(store, group.labels, spec.get("labels") or ())
        group.shared_with.update(_shares(store, spec.get("shared_with") or {}))
    for spec in data.get("projects") or ():
        project = store.project(str(spec["path"])) or store.add_project(str(spec["path"]))
        project.members.update(_members(store, spec.get("members") or {}))
        project.visibility = _visibility(spec.get("visibility") or project.visibility)
        _labels(store, project.labels, spec.get("labels") or ())
        if spec.get("files"):
            _initial_commit(store, project, spec["files"])
        for issue in spec.get("issues") or ():
            _issue(store, project, issue)
        for mr in spec.get("merge_requests") or ():
            _merge_request(store, project, mr)


def _labels(store: Store, into: dict[str, Label], specs: Iterable[Mapping[str, Any]]) -> None:
    for label in specs:
        color = str(label.get("color") or NEW_LABEL_COLOR)
        store.create_label(into, str(label["name"]), color, label.get("description"))


def _user(store: Store, username: object) -> User:
    found = store.user_named(str(username))
    if found is None:
        raise SeedError(f"the seed names user '{username}' but does not define it under users")
    return found


def _members(store: Store, members: Mapping[str, object]) -> dict[int, int]:
    out = {}
    for username, level in members.items():
        out[_user(store, username).id] = _level(level)
    return out


def _shares(store: Store, shares: Mapping[str, object]) -> dict[int, int]:
    """Invited group path -> the link's group_access (POST /groups/:id/share, groups.md)."""
    out = {}
    for path, level in shares.items():
        invited = store.group(str(path)) or store.add_group(str(path))
        out[invited.id] = _level(level)
    return out


def _visibility(value: object) -> str:
    if value not in VISIBILITIES:
        raise SeedError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {value!r}")
    return str(value)


def _level(level: object) -> int:
    value = level if isinstance(level, int) else LEVELS.get(str(level).lower())
    if value is None:
        raise SeedError(f"unknown access level '{level}': use one of {', '.join(LEVELS)}")
    return value


def _issue(store: Store, project: Project, spec: Mapping[str, Any]) -> None:
    created = spec.get("created_at")
    store.create_issue(
        project,
        _user(store, spec["author"]),
        str(spec.get("title") or "Issue"),
        str(spec.get("description") or ""),
        labels=[str(n) for n in spec.get("labels") or ()],
        confidential=bool(spec.get("confidential")),
        issue_type=str(spec.get("issue_type") or "issue"),
        created_at=_when(created) if created else None,
    )


def _when(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _initial_commit(store: Store, project: Project, files: Mapping[str, str]) -> None:
    author = next((u for u in store.users.values() if u.admin), None) or next(
        iter(store.users.values())
    )
    actions: list[dict[str, object]] = [
        {"action": "create", "file_path": path, "content": content}
        for path, content in files.items()
    ]
    store.commit(project, author, project.default_branch, "Initial commit", actions)


def _merge_request(store: Store, project: Project, spec: Mapping[str, Any]) -> None:
    now = store.now()
    iid = len(project.merge_requests) + 1
    project.merge_requests[iid] = MergeRequest(
        store.next_id(),
        iid,
        project.id,
        str(spec.get("title") or "Merge request"),
        str(spec.get("description") or ""),
        _user(store, spec["author"]).id,
        str(spec.get("source_branch") or f"mr-{iid}"),
        str(spec.get("target_branch") or project.default_branch),
        now,
        now,
        state=str(spec.get("state") or "opened"),
        labels=[str(n) for n in spec.get("labels") or ()],
        changes=list(spec.get("changes") or ()),
        approved_by=[_user(store, u).id for u in spec.get("approved_by") or ()],
    )
