"""mr-check sets aside the approval of the person the exception file names as requester, as
it does the merge request's author's (docs/explanation/exceptions-as-code.md)."""

from __future__ import annotations

from tests.e2e.world import REGISTER, World
from tests.support.merge_route import HIGH_APPROVERS, exception_file, push


def test_mr_check_refuses_the_requesters_own_approval(world: World) -> None:
    # frank is the Security Lead, and the requester named in the file: his approval is his own.
    text = exception_file(requester="frank")
    push(world, "bob", "add-exc-42", text)
    project = world.gl("bob").projects.get(REGISTER)
    mr = project.mergerequests.create(
        {"source_branch": "add-exc-42", "target_branch": "main", "title": "Add EXC-0042"}
    )
    for name in HIGH_APPROVERS:
        world.gl(name).projects.get(REGISTER, lazy=True).mergerequests.get(mr.iid).approve()
    result = world.cli("mr-check", "--project", REGISTER, "--mr", str(mr.iid))
    assert result.exit_code == 1, result.output
    assert "missing approval from Security Lead" in result.output
