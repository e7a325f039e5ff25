"""The one error tree users see.

Every user-fixable failure is an :class:`ExceptionBotError`; ``cli.py`` catches it once and
prints its message as a single line that says what to fix. Problems *in a request* are not
errors: they are :class:`exception_bot.domain.model.Problem` values.
"""

from __future__ import annotations


class ExceptionBotError(Exception):
    """Base of every error that ends a command with a message for the user."""

    exit_code = 1  # EXIT_FAILED


class UsageError(ExceptionBotError):
    """The command line or an input file is wrong (exit 2)."""

    exit_code = 2  # EXIT_USAGE


class ConfigError(ExceptionBotError):
    """The configuration is invalid; the message names the key path and the fix (exit 2)."""

    exit_code = 2  # EXIT_USAGE

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


# The exit codes, one per class of failure (docs/reference/usage.md, "Exit codes"). Scripts and CI
# rules rely on them: .gitlab-ci.yml allows exit 3 (another run was at work), never 4 or 5.
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran, and something failed or needs a look (a request, a file)
EXIT_USAGE = 2  # the command line, the config or an input file: fix it and run again
EXIT_LOCKED = 3  # another run holds the run lock (run_lock.py): try again later
EXIT_UNREACHABLE = 4  # GitLab did not answer: the URL, the network, TLS
EXIT_TOKEN_REFUSED = 5  # GitLab refused the token (401)
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C (128 + SIGINT, as shells report it)


class GitLabUnavailable(ExceptionBotError):
    """GitLab cannot be used at all: every request would fail alike, so a run stops at once
    instead of failing each issue in turn."""


class GitLabUnreachable(GitLabUnavailable):
    """GitLab did not answer (refused, timed out, unknown host, TLS failed) (exit 4)."""

    exit_code = EXIT_UNREACHABLE


class TokenRefused(GitLabUnavailable):
    """GitLab answered 401: the token is wrong, expired or revoked (exit 5)."""

    exit_code = EXIT_TOKEN_REFUSED
