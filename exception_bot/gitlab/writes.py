"""Writes whose answer is lost: looked for before they are sent again, never sent blindly.

python-gitlab cannot express this: its transient retry (gitlab/client.py ``http_request``,
``retry_transient_errors``) sends a request again after a 5xx or a dropped connection without
asking whether it was carried out, which for a POST that creates (a note, an issue, a link, a
label) makes a second one. So such writes turn that retry off per call (:data:`ONCE`) and go
through :func:`once`, which looks for what the write would have made before sending it again.
python-gitlab's retry of a 429 stays on: GitLab did not carry the request out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import gitlab
import requests

from exception_bot.gitlab.client import Client, GitLabError

log = logging.getLogger(__name__)
T = TypeVar("T")
# Sends of one write whose answer keeps getting lost, the first pause before looking whether it
# landed (doubled each time: 0.5 + 1 + 2 + 4 s at most), then the issue fails for this run.
WRITE_ATTEMPTS = 4
LOST_ANSWER_PAUSE = 0.5

# Per-call options for a write that must not be sent twice: python-gitlab's transient retry
# (gitlab/client.py http_request) sends a POST again after a 5xx or a broken connection,
# when GitLab may have carried it out already.
ONCE: dict[str, Any] = {"retry_transient_errors": False}


def lost(err: requests.RequestException | gitlab.GitlabError) -> bool:
    """Whether a failed write may have been carried out all the same: the connection broke
    once the request was sent, or a 5xx came, which a proxy (Workhorse, a load balancer) also
    sends when it gives up waiting while GitLab goes on."""
    if isinstance(err, requests.RequestException):
        return isinstance(
            err,
            requests.ConnectionError | requests.exceptions.ChunkedEncodingError | requests.Timeout,
        )
    return err.response_code is not None and err.response_code >= 500


def still_throttled(err: gitlab.GitlabError) -> str:
    """One line for a 429 python-gitlab gave up on. GitLab's limits on note and issue creation
    answer ``{"message": {"error": "..."}}`` with no ``Retry-After``
    (lib/api/helpers/rate_limiter.rb), so python-gitlab's retries (gitlab/client.py
    ``http_request``: 0.1 s doubled, 10 times, about 100 s) have outlasted GitLab's one-minute
    window: the user's limit is being spent by something else too."""
    said = err.error_message
    if isinstance(said, dict):
        said = said.get("error") or said.get("message") or said
    if isinstance(said, bytes):
        said = said.decode("utf-8", "replace")
    detail = " ".join(str(said).split())
    return (
        f"GitLab still answered 429 after python-gitlab's retries ({detail}); the next run "
        "tries again. If this repeats, give the bot a token of its own (GitLab counts limits "
        "per user) or lower limits.notes_per_minute"
    )


def pause_after_lost(what: str, err: Exception, attempt: int) -> None:
    """Wait before looking whether a write landed: a write a proxy gave up on may still be
    under way in GitLab."""
    log.warning("%s: GitLab's answer was lost (%s); looking whether it was done", what, err)
    time.sleep(LOST_ANSWER_PAUSE * 2 ** (attempt - 1))


def once(
    client: Client,
    what: str,
    send: Callable[[], T],
    landed: Callable[[], T | None],
    *,
    note: bool = False,
) -> T:
    """``send()`` a write GitLab carries out again when sent again (a POST that creates),
    at most WRITE_ATTEMPTS times: after each lost answer, ``landed()`` looks for what it
    would have made, and it is sent again only when that is not there.

    ``send`` must pass ``**ONCE``: python-gitlab's own retry would send it blindly.
    """
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        client.before_write(note)
        try:
            return send()
        except (requests.RequestException, gitlab.GitlabError) as err:
            if isinstance(err, gitlab.GitlabError) and err.response_code == 429:
                raise GitLabError(f"{what}: {still_throttled(err)}") from None
            if not lost(err):
                raise
            pause_after_lost(what, err, attempt)
        found = landed()
        if found is not None:
            return found
    raise GitLabError(
        f"{what}: GitLab's answer was lost {WRITE_ATTEMPTS} times and it is not there; "
        "the next run tries again"
    )
