"""The `exception-bot` command line.

This is the only module that prints, reads the environment for the command line, and reads the
clock. It catches :class:`ExceptionBotError` once and turns it into one line and an exit code;
``--verbose`` adds the traceback.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, NoReturn
from zoneinfo import ZoneInfo

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from exception_bot import __version__
from exception_bot.action_lines import action_line, where
from exception_bot.config import CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH, load_config, shipped_config
from exception_bot.config_stand_ins import stand_in_warnings
from exception_bot.config_webhooks import webhook_warnings
from exception_bot.connection import DEFAULT_RETRY_FOR, Guard, check_url
from exception_bot.daemon import Daemon, parse_every
from exception_bot.domain.fields import parse_body
from exception_bot.domain.lint import codequality, lint_entry
from exception_bot.domain.model import ExceptionRequest
from exception_bot.domain.register import (
    INDEX_JSON,
    entry_file,
    export_entry,
    export_rows,
    read_index,
)
from exception_bot.domain.report import WeeklyReport
from exception_bot.domain.review.context import Context
from exception_bot.domain.settings import WEBHOOK_SECRET_ENV, Config
from exception_bot.domain.validation import Validation, validate
from exception_bot.errors import (
    EXIT_INTERRUPTED,
    ConfigError,
    ExceptionBotError,
    GitLabUnavailable,
    UsageError,
)
from exception_bot.gate_summaries import gate_summaries
from exception_bot.gitlab import GitLab, GitLabError, unexplained
from exception_bot.identity import the_bot
from exception_bot.monday_report import post_monday_report
from exception_bot.monthly import closed_this_month, month_report
from exception_bot.mr_check import check_merge_request
from exception_bot.online_check import checked, lone_group_holders, online_problems
from exception_bot.progress import ProgressLines
from exception_bot.render import issue_templates, render_report
from exception_bot.run_lock import LockHeldError, RunLock, run_lock
from exception_bot.runner import (
    IssueResult,
    Progress,
    RunSummary,
    context,
    run_once,
    survey,
)
from exception_bot.setup import describe_step, reference_markdown
from exception_bot.setup_gitlab import apply_step, setup_plan
from exception_bot.verify import verify_register
from exception_bot.webhook_setup import MIN_WEBHOOK_SECRET, secret_notice, webhook_secret
from exception_bot.weekly import post_report, weekly

# Help shows each option with a word for its value (--now TIME, --issue IID), not Typer's type
# labels (<bool>, <list[int]>, <float range> [x>=0], {paths}). Typer builds its command and
# parameter objects itself, with no hook for their classes, so the ones it built are given
# these subclasses, which add no state and change only how help and usage show them. The
# context and command types are click's, which Typer vendors from 0.22 on: Any here.


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # its name says it: FILE, PATH...

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        name = name if self.required else f"[{name}]"
        return f"{name}..." if self.nargs != 1 else name


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag:
            return None
        return self.metavar or (self.name or "").upper()

    def _get_number_range_help_str(self) -> str | None:
        return None  # the help text says what the number means


def _quiet_params(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _quiet_params(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _quiet_params(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if type(command) is TyperCommand:
            command.__class__ = _Command
        elif type(command) is TyperGroup:
            command.__class__ = _Group
        return command


class _Commands(_Group):
    """The commands, with ``sandbox`` loaded only when it is used: the sandbox's server and
    store stay out of every other command's start-up (and out of an installed bot's runs)."""

    LAZY: ClassVar[dict[str, str]] = {"sandbox": "exception_bot.sandbox.cli"}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *self.LAZY]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.LAZY:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(self.LAZY[cmd_name])
        group = typer.main.get_group(module.app)
        group.name = cmd_name
        group.__class__ = _Group
        return group


app = typer.Typer(
    name="exception-bot",
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Run a security policy exception process on GitLab issues.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
templates_app = typer.Typer(
    help="Work with the issue templates.\n\nExample: exception-bot templates render --out DIR",
    no_args_is_help=True,
)
app.add_typer(templates_app, name="templates")
register_app = typer.Typer(
    help="Read the register.\n\nExample: exception-bot register export --format json",
    no_args_is_help=True,
)
app.add_typer(register_app, name="register")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar=CONFIG_ENV_VAR,
        metavar="PATH",
        help=f"Config file (YAML). Default: {DEFAULT_CONFIG_PATH} when it exists here, "
        "else the default config shipped with the bot.",
        show_default=False,
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log debug details and show tracebacks.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        metavar="TIME",
        help="Pretend it is this time: ISO-8601 with Z or an offset "
        "(2026-11-22T12:00:00Z), or a date (midnight in the calendar's time zone).",
    ),
]


SectionOption = Annotated[
    str | None,
    typer.Option(
        "--gitlab-section",
        metavar="NAME",
        help="Take the GitLab URL and token from this python-gitlab config file section "
        "instead of GITLAB_URL / GITLAB_TOKEN.",
    ),
]


CaBundleOption = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        envvar="EXCEPTION_BOT_CA_BUNDLE",
        metavar="PEM_FILE",
        help="CA certificates (PEM) for a GitLab behind a private CA; TLS is always verified.",
    ),
]


RetryOption = Annotated[
    float,
    typer.Option(
        "--retry-for",
        envvar="EXCEPTION_BOT_RETRY_FOR",
        min=0,
        metavar="SECONDS",
        help="When GitLab does not answer, try again for this long before giving up (exit 4).",
    ),
]
WaitLockOption = Annotated[
    float,
    typer.Option(
        "--wait-lock",
        min=0,
        metavar="SECONDS",
        help="When another run holds the run lock, wait up to this many seconds for it "
        "(default: exit 3 at once).",
    ),
]


def _locked(
    gitlab: GitLab, cfg: Config, command: str, wait: float = 0.0
) -> AbstractContextManager[RunLock]:
    """The run lock of the config's register project, for a command that writes."""
    settings = cfg.gitlab
    return run_lock(gitlab, settings.register_project, settings.register_branch, command, wait)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Run a security policy exception process on GitLab issues.

    Example: exception-bot validate request.md --now 2026-11-22
    """


@contextmanager
def _user_errors(verbose: bool) -> Iterator[None]:
    """Turn an ExceptionBotError into one line per problem on stderr and its exit code."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        yield
    except ExceptionBotError as err:
        _fail(err, verbose)
    except KeyboardInterrupt:
        typer.echo(f"\n{STOPPED}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as err:  # python-gitlab's and requests' errors no caller put into words
        explained = unexplained(err)
        if explained is None:  # a bug: its traceback shows
            raise
        _fail(explained, verbose, err)


# Every write is decided afresh from GitLab's state at each run
# (docs/explanation/how-run-decides.md), so a command cut short leaves nothing half done that the
# next one does not finish.
STOPPED = (
    "stopped (Ctrl-C); nothing is lost: what was done stands, and the next run carries on "
    "from there"
)


def _fail(err: ExceptionBotError, verbose: bool, cause: BaseException | None = None) -> NoReturn:
    if verbose:
        traceback.print_exception(cause or err)
    lines = err.problems if isinstance(err, ConfigError) else (str(err),)
    for line in lines:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(err.exit_code) from None


def _config_path(given: Path | None) -> Path:
    """The config a command uses: ``--config`` (or its variable), else ``config/exception-bot.yml``
    in the current folder (a clone), else the default config the package ships, which an
    installed bot run anywhere falls back to, saying so on stderr."""
    if given is not None:
        return given
    if DEFAULT_CONFIG_PATH.is_file():
        return DEFAULT_CONFIG_PATH
    shipped = shipped_config()
    typer.echo(
        f"note: no --config given and no {DEFAULT_CONFIG_PATH} here: using the default config "
        f"shipped with exception-bot ({shipped}); pass --config PATH for yours",
        err=True,
    )
    return shipped


def _load(given: Path | None) -> Config:
    return load_config(_config_path(given))


def parse_now(value: str | None, tz: ZoneInfo) -> datetime:
    """The time a command acts at: ``--now`` or the real clock (read here, and only here)."""
    if value is None:
        return datetime.now(UTC)
    text = value.strip()
    if len(text) == 10:
        try:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=tz)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--now: '{value}' is not a time; write 2026-11-22T12:00:00Z or 2026-11-22"
        ) from None
    if parsed.tzinfo is None:
        raise UsageError(f"--now: '{value}' has no time zone; add Z or an offset such as +01:00")
    return parsed


