"""Bounded cost per request: what one client can make the server read, hold and wait for.

- The request line plus headers: at most ``max_header_bytes`` (431). uvicorn's h11 parser
  enforces the same bound while it reads (``server_options``); the check here holds whichever
  HTTP implementation runs the app.
- The body: at most ``max_body_bytes`` (413). A ``Content-Length`` over the limit is refused
  before a byte of the body is read; a chunked body is read only until it passes the limit.
  So a 10 MB query costs the server 64 KB of reading, not a JSON parse and a validation.
- The API's queue: ``threads`` requests are worked on, ``max_waiting`` more may wait; the next
  one is answered 503 with ``Retry-After`` at once, instead of waiting behind a queue that
  only grows (its client would time out anyway, after holding a connection and a slot).
  The health probes and the site's files are not counted: a busy API is still "up".
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search_service.settings import ServiceSettings

RETRY_AFTER_S = 1


def server_options(settings: ServiceSettings) -> dict[str, Any]:
    """uvicorn's own limits, for every place that starts it (``kb serve``, ServerProcess)."""
    return {
        # h11, because it is the implementation whose header-size limit uvicorn exposes:
        # httptools would accept headers of any length.
        "http": "h11",
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.keep_alive_s,
        # Past this many connections (or running requests) uvicorn answers 503 by itself.
        "limit_concurrency": settings.max_connections,
    }


class RequestLimits:
    """Pure ASGI middleware: refuses before the app (and before the body is read)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int, max_active: int) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_header = max_header_bytes
        self.max_active = max_active
        # Requests run on one event loop: a plain counter needs no lock.
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        head = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        head += sum(len(name) + len(value) + 4 for name, value in headers)
        if head > self.max_header:
            await _refuse(
                send,
                431,
                f"the request line and headers are over {self.max_header} bytes; send less",
            )
            return
        length, chunked = None, False
        for name, value in headers:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is not None:
            if not length.isdigit():
                await _refuse(send, 400, "Content-Length must be a whole number of bytes")
                return
            if int(length) > self.max_body:
                await _refuse(send, 413, self._too_long())
                return
        if scope["path"].startswith("/api/"):
            if self.active >= self.max_active:
                await _refuse(
                    send,
                    503,
                    f"the server is busy ({self.active} searches in progress or waiting); "
                    f"try again in {RETRY_AFTER_S} s",
                    [(b"retry-after", str(RETRY_AFTER_S).encode())],
                )
                return
            self.active += 1
            try:
                await self._with_body(scope, receive, send, chunked and length is None)
            finally:
                self.active -= 1
            return
        await self._with_body(scope, receive, send, chunked and length is None)

    async def _with_body(self, scope: Scope, receive: Receive, send: Send, chunked: bool) -> None:
        """A body of known length is left to the server, which delivers no more than it says;
        a chunked one is read here, up to the limit, then handed on whole."""
        if not chunked:
            await self.app(scope, receive, send)
            return
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > self.max_body:
                await _refuse(send, 413, self._too_long())
                return
            if not message.get("more_body", False):
                break
        replay: list[Message] = [{"type": "http.request", "body": b"".join(parts), "more_body": False}]

        async def receive_again() -> Message:
            # The body once, then the real channel (which reports the disconnect).
            return replay.pop() if replay else await receive()

        await self.app(scope, receive_again, send)

    def _too_long(self) -> str:
        return (
            f"the request body is over {self.max_body} bytes ({self.max_body // 1024} KB); "
            "a search needs far less"
        )


async def _refuse(
    send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The unread rest of the request may still be on its way: this connection is done.
        (b"connection", b"close"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
