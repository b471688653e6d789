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
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.embedding import Embedder
from kb.gaps import QueryLog, query_log_path
from kb.taxonomy import load_taxonomy
from kb.workflow import embedder_for
from search_service.caching import HttpCaching
from search_service.edges import HttpEdges
from search_service.limits import RequestLimits
from search_service.live_index import DocsWatcher, LiveIndex
from search_service.routes import DOCS_ASSETS, SWAGGER_UI_FILES, UNDECODABLE_BODY, build_router
from search_service.schemas import refusal
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
            # An embedder object given to the app cannot be handed to a child process.
            docs = DocsWatcher(live, in_process=embedder is not None)
            # Edits are looked for twice a second at least: an edit is searchable in seconds.
            tasks.append(asyncio.create_task(docs.watch(min(settings.reload_interval, 0.5))))
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
        # /docs is served from installed files (routes.api_docs), not FastAPI's CDN page.
        docs_url=None,
        redoc_url=None,
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
    # Limits before any of the app's work (and inside HttpEdges, so refusals carry its headers).
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        max_active=settings.threads + settings.max_waiting,
    )
    # Outside compression: HEAD and OPTIONS on the API's routes, security headers on everything.
    app.add_middleware(HttpEdges, routes=app.routes)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable sentence per problem, never the raw input echoed back at length.
        detail = "; ".join(dict.fromkeys(refusal(err) for err in exc.errors()))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers a JSON body it cannot decode (bytes that are not UTF-8, a charset it
        # does not read) with a 400 whose words do not say what to send instead.
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            exc = StarletteHTTPException(400, detail=UNDECODABLE_BODY, headers=exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": "internal error; the incident is logged"}, status_code=500)

    app.include_router(build_router(taxonomy))
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI_FILES), name="docs-assets")
    # The built site, last so that the API routes win; html=True serves index.html for folders.
    app.mount("/", StaticFiles(directory=settings.site_dir, html=True, check_dir=False), name="site")
    return app