def _read_input(file: str) -> str:
    """Read a request body from a path or ``-`` (stdin); invalid UTF-8 becomes U+FFFD."""
    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(file)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UsageError(
                f"{file}: no such file; give the path of a request body, or -"
            ) from None
        except IsADirectoryError:
            raise UsageError(f"{file}: is a directory; give the path of a request body") from None
        except OSError as err:
            raise UsageError(f"{file}: cannot read it ({err.strerror})") from None
    # NUL bytes mark a binary file (git's test too); other bytes that are not UTF-8 become
    # U+FFFD, as GitLab shows them.
    if b"\x00" in data[:8000]:
        name = "stdin" if file == "-" else file
        raise UsageError(f"{name}: not text (it holds NUL bytes); give a request body in Markdown")
    return data.decode("utf-8", errors="replace")


@app.command("validate")
def validate_command(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="Request body (Markdown), or - for stdin.")
    ],
    renewal: Annotated[
        bool, typer.Option("--renewal", help="Check it as a renewal even without a Renews section.")
    ] = False,
    now: NowOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check an exception request body locally, with the answers the bot gives on GitLab.

    Exit 0 when valid, 1 with the problem list, 2 on a usage or config error.

    Example: exception-bot validate request.md --now 2026-11-22T09:00:00Z --json
    """
    with _user_errors(verbose):
        cfg = _load(config)
        when = parse_now(now, cfg.calendar.tz)
        body = _read_input(file)
        # Locally there is no issue yet, so the request is "created" now
        # (docs/reference/request.md).
        result = validate(parse_body(body), cfg, created_at=when, now=when, renewal=renewal)
    if as_json:
        typer.echo(json.dumps(_validation_json(result), ensure_ascii=False))
    else:
        _print_validation(file, result)
    raise typer.Exit(0 if result.valid else 1)


def _validation_json(result: Validation) -> dict[str, Any]:
    return {
        "valid": result.valid,
        "problems": [{"field": p.field, "message": p.message} for p in result.problems],
        "flags": [flag.value for flag in result.flags],
    }


def _covered(request: ExceptionRequest) -> str:
    """``; Gate, covers 1 project and 2 findings`` for a request that names them."""
    parts = [request.kind.label] if request.kind else []
    projects, findings = len(request.covers.projects), len(request.covers.findings)
    if projects or findings:
        parts.append(
            f"covers {projects} project{'s' * (projects != 1)} "
            f"and {findings} finding{'s' * (findings != 1)}"
        )
    return "; " + ", ".join(parts) if parts else ""


def _print_validation(file: str, result: Validation) -> None:
    name = "stdin" if file == "-" else file
    if result.request is not None:
        request = result.request
        typer.echo(
            f"{name}: valid ({request.risk_level.label} risk, {request.environment}, "
            f"expires {request.expiration_date.isoformat()}{_covered(request)})"
        )
    else:
        count = len(result.problems)
        typer.echo(f"{name}: {count} problem{'s' if count != 1 else ''} to fix")
        for problem in result.problems:
            typer.echo(f"  - {problem.field}: {problem.message}")
    for flag in result.flags:
        typer.echo(f"  flag: {flag.value}")


@templates_app.command("render")
def templates_render(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="Write the templates into this folder instead of printing."
        ),
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Render the Exception Request and Exception Renewal issue templates from the config.

    Example: exception-bot templates render --out .gitlab/issue_templates
    """
    with _user_errors(verbose):
        rendered = issue_templates(_load(config))
        if out is not None:
            _write_templates(out, rendered)
    if out is None:
        for template in rendered:
            typer.echo(f"==> {template.filename} <==")
            typer.echo(template.content)


