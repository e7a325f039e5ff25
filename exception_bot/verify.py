"""``register verify``: read the register branch, each entry's issue and the config's groups,
and list where the register and GitLab disagree (the checks: :mod:`exception_bot.domain.verify`).

It only reads, so any token that may read the register project, the requests projects (their
confidential issues too: Reporter) and the groups will do; the bot's own is not needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from exception_bot.actions import IssueRef
from exception_bot.config import Config
from exception_bot.domain.register import (
    INDEX_JSON,
    RegisterFormatError,
    parse_front_matter,
    read_index,
)
from exception_bot.domain.verify import (
    Discrepancy,
    EntryFile,
    Evidence,
    check_entry,
    check_index,
    issue_of,
)
from exception_bot.domain.watch import from_issue_route
from exception_bot.gitlab_api import GitLab
from exception_bot.runner import directory, with_project_paths


@dataclass(frozen=True)
class Verification:
    """How many entry files were checked, and every discrepancy found."""

    entries: int
    discrepancies: tuple[Discrepancy, ...]

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def verify_register(gitlab: GitLab, config: Config) -> Verification:
    config = with_project_paths(gitlab, config)
    files = _entry_files(gitlab, config)
    found = _index_problems(gitlab, config, files)
    people = directory(gitlab, config)
    for file in files:
        data = file.matter.data
        if data is None or not from_issue_route(data, config):
            continue
        where = issue_of(str(data.get("source")), config)
        issue = gitlab.find_snapshot(IssueRef(*where)) if where else None
        evidence = Evidence(issue, config.gitlab.bot_user, people)
        found += check_entry(file, evidence, config)
    return Verification(len(files), tuple(found))


def _entry_files(gitlab: GitLab, config: Config) -> list[EntryFile]:
    """Every ``.md`` file of the register's folders, in force and archived."""
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    register = config.register
    paths = [
        path
        for folder in (register.directory, register.archive_directory)
        for path in gitlab.tree(project, branch, folder)
        if path.endswith(".md")
    ]
    return [
        EntryFile(path, parse_front_matter(gitlab.read_file(project, branch, path) or ""))
        for path in sorted(paths)
    ]


def _index_problems(gitlab: GitLab, config: Config, files: list[EntryFile]) -> list[Discrepancy]:
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    try:
        rows = read_index(gitlab.read_file(project, branch, INDEX_JSON))
    except RegisterFormatError as err:
        return [Discrepancy(INDEX_JSON, "", "index-unreadable", str(err))]
    return check_index(rows, files)
