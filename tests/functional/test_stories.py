"""The main stories end to end, written once against a GitLab URL and an admin's token: each
builds its own projects through GitLab's API (people and role groups are built once a
session), runs the real ``exception-bot``, and checks what the bot did through the API.

On the sandbox by default (CI); on a test GitLab with GITLAB_FUNCTIONAL_URL and
GITLAB_FUNCTIONAL_TOKEN (docs/how-to/functional-tests.md).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.functional.instance import DEVELOPER, MAINTAINER, add_members
from tests.functional.story import RENEWAL_TEMPLATE, Story
from tests.support.merge_route import PATH, exception_file

pytestmark = pytest.mark.functional

DH, ST, PO, SC = (
    "Department head approval",
    "Security team approval",
    "Policy owner approval",
    "Security Compliance review",
)
# The low route of config/exception-bot.yml for a finance request on encryption.
LOW_ROUTE = {
    "exception-stage::department-head": ("carol", DH),
    "exception-stage::security-team": ("victor", ST),
    "exception-stage::policy-owner": ("erin", PO),
    "exception-stage::security-compliance": ("sue", SC),
}
ACTIVATION = "Compensating controls implemented"


def test_happy_path(story: Story) -> None:
    """A request from the template goes through every stage to the register, and is activated."""
    iid = story.open("bob", story.request())
    story.run()
    assert story.labels(iid) >= {"ExceptionRequest", "exception::in-review", "exception-risk::low"}
    assert story.issue(iid).confidential
    assert story.stage(iid) == "exception-stage::department-head"
    turn = " ".join(story.bot_comments(iid, "turn"))
    assert f"@{story.user('carol')}" in turn
    for stage, next_stage in [
        ("exception-stage::department-head", "exception-stage::security-team"),
        ("exception-stage::security-team", "exception-stage::policy-owner"),
        ("exception-stage::policy-owner", "exception-stage::security-compliance"),
    ]:
        name, item = LOW_ROUTE[stage]
        story.tick(name, iid, item).run()
        assert story.stage(iid) == next_stage, story.status(iid)
    story.tick("sue", iid, SC).run()
    assert story.state(iid) == "exception::approved"
    status = story.status(iid)
    for name in ("carol", "victor", "erin", "sue"):
        assert f"| {story.user(name)} |" in status
    entry = story.register_entry(iid)
    assert entry["status"] == "approved"
    assert [a["role"] for a in entry["approvals"]] == [
        "Department Head",
        "Security Team",
        "Policy Owner",
        "Security Compliance",
    ]
    assert story.due_date(iid) is not None
    assert str(story.due_date(iid)) == entry["expires_at"]
    story.tick("bob", iid, ACTIVATION).run()
    assert story.state(iid) == "exception::active"
    assert [(r["id"], r["status"]) for r in story.register_index()] == [
        (f"EXC-{iid:04d}", "active")
    ]


def test_tampering(story: Story) -> None:
    """A requester who labels his own request approved, or ticks his own box, is undone and
    reported; the request stays where it was."""
    iid = story.open("bob", story.request())
    story.run()
    story.label("bob", iid, add=["exception::approved"])
    story.tick("bob", iid, DH)
    story.run()
    assert story.state(iid) == "exception::in-review"
    assert story.stage(iid) == "exception-stage::department-head"
    assert "exception-alert::tampering" in story.labels(iid)
    (alert,) = story.bot_comments(iid, "tampering")
    assert f"@{story.user('bob')} added `exception::approved`" in alert
    assert story.box(iid, DH) is False
    story.run()
    assert len(story.bot_comments(iid, "tampering")) == 1
    assert story.register_paths() == ["README.md", "REGISTER.md", "register.json"]


def test_expiry(story: Story) -> None:
    """An active exception is reminded of before its expiry, expires at the end of its last
    day, and is closed and archived once Security Compliance verifies the fix. The bot runs
    days ahead of GitLab's clock once people have nothing left to do before the expiry."""
    expires = story.now().date() + timedelta(days=10)
    iid = story.open("bob", story.request(Expiration_date=expires.isoformat()))
    story.approve(iid, LOW_ROUTE)
    story.tick("bob", iid, ACTIVATION).run()
    assert story.state(iid) == "exception::active"
    reminders = [len(story.bot_comments(iid, "expiry"))]
    for days in (3, 9, 10):  # 7 days left, 1 day left, the last day
        story.days = days
        story.run()
        reminders.append(len(story.bot_comments(iid, "expiry")))
    assert story.state(iid) == "exception::active"
    story.days = 11  # the day after the last
    story.run()
    assert story.state(iid) == "exception::expired"
    assert story.register_entry(iid)["status"] == "expired"
    story.tick("sue", iid, "Fix verified").run()
    assert story.state(iid) == "exception::closed"
    assert story.issue(iid).state == "closed"
    entry = story.register_entry(iid)
    assert (entry["status"], entry["path"].split("/")[0]) == ("closed", "archive")
    assert reminders == [1, 2, 3, 3]  # 14, 7 and 1 days before, each once


