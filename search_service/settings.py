"""The service's own settings: kb's settings plus what only a running server needs."""

from __future__ import annotations

from pydantic import Field

from kb.settings import Settings


class ServiceSettings(Settings):
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API (default: same origin)"
    )
    watch: bool = Field(
        False, description="Rebuild the index and site when the docs change (kb serve sets it)"
    )
    reload_interval: float = Field(2.0, ge=0.1, description="Seconds between checks for a newly built index")
    # 4: measured with 16 clients on 2 cores, 2 / 4 / 8 / 40 gave 138 / 143 / 121 / 108 queries/s,
    # p99 135 / 150 / 195 / 251 ms: more threads only fight over the GIL and the cores.
    threads: int = Field(
        4, ge=1, le=256, description="Requests the server works on at once; the rest wait their turn"
    )
    # Bounded cost per request (search_service/limits.py). The largest legal search body is
    # well under 2 KB (q at most a few hundred characters plus the filters); 64 KB leaves room.
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest request body; a longer one is refused with 413"
    )
    max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="Largest request line plus headers; more is refused with 431"
    )
    max_waiting: int = Field(
        64,
        ge=0,
        description="API requests that may wait for one of the `threads`; more are answered 503 "
        "with Retry-After instead of queueing without end",
    )
    max_connections: int = Field(
        1024, ge=1, description="Open connections the server accepts; more are answered 503"
    )
    keep_alive_s: int = Field(5, ge=1, description="Seconds an idle keep-alive connection stays open")
