"""People acting on the sandbox GitLab through python-gitlab, and the real `run` command between
their actions, on a simulated clock."""

from __future__ import annotations

import json
import pprint
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import gitlab
import yaml
from typer.testing import CliRunner

from exception_bot.cli import app
from exception_bot.domain import record
from exception_bot.domain.markers import trailing
from exception_bot.domain.provenance import content_hash
from exception_bot.domain.register import read_front_matter
from exception_bot.run_lock import LOCK_BRANCH
from exception_bot.sandbox import DEMO, Sandbox
from exception_bot.sandbox.server import LoggedRequest
from exception_bot.sandbox.store import Issue
from tests.requests import ROOT

REQUESTS = "security/exceptions"
REGISTER = "security/exception-register"
BOT = "exception-bot"
CONFIG = ROOT / "config" / "exception-bot.yml"
TEMPLATE_FOOTER = '/label ~"ExceptionRequest" ~"exception::submitted"\n/confidential\n'
# Who approves the fixture request low_staging (finance, encryption) at each stage, in order.
LOW_ROUTE = [
    ("carol", "Department head approval"),
    ("victor", "Security team approval"),
    ("erin", "Policy owner approval"),
    ("sue", "Security Compliance review"),
]
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: str

    @property
    def summary(self) -> dict[str, int]:
        line = self.output.strip().splitlines()[-1]
        return {k: int(v) for k, v in (part.split("=") for part in line.split())}


