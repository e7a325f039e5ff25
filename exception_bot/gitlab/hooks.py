"""Webhooks of a project or a group: read, created once, updated (``exception-bot setup``,
``check-config --online``). doc/api/project_webhooks.md, doc/api/group_webhooks.md: listing
and changing them needs Maintainer on a project and Owner on a group (Premium); GitLab never
shows a hook's secret token again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gitlab

from exception_bot.gitlab.client import Client
from exception_bot.gitlab.writes import ONCE, once


@dataclass(frozen=True)
class HookInfo:
    """A hook as GitLab lists it: its id, URL, event switches and whether it is executable
    (``alert_status``: GitLab stops calling a hook that keeps failing for a while)."""

    id: int
    url: str
    events: dict[str, bool]
    alert_status: str


class Hooks:
    def __init__(self, client: Client) -> None:
        self._client = client

    def _owner(self, kind: str, target: str) -> Any:
        if kind == "group":
            return self._client.gl.groups.get(target, lazy=True)
        return self._client.project(target)

    def webhooks(self, kind: str, target: str) -> list[HookInfo] | None:
        """The hooks of the project or group (``kind``: "project" or "group"); None when
        GitLab will not show them: 403 to a non-Maintainer (non-Owner of a group), 404 for a
        group on GitLab Free, which has no group hooks."""
        try:
            found = self._owner(kind, target).hooks.list(get_all=True)
        except gitlab.GitlabError as err:
            if err.response_code in (403, 404):
                return None
            raise
        return [_info(dict(h.attributes)) for h in found]

    def add_webhook(
        self, kind: str, target: str, url: str, events: dict[str, bool], token: str
    ) -> int:
        data: dict[str, Any] = {"url": url, **events, "enable_ssl_verification": True}
        if token:
            data["token"] = token

        def send() -> int:
            return int(self._owner(kind, target).hooks.create(data, **ONCE).id)

        # Sent again after a lost answer it would make a second hook: look for one at the URL.
        return once(
            self._client,
            f"{target}: adding the webhook",
            send,
            lambda: next((h.id for h in self.webhooks(kind, target) or [] if h.url == url), None),
        )

    def update_webhook(
        self,
        kind: str,
        target: str,
        hook_id: int,
        url: str,
        events: dict[str, bool],
        token: str = "",
    ) -> None:
        data: dict[str, Any] = {"url": url, **events}
        if token:  # left out, GitLab keeps the hook's secret as it is
            data["token"] = token
        self._client.before_write()
        self._owner(kind, target).hooks.update(hook_id, data)


def _info(raw: dict[str, Any]) -> HookInfo:
    events = {k: bool(v) for k, v in raw.items() if k.endswith("_events")}
    return HookInfo(
        int(raw["id"]), str(raw.get("url") or ""), events, str(raw.get("alert_status") or "")
    )
