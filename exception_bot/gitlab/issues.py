"""Request issues: listing them, reading one whole (a snapshot), finding and opening one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

import gitlab

from exception_bot.domain import markers
from exception_bot.domain.actions import IssueRef
from exception_bot.domain.model import IssueSnapshot
from exception_bot.gitlab.client import Client, GitLabError, unless_missing
from exception_bot.gitlab.parse import label_event, linked, note, user, when
from exception_bot.gitlab.people import People
from exception_bot.gitlab.writes import ONCE, once


class Issues:
    def __init__(self, client: Client, people: People) -> None:
        self._client = client
        self._people = people

    def open_requests(
        self, project: str, intake: str, iids: Iterable[int] = ()
    ) -> Iterator[dict[str, Any]]:
        """Open issues with the intake label, oldest first, as the list API returns them.

        The list items carry every field a snapshot needs (description, labels, author,
        ``updated_at``), so a snapshot made from one reads no issue again.
        """
        params: dict[str, Any] = {
            "state": "opened",
            "labels": intake,
            "order_by": "created_at",
            "sort": "asc",
        }
        wanted = list(iids)
        if wanted:
            params["iids[]"] = wanted
        yield from self._requests_list(project, params)

    def closed_requests(
        self, project: str, intake: str, updated_after: datetime
    ) -> Iterator[dict[str, Any]]:
        """Closed issues with the intake label changed on or after ``updated_after``
        (issues.md: ``state=closed``, ``updated_after``), oldest first: the monthly metrics
        count the requests decided or remediated since a month began."""
        params = {
            "state": "closed",
            "labels": intake,
            "updated_after": updated_after.isoformat(),
            "order_by": "created_at",
            "sort": "asc",
        }
        yield from self._requests_list(project, params)

    def unlabelled_issues(self, project: str, label: str) -> Iterator[dict[str, Any]]:
        """Open issues without ``label``, oldest first (``not[labels]``, issues.md)."""
        params = {"state": "opened", "not[labels]": label, "order_by": "created_at", "sort": "asc"}
        yield from self._requests_list(project, params)

    def _requests_list(self, project: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            yield from self._client.items(self._client.project(project).issues.path, **params)
        except gitlab.GitlabError as err:  # nothing can be done without the list: say why
            raise GitLabError(
                f"cannot list the open requests of {project} (GitLab answered {err}): check "
                "the project path, and that the bot's user has Reporter there "
                "(check-config --online names what is missing)"
            ) from None

    def ever_labelled(self, ref: IssueRef, label: str) -> bool:
        """Whether ``label`` was ever added to the issue (its resource label events)."""
        events = self._client.items(self._client.issue(ref).resourcelabelevents.path)
        return any((e.get("label") or {}).get("name") == label for e in events)

    def snapshot(
        self, ref: IssueRef, listed: dict[str, Any] | None = None, *, links: bool = True
    ) -> IssueSnapshot:
        """The issue, its notes and label events, and (when ``links``) its linked issues.

        ``listed`` is the issue as a list page returned it; without it the issue is read.
        """
        if listed is None:
            issue = self._client.project(ref.project).issues.get(ref.iid)
            attrs = issue.attributes
        else:
            issue, attrs = self._client.issue(ref), listed
        notes = list(self._client.items(issue.notes.path, sort="asc", order_by="created_at"))
        events = list(self._client.items(issue.resourcelabelevents.path))
        related = list(self._client.items(issue.links.path)) if links else []
        return IssueSnapshot(
            project=ref.project,
            iid=ref.iid,
            title=str(attrs.get("title") or ""),
            web_url=str(attrs.get("web_url") or ""),
            author=user(attrs.get("author")),
            description=str(attrs.get("description") or ""),
            labels=frozenset(attrs.get("labels") or ()),
            assignees=tuple(str(a["username"]) for a in attrs.get("assignees") or ()),
            created_at=when(attrs["created_at"]),
            updated_at=when(attrs["updated_at"]),
            state=str(attrs.get("state") or "opened"),
            confidential=bool(attrs.get("confidential")),
            notes=tuple(note(n) for n in notes),
            due_date=date.fromisoformat(attrs["due_date"]) if attrs.get("due_date") else None,
            links=tuple(link for link in (linked(item) for item in related) if link is not None),
            label_events=tuple(
                sorted(
                    (e for e in (label_event(ev) for ev in events) if e is not None),
                    key=lambda e: (e.created_at, e.id),
                )
            ),
        )

    def find_snapshot(self, ref: IssueRef) -> IssueSnapshot | None:
        """The snapshot of an issue that may not exist (a renewal's *Renews* target)."""
        return unless_missing(lambda: self.snapshot(ref))

    def issue_description(self, project: str, iid: int) -> str:
        return str(
            self._client.project(project).issues.get(iid).attributes.get("description") or ""
        )

    def find_issue(self, project: str, title: str, marker: str, author_id: int) -> int | None:
        """The iid of the issue titled ``title`` that ``author_id`` wrote ending with ``marker``
        (the last line only: the weekly report quotes request titles, which may hold a marker)."""
        found = self._client.project(project).issues.list(
            search=title, get_all=True, query_parameters={"in": "title"}
        )
        for issue in found:
            attrs = issue.attributes
            author = attrs.get("author") or {}
            ends = markers.trailing(str(attrs.get("description") or "")) == marker
            if author.get("id") == author_id and attrs.get("title") == title and ends:
                return int(attrs["iid"])
        return None

    def create_issue(
        self,
        project: str,
        title: str,
        description: str,
        marker: str,
        assignees: Iterable[str] = (),
    ) -> int:
        """Assignees are set by the same request: a run that dies after creating the issue
        must not leave it unassigned (a rerun finds the issue and does not create it again).

        ``description`` holds ``marker``: when GitLab's answer is lost, the bot's issue with
        this title and marker means it was created (each POST creates one more issue)."""
        ids = self._people.user_ids(assignees)
        data: dict[str, Any] = {"title": title, "description": description}
        if ids:
            data["assignee_ids"] = ids
        return once(
            self._client,
            f"{project}: creating the issue {title!r}",
            lambda: int(self._client.project(project).issues.create(data, **ONCE).iid),
            lambda: self.find_issue(project, title, marker, self._client.me()),
        )
