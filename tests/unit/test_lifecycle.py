"""After approval: register, due date, activation, expiry reminders, expiry, fix verification."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import yaml

from exception_bot.domain.actions import CloseIssue, SetDueDate
from exception_bot.domain.model import State
from exception_bot.domain.settings import Config
from tests.issues import FakeIssue
from tests.support.decisions import (
    BOB,
    CAROL,
    ERIN,
    SAM,
    SUE,
    TOM,
    front,
    low_request,
    posted,
    step,
)


def approved(config: Config) -> FakeIssue:
    issue = low_request()
    step(issue, config)
    for approver, item in [
        (CAROL, "Department head approval"),
        (SAM, "Security team approval"),
        (ERIN, "Policy owner approval"),
        (SUE, "Security Compliance review"),
    ]:
        issue.later(hours=1).tick(approver, item)
        step(issue, config)
    return issue


def test_approval_writes_the_register_and_the_due_date(config: Config) -> None:
    issue = approved(config)
    assert issue.due_date == date(2027, 1, 15)
    (commit,) = issue.register
    assert commit.path == "exceptions/EXC-0007-confidential.md"  # the template's /confidential
    assert commit.message.startswith("EXC-0007: approved")
    matter = front(issue)
    assert matter["status"] == "approved"
    assert [a["user"] for a in matter["approvals"]] == ["carol", "sam", "erin", "sue"]  # type: ignore[attr-defined]
    assert dict(commit.row)["path"] == commit.path
    assert "## Activation\n\n- [ ] Compensating controls implemented" in issue.description
    assert step(issue, config, minutes=5).actions == ()


def test_activation_by_the_requester_counts_an_outsider_does_not(config: Config) -> None:
    issue = approved(config)
    issue.later(hours=1).tick(TOM, "Compensating controls implemented")
    outcome = step(issue, config)
    assert outcome.state is State.APPROVED
    assert any(
        "@tom, I unticked **Compensating controls implemented**" in b for b in posted(outcome)
    )
    assert "- [ ] Compensating controls implemented" in issue.description
    issue.later(hours=1).tick(BOB, "Compensating controls implemented")
    assert step(issue, config).state is State.ACTIVE
    assert "exception::active" in issue.labels
    assert front(issue)["status"] == "active"
    assert front(issue)["activated_at"] == issue.clock.isoformat()  # type: ignore[union-attr]


def test_expiry_reminders_expiry_and_fix_verification(config: Config) -> None:
    issue = approved(config)
    issue.later(hours=1).tick(BOB, "Compensating controls implemented")
    step(issue, config)
    reminders = []
    for day in ["2026-12-31", "2027-01-01", "2027-01-02", "2027-01-08", "2027-01-14", "2027-01-15"]:
        issue.at(datetime.fromisoformat(f"{day}T09:00:00+00:00"))
        reminders.append(
            sum("This exception expires on 2027-01-15" in b for b in posted(step(issue, config)))
        )
    assert reminders == [0, 1, 0, 1, 1, 0]
    issue.at(datetime(2027, 1, 16, 0, 5, tzinfo=UTC))
    outcome = step(issue, config)
    assert outcome.state is State.EXPIRED
    assert front(issue)["status"] == "expired"
    assert "## Verification\n\n- [ ] Fix verified" in issue.description
    assert any("expired at the end of 2027-01-15" in b for b in posted(outcome))
    issue.later(hours=2).tick(BOB, "Fix verified")
    assert step(issue, config).state is State.EXPIRED
    assert "- [ ] Fix verified" in issue.description
    issue.later(hours=2).tick(SUE, "Fix verified")
    outcome = step(issue, config)
    assert outcome.state is State.CLOSED
    assert outcome.actions[-1] == CloseIssue(outcome.issue)
    assert issue.state == "closed"
    last = issue.register[-1]
    assert last.path.startswith("archive/EXC-0007-")
    # Where the entry stood, and where a bot that wrote confidential titles had put it.
    assert last.remove == (
        "exceptions/EXC-0007-confidential.md",
        "exceptions/EXC-0007-exception-request.md",
    )
    assert yaml.safe_load(last.content.split("---")[1])["status"] == "closed"


def test_a_late_start_posts_only_the_nearest_reminder(config: Config) -> None:
    issue = approved(config)
    issue.at(datetime(2027, 1, 14, 12, 0, tzinfo=UTC))
    texts = posted(step(issue, config))
    assert sum("expires on" in t for t in texts) == 1
    assert any("(1 day left)" in t for t in texts)
    assert not any(isinstance(a, SetDueDate) for a in step(issue, config, minutes=5).actions)


def test_revocation_by_security_compliance(config: Config) -> None:
    issue = approved(config)
    issue.later(hours=1).tick(BOB, "Compensating controls implemented")
    step(issue, config)
    issue.later(days=3).label(BOB, "exception-action::revoke")
    outcome = step(issue, config)
    assert outcome.state is State.ACTIVE
    assert any("which only Security Compliance or CISO may add" in b for b in posted(outcome))
    assert "exception-action::revoke" not in issue.labels
    issue.later(hours=1).label(SUE, "exception-action::revoke")
    outcome = step(issue, config)
    assert outcome.state is State.REVOKED
    assert issue.state == "closed"
    assert "exception::revoked" in issue.labels
    matter = front(issue)
    assert (matter["status"], matter["revoked_by"]) == ("revoked", "sue")
    assert matter["closed_at"] == issue.clock.isoformat()  # type: ignore[union-attr]
    assert issue.register[-1].path.startswith("archive/")
    # Reopened (or left open by a run that died before closing it): closed again, still
    # revoked, the register untouched.
    issue.state, written = "opened", len(issue.register)
    outcome = step(issue, config, hours=1)
    assert (outcome.state, issue.state) == (State.REVOKED, "closed")
    assert outcome.actions[-1] == CloseIssue(outcome.issue)
    assert len(issue.register) == written


def test_revoke_before_approval_is_refused(config: Config) -> None:
    issue = low_request()
    step(issue, config)
    issue.later(hours=1).label(SUE, "exception-action::revoke")
    outcome = step(issue, config)
    assert outcome.state is State.IN_REVIEW
    assert any("it does not apply to a request that is in-review" in b for b in posted(outcome))
    assert "exception-action::revoke" not in issue.labels


def test_the_renewal_link_opens_the_template_with_renews_filled_in(config: Config) -> None:
    issue = approved(config)
    issue.at(datetime(2027, 1, 1, 9, 0, tzinfo=UTC))
    (reminder,) = [t for t in posted(step(issue, config)) if "expires on" in t]
    url = re.search(r"\((https://[^)]+/-/issues/new\?[^)]+)\)", reminder)
    assert url is not None
    query = parse_qs(urlsplit(url.group(1)).query)
    assert query["issue[title]"] == ["Renewal of #7: Exception request"]
    (description,) = query["issue[description]"]
    assert "## Renews\n\n<!-- The exception this renews" in description
    assert "\n#7\n" in description