def _write_templates(out: Path, rendered: tuple[Any, ...]) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        for template in rendered:
            (out / template.filename).write_text(template.content, encoding="utf-8")
            typer.echo(f"wrote {out / template.filename}")
    except OSError as err:
        raise UsageError(f"--out {out}: cannot write there ({err.strerror})") from None


@app.command("check-config")
def check_config(
    config: ConfigOption = None,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Also check GitLab: projects, groups and users exist, the bot may write.",
        ),
    ] = False,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Validate the config file and report every problem with its key path.

    With --online, also check that GitLab has every project, group and user the config names
    and that the bot's token may write issues, notes, labels and the register.
    Exit 0 when valid, 2 otherwise.

    Example: exception-bot check-config --config config/example.yml --online
    """
    with _user_errors(verbose):
        path = _config_path(config)
        gitlab: GitLab | None = None
        try:
            cfg: Config | None = load_config(path)
            problems: tuple[str, ...] = ()
            if online and cfg is not None:
                gitlab = connect(section, ca_bundle, retry_for)
                problems = tuple(online_problems(gitlab, cfg))
                if problems and not as_json:
                    raise ConfigError(problems)
                cfg = None if problems else cfg
        except ConfigError as err:
            if not as_json:
                raise
            cfg, problems = None, err.problems
    warnings = [*stand_in_warnings(cfg), *webhook_warnings(cfg)] if cfg is not None else []
    if gitlab is not None and cfg is not None:
        warnings += lone_group_holders(gitlab, cfg)
    if as_json:
        data = {"valid": cfg is not None, "errors": list(problems), "warnings": warnings}
        if gitlab is not None:
            data["gitlab"] = gitlab.url
        typer.echo(json.dumps(data))
        raise typer.Exit(0 if cfg is not None else 2)
    assert cfg is not None  # noqa: S101 - _user_errors exited otherwise
    typer.echo(
        f"{path}: valid ({len(cfg.departments)} departments, {len(cfg.policies)} policies, "
        f"{len(cfg.environments)} environments, {len(cfg.roles)} roles)"
    )
    for line in warnings:  # valid, but a request may wait on a fallback
        typer.echo(f"warning: {line}", err=True)
    if gitlab is not None:
        typer.echo(
            f"GitLab at {gitlab.url}, as @{cfg.gitlab.bot_user}: checked {checked(cfg)}; "
            "all as the config says"
        )


def connect(
    section: str | None, ca_bundle: Path | None = None, retry_for: float = DEFAULT_RETRY_FOR
) -> GitLab:
    """The GitLab connection: a config file section, or GITLAB_URL (CI_SERVER_URL in GitLab
    CI) and GITLAB_TOKEN. The token is never a flag and never printed. A connection that
    fails is tried again for ``retry_for`` seconds, each attempt said on stderr."""
    verify: bool | str = True
    if ca_bundle is not None:
        if not ca_bundle.is_file():
            raise UsageError(f"--ca-bundle {ca_bundle}: no such file; give a PEM file of CAs")
        verify = str(ca_bundle)

    def say(line: str) -> None:
        typer.echo(f"note: {line}", err=True)

    if section:
        where = f"--gitlab-section {section}"
        guard = Guard(
            retry_for, say, url_source=f"the url of {where}", token_source=f"the token of {where}"
        )
        return GitLab.from_config(section, guard)
    source = "GITLAB_URL" if os.environ.get("GITLAB_URL") else "CI_SERVER_URL"
    url = os.environ.get("GITLAB_URL") or os.environ.get("CI_SERVER_URL")
    token = os.environ.get("GITLAB_TOKEN")
    if not token and os.environ.get("CI_JOB_TOKEN"):
        raise UsageError(
            "only CI_JOB_TOKEN is set, and it cannot write issues or notes: store a token with "
            "the api scope in a masked CI/CD variable named GITLAB_TOKEN"
        )
    if not url or not token:
        raise UsageError(
            "set GITLAB_URL and GITLAB_TOKEN (a token with the api scope), or pass "
            "--gitlab-section NAME"
        )
    guard = Guard(retry_for, say, url_source=source)
    return GitLab.connect(check_url(url, source), token, ssl_verify=verify, guard=guard)


@app.command("run")
def run_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the actions instead of applying them.")
    ] = False,
    issue: Annotated[
        list[int] | None,
        typer.Option("--issue", metavar="IID", help="Only this issue iid (repeatable)."),
    ] = None,
    now: NowOption = None,
    wait_lock: WaitLockOption = 0.0,
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """One pass over the open exception requests: check, route, record.

    Exit 1 if any failed (a request, or the watch of the exceptions that came by merge
    request), 2 when an --issue is not an open request, 3 when another run holds the run lock.
    --dry-run prints one line per action it would take; with --json, every action in full.

    Example: exception-bot run --dry-run --issue 42
    """
    with _user_errors(verbose):
        cfg = _load(config)
        when = parse_now(now, cfg.calendar.tz)
        summary = run_once(
            connect(section, ca_bundle, retry_for),
            cfg,
            when,
            dry_run=dry_run,
            iids=issue or (),
            progress=None if as_json else _progress_bar(),
            lock_wait=wait_lock,
        )
    _print_run(summary, dry_run, as_json)
    with _user_errors(verbose):
        _missing_issues(issue or [], summary, cfg)
    raise typer.Exit(0 if summary.ok else 1)


def _json(data: object) -> str:
    return json.dumps(data, default=_jsonable, ensure_ascii=False)


def _jsonable(value: object) -> object:
    """``json.dumps``'s ``default``: times in ISO 8601, sets sorted, records as objects."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _missing_issues(wanted: list[int], summary: RunSummary, cfg: Config) -> None:
    """UsageError naming each ``--issue`` no project has as an open request."""
    found = {int(result.issue.rsplit("#", 1)[1]) for result in summary.results}
    missing = [iid for iid in dict.fromkeys(wanted) if iid not in found]
    if missing:
        projects = ", ".join(p.path for p in cfg.gitlab.requests_projects)
        raise UsageError(
            f"--issue {', '.join(f'#{iid}' for iid in missing)}: no such open exception request "
            f"in {projects} (the issue does not exist, is closed, or lacks the "
            f"{cfg.labels.intake} label)"
        )


