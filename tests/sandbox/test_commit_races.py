"""The repository answers the run lock relies on (exception_bot/run_lock.py): a commit that
creates an existing file or deletes a gone one is refused whole, with GitLab's 400 and
message, and every answer's Date is the server's clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import gitlab
import pytest
import requests

from exception_bot.sandbox import Sandbox

REGISTER = "security/exception-register"


def commit(project: gitlab.v4.objects.Project, *actions: dict[str, str]) -> None:
    project.commits.create({"branch": "main", "commit_message": "m", "actions": list(actions)})


def test_of_two_commits_creating_one_file_the_second_is_refused_whole(
    gl: Callable[[str], gitlab.Gitlab], sandbox: Sandbox
) -> None:
    project = gl("exception-bot").projects.get(REGISTER, lazy=True)
    commit(project, {"action": "create", "file_path": "lease-1", "content": "a"})
    with pytest.raises(gitlab.GitlabCreateError) as err:
        commit(
            project,
            {"action": "create", "file_path": "other", "content": "b"},
            {"action": "create", "file_path": "lease-1", "content": "b"},
        )
    assert (err.value.response_code, err.value.error_message) == (
        400,
        "A file with this name already exists",
    )
    assert "other" not in sandbox.files(REGISTER)
    with pytest.raises(gitlab.GitlabCreateError) as gone:
        commit(
            project,
            {"action": "create", "file_path": "lease-2", "content": "b"},
            {"action": "delete", "file_path": "lease-0"},
        )
    assert gone.value.response_code == 400
    assert "lease-2" not in sandbox.files(REGISTER)


def test_a_stale_last_commit_id_is_worded_as_the_commits_api_words_it(
    gl: Callable[[str], gitlab.Gitlab],
) -> None:
    project = gl("exception-bot").projects.get(REGISTER, lazy=True)
    stale = project.files.get(file_path="README.md", ref="main").last_commit_id
    commit(project, {"action": "update", "file_path": "README.md", "content": "x"})
    with pytest.raises(gitlab.GitlabCreateError) as err:
        commit(
            project,
            {"action": "update", "file_path": "README.md", "content": "y", "last_commit_id": stale},
        )
    # app/services/files/multi_service.rb validate_file_status!
    assert err.value.error_message == "The file has changed since you started editing it: README.md"


def test_the_date_header_is_the_sandbox_clock(sandbox: Sandbox) -> None:
    moment = datetime(2027, 1, 4, 9, 30, tzinfo=UTC)
    sandbox.set_now(moment)
    answer = requests.get(
        f"{sandbox.url}/api/v4/user",
        headers={"PRIVATE-TOKEN": sandbox.token("bob")},
        timeout=10,
    )
    assert parsedate_to_datetime(answer.headers["Date"]) == moment
