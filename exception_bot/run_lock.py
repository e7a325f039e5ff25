"""One writing run at a time, arbitrated by GitLab: the run lock.

Two runs at once (a daemon and a manual run on another machine, two CI projects) would each
post the same notes and status notes. ``.gitlab-ci.yml``'s ``resource_group`` covers only one
CI project, so the lock lives where every run must go anyway: the register project, on a branch
of its own, ``exception-bot-lock``, that keeps its commits out of the register's history (and
out of the register watch, which compares the register branch's head).

The lock is a lease: one file ``.exception-bot-lock/lease-<n>.json`` naming the holder (host,
process, a random token), the command, when it started and when the lease expires. Every change
(take, renew, release) is one commit that creates ``lease-<n+1>`` and deletes ``lease-<n>``.
GitLab builds a commit on the branch's head and moves the branch only from that head (Gitaly's
``commit_files.go``), refusing with 400 a create of a file that exists or a delete of one that
is gone: of any two runs that both saw ``lease-<n>``, exactly one lands its commit. A run that
lost its lease (it stalled past the expiry and another took over) learns it at its next renewal,
which is refused, and stops. The generation only grows, so an old holder can never mistake a
newer lease for its own. (A ``last_commit_id`` update would be checked by Rails before Gitaly
writes, which leaves a window in which two takeovers both pass the check.)

Time is GitLab's: expiry is compared with the ``Date`` of GitLab's answers, never a machine's
clock or ``--now``, so runs on machines whose clocks differ agree on when a lease ends. A lease
lasts :data:`LEASE`; a holder renews it once :data:`RENEW_EVERY` has passed (between issues), so
a crashed holder blocks others for at most :data:`LEASE`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from exception_bot.errors import ExceptionBotError
from exception_bot.gitlab import GitLab, GitLabError

log = logging.getLogger(__name__)
LOCK_BRANCH = "exception-bot-lock"
LOCK_FOLDER = ".exception-bot-lock"
LEASE = timedelta(minutes=10)
RENEW_EVERY = 3 * 60.0  # seconds: a renewal leaves at least 7 minutes before expiry
POLL = 5.0  # seconds between looks while waiting for another run's lock
TAKE_ATTEMPTS = 5  # commits refused in a row before giving up (another run keeps winning)
EXIT_LOCKED = 3
_LEASE_FILE = re.compile(rf"^{re.escape(LOCK_FOLDER)}/lease-(\d+)\.json$")
# A lock commit's message ends with its lease file's name and the lease.
_RECORD = re.compile(r"\n\nlease-(\d+)\.json\n(\{.*\})\s*\Z", re.S)


class LockHeldError(ExceptionBotError):
    """Another run holds the lock (exit 3): try again later, or wait with --wait-lock."""

    exit_code = EXIT_LOCKED


class LockLostError(ExceptionBotError):
    """This run's lease expired and another run took the lock: this one stops writing."""

    exit_code = EXIT_LOCKED