def _progress_bar() -> Progress | None:
    """A one-line progress counter on a terminal; in CI or when output is piped, where the
    summary line and the failures are the log, a line on stderr now and then during a long run
    (progress.py), so that a job is not silent for ten minutes."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return ProgressLines(lambda line: typer.echo(line, err=True))

    def show(done: int, total: int, result: IssueResult) -> None:
        end = "\n" if done == total else ""
        typer.echo(f"\r[{done}/{total}] {result.issue}\033[K{end}", err=True, nl=False)

    return show


def _print_run(summary: RunSummary, dry_run: bool, as_json: bool) -> None:
    if as_json:
        data = {
            "summary": {
                "processed": summary.processed,
                "changed": summary.changed,
                "failed": summary.failed,
                "skipped": summary.skipped,
                "api_requests": summary.api_requests,
                "watch_error": summary.watch_error,
                "report": summary.report,
            },
            "adopted": summary.adopted,
            "issues": [asdict(result) for result in summary.results],
            "watch": summary.watch_actions,
            "weekly_report": summary.report_actions,
        }
        typer.echo(_json(data))
        return
    if dry_run:
        for action in summary.adopted:
            typer.echo(f"{where(action)}: {action_line(action)}")
    for result in summary.results:
        if result.error:
            typer.echo(f"{result.issue}: failed: {result.error}", err=True)
        elif dry_run:
            for action in result.actions:
                typer.echo(f"{result.issue}: {action_line(action)}")
    if dry_run:
        for action in (*summary.watch_actions, *summary.report_actions):
            typer.echo(f"{where(action)}: {action_line(action)}")
    if summary.watch_error:
        typer.echo(f"register watch: failed: {summary.watch_error}", err=True)
    typer.echo(summary.line())


@app.command("daemon")
def daemon_command(
    every: Annotated[
        str,
        typer.Option("--every", metavar="INTERVAL", help="Interval between runs: 30s, 15m, 1h."),
    ] = "15m",
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    verbose: VerboseOption = False,
) -> None:
    """Run the bot every interval, and post the weekly report on Monday mornings, until stopped.

    A failed run is logged and retried at the next interval; SIGINT or SIGTERM stop the
    daemon between runs.

    Example: exception-bot daemon --every 15m
    """
    runs = _Runs()
    with _user_errors(verbose):
        try:
            interval = parse_every(every)
        except ValueError as err:
            raise UsageError(f"--every: {err}") from None
        cfg = _load(config)
        gitlab = connect(section, ca_bundle, retry_for)
        typer.echo(f"exception-bot daemon: a run every {every}; SIGINT or SIGTERM stop it")
        try:  # a person's token ends the daemon now (exit 2), not at every pass
            the_bot(gitlab, cfg.gitlab)
            first_now = True
        except GitLabUnavailable as err:  # down, or the token refused: the first failed run
            runs.failed(err, verbose)
            first_now = False

        def one_run() -> None:
            try:
                line = run_once(gitlab, cfg, datetime.now(UTC)).line()
            except LockHeldError as err:  # another run is at work: this pass is its
                line = f"skipped: {err}"
            except Exception as err:  # one line a failed run; the next interval tries again
                runs.failed(err, verbose)
                return
            runs.ran()
            typer.echo(f"{_stamp()} {line}")

        def report() -> None:
            try:
                post_monday_report(gitlab, context(gitlab, cfg, datetime.now(UTC)))
            except Exception as err:
                runs.failed(err, verbose, "weekly report")

        Daemon(one_run, interval, report).serve(first_run_now=first_now)
    runs.stopped()


@app.command("serve")
def serve_command(
    host: Annotated[
        str,
        typer.Option(
            "--host", metavar="ADDRESS", help="Address to listen on; behind a TLS proxy, keep it."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, metavar="PORT", help="Port to listen on.")
    ] = 8080,
    every: Annotated[
        str,
        typer.Option(
            "--every", metavar="INTERVAL", help="Interval between full passes: 30s, 15m, 1h."
        ),
    ] = "15m",
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    verbose: VerboseOption = False,
) -> None:
    """Answer GitLab's webhooks within seconds, with a full pass every interval as well.

    Each delivery's issue is run as `run --issue` runs it; the full pass and the weekly report
    run as `daemon` runs them. GET /healthz and GET /metrics (Prometheus) say how it goes.
    The webhooks' secret comes from the variable webhooks.secret_env names.

    Example: exception-bot serve --port 8080 --every 15m
    """
    from exception_bot.service import Service, hook_path  # loaded only by this command
    from exception_bot.service.worker import Settings

    with _user_errors(verbose):
        try:
            interval = parse_every(every)
        except ValueError as err:
            raise UsageError(f"--every: {err}") from None
        cfg = _load(config)
        secret, url = _webhook_secret(cfg)
        gitlab = connect(section, ca_bundle, retry_for)
        the_bot(gitlab, cfg.gitlab)  # a person's token ends it now (exit 2)
        path = hook_path(url)
        service = Service(gitlab, cfg, secret, lambda: datetime.now(UTC), Settings(interval), path)
        typer.echo(
            f"exception-bot serve: webhooks at http://{host}:{port}{path}, a full pass every "
            f"{every}; SIGINT or SIGTERM stop it"
        )
        service.serve(host, port)
    typer.echo("exception-bot serve: stopped")


def _webhook_secret(cfg: Config) -> tuple[str, str | None]:
    """The webhooks' secret token, from the variable ``webhooks.secret_env`` names, and the
    hooks' URL; without a secret ``serve`` refuses to start: it could not tell GitLab's
    deliveries from anyone's."""
    webhooks = cfg.webhooks
    name = webhooks.secret_env if webhooks is not None else WEBHOOK_SECRET_ENV
    # stripped as setup strips it: a secret read from a file ends with a newline GitLab
    # never sends
    secret = os.environ.get(name, "").strip()
    if not secret:
        raise UsageError(
            f"set {name} to the webhooks' secret token (the one `setup --apply` registered, or "
            "the Secret token of the hooks in GitLab): serve refuses every delivery it cannot "
            "check (webhooks.secret_env names the variable)"
        )
    if len(secret) < MIN_WEBHOOK_SECRET:
        # anyone who reaches the port may guess; serve does not slow the guesses down
        raise UsageError(
            f"{name} holds {len(secret)} characters: a webhooks' secret token needs at least "
            f"{MIN_WEBHOOK_SECRET} (setup --apply generates one of 43); set a longer one in "
            "the variable and on the hooks"
        )
    return secret, webhooks.url if webhooks is not None else None


