"""The commands as a user runs them: exit codes, messages, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exception_bot.cli import app
from exception_bot.render import issue_templates
from tests.requests import FIXTURES, ROOT, body, default_config, set_field
from tests.support.cli import run
from tests.support.live import mentions

NOW = ["--now", "2026-11-22T10:00:00Z"]


def write(tmp_path: Path, text: str | bytes, name: str = "request.md") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- validate


def test_validate_valid_request(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(FIXTURES / "low_staging.md"), *NOW)
    assert code == 0
    assert out.strip().endswith("valid (Low risk, staging, expires 2027-01-15)")


def test_validate_invalid_request_lists_problems(tmp_path: Path) -> None:
    text = set_field(body("low_staging"), "Expiration date", "2027-05-01")
    code, out, _ = run("validate", write(tmp_path, text), *NOW)
    assert code == 1
    assert "1 problem to fix" in out
    assert "  - expiration_date: The expiration date 2027-05-01 is more than 90 days" in out


def test_validate_json_has_exactly_the_documented_shape(tmp_path: Path) -> None:
    text = set_field(body("critical_production"), "Department", "Marketing")
    code, out, _ = run("validate", write(tmp_path, text), *NOW, "--json")
    assert code == 1
    assert json.loads(out) == {
        "valid": False,
        "problems": [
            {
                "field": "department",
                "message": "`Marketing` is not a known department. Write one of: engineering, "
                "finance, people, sales.",
            }
        ],
        "flags": ["needs_ciso_escalation"],
    }


def test_validate_json_valid() -> None:
    code, out, _ = run("validate", str(FIXTURES / "critical_production.md"), *NOW, "--json")
    assert code == 0
    assert json.loads(out) == {"valid": True, "problems": [], "flags": ["needs_ciso_escalation"]}


def test_validate_json_critical_in_production_without_the_escalation_item() -> None:
    """The review adds the item (docs/explanation/escalations.md): no problem, only the flag."""
    text = body("critical_production").replace("- [ ] CISO escalation approval\n", "")
    code, out, _ = run("validate", "-", *NOW, "--json", stdin=text)
    assert code == 0
    assert json.loads(out) == {"valid": True, "problems": [], "flags": ["needs_ciso_escalation"]}


def test_validate_reads_stdin() -> None:
    code, out, _ = run("validate", "-", *NOW, stdin=body("low_staging"))
    assert code == 0
    assert out.startswith("stdin: valid")


def test_validate_renewal_flag(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(FIXTURES / "low_staging.md"), *NOW, "--renewal", "--json")
    assert code == 1
    fields = [p["field"] for p in json.loads(out)["problems"]]
    assert fields == ["renews", "why_timeline_not_met", "updated_remediation_plan"]


def test_validate_non_utf8_bytes_are_not_fatal(tmp_path: Path) -> None:
    raw = body("low_staging").encode() + b"\n\xff\xfe\xc3\x28 latin-1: caf\xe9\n"
    code, out, _ = run("validate", write(tmp_path, raw), *NOW, "--json")
    assert code == 0, out


def test_validate_1mb_body(tmp_path: Path) -> None:
    text = body("low_staging") + ("x" * 1023 + "\n") * 1024
    code, out, _ = run("validate", write(tmp_path, text), *NOW, "--json")
    assert code == 1
    assert [p["field"] for p in json.loads(out)["problems"]] == ["description"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "no/such/file.md"], "error: no/such/file.md: no such file"),
        (["validate", "."], "error: .: is a directory"),
        (["validate", "-", "--now", "yesterday"], "error: --now: 'yesterday' is not a time"),
        (
            ["validate", "-", "--now", "2026-11-22T10:00:00"],
            "error: --now: '2026-11-22T10:00:00' has no time zone; add Z or an offset",
        ),
        (
            ["validate", "-", "--config", "nope.yml"],
            "error: nope.yml: no such config file; pass --config PATH or set EXCEPTION_BOT_CONFIG",
        ),
    ],
)
def test_validate_usage_errors_exit_2(args: list[str], message: str) -> None:
    code, _, err = run(*args, stdin="")
    assert code == 2
    assert err.startswith(message)
    assert "Traceback" not in err


def test_verbose_shows_the_traceback() -> None:
    code, _, err = run("validate", "no/such/file.md", "--verbose")
    assert code == 2
    assert "Traceback" in err


def test_now_accepts_a_date_and_an_offset(tmp_path: Path) -> None:
    path = str(FIXTURES / "low_staging.md")
    assert run("validate", path, "--now", "2026-11-22")[0] == 0
    assert run("validate", path, "--now", "2026-11-22T23:00:00-05:00")[0] == 0
    assert run("validate", path, "--now", "2027-01-15")[0] == 1  # expiry is then today


def test_config_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXCEPTION_BOT_CONFIG", str(ROOT / "config" / "example.yml"))
    text = set_field(body("low_staging"), "Department", "payments")  # only in example.yml
    code, out, _ = run("validate", write(tmp_path, text), *NOW)
    assert code == 0, out


# ---------------------------------------------------------------- check-config


def test_check_config_valid() -> None:
    code, out, _ = run("check-config", "--config", str(ROOT / "config" / "example.yml"))
    assert code == 0
    assert "valid (5 departments, 5 policies, 4 environments, 11 roles)" in out


def test_check_config_reports_every_problem(tmp_path: Path) -> None:
    text = (ROOT / "config" / "exception-bot.yml").read_text()
    text = text.replace("[security_lead, engineering_manager]", "[cisco, engineering_manager]")
    text = text.replace("high: 1bd", "high: 3x")
    code, _, err = run("check-config", "--config", write(tmp_path, text, "c.yml"))
    assert code == 2
    assert err.splitlines() == [
        "error: approval_matrix.high[1][0]: unknown role 'cisco' (did you mean 'ciso'?)",
        "error: review_sla.high: '3x' is not a duration; write a number and a unit: 30m, 4h, 2d "
        "(calendar days) or 3bd (business days)",
    ]


def test_check_config_json(tmp_path: Path) -> None:
    code, out, _ = run(
        "check-config", "--config", write(tmp_path, "departments: 3\n", "c.yml"), "--json"
    )
    assert code == 2
    report = json.loads(out)
    assert report["valid"] is False
    assert "departments: expected a non-empty list" in report["errors"]
    code, out, _ = run("check-config", "--json")
    report = json.loads(out)
    assert (code, report["valid"], report["errors"]) == (0, True, [])
    # the shipped config names one CISO: her own requests have no one to fall to
    assert any(w.startswith("roles.ciso: held by one person only") for w in report["warnings"])


def test_check_config_warns_about_roles_one_person_holds(tmp_path: Path) -> None:
    text = (ROOT / "config" / "exception-bot.yml").read_text()
    text = text.replace("security_lead: {users: [frank]}", "security_lead: {users: [frank, mia]}")
    code, _, err = run("check-config", "--config", write(tmp_path, text, "c.yml"))
    assert code == 0
    warned = [line for line in err.splitlines() if line.startswith("warning: roles.")]
    assert any(
        "roles.department_head: held by one person only (engineering: @alice" in w for w in warned
    )
    assert "roles.security_lead" not in err  # two holders: no warning


# ---------------------------------------------------------------- templates render


def test_committed_templates_match_the_default_config() -> None:
    # issue_templates/ is what `setup` installs; it must never drift from the config.
    for template in issue_templates(default_config()):
        committed = (ROOT / "issue_templates" / template.filename).read_text(encoding="utf-8")
        assert committed == template.content, (
            f"issue_templates/{template.filename} is stale: run "
            "`exception-bot templates render --out issue_templates`"
        )


def test_templates_mention_nobody() -> None:
    # A requester who leaves a placeholder in place posts it: an "@username" there would
    # notify the GitLab user of that name from every such request.
    for template in issue_templates(default_config()):
        assert mentions(template.content) == [], template.filename


def test_templates_render_to_a_folder(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, out, _ = run(
        "templates",
        "render",
        "--out",
        str(out_dir),
        "--config",
        str(ROOT / "config" / "example.yml"),
    )
    assert code == 0
    request = (out_dir / "Exception Request.md").read_text()
    renewal = (out_dir / "Exception Renewal.md").read_text()
    assert "<!-- One of: engineering, finance, people, sales, payments -->" in request
    assert "- [ ] Policy owner approval" in request
    assert request.endswith('/label ~"ExceptionRequest" ~"exception::submitted"\n/confidential\n')
    assert renewal.index("## Renews") < renewal.index("## Summary")
    assert f"wrote {out_dir / 'Exception Request.md'}" in out


def test_templates_render_to_stdout() -> None:
    code, out, _ = run("templates", "render")
    assert code == 0
    assert "==> Exception Request.md <==" in out
    assert "==> Exception Renewal.md <==" in out


def test_an_untouched_template_is_invalid_with_every_field_named() -> None:
    path = str(ROOT / "issue_templates" / "Exception Request.md")
    code, out, _ = run("validate", path, *NOW, "--json")
    assert code == 1
    fields = {p["field"] for p in json.loads(out)["problems"]}
    assert fields == {
        "summary",
        "requester_contact",
        "department",
        "policy",
        "scope",
        "environment",
        "risk_level",
        "justification",
        "risk_assessment",
        "compensating_controls",
        "remediation_plan",
        "expiration_date",
    }


def test_a_filled_in_template_is_valid(tmp_path: Path) -> None:
    # The template's own structure (comments, placeholders, quick actions) must parse cleanly
    # once the requester has answered each section.
    template = (ROOT / "issue_templates" / "Exception Request.md").read_text()
    answers = {
        "<One sentence: what you need and why>": "Keep TLS 1.1 on the reporting VM.",
        "<GitLab username with its @, or e-mail address of the person to contact>": "@bob",
        "<department>": "finance",
        "<policy>": "encryption",
        "<systems, data and people affected>": "fin-report-01",
        "<environment>": "staging",
        "<risk level>": "Low",
        "<why the exception is needed>": "Vendor agent.",
        "<impact if exploited>": "Synthetic data exposed.",
        "<mitigations in place>": "Jump host only.",
        "<how and when it will be fixed>": "Patch.",
        "<YYYY-MM-DD>": "2027-01-15",
    }
    for placeholder, answer in answers.items():
        assert placeholder in template
        template = template.replace(placeholder, answer)
    code, out, _ = run("validate", write(tmp_path, template), *NOW)
    assert code == 0, out


def test_every_command_has_help_with_an_example() -> None:
    import typer.main

    group = typer.main.get_command(app)
    commands = [("", group)]
    while commands:
        prefix, command = commands.pop()
        for name, sub in getattr(command, "commands", {}).items():
            commands.append((f"{prefix} {name}".strip(), sub))
        if prefix:
            assert "Example: exception-bot" in (command.help or ""), prefix


def test_a_missing_ca_bundle_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_URL", "https://gitlab.example.com")
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-x")
    code, _, err = run("run", "--ca-bundle", "/nonexistent/ca.pem")
    assert code == 2
    assert "--ca-bundle /nonexistent/ca.pem: no such file" in err


def test_only_a_job_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    monkeypatch.setenv("CI_SERVER_URL", "https://gitlab.example.com")
    monkeypatch.setenv("CI_JOB_TOKEN", "job-token")
    code, _, err = run("run")
    assert code == 2
    assert "CI_JOB_TOKEN cannot write issues or notes" in err.replace(
        "only CI_JOB_TOKEN is set, and it", "CI_JOB_TOKEN"
    )