@dataclass(frozen=True)
class Lease:
    """What a lease file holds."""

    holder: str  # host:pid, for people
    token: str  # random, one per taking: tells this run's lease from any other
    command: str
    started_at: datetime
    expires_at: datetime
    released: bool = False

    def text(self) -> str:
        data = {
            **asdict(self),
            "started_at": self.started_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def read(cls, text: str) -> Lease | None:
        """The lease a file holds; None when it cannot be read (such a lock is free)."""
        try:
            data = json.loads(text)
            return cls(
                str(data["holder"]),
                str(data["token"]),
                str(data["command"]),
                datetime.fromisoformat(data["started_at"]),
                datetime.fromisoformat(data["expires_at"]),
                bool(data.get("released", False)),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def free_at(self, now: datetime) -> bool:
        return self.released or self.expires_at <= now


@dataclass(frozen=True)
class Current:
    """The lock as GitLab has it: the newest lease file's generation and lease."""

    generation: int  # 0: no lease file yet
    lease: Lease | None
    now: datetime  # GitLab's clock when it answered


class RunLock:
    """The run lock of one register project, taken by one command of this process."""

    def __init__(self, gitlab: GitLab, project: str, base_branch: str, command: str) -> None:
        self.gitlab = gitlab
        self.project = project
        self.base_branch = base_branch
        self.command = command
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.token = secrets.token_hex(8)
        self.generation = 0  # of the lease this run holds; 0: none
        self.lease: Lease | None = None
        self._renewed = 0.0  # time.monotonic() of the last lease written

    # -- reading ------------------------------------------------------------------------------

    def current(self) -> Current | None:
        """The lock as the lock branch's head commit records it (one request), and GitLab's
        time; None when the branch does not exist yet. Only lock commits go to that branch, and
        each carries its generation and lease in its message, so the files need not be read."""
        message = self.gitlab.head_message(self.project, LOCK_BRANCH)
        if message is None:
            return None
        found = _RECORD.search(message)
        if found is None:  # the branch as created from the register branch, or a stranger's
            return Current(self._generation_on_branch(), None, self._now())
        lease = Lease.read(found.group(2))
        if lease is None:
            log.warning("the head of %s holds no lease; taking the lock as free", LOCK_BRANCH)
        return Current(int(found.group(1)), lease, self._now())

    def _generation_on_branch(self) -> int:
        """The newest lease file's generation, from the branch's files (0: none): for a head
        commit that is not a lock commit."""
        found = [
            int(match.group(1))
            for path in self.gitlab.tree(self.project, LOCK_BRANCH, LOCK_FOLDER)
            if (match := _LEASE_FILE.match(path))
        ]
        return max(found, default=0)

    def _now(self) -> datetime:
        now = self.gitlab.server_time
        if now is None:  # every HTTP answer has a Date (RFC 9110 §6.6.1); GitLab's do
            raise GitLabError("GitLab's answers carry no Date header: the run lock needs it")
        return now

    # -- taking, keeping, releasing -------------------------------------------------------------

    def take(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds for another run to release it."""
        deadline = time.monotonic() + wait
        refused = 0
        while True:
            seen = self.current()
            if seen is None:  # the first run ever: the lock branch is made once
                self._make_branch()
                continue
            if seen.lease is None or seen.lease.free_at(seen.now):
                mine = Lease(
                    self.holder, self.token, self.command, seen.now, seen.now + LEASE, False
                )
                if self._write(seen.generation, mine, "takes"):
                    return
                refused += 1
                if refused >= TAKE_ATTEMPTS:
                    raise GitLabError(
                        f"could not take the run lock on {self.project}@{LOCK_BRANCH}: "
                        f"{TAKE_ATTEMPTS} commits in a row were refused; try again"
                    )
                continue  # another run changed the lock first: look again
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockHeldError(_held_message(seen.lease, wait))
            time.sleep(min(POLL, left))

    def _make_branch(self) -> None:
        """The lock branch, from the register branch (two runs making it at once: one does)."""
        try:
            self.gitlab.create_branch(self.project, LOCK_BRANCH, self.base_branch)
        except GitLabError as err:
            raise GitLabError(
                f"no run lock: {err}; check gitlab.register_branch (a new, empty register "
                "project gets it from `exception-bot setup --apply`)"
            ) from None

    def keep(self) -> None:
        """Renew the lease when RENEW_EVERY has passed since it was written; stop the run
        (LockLostError) when GitLab refuses: another run took the lock."""
        if self.lease is None or time.monotonic() - self._renewed < RENEW_EVERY:
            return
        now = self._now()
        if not self._write(self.generation, replace(self.lease, expires_at=now + LEASE), "renews"):
            self.lease = None
            raise LockLostError(
                f"this run's lease on {self.project}@{LOCK_BRANCH} expired and another run took "
                "the lock: stopping; the other run carries on"
            )

    def release(self) -> None:
        """Give the lock back; a failure only leaves the lease to expire."""
        if self.lease is None:
            return
        released = replace(self.lease, expires_at=self._now(), released=True)
        try:
            self._write(self.generation, released, "releases")
        except Exception as err:  # the lease expires by itself: the run's work stands
            log.warning("could not release the run lock (%s); it expires by itself", err)
        self.lease = None

    def _write(self, generation: int, lease: Lease, verb: str) -> bool:
        """Replace lease ``generation`` by ``generation + 1`` holding ``lease``; True when it
        landed. After a lost answer, the lock is read: the new lease is there with this run's
        token only if this commit landed."""
        new = f"{LOCK_FOLDER}/lease-{generation + 1:09d}.json"
        old = f"{LOCK_FOLDER}/lease-{generation:09d}.json" if generation else None
        # [skip ci]: a commit to the lock branch must not start the register project's
        # pipeline. The message ends with the lease, which the next reader reads there.
        message = (
            f"exception-bot {self.command} {verb} the run lock ({self.holder}) [skip ci]\n\n"
            f"{new.rsplit('/', 1)[1]}\n{lease.text()}"
        )
        landed = self.gitlab.swap_file(self.project, LOCK_BRANCH, (new, lease.text()), old, message)
        if landed is None:
            seen = self.current()
            landed = (
                seen is not None
                and seen.generation == generation + 1
                and seen.lease is not None
                and seen.lease.token == lease.token
            )
        if landed:
            self.generation, self.lease = generation + 1, lease
            self._renewed = time.monotonic()
        return bool(landed)


def _held_message(lease: Lease, wait: float) -> str:
    waited = f"waited {wait:g} s; " if wait > 0 else ""
    return (
        f"another run holds the lock ({lease.command} on {lease.holder}, since "
        f"{lease.started_at:%Y-%m-%d %H:%M:%S} UTC, lease until {lease.expires_at:%H:%M:%S} "
        f"UTC): {waited}try again later, or pass --wait-lock SECONDS"
    )


@contextmanager
def run_lock(
    gitlab: GitLab, project: str, base_branch: str, command: str, wait: float = 0.0
) -> Iterator[RunLock]:
    """Hold the run lock for the ``with`` block; it is released on the way out, on an error
    or KeyboardInterrupt too (a process killed outright leaves it to expire)."""
    lock = RunLock(gitlab, project, base_branch, command)
    lock.take(wait)
    try:
        yield lock
    finally:
        lock.release()