def _stamp() -> str:
    return f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"


class _Runs:
    """The daemon's tally: it exits non-zero when stopped after failed runs only, with the
    exit code of the last failure's class."""

    def __init__(self) -> None:
        self.succeeded = 0
        self.failures = 0
        self.last_error: ExceptionBotError | None = None

    def ran(self) -> None:
        self.succeeded += 1

    def stopped(self) -> None:
        """The daemon's last line; it exits with the last failure's code if no run succeeded."""
        if self.last_error is not None and self.succeeded == 0:
            typer.echo(
                f"exception-bot daemon: stopped; every run failed ({self.failures}), the last "
                f"with: {self.last_error}",
                err=True,
            )
            raise typer.Exit(self.last_error.exit_code)
        typer.echo("exception-bot daemon: stopped")

    def failed(self, err: Exception, verbose: bool, what: str = "run") -> None:
        """One line on stderr (the traceback too with --verbose)."""
        explained = err if isinstance(err, ExceptionBotError) else unexplained(err)
        if verbose or explained is None:  # an unexplained error is a bug: show where
            traceback.print_exception(err)
        if what == "run":
            self.failures += 1
        self.last_error = explained or GitLabError(f"{type(err).__name__}: {err}")
        typer.echo(f"{_stamp()} {what} failed: {self.last_error}", err=True)


