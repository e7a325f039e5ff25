"""What quick actions do: each command becomes the API parameters it stands for.

GitLab's ``InterpretService`` turns commands into ``@updates`` that the update service then
applies together with the request's own parameters (``handle_quick_actions`` in
app/services/issuable_base_service.rb). Here each command writes the REST parameter it amounts to
(``add_labels``, ``state_event``, ``assignee_ids``, ...), so a quick action and the same change
through the API take one path through the store, system notes and label events included.

Each command runs only when GitLab's ``condition`` for it holds (lib/gitlab/quick_actions/
issuable_actions.rb, issue_and_merge_request_actions.rb, issue_actions.rb); commands the bot's
process never meets (milestones, time tracking, to-dos, ...) are removed from the text and do
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exception_bot.sandbox import quick_actions

if TYPE_CHECKING:
    from exception_bot.sandbox.store import Issue, Project, Store, User


@dataclass
class Interpreting:
    """The commands of one text being turned into parameters, as the author."""

    store: Store
    project: Project
    issue: Issue
    user: User
    persisted: bool  # False while the issue is being created: /close, /unlabel... do nothing
    updates: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def labels(self, arg: str) -> list[str]:
        """Names of the existing labels ``arg`` refers to; quick actions create none."""
        refs = quick_actions.label_refs(arg)
        available = self.store.available_labels(self.project)
        by_id = {label.id: name for name, label in available.items()}
        found = [by_id[i] for i in refs.ids if i in by_id]
        found += [n for n in refs.names if n in available]
        return list(dict.fromkeys(found))

    def extend(self, key: str, values: list[str]) -> None:
        current = self.updates.setdefault(key, [])
        assert isinstance(current, list)  # noqa: S101 - only list keys are extended
        current.extend(values)


def interpret(
    store: Store,
    project: Project,
    issue: Issue,
    user: User,
    commands: tuple[quick_actions.Command, ...],
    persisted: bool = True,
) -> Interpreting:
    """The parameters ``commands`` stand for, and the errors of commands that failed."""
    run = Interpreting(store, project, issue, user, persisted)
    for command in commands:
        effect = EFFECTS.get(command.name)
        if effect is not None:
            effect(run, command.arg)
    return run


def _label(run: Interpreting, arg: str) -> None:
    # condition: find_labels.any? - the project has labels at all
    if run.store.available_labels(run.project):
        run.extend("add_labels", run.labels(arg))


def _unlabel(run: Interpreting, arg: str) -> None:
    if not (run.persisted and run.issue.labels):
        return
    if arg:
        run.extend("remove_labels", run.labels(arg))
    else:  # "/unlabel" alone removes every label
        run.updates["labels"] = []


def _relabel(run: Interpreting, arg: str) -> None:
    found = run.labels(arg)
    if run.persisted and run.issue.labels and found:
        run.updates["labels"] = found


def _close(run: Interpreting, arg: str) -> None:
    if run.persisted and run.issue.state == "opened":
        run.updates["state_event"] = "close"


def _reopen(run: Interpreting, arg: str) -> None:
    if run.persisted and run.issue.state == "closed":
        run.updates["state_event"] = "reopen"


def _title(run: Interpreting, arg: str) -> None:
    if run.persisted and arg:
        run.updates["title"] = arg


def _confidential(run: Interpreting, arg: str) -> None:
    if not run.issue.confidential:
        run.updates["confidential"] = True


def _assign(run: Interpreting, arg: str) -> None:
    refs, me = quick_actions.user_refs(arg)
    users = [run.user] if me else []
    missing = []
    for ref in refs:
        found = run.store.user_named(ref.removeprefix("@"))
        if found is None:
            missing.append(f"'{ref}'")
        else:
            users.append(found)
    if missing:
        # users_extractor.rb MissingError: the whole command fails
        run.errors.append(f"Failed to find users for {', '.join(missing)}")
    elif users:
        # Free tier: one assignee, the first named (allows_multiple_assignees? is false)
        run.updates["assignee_ids"] = [users[0].id]


def _unassign(run: Interpreting, arg: str) -> None:
    if run.persisted and run.issue.assignee_ids:
        run.updates["assignee_ids"] = []  # with one assignee allowed, always everyone


def _due(run: Interpreting, arg: str) -> None:
    when = quick_actions.due_date(arg, run.store.now().date())
    if when is not None:
        run.updates["due_date"] = when.isoformat()


def _remove_due_date(run: Interpreting, arg: str) -> None:
    if run.persisted and run.issue.due_date is not None:
        run.updates["due_date"] = None


def _lock(run: Interpreting, arg: str) -> None:
    if run.persisted and not run.issue.discussion_locked:
        run.updates["discussion_locked"] = True


def _unlock(run: Interpreting, arg: str) -> None:
    if run.persisted and run.issue.discussion_locked:
        run.updates["discussion_locked"] = False


EFFECTS: dict[str, Callable[[Interpreting, str], None]] = {
    "label": _label,
    "labels": _label,
    "unlabel": _unlabel,
    "remove_label": _unlabel,
    "relabel": _relabel,
    "close": _close,
    "reopen": _reopen,
    "title": _title,
    "confidential": _confidential,
    "assign": _assign,
    "unassign": _unassign,
    "due": _due,
    "remove_due_date": _remove_due_date,
    "lock": _lock,
    "unlock": _unlock,
}