class World:
    """The sandbox, its people, and the bot run by its CLI at the world's clock."""

    def __init__(
        self,
        sandbox: Sandbox,
        gl: Callable[[str], gitlab.Gitlab],
        config: Path = CONFIG,
        requests: str = REQUESTS,
    ) -> None:
        self.sandbox = sandbox
        self.gl = gl
        self.config = config
        self.requests = requests  # the project people open requests in
        self.clock = START
        sandbox.set_now(self.clock)

    # -- time ---------------------------------------------------------------------------------

    def later(self, **delta: float) -> World:
        self.clock += timedelta(**delta)
        self.sandbox.set_now(self.clock)
        return self

    def at(self, moment: datetime) -> World:
        self.clock = moment
        self.sandbox.set_now(moment)
        return self

    # -- what people do -------------------------------------------------------------------------

    def _issue(self, user: str, iid: int) -> gitlab.v4.objects.ProjectIssue:
        return self.gl(user).projects.get(self.requests, lazy=True).issues.get(iid)

    def open(self, user: str, body: str, title: str = "Exception request") -> int:
        """Open a request as ``user``; its quick actions run as GitLab runs them. A body without
        the template's footer gets it, as if opened from the template."""
        if "/label" not in body:
            body = f"{body.rstrip()}\n\n{TEMPLATE_FOOTER}"
        project = self.gl(user).projects.get(self.requests, lazy=True)
        return int(project.issues.create({"title": title, "description": body}).iid)

    def tick(self, user: str, iid: int, item: str, checked: bool = True) -> World:
        """Tick (or untick) a box as ``user``: GitLab writes the checklist note."""
        issue = self._issue(user, iid)
        old, new = ("[ ]", "[x]") if checked else ("[x]", "[ ]")
        assert f"- {old} {item}" in issue.description, f"no box '- {old} {item}' in #{iid}"
        issue.description = issue.description.replace(f"- {old} {item}", f"- {new} {item}", 1)
        issue.save()
        return self

    def edit(self, user: str, iid: int, old: str, new: str) -> World:
        issue = self._issue(user, iid)
        assert old in issue.description
        issue.description = issue.description.replace(old, new, 1)
        issue.save()
        return self

    def label(
        self, user: str, iid: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> World:
        data = {"add_labels": ",".join(add), "remove_labels": ",".join(remove)}
        self.gl(user).projects.get(self.requests, lazy=True).issues.update(iid, data)
        return self

    def comment(self, user: str, iid: int, body: str) -> World:
        self._issue(user, iid).notes.create({"body": body})
        return self

    # -- the bot --------------------------------------------------------------------------------

    def run(self, *args: str) -> RunResult:
        """``exception-bot run --now <clock>`` as the bot's user, against the sandbox."""
        return self.cli("run", "--now", self.clock.isoformat(), *args)

    def cli(self, command: str, *args: str, user: str = BOT) -> RunResult:
        """Any ``exception-bot`` command, connected to the sandbox as the bot's user (or with
        ``user``'s token)."""
        env = {"GITLAB_URL": self.sandbox.url, "GITLAB_TOKEN": self.sandbox.token(user)}
        words = [*command.split(), "--config", str(self.config), *args]
        result = CliRunner().invoke(app, words, env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return RunResult(result.exit_code, result.output)

    def run_json(self, *args: str) -> dict[str, object]:
        result = self.run("--json", *args)
        data = json.loads(result.output)
        assert isinstance(data, dict)
        return data

    def approve(self, iid: int, approvers: dict[str, tuple[str, str]]) -> World:
        """Tick, run, repeat: each stage's approver ticks until the request is approved."""
        self.run()
        for _ in range(10):
            stage = self.stage(iid)
            if stage is None:
                break
            user, item = approvers[stage]
            self.later(hours=1).tick(user, iid, item)
            self.later(minutes=10).run()
        assert self.state(iid) == "exception::approved", self.status(iid)
        return self

    # -- what the sandbox holds -----------------------------------------------------------------

    def issue(self, iid: int) -> Issue:
        return self.sandbox.issue(self.requests, iid)

    def labels(self, iid: int) -> set[str]:
        return set(self.issue(iid).labels)

    def state(self, iid: int) -> str:
        (state,) = [n for n in self.labels(iid) if n.startswith("exception::")]
        return state

    def stage(self, iid: int) -> str | None:
        stages = [n for n in self.labels(iid) if n.startswith("exception-stage::")]
        assert len(stages) <= 1, stages
        return stages[0] if stages else None

    def comments(self, iid: int, author: str | None = None) -> list[str]:
        users = self.sandbox.store.users
        return [
            n.body
            for n in self.issue(iid).notes
            if not n.system and (author is None or users[n.author_id].username == author)
        ]

    def bot_comments(self, iid: int, kind: str | None = None) -> list[str]:
        """The bot's comments, or those of one kind: by the marker on their last line, as the
        bot itself finds them."""
        found = self.comments(iid, BOT)
        prefix = f"<!-- exception-bot:kind={kind}:"
        return [b for b in found if kind is None or (trailing(b) or "").startswith(prefix)]

    def register_file(self, path: str) -> str | None:
        return self.sandbox.file(REGISTER, path)

    def register_entry(self, iid: int) -> dict[str, Any]:
        """The front matter of the exception's register entry, wherever it lives."""
        files = self.sandbox.files(REGISTER)
        (path,) = [p for p in files if re.search(rf"/EXC-{iid:04d}-", p)]
        data = read_front_matter(files[path])
        assert data is not None
        return {**data, "path": path}

    def status(self, iid: int) -> str:
        (status,) = self.bot_comments(iid, "status")
        return status

    def assignees(self, iid: int) -> list[str]:
        users = self.sandbox.store.users
        return [users[i].username for i in self.issue(iid).assignee_ids]

    def box(self, iid: int, item: str) -> bool:
        text = self.issue(iid).description
        if f"- [x] {item}" in text:
            return True
        assert f"- [ ] {item}" in text, f"no box {item!r}"
        return False


def edit_config(
    path: Path, change: Callable[[dict[str, Any]], object], base: Path = CONFIG
) -> Path:
    """``base`` with ``change`` made to its data, written to ``path`` (which may be ``base``)
    in the config's own order: the request template lists the checklist in that order."""
    data = yaml.safe_load(base.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def new_world(folder: Path | None = None, state_file: bool = False, **settings: Any) -> World:
    """A world on a sandbox of its own, started here (stop it with ``world.sandbox.stop()``).
    With ``state_file`` its bot keeps one in ``folder``; ``settings`` replace top-level keys of
    the config, written to ``folder`` too."""
    config = CONFIG
    if state_file or settings:
        assert folder is not None, "a changed config needs a folder to be written to"
        state_path = str(folder / "exception-bot.json")

        def change(data: dict[str, Any]) -> None:
            data.update(settings)
            if state_file:
                data["state_file"] = state_path

        config = edit_config(folder / "config.yml", change)
    sandbox = Sandbox(DEMO).start()
    clients: dict[str, gitlab.Gitlab] = {}

    def gl(user: str) -> gitlab.Gitlab:
        if user not in clients:
            clients[user] = gitlab.Gitlab(sandbox.url, private_token=sandbox.token(user))
        return clients[user]

    return World(sandbox, gl, config)


def writes_besides_the_lock(sandbox: Sandbox) -> list[LoggedRequest]:
    """The sandbox's writes, but for the run lock's commits to its own branch (every run that
    writes takes and releases the lock: exception_bot/run_lock.py)."""
    return [w for w in sandbox.writes() if w.branch != LOCK_BRANCH]


def final_state(world: World, reports: bool = True, commits: bool = False) -> str:
    """Every issue of both projects (the reminder and report issues too: open or closed,
    labels, comments, description, due date, assignees) and the register's files, as text
    (with the sandbox's address, which differs from one sandbox to the next, taken out).

    ``reports=False`` leaves out the weekly reports' text, keeping their titles. ``commits``
    adds the register branch's commits (messages and paths): for worlds that must have made
    the same commits, not only reached the same files (a crash and a rerun may commit twice)."""
    store = world.sandbox.store
    files = world.sandbox.files(REGISTER)
    issues = {
        (project, issue.iid, issue.title): (
            issue.state,
            sorted(issue.labels),
            sorted(_vouching(n.body, files) for n in issue.notes if not n.system),
            issue.description if reports or project == REQUESTS else "",
            issue.due_date,
            sorted(store.users[a].username for a in issue.assignee_ids),
        )
        for project in (REQUESTS, REGISTER)
        for issue in (store.project(project) or _missing(project)).issues.values()
    }
    state = {"issues": issues, "register": files}
    if commits:
        state["commits"] = _history(world)
    return pprint.pformat(state, width=200).replace(world.sandbox.url, "http://sandbox")


def _history(world: World) -> list[tuple[str, list[str]]]:
    """The register's default branch, oldest commit first: each commit's message (the
    trailers of who did what, when) and the paths it changed."""
    store = world.sandbox.store
    project = store.project(REGISTER) or _missing(REGISTER)
    commit = store.head(project, None)
    found = []
    while commit is not None:
        found.append((commit.message, sorted(commit.changed)))
        commit = project.commits.get(commit.parent_id) if commit.parent_id else None
    return found[::-1]


def _vouching(body: str, files: dict[str, str]) -> str:
    """A note, its record's hash of the register file it vouches for put as "matches" when
    it is that file's: the files hold the sandbox's address, which differs from one sandbox to
    the next, and are compared themselves."""
    rec, old = record.decode(body), record.comment(body)
    if rec is None or old is None or rec.written is None:
        return body
    text = files.get(rec.written.path)
    if text is None or content_hash(text) != rec.written.sha256:
        return body
    matches = replace(rec, written=replace(rec.written, sha256="matches"))
    return body.replace(old, record.encode(matches))


def _missing(project: str) -> NoReturn:
    raise AssertionError(f"no project {project} in the sandbox")
