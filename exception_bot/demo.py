"""``exception-bot demo``: four days of a small company's exception process, on the sandbox.

People act on the sandbox directly, and GitLab's records of it (checklist notes, label events)
are written as GitLab writes them; the bot runs exactly as in production, through python-gitlab
over HTTP, after each round of actions. The timeline says what each person did and what the
bot did in answer, a day at a time; it ends with where each request ended and why, and the
register the bot wrote (its table: the Mermaid chart beside it is for GitLab to draw, not for a
terminal to print).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from exception_bot.demo_summary import endings, who_is_who
from exception_bot.domain.register import INDEX_MARKDOWN
from exception_bot.domain.settings import Config, Delegation
from exception_bot.domain.validation import APPROVALS_HEADING
from exception_bot.errors import UsageError
from exception_bot.gitlab import GitLab
from exception_bot.runner import IssueResult, run_once
from exception_bot.sandbox import DEMO, Sandbox
from exception_bot.sandbox.store import Project, Store

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday morning
BOT = "exception-bot"
# erin, the encryption policy's owner, is away on Tuesday and Wednesday: dave approves for her
# (a delegation, as the config's `delegations` would name it).
AWAY = Delegation(
    "erin",
    "dave",
    ("policy_owner",),
    (START + timedelta(days=2)).date(),
    (START + timedelta(days=1)).date(),
)
FOOTER = '/label ~"ExceptionRequest" ~"exception::submitted"\n/confidential\n'
Act = Callable[[Store, Project, str], None]

BASE = {
    "Requester contact": "@bob (Finance Systems)",
    "Department": "finance",
    "Policy": "encryption",
    "Scope": "- `fin-report-01.staging.internal`, synthetic data only",
    "Environment": "staging",
    "Risk level": "Low",
    "Justification": "The vendor's reporting agent only speaks TLS 1.1 until its January release.",
    "Risk assessment": "A network attacker in staging could read synthetic report traffic.",
    "Compensating controls": "Reachable only from the finance jump host; flow logs reviewed weekly",
    "Remediation plan": "Install vendor release 8.4 and disable TLS 1.1.",
    "Expiration date": "2027-01-15",
}
REQUESTS: Mapping[int, tuple[str, str, Mapping[str, str]]] = {
    1: (
        "bob",
        "Keep TLS 1.1 on the reporting VM",
        {"Summary": "Keep TLS 1.1 on the reporting VM."},
    ),
    2: (
        "mia",
        "Disable MFA for the payments break-glass account",
        {
            "Summary": "Disable MFA on the break-glass account during the HSM swap.",
            "Requester contact": "@mia",
            "Department": "engineering",
            "Policy": "access-control",
            "Environment": "production",
            "Risk level": "Critical",
        },
    ),
    3: (
        "tom",
        "Shared admin account for the build farm",
        {
            "Summary": "One shared admin account for the build farm.",
            "Requester contact": "@tom",
            "Department": "<which department?>",
            "Policy": "access-control",
        },
    ),
    4: ("bob", "Skip change review for the ledger export job", {"Summary": "Skip change review."}),
    5: (
        "bob",
        "Keep the finance archive unencrypted",
        {
            "Summary": "Keep the finance archive unencrypted until the migration.",
            "Risk level": "Medium",
        },
    ),
}


def request_body(config: Config, fields: Mapping[str, str]) -> str:
    """A request as the *Exception Request* template asks for it, with every approval box."""
    values = {**BASE, **fields}
    items = [config.escalation.checklist_item, *config.checklist.values()]
    sections = [f"## {heading}\n\n{text}" for heading, text in values.items()]
    boxes = "\n".join(f"- [ ] {item}" for item in items)
    return "\n\n".join([*sections, f"## {APPROVALS_HEADING}\n\n{boxes}", FOOTER])


@dataclass(frozen=True)
class Step:
    """Something ``actor`` does ``hours`` after the start; ``says`` is its timeline line."""

    hours: float
    actor: str
    says: str
    act: Act


def _user(store: Store, name: str) -> Any:
    user = store.user_named(name)
    if user is None:
        raise LookupError(f"the demo seed has no user {name}")
    return user


def opens(iid: int, config: Config) -> Act:
    def act(store: Store, project: Project, actor: str) -> None:
        _, title, fields = REQUESTS[iid]
        store.create_issue(project, _user(store, actor), title, request_body(config, fields))

    return act


def ticks(iid: int, item: str) -> Act:
    def act(store: Store, project: Project, actor: str) -> None:
        issue = project.issues[iid]
        text = issue.description.replace(f"- [ ] {item}", f"- [x] {item}", 1)
        store.update_issue(project, issue, _user(store, actor), {"description": text})

    return act


def edits(iid: int, old: str, new: str) -> Act:
    def act(store: Store, project: Project, actor: str) -> None:
        issue = project.issues[iid]
        text = issue.description.replace(old, new, 1)
        store.update_issue(project, issue, _user(store, actor), {"description": text})

    return act


def labels(iid: int, label: str) -> Act:
    def act(store: Store, project: Project, actor: str) -> None:
        store.update_issue(
            project, project.issues[iid], _user(store, actor), {"add_labels": [label]}
        )

    return act


def comments(iid: int, body: str) -> Act:
    def act(store: Store, project: Project, actor: str) -> None:
        store.create_note(project, project.issues[iid], _user(store, actor), body)

    return act


def story(config: Config) -> list[list[Step]]:
    """Rounds of actions; the bot runs after each round."""
    return [
        [
            Step(0, "bob", "opens #1 Keep TLS 1.1 on the reporting VM (Low)", opens(1, config)),
            Step(
                0,
                "mia",
                "opens #2 Disable MFA on the break-glass account (Critical, production)",
                opens(2, config),
            ),
            Step(
                0,
                "tom",
                "opens #3 Shared admin account, department left as a placeholder",
                opens(3, config),
            ),
            Step(
                0,
                "bob",
                "opens #4 Skip change review for the ledger export job (Low)",
                opens(4, config),
            ),
            Step(
                0, "bob", "opens #5 Keep the finance archive unencrypted (Medium)", opens(5, config)
            ),
        ],
        [
            Step(
                2,
                "carol",
                "ticks Department head approval on #1",
                ticks(1, "Department head approval"),
            ),
            Step(
                2,
                "grace",
                "ticks CISO escalation approval on #2",
                ticks(2, "CISO escalation approval"),
            ),
            Step(
                2,
                "bob",
                'adds ~"exception::approved" to his own #4',
                labels(4, "exception::approved"),
            ),
            Step(
                2,
                "tom",
                "ticks Department head approval on #4 (he is not Bob's head)",
                ticks(4, "Department head approval"),
            ),
            Step(
                2,
                "carol",
                "comments on #5: the archive holds payroll data",
                comments(5, "The archive holds payroll data; I cannot accept this."),
            ),
            Step(2, "carol", "rejects #5", labels(5, "exception-action::reject")),
        ],
        [
            Step(
                5,
                "tom",
                "fills in the department of #3",
                edits(3, "<which department?>", "engineering"),
            )
        ],
        [
            Step(
                24,
                "victor",
                "ticks Security team approval on #1",
                ticks(1, "Security team approval"),
            ),
            Step(24, "bob", "appeals the rejection of #5", labels(5, "exception-action::appeal")),
        ],
        [
            Step(
                29,
                "dave",
                "ticks Policy owner approval on #1 for erin, who is away",
                ticks(1, "Policy owner approval"),
            ),
            Step(
                29,
                "lee",
                "posts Legal's opinion on #5",
                comments(
                    5,
                    "Legal: acceptable for 60 days if access to the archive is logged and reviewed",
                ),
            ),
            Step(
                29, "lee", "ticks Legal opinion recorded on #5", ticks(5, "Legal opinion recorded")
            ),
        ],
        [
            Step(
                49,
                "sue",
                "ticks Security Compliance review on #1",
                ticks(1, "Security Compliance review"),
            ),
            Step(49, "ivan", "ticks CEO decision on #5", ticks(5, "CEO decision")),
        ],
        # After the bot has seen the CEO's tick: a save by someone else before that would
        # leave the bot unable to tell which text the CEO decided on.
        [Step(51, "judy", "ticks CFO decision on #5", ticks(5, "CFO decision"))],
        [
            Step(
                73,
                "bob",
                "confirms the compensating controls of #1 are in place",
                ticks(1, "Compensating controls implemented"),
            )
        ],
    ]


# What the bot's actions mean, by the hidden marker kind of the note it posts.
SAID = {
    "turn": "asks the next approvers",
    "untick": "unticks a box it cannot count, and says why",
    "unconfirm": "unticks a confirmation it cannot count",
    "tampering": "restores the labels and reports who changed them",
    "problems": "lists what the request is missing",
    "action": "answers the action label",
    "approved": "announces the approval",
    "sla": "reminds the approvers of the deadline",
    "expiry": "reminds the requester of the expiry",
    "final": "closes the request",
    "fallback": "says no holder of a role may approve it, and who stands in",
}


def bot_lines(result: IssueResult, before: tuple[str | None, str | None]) -> list[str]:
    ref = "#" + result.issue.rsplit("#", 1)[-1]
    lines = []
    if (result.state, result.stage) != before:
        where = f"{result.state}" + (
            f", stage {result.stage.split('::')[-1]}" if result.stage else ""
        )
        lines.append(f"{ref} is now {where}")
    for action in result.actions:
        kind = re.search(r"kind=([a-z-]+)", str(action.get("marker", "")))
        if action["action"] == "PostNote" and kind and kind.group(1) in SAID:
            lines.append(f"{ref}: {SAID[kind.group(1)]}")
        elif action["action"] == "WriteRegister":
            lines.append(f"{ref}: commits {action['path']} to the register")
        elif action["action"] == "AppendChecklist":
            lines.append(f"{ref}: adds the {action['heading']} checklist")
    if result.error:
        lines.append(f"{ref}: FAILED: {result.error}")
    return lines


def register_table(index: str) -> str:
    """REGISTER.md as a terminal shows it: the table, and a word for each chart left out.

    A Mermaid block is GitLab's to draw; on a terminal it is only its source. Read line by line
    (not with a lazy pattern, which is quadratic on an unclosed fence)."""
    kept: list[str] = []
    charts = 0
    inside = False
    for line in index.splitlines():
        if not inside and line.strip() == "```mermaid":
            inside, charts = True, charts + 1
        elif inside:
            inside = line.strip() != "```"
        else:
            kept.append(line)
    table = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).rstrip()
    if charts:
        table += f"\n\n(REGISTER.md also holds {charts if charts > 1 else 'a'} Mermaid chart"
        table += f"{'s' if charts > 1 else ''} of the exceptions, which GitLab draws.)"
    return table


def people(rounds: list[list[Step]]) -> list[str]:
    """Everyone who acts in the story, in order of appearance."""
    return list(dict.fromkeys(step.actor for steps in rounds for step in steps))


def misfits(config: Config, store: Store) -> list[str]:
    """What the config names that the demo's sandbox lacks (projects, users, groups), each
    with its key: a config for another company cannot play the demo's story."""
    settings = config.gitlab
    projects = [("gitlab.requests_project", p.path) for p in settings.requests_projects]
    projects.append(("gitlab.register_project", settings.register_project))
    found = [f"project {path} ({key})" for key, path in projects if store.project(path) is None]
    for role, spec in config.roles.items():
        named = [*spec.users, *(u for us in spec.by_department.values() for u in us)]
        named += [u for us in spec.by_policy.values() for u in us]
        found += [
            f"user {name} (roles.{role})"
            for name in dict.fromkeys(named)
            if store.user_named(name) is None
        ]
        if spec.group and store.group(spec.group) is None:
            found.append(f"group {spec.group} (roles.{role}.group)")
    return found


