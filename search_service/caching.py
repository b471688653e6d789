"""HTTP caching for everything the service sends: the built site and the API.

- Material's fingerprinted assets (``assets/javascripts/bundle.<hash>.min.js``, the stylesheets,
  the search worker) change name whenever they change content, so browsers may keep them for a
  year without asking again (``immutable``).
- Everything else (pages, the site's own kb.css and kb.js, the sitemap, the API) is revalidated on
  every use (``no-cache``): static files carry the ETag and Last-Modified that Starlette gives
  them, and GET responses of the API get an ETag of their body here, so an unchanged answer
  costs a 304 and no body.

Compression is a separate middleware outside this one (see ``main.py``), so ETags are computed
on the uncompressed body and are weak: the same ETag names the gzip and the identity form.
"""

from __future__ import annotations

import hashlib
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
FINGERPRINTED = re.compile(
    r"^/assets/(?:javascripts|stylesheets)/(?:[\w-]+/)*[\w.-]+\.[0-9a-f]{8}\.min\.(?:js|css)$"
)


def cache_control(path: str) -> str:
    """The Cache-Control header for a request path."""
    return IMMUTABLE if FINGERPRINTED.match(path) else REVALIDATE


class HttpCaching:
    """Pure ASGI middleware (no BaseHTTPMiddleware, which would buffer every static file)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = cache_control(scope["path"])
        if scope["method"] in ("GET", "HEAD") and scope["path"].startswith("/api/"):
            await _ApiResponder(self.app, policy)(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=message["headers"])
                headers["Cache-Control"] = policy
                # One ETag names both the gzip and the identity form of a file: weak, as HTTP
                # requires. StaticFiles still answers 304 to it (it drops the W/ it gets back).
                etag = headers.get("etag")
                if etag and not etag.startswith("W/"):
                    headers["ETag"] = "W/" + etag
            await send(message)

        await self.app(scope, receive, send_with_policy)


class _ApiResponder:
    """Buffers one API response (small JSON) to give it an ETag, and answers 304 when the
    client already holds that body."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        held = Headers(scope=scope).get("if-none-match", "")

        async def buffer(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.start = message
                return
            if message["type"] != "http.response.body" or self.start is None:
                await send(message)
                return
            self.chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(self.chunks)
            headers = MutableHeaders(raw=self.start["headers"])
            headers["Cache-Control"] = self.policy
            if self.start["status"] == 200:
                etag = 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                headers["ETag"] = etag
                if etag in (tag.strip() for tag in held.split(",")):
                    kept = [
                        (k, v)
                        for k, v in self.start["headers"]
                        if k.lower() not in (b"content-length", b"content-type")
                    ]
                    await send({"type": "http.response.start", "status": 304, "headers": kept})
                    await send({"type": "http.response.body", "body": b""})
                    return
            await send(self.start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffer)
