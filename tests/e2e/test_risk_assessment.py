"""Issue 23 point 8: the security team assesses the risk. An approver of the security stage
changes the level with ``exception-action::risk-<level>``: a raise re-routes the request at
once, keeping the approvals the new route also needs; a lowering waits for the CISO to add the
same label; anyone else's label is refused. The register records the requested and the
assessed level, and the status note shows both.
"""

from __future__ import annotations

from exception_bot.domain import record
from tests.e2e.test_register_verify import edit_file
from tests.e2e.world import World
from tests.requests import set_field
from tests.support.stories import LOW

MEDIUM = set_field(LOW, "Risk level", "Medium")
HIGH = set_field(LOW, "Risk level", "High")
# Who approves at each stage of the High route (config/exception-bot.yml) and of the Medium.
HIGH_ROUTE = {
    "exception-stage::department-head": [("carol", "Department head approval")],
    "exception-stage::security-lead+engineering-manager": [
        ("frank", "Security Lead approval"),
        ("mia", "Engineering Manager approval"),
    ],
    "exception-stage::policy-owner": [("erin", "Policy owner approval")],
    "exception-stage::security-compliance": [("sue", "Security Compliance review")],
}
MEDIUM_ROUTE = {
    **HIGH_ROUTE,
    "exception-stage::security-team": [("victor", "Security team approval")],
}


def approve_rest(world: World, iid: int, route: dict[str, list[tuple[str, str]]]) -> None:
    """Each approver of the stage ticks and the bot runs (a tick saved over another's is
    not trusted), until the request is approved."""
    for _ in range(6):
        stage = world.stage(iid)
        if stage is None:
            break
        for user, item in route[stage]:
            world.later(hours=1).tick(user, iid, item)
            world.later(minutes=10).run()
    assert world.state(iid) == "exception::approved", world.status(iid)


def risk_record(world: World, iid: int) -> record.Record:
    rec = record.decode(world.status(iid))
    assert rec is not None
    return rec


def test_the_security_team_raises_the_risk_and_the_request_is_rerouted(world: World) -> None:
    iid = world.open("bob", MEDIUM)
    world.run()
    assert "exception-risk::medium" in world.labels(iid)
    world.later(hours=1).tick("carol", iid, "Department head approval")
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team"

    world.later(hours=1).label("victor", iid, add=["exception-action::risk-high"])
    world.later(minutes=10).run()
    labels = world.labels(iid)
    assert {"exception-risk::high", "exception-stage::security-lead+engineering-manager"} <= labels
    assert not labels & {"exception-risk::medium", "exception-action::risk-high"}
    (answer,) = [c for c in world.bot_comments(iid, "action") if "assessed the risk" in c]
    assert "@victor assessed the risk level as **High** (it was Medium)" in answer
    status = world.status(iid)
    assert "Risk level: **High**, requested Medium, assessed by victor.\n\n| Stage" in status
    # The department head's approval stands: the High route needs it too.
    assert "| 1 | Department head approval | carol |" in status

    approve_rest(world, iid, HIGH_ROUTE)
    entry = world.register_entry(iid)
    assert (entry["risk_level"], entry["requested_risk_level"]) == ("high", "medium")
    assert (entry["risk_assessed_by"], entry["risk_confirmed_by"]) == ("victor", None)
    assert [a["role"] for a in entry["approvals"]] == [
        "Department Head",
        "Security Lead",
        "Engineering Manager",
        "Policy Owner",
        "Security Compliance",
    ]
    verified = world.cli("register verify")
    assert verified.exit_code == 0, verified.output
    # A hand edit that rewrites what the requester asked for is caught.
    edit_file(
        world.sandbox,
        str(entry["path"]),
        "requested_risk_level: medium",
        "requested_risk_level: high",
    )
    tampered = world.cli("register verify")
    assert tampered.exit_code == 1, tampered.output
    assert "requested_risk_level 'high', the approved terms 'medium'" in tampered.output


def test_a_lowering_waits_for_the_ciso(world: World) -> None:
    iid = world.open("bob", HIGH)
    world.run()
    world.later(hours=1).tick("carol", iid, "Department head approval")
    world.later(minutes=10).run()
    stage = "exception-stage::security-lead+engineering-manager"
    assert world.stage(iid) == stage

    world.later(hours=1).label("frank", iid, add=["exception-action::risk-medium"])
    world.later(minutes=10).run()
    assert world.stage(iid) == stage  # proposed only: still the High route
    assert "exception-risk::high" in world.labels(iid)
    (answer,) = [c for c in world.bot_comments(iid, "action") if "proposes" in c]
    assert "Lowering needs the CISO: @grace" in answer
    assert "frank proposes Medium: waiting for the CISO" in world.status(iid)
    rec = risk_record(world, iid)
    assert rec.risk is not None
    assert rec.risk.assessed is None

    world.later(hours=1).label("grace", iid, add=["exception-action::risk-medium"])
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team"
    assert "exception-risk::medium" in world.labels(iid)
    confirmed = (
        "Risk level: **Medium**, requested High, assessed by frank, lowering confirmed by grace."
    )
    assert confirmed in world.status(iid)

    approve_rest(world, iid, MEDIUM_ROUTE)
    entry = world.register_entry(iid)
    assert (entry["risk_level"], entry["requested_risk_level"]) == ("medium", "high")
    assert (entry["risk_assessed_by"], entry["risk_confirmed_by"]) == ("frank", "grace")


def test_a_risk_label_by_anyone_else_is_refused(world: World) -> None:
    iid = world.open("bob", MEDIUM)
    world.run()
    world.later(hours=1).label("bob", iid, add=["exception-action::risk-low"])  # the requester
    world.later(minutes=5).label("frank", iid, add=["exception-action::risk-critical"])
    world.later(minutes=10).run()
    labels = world.labels(iid)
    # Frank is the Security Lead: not on the Medium route, so not its security stage.
    assert {"exception-risk::medium", "exception-alert::tampering"} <= labels
    assert not labels & {"exception-action::risk-low", "exception-action::risk-critical"}
    refusals = world.bot_comments(iid, "tampering")
    assert len(refusals) == 2
    assert all("only an approver of the security stage or the CISO" in c for c in refusals)
    assert risk_record(world, iid).risk is None
    assert "Risk level:" not in world.status(iid)
