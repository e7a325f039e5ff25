"""ci/exception-gate.gitlab-ci.yml is what projects include after their scanners: its job,
install line and token are checked here, and its shell lines run as a GitLab runner would
run them, with fakes of pip, git, curl and exception-bot that say what they were given."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from typer.testing import CliRunner

from exception_bot import __version__
from exception_bot.cli import app
from tests.cli.test_gitlab_ci import BASH, SERVER, expand
from tests.cli.test_gitlab_ci import pipeline as bot_pipeline
from tests.requests import ROOT

SNIPPET = ROOT / "ci" / "exception-gate.gitlab-ci.yml"
TOKEN = "glpat-a-read-api-token"


def snippet() -> dict[str, Any]:
    data = yaml.safe_load(SNIPPET.read_text())
    assert isinstance(data, dict)
    return data


def job() -> dict[str, Any]:
    found = snippet()["exception-gate"]
    assert isinstance(found, dict)
    return found


def test_it_adds_one_job_and_no_global_variables() -> None:
    """Included into someone else's pipeline: it must not set their variables or stages."""
    assert list(snippet()) == ["exception-gate"]
    assert job()["stage"] == "test"
    assert all(need["optional"] for need in job()["needs"])


def test_the_token_is_a_read_token_from_a_masked_variable() -> None:
    text = SNIPPET.read_text()
    assert "glpat-" not in text
    assert not {"GITLAB_TOKEN", "EXCEPTION_BOT_READ_TOKEN"} & set(job()["variables"])
    assert job()["script"][-1].startswith(
        'GITLAB_TOKEN="$EXCEPTION_BOT_READ_TOKEN" exception-bot gate'
    )


def test_it_installs_the_same_release_as_the_bot() -> None:
    (line,) = [s for s in job()["before_script"] if s.startswith("pip install")]
    variables = {"CI_SERVER_URL": SERVER, **job()["variables"]}
    words = shlex.split(expand(expand(line, variables), variables))
    (spec,) = [w for w in words if not w.startswith("-") and w not in ("pip", "install")]
    requirement = Requirement(spec)
    assert requirement.name == "exception-bot"
    assert requirement.url == f"git+{SERVER}/security/exception-bot.git@v{__version__}"
    assert (
        job()["variables"]["EXCEPTION_BOT_VERSION"]
        == bot_pipeline()["variables"]["EXCEPTION_BOT_VERSION"]
    )


