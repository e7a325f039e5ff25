"""The sandbox's REST API v4 machinery: a parsed call, a reply, the route table and GitLab's
pagination. The endpoints themselves are in the ``routes_*`` modules, one per area; importing
:mod:`exception_bot.sandbox.routes` registers them all."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from exception_bot.sandbox.store import ApiError, Store, User

MAX_PER_PAGE = 100  # rest/index.md: per_page is capped at 100
DEFAULT_PER_PAGE = 20
MAX_COUNTED = 10_000


@dataclass
class Call:
    """One API request, parsed."""

    method: str
    path: str  # without the query, still URL-encoded
    params: dict[str, list[str]]
    body: dict[str, Any]
    user: User
    base_url: str
    args: dict[str, str] = field(default_factory=dict)

    def param(self, name: str, default: str | None = None) -> str | None:
        if name in self.body and not isinstance(self.body[name], (list, dict)):
            value = self.body[name]
            return None if value is None else str(value)
        values = self.params.get(name)
        return values[-1] if values else default

    def values(self, name: str) -> list[str]:
        """A list parameter: ``iids[]=1&iids[]=2``, ``iids=1,2`` or a JSON list."""
        value = self.body.get(name)
        if isinstance(value, list):
            return [str(v) for v in value]
        found = [str(value)] if value is not None else []
        found += self.params.get(f"{name}[]", []) + self.params.get(name, [])
        return [v for raw in found for v in raw.split(",") if v]


@dataclass
class Reply:
    status: int
    body: Any  # JSON-ready data, or str for raw text
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Store, Call], Reply]
ROUTES: list[tuple[str, re.Pattern[str], Handler, str]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    regex = re.compile(
        "^/api/v4"
        + pattern.replace(":id", "(?P<id>[^/]+)")
        .replace(":iid", r"(?P<iid>\d+)")
        .replace(":note", r"(?P<note>\d+)")
        .replace(":file", "(?P<file>.+?)")
        .replace(":link", r"(?P<link>\d+)")
        .replace(":event", r"(?P<event>\d+)")
        .replace(":user_id", r"(?P<user_id>\d+)")
        .replace(":hook_id", r"(?P<hook_id>\d+)")
        .replace(":name", "(?P<name>[^/]+)")
        + "$"
    )

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, regex, handler, f"{method} {pattern}"))
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Handler, dict[str, str], str] | None:
    # Grape answers HEAD on every GET route (the server then sends the headers only).
    verbs = (method, "GET") if method == "HEAD" else (method,)
    for verb in verbs:
        for route_verb, regex, handler, name in ROUTES:
            if route_verb == verb and (match := regex.match(path)):
                return handler, {k: unquote(v) for k, v in match.groupdict().items()}, name
    return None


def ok(body: Any, status: int = 200) -> Reply:
    return Reply(status, body)


def paginate(
    call: Call,
    items: Sequence[Any],
    render: Callable[[Any], Any],
    visible: Callable[[Any], bool] | None = None,
) -> Reply:
    """A page of ``items`` with GitLab's pagination headers (rest/index.md, offset-based).

    ``visible`` filters the page *after* it is cut, as lib/api/notes.rb does: a page can then
    be short without being the last one.
    """
    try:
        per_page = max(1, min(MAX_PER_PAGE, int(call.param("per_page") or DEFAULT_PER_PAGE)))
        page = max(1, int(call.param("page") or 1))
    except ValueError:
        raise ApiError(400, "400 Bad request - page or per_page is invalid") from None
    total = len(items)
    pages = max(1, -(-total // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    # rest/index.md: above 10,000 records the totals and rel="last" are left out
    counted = total <= MAX_COUNTED
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if page < pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    if counted:
        headers.update({"X-Total": str(total), "X-Total-Pages": str(pages)})
    links = []
    for rel, number in (
        ("prev", page - 1 if page > 1 else None),
        ("next", page + 1 if page < pages else None),
        ("first", 1),
        ("last", pages if counted else None),
    ):
        if number is not None:
            links.append(f'<{_page_url(call, number, per_page)}>; rel="{rel}"')
    headers["Link"] = ", ".join(links)
    shown = [item for item in chunk if visible is None or visible(item)]
    return Reply(200, [render(item) for item in shown], headers)


def _page_url(call: Call, page: int, per_page: int) -> str:
    query = [(k, v) for k, vs in call.params.items() for v in vs if k not in ("page", "per_page")]
    query += [("page", str(page)), ("per_page", str(per_page))]
    return f"{call.base_url}{call.path}?{urlencode(query)}"


def choice(call: Call, name: str, allowed: Sequence[str], default: str) -> str:
    """A parameter with a fixed set of values; others answer 400, as Grape's ``values:`` do.
    Unknown parameters, by contrast, are ignored (gitlab-api.md §1)."""
    value = call.param(name) or default
    if value not in allowed:
        raise ApiError(400, f"400 Bad request - {name} does not have a valid value")
    return value
