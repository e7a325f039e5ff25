"""What a GitLab webhook delivery asks of the bot: an issue to process again, the register's
merge requests to watch again, or nothing (and why).

GitLab's payloads (doc/user/project/integrations/webhook_events.md): the ``X-Gitlab-Event``
header names the hook (``Issue Hook``, ``Note Hook``, ``Merge Request Hook``, and the
``Confidential`` variants of the first two), the body's ``object_kind`` the object
(``issue``, ``note``, ``merge_request``), ``project`` the project (``id``,
``path_with_namespace``). A note's target is ``object_attributes.noteable_type`` (``Issue``,
``MergeRequest``, ...) with the issue under ``issue``. Nothing in a payload is believed beyond
which issue to look at: the bot reads the issue from GitLab as ``run --issue`` does, so a
forged payload can at most make the bot look at a request again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from exception_bot.domain.settings import Config

# The hooks whose events can change a request or the register (the other kinds are ignored).
HOOKS = {
    "Issue Hook": "issue",
    "Confidential Issue Hook": "issue",
    "Note Hook": "note",
    "Confidential Note Hook": "note",
    "Merge Request Hook": "merge_request",
}
# GitLab's ids are 32-bit in most tables; a bigger or negative number is no issue of ours.
MAX_ID = 2**31 - 1
# GitLab nests groups 20 deep, each path at most 255 characters: a group hook sees them all
MAX_PATH = 20 * 256


class Ignored(StrEnum):
    """Why a well-formed, authenticated delivery asks nothing of the bot."""

    UNKNOWN_EVENT = "unknown_event"  # a hook kind the bot does not act on
    UNKNOWN_PROJECT = "unknown_project"  # a project the config does not name
    NOT_A_REQUEST = "not_a_request"  # e.g. an issue of the register project
    REPLAYED = "replayed"  # an X-Gitlab-Event-UUID seen before
    OWN_EVENT = "own_event"  # the bot's own write: it decided that already


class Malformed(ValueError):
    """The body is not a GitLab payload of the kind its header names: answered 400."""


@dataclass(frozen=True, order=True)
class IssueWork:
    """Process this request again, as ``run --issue`` does."""

    project: str  # as the config names it (a path, or an id)
    iid: int

    def __str__(self) -> str:
        return f"{self.project}#{self.iid}"


@dataclass(frozen=True, order=True)
class WatchWork:
    """Watch the register's merge-request route again (a merge request of the register
    project changed): a full pass without the weekly report."""

    def __str__(self) -> str:
        return "register watch"


Work = IssueWork | WatchWork


def work_for(hook: str, payload: object, config: Config) -> Work | Ignored:
    """What the delivery of ``hook`` (the ``X-Gitlab-Event`` header) with ``payload`` (the
    parsed JSON body) asks of the bot; :class:`Malformed` when the body does not fit."""
    kind = HOOKS.get(hook)
    if kind is None:
        return Ignored.UNKNOWN_EVENT
    if not isinstance(payload, dict):
        raise Malformed("the body is not a JSON object")
    other = _other_object(kind, payload)
    if other is not None:
        return other
    if payload.get("object_kind") not in (kind, "work_item" if kind == "issue" else kind):
        raise Malformed(f"{hook} without object_kind {kind!r}")
    project = _project(payload)
    requests = _configured(project, (p.path for p in config.gitlab.requests_projects))
    register = _configured(project, (config.gitlab.register_project,))
    if requests is None and register is None:
        return Ignored.UNKNOWN_PROJECT
    attributes = _mapping(payload, "object_attributes")
    if _by(payload) == config.gitlab.bot_user.lower():
        # Each of the bot's writes fires a hook; the run that wrote had read the issue and
        # decided (a second run writes nothing), so running it again would only double the
        # reads. Trusting the payload's user costs nothing here: at worst an event is left
        # to the full pass.
        return Ignored.OWN_EVENT
    if kind == "merge_request":
        return WatchWork() if register is not None else Ignored.NOT_A_REQUEST
    if kind == "note":
        target = attributes.get("noteable_type")
        if target == "MergeRequest" and register is not None:
            return WatchWork()
        if target != "Issue" or requests is None:
            return Ignored.NOT_A_REQUEST
        return IssueWork(requests, _id(_mapping(payload, "issue").get("iid"), "issue.iid"))
    if requests is None:
        return Ignored.NOT_A_REQUEST
    return IssueWork(requests, _id(attributes.get("iid"), "object_attributes.iid"))


def _other_object(kind: str, payload: Mapping[str, Any]) -> Ignored | None:
    """GitLab's own deliveries that name no request: answered 2xx, never 400, since a 4xx
    counts towards GitLab disabling the hook and anyone may cause these.

    An Issue Hook's ``object_kind`` is ``work_item`` for every work item type but issues (a
    task, an incident, an epic: webhook_events.md, "Work item events";
    Gitlab::DataBuilder::Issuable#object_kind is the class's name); an issue that comes as a
    work item (``type`` ``Issue``) is still read as an issue. An object of a group (an epic,
    a comment on it) has a null ``project``."""
    if kind == "issue" and payload.get("object_kind") == "work_item":
        attributes = payload.get("object_attributes")
        if not isinstance(attributes, dict) or attributes.get("type") != "Issue":
            return Ignored.NOT_A_REQUEST
        if payload.get("project") is None:
            return Ignored.UNKNOWN_PROJECT
        return None
    if payload.get("object_kind") == kind and "project" in payload and payload["project"] is None:
        return Ignored.UNKNOWN_PROJECT
    return None


def _by(payload: Mapping[str, Any]) -> str | None:
    """Who did what the event tells (a note's author, an issue's editor)."""
    user = payload.get("user")
    name = user.get("username") if isinstance(user, dict) else None
    # GitLab's usernames are ASCII; str.lower() would make the Kelvin sign a k
    return name.lower() if isinstance(name, str) and name.isascii() else None


def _project(payload: Mapping[str, Any]) -> tuple[int, str]:
    project = _mapping(payload, "project")
    path = project.get("path_with_namespace")
    if not isinstance(path, str) or not 0 < len(path) <= MAX_PATH:
        raise Malformed("project.path_with_namespace is not a project path")
    return _id(project.get("id"), "project.id"), path


def _configured(project: tuple[int, str], names: Any) -> str | None:
    """The config's name of ``project`` (id, path) when the config names it: by path (GitLab
    compares paths without regard to case) or by id."""
    number, path = project
    for name in names:
        if name.lower() == path.lower() or name == str(number):
            return str(name)
    return None


def _mapping(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise Malformed(f"{key} is not an object")
    return value


def _id(value: object, where: str) -> int:
    # bool is an int to Python; true is no id
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_ID:
        raise Malformed(f"{where} is not an id")
    return value
