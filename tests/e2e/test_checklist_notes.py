"""The checklist notes that say who ticked a box, as GitLab really writes them.

Their wording has changed over GitLab's versions (gitlabhq
app/services/system_notes/issuables_service.rb ``change_task_status``): today the item's
rendered plain text, Markdown-escaped; before, its source; before GitLab ~15.3, "marked the
task". And they come after the tick: ``Issuable::CommonSystemNotesService`` saves the
description first and writes the notes after it (a live export shows 232 ms between them), so
a run may read the issue in between.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from exception_bot.cli import app
from tests.e2e.world import CONFIG, edit_config, new_world
from tests.requests import body

LOW = body("low_staging")
DEPT = "Department head approval"
NEXT = "exception-stage::security-team"
HEAD = "Department Head approval"  # the same item to the bot (case folded), not to GitLab
# A text with punctuation GitLab escapes in today's notes: `\-`, `\.`, `\(`
PLAIN = "Department head approval (human-approved, within my scope.)"


@pytest.mark.parametrize("form", ["rendered", "source", "task"])
def test_every_wording_of_the_note_names_the_approver(tmp_path: Path, form: str) -> None:
    checklist = {**yaml.safe_load(CONFIG.read_text())["checklist"], "department_head": PLAIN}
    world = new_world(tmp_path, checklist=checklist)
    try:
        world.sandbox.checklist_notes(form)
        iid = world.open("bob", LOW.replace(f"- [ ] {DEPT}", f"- [ ] {PLAIN}"))
        world.run()
        world.later(hours=1).tick("carol", iid, PLAIN)
        (note,) = [n.body for n in world.issue(iid).notes if n.body.startswith("marked the")]
        assert ("human\\-approved" in note) is (form == "rendered")
        world.later(minutes=10).run()
        assert world.stage(iid) == NEXT
        assert world.box(iid, PLAIN) is True
    finally:
        world.sandbox.stop()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Department head **approval**", "Department head approval"),
        ("Department head <b>approval</b>", "Department head approval"),
        ("Department head approval &amp; sign-off", "Department head approval & sign-off"),
    ],
)
def test_check_config_refuses_item_texts_gitlabs_notes_would_name_otherwise(
    tmp_path: Path, text: str, shown: str
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["checklist"]["department_head"] = text

    config = edit_config(tmp_path / "c.yml", change)
    result = CliRunner().invoke(app, ["check-config", "--config", str(config)])
    assert result.exit_code == 2
    assert f"checklist.department_head: '{text}' has Markdown or HTML" in result.output
    assert f"(they would name it '{shown}')" in result.output


def test_a_run_between_the_tick_and_its_note_leaves_the_box_alone(tmp_path: Path) -> None:
    world = new_world(tmp_path, state_file=True)
    try:
        iid = world.open("bob", LOW)
        world.run()
        world.sandbox.checklist_notes(delay=timedelta(seconds=1))
        world.later(hours=1).tick("carol", iid, DEPT)
        world.run()  # at the tick's own second: GitLab has not written the note yet
        assert world.box(iid, DEPT) is True
        assert world.bot_comments(iid, "untick") == []
        # The note comes and touches nothing; the run the wait asked for counts the tick,
        # though the issue's updated_at has not moved since the state file saw it.
        world.later(minutes=2).run()
        assert world.bot_comments(iid, "untick") == []
        assert world.stage(iid) == NEXT
    finally:
        world.sandbox.stop()


def test_a_tick_whose_note_never_comes_is_unticked_once_the_grace_is_over(
    tmp_path: Path,
) -> None:
    world = new_world(tmp_path, state_file=True)
    try:
        iid = world.open("bob", LOW)
        world.run()
        # Ticked in the same save that changed the item's text: GitLab writes no note at all
        # (Taskable.get_updated_tasks compares items by their text).
        world.later(hours=1).edit("carol", iid, f"- [ ] {DEPT}", f"- [x] {HEAD}")
        world.later(minutes=1).run()
        assert f"- [x] {HEAD}" in world.issue(iid).description
        assert world.bot_comments(iid, "untick") == []
        world.later(minutes=1).run()  # two minutes after the save: nothing will come now
        assert f"- [ ] {HEAD}" in world.issue(iid).description
        (untick,) = world.bot_comments(iid, "untick")
        assert "GitLab has no record of who ticked it" in untick
        assert world.stage(iid) == "exception-stage::department-head"
    finally:
        world.sandbox.stop()


def test_the_state_file_reads_a_waiting_tick_again_when_its_grace_ends(tmp_path: Path) -> None:
    # A slow GitLab: notes five minutes late, a ten-minute grace. The run in the gap is long
    # after the save, so nothing but the wait it records makes the state file read it again.
    world = new_world(tmp_path, state_file=True, approvals={"note_grace": "10m"})
    try:
        iid = world.open("bob", LOW)
        world.run()
        world.sandbox.checklist_notes(delay=timedelta(minutes=5))
        world.later(hours=1).tick("carol", iid, DEPT)
        world.later(minutes=3).run()
        assert world.box(iid, DEPT) is True
        world.later(minutes=7).run()  # the note came at minute 5; the wait ends at minute 10
        assert world.bot_comments(iid, "untick") == []
        assert world.stage(iid) == NEXT
    finally:
        world.sandbox.stop()
