"""The sandbox's JSON carries the field names of GitLab's documented example responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import gitlab
import pytest

from exception_bot.sandbox import Sandbox

CONTRACTS = Path(__file__).parent / "contracts"
Client = Callable[[str], gitlab.Gitlab]


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
        if path not in absent and path.split(".")[0] not in absent
    }


@pytest.fixture
def answers(sandbox: Sandbox, gl: Client) -> dict[str, dict[str, Any]]:
    """One real answer of each kind, fetched from the sandbox through python-gitlab."""
    bob = gl("bob").projects.get("security/exceptions", lazy=True)
    issue = bob.issues.create({"title": "t", "description": "- [ ] a\n\n/label ~ExceptionRequest"})
    note = issue.notes.create({"body": "hello"})
    register = gl("exception-bot").projects.get("security/exception-register", lazy=True)
    commit = register.commits.create(
        {
            "branch": "main",
            "commit_message": "m",
            "actions": [{"action": "create", "file_path": "a.md", "content": "a"}],
        }
    )
    return {
        "issue": bob.issues.get(issue.iid).attributes,
        "note": note.attributes,
        "resource_label_event": issue.resourcelabelevents.list(get_all=True)[0].attributes,
        "file": register.files.get(file_path="a.md", ref="main").attributes,
        "commit": commit.attributes,
    }


@pytest.mark.parametrize("name", ["issue", "note", "resource_label_event", "file", "commit"])
def test_documented_fields_are_present(answers: dict[str, dict[str, Any]], name: str) -> None:
    ours = set(field_paths(answers[name]))
    missing = documented(name) - ours
    assert not missing, f"{name}: fields in GitLab's example but not in the sandbox: {missing}"
