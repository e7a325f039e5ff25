"""Moved to the package :mod:`exception_bot.gitlab`, split by resource; import from there.

This name stays only while modules still import it (issue 22, point 4: the move happened while
other work on those modules was under way); it holds no code.
"""

from exception_bot.gitlab import GitLab, GitLabError, MergeRequestInfo, unexplained

__all__ = ["GitLab", "GitLabError", "MergeRequestInfo", "unexplained"]
