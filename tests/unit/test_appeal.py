"""Appeals (docs/explanation/after-approval.md): the requester appeals a rejection; Legal, then the
CEO and CFO."""

from __future__ import annotations

from exception_bot.domain.actions import CloseIssue
from exception_bot.domain.model import State
from exception_bot.domain.settings import Config
from tests.issues import FakeIssue, person
from tests.support.decisions import BOB, CAROL, TOM, front, low_request, posted, step

LEE, IVAN, JUDY = person("lee"), person("ivan"), person("judy")  # Legal, CEO, CFO


def rejected(config: Config) -> FakeIssue:
    issue = low_request()
    step(issue, config)
    issue.later(hours=2).label(CAROL, "exception-action::reject")
    assert step(issue, config).state is State.REJECTED
    return issue


def appealed(config: Config) -> FakeIssue:
    issue = rejected(config)
    issue.later(days=3).label(BOB, "exception-action::appeal")
    outcome = step(issue, config)
    assert (outcome.state, outcome.stage) == (State.APPEAL, "exception-stage::appeal-legal")
    return issue


def test_appeal_granted_by_ceo_and_cfo(config: Config) -> None:
    issue = rejected(config)
    issue.later(days=3).label(BOB, "exception-action::appeal")
    texts = posted(step(issue, config))
    assert any("@bob appealed the rejection" in t for t in texts)
    assert any("@legal: post your opinion on the risk" in t for t in texts)  # the group
    assert "## Appeal\n\n- [ ] Legal opinion recorded\n- [ ] CEO decision\n- [ ] CFO decision" in (
        issue.description
    )
    assert "exception::appeal" in issue.labels
    issue.later(hours=5).comment(LEE, "Opinion: the residual risk is acceptable for 60 days.")
    opinion = issue.notes[-1].id
    issue.later(minutes=1).tick(LEE, "Legal opinion recorded")
    outcome = step(issue, config)
    assert outcome.stage == "exception-stage::appeal-ceo+appeal-cfo"
    (turn,) = [t for t in posted(outcome) if "waiting for your decision" in t]
    assert f"#note_{opinion}" in turn
    assert "@ivan: tick **CEO decision**" in turn
    issue.later(hours=1).tick(IVAN, "CEO decision")
    assert step(issue, config).state is State.APPEAL
    issue.later(hours=1).tick(JUDY, "CFO decision")
    assert step(issue, config).state is State.APPROVED
    matter = front(issue)
    assert matter["status"] == "approved"
    assert matter["appealed_at"] is not None
    roles = [a["role"] for a in matter["approvals"]]  # type: ignore[attr-defined]
    assert roles == ["Legal (appeal)", "CEO (appeal)", "CFO (appeal)"]
    assert step(issue, config, minutes=5).actions == ()


def test_appeal_denied_by_the_cfo_is_final(config: Config) -> None:
    issue = appealed(config)
    issue.later(hours=1).tick(LEE, "Legal opinion recorded")
    step(issue, config)
    issue.later(hours=1).label(JUDY, "exception-action::reject")
    outcome = step(issue, config)
    assert outcome.state is State.REJECTED
    assert outcome.actions[-1] == CloseIssue(outcome.issue)
    assert any("appeal was denied" in t for t in posted(outcome))
    issue.later(hours=1).label(BOB, "exception-action::appeal")  # reopened and tried again
    issue.state = "opened"
    outcome = step(issue, config)
    assert outcome.state is State.REJECTED
    assert any("was already appealed" in t for t in posted(outcome))


def test_appeal_refused_from_someone_else_or_too_late(config: Config) -> None:
    issue = rejected(config)
    issue.later(days=1).label(CAROL, "exception-action::appeal")
    outcome = step(issue, config)
    assert outcome.state is State.REJECTED
    assert any("only the requester (@bob) may appeal" in t for t in posted(outcome))
    issue.later(days=14).label(BOB, "exception-action::appeal")
    outcome = step(issue, config)
    assert outcome.state is State.REJECTED
    assert any("within 14 days, and that time has passed" in t for t in posted(outcome))
    assert any("appeal window has passed" in t for t in posted(outcome))
    assert issue.state == "closed"


def test_legal_tick_by_a_non_member_is_undone(config: Config) -> None:
    issue = appealed(config)
    issue.later(hours=1).tick(TOM, "Legal opinion recorded")
    outcome = step(issue, config)
    assert outcome.stage == "exception-stage::appeal-legal"
    assert any("@tom, I unticked **Legal opinion recorded**" in t for t in posted(outcome))
    assert "- [ ] Legal opinion recorded" in issue.description


def test_an_appeal_without_its_checklist_gets_it_again(config: Config) -> None:
    # The run that accepted the appeal recorded it, then died before saving the description.
    issue = appealed(config)
    issue.description = issue.description[: issue.description.index("\n## Appeal")] + "\n"
    outcome = step(issue, config, minutes=10)
    assert outcome.state is State.APPEAL
    assert issue.description.count("## Appeal") == 1
    assert "- [ ] Legal opinion recorded\n- [ ] CEO decision\n- [ ] CFO decision" in (
        issue.description
    )
    assert step(issue, config, minutes=10).actions == ()


def test_no_checklist_is_appended_to_a_description_holding_a_command(config: Config) -> None:
    """The bot never saves a description that holds a line GitLab would run with its rights:
    no Appeal checklist is appended to it."""
    issue = rejected(config)
    issue.later(hours=1).edit(
        BOB, "Install vendor release 8.4", "Install vendor release 8.4\n/close"
    )
    issue.later(days=1).label(BOB, "exception-action::appeal")
    outcome = step(issue, config)
    assert outcome.state is State.NEEDS_INFO  # the problems note asks for the line to go
    assert "## Appeal" not in issue.description
    assert not [a for a in outcome.actions if type(a).__name__ == "AppendChecklist"]
