"""The sandbox's JSON carries the field names of GitLab's documented example responses, for
every kind of answer the bot reads (the package exception_bot/gitlab/ is the only caller)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import gitlab
import pytest

from exception_bot.sandbox import DEMO, Sandbox

CONTRACTS = Path(__file__).parent / "contracts"
Client = Callable[[str], gitlab.Gitlab]
REQUESTS, REGISTER = "security/exceptions", "security/exception-register"


def field_paths(data: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in data.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, Mapping) and key != "_links":
            yield from field_paths(value, f"{path}.")


def documented(name: str) -> set[str]:
    contract = json.loads((CONTRACTS / f"{name}.json").read_text())
    assert contract["source"].startswith("gitlabhq/gitlabhq doc/api/")
    absent = set(contract["absent"])
    return {
        path
        for path in field_paths(contract["example"])
        if not any(path == a or path.startswith(a + ".") for a in absent)
    }


def nulls(data: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Paths whose value is null: GitLab's answer for an object that is not there (a
    milestone, a pipeline), whose own fields an example shows."""
    for key, value in data.items():
        if value is None:
            yield f"{prefix}{key}"
        elif isinstance(value, Mapping):
            yield from nulls(value, f"{prefix}{key}.")


def missing(name: str, answer: Mapping[str, Any]) -> set[str]:
    ours, empty = set(field_paths(answer)), tuple(f"{n}." for n in nulls(answer))
    return {p for p in documented(name) - ours if not p.startswith(empty)}


@pytest.fixture(scope="module")
def answers() -> Iterator[dict[str, dict[str, Any]]]:
    """One real answer of each kind, fetched from a sandbox through python-gitlab."""
    with Sandbox(DEMO) as sandbox:
        yield _answers(lambda name: gitlab.Gitlab(sandbox.url, private_token=sandbox.token(name)))


def _answers(gl: Client) -> dict[str, dict[str, Any]]:
    bot, bob = gl("exception-bot"), gl("bob")
    requests = bob.projects.get(REQUESTS, lazy=True)
    issue = requests.issues.create(
        {"title": "t", "description": "- [ ] a\n\n/label ~ExceptionRequest"}
    )
    other = requests.issues.create({"title": "u", "description": "b"})
    note = issue.notes.create({"body": "hello"})
    link = issue.links.create({"target_project_id": REQUESTS, "target_issue_iid": other.iid})
    bot.projects.get(REQUESTS, lazy=True).issues.update(other.iid, {"state_event": "close"})
    register = bot.projects.get(REGISTER, lazy=True)
    commit = register.commits.create(
        {
            "branch": "main",
            "commit_message": "m",
            "actions": [{"action": "create", "file_path": "a.md", "content": "a"}],
        }
    )
    branch = register.commits.create(
        {
            "branch": "add-b",
            "start_branch": "main",
            "commit_message": "b",
            "actions": [{"action": "create", "file_path": "b.md", "content": "b"}],
        }
    )
    mr = register.mergerequests.create(
        {"source_branch": "add-b", "target_branch": "main", "title": "Add b"}
    )
    register.mergerequests.get(mr.iid, lazy=True).approve()
    got = register.mergerequests.get(mr.iid)
    bot.auth()
    assert bot.user is not None
    path = f"/projects/{register.encoded_id}/repository/commits/{branch.id}/merge_requests"
    return {
        "user": bob.users.list(username="carol")[0].attributes,
        "current_user": bot.user.attributes,
        "member": bot.projects.get(REQUESTS, lazy=True).members_all.list()[0].attributes,
        "group": bot.groups.get("security").attributes,
        "project": bot.projects.get(REGISTER).attributes,
        "label": bot.projects.get(REQUESTS, lazy=True).labels.list()[0].attributes,
        "issue": requests.issues.get(issue.iid).attributes,
        "note": note.attributes,
        "resource_label_event": issue.resourcelabelevents.list(get_all=True)[0].attributes,
        "resource_state_event": bot.projects.get(REQUESTS, lazy=True)
        .issues.get(other.iid, lazy=True)
        .resourcestateevents.list()[0]
        .attributes,
        "linked_issue": issue.links.list()[0].attributes,
        "issue_link": {
            "source_issue": link[0].attributes,
            "target_issue": link[1].attributes,
            "link_type": "relates_to",
        },
        "file": register.files.get(file_path="a.md", ref="main").attributes,
        "commit": commit.attributes,
        "branch": register.branches.get("main").attributes,
        "tree_entry": next(iter(register.repository_tree(ref="main", get_all=True))),
        "merge_request": got.attributes,
        "merge_request_approvals": got.approvals.get().attributes,
        "diff": got.changes()["changes"][0],  # type: ignore[index]
        "commit_merge_request": bot.http_list(path, get_all=True)[0],  # type: ignore[index]
    }


CONTRACT_NAMES = sorted(p.stem for p in CONTRACTS.glob("*.json"))


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_documented_fields_are_present(answers: dict[str, dict[str, Any]], name: str) -> None:
    gone = missing(name, answers[name])
    assert not gone, f"{name}: fields in GitLab's example but not in the sandbox: {sorted(gone)}"


def test_a_null_object_stands_for_its_documented_fields() -> None:
    assert missing("merge_request", {"milestone": None}) >= {"id", "title"}
    assert not {
        p for p in missing("merge_request", {"milestone": None}) if p.startswith("milestone")
    }
