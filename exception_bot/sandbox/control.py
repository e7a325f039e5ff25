"""``Sandbox``: start the sandbox GitLab on a loopback port and drive it from Python."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType

from exception_bot.sandbox import access, taskable
from exception_bot.sandbox import seed as seeds
from exception_bot.sandbox.deliveries import Delivery
from exception_bot.sandbox.routes_status import set_status
from exception_bot.sandbox.seed import Seed
from exception_bot.sandbox.server import App, Hook, LoggedRequest, SandboxHTTPServer
from exception_bot.sandbox.store import EDITIONS, Issue, Signature, Store


class Sandbox:
    """A running sandbox GitLab; ``with Sandbox(seed) as gl_sandbox: ...`` stops it after."""

    def __init__(self, seed: Seed | None = None) -> None:
        self.app = App(seed)
        self._seed = seed
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life -------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        self._server = SandboxHTTPServer((host, port), self.app)
        self.app.store.base_url = self.url
        if self._seed is not None:
            self.load(self._seed)
        self._thread = threading.Thread(
            # a short poll keeps stop() quick: shutdown() waits for the next poll
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="sandbox-gitlab",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.app.deliverer.stop()

    def __enter__(self) -> Sandbox:
        return self if self._server else self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- state ------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.app.store

    def reset(self) -> None:
        """Back to the start: the seed given to the constructor, real time, no log or faults."""
        self.app.reset()

    def load(self, seed: Seed) -> None:
        with self.app.lock:
            seeds.load(self.app.store, seed)

    def token(self, username: str) -> str:
        user = self.store.user_named(username)
        if user is None:
            raise KeyError(f"no sandbox user {username!r}")
        return user.token

    def tokens(self) -> dict[str, str]:
        return {u.username: u.token for u in self.store.users.values()}

    def set_now(self, moment: datetime | None) -> None:
        """The server's clock for every timestamp it writes; None: real time."""
        with self.app.lock:
            self.store.clock = moment
            self.store.settle()

    def advance(self, delta: timedelta) -> None:
        with self.app.lock:
            self.store.clock = self.store.now() + delta
            self.store.settle()

    def checklist_notes(self, form: str = "rendered", delay: timedelta = timedelta(0)) -> None:
        """How GitLab words checklist notes (``rendered``: today's; ``source`` or ``task``:
        older versions', see taskable.NOTE_FORMS) and how long after the save of the
        description it writes them: with a ``delay``, a read at the sandbox's clock before
        then sees the box ticked and no note yet."""
        if form not in taskable.NOTE_FORMS:
            raise ValueError(f"form must be one of {', '.join(taskable.NOTE_FORMS)}")
        with self.app.lock:
            self.store.checklist_note_form = form
            self.store.checklist_note_delay = delay

    def edition(self, name: str) -> None:
        """Which tier the sandbox plays: ``free`` (CE), or ``premium``, whose issues keep one
        label of each scope (adding ``a::y`` removes ``a::x``) and several assignees."""
        if name not in EDITIONS:
            raise ValueError(f"edition must be one of {', '.join(EDITIONS)}")
        with self.app.lock:
            self.store.edition = name

    def issue(self, project: str, iid: int) -> Issue:
        found = self.store.project(project)
        if found is None or iid not in found.issues:
            raise KeyError(f"no issue {project}#{iid}")
        return found.issues[iid]

    def file(self, project: str, path: str, ref: str | None = None) -> str | None:
        found = self.store.project(project)
        head = self.store.head(found, ref) if found else None
        return head.tree.get(path) if head else None

    def files(self, project: str, ref: str | None = None) -> dict[str, str]:
        found = self.store.project(project)
        head = self.store.head(found, ref) if found else None
        return dict(head.tree) if head else {}

    def git_push(
        self,
        project: str,
        username: str,
        changes: Mapping[str, str | None],
        *,
        branch: str = "",
        author: tuple[str, str] | None = None,
        committer: tuple[str, str] | None = None,
        message: str = "Edit the register",
    ) -> str:
        """Stands in for ``git commit`` then ``git push`` by ``username``: one commit of
        ``changes`` (path -> text, None deletes) on ``branch`` (the default one unless said),
        whose author and committer (name, e-mail) are whatever the pusher configured, the
        bot's if they like; left out, the pusher's own. GitLab only checks that the pusher may
        push to the branch (lib/gitlab/checks, ``can_push_to_branch?``: access.pushes_to) and
        makes no commit of its own, so what the commit says is all anyone can read of it.
        Returns the commit's id."""
        with self.app.lock:
            store = self.store
            found, user = store.project(project), store.user_named(username)
            if found is None or user is None:
                raise KeyError(f"no project {project} or no user {username}")
            branch = branch or found.default_branch
            if not access.pushes_to(store, found, user, branch):
                raise PermissionError(f"{username} may not push to {project}@{branch}")
            start = None if branch in found.branches else found.default_branch
            files = self.files(project, start or branch)
            actions: list[dict[str, object]] = [
                {"action": "delete", "file_path": path}
                if text is None
                else {
                    "action": "update" if path in files else "create",
                    "file_path": path,
                    "content": text,
                }
                for path, text in changes.items()
            ]
            made = store.commit(found, user, branch, message, actions, start)
            own = (user.name, f"{user.username}@example.com")
            made.signature = Signature(*(author or own), *(committer or own))
            return made.id

    # -- people ----------------------------------------------------------------------------

    def block(self, username: str, state: str = "blocked") -> None:
        """An admin blocks the user (or sets another state, e.g. "deactivated"): their token
        is refused from now on, and members/all lists them with this state."""
        with self.app.lock:
            user = self.store.user_named(username)
            if user is None:
                raise KeyError(f"no sandbox user {username!r}")
            user.state = state

    def set_status(self, username: str, availability: str = "busy", message: str = "") -> None:
        """The user sets their GitLab status, as ``PUT /user/status`` with their token does:
        ``busy`` or ``not_set`` (routes_status.py)."""
        with self.app.lock:
            user = self.store.user_named(username)
            if user is None:
                raise KeyError(f"no sandbox user {username!r}")
            set_status(user, availability, message or None, None)

    def share_group(self, group: str, with_group: str, group_access: int) -> None:
        """``group`` is shared with ``with_group`` (POST /groups/:id/share, groups.md): the
        invited group's members become members of ``group``, at most at ``group_access``."""
        with self.app.lock:
            shared, invited = self.store.must_group(group), self.store.must_group(with_group)
            shared.shared_with[invited.id] = group_access

    # -- misbehaviour -----------------------------------------------------------------------

    def latency(self, seconds: float, path_regex: str | None = None) -> None:
        """Every request whose path matches ``path_regex`` (every request when None) waits
        ``seconds`` before it is answered; settings add up."""
        self.app.add_latency(seconds, path_regex or "")

    def rate_limit(self, limit: int, window_seconds: float, mode: str = "self-managed") -> None:
        """Rack::Attack's throttle: at most ``limit`` requests per user in each window of
        ``window_seconds`` (whole seconds, aligned on the Unix epoch, as GitLab's); then 429
        in plain text with ``Retry-After`` and ``RateLimit-*`` headers. In mode "gitlab.com"
        every other answer carries the ``RateLimit-*`` headers too (see
        :mod:`exception_bot.sandbox.throttles`)."""
        self.app.set_rate_limit(limit, window_seconds, mode)

    def application_limits(self, interval_seconds: float = 60, **thresholds: int) -> None:
        """GitLab's per-user action limits (``notes_create``, ``issues_create``): at most so
        many in each window of ``interval_seconds`` (GitLab's is a minute), then 429 with a
        JSON body and no header (:mod:`exception_bot.sandbox.throttles`)."""
        self.app.set_application_limits(thresholds, interval_seconds)

    def fault(
        self,
        method: str,
        path_regex: str,
        nth: int = 1,
        status: int | str = 500,
        times: int = 1,
        message: str | None = None,
        *,
        applied: bool = False,
        branch: str | None = None,
    ) -> None:
        """From the ``nth`` request matching ``method`` ("*" for any) and ``path_regex`` (and,
        with ``branch``, naming that branch: a commit to it, not to another branch),
        ``times`` requests answer ``status``, or are dropped unanswered when it is "drop".

        ``message`` is the answer's GitLab message, e.g. Gitaly's "Could not update
        refs/heads/main. Please refresh and try again." with status 400 for a branch that moved
        during a commit (gitlab-api.md §7).

        With ``applied`` each of those requests is carried out first (the note is written, the
        commit made) and only its answer is lost: a dropped connection, or a proxy's 502."""
        self.app.add_fault(
            method, path_regex, nth, status, times, message, applied=applied, branch=branch
        )

    def before(self, method: str, path: str, act: Callable[[Store], None], nth: int = 1) -> None:
        """Run ``act`` on the store just before the ``nth`` matching request is answered."""
        with self.app.lock:
            self.app.misbehaviour.hooks.append(Hook(method, re.compile(path), nth, act))

    # -- webhooks ---------------------------------------------------------------------------

    def allow_local_webhooks(self, allowed: bool = True) -> None:
        """The admin setting "Allow requests to the local network from webhooks and
        integrations": off, as on a new GitLab, a hook to a loopback or private address is
        refused (422 "Invalid url given"); a test whose receiver listens on 127.0.0.1 turns
        it on first."""
        with self.app.lock:
            self.store.allow_local_hooks = allowed

    def webhook_faults(self, drop: float = 0.0, delay: float = 0.0, seed: int = 0) -> None:
        """From now on lose a fraction ``drop`` of the deliveries (chosen by a random
        generator seeded with ``seed``) and send the others ``delay`` seconds late; zeros:
        every delivery sent at once."""
        self.app.deliverer.set_faults(drop, delay, seed)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook delivery since the start (or the last reset), dropped ones too."""
        return list(self.app.deliverer.log)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Until every queued delivery has been sent or has failed; False on timeout."""
        return self.app.deliverer.wait(timeout)

    # -- the request log --------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        return list(self.app.log)

    def counts(self) -> Counter[str]:
        return Counter(r.endpoint for r in self.app.log)

    def writes(self) -> list[LoggedRequest]:
        return [r for r in self.app.log if r.method not in ("GET", "HEAD")]

    def clear_log(self) -> None:
        with self.app.lock:
            self.app.log.clear()

    def matching(self, method: str, path: str) -> list[LoggedRequest]:
        pattern = re.compile(path)
        return [r for r in self.app.log if r.method == method and pattern.search(r.path)]