LEGAL, CEO, CFO = "Legal opinion recorded", "CEO decision", "CFO decision"


def test_appeal(story: Story) -> None:
    """A rejected request appealed by its requester: Legal's opinion, then the CEO's and the
    CFO's decisions approve it, and the register keeps the rejection."""
    iid = story.open("bob", story.request())
    story.run()
    story.comment("carol", iid, "Payroll data: no.")
    story.label("carol", iid, add=["exception-action::reject"])
    story.run()
    assert story.state(iid) == "exception::rejected"
    story.label("bob", iid, add=["exception-action::appeal"])
    story.run()
    assert story.state(iid) == "exception::appeal"
    assert story.stage(iid) == "exception-stage::appeal-legal"
    story.comment("lee", iid, "Legal opinion: acceptable for 30 days.")
    story.tick("lee", iid, LEGAL).run()
    assert story.stage(iid) == "exception-stage::appeal-ceo+appeal-cfo"
    story.tick("ivan", iid, CEO).run()
    assert story.state(iid) == "exception::appeal"
    story.tick("judy", iid, CFO).run()
    assert story.state(iid) == "exception::approved"
    entry = story.register_entry(iid)
    assert entry["appealed_at"] is not None
    assert [a["role"] for a in entry["approvals"]] == [
        "Legal (appeal)",
        "CEO (appeal)",
        "CFO (appeal)",
    ]
    assert [r["user"] for r in entry["rejections"]] == [story.user("carol")]


def test_renewal(story: Story) -> None:
    """A renewal opened from the Renewal template is linked to the exception it renews and,
    once active, closes it as renewed."""
    original = story.open("bob", story.request())
    story.approve(original, LOW_ROUTE)
    story.tick("bob", original, ACTIVATION).run()
    body = story.request(
        RENEWAL_TEMPLATE,
        Renews=f"#{original}",
        Why_the_original_timeline_was_not_met="The vendor moved its release by a month.",
        Updated_remediation_plan="Install release 8.5 when it ships, then turn TLS 1.1 off.",
    )
    renewal = story.open("bob", body, title="Exception renewal")
    story.run()
    links = story.gl("bob").projects.get(story.projects.requests, lazy=True).issues.get(renewal)
    assert [link.iid for link in links.links.list(get_all=True)] == [original]
    story.approve(renewal, LOW_ROUTE)
    story.tick("bob", renewal, ACTIVATION).run()
    assert story.state(renewal) == "exception::active"
    story.run()  # the original is closed once the renewal's status note says it is active
    assert story.state(original) == "exception::renewed"
    assert story.issue(original).state == "closed"
    assert story.register_entry(original)["status"] == "renewed"
    entry = story.register_entry(renewal)
    assert (entry["renewal_of"], entry["renewal_number"]) == (f"EXC-{original:04d}", 1)


def test_merge_request_route(story: Story) -> None:
    """An exception file added by a merge request: mr-check names the roles still missing
    until holders of each approve, and once merged the run indexes it as approved."""
    register = story.projects.register
    levels = {"bob": DEVELOPER, "carol": DEVELOPER, "victor": DEVELOPER, "erin": DEVELOPER}
    add_members(story.target, register, {story.people.ids[n]: v for n, v in levels.items()})
    add_members(story.target, register, {story.people.ids["sue"]: MAINTAINER})
    today = story.now().date()
    text = exception_file(
        risk_level="low",
        requester=story.user("bob"),
        requested_at=story.now(),
        expires_at=today + timedelta(days=30),
    )
    project = story.gl("bob").projects.get(register, lazy=True)
    project.commits.create(
        {
            "branch": "add-exc-42",
            "start_branch": "main",
            "commit_message": "Add EXC-0042",
            "actions": [{"action": "create", "file_path": PATH, "content": text}],
        }
    )
    mr = project.mergerequests.create(
        {"source_branch": "add-exc-42", "target_branch": "main", "title": "Add EXC-0042"}
    )
    check = story.cli("mr-check", "--project", register, "--mr", str(mr.iid))
    assert check.exit_code == 1
    assert "missing approval from Department Head, Security Team, Policy Owner" in check.output
    for name in ("carol", "victor", "erin", "sue"):
        story.gl(name).projects.get(register, lazy=True).mergerequests.get(mr.iid).approve()
    check = story.cli("mr-check", "--project", register, "--mr", str(mr.iid))
    assert check.exit_code == 0, check.output
    story.merge_when_mergeable("sue", int(mr.iid))
    story.run()
    (row,) = story.register_index()
    assert (row["id"], row["path"], row["status"]) == ("EXC-0042", PATH, "approved")
    assert "[`EXC-0042`](exceptions/EXC-0042-keep-tls.md)" in story.register_file("REGISTER.md")