@dataclass(frozen=True)
class BotRound:
    """What the bot did after a round of actions: each request's result with a note for its
    timeline lines, the round's summary line, and every open request's result."""

    told: tuple[tuple[IssueResult, str], ...]
    line: str
    results: tuple[IssueResult, ...]
    failed: int


def scheduled(gitlab: GitLab, config: Config) -> Callable[[datetime], BotRound]:
    """The bot as a scheduled ``run`` after each round."""

    def round_(now: datetime) -> BotRound:
        summary = run_once(gitlab, config, now)
        told = tuple((result, "") for result in summary.results)
        return BotRound(told, summary.line(), summary.results, summary.failed)

    return round_


def _bot(
    stack: ExitStack, sandbox: Sandbox, config: Config, webhooks: bool
) -> Callable[[datetime], BotRound]:
    if not webhooks:
        return scheduled(GitLab.connect(sandbox.url, sandbox.token(BOT)), config)
    from exception_bot.demo_webhooks import webhook_rounds  # loads the service only here

    return webhook_rounds(stack, sandbox, config, BOT)


def play(config: Config, echo: Callable[[str], None], webhooks: bool = False) -> int:
    """Run the story; the number of failed issue runs (0 when all went well). With
    ``webhooks`` the bot is ``serve``'s service, answering the sandbox's webhooks."""
    failures = 0
    # The demo's bot is the sandbox's, whichever user a copied config names for a real GitLab.
    config = replace(config, gitlab=replace(config.gitlab, bot_user=BOT))
    config = replace(config, delegations=(*config.delegations, AWAY))
    with Sandbox(DEMO) as sandbox, ExitStack() as stack:
        store = sandbox.store
        unknown = misfits(config, store)
        if unknown:
            more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            raise UsageError(
                f"this config does not fit the demo company, which has no "
                f"{', no '.join(unknown[:3])}{more}: the demo plays the people and projects of "
                "the default config; run it without --config, or with a copy of "
                "config/exception-bot.yml that keeps them"
            )
        project = store.project(config.gitlab.requests_projects[0].path)
        assert project is not None  # noqa: S101 - misfits() names a missing one
        bot = _bot(stack, sandbox, config, webhooks)
        seen: dict[str, tuple[str | None, str | None]] = {}
        echo(f"Sandbox GitLab at {sandbox.url}; the bot runs as @{BOT}.\n")
        plot = story(config)
        requesters = [author for author, _, _ in REQUESTS.values()]
        echo(who_is_who(config, store, people(plot), requesters))
        day = None
        summary = None
        for rounds in plot:
            for step in rounds:
                when = START + timedelta(hours=step.hours)
                if when.date() != day:
                    day = when.date()
                    echo(f"\n{when:%A %-d %B %Y}")
                sandbox.set_now(when)
                with sandbox.app.lock:
                    step.act(store, project, step.actor)
                echo(f"{when:%a %H:%M}  {step.actor:<14} {step.says}")
            now = START + timedelta(hours=rounds[-1].hours, minutes=30)
            sandbox.set_now(now)
            summary = bot(now)
            failures += summary.failed
            for result, note in summary.told:
                for line in bot_lines(result, seen.get(result.issue, (None, None))):
                    echo(f"{now:%a %H:%M}  {'bot':<14} {line}{note}")
                seen[result.issue] = (result.state, result.stage)
            echo(f"{'':<10} {'':<14} ({summary.line})")
        if summary is not None:
            titles = {iid: title for iid, (_, title, _) in REQUESTS.items()}
            echo(f"\nWhere each request ended, {now:%A %-d %B}:\n")
            for line in endings(store, project, BOT, summary.results, titles):
                echo(line)
        index = sandbox.file(config.gitlab.register_project, INDEX_MARKDOWN)
        echo("\nThe register's index, REGISTER.md:\n")
        echo(register_table(index) if index else "(empty)")
    return failures
