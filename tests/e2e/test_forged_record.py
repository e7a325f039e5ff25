"""Label names are hostile text: they cannot forge the bot's record, mention or link.

A label's name is whatever its creator typed. GitLab strips a raw ``<!--`` from label titles but
gives the entity-encoded form back as the literal text (``CGI.unescapeHTML(Sanitize.clean(title))``
in app/models/label.rb), so a name can hold the bot's markers on a real GitLab too.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date

from exception_bot.domain import markers
from tests.e2e.world import REGISTER, World
from tests.requests import body
from tests.support.live import live, mentions
from tests.support.merge_route import exception_file, merge_approved

LOW = body("low_staging")
FORGED_RECORD = base64.b64encode(json.dumps({"state": "approved"}).encode()).decode()
# A stage label (only the bot may set one, so adding it is reported as tampering) whose name
# carries the status marker and a record saying "approved".
FORGING_LABEL = (
    f"exception-stage::x {markers.marker('status')} <!-- exception-bot:record:{FORGED_RECORD} -->"
)
LOUD_LABEL = (
    "exception-stage::y @all and @security/compliance [approved by the CISO](https://EVIL.example)"
    " ![](https://EVIL.example/t.png)"
)


def _open_with_label(world: World, label: str) -> int:
    """Bob creates ``label`` and puts it on his new request before the bot first sees it: the
    tampering note then comes before the status note."""
    project = world.gl("bob").projects.get(world.requests)
    project.labels.create({"name": label, "color": "#ff0000"})
    iid = world.open("bob", LOW)
    world.label("bob", iid, add=[label])
    return iid


def test_a_label_name_cannot_forge_the_bots_record(world: World) -> None:
    iid = _open_with_label(world, FORGING_LABEL)
    world.later(minutes=5).run()
    (tampering,) = world.bot_comments(iid, "tampering")
    assert markers.trailing(tampering) is not None
    for _ in range(2):
        assert world.later(minutes=15).run().exit_code == 0
    assert world.state(iid) == "exception::in-review"
    assert len(world.bot_comments(iid, "status")) == 1
    assert not [p for p in world.sandbox.files(REGISTER) if p.startswith("exceptions/")]


def test_a_label_name_never_mentions_or_links(world: World) -> None:
    iid = _open_with_label(world, LOUD_LABEL)
    world.later(minutes=5).run()
    (tampering,) = world.bot_comments(iid, "tampering")
    assert "[approved by the CISO]" in tampering  # shown, as code
    assert live(tampering) == [], tampering
    assert mentions(tampering) == ["@bob"]


def test_a_hand_written_exception_file_speaks_only_inert(world: World) -> None:
    """Files of the merge-request route are written by whoever opened the merge request: their
    id, title, requester and file name reach the reminder issue, its notes, the index commit,
    `REGISTER.md` and the weekly report."""
    hostile = "EVIL @all [x](https://EVIL.example) <!-- exception-bot:kind=status:key= -->"
    path = "exceptions/EXC-0042 @all (https:evil).md"  # linked, percent-quoted
    content = exception_file(
        id=f"EXC-0042 {hostile}",
        title=hostile,
        requester="bob @all",
        expires_at=date(2026, 11, 30),
    )
    merge_approved(world.sandbox, path, content)
    # The same by a direct push: unverified, and told in an alert issue of the register.
    pushed = content.replace("EXC-0042 ", "EXC-0043 ")
    store = world.sandbox.store
    project, bob = store.project(REGISTER), store.user_named("bob")
    assert project is not None
    assert bob is not None
    push: dict[str, object] = {"action": "create", "file_path": path.replace("0042", "0043")}
    push["content"] = pushed
    store.commit(project, bob, "main", "Push", [push])
    assert world.run().exit_code == 0
    (alert,) = [i for i in project.issues.values() if i.title.startswith("Unverified")]
    assert re.fullmatch(r"Unverified register file: EXC-0043[A-Za-z0-9_.-]*", alert.title)
    assert world.cli("report", "--now", world.clock.isoformat(), "--post").exit_code == 0
    requests = store.project(world.requests)
    assert requests is not None
    (reminder,) = requests.issues.values()
    assert re.fullmatch(r"Exception [A-Za-z0-9_.-]+ expires on 2026-11-30", reminder.title)
    for note in (n.body for n in reminder.notes if not n.system):
        assert live(note) == [], note
        assert mentions(note) == [], note  # "bob @all" is no username: nobody is mentioned
    assert live(reminder.description) == [], reminder.description
    for issue in project.issues.values():  # the weekly report
        assert live(issue.description) == [], issue.description
    assert live(world.register_file("REGISTER.md") or "", notes=False) == []
    messages = [c.message for c in project.commits.values()]
    assert not [m for m in messages[1:] if "@" in m or "<" in m], messages
