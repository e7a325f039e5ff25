"""Which linked issues are a request's tracking issues (docs/explanation/after-approval.md):
neither incidents nor exception requests; listed by reference, at most MAX_LISTED."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exception_bot.domain.model import LinkedIssue
from exception_bot.domain.review.tracking import MAX_LISTED, tracking_issues
from exception_bot.domain.settings import Config
from tests.issues import FakeIssue, person
from tests.requests import NOW, body

PLAIN = LinkedIssue("app/backend", 12, "opened", frozenset(), "Upgrade the agent")


@pytest.mark.parametrize(
    ("link", "tracking"),
    [
        (PLAIN, True),
        (replace(PLAIN, state="closed"), True),
        (replace(PLAIN, issue_type="incident"), False),
        (replace(PLAIN, labels=frozenset({"Incident"})), False),
        (replace(PLAIN, labels=frozenset({"ExceptionRequest"})), False),
        (replace(PLAIN, description="Follow-up of <!-- Exception Request: EXC-0042 -->"), True),
        (replace(PLAIN, description="<!--\nException Renewal: extend ...\n-->\n"), False),
    ],
)
def test_which_links_are_tracking_issues(link: LinkedIssue, tracking: bool, config: Config) -> None:
    issue = FakeIssue(body("low_staging"), person("bob"), NOW, links=[link]).snapshot()
    assert bool(tracking_issues(issue, config).listed) is tracking


def test_listed_by_reference_and_bounded(config: Config) -> None:
    links = [replace(PLAIN, project=f"app/p{n:02d}", iid=n) for n in range(MAX_LISTED + 4, 0, -1)]
    issue = FakeIssue(body("low_staging"), person("bob"), NOW, links=links).snapshot()
    found = tracking_issues(issue, config)
    assert [link.iid for link in found.listed] == list(range(1, MAX_LISTED + 1))
    assert found.more == 4
    rows = found.rows()
    assert rows[0] == {"reference": "app/p01#1", "state": "open"}
