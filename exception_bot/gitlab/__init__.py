"""The GitLab adapter: the only package that imports ``gitlab`` (python-gitlab).

By resource, as python-gitlab's ``v4/objects``: ``issues`` (listing and reading request
issues, opening one), ``issue_edits`` (labels, descriptions, assignees, links), ``notes``,
``labels``, ``people`` (users and members), ``projects``, ``repository`` (files and commits),
``branches``, ``merge_requests``; each a small class over the shared ``client.Client``.
``session`` is the HTTP under python-gitlab (pacing by GitLab's headers, connection failures),
``writes`` the writes whose answer is lost, ``parse`` GitLab's JSON as the core's values.
``facade.GitLab`` composes them for the many callers that need one object.
"""

from exception_bot.gitlab.client import GitLabError, unexplained
from exception_bot.gitlab.facade import GitLab
from exception_bot.gitlab.merge_requests import MergeRequestInfo

__all__ = ["GitLab", "GitLabError", "MergeRequestInfo", "unexplained"]
