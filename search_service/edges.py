"""The HTTP edges every response shares: HEAD and OPTIONS on the API's routes, and security
headers on the site and the API alike.

- HEAD on any GET route answers as GET would, headers and all, without the body (load balancers
  probe /healthz that way); the site's files already do this themselves.
- OPTIONS on an API route answers 204 with ``Allow`` listing every method it takes (a CORS
  preflight, when CORS is configured, is answered by CORSMiddleware before it gets here).
- Security headers: no MIME sniffing, no framing by other sites, no full referrer sent to other
  sites, and a Content-Security-Policy that forbids plugins, foreign form targets and a changed
  base URL while leaving scripts and styles as the theme needs them.
"""

from __future__ import annotations

from collections.abc import Iterator

from starlette.datastructures import MutableHeaders
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": "frame-ancestors 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'",
}


class HttpEdges:
    """Pure ASGI middleware; ``routes`` are the app's own (read at each request, so routes
    added after the middleware count)."""

    def __init__(self, app: ASGIApp, routes: list) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=message["headers"])
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        declared = declared_methods(self.routes, scope)
        methods = with_head(declared)
        if methods and scope["method"] == "OPTIONS":
            allow = ", ".join(sorted(methods | {"OPTIONS"}))
            await send_secured(
                {"type": "http.response.start", "status": 204, "headers": [(b"allow", allow.encode())]}
            )
            await send_secured({"type": "http.response.body", "body": b""})
            return
        if scope["method"] == "HEAD" and "GET" in declared and "HEAD" not in declared:
            await self.app({**scope, "method": "GET"}, receive, _without_body(send_secured))
            return
        await self.app(scope, receive, send_secured)


NOT_FOUND_ROUTE = "api-not-found"


def allowed_methods(routes: list, scope: Scope) -> set[str]:
    """The methods this path takes, HEAD included wherever GET is (this middleware answers it)."""
    return with_head(declared_methods(routes, scope))


def with_head(methods: set[str]) -> set[str]:
    return methods | ({"HEAD"} if "GET" in methods else set())


def declared_methods(routes: list, scope: Scope) -> set[str]:
    """The methods the app's own routes declare at this path; empty for the site's files and
    for API paths that do not exist."""
    found: set[str] = set()
    for route in _leaves(routes):
        if isinstance(route, Route) and route.methods and route.name != NOT_FOUND_ROUTE:
            match, _ = route.matches({**scope, "method": "GET"})
            if match is not Match.NONE:
                found |= set(route.methods)
    return found


def _leaves(routes: list) -> Iterator[object]:
    """The routes themselves: FastAPI keeps an included router as one entry (no prefixes are
    used here, so its routes' own paths are the app's)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaves(inner.routes)
        else:
            yield route


def _without_body(send: Send) -> Send:
    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b"", "more_body": message.get("more_body", False)}
        await send(message)

    return send_head
