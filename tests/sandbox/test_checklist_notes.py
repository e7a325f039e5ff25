"""Checklist notes as GitLab writes them: their wording, old and new, and their lateness.

``change_task_status`` (gitlabhq app/services/system_notes/issuables_service.rb) names the item:
current GitLab by its rendered plain text, Markdown-escaped (a live gitlab.com note reads
``human\\-approved ... scope\\.``); GitLab ~15.3 by its source (``new_task.source``); older
versions said ``marked the task``. ``Issuable::CommonSystemNotesService`` saves the description
first and writes the notes after it, outside that transaction (a live export: 232 ms later).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import gitlab
import pytest

from exception_bot.domain.approvals import toggles
from exception_bot.domain.model import Note, User
from exception_bot.sandbox import Sandbox

Client = Callable[[str], gitlab.Gitlab]
REQUESTS = "security/exceptions"
ITEM = "Approved: **human-approved** within [scope](https://example.com) <!-- x --> & `ok`."


def _tick(gl: Client, user: str = "carol") -> int:
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    iid = int(project.issues.create({"title": "t", "description": f"- [ ] {ITEM}\n"}).iid)
    issue = gl(user).projects.get(REQUESTS, lazy=True).issues.get(iid)
    issue.description = f"- [x] {ITEM}\n"
    issue.save()
    return iid


def _system_notes(gl: Client, iid: int) -> list[str]:
    issue = gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid)
    return [n.body for n in issue.notes.list(get_all=True, sort="asc") if n.system]


@pytest.mark.parametrize(
    ("form", "note"),
    [
        (
            "rendered",
            r"marked the checklist item **Approved: human\-approved within scope  x  & ok\.** "
            "as completed",
        ),
        ("source", f"marked the checklist item **{ITEM}** as completed"),
        ("task", f"marked the task **{ITEM}** as completed"),
    ],
)
def test_the_note_names_the_item_as_that_version_of_gitlab_did(
    sandbox: Sandbox, gl: Client, form: str, note: str
) -> None:
    sandbox.checklist_notes(form)
    assert _system_notes(gl, _tick(gl)) == [note]


def test_current_gitlab_names_the_rendered_text_by_default(gl: Client) -> None:
    (note,) = _system_notes(gl, _tick(gl))
    assert note.startswith(r"marked the checklist item **Approved: human\-approved within")


def test_late_notes_come_after_the_save_and_touch_nothing(sandbox: Sandbox, gl: Client) -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    sandbox.set_now(start)
    sandbox.checklist_notes(delay=timedelta(seconds=1))
    iid = _tick(gl)
    issue = gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid)
    assert "- [x]" in issue.description
    assert _system_notes(gl, iid) == []  # the gap: ticked, no note yet
    sandbox.advance(timedelta(seconds=1))
    (note,) = gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid).notes.list(get_all=True)
    assert note.system
    assert note.author["username"] == "carol"
    assert note.created_at == "2026-11-23T09:00:01.000Z"
    # written under no_touching: the issue's updated_at is still the save's
    assert gl("bob").projects.get(REQUESTS, lazy=True).issues.get(iid).updated_at == (
        "2026-11-23T09:00:00.000Z"
    )


def test_an_unknown_form_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="rendered, source, task"):
        sandbox.checklist_notes("newest")


# gitlabhq app/services/system_notes/issuables_service.rb, change_task_status (every version
# the index holds, ids 800531666 and the spec 691540116):
#     body = "marked the checklist item **#{new_task.source}** as #{status_label}"
# and app/models/concerns/taskable.rb, get_tasks (ids 1076945524, 11590784150): the item is the
# line's label, from the raw description, stripped; no rendering, no escaping:
#     items << TaskList::Item.new("#{prefix.strip} #{checkbox}", label.strip)
@pytest.mark.parametrize(
    "line",
    [
        "- [ ] Department head approval",
        "*   [ ]   Department head approval   ",
        "1. [ ] Department head approval",
        "> - [ ] Department head approval",
    ],
)
def test_gitlabs_source_form_is_the_items_stripped_label_and_the_bot_reads_it(
    sandbox: Sandbox, gl: Client, line: str
) -> None:
    sandbox.checklist_notes("source")
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    iid = int(project.issues.create({"title": "t", "description": line + "\n"}).iid)
    issue = gl("carol").projects.get(REQUESTS, lazy=True).issues.get(iid)
    issue.description = line.replace("[ ]", "[x]", 1) + "\n"
    issue.save()
    (note,) = _system_notes(gl, iid)
    assert note == "marked the checklist item **Department head approval** as completed"
    for form in ("source", "rendered"):  # the bot's matcher reads both to the same item
        sandbox.checklist_notes(form)
        body = _system_notes(gl, _tick_item(gl, "Security Compliance review"))[0]
        (toggle,) = toggles([Note(1, User(1, "carol"), body, True, datetime.now(UTC))])
        assert (toggle.item, toggle.completed) == ("Security Compliance review", True)


def _tick_item(gl: Client, item: str) -> int:
    project = gl("bob").projects.get(REQUESTS, lazy=True)
    iid = int(project.issues.create({"title": "t", "description": f"- [ ] {item}\n"}).iid)
    issue = gl("carol").projects.get(REQUESTS, lazy=True).issues.get(iid)
    issue.description = f"- [x] {item}\n"
    issue.save()
    return iid
