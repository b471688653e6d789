"""The app factory: settings in, app out. The model and the index load in the lifespan, off
import, and a watcher swaps in each newly built index version without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from kb.embedding import Embedder
from kb.gaps import QueryLog, query_log_path
from kb.taxonomy import load_taxonomy
from kb.workflow import embedder_for
from search_service.caching import HttpCaching
from search_service.edges import HttpEdges
from search_service.live_index import DocsWatcher, LiveIndex
from search_service.routes import build_router
from search_service.settings import ServiceSettings

log = logging.getLogger(__name__)


def _one_math_thread_per_request() -> None:
    """Requests run in parallel threads; on a small machine each does best with one math
    thread, rather than every request's model and FAISS calls fighting over every core
    (measured with kb bench: +30% throughput and lower latency on 2 cores). The ONNX encoder
    is built with one thread; torch, when it is the fallback, is told here."""
    import faiss

    faiss.omp_set_num_threads(1)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def create_app(settings: ServiceSettings | None = None, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    taxonomy = load_taxonomy(settings.taxonomy)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _one_math_thread_per_request()
        # Sync routes run in AnyIO's worker threads; this many at once, the rest wait.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        live = LiveIndex(settings, embedder or embedder_for(settings), taxonomy)
        app.state.live_index = live
        tasks = [asyncio.create_task(live.watch(settings.reload_interval))]
        if settings.watch:
            docs = DocsWatcher(live)
            tasks.append(asyncio.create_task(docs.watch(settings.reload_interval)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    query_log = QueryLog(query_log_path(settings.index_dir)) if settings.query_log else None
    app = FastAPI(
        title="PSP Community of Practice knowledge base",
        summary="Hybrid semantic search over practice briefs and program pages.",
        version="1",
        lifespan=lifespan,
    )
    app.state.query_log = query_log
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )
    # The last added runs first: compression wraps caching, which sees uncompressed bodies.
    # Level 6 compresses HTML, CSS, JS and JSON to about a fifth, at a third of level 9's cost.
    app.add_middleware(HttpCaching)
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    # Outside compression: HEAD and OPTIONS on the API's routes, security headers on everything.
    app.add_middleware(HttpEdges, routes=app.routes)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable sentence per problem, never the raw input echoed back at length.
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"] if p not in ("query", "body"))
            parts.append(f"{where}: {err['msg']}" if where else err["msg"])
        return JSONResponse({"detail": "; ".join(parts)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": "internal error; the incident is logged"}, status_code=500)

    app.include_router(build_router(taxonomy))
    # The built site, last so that the API routes win; html=True serves index.html for folders.
    app.mount("/", StaticFiles(directory=settings.site_dir, html=True, check_dir=False), name="site")
    return app
