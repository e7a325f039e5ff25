"""Reaching GitLab: a URL that names a server, and failures to reach it that end a command in
one line, fast.

python-gitlab tries a failed connection again ten times, 0.1 s doubling (102 s in all), without
a word, and a TLS failure too, then raises requests' error, whose traceback runs to hundreds
of lines (gitlab/client.py ``http_request``, gitlab/utils.py ``Retry.handle_retry``).
:class:`Guard` sends each request for the transport adapter python-gitlab's session is given
(``exception_bot/gitlab/session.py``), underneath python-gitlab's own retries:

- a connection that could not be made (refused, timed out, no route) is tried again, saying so
  on stderr, for ``retry_for`` seconds, then :class:`GitLabUnreachable`. Nothing was sent, so
  any request, a write too, may be sent again;
- an unknown host and a TLS failure are not tried again: waiting does not mend them;
- an answer lost after the request went out (a dropped connection) is left to the caller, who
  knows whether the request may have landed (``exception_bot/gitlab/writes.py``, ``lost``);
- a 401 is :class:`TokenRefused` (:meth:`Guard.check`, a response hook): GitLab answers it to
  a wrong, expired or revoked token (doc/security/tokens/token_troubleshooting.md). The bot
  calls none of the endpoints that answer 401 for a permission instead (merging, approving:
  lib/api/merge_requests.rb).

Once it has given up, the guard fails every request at once until :meth:`Guard.reset` (each
run of a daemon starts afresh), so a run's clean-up (releasing the run lock) does not wait
again.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from exception_bot.errors import GitLabUnreachable, TokenRefused, UsageError

DEFAULT_RETRY_FOR = 60.0  # seconds of connection failures before a command gives up
CONNECT_TIMEOUT = 10.0  # seconds for one connection attempt (the read is not limited here)
_LONGEST_PAUSE = 8.0
# OpenSSL's reasons when the other end does not speak TLS at all (plain HTTP on that port)
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})


def check_url(url: str, source: str = "GITLAB_URL") -> str:
    """The GitLab URL without a trailing slash; UsageError when it names no http(s) server."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        host = text.split("://", 1)[-1].lstrip("/") or "gitlab.example.com"
        example = f"https://{host}"
        raise UsageError(
            f"{source} '{url}' is not a URL of a GitLab server: write it with its scheme, "
            f"such as {example}"
        )
    return text.rstrip("/")


class Guard:
    """Sends requests for a transport adapter: see the module's docstring."""

    def __init__(
        self,
        retry_for: float = DEFAULT_RETRY_FOR,
        say: Callable[[str], None] = lambda line: None,
        *,
        url_source: str = "GITLAB_URL",
        token_source: str = "GITLAB_TOKEN",  # noqa: S107 - where the token is set, not one
    ) -> None:
        self.retry_for = max(0.0, retry_for)
        self.say = say
        self.url_source = url_source
        self.token_source = token_source
        self._given_up: GitLabUnreachable | None = None

    def reset(self) -> None:
        """Try connections again (a new run of a daemon)."""
        self._given_up = None

    def check(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A response hook: a 401 ends the command (see the module's docstring)."""
        if response.status_code == 401:
            raise TokenRefused(self._refused(response))

    def send(
        self, send: Callable[..., requests.Response], request: requests.PreparedRequest, kwargs: Any
    ) -> requests.Response:
        """``send(request, **kwargs)``, its connection failures retried or put into words."""
        if kwargs.get("timeout") is None:  # python-gitlab's default: no limit at all
            kwargs["timeout"] = (min(CONNECT_TIMEOUT, max(1.0, self.retry_for)), None)
        server = _server(request.url)
        first_failure: float | None = None
        pause = 1.0
        while True:
            if self._given_up is not None:
                raise self._given_up
            try:
                response = send(request, **kwargs)
            except requests.exceptions.SSLError as err:
                raise GitLabUnreachable(self._tls(server, err)) from None
            except requests.ConnectionError as err:
                why = _not_connected(err)
                if why is None:  # the request may have gone out: the caller decides
                    raise
                if why == "unknown host":
                    raise GitLabUnreachable(
                        f"GitLab at {server}: unknown host {urlsplit(server).hostname}: "
                        f"check {self.url_source}"
                    ) from None
                now = time.monotonic()
                first_failure = now if first_failure is None else first_failure
                left = self.retry_for - (now - first_failure)
                if left <= 0:
                    waited = f" for {now - first_failure:.0f} s" if self.retry_for else ""
                    self._given_up = GitLabUnreachable(
                        f"GitLab at {server} did not answer ({why}){waited}: check "
                        f"{self.url_source} and that GitLab is up (--retry-for SECONDS waits "
                        "longer)"
                    )
                    continue
                wait = min(pause, left)
                self.say(
                    f"GitLab at {server} did not answer ({why}): trying again in {wait:.0f} s "
                    f"(giving up after {self.retry_for:g} s)"
                )
                time.sleep(wait)
                pause = min(pause * 2, _LONGEST_PAUSE)
                continue
            self._given_up = None
            return response

    def _tls(self, server: str, err: requests.exceptions.SSLError) -> str:
        found = next((e for e in _chain(err) if isinstance(e, ssl.SSLError)), None)
        reason = str(getattr(found, "reason", "") or "")
        if reason in _NOT_TLS:
            return (
                f"GitLab at {server}: TLS failed, the server does not speak TLS there "
                f"({reason}): check {self.url_source}'s scheme and port (http:// or https://)"
            )
        if isinstance(found, ssl.SSLCertVerificationError):
            return (
                f"GitLab at {server}: TLS failed, its certificate is not trusted "
                f"({found.verify_message}): behind a private CA, pass --ca-bundle PEM_FILE "
                "(or set EXCEPTION_BOT_CA_BUNDLE)"
            )
        return (
            f"GitLab at {server}: TLS failed ({reason or 'no reason given'}): check "
            f"{self.url_source}, or pass --ca-bundle PEM_FILE for a private CA"
        )

    def _refused(self, response: requests.Response) -> str:
        server = _server(response.request.url if response.request else None)
        said = ""
        try:  # GitLab says why for an expired or revoked token: error_description
            data = json.loads(response.text)
            said = str(data.get("error_description") or "") if isinstance(data, dict) else ""
        except ValueError:
            pass
        said = " ".join(said.split())[:160]
        return (
            f"GitLab at {server} refused the token (401{': ' + said if said else ''}): check "
            f"{self.token_source}, a token of the bot's user with the api scope, not expired "
            "or revoked"
        )


def _server(url: str | None) -> str:
    """The server's scheme, host and port: never a user and password the URL holds (the
    message reaches logs, and serve's /healthz)."""
    parts = urlsplit(url or "")
    if not parts.hostname:
        return "GitLab"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _chain(err: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (urllib3's MaxRetryError keeps its ``reason``), and their
    causes, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        todo += [arg for arg in current.args if isinstance(arg, BaseException)]


def _not_connected(err: requests.ConnectionError) -> str | None:
    """Why no connection was made, or None when one may have been (and the request sent)."""
    if isinstance(err, requests.ConnectTimeout):
        return "timed out connecting"
    chain = list(_chain(err))
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "unknown host"
    if not any(isinstance(e, NewConnectionError) for e in chain):
        return None  # the socket was connected: the request may have gone out
    refused = next((e for e in chain if isinstance(e, OSError) and e.strerror), None)
    return refused.strerror if refused is not None and refused.strerror else "no connection"
