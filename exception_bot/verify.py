"""``register verify``: read the register branch, each entry's issue and the config's groups,
and list where the register and GitLab disagree (the checks: :mod:`exception_bot.domain.verify`).

It only reads, so any token that may read the register project (its merge requests too), the
requests projects (their confidential issues too: Reporter) and the groups will do; the bot's
own is not needed. Where each file came from is judged as ``run`` judges it
(:mod:`exception_bot.provenance`).
"""

from __future__ import annotations

from dataclasses import dataclass

from exception_bot.domain.actions import IssueRef
from exception_bot.domain.model import IssueSnapshot, Note
from exception_bot.domain.people import Directory
from exception_bot.domain.register import (
    INDEX_JSON,
    RegisterFormatError,
    parse_front_matter,
    read_index,
)
from exception_bot.domain.settings import Config
from exception_bot.domain.verify import (
    Discrepancy,
    EntryFile,
    Evidence,
    check_entry,
    check_index,
    check_provenance,
)
from exception_bot.domain.watch import from_issue_route, issue_of
from exception_bot.gitlab import GitLab
from exception_bot.provenance import judge_file
from exception_bot.runner import directory, with_project_paths


@dataclass(frozen=True)
class Verification:
    """How many entry files were checked, and every discrepancy found."""

    entries: int
    discrepancies: tuple[Discrepancy, ...]

    @property
    def ok(self) -> bool:
        return not self.discrepancies


class _Issues:
    """The entries' issues, each read once (None when it cannot be read)."""

    def __init__(self, gitlab: GitLab) -> None:
        self._gitlab = gitlab
        self._read: dict[IssueRef, IssueSnapshot | None] = {}

    def get(self, ref: IssueRef) -> IssueSnapshot | None:
        if ref not in self._read:
            self._read[ref] = self._gitlab.find_snapshot(ref)
        return self._read[ref]

    def notes(self, ref: IssueRef) -> tuple[Note, ...]:
        found = self.get(ref)
        return found.notes if found is not None else ()


def verify_register(gitlab: GitLab, config: Config) -> Verification:
    config = with_project_paths(gitlab, config)
    files = _entry_files(gitlab, config)
    found = _index_problems(gitlab, config, files)
    people = directory(gitlab, config)
    issues = _Issues(gitlab)
    for file in files:
        found += _provenance(gitlab, config, people, issues, file)
        data = file.matter.data
        if data is None or not from_issue_route(data, config):
            continue
        where = issue_of(str(data.get("source")), config)
        issue = issues.get(IssueRef(*where)) if where else None
        evidence = Evidence(issue, config.gitlab.bot_user, people)
        found += check_entry(file, evidence, config)
    return Verification(len(files), tuple(found))


def _provenance(
    gitlab: GitLab, config: Config, people: Directory, issues: _Issues, file: EntryFile
) -> list[Discrepancy]:
    """Every file in force (the exceptions folder) is accounted for, and so is every archived
    entry of the issue route, whose record vouches for it as for one in force. A file whose
    front matter cannot be read, in either folder, is named too: it is nobody's entry."""
    data = file.matter.data
    in_force = file.path.startswith(f"{config.register.directory}/")
    if data is not None and not (in_force or from_issue_route(data, config)):
        return []
    verdict = judge_file(
        gitlab, config, people, config.gitlab.bot_user, (file.path, file.text, ""), issues.notes
    )
    return check_provenance(file, verdict)


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
    texts = {path: gitlab.read_file(project, branch, path) or "" for path in sorted(paths)}
    return [EntryFile(path, parse_front_matter(text), text) for path, text in texts.items()]


def _index_problems(gitlab: GitLab, config: Config, files: list[EntryFile]) -> list[Discrepancy]:
    project, branch = config.gitlab.register_project, config.gitlab.register_branch
    try:
        rows = read_index(gitlab.read_file(project, branch, INDEX_JSON))
    except RegisterFormatError as err:
        return [Discrepancy(INDEX_JSON, "", "index-unreadable", str(err))]
    return check_index(rows, files)
