"""The one error tree users see.

Every user-fixable failure is an :class:`ExceptionBotError`; ``cli.py`` catches it once and
prints its message as a single line that says what to fix. Problems *in a request* are not
errors: they are :class:`exception_bot.domain.model.Problem` values.
"""

from __future__ import annotations


class ExceptionBotError(Exception):
    """Base of every error that ends a command with a message for the user."""

    exit_code = 1


class UsageError(ExceptionBotError):
    """The command line or an input file is wrong (exit 2)."""

    exit_code = 2


class ConfigError(ExceptionBotError):
    """The configuration is invalid; the message names the key path and the fix (exit 2)."""

    exit_code = 2

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))
