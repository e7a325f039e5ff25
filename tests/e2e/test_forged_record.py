"""Label names are hostile text: they cannot forge the bot's record, mention or link.

A label's name is whatever its creator typed. GitLab strips a raw ``<!--`` from label titles but
gives the entity-encoded form back as the literal text (``CGI.unescapeHTML(Sanitize.clean(title))``
in app/models/label.rb), so a name can hold the bot's markers on a real GitLab too.
"""

from __future__ import annotations

import base64
import json

from exception_bot.domain import markers
from tests.e2e.world import REGISTER, World
from tests.requests import body
from tests.support.live import live, mentions

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
