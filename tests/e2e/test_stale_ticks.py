"""An approval counts only for the text it was given on.

When a save of the description ticks or unticks a box, GitLab writes only the checklist notes,
not "changed the description", even if the same save changed other text
(``Issuable::CommonSystemNotesService#handle_description_change_note``). A requester who edits
the request and ticks a box of his own in one save leaves no trace of the edit; the approver's
earlier tick must not count for the new text.
"""

from __future__ import annotations

from tests.e2e.world import World
from tests.requests import body

LOW = body("low_staging")
DEPT = "Department head approval"


def _edit_and_tick(world: World, user: str, iid: int, old: str, new: str, item: str) -> None:
    """One save: a field changed and a box ticked, as the web editor sends it."""
    issue = world.gl(user).projects.get(world.requests, lazy=True).issues.get(iid)
    assert old in issue.description
    issue.description = issue.description.replace(old, new, 1).replace(
        f"- [ ] {item}", f"- [x] {item}", 1
    )
    issue.save()


def test_an_edit_hidden_in_a_tick_makes_the_earlier_approval_stale(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).tick("carol", iid, DEPT)
    # Before the bot sees carol's tick, bob moves the exception to production and ticks a box
    # of his own in the same save: GitLab notes only his tick.
    world.later(minutes=2)
    _edit_and_tick(world, "bob", iid, "\nstaging\n", "\nproduction\n", "Security team approval")
    notes = [n.body for n in world.issue(iid).notes if n.system]
    assert "changed the description" not in notes[-1]
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::department-head"
    assert world.box(iid, DEPT) is False
    (untick,) = [c for c in world.bot_comments(iid, "untick") if DEPT in c]
    assert "someone else saved the description after the tick" in untick
    # Ticked again on the text as it is now, it counts.
    world.later(hours=1).tick("carol", iid, DEPT)
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team"


def test_the_approvers_own_later_save_keeps_the_tick(world: World) -> None:
    iid = world.open("bob", LOW)
    world.run()
    world.later(hours=1).tick("carol", iid, DEPT)
    world.later(minutes=1).edit("carol", iid, "Install vendor release 8.4", "Install 8.4")
    world.later(minutes=10).run()
    assert world.stage(iid) == "exception-stage::security-team"
