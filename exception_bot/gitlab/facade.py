"""One object for the whole adapter: most of the bot (the runner, the sinks, setup, verify,
mr-check, the run lock) is handed a single ``GitLab`` and calls a few methods of several
resources, so this composes them over one shared :class:`Client` and names each call after
the resource that serves it. It holds no logic of its own."""

from __future__ import annotations

from datetime import datetime

from exception_bot.connection import Guard
from exception_bot.gitlab.artifacts import Artifacts
from exception_bot.gitlab.branches import Branches
from exception_bot.gitlab.client import Client
from exception_bot.gitlab.hooks import Hooks
from exception_bot.gitlab.issue_edits import IssueEdits
from exception_bot.gitlab.issues import Issues
from exception_bot.gitlab.labels import Labels
from exception_bot.gitlab.merge_requests import MergeRequests
from exception_bot.gitlab.notes import Notes
from exception_bot.gitlab.people import People
from exception_bot.gitlab.projects import Projects
from exception_bot.gitlab.repository import Repository
from exception_bot.gitlab.session import Observer, PauseObserver


class GitLab:
    """The calls the bot makes to GitLab, each a resource's (python-gitlab's ``v4/objects``
    split by resource too), and a request counter."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._people, self._projects = People(client), Projects(client)
        self.pace = client.pace
        self._by_people_and_projects(self._people, self._projects)
        self._by_issues(Issues(client, self._people), IssueEdits(client, self._people))
        self._by_notes_and_labels(Notes(client), Labels(client))
        self._by_repository(
            Repository(client), Branches(client), MergeRequests(client, self._projects)
        )
        self.job_artifact = Artifacts(client).job_artifact  # the weekly report's gate summaries
        hooks = Hooks(client)  # setup and check-config --online
        self.webhooks, self.add_webhook = hooks.webhooks, hooks.add_webhook
        self.update_webhook = hooks.update_webhook

    def _by_people_and_projects(self, people: People, projects: Projects) -> None:
        self.whoami = people.whoami
        self.access_level = people.access_level
        self.user_exists = people.user_exists
        self.group_members = people.group_members
        self.group_direct_members = people.group_direct_members
        self.availability = people.availability
        self.project_members = people.project_members
        self.project_exists = projects.project_exists
        self.group_exists = projects.group_exists
        self.project_path = projects.project_path
        self.web_url = projects.web_url
        self.default_branch = projects.default_branch

    def _by_issues(self, issues: Issues, edits: IssueEdits) -> None:
        self.open_requests = issues.open_requests
        self.closed_requests = issues.closed_requests
        self.unlabelled_issues = issues.unlabelled_issues
        self.ever_labelled = issues.ever_labelled
        self.snapshot = issues.snapshot
        self.find_snapshot = issues.find_snapshot
        self.issue_description = issues.issue_description
        self.find_issue = issues.find_issue
        self.create_issue = issues.create_issue
        self.set_labels = edits.set_labels
        self.set_description = edits.set_description
        self.set_checkbox = edits.set_checkbox
        self.append_checklist = edits.append_checklist
        self.set_due_date = edits.set_due_date
        self.link = edits.link
        self.close = edits.close
        self.set_assignees = edits.set_assignees
        self.assign = edits.assign

    def _by_notes_and_labels(self, notes: Notes, labels: Labels) -> None:
        self.notes = notes.notes
        self.post_note = notes.post_note
        self.edit_note = notes.edit_note
        self.labels = labels.labels
        self.create_label = labels.create_label
        self.update_label = labels.update_label

    def _by_repository(
        self, repository: Repository, branches: Branches, merge_requests: MergeRequests
    ) -> None:
        self.commit_files = repository.commit_files
        self.read_file = repository.read_file
        self.write_register = repository.write_register
        self.blobs = repository.blobs
        self.tree = repository.tree
        self.last_commit = repository.last_commit
        self.create_branch = branches.create_branch
        self.swap_file = branches.swap_file
        self.head_message = branches.head_message
        self.branch_head = branches.branch_head
        self.merge_request = merge_requests.merge_request
        self.commit_merge_requests = merge_requests.commit_merge_requests

    @classmethod
    def connect(
        cls, url: str, token: str, *, ssl_verify: bool | str = True, guard: Guard | None = None
    ) -> GitLab:
        return cls(Client.connect(url, token, ssl_verify=ssl_verify, guard=guard))

    @classmethod
    def from_config(cls, section: str, guard: Guard | None = None) -> GitLab:
        """A python-gitlab config file section (``~/.python-gitlab.cfg``) names URL and token."""
        return cls(Client.from_config(section, guard))

    @property
    def url(self) -> str:
        """The GitLab this talks to: its URL as given, without the API's path."""
        return self._client.url

    @property
    def requests(self) -> int:
        """Answers GitLab has given so far."""
        return self._client.requests

    @property
    def server_time(self) -> datetime | None:
        """GitLab's clock at its latest answer."""
        return self._client.server_time

    def observe(self, answers: Observer | None, pauses: PauseObserver | None = None) -> None:
        """Tell ``answers`` of each of GitLab's answers (method, path, status), ``pauses`` of
        each pause its rate-limit headers asked for: ``serve``'s metrics."""
        self._client.observe(answers, pauses)

    def new_run(self) -> None:
        """Forget what one run cached (group members, user ids, projects): a daemon reuses
        this object, and membership changes must count from the next run on."""
        self._people.new_run()
        self._projects.new_run()
        self._client.new_run()
