"""Labels of a project: read, created once, updated (``exception-bot setup``)."""

from __future__ import annotations

from exception_bot.gitlab.client import Client
from exception_bot.gitlab.writes import ONCE, once


class Labels:
    def __init__(self, client: Client) -> None:
        self._client = client

    def labels(self, project: str) -> dict[str, tuple[str, str | None]]:
        """Labels a project can use (its own and its groups'): name -> (colour, description)."""
        found = self._client.project(project).labels.list(get_all=True)
        return {str(lb.name): (str(lb.color), lb.attributes.get("description")) for lb in found}

    def create_label(self, project: str, name: str, color: str, description: str) -> None:
        data = {"name": name, "color": color, "description": description}

        def send() -> bool:
            self._client.project(project).labels.create(data, **ONCE)
            return True

        # Sent again, it would answer 409 "Label already exists" (lib/api/helpers/
        # label_helpers.rb, create_label): look at the labels instead.
        once(
            self._client,
            f"{project}: creating the label {name}",
            send,
            lambda: True if name in self.labels(project) else None,
        )

    def update_label(self, project: str, name: str, color: str, description: str) -> None:
        self._client.before_write()
        self._client.project(project).labels.update(
            name, {"color": color, "description": description}
        )
