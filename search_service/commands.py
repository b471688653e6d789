"""What the ``kb`` command asks of the service, through the ``kb.service`` entry points in
pyproject.toml: kb never imports the service, the service plugs into kb's command line."""

from __future__ import annotations

import logging
from typing import Any

from kb.settings import Settings
from kb.workflow import update_index, update_site
from search_service.settings import ServiceSettings


def serve(settings: Settings, announce: Any = print) -> None:
    """Build what is stale, then serve the site and the API (rebuilding on edits)."""
    import uvicorn

    from search_service.limits import server_options
    from search_service.main import create_app

    served = ServiceSettings(**settings.model_dump(), watch=True)
    update_index(served, progress=True)
    update_site(served)
    announce(f"serving http://{served.host}:{served.port}/ (edits are rebuilt as you save)")
    # One line per rebuild in the terminal ("rebuilt in 1.8 s: 1 document changed, ...").
    watcher_log = logging.getLogger("search_service.live_index")
    watcher_log.setLevel(logging.INFO)
    if not watcher_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        watcher_log.addHandler(handler)
        watcher_log.propagate = False
    uvicorn.run(
        create_app(served),
        host=served.host,
        port=served.port,
        log_level="warning",
        **server_options(served),
    )


def bench(settings: Settings, *, quick: bool = False) -> tuple[dict[str, Any], str]:
    """Figures against a real server over HTTP, and their table."""
    from search_service.bench import format_table, run_bench

    figures = run_bench(ServiceSettings(**settings.model_dump()), quick=quick)
    return figures, format_table(figures)