def test_its_reports_are_kept_when_it_fails() -> None:
    artifacts = job()["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["paths"] == ["exception-gate/"]


def run_job(
    tmp_path: Path, reports: list[str], variables: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The job's lines in one shell as a runner runs them (each line must succeed), in a
    project folder holding ``reports``, with fakes first on PATH."""
    bin_dir, work = tmp_path / "bin", tmp_path / "project"
    bin_dir.mkdir()
    work.mkdir()
    for name in reports:
        (work / name).write_text("{}")
    fakes = {
        "pip": "exit 0",
        "git": "exit 0",
        # curl: say what it was given, and write the file --output names
        "curl": 'echo "curl $*" >> calls; while [ $# -gt 0 ]; do '
        '[ "$1" = --output ] && echo "gitlab: {}" > "$2"; shift; done',
        "exception-bot": 'echo "GITLAB_TOKEN=$GITLAB_TOKEN exception-bot $*" >> calls',
    }
    for name, body in fakes.items():
        fake = bin_dir / name
        fake.write_text(f"#!/bin/sh\n{body}\n")
        fake.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "CI_SERVER_URL": SERVER,
        "CI_API_V4_URL": f"{SERVER}/api/v4",
        **variables,
    }
    # GitLab expands the job's variables (one level of $VAR) before the shell sees them; a
    # project's CI/CD variables override them.
    env |= {
        name: expand(str(value), env)
        for name, value in job()["variables"].items()
        if name not in variables
    }
    lines = [*job()["before_script"], *job()["script"]]
    script = "".join(f"{line}\nstatus=$?; [ $status -eq 0 ] || exit $status\n" for line in lines)
    return subprocess.run(  # noqa: S603 - the snippet's own lines
        [BASH, "-c", script], env=env, cwd=work, capture_output=True, text=True
    )


def test_the_gate_reads_the_reports_listed_with_the_read_token(tmp_path: Path) -> None:
    reports = ["gl-dependency-scanning-report.json", "gl-sast-report.json"]
    listed = {"EXCEPTION_GATE_REPORTS": " ".join(reports)}
    done = run_job(tmp_path, reports, {"EXCEPTION_BOT_READ_TOKEN": TOKEN, **listed})
    assert done.returncode == 0, done.stderr
    curl, gate = (tmp_path / "project" / "calls").read_text().splitlines()
    assert f"--header PRIVATE-TOKEN: {TOKEN}" in curl
    assert curl.endswith(
        f"{SERVER}/api/v4/projects/security%2Fexception-register/repository/files/"
        "config%2Fexception-bot.yml/raw?ref=main"
    )
    assert (tmp_path / "project" / "exception-bot.yml").is_file()
    assert gate == (
        f"GITLAB_TOKEN={TOKEN} exception-bot gate "
        f"--severity-threshold High --out exception-gate -- {' '.join(reports)}"
    )


@pytest.mark.parametrize(
    ("reports", "variables", "words"),
    [
        (["gl-sast-report.json"], {}, "EXCEPTION_BOT_READ_TOKEN"),
        ([], {"EXCEPTION_BOT_READ_TOKEN": TOKEN}, "run the scanners before the gate"),
        # A scanner job that failed (GitLab's templates allow it) leaves no report: the gate
        # must not pass on the others' alone.
        (
            ["gl-dependency-scanning-report.json", "gl-sast-report.json"],
            {"EXCEPTION_BOT_READ_TOKEN": TOKEN},
            "missing: gl-container-scanning-report.json; its scanner job did not run or failed",
        ),
        (
            ["gl-sast-report.json"],
            {"EXCEPTION_BOT_READ_TOKEN": TOKEN, "EXCEPTION_GATE_REPORTS": " "},
            "EXCEPTION_GATE_REPORTS names no report",
        ),
    ],
)
def test_without_its_token_or_its_reports_it_says_what_to_do(
    tmp_path: Path, reports: list[str], variables: dict[str, str], words: str
) -> None:
    done = run_job(tmp_path, reports, variables)
    assert done.returncode == 2
    assert words in done.stderr
    assert (
        "exception-bot gate" not in (tmp_path / "project" / "calls").read_text()
        if (tmp_path / "project" / "calls").exists()
        else True
    )


def test_the_how_to_lists_every_variable_of_the_job() -> None:
    guide = (ROOT / "docs" / "how-to" / "gate-a-pipeline.md").read_text()
    (table,) = re.findall(r"\| CI/CD variable \|.*?\n\n", guide, re.S)
    for name in [*job()["variables"], "EXCEPTION_BOT_READ_TOKEN"]:
        assert f"`{name}`" in table, name


def test_a_variable_cannot_add_options_to_the_gate(tmp_path: Path) -> None:
    """A pipeline variable (a project's, or one given to a manual pipeline) that reads
    ``r.json --now 2020-01-01`` must not turn back the gate's clock, even with files of those
    names in the repository: the reports come after ``--``."""
    reports = ["gl-sast-report.json", "--now", "2020-01-01"]
    listed = {"EXCEPTION_GATE_REPORTS": " ".join(reports), "EXCEPTION_BOT_READ_TOKEN": TOKEN}
    done = run_job(tmp_path, reports, listed)
    assert done.returncode == 0, done.stderr
    gate = (tmp_path / "project" / "calls").read_text().splitlines()[-1]
    options, _, files = gate.partition(" -- ")
    assert files == " ".join(reports)
    assert "--now" not in options
    # and the command line reads what follows -- as report files
    shown = CliRunner().invoke(app, ["gate", "--project", "g/p", "--", "--now"])
    assert shown.exit_code == 2
    assert "--now: no such report file" in shown.output
