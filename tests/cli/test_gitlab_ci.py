"""`.gitlab-ci.yml` is what users copy: its jobs, rules, install line and the variables each
job needs are checked here, the jobs' shell lines run as a GitLab runner would run them."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from exception_bot import __version__
from tests.requests import ROOT

SERVER = "https://gitlab.example.com"
BASH = shutil.which("bash") or "/bin/bash"
GIT = shutil.which("git") or "git"
# The CI/CD variables as the file's header says to add them: (value, protected).
PROJECT_VARIABLES = {
    "GITLAB_TOKEN": ("glpat-the-bots-api-token", True),
    "EXCEPTION_BOT_READ_TOKEN": ("glpat-a-read-api-token", False),
}


def pipeline() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    assert isinstance(data, dict)
    return data


def rules(job: dict[str, Any]) -> list[str]:
    return [rule["if"] for rule in job["rules"]]


def expand(text: str, variables: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` as GitLab expands them in ``variables:`` (unknown: empty)."""
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables.get(m.group(1), ""), text
    )


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
    assert not {"GITLAB_TOKEN", "EXCEPTION_BOT_READ_TOKEN"} & set(pipeline()["variables"])
    assert "glpat-" not in text
    bot = pipeline()[".exception-bot"]
    assert ".exception-bot/" in bot["cache"]["paths"]  # the state file survives between runs
    assert bot["cache"]["when"] == "always"  # a run that exits 1 keeps what it learnt too
    assert bot["stage"] in pipeline()["stages"]


def test_only_the_run_waits_for_another_run() -> None:
    """lint and mr-check change nothing, and the report waits for the run lock itself: none
    of them queues behind a run that takes ten minutes."""
    ci = pipeline()
    queued = [name for name, job in ci.items() if isinstance(job, dict) and "resource_group" in job]
    assert queued == ["exception-bot-run"]
    assert ci["exception-bot-run"]["resource_group"] == "exception-bot"


def test_the_bot_is_installed_from_its_repository_at_a_release_tag() -> None:
    """A bare name would install whatever someone published under it; a direct reference
    to the repository at the tag of this version installs this bot."""
    ci = pipeline()
    (line,) = [s for s in ci[".exception-bot"]["before_script"] if s.startswith("pip install")]
    variables = {"CI_SERVER_URL": SERVER, **ci["variables"]}
    words = shlex.split(expand(expand(line, variables), variables))
    (spec,) = [w for w in words if not w.startswith("-") and w not in ("pip", "install")]
    requirement = Requirement(spec)
    assert requirement.name == "exception-bot"
    assert (requirement.extras, str(requirement.specifier), requirement.marker) == (set(), "", None)
    assert requirement.url == f"git+{SERVER}/security/exception-bot.git@v{__version__}"
    assert re.fullmatch(r"git\+https://[^@\s]+\.git@v\d+\.\d+\.\d+", requirement.url or "")


def test_git_gives_the_job_token_to_this_gitlab_and_to_no_other_host(tmp_path: Path) -> None:
    """The install reads a private mirror with CI_JOB_TOKEN; a repository elsewhere never
    sees that token."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "CI_SERVER_URL": SERVER,
        "CI_JOB_TOKEN": "the-job-token",
        "GIT_TERMINAL_PROMPT": "0",
    }
    for line in pipeline()[".exception-bot"]["before_script"]:
        if line.startswith("git config"):
            # the template's own lines, in a throwaway HOME
            subprocess.run([BASH, "-c", line], env=env, check=True)  # noqa: S603

    def fill(host: str) -> str:
        asked = f"protocol=https\nhost={host}\npath=security/exception-bot.git\n\n"
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [GIT, "credential", "fill"], input=asked, env=env, capture_output=True, text=True
        )
        return done.stdout

    assert "username=gitlab-ci-token\npassword=the-job-token\n" in fill("gitlab.example.com")
    assert "the-job-token" not in fill("github.com")


@pytest.mark.parametrize(
    ("job", "protected", "token"),
    [
        ("exception-bot-run", True, "glpat-the-bots-api-token"),
        ("exception-bot-weekly-report", True, "glpat-the-bots-api-token"),
        # a merge-request pipeline of a feature branch: no protected variable reaches it
        ("exception-bot-mr-check", False, "glpat-a-read-api-token"),
        ("exception-bot-lint", False, ""),  # offline: no token at all
    ],
)
def test_each_job_gets_the_token_it_needs_where_it_runs(
    tmp_path: Path, job: str, protected: bool, token: str
) -> None:
    seen = run_script(tmp_path, job, protected_branch=protected)
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout == f"GITLAB_TOKEN={token}\n"


def test_mr_check_without_its_token_says_which_variable_to_add(tmp_path: Path) -> None:
    seen = run_script(tmp_path, "exception-bot-mr-check", protected_branch=False, variables={})
    assert seen.returncode == 2
    assert "EXCEPTION_BOT_READ_TOKEN" in seen.stderr
    assert "read_api" in seen.stderr
    assert seen.stdout == ""  # the bot never ran


def run_script(
    tmp_path: Path,
    job: str,
    protected_branch: bool,
    variables: dict[str, tuple[str, bool]] = PROJECT_VARIABLES,
) -> subprocess.CompletedProcess[str]:
    """The job's script as a runner runs it (one shell, stopping at the first failure), with
    the project's CI/CD variables a pipeline of such a branch gets, and an ``exception-bot``
    that says which token it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "exception-bot"
    fake.write_text('#!/bin/sh\necho "GITLAB_TOKEN=$GITLAB_TOKEN"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CI_SERVER_URL": SERVER}
    env |= {
        name: value
        for name, (value, protected) in variables.items()
        if protected_branch or not protected
    }
    script = "set -e\n" + "\n".join(pipeline()[job]["script"])
    # the template's own lines, with a fake exception-bot first on PATH
    return subprocess.run([BASH, "-c", script], env=env, capture_output=True, text=True)  # noqa: S603


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
    assert check["script"][-1] == 'GITLAB_TOKEN="$EXCEPTION_BOT_READ_TOKEN" exception-bot mr-check'
    assert rules(check) == ['$CI_PIPELINE_SOURCE == "merge_request_event"']


def test_the_docs_list_every_variable_the_jobs_need() -> None:
    guide = (ROOT / "docs" / "how-to" / "gitlab-ci.md").read_text()
    (table,) = re.findall(r"\| CI/CD variable \|.*?\n\n", guide, re.S)
    for name in [*PROJECT_VARIABLES, *pipeline()["variables"], "EXCEPTION_BOT_JOB"]:
        if name != "PIP_CACHE_DIR":
            assert f"`{name}`" in table, name
