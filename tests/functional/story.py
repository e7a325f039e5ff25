"""People acting on a GitLab with their own tokens, the real ``exception-bot`` between their
actions, and what the bot did read back through GitLab's API, never from the sandbox's
insides: the same story runs on the sandbox and on a real GitLab.

Time: GitLab dates every issue, note and event by its own clock, which no test can move. Each
story acts at real time, and the bot runs at ``--now`` = the real time plus the story's
``days`` (zero until the story jumps ahead), so ``--now`` is never earlier than what people did.
A story jumps ahead only when it has nothing left for people to do but what the bot asks of
them after the jump (an expired exception's fix verification).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import gitlab
import yaml
from gitlab.v4.objects import ProjectIssue
from typer.testing import CliRunner

from exception_bot.cli import app
from exception_bot.domain.markers import trailing
from exception_bot.domain.register import read_front_matter
from tests.functional.instance import BOT, People, Projects, Target
from tests.requests import set_field

REQUEST_TEMPLATE = ".gitlab/issue_templates/Exception Request.md"
RENEWAL_TEMPLATE = ".gitlab/issue_templates/Exception Renewal.md"
# GitLab writes a tick's checklist note just after saving the description (gitlab-fidelity.md
# §4); a tick waits this long at most for it, so the bot's next run sees who ticked.
NOTE_WAIT = 10.0
# How long GitLab may take to tell whether a merge request can be merged.
MERGEABLE_WAIT = 60.0


@dataclass(frozen=True)
class Result:
    exit_code: int
    output: str


class Story:
    """One story's GitLab: its people (by their demo names, ``bob``), projects and the bot."""

    def __init__(self, target: Target, people: People, projects: Projects, config: Path) -> None:
        self.target = target
        self.people = people
        self.projects = projects
        self.config = config
        self.days = 0  # how far ahead of the real time the bot runs
        self._clients: dict[str, gitlab.Gitlab] = {}

    # -- people ----------------------------------------------------------------------------

    def user(self, name: str) -> str:
        """The GitLab username of a person of the demo."""
        return self.people.username(name)

    def gl(self, name: str | None = None) -> gitlab.Gitlab:
        """A client acting as ``name``, or as the administrator for None."""
        key = name or ""
        if key not in self._clients:
            token = self.people.tokens[name] if name else None
            self._clients[key] = self.target.client(token)
        return self._clients[key]

    def _issue(self, name: str | None, iid: int) -> ProjectIssue:
        return self.gl(name).projects.get(self.projects.requests, lazy=True).issues.get(iid)

    def request(self, template: str = REQUEST_TEMPLATE, **fields: str) -> str:
        """The template ``setup`` committed, read from GitLab, with ``fields`` filled in:
        a Low risk request of bob's, expiring in 30 days, unless ``fields`` say otherwise."""
        project = self.gl("bob").projects.get(self.projects.requests, lazy=True)
        text = project.files.raw(file_path=template, ref="main").decode()
        today = self.now().date()
        answers = {
            "Summary": "Keep the legacy reporting VM on TLS 1.1 until the vendor patch.",
            "Requester contact": f"@{self.user('bob')} (Finance Systems)",
            "Department": "finance",
            "Policy": "encryption",
            "Scope": "`fin-report-01.staging.internal`, synthetic data, 4 analysts",
            "Environment": "staging",
            "Risk level": "Low",
            "Justification": "The vendor's agent speaks TLS 1.1 only until its next release.",
            "Risk assessment": "A downgrade on the staging network exposes synthetic data.",
            "Compensating controls": "Reachable only from the finance jump host.",
            "Remediation plan": "Install the vendor's release 8.4 and turn TLS 1.1 off.",
            "Expiration date": (today + timedelta(days=30)).isoformat(),
            **{k.replace("_", " "): v for k, v in fields.items()},
        }
        for heading, value in answers.items():
            if f"## {heading}\n" in text:
                text = set_field(text, heading, value)
        return text

    def open(self, name: str, body: str, title: str = "Exception request") -> int:
        project = self.gl(name).projects.get(self.projects.requests, lazy=True)
        return int(project.issues.create({"title": title, "description": body}).iid)

    def tick(self, name: str, iid: int, item: str) -> Story:
        """Tick a box as ``name``, and wait for GitLab's checklist note naming it."""
        before = self._checklist_notes(iid, item)
        issue = self._issue(name, iid)
        assert f"- [ ] {item}" in issue.description, f"no box '- [ ] {item}' in #{iid}"
        issue.description = issue.description.replace(f"- [ ] {item}", f"- [x] {item}", 1)
        issue.save()
        deadline = time.monotonic() + NOTE_WAIT
        while self._checklist_notes(iid, item) == before:
            assert time.monotonic() < deadline, f"GitLab wrote no checklist note for {item!r}"
            time.sleep(0.2)
        return self

    def _checklist_notes(self, iid: int, item: str) -> int:
        return sum(item in str(n["body"]) for n in self.notes(iid, system=True))

    def set_busy(self, name: str, busy: bool) -> Story:
        """``name`` sets their own GitLab status (``PUT /user/status``) to busy, or clears it."""
        data = {"availability": "busy", "message": "On leave"} if busy else {}
        self.gl(name).http_put("/user/status", post_data=data)
        return self

    def label(
        self, name: str, iid: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> Story:
        data = {"add_labels": ",".join(add), "remove_labels": ",".join(remove)}
        self.gl(name).projects.get(self.projects.requests, lazy=True).issues.update(iid, data)
        return self

    def comment(self, name: str, iid: int, body: str) -> Story:
        self._issue(name, iid).notes.create({"body": body})
        return self

    def read_token(self, name: str) -> str:
        """A personal access token of ``name`` with the ``read_api`` scope only, made by the
        administrator (doc/api/user_tokens.md): what a project's CI/CD variable holds for
        the gate."""
        expires = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
        user = self.gl().users.get(self.people.ids[name], lazy=True)
        token = user.personal_access_tokens.create(
            {"name": "exception-gate", "scopes": ["read_api"], "expires_at": expires}
        )
        return str(token.token)

    # -- the bot ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(days=self.days)

    def edit_config(self, change: Callable[[dict[str, Any]], None]) -> Story:
        """Change the bot's config, as a reviewed config change would."""
        data = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        change(data)
        self.config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return self

    def run(self, *args: str) -> Result:
        """``exception-bot run --now <real time + days>`` with the bot's token."""
        result = self.cli("run", "--now", self.now().isoformat(), *args)
        assert result.exit_code == 0, result.output
        return result

    def cli(self, command: str, *args: str, name: str = BOT, token: str | None = None) -> Result:
        """Any ``exception-bot`` command, through its console entry point, with GitLab's
        address and ``name``'s token (or ``token``) in GITLAB_URL and GITLAB_TOKEN."""
        env = {"GITLAB_URL": self.target.url, "GITLAB_TOKEN": token or self.people.tokens[name]}
        words = [*command.split(), "--config", str(self.config), *args]
        result = CliRunner().invoke(app, words, env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.output)

    def approve(self, iid: int, route: dict[str, tuple[str, str]]) -> Story:
        """Run, and have each stage's approver tick their box, until the request is approved."""
        self.run()
        for _ in range(len(route) + 1):
            stage = self.stage(iid)
            if stage is None:
                break
            name, item = route[stage]
            self.tick(name, iid, item).run()
        assert self.state(iid) == "exception::approved", self.status(iid)
        return self

    # -- what GitLab holds, read through its API --------------------------------------------

    def issue(self, iid: int) -> ProjectIssue:
        return self._issue(None, iid)

    def labels(self, iid: int) -> set[str]:
        return set(self.issue(iid).labels)

    def state(self, iid: int) -> str:
        (state,) = [n for n in self.labels(iid) if n.startswith("exception::")]
        return state

    def stage(self, iid: int) -> str | None:
        stages = [n for n in self.labels(iid) if n.startswith("exception-stage::")]
        assert len(stages) <= 1, stages
        return stages[0] if stages else None

    def notes(self, iid: int, *, system: bool = False) -> list[dict[str, Any]]:
        found = self.issue(iid).notes.list(get_all=True, sort="asc", order_by="created_at")
        return [n.attributes for n in found if bool(n.system) == system]

    def comments(self, iid: int, name: str | None = None) -> list[str]:
        wanted = self.user(name) if name else None
        return [
            str(n["body"])
            for n in self.notes(iid)
            if wanted is None or n["author"]["username"] == wanted
        ]

    def bot_comments(self, iid: int, kind: str | None = None) -> list[str]:
        """The bot's comments, or those of one kind, by the marker on their last line."""
        prefix = f"<!-- exception-bot:kind={kind}:"
        return [
            body
            for body in self.comments(iid, BOT)
            if kind is None or (trailing(body) or "").startswith(prefix)
        ]

    def status(self, iid: int) -> str:
        (status,) = self.bot_comments(iid, "status")
        return status

    def box(self, iid: int, item: str) -> bool:
        text = str(self.issue(iid).description)
        if f"- [x] {item}" in text:
            return True
        assert f"- [ ] {item}" in text, f"no box {item!r}"
        return False

    def register_paths(self) -> list[str]:
        project = self.gl().projects.get(self.projects.register, lazy=True)
        tree = project.repository_tree(recursive=True, ref="main", get_all=True)
        return sorted(str(e["path"]) for e in tree if e["type"] == "blob")

    def register_file(self, path: str) -> str:
        project = self.gl().projects.get(self.projects.register, lazy=True)
        return bytes(project.files.raw(file_path=path, ref="main")).decode()

    def register_index(self) -> list[dict[str, Any]]:
        rows = json.loads(self.register_file("register.json"))
        assert isinstance(rows, list)
        return rows

    def register_entry(self, iid: int) -> dict[str, Any]:
        """The front matter of the exception's entry, wherever it lives, and its path."""
        (path,) = [p for p in self.register_paths() if re.search(rf"/EXC-{iid:04d}-", p)]
        data = read_front_matter(self.register_file(path))
        assert data is not None, path
        return {**data, "path": path}

    def assignees(self, iid: int) -> list[str]:
        """The usernames the request is assigned to."""
        return sorted(str(a["username"]) for a in self.issue(iid).assignees)

    def due_date(self, iid: int) -> date | None:
        due = self.issue(iid).due_date
        return date.fromisoformat(due) if due else None

    # -- the register's merge requests -------------------------------------------------------

    def merge_when_mergeable(self, name: str, iid: int) -> None:
        """Merge as ``name`` once GitLab has checked the merge request can be merged (it does
        so in the background after it is opened)."""
        project = self.gl(name).projects.get(self.projects.register, lazy=True)
        deadline = time.monotonic() + MERGEABLE_WAIT
        while True:
            mr = project.mergerequests.get(iid)
            if mr.detailed_merge_status == "mergeable":
                break
            assert time.monotonic() < deadline, f"!{iid}: {mr.detailed_merge_status}"
            time.sleep(0.5)
        mr.merge()
