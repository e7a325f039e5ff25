"""Only the bot's own token runs the bot.

The bot tells its own notes, labels, ticks and report issues from everyone else's by their
author: the user the token belongs to. Run with a person's token, it takes the real bot's
status notes and label changes for a stranger's (and reverts them as tampering) and signs its
writes as that person, which the next run with the right token cannot undo. So every command
that writes, or decides as the bot would, first checks the token's user against
``gitlab.bot_user`` and refuses any other, before its first write.
"""

from __future__ import annotations

from exception_bot.domain.model import User
from exception_bot.domain.settings import GitLabSettings
from exception_bot.errors import UsageError
from exception_bot.gitlab import GitLab


class WrongTokenError(UsageError):
    """The token belongs to someone other than ``gitlab.bot_user`` (exit 2)."""


def the_bot(gitlab: GitLab, settings: GitLabSettings) -> User:
    """The token's user, when it is the configured bot user; otherwise WrongTokenError."""
    user = gitlab.whoami()
    if not same_user(user.username, settings.bot_user):
        raise WrongTokenError(
            f"this token belongs to @{user.username}, not the bot's user @{settings.bot_user} "
            "(gitlab.bot_user): run with the bot's token"
        )
    return user


def same_user(a: str, b: str) -> bool:
    """GitLab finds a user by username regardless of case (``app/models/user.rb``: the
    ``by_username`` scope is an ``iwhere``), so ``Exception-Bot`` names ``exception-bot``."""
    return a.casefold() == b.casefold()
