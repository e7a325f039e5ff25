"""`.gitlab-ci.yml` is what users copy: its jobs, rules and token handling are checked here."""

from __future__ import annotations

from typing import Any

import yaml

from tests.requests import ROOT


def pipeline() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    assert isinstance(data, dict)
    return data


def rules(job: dict[str, Any]) -> list[str]:
    return [rule["if"] for rule in job["rules"]]


def test_the_bot_runs_only_on_schedules() -> None:
    ci = pipeline()
    run = ci["exception-bot-run"]
    assert run["extends"] == ".exception-bot"
    assert run["script"] == ["exception-bot run"]
    assert run["allow_failure"] == {"exit_codes": [3]}  # another run held the run lock
    assert rules(run) == ['$CI_PIPELINE_SOURCE == "schedule" && $EXCEPTION_BOT_JOB != "report"']
    report = ci["exception-bot-weekly-report"]
    assert report["script"] == ["exception-bot report --post --wait-lock 900"]
    assert rules(report) == ['$CI_PIPELINE_SOURCE == "schedule" && $EXCEPTION_BOT_JOB == "report"']


def test_the_token_comes_from_a_masked_variable_never_the_file() -> None:
    text = (ROOT / ".gitlab-ci.yml").read_text()
    assert "GITLAB_TOKEN" in text  # documented as a masked CI/CD variable
    assert "GITLAB_TOKEN" not in pipeline()["variables"]  # and never set in the file
    assert "glpat-" not in text
    bot = pipeline()[".exception-bot"]
    assert bot["resource_group"] == "exception-bot"  # never two runs at once
    assert ".exception-bot/" in bot["cache"]["paths"]  # the state file survives between runs
    assert bot["cache"]["when"] == "always"  # a run that exits 1 keeps what it learnt too
    assert bot["stage"] in pipeline()["stages"]


def test_our_own_tests_run_on_merge_requests_and_the_default_branch() -> None:
    test = pipeline()["test"]
    assert test["script"] == ["bash .ci/run"]
    assert '$CI_PIPELINE_SOURCE == "merge_request_event"' in rules(test)


def test_merge_requests_to_the_register_are_linted_with_a_code_quality_report() -> None:
    lint = pipeline()["exception-bot-lint"]
    assert lint["script"] == [
        "exception-bot lint exceptions/ --codequality gl-code-quality-report.json"
    ]
    assert lint["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    assert lint["artifacts"]["when"] == "always"  # the report is wanted most when lint fails
    (rule,) = lint["rules"]
    assert rule["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'


def test_merge_requests_to_the_register_need_their_approvals() -> None:
    check = pipeline()["exception-bot-mr-check"]
    assert check["script"] == ["exception-bot mr-check"]
    assert rules(check) == ['$CI_PIPELINE_SOURCE == "merge_request_event"']
