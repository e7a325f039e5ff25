"""End to end (docs/reference/request.md, Kind and Covers): what a request covers, approved on
the sandbox GitLab, is in its register entry and in ``register.json`` as normalised data, which
``register verify`` checks against the approved terms; an edit of Covers after approval changes
nothing; a hostile Covers is refused at validation with a problem that says the fix."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.world import REGISTER, World
from tests.requests import body
from tests.support.live import mentions
from tests.support.stories import ROUTE

PUBLIC = body("low_staging").replace("/confidential", "")
COVERS = """## Kind

**Gate**

## Covers

- project: Payments/Checkout-API
- finding: cve-2024-12345
- **Findings:** GHSA-jfh8-c2jp-5v3q, semgrep:Python.Lang.Security.Audit.Eval

"""
NORMALISED = {
    "projects": ["payments/checkout-api"],
    "findings": [
        "CVE-2024-12345",
        "GHSA-jfh8-c2jp-5v3q",
        "semgrep:python.lang.security.audit.eval",
    ],
}


def with_covers(text: str, covers: str = COVERS) -> str:
    return text.replace("## Approvals", covers + "## Approvals", 1)


def test_approved_covers_are_in_the_register_and_verified(world: World) -> None:
    iid = world.open("bob", with_covers(PUBLIC), title="Let release 2.4 through the gate")
    world.approve(iid, ROUTE)
    assert world.state(iid) == "exception::approved"
    entry = world.register_entry(iid)
    assert (entry["kind"], entry["covers"]) == ("gate", NORMALISED)
    (row,) = json.loads(world.register_file("register.json") or "[]")
    assert (row["kind"], row["covers"]) == ("gate", NORMALISED)
    assert row["status"] == "approved"
    result = world.cli("register verify")
    assert (result.exit_code, result.output.strip()) == (0, "entries=1 discrepancies=0")

    # Covers are approved terms: widening them afterwards changes neither the register nor
    # what a gate reads, and the bot says so.
    world.later(hours=1).edit("bob", iid, "- finding: cve-2024-12345", "- finding: CVE-2024-99999")
    world.later(minutes=10).run()
    (said,) = world.bot_comments(iid, "changed")
    assert "Covers" in said
    assert world.register_entry(iid)["covers"] == NORMALISED
    (row,) = json.loads(world.register_file("register.json") or "[]")
    assert row["covers"] == NORMALISED


def test_a_hand_edit_of_covers_in_the_register_is_a_discrepancy(world: World) -> None:
    iid = world.open("bob", with_covers(PUBLIC), title="Let release 2.4 through the gate")
    world.approve(iid, ROUTE)
    path = str(world.register_entry(iid)["path"])
    text = world.register_file(path) or ""
    widened = text.replace("  - CVE-2024-12345\n", "  - CVE-2024-12345\n  - CVE-2021-44228\n")
    assert widened != text
    store = world.sandbox.store
    project, person = store.project(REGISTER), store.user_named("sue")
    assert project is not None
    assert person is not None
    actions: list[dict[str, object]] = [{"action": "update", "file_path": path, "content": widened}]
    store.commit(project, person, "main", "Hand edit", actions)
    result = world.cli("register verify")
    assert result.exit_code == 1
    assert "covers" in result.output


HOSTILE = [
    ("- project: *\n- finding: CVE-2024-12345", "wildcard"),
    ("- project: payments/app\n- finding: CVE-2024-*", "wildcard"),
    (
        '- project: payments/app\n- finding: <img src=x onerror=alert(1)> @alice /label ~"x"',
        "is neither a CVE",
    ),
    ("- project: payments/app\n- finding: [x](javascript:alert(1))", "pattern character"),
    (
        "- project: payments/app\n" + "".join(f"- finding: CVE-2024-{n:05d}\n" for n in range(500)),
        "more than 100 findings",
    ),
    ("- finding: CVE-2024-12345", "findings but no project"),
]


def test_hostile_covers_are_refused_at_validation(world: World) -> None:
    issues = [
        world.open("bob", with_covers(PUBLIC, f"## Kind\n\nGate\n\n## Covers\n\n{text}\n\n"))
        for text, _ in HOSTILE
    ]
    result = world.run()
    assert result.exit_code == 0, result.output
    for iid, (_, words) in zip(issues, HOSTILE, strict=True):
        assert world.state(iid) == "exception::needs-info"
        (problems,) = world.bot_comments(iid, "problems")
        assert "**Covers**" in problems
        assert words in problems, problems
        assert not mentions(problems)
        assert "<img" not in problems.replace("`<img", "")
    assert world.sandbox.files(REGISTER).get("register.json") in (None, "[]\n")


def test_validate_gives_the_same_answer_locally(world: World, tmp_path: Path) -> None:
    good, gate_without = tmp_path / "good.md", tmp_path / "gate.md"
    good.write_text(with_covers(PUBLIC), encoding="utf-8")
    gate_without.write_text(with_covers(PUBLIC, "## Kind\n\nGate\n\n"), encoding="utf-8")
    ok = world.cli("validate", str(good), "--now", "2026-11-22T10:00:00Z")
    assert ok.exit_code == 0, ok.output
    refused = world.cli("validate", str(gate_without), "--now", "2026-11-22T10:00:00Z")
    assert refused.exit_code == 1
    assert "must name the projects and the findings" in refused.output