@app.command("setup")
def setup_command(
    apply: Annotated[
        bool, typer.Option("--apply", help="Make the changes; without it, only print the plan.")
    ] = False,
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Create the labels, install the issue templates and the register skeleton on GitLab.

    With a webhooks section in the config, also the webhooks serve answers, with the secret
    from the variable webhooks.secret_env names (unset and every hook new: a generated one,
    printed once). Prints the plan; with --apply carries it out. A second run changes nothing.

    Example: exception-bot setup --apply
    """
    with _user_errors(verbose):
        cfg = _load(config)
        gitlab = connect(section, ca_bundle, retry_for)
        if apply:  # only the bot's token writes (identity.py)
            the_bot(gitlab, cfg.gitlab)
        steps = setup_plan(gitlab, cfg)
        secret, generated = webhook_secret(cfg, steps, os.environ) if apply else ("", False)
        if steps and apply:
            # A register project without its branch yet (a new, empty one) has nowhere for the
            # lock: setup makes the branch, and runs until then have nothing to write to.
            branch = gitlab.branch_head(cfg.gitlab.register_project, cfg.gitlab.register_branch)
            with _locked(gitlab, cfg, "setup") if branch else nullcontext():
                for step in steps:
                    if not as_json:
                        typer.echo(describe_step(step))
                    apply_step(gitlab, step, secret)
    if as_json:
        listed = [
            {"step": type(step).__name__, "project": step.project, "does": describe_step(step)}
            for step in steps
        ]
        shown = {"webhook_secret": secret} if generated else {}
        typer.echo(_json({"applied": apply and bool(steps), "steps": listed, **shown}))
    elif generated:
        typer.echo(secret_notice(cfg, secret))
    elif not steps:
        typer.echo("nothing to do: GitLab is set up for this config")
    elif not apply:
        for step in steps:
            typer.echo("would " + describe_step(step))
        typer.echo(f"{len(steps)} steps; run again with --apply to make them")


@app.command("lint")
def lint_command(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH", help="Exception files, or folders to search for *.md."),
    ],
    codequality_file: Annotated[
        Path | None,
        typer.Option(
            "--codequality", metavar="FILE", help="Also write a GitLab Code Quality report here."
        ),
    ] = None,
    now: NowOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check exception files (front matter and sections) for the merge-request route.

    Exit 1 when a file has problems, 2 on a usage error.

    Example: exception-bot lint exceptions/ --codequality gl-code-quality-report.json
    """
    with _user_errors(verbose):
        cfg = _load(config)
        today = parse_now(now, cfg.calendar.tz).astimezone(cfg.calendar.tz).date()
        files = _exception_files(paths)
        if not files:  # a wrong folder passes nothing: never report that as "no problems"
            raise UsageError(
                f"0 files checked: no exception files (*.md) in {', '.join(map(str, paths))}"
            )
        problems = [
            problem
            for path in files
            for problem in lint_entry(
                path.as_posix(), path.read_text(encoding="utf-8", errors="replace"), cfg, today
            )
        ]
        if codequality_file is not None:
            codequality_file.write_text(json.dumps(codequality(problems), indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps([vars(p) for p in problems], indent=2))
    else:
        for p in problems:
            typer.echo(f"{p.path}:{p.line}: {p.message} [{p.check}]")
        checked = f"{len(files)} file{'s' if len(files) != 1 else ''} checked"
        found = f"{len(problems)} problem(s)" if problems else "no problems"
        typer.echo(f"{checked}: {found}")
    raise typer.Exit(1 if problems else 0)


def _exception_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*.md") if p.name not in ("README.md", "REGISTER.md")
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return found


@app.command("mr-check")
def mr_check_command(
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            envvar="CI_PROJECT_ID",
            metavar="PROJECT",
            help="The register project (id or path).",
        ),
    ] = None,
    mr: Annotated[
        int | None,
        typer.Option(
            "--mr", envvar="CI_MERGE_REQUEST_IID", metavar="IID", help="The merge request's iid."
        ),
    ] = None,
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check that a merge request's approvers cover every role its exception files need.

    In a merge-request pipeline the project and iid come from CI_PROJECT_ID and
    CI_MERGE_REQUEST_IID. Exit 1 until every required role has approved.

    Example: exception-bot mr-check --project security/exception-register --mr 7
    """
    with _user_errors(verbose):
        if project is None or mr is None:
            raise UsageError("give --project and --mr (or run in a merge-request pipeline)")
        cfg = _load(config)
        gitlab = connect(section, ca_bundle, retry_for)
        results = check_merge_request(gitlab, cfg, project, mr)
    if as_json:
        files = [
            {
                "path": r.path,
                "exception_id": r.exception_id,
                "ok": r.ok,
                "given": dict(r.given),
                "missing": list(r.missing),
                "problem": r.problem,
            }
            for r in results
        ]
        typer.echo(_json({"ok": all(r.ok for r in results), "files": files}))
    elif not results:
        typer.echo("no exception files in this merge request")
    for r in () if as_json else results:
        if r.problem:
            typer.echo(f"{r.path}: {r.problem}")
        elif r.missing:
            typer.echo(f"{r.exception_id} ({r.path}): missing approval from {', '.join(r.missing)}")
        else:
            given = ", ".join(f"{role}: {user}" for role, user in r.given.items())
            typer.echo(f"{r.exception_id} ({r.path}): approved ({given})")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@app.command("reference")
def reference_command(config: ConfigOption = None, verbose: VerboseOption = False) -> None:
    """Print the approval matrix and the label reference of the config, as Markdown.

    Example: exception-bot reference --config config/example.yml
    """
    with _user_errors(verbose):
        typer.echo(reference_markdown(_load(config)), nl=False)


@app.command("report")
def report_command(
    post: Annotated[
        bool,
        typer.Option("--post", help="Create or update this week's issue in the register project."),
    ] = False,
    month: Annotated[
        str | None,
        typer.Option(
            "--month",
            metavar="YYYY-MM",
            help="Print the metrics of that month instead (`current`: the month under way).",
        ),
    ] = None,
    now: NowOption = None,
    wait_lock: WaitLockOption = 0.0,
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Print the weekly report of open requests and exceptions in force (or post it).

    It reads every open request, and those closed this month, without changing any; `run`
    posts it once per ISO week. With --month: the metrics of a month (requests opened,
    approval rate, time to decision, exceptions in force, remediation, renewals, escalations).

    Example: exception-bot report --post
    """
    with _user_errors(verbose):
        cfg = _load(config)
        if month is not None and post:
            raise UsageError("--month prints a month's metrics; --post posts the weekly report")
        gitlab = connect(section, ca_bundle, retry_for)
        ctx = context(gitlab, cfg, parse_now(now, cfg.calendar.tz))
        summary = survey(gitlab, ctx)
        if month is not None:
            _month(gitlab, ctx, month, summary, as_json)
            return
        # Besides the open requests: those closed this month, and the covered projects' gate
        # summaries (remediation progress).
        closed, gates = closed_this_month(gitlab, ctx), gate_summaries(gitlab, summary)
        report = weekly(summary.results, ctx, summary.watched, closed, gates)
        posted, link = None, None
        if post:
            with _locked(gitlab, cfg, "report", wait_lock):
                posted = post_report(
                    gitlab,
                    ctx,
                    summary.results,
                    update=True,
                    extra=summary.watched,
                    closed=closed,
                    gates=gates,
                )
            project = cfg.gitlab.register_project
            iid = gitlab.find_issue(project, report.title, report.marker, ctx.bot.id)
            link = f"{gitlab.web_url(project)}/-/issues/{iid}" if iid is not None else None
    _print_report(report, summary, (post, posted, link), as_json)


def _print_report(
    report: WeeklyReport,
    summary: RunSummary,
    posting: tuple[bool, str | None, str | None],
    as_json: bool,
) -> None:
    """``report``'s output: the report, where it was posted, or --json's facts."""
    post, posted, link = posting
    if as_json:
        facts = [r.facts for r in summary.results if r.facts is not None] + [*summary.watched]
        failed = [r.issue for r in summary.results if r.error is not None]
        data = {"week": report.week, "title": report.title, "posted": post, "url": link}
        typer.echo(_json({**data, "requests": facts, "failed": failed}))
    elif post:
        done = f"posted {posted}" if posted else "the report issue is up to date"
        typer.echo(f"{done}: {link}")
    else:
        typer.echo(render_report(report))


def _month(gitlab: GitLab, ctx: Context, month: str, summary: RunSummary, as_json: bool) -> None:
    """``report --month``: the month's metrics printed."""
    facts = [*(r.facts for r in summary.results if r.facts is not None), *summary.watched]
    failed = [r.issue for r in summary.results if r.error is not None]
    try:
        typer.echo(month_report(gitlab, ctx, month, facts, failed, as_json=as_json))
    except ValueError as err:
        raise UsageError(f"--month: {err}") from None


@register_app.command("export")
def register_export(
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", metavar="csv|json", help="csv or json.", case_sensitive=False),
    ] = ExportFormat.CSV,
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    verbose: VerboseOption = False,
) -> None:
    """Print every exception of the register for auditors, as CSV or JSON.

    Its entry's fields, dates, approvals, rejections, renewal chain and incidents (CSV: one row
    per exception; JSON: the whole entries). Reads register.json and each entry file on the
    register branch.

    Example: exception-bot register export --format csv > register.csv
    """
    with _user_errors(verbose):
        cfg = _load(config)
        gl = connect(section, ca_bundle, retry_for)
        project, branch = cfg.gitlab.register_project, cfg.gitlab.register_branch
        rows = read_index(gl.read_file(project, branch, INDEX_JSON))
        entries = [
            export_entry(row, gl.read_file(project, branch, path) if path else None)
            for row in rows
            for path in (entry_file(row),)
        ]
    typer.echo(export_rows(entries, fmt.value), nl=False)


