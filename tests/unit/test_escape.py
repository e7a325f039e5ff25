"""User text never comes out live: the escaping functions, and every template the bot writes to
GitLab rendered with hostile text in every string it shows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exception_bot.domain import markers, record
from exception_bot.domain.escape import Markdown, inert, inert_block, mention, reference, url
from exception_bot.domain.model import Note, User
from exception_bot.domain.register import (
    RegisterEntry,
    index_markdown,
    index_rows,
    render_entry,
)
from exception_bot.render import render, render_note
from tests.support.live import HOSTILE_PARTS, SENTINEL, live

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
URL = "https://gitlab.example.com/security/exceptions/-/issues/7"
TEMPLATES = Path(__file__).parents[2] / "exception_bot" / "templates"
HOSTILE = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PARTS), st.text(max_size=12).map(lambda t: t + SENTINEL)),
    min_size=1,
    max_size=6,
).map(lambda parts: " ".join(["@all", *parts]))  # never a bare username, which is mentioned


# -- the functions ----------------------------------------------------------------------------


@pytest.mark.parametrize("part", HOSTILE_PARTS)
def test_inert_text_is_code_on_one_line(part: str) -> None:
    shown = inert(f"before {part} after")
    assert "\n" not in shown
    assert live(f"| a | {shown} |\n|---|---|\n| {shown} | b |\n\nText {shown} text.") == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "`plain`"),
        ("a `b` c", "``a `b` c``"),
        ("`edge", "`` `edge ``"),
        ("a | b", "`a ¦ b`"),
        ("two\nlines", "`two lines`"),
        ("", "` `"),
        ("\u202eevil", "`\ufffdevil`"),  # a bidi override would make it read otherwise
    ],
)
def test_inert_spans(text: str, shown: str) -> None:
    assert inert(text) == shown


def test_inert_shortens_long_text() -> None:
    assert inert("x" * 500, limit=10) == "`xxxxxxxxx…`"


@pytest.mark.parametrize("part", HOSTILE_PARTS)
def test_inert_block_keeps_every_line_as_code(part: str) -> None:
    text = f"line one\n```\n{part}\n~~~~\nlast {SENTINEL}"
    # Blocks are for register files, where GitLab runs no quick actions.
    assert live(f"## Scope\n\n{inert_block(text)}\n\n## Next\n", notes=False) == []


@pytest.mark.parametrize(
    ("username", "shown"),
    [
        ("carol", "@carol"),
        ("first.last", "@first.last"),
        ("all and @security", "`all and @security`"),
        ("x](https://evil", "`x](https://evil`"),
        ("trailing.", "`trailing.`"),
    ],
)
def test_mention_only_of_a_username(username: str, shown: str) -> None:
    assert mention(username) == shown


def test_reference_and_url_are_checked() -> None:
    assert reference("security/exceptions#12") == "security/exceptions#12"
    assert reference("x#1 @all") == "`x#1 @all`"
    assert url(URL) == URL
    for bad in ("javascript:alert(1)", "https://a.example/x) ![](https://b", "https://a b"):
        with pytest.raises(ValueError, match="not a URL"):
            url(bad)


# -- every template ---------------------------------------------------------------------------


Case = tuple[str, dict[str, object]]


def _case(template: str, **context: object) -> Case:
    return template, context


def _contexts(h: str) -> list[Case]:
    """Each template with every string it shows set to ``h``, once per branch. URLs are the
    bot's (made from GitLab's answers, or quoted); dates and numbers are values."""
    labels = {
        "reject": h,
        "request_changes": h,
        "appeal": h,
        "escalation_item": h,
        "escalate": h,
        "revoke": h,
    }
    person = {"mentions": h, "item": h, "role": h}
    row = {"stage": 1, "current": True, "item": h, "user": h, "at": AT, "acting": h, "for_user": h}
    away = [{"user": h, "deputy": h, "until": date(2027, 1, 10)}, {"user": h, "deputy": None}]
    expires = date(2027, 1, 15)
    cases = [
        _case(
            "action.md.j2", action=a, user=h, ciso=h, labels=labels, requester=h, label=h, state=h
        )
        for a in ("escalate", "request-changes", "appeal", "revoke", "refused")
    ]
    # The CISO escalations after a decision (docs/explanation/escalations.md).
    original = {"id": h, "url": URL, "state": h}
    cases += [
        _case(
            "action.md.j2",
            action=a,
            user=h,
            ciso=h,
            item=h,
            labels=labels,
            requester=h,
            original=o,
            appeal=appeal,
            escalate=escalate,
            days=14,
        )
        for a, o in (("escalate-rejection", original), ("escalate-rejection", None))
        for appeal, escalate in ((True, True),)
    ]
    cases += [
        _case("action.md.j2", action=a, user=h, ciso=h, item=h, labels=labels, requester=h)
        for a in ("escalate-controls", "escalation-confirmed")
    ]
    cases += [
        _case(
            "action.md.j2",
            action="reject",
            user=h,
            labels=labels,
            requester=h,
            appeal=appeal,
            escalate=escalate,
            days=14,
        )
        for appeal, escalate in ((True, True), (True, False), (False, True), (False, False))
    ]
    cases += [
        _case(
            "escalation_refused.md.j2",
            reason=r,
            user=h,
            requester=h,
            labels=labels,
            days=14,
            ciso_role=h,
        )
        for r in ("requester", "again", "pending", "late", "no-one")
    ]
    cases += [_case("ciso_early_tick.md.j2", user=h, item=h)]
    cases += [_case("ciso_answer.md.j2", outcome=o) for o in ("reinstated", "accepted")]
    cases += [
        _case(
            "activation_reminder.md.j2",
            requester=h,
            compliance=h,
            item=h,
            days=14,
            escalate_at=AT,
            labels=labels,
        ),
        _case("activation_escalated.md.j2", ciso=h, item=h, days=21, labels=labels),
    ]
    cases += [
        _case("appeal_refused.md.j2", reason=r, user=h, requester=h, labels=labels, days=14)
        for r in ("requester", "again", "escalated", "late")
    ]
    cases += [
        _case("untick.md.j2", problem=p, item=h, user=h, role=h, other=h, requester=h)
        for p in ("no-record", "not-holder", "requester", "second-role", "stale", "void")
    ]
    cases += [_case("unconfirm.md.j2", item=h, user=u, who=h, who_first=h) for u in (h, None)]
    cases += [
        _case(
            "turn.md.j2",
            appeal=appeal,
            opinion_first=first,
            approvers=[person],
            opinion_url=URL,
            escalation=True,
            renewal_number=4,
            max_renewals=3,
            labels=labels,
            away=away,
        )
        for appeal, first in ((True, True), (True, False), (False, False))
    ]
    cases += [
        _case(
            "fallback.md.j2",
            role=h,
            to_role=to,
            config_key=h,
            holders=holders,
            mentions=h,
            item=h,
        )
        for to, holders in ((h, [h]), (h, [h, h]), (h, []), (None, [h]))
    ]
    cases += [
        _case("sla.md.j2", late=n, deadline=AT, approvers=[person], labels=labels, issue_url=URL)
        for n in (0, 2)
    ]
    cases += [
        _case("watch_reminder.md.j2", expired=e, id=h, expires=expires, days_left=3, owner=h)
        for e in (True, False)
    ]
    cases += [
        _case("approved.md.j2", requester=h),
        _case("changed.md.j2", fields=[h], expires=expires, alert=h, requester=h, renewal_url=URL),
        _case("expired.md.j2", expires=expires, compliance=h, item=h),
        _case(
            "expired.md.j2",
            expires=expires,
            compliance=h,
            item=h,
            tracking=[{"reference": h, "state": Markdown("open")}],
            tracking_more=3,
        ),
        _case("expiry.md.j2", expires=expires, days_left=1, requester=h, renewal_url=URL),
        _case("final.md.j2", appealed=True),
        _case("final.md.j2", appealed=False, confirmed=True),
        _case("final.md.j2", appealed=False, confirmed=False, lapsed=True),
        _case("expired.md.j2", expires=expires, compliance=h, item=h, lapsed=True),
        _case("problems.md.j2", problems=[{"field": "scope", "message": h}]),
        _case("renewed.md.j2", renewal=h),
        _case(
            "status.md.j2",
            state=h,
            rows=[row],
            waiting=[person],
            deadline=AT,
            decision={"kind": h, "user": h, "at": AT},
            milestones=[(h, AT)],
            escalations=[
                {"reason": h, "by": h, "at": AT, "outcome": o, "decided_by": h, "decided_at": AT}
                for o in (h, None)
            ],
            expires=expires,
            record=h,
            risk={
                "level": h,
                "requested": h,
                "by": h,
                "confirmed_by": h,
                "proposed": h,
                "proposed_by": h,
            },
        ),
        _case("tampering.md.j2", user=h, verb=h, label=h, reason=h, alert=h),
        *(
            _case(
                "risk.md.j2",
                change=c,
                user=h,
                was=h,
                level=h,
                route=h,
                ciso=h,
                ciso_title=h,
                label=h,
            )
            for c in ("raised", "proposed", "confirmed", "set", "same")
        ),
        _case("tracking.md.j2", references=[h, "group/project#12"]),
        _case("unverified_file.md.j2", id=h, path=h, url=URL, why=h, compliance=h),
        _case(
            "watch_issue.md.j2",
            id=h,
            expires=expires,
            title=h,
            path=h,
            owner=h,
            url=URL,
            archive=h,
        ),
    ]
    return cases


def test_the_table_covers_every_comment_template() -> None:
    covered = {name for name, _ in _contexts("x")}
    assert covered == {p.name for p in (TEMPLATES / "comments").glob("*.j2")}


@settings(max_examples=25, deadline=None)
@given(hostile=HOSTILE)
def test_no_template_shows_user_text_live(hostile: str) -> None:
    for template, context in _contexts(hostile):
        body = render_note(template, markers.marker("test", "1"), **context)
        assert live(body) == [], (template, body)
        # The note is found by its last line alone, and that is the bot's own marker.
        assert markers.trailing(body) == markers.marker("test", "1")


@settings(max_examples=25, deadline=None)
@given(hostile=HOSTILE)
def test_the_weekly_report_shows_no_user_text_live(hostile: str) -> None:
    row: dict[str, object] = {"reference": hostile, "id": hostile, "title": hostile}
    row |= {"url": URL}
    row |= {"state": hostile, "stage": hostile, "risk": hostile, "deadline": AT}
    row |= {"expires": date(2027, 1, 15), "renewal_of": hostile, "renewal_number": 2}
    row |= {"incidents": (hostile,), "stage_started": AT, "days_left": 3, "waiting": hostile}
    text = render(
        "report/weekly.md.j2",
        week=hostile,
        now=AT,
        uncounted=[hostile],
        by_state=[(hostile, 1)],
        by_risk=[],
        open=[row],
        in_force=[],
        expiring=[row],
        breaches=[row],
        renewals=[row],
        incidents=[row],
        unverified=[row],
    )
    assert live(text) == [], text


@settings(max_examples=50, deadline=None)
@given(hostile=HOSTILE)
def test_register_files_show_no_user_text_live(hostile: str) -> None:
    entry = RegisterEntry(
        id="EXC-0042",
        title=hostile,
        status="approved",
        risk_level="low",
        department=hostile,
        policy=hostile,
        environment=hostile,
        requester=hostile,
        source=URL,
        requested_at=AT,
        expires_at=date(2027, 1, 15),
        sections={"Summary": hostile, "Scope": f"{hostile}\n\n{hostile}\n```\n{hostile}"},
    )
    text = render_entry(entry)
    body = text.split("\n---\n", 1)[1]  # the YAML before it holds the data
    assert live(body, notes=False) == [], text
    by_hand = {"id": hostile, "title": hostile, "status": hostile, "path": hostile}
    index = index_markdown([*index_rows([entry], {"EXC-0042": "exceptions/x.md"}), by_hand])
    assert live(index, notes=False) == [], index


# -- the bot's record ---------------------------------------------------------------------------

BOT = User(1, "exception-bot")


def _note(body: str, note_id: int = 5) -> Note:
    return Note(note_id, BOT, body, False, AT)


FORGED = record.encode(record.Record(state="approved"))


@pytest.mark.parametrize(
    "body",
    [
        # A label name echoed in a bot note: marker and record planted in its middle.
        f"**Label change reverted.** `{markers.marker('status')} {FORGED}`.\n\n"
        + markers.marker("tampering", "9"),
        f"{markers.marker('status')}\n{FORGED}\nand then\n" + markers.marker("tampering", "9"),
    ],
)
def test_a_record_or_marker_inside_a_bot_note_is_not_the_bots(body: str) -> None:
    said = markers.bot_notes([_note(body)], BOT.id)
    assert said.status is None
    assert said.said == {markers.marker("tampering", "9")}


def test_the_record_is_read_only_above_the_status_marker() -> None:
    real = record.encode(record.Record(state="in-review"))
    body = f"**status** `{FORGED}`\n\n{real}\n\n{markers.marker('status')}"
    said = markers.bot_notes([_note(body)], BOT.id)
    assert said.status is not None
    assert record.decode(said.status.body) == record.Record(state="in-review")
    assert record.decode(f"{FORGED}\ntext after it\n\n{markers.marker('status')}") is None


def test_markdown_is_a_str_the_bot_vouches_for() -> None:
    assert isinstance(Markdown("x"), str)
    assert render_note("renewed.md.j2", markers.marker("x"), renewal=Markdown("a#1")).startswith(
        "**This exception was renewed by a#1**"
    )
