"""A job artifact's file by ref and job name, as GitLab answers it (lib/api/ci/job_artifacts.rb,
app/models/project.rb ``latest_successful_build_for_ref``; exception_bot/sandbox/pipelines.py):
from the latest successful pipeline of the ref, 404 otherwise, 403 for a Guest of a private
project, 404 for a project the user cannot see."""

from __future__ import annotations

from collections.abc import Callable

import gitlab
import pytest

from exception_bot.sandbox import Sandbox
from exception_bot.sandbox.pipelines import record_pipeline
from exception_bot.sandbox.seed import LEVELS

Client = Callable[[str], gitlab.Gitlab]
APP = "payments/checkout-api"
JOB, FILE = "exception-bot-gate", "exception-bot-gate.json"


def _app(sandbox: Sandbox, **members: str) -> None:
    project = sandbox.store.add_project(APP)
    for username, role in members.items():
        user = sandbox.store.user_named(username)
        assert user is not None
        project.members[user.id] = LEVELS[role]


def _raw(gl: Client, user: str, ref: str = "main", path: str = FILE, job: str = JOB) -> bytes:
    return gl(user).projects.get(APP, lazy=True).artifacts.raw(ref, path, job)


def test_the_latest_successful_pipeline_answers(sandbox: Sandbox, gl: Client) -> None:
    _app(sandbox, carol="reporter")
    record_pipeline(sandbox.store, APP, "main", {JOB: {FILE: '{"n": 1}'}})
    record_pipeline(sandbox.store, APP, "main", {JOB: {FILE: '{"n": 2}'}})
    record_pipeline(sandbox.store, APP, "main", {JOB: {FILE: '{"n": 3}'}}, status="failed")
    record_pipeline(sandbox.store, APP, "other", {JOB: {FILE: '{"n": 4}'}})
    assert _raw(gl, "carol") == b'{"n": 2}'
    assert _raw(gl, "carol", ref="other") == b'{"n": 4}'


@pytest.mark.parametrize(
    ("ref", "path", "job"),
    [("main", FILE, "another-job"), ("main", "missing.json", JOB), ("nowhere", FILE, JOB)],
)
def test_nothing_there_is_404(sandbox: Sandbox, gl: Client, ref: str, path: str, job: str) -> None:
    _app(sandbox, carol="reporter")
    record_pipeline(sandbox.store, APP, "main", {JOB: {FILE: "{}"}})
    with pytest.raises(gitlab.GitlabGetError) as err:
        _raw(gl, "carol", ref, path, job)
    assert err.value.response_code == 404


def test_only_failed_pipelines_is_404(sandbox: Sandbox, gl: Client) -> None:
    _app(sandbox, carol="reporter")
    record_pipeline(sandbox.store, APP, "main", {JOB: {FILE: "{}"}}, status="failed")
    with pytest.raises(gitlab.GitlabGetError) as err:
        _raw(gl, "carol")
    assert err.value.response_code == 404


def test_who_may_read(sandbox: Sandbox, gl: Client) -> None:
    _app(sandbox, carol="reporter", bob="guest")
    record_pipeline(sandbox.store, APP, "main", {JOB: {FILE: "{}"}})
    with pytest.raises(gitlab.GitlabGetError) as guest:
        _raw(gl, "bob")
    assert guest.value.response_code == 403
    with pytest.raises(gitlab.GitlabGetError) as stranger:
        _raw(gl, "erin")
    assert stranger.value.response_code == 404
    project = sandbox.store.project(APP)
    assert project is not None
    project.visibility = "internal"  # public_builds: every signed-in user reads its pipelines
    assert _raw(gl, "erin") == b"{}"
    assert _raw(gl, "bob") == b"{}"
