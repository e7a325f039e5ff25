"""Changes to an issue: labels as deltas, its description (boxes, checklists), due date,
assignees, links, closing.

Label changes are always ``add_labels``/``remove_labels`` deltas sent with ``issues.update``:
never ``issue.save()`` after reading ``issue.labels``, which would re-send a stale full label
list (python-gitlab's ``__getattr__`` marks read list attributes dirty).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from exception_bot.domain.actions import IssueRef
from exception_bot.domain.edits import append_checklist, set_checkbox
from exception_bot.domain.text import command_lines
from exception_bot.gitlab.client import Client, GitLabError
from exception_bot.gitlab.parse import linked
from exception_bot.gitlab.people import People
from exception_bot.gitlab.writes import ONCE, once


class IssueEdits:
    def __init__(self, client: Client, people: People) -> None:
        self._client = client
        self._people = people

    def set_labels(self, ref: IssueRef, add: Iterable[str], remove: Iterable[str]) -> None:
        self._client.before_write()
        data = {
            key: ",".join(sorted(names))
            for key, names in (("add_labels", add), ("remove_labels", remove))
            if names
        }
        if data:
            self._client.project(ref.project).issues.update(ref.iid, data)

    def set_description(self, project: str, iid: int, description: str) -> None:
        self._save_description(IssueRef(project, iid), description)

    def _save_description(self, ref: IssueRef, text: str) -> None:
        self._client.before_write()
        # GitLab runs quick-action lines of a saved description as the saver: never save one
        # that holds any (a requester may have added it since the snapshot was read).
        found = command_lines(text)
        if found:
            raise GitLabError(
                f"{ref}: not saving the description: line {found[0][0]} would run "
                f"/{found[0][1]} as the bot"
            )
        self._client.project(ref.project).issues.update(ref.iid, {"description": text})

    def set_checkbox(self, ref: IssueRef, section: str, item: str, checked: bool) -> bool:
        """Flip one box on the freshest description; False when nothing needed changing."""
        fresh = self._client.project(ref.project).issues.get(ref.iid)
        updated = set_checkbox(
            str(fresh.attributes.get("description") or ""), section, item, checked
        )
        if updated is None:
            return False
        self._save_description(ref, updated)
        return True

    def append_checklist(self, ref: IssueRef, heading: str, items: Iterable[str]) -> bool:
        """Append ``## heading`` and its unticked items to the freshest description, once."""
        fresh = self._client.project(ref.project).issues.get(ref.iid)
        updated = append_checklist(str(fresh.attributes.get("description") or ""), heading, items)
        if updated is None:
            return False
        self._save_description(ref, updated)
        return True

    def set_due_date(self, ref: IssueRef, due: date) -> None:
        self._client.before_write()
        self._client.project(ref.project).issues.update(ref.iid, {"due_date": due.isoformat()})

    def link(self, ref: IssueRef, target: IssueRef) -> None:
        # target_project_id takes a path too (doc/api/issue_links.md: "ID or URL-encoded path").
        data = {"target_project_id": target.project, "target_issue_iid": target.iid}

        def send() -> bool:
            self._client.issue(ref).links.create(data, **ONCE)
            return True

        def landed() -> bool | None:
            # A second POST would answer 409 "Issue(s) already assigned"
            # (app/services/issuable_links/create_service.rb): look at the links instead.
            found = (
                linked(item) for item in self._client.items(self._client.issue(ref).links.path)
            )
            wanted = (target.project, target.iid)
            made = any(f is not None and (f.project, f.iid) == wanted for f in found)
            return True if made else None

        once(self._client, f"{ref}: linking {target}", send, landed)

    def close(self, ref: IssueRef) -> None:
        self._client.before_write()
        self._client.project(ref.project).issues.update(ref.iid, {"state_event": "close"})

    def set_assignees(self, ref: IssueRef, usernames: Iterable[str]) -> None:
        """The issue's assignees become exactly ``usernames``; none unassigns everyone (GitLab
        keeps an empty ``assignee_ids``: issuable_base_service.rb filter_assignees_using_checks
        returns early on a blank list)."""
        self._client.before_write()
        ids = self._people.user_ids(usernames)
        self._client.project(ref.project).issues.update(ref.iid, {"assignee_ids": ids})

    def assign(self, ref: IssueRef, usernames: Iterable[str]) -> None:
        self._client.before_write()
        ids = self._people.user_ids(usernames)
        if ids:
            self._client.project(ref.project).issues.update(ref.iid, {"assignee_ids": ids})
