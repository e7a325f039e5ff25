"""End to end (docs/tutorial/your-gitlab.md, People): who may read and tick a confidential request,
and the request a non-member opens, whose template's ``/label`` GitLab does not run (app/policies/
issue_policy.rb: ``set_issue_metadata`` is for members)."""

from __future__ import annotations

import gitlab
import pytest

from exception_bot.sandbox import Sandbox
from exception_bot.sandbox.seed import LEVELS
from tests.e2e.world import REGISTER, REQUESTS, World
from tests.requests import body
from tests.support.stories import ROUTE

LOW = body("low_staging")
INTAKE = "ExceptionRequest"


def outsider(world: World) -> str:
    """nora, no member of the requests project, which is internal: every signed-in user may
    open issues in it (app/policies/project_policy.rb)."""
    project = world.sandbox.store.project(world.requests)
    assert project is not None
    project.visibility = "internal"
    world.sandbox.load({"users": ["nora"]})
    return "nora"


def test_a_request_gitlab_left_unlabelled_is_labelled_and_answered(world: World) -> None:
    iid = world.open(outsider(world), LOW)
    assert (world.labels(iid), world.issue(iid).confidential) == (set(), True)
    assert world.run().exit_code == 0
    assert INTAKE in world.labels(iid)
    assert world.stage(iid) == "exception-stage::department-head", world.bot_comments(iid)
    assert world.status(iid)  # the bot's record: the request is in its process
    assert world.later(minutes=10).run().exit_code == 0  # and labelled once
    events = [e for e in world.issue(iid).label_events if e.label.name == INTAKE]
    assert [e.action for e in events] == ["add"]


def test_a_request_whose_intake_label_was_removed_stays_unlabelled(world: World) -> None:
    iid = world.open("bob", LOW)
    world.label("carol", iid, remove=[INTAKE])
    world.run()
    assert INTAKE not in world.labels(iid)
    assert world.bot_comments(iid) == []


def test_an_approver_who_is_no_member_can_neither_read_nor_tick(
    world: World, sandbox: Sandbox
) -> None:
    iid = world.open("bob", LOW)
    world.run()
    project, carol = sandbox.store.project(world.requests), sandbox.store.user_named("carol")
    assert project is not None
    assert carol is not None
    del project.members[carol.id]
    with pytest.raises(gitlab.GitlabGetError) as hidden:
        world.later(hours=1).tick("carol", iid, "Department head approval")
    assert hidden.value.response_code == 404
    assert world.box(iid, "Department head approval") is False


def bot_as_readme_says(sandbox: Sandbox, register: str = "maintainer") -> None:
    """The bot no admin: Reporter in the requests project, Maintainer in the register (whose
    default branch GitLab protects), Guest in each group a role names that it is not already
    in (a private group is hidden from non-members: app/policies/group_policy.rb)."""
    store = sandbox.store
    bot = store.user_named("exception-bot")
    requests, registry = store.project(REQUESTS), store.project(REGISTER)
    assert bot is not None
    assert requests is not None
    assert registry is not None
    bot.admin = False
    requests.members[bot.id] = LEVELS["reporter"]
    registry.members[bot.id] = LEVELS[register]
    for path in ("security/compliance", "engineering/managers", "legal"):
        group = store.group(path)
        assert group is not None
        group.members[bot.id] = LEVELS["guest"]


def test_the_bot_with_the_roles_readme_gives_it_runs_a_request_to_the_register(
    world: World, sandbox: Sandbox
) -> None:
    bot_as_readme_says(sandbox)
    assert world.cli("check-config", "--online").exit_code == 0
    iid = world.open("bob", LOW)
    world.approve(iid, ROUTE)
    assert world.register_entry(iid)["status"] == "approved"


def test_a_developer_bot_cannot_write_the_protected_register_branch(
    world: World, sandbox: Sandbox
) -> None:
    bot_as_readme_says(sandbox, register="developer")
    iid = world.open("bob", LOW)
    world.run()
    while (stage := world.stage(iid)) is not None and not world.box(iid, ROUTE[stage][1]):
        world.later(hours=1).tick(ROUTE[stage][0], iid, ROUTE[stage][1])
        last = world.later(minutes=10).run()
    assert "You are not allowed to push into this branch" in last.output
    assert not [p for p in world.sandbox.files(REGISTER) if f"EXC-{iid:04d}-" in p]
    assert any(
        r.endpoint == "POST /projects/:id/repository/commits" and r.status == 403
        for r in sandbox.requests
    )
