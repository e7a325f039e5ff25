"""The sandbox's hooks back off as GitLab's do (app/models/concerns/web_hooks/
auto_disabling.rb): the fourth failure in a row disables a hook for a minute, each later one
for twice as long up to a day, the fortieth for good; a success clears it all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exception_bot.sandbox.webhook_model import WebHook

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("project_id", "group_id"), [(1, None), (None, 2)])
def test_backoff_then_for_good(project_id: int | None, group_id: int | None) -> None:
    hook = WebHook(7, "https://bot.example/h", NOW, project_id, group_id)
    for _ in range(3):
        hook.record(False, NOW)
    assert hook.alert_status(NOW) == "executable"
    hook.record(False, NOW)
    assert hook.alert_status(NOW) == "temporarily_disabled"
    assert hook.disabled_until == NOW + timedelta(minutes=1)
    assert hook.executable(NOW + timedelta(minutes=1))
    hook.record(False, NOW)
    assert hook.disabled_until == NOW + timedelta(minutes=2)
    for _ in range(40):
        hook.record(False, NOW)
    assert hook.disabled_until == NOW + timedelta(days=1)  # the backoff stops growing
    assert hook.alert_status(NOW + timedelta(days=2)) == "disabled"
    assert not hook.executable(NOW + timedelta(days=2))
    hook.record(True, NOW)
    assert hook.alert_status(NOW) == "executable"
