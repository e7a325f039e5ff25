"""Renewals (docs/explanation/after-approval.md): linked to the original, numbered along the chain,
the original closed as renewed when the renewal becomes active, and past the maximum escalated to
the CISO."""

from __future__ import annotations

from dataclasses import replace

from exception_bot.domain.actions import IssueRef
from exception_bot.domain.model import State
from exception_bot.domain.settings import Config
from tests.issues import FakeIssue
from tests.requests import body, set_field
from tests.support.decisions import BOB, CAROL, ERIN, GRACE, SAM, SUE, T0, front, posted, step

# Who ticks what at each stage of the default route for a finance / encryption request.
TICKS = {
    "exception-stage::ciso-escalation": (GRACE, "CISO escalation approval"),
    "exception-stage::department-head": (CAROL, "Department head approval"),
    "exception-stage::security-team": (SAM, "Security team approval"),
    "exception-stage::policy-owner": (ERIN, "Policy owner approval"),
    "exception-stage::security-compliance": (SUE, "Security Compliance review"),
}


def active(issue: FakeIssue, config: Config, original: FakeIssue | None = None) -> FakeIssue:
    """Run the issue through its whole route and activate it."""
    outcome = step(issue, config, original)
    while outcome.stage is not None:
        user, item = TICKS[outcome.stage]
        issue.later(hours=1).tick(user, item)
        outcome = step(issue, config, original)
    assert outcome.state is State.APPROVED, outcome.problems
    issue.later(hours=1).tick(BOB, "Compensating controls implemented")
    assert step(issue, config, original).state is State.ACTIVE
    return issue


def renewal_of(original: FakeIssue, iid: int) -> FakeIssue:
    text = set_field(body("renewal"), "Renews", f"#{original.iid}")
    assert original.clock is not None
    return FakeIssue(text, BOB, original.clock, iid=iid)


def test_renewal_is_linked_numbered_and_closes_the_original(config: Config) -> None:
    original = active(FakeIssue(body("low_staging"), BOB, T0, iid=7), config)
    renewal = renewal_of(original, 8)
    outcome = step(renewal, config, original)
    assert outcome.state is State.IN_REVIEW
    assert renewal.linked == [IssueRef("security/exceptions", 7)]
    active(renewal, config, original)
    matter = front(renewal)
    assert (matter["renewal_of"], matter["renewal_number"]) == ("EXC-0007", 1)
    original.links.append(renewal.as_link())
    outcome = step(original, config, hours=1)
    assert outcome.state is State.RENEWED
    assert original.state == "closed"
    assert any("renewed by security/exceptions#8" in b for b in posted(outcome))
    assert front(original)["status"] == "renewed"
    assert original.register[-1].path.startswith("archive/EXC-0007-")


def test_the_renewal_past_the_maximum_goes_to_the_ciso(config: Config) -> None:
    chain = [active(FakeIssue(body("low_staging"), BOB, T0, iid=7), config)]
    for iid in (8, 9):
        chain.append(active(renewal_of(chain[-1], iid), config, chain[-1]))
    assert front(chain[-1])["renewal_number"] == 2
    third = renewal_of(chain[-1], 10)
    outcome = step(third, config, chain[-1])
    assert (outcome.state, outcome.stage) == (State.ESCALATED, "exception-stage::ciso-escalation")
    assert any("renewal number 3" in b for b in posted(outcome))


def test_a_renewal_of_something_unknown_or_undecided_needs_info(config: Config) -> None:
    pending = FakeIssue(body("low_staging"), BOB, T0, iid=7)
    step(pending, config)
    renewal = renewal_of(pending, 8)
    outcome = step(renewal, config, pending)
    assert outcome.state is State.NEEDS_INFO
    assert any("EXC-0007 is in-review" in p.what for p in outcome.problems)
    outcome = step(renewal_of(pending, 9), config, None)
    assert any("does not name an exception request" in p.what for p in outcome.problems)


def test_a_renewed_request_stays_renewed_and_its_issue_closed(config: Config) -> None:
    # The run that recorded the renewal died before closing the issue, or someone reopened it.
    original = active(FakeIssue(body("low_staging"), BOB, T0, iid=7), config)
    renewal = renewal_of(original, 8)
    active(renewal, config, original)
    original.links.append(renewal.as_link())
    assert step(original, config, hours=1).state is State.RENEWED
    entry = front(original)
    original.state = "opened"
    outcome = step(original, config, hours=1)
    assert outcome.state is State.RENEWED
    assert original.state == "closed"
    assert front(original) == entry  # the register entry is not rewritten
    assert step(original, config, hours=1).actions == ()


def test_only_the_bots_record_on_a_linked_issue_makes_it_a_renewal(config: Config) -> None:
    original = active(FakeIssue(body("low_staging"), BOB, T0, iid=7), config)
    # Labelled active and naming #7 under Renews, but never decided by the bot: no record.
    forged = renewal_of(original, 8)
    forged.labels = {"exception::active"}
    original.links.append(forged.as_link())
    assert step(original, config, hours=1).state is State.ACTIVE
    # A real renewal, whose notes the runner did not read (notes=None), does not count either.
    renewal = active(renewal_of(original, 9), config, original)
    original.links[:] = [replace(renewal.as_link(), notes=None)]
    assert step(original, config, hours=1).state is State.ACTIVE
    # A record in a project the bot does not serve is none of its records.
    original.links[:] = [renewal.as_link("elsewhere/exceptions")]
    assert step(original, config, hours=1).state is State.ACTIVE
    # Its record names the exception it renews: not this one, then it renews nothing here.
    other = active(FakeIssue(body("low_staging"), BOB, T0, iid=6), config)
    original.links[:] = [renewal.as_link()]
    assert step(other, config, hours=1).state is State.ACTIVE
    other.links.append(renewal.as_link())
    assert step(other, config, hours=1).state is State.ACTIVE
    assert step(original, config, hours=1).state is State.RENEWED
