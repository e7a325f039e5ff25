"""Webhooks as the sandbox's store keeps them: the hooks registered on projects and groups, and
the events a request records for :mod:`exception_bot.sandbox.webhooks` to deliver after it.

Apart from the store (which imports this module) so that it can hold them without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

VERSION = "17.11.0"  # the GitLab the sandbox plays: User-Agent GitLab/<version>
# Each hook's event switches (doc/api/project_webhooks.md, lib/api/project_hooks.rb
# project_hook_properties) and their defaults on a new hook: app/models/hooks/web_hook.rb and
# the schema give push_events true, every other event false.
EVENT_FLAGS: dict[str, bool] = {
    "push_events": True,
    "tag_push_events": False,
    "issues_events": False,
    "confidential_issues_events": False,
    "merge_requests_events": False,
    "note_events": False,
    "confidential_note_events": False,
    "job_events": False,
    "pipeline_events": False,
    "wiki_page_events": False,
    "deployment_events": False,
    "releases_events": False,
}
# app/models/concerns/web_hooks/auto_disabling.rb: the fourth failure in a row disables a
# hook for a backoff that starts at a minute and doubles up to a day; the fortieth for good,
# until someone re-enables it (gitlab-org/gitlab!166329, 4xx and 5xx alike). GitLab.com does
# this; self-managed only with the ops flag auto_disabling_web_hooks (off by default since
# gitlab-org/gitlab!114508). The sandbox plays the less forgiving GitLab.com.
FAILURE_THRESHOLD = 3
PERMANENT_FAILURES = 40
MAX_BACKOFF_COUNT = 11  # 2**11 minutes is past the day MAX_BACKOFF allows
INITIAL_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(days=1)


@dataclass
class WebHook:
    """A project hook (``project_id``) or a group hook (``group_id``); ``token`` is the secret
    GitLab sends back in ``X-Gitlab-Token`` and never shows again."""

    id: int
    url: str
    created_at: datetime
    project_id: int | None = None
    group_id: int | None = None
    token: str = ""
    enable_ssl_verification: bool = True
    flags: dict[str, bool] = field(default_factory=lambda: dict(EVENT_FLAGS))
    name: str = ""
    description: str = ""
    recent_failures: int = 0
    backoff_count: int = 0
    disabled_until: datetime | None = None

    def executable(self, now: datetime) -> bool:
        """``WebHooks::AutoDisabling#executable?``: not inside a backoff, not disabled."""
        if self.recent_failures >= PERMANENT_FAILURES:
            return False
        return self.disabled_until is None or self.disabled_until <= now

    def alert_status(self, now: datetime) -> str:
        """Entities::Hook's ``alert_status``."""
        if self.recent_failures >= PERMANENT_FAILURES:
            return "disabled"
        return "executable" if self.executable(now) else "temporarily_disabled"

    def record(self, ok: bool, now: datetime) -> None:
        """``enable!`` after a success, ``backoff!`` after a failure (project hooks, and group
        hooks on Premium: EE adds GroupHook to AutoDisabling's hook types)."""
        if ok:
            self.recent_failures, self.backoff_count, self.disabled_until = 0, 0, None
            return
        self.recent_failures += 1
        if self.recent_failures > FAILURE_THRESHOLD:
            backoff = min(MAX_BACKOFF, INITIAL_BACKOFF * 2**self.backoff_count)
            self.backoff_count = min(self.backoff_count + 1, MAX_BACKOFF_COUNT)
            self.disabled_until = now + backoff


@dataclass(frozen=True)
class HookEvent:
    """What one change calls hooks for, recorded by the store and turned into payloads once the
    request is done (GitLab builds the data in the service, then queues the delivery)."""

    kind: str  # "issue", "note" or "merge_request"
    project_id: int
    iid: int  # the issue's or merge request's
    user_id: int
    action: str = ""  # for merge requests and notes; an issue's is worked out from ``before``
    before: dict[str, Any] | None = None  # the issue as it was, None when it was just opened
    note_id: int | None = None


def issue_state(issue: Any) -> dict[str, Any]:
    """The issue's attributes whose change an Issue Hook reports in ``changes``."""
    return {
        "title": issue.title,
        "description": issue.description,
        "state": issue.state,
        "labels": list(issue.labels),
        "assignee_ids": list(issue.assignee_ids),
        "confidential": issue.confidential,
        "due_date": issue.due_date,
        "discussion_locked": issue.discussion_locked,
        "closed_at": issue.closed_at,
        "updated_at": issue.updated_at,
    }