@register_app.command("verify")
def register_verify(
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check the register against GitLab; one line per discrepancy, exit 1 on any.

    Each entry's approvals against its issue's checklist notes and roles, its approved_hash
    against the issue's recorded terms, and register.json against the files.

    Only reads: a token that may read the register, the requests (Reporter) and the groups.

    Example: exception-bot register verify --json
    """
    with _user_errors(verbose):
        result = verify_register(connect(section, ca_bundle, retry_for), _load(config))
    if as_json:
        found = [{**vars(d), "line": d.line()} for d in result.discrepancies]
        typer.echo(json.dumps({"entries": result.entries, "discrepancies": found}))
    else:
        for discrepancy in result.discrepancies:
            typer.echo(discrepancy.line())
        typer.echo(f"entries={result.entries} discrepancies={len(result.discrepancies)}")
    raise typer.Exit(0 if result.ok else 1)


class SuppressionFormat(StrEnum):
    TRIVY = "trivy"
    SNYK = "snyk"


ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        envvar="CI_PROJECT_PATH",
        metavar="PATH",
        help="The project whose exceptions count (group/project). Default: CI_PROJECT_PATH.",
        show_default=False,
    ),
]


def _reader(section: str | None, ca_bundle: Path | None, retry_for: float) -> GitLab:
    """A reading connection for the gate: a job token cannot read the requests' issues, where
    the bot's record proves each exception, so it is refused with the variable to set."""
    if not section and not os.environ.get("GITLAB_TOKEN"):
        raise UsageError(
            "set GITLAB_TOKEN to a read_api token of a user who may read the register project "
            "and the requests' issues (Reporter); CI_JOB_TOKEN cannot read issues, so it "
            "cannot prove an exception (docs/how-to/gate-a-pipeline.md)"
        )
    return connect(section, ca_bundle, retry_for)


@app.command("gate")
def gate_command(
    reports: Annotated[
        list[Path],
        typer.Argument(metavar="REPORT...", help="GitLab security reports (gl-*-report.json)."),
    ],
    project: ProjectOption = None,
    threshold: Annotated[
        str,
        typer.Option(
            "--severity-threshold",
            metavar="SEVERITY",
            help="Findings at or above it block: Critical, High, Medium, Low, Unknown or Info.",
        ),
    ] = "High",
    out: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", help="Where the summary and filtered reports go."),
    ] = Path("."),
    max_mb: Annotated[
        int, typer.Option("--max-report-mb", min=1, metavar="MB", help="Refuse larger reports.")
    ] = 64,
    now: NowOption = None,
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    verbose: VerboseOption = False,
) -> None:
    """Fail a pipeline on findings no active exception covers; exit 1 when one blocks.

    Reads the reports, then register.json and the entry files of the exceptions that claim to
    cover this project's findings, each proven as register verify proves it. Prints each
    finding let through (exception, expiry, days left) and each that blocks, and writes
    exception-bot-gate.json and, per report, NAME.blocking.json to --out.

    Only reads: a read_api token of a user who may read the register and the requests (Reporter).

    Example: exception-bot gate gl-dependency-scanning-report.json --severity-threshold High
    """
    from exception_bot import gate  # the gate's modules load only for the gate and suppressions
    from exception_bot.security_reports import read_report

    with _user_errors(verbose), gate.no_cycle_collection():
        cfg = _load(config)
        level = gate.severity_option(threshold)
        path = gate.project_option(project)
        loaded = [read_report(report, max_mb) for report in reports]
        gl = _reader(section, ca_bundle, retry_for)
        result = gate.run_gate(gl, cfg, loaded, path, parse_now(now, cfg.calendar.tz), level)
        gate.write_outputs(result, loaded, out)
    for line in gate.log_lines(result):
        typer.echo(line)
    raise typer.Exit(0 if result.passed else 1)


