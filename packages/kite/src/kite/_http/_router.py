"""Path routing for the HTTP server: exact paths and path prefixes.

How this works: exact routes live in a dict (`/register`, like Go's `HandleHTTP` on a gorilla
path); prefix routes in a list kept longest-first (`/kite`, like gorilla's `PathPrefix`, a plain
string prefix: `/kite` also matches `/kitefoo`, which sockjs-go then answers with 404). An exact
match wins over any prefix; among prefixes the longest wins. Unmatched paths get Go's 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ._request import HTTPRequest

__all__ = ["Handler", "Router", "not_found"]

Handler = Callable[[HTTPRequest], Awaitable[None]]

GO_NOT_FOUND_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("X-Content-Type-Options", "nosniff"),
]


async def not_found(request: HTTPRequest) -> None:
    """Go's `http.NotFound`: 404 `404 page not found\\n`."""
    await request.respond(404, GO_NOT_FOUND_HEADERS, b"404 page not found\n")


class Router:
    """Maps a request path to a handler."""

    __slots__ = ("_exact", "_prefixes")

    def __init__(self) -> None:
        self._exact: dict[str, Handler] = {}
        self._prefixes: list[tuple[str, Handler]] = []

    def add(self, path: str, handler: Handler, *, exact: bool = False) -> None:
        """Route `path` (exactly, or everything starting with it) to `handler`.

        Registering the same path again replaces the handler.
        """
        if not path.startswith("/"):
            raise ValueError(f"route path must start with '/': {path!r}")
        if exact:
            self._exact[path] = handler
            return
        self._prefixes = [(p, h) for p, h in self._prefixes if p != path]
        self._prefixes.append((path, handler))
        self._prefixes.sort(key=lambda item: len(item[0]), reverse=True)

    def match(self, path: str) -> Handler:
        """The handler for `path`, or Go's 404 handler."""
        handler = self._exact.get(path)
        if handler is not None:
            return handler
        for prefix, handler in self._prefixes:
            if path.startswith(prefix):
                return handler
        return not_found
