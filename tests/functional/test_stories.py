"""The main stories end to end, written once against a GitLab URL and an admin's token: each
builds its own projects through GitLab's API (people and role groups are built once a
session), runs the real ``exception-bot``, and checks what the bot did through the API.

On the sandbox by default (CI); on a test GitLab with GITLAB_FUNCTIONAL_URL and
GITLAB_FUNCTIONAL_TOKEN (docs/how-to/functional-tests.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.functional.instance import DEVELOPER, MAINTAINER, REPORTER, add_members
from tests.functional.story import RENEWAL_TEMPLATE, Result, Story
from tests.support.merge_route import PATH, exception_file
from tests.support.security_reports import dependency_report, vulnerability

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


def test_fallback_and_delegation(story: Story) -> None:
    """A department head's own request falls to the CISO, who approves for her; a deputy
    approves for an away department head within the delegation's period, and the register
    says so; a holder whose GitLab status is busy is not assigned when another can be
    (docs/explanation/approvals.md, "Fallbacks" and "Delegation")."""
    carol, grace, tom = story.user("carol"), story.user("grace"), story.user("tom")
    own = story.open("carol", story.request(Requester_contact=f"@{carol} (Finance)"))
    story.run()
    assert story.stage(own) == "exception-stage::department-head"
    assert story.assignees(own) == [grace]  # never the requester herself
    (fallback,) = story.bot_comments(own, "fallback")
    assert f"**No Department Head can approve this request**: {carol} is the requester" in (
        fallback
    )
    assert "The Department Head stage falls to the CISO" in fallback
    assert f"@{grace}, review the request" in fallback
    story.tick("grace", own, DH).run()
    assert story.box(own, DH)  # counted, not unticked
    assert story.stage(own) == "exception-stage::security-team", story.status(own)
    assert "CISO for Department Head" in story.status(own)
    story.approve(own, LOW_ROUTE)
    assert len(story.bot_comments(own, "fallback")) == 1
    assert {"role": "CISO for Department Head", "user": grace} in [
        {"role": a["role"], "user": a["user"]} for a in story.register_entry(own)["approvals"]
    ]

    today = story.now().date()
    until = (today + timedelta(days=7)).isoformat()
    since = (today - timedelta(days=1)).isoformat()
    story.edit_config(
        lambda data: data.update(
            delegations=[
                {
                    "from": carol,
                    "to": tom,
                    "roles": ["department_head"],
                    "since": since,
                    "until": until,
                }
            ]
        )
    )
    iid = story.open("bob", story.request())
    story.run()
    assert story.assignees(iid) == [tom]
    (turn,) = story.bot_comments(iid, "turn")
    assert f"{carol} is away until {until}: @{tom} approves for {carol}" in turn
    story.tick("tom", iid, DH).run()
    assert story.stage(iid) == "exception-stage::security-team", story.status(iid)
    assert f"{tom} for {carol}" in story.status(iid)
    # sid says in his GitLab status that he is busy: Security Compliance is not his to do.
    story.set_busy("sid", True)
    try:
        for stage in ("exception-stage::security-team", "exception-stage::policy-owner"):
            name, item = LOW_ROUTE[stage]
            story.tick(name, iid, item).run()
        assert story.stage(iid) == "exception-stage::security-compliance", story.status(iid)
        # Not sid. (The role is a group's: the administrator who made the group is one of
        # its owners on GitLab, so a holder too, and may be the one assigned.)
        assignees = story.assignees(iid)
        assert assignees, story.status(iid)
        assert story.user("sid") not in assignees
        (turn,) = [t for t in story.bot_comments(iid, "turn") if "Security Compliance" in t]
        assert f"{story.user('sid')} is away (busy in their GitLab status)" in turn
    finally:
        story.set_busy("sid", False)
    story.approve(iid, LOW_ROUTE)
    assert {"role": "Department Head", "user": f"{tom} for {carol}"} in [
        {"role": a["role"], "user": a["user"]} for a in story.register_entry(iid)["approvals"]
    ]
    verified = story.cli("register verify")
    assert verified.exit_code == 0, verified.output


CVE = "CVE-2024-12345"


def test_gate(story: Story, tmp_path: Path) -> None:
    """A High CVE in a project's dependency scanning report blocks the gate until an
    exception covering it is approved and activated; the day after its expiry it blocks
    again (docs/how-to/gate-a-pipeline.md)."""
    admin = story.gl()
    group = admin.projects.get(story.projects.requests).namespace["id"]
    checkout = admin.projects.create(
        {"name": "checkout-api", "path": "checkout-api", "namespace_id": group}
    )
    project = str(checkout.path_with_namespace)
    # The gate reads as a Reporter of the requests (everyone is) and of the register.
    add_members(story.target, story.projects.register, {story.people.ids["frank"]: REPORTER})
    token = story.read_token("frank")
    report = tmp_path / "gl-dependency-scanning-report.json"
    findings = [vulnerability(CVE, "High"), vulnerability("CVE-2023-0001", "Low", "minimist")]
    report.write_text(json.dumps(dependency_report(findings)))

    def gate(out: str, now: datetime) -> Result:
        args = (str(report), "--project", project, "--out", str(tmp_path / out))
        return story.cli("gate", *args, "--now", now.isoformat(), token=token)

    blocked = gate("before", story.now())
    assert blocked.exit_code == 1, blocked.output
    assert f"blocks: {CVE} (High, {report})" in blocked.output
    assert "CVE-2023-0001" not in blocked.output  # Low: below the threshold

    expires = story.now().date() + timedelta(days=30)
    body = story.request(
        Kind="Gate",
        Covers=f"- project: {project}\n- finding: {CVE.lower()}",
        Expiration_date=expires.isoformat(),
    )
    iid = story.open("bob", body, title="Let checkout-api through the gate")
    story.approve(iid, LOW_ROUTE)
    story.tick("bob", iid, ACTIVATION).run()
    assert story.state(iid) == "exception::active"

    passed = gate("active", story.now())
    assert passed.exit_code == 0, passed.output
    exc = f"EXC-{iid:04d}"
    assert f"let through: {CVE} (High, {report}) by exception {exc}, " in passed.output
    assert f"expires {expires.isoformat()}" in passed.output
    found = json.loads((tmp_path / "active" / "exception-bot-gate.json").read_text())
    assert (found["project"], found["passed"]) == (project, True)

    day_after = datetime.combine(expires + timedelta(days=1), time(), tzinfo=UTC)
    again = gate("after", day_after)
    assert again.exit_code == 1, again.output
    assert f"blocks: {CVE} (High, {report})" in again.output
    assert f"{exc} does not count: {exc} expired on {expires.isoformat()}" in again.output
