"""The connection every resource of the adapter shares: python-gitlab's client, given the
bot's session (session.py), the bot's own pace for its writes, and what a run caches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.v4.objects import Project, ProjectIssue

from exception_bot.connection import Guard, check_url
from exception_bot.domain.actions import IssueRef
from exception_bot.errors import ExceptionBotError
from exception_bot.gitlab.session import Meter, Observer, PauseObserver, session
from exception_bot.pacing import SlidingWindow

PER_PAGE = 100
T = TypeVar("T")


class GitLabError(ExceptionBotError):
    """GitLab refused or failed a request; the message says which and why."""


def unexplained(err: BaseException) -> GitLabError | None:
    """A python-gitlab or requests error that no caller put into words, as one line: the
    command line's last resort. None for any other error (a bug, whose traceback shows)."""
    if isinstance(err, gitlab.GitlabError):
        answer = " ".join(f"{err.response_code or ''} {err.error_message}".split())[:200]
        return GitLabError(
            f"GitLab refused a request ({answer}): check the config's projects and the bot's "
            "access (check-config --online); --verbose shows the request"
        )
    if isinstance(err, requests.RequestException):
        said = " ".join(str(err).split())[:200]
        return GitLabError(f"a request to GitLab failed ({said}): run the command again")
    return None


def unless_missing(call: Callable[[], T]) -> T | None:
    """``call()``, or None when GitLab answers 404: the thing does not exist (or the bot's user
    cannot see it, which GitLab reports the same way)."""
    try:
        return call()
    except gitlab.GitlabError as err:
        if err.response_code == 404:
            return None
        raise


class Client:
    """python-gitlab's client with the bot's session, pace and request counter."""

    def __init__(self, gl: gitlab.Gitlab, meter: Meter, guard: Guard) -> None:
        self.gl = gl
        # Under python-gitlab's retries, its session's adapter (session.py) waits out a pause
        # GitLab's headers asked for, and a request that cannot connect is retried, or ends the
        # command in one line (connection.py); a 401 ends it too.
        self._meter = meter
        self._guard = guard
        self._projects: dict[str, Project] = {}
        self._writes: SlidingWindow | None = None
        self._notes: SlidingWindow | None = None

    @classmethod
    def connect(
        cls, url: str, token: str, *, ssl_verify: bool | str = True, guard: Guard | None = None
    ) -> Client:
        meter, guard = Meter(), guard or Guard()
        gl = gitlab.Gitlab(
            check_url(url),
            private_token=token,
            ssl_verify=ssl_verify,
            per_page=PER_PAGE,
            # 5xx, 520-530 and dropped connections are retried with backoff; 429 always is.
            retry_transient_errors=True,
            session=session(guard, meter),
        )
        return cls(gl, meter, guard)

    @classmethod
    def from_config(cls, section: str, guard: Guard | None = None) -> Client:
        """A python-gitlab config file section (``~/.python-gitlab.cfg``) names URL and token."""
        meter, guard = Meter(), guard or Guard()
        try:
            gl = gitlab.Gitlab.from_config(section, session=session(guard, meter))
        except gitlab.config.GitlabConfigMissingError:
            raise GitLabError("no python-gitlab config file found for --gitlab-section") from None
        except gitlab.config.GitlabDataError as err:
            raise GitLabError(f"--gitlab-section {section}: {err}") from None
        check_url(gl.url, f"--gitlab-section {section}: url")
        gl.retry_transient_errors = True
        gl.per_page = PER_PAGE
        return cls(gl, meter, guard)

    @property
    def url(self) -> str:
        """The GitLab this talks to: its URL as given, without the API's path."""
        return str(self.gl.url)

    @property
    def requests(self) -> int:
        """Answers GitLab has given so far."""
        return self._meter.requests

    @property
    def server_time(self) -> datetime | None:
        """GitLab's clock at its latest answer."""
        return self._meter.server_time

    def new_run(self) -> None:
        """Try connections again (a daemon's next run)."""
        self._guard.reset()

    def pace(self, requests_per_minute: int, notes_per_minute: int) -> None:
        """Keep writes and note creations under these rates from now on. The same rates again
        keep the windows: a process that runs often (``daemon``, ``serve`` after each webhook)
        must not start a fresh minute's budget at every run."""
        if (
            self._writes is not None
            and self._notes is not None
            and (self._writes.limit, self._notes.limit) == (requests_per_minute, notes_per_minute)
        ):
            return
        self._writes = SlidingWindow(requests_per_minute)
        self._notes = SlidingWindow(notes_per_minute)

    def observe(self, answers: Observer | None, pauses: PauseObserver | None = None) -> None:
        """Tell ``answers`` of each answer (method, path, status) and ``pauses`` of each pause
        GitLab's rate-limit headers asked for: ``serve``'s metrics."""
        self._meter.observer = answers
        self._meter.pause_observer = pauses

    def before_write(self, note: bool = False) -> None:
        """Wait until one more write (a note creation, when ``note``) fits the pace.

        The bot's own budget, not a hook of the session's: which writes count is the
        adapter's call (the run lock's commits do not wait behind the issues' writes), and a
        write python-gitlab sends again after a 429 is the same write."""
        if self._writes is not None:
            self._writes.wait()
        if note and self._notes is not None:
            self._notes.wait()

    def project(self, path: str) -> Project:
        if path not in self._projects:
            self._projects[path] = self.gl.projects.get(path, lazy=True)
        return self._projects[path]

    def issue(self, ref: IssueRef) -> ProjectIssue:
        return self.project(ref.project).issues.get(ref.iid, lazy=True)

    def items(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page after page, as plain dicts: runs read thousands
        of issues and notes, and a RESTObject for each (with the deep copy its ``attributes``
        makes) costs more CPU than deciding. ``http_list`` does not apply the client's
        ``per_page``, so it is asked for here."""
        query = {**params, "per_page": PER_PAGE}
        for item in self.gl.http_list(path, query_data=query, iterator=True):
            yield dict(item)

    def me(self) -> int:
        """The bot's user id (``auth`` is run once, by ``People.whoami`` as a rule)."""
        if self.gl.user is None:
            self.gl.auth()
        assert self.gl.user is not None  # noqa: S101 - auth() sets it or raises
        return int(self.gl.user.id)