@app.command("suppressions")
def suppressions_command(
    fmt: Annotated[
        SuppressionFormat,
        typer.Option(
            "--format", metavar="trivy|snyk", help="trivy (.trivyignore.yaml) or snyk (.snyk)."
        ),
    ],
    project: ProjectOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", metavar="FILE", help="Write here, not to stdout.")
    ] = None,
    now: NowOption = None,
    config: ConfigOption = None,
    section: SectionOption = None,
    ca_bundle: CaBundleOption = None,
    retry_for: RetryOption = DEFAULT_RETRY_FOR,
    verbose: VerboseOption = False,
) -> None:
    """Print a scanner's ignore file from the exceptions active for a project.

    Each entry expires when its exception does and names it in its statement (Trivy) or
    reason (Snyk). Exceptions are proven as the gate proves them.

    Example: exception-bot suppressions --format trivy --project group/app > .trivyignore.yaml
    """
    from exception_bot import gate  # the gate's modules load only for the gate and suppressions
    from exception_bot.suppressions import render

    with _user_errors(verbose):
        cfg = _load(config)
        path = gate.project_option(project)
        gl = _reader(section, ca_bundle, retry_for)
        proven = gate.active_exceptions(gl, cfg, path, parse_now(now, cfg.calendar.tz), None)
        rendered = render(fmt.value, proven.exceptions, cfg.calendar)
    for line in (*proven.notes, *gate.skipped_lines(fmt.value, rendered.skipped)):
        typer.echo(f"note: {line}", err=True)
    if output is None:
        typer.echo(rendered.text, nl=False)
    else:
        output.write_text(rendered.text)


@app.command("demo")
def demo_command(
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks",
            help="Run the bot as `serve` does: it answers the sandbox's webhooks, and the "
            "timeline says how long after each delivery it reacted.",
        ),
    ] = False,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Play four days of an exception process on a local sandbox GitLab and print the timeline.

    Needs no GitLab: the sandbox starts on a free loopback port and stops at the end.

    Example: exception-bot demo --webhooks
    """
    from exception_bot.demo import play  # the sandbox loads only for the demo

    with _user_errors(verbose):
        failures = play(_load(config), typer.echo, webhooks)
    raise typer.Exit(1 if failures else 0)


@app.command()
def version() -> None:
    """Print the version.

    Example: exception-bot version
    """
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
