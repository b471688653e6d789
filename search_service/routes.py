"""The API's routes. kb's errors become HTTP errors here and nowhere else."""

# No `from __future__ import annotations`: the search routes' request model is built at run
# time from the taxonomy, and FastAPI must see it as a class, not as a name to look up.

import logging
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import fastapi_offline
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Query as Param
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from kb.errors import InvalidQuery, UnknownDocument
from kb.facets import facet_schema
from kb.gaps import QueryLog
from kb.search import MAX_K, Query, Searcher
from kb.taxonomy import Taxonomy
from search_service.deps import NOT_JSON, LiveIndexDep, QueryLogDep, SearcherDep, require_json
from search_service.edges import NOT_FOUND_ROUTE, allowed_methods
from search_service.schemas import (
    BOUNDS,
    Area,
    ErrorResponse,
    Health,
    Readiness,
    RelatedResponse,
    SearchHit,
    SearchParams,
    SearchResponse,
    search_request_model,
)

log = logging.getLogger(__name__)
_HIT_FIELDS = tuple(SearchHit.model_fields)
# Every refusal a route can give, in its OpenAPI `responses`: a client (and schemathesis's
# status_code_conformance check) can rely on no other status coming back.
UNDECODABLE_BODY = "the body could not be decoded: send UTF-8 JSON with Content-Type: application/json"
_REFUSED = {"model": ErrorResponse, "description": "Bad input; the detail says what is allowed"}
_LOADING = {"model": ErrorResponse, "description": "The index is still loading, or the server is busy"}
_ERRORS: dict[int | str, dict[str, Any]] = {422: _REFUSED, 503: _LOADING}
_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": UNDECODABLE_BODY},
    413: {"model": ErrorResponse, "description": "The body is larger than the server takes"},
    415: {"model": ErrorResponse, "description": NOT_JSON},
    **_ERRORS,
}


def _search(searcher: Searcher, req: SearchParams, query_log: QueryLog | None) -> Response:
    """The search, as JSON serialized by pydantic itself: FastAPI would validate the model it
    was just given all over again (a third of a request's time, measured with kb bench)."""
    started = time.perf_counter()
    try:
        result = searcher.search(
            Query(q=req.q, k=req.k, filters=req.filters(), group=req.group, offset=req.offset)
        )
    except InvalidQuery as exc:
        raise HTTPException(422, detail=str(exc)) from None
    took = (time.perf_counter() - started) * 1000
    if query_log is not None and result.match != "good" and req.offset == 0:
        try:
            query_log.record(result.query, result.match, result.query_areas)
        except sqlite3.Error as exc:  # the gap log must never cost a reader their results
            log.warning("could not record a gap query: %s", exc)
    body = SearchResponse(
        query=result.query,
        took_ms=round(took, 2),
        total=result.total,
        results=[SearchHit(**{f: getattr(h, f) for f in _HIT_FIELDS}) for h in result.results],
        facets=result.facets,
        query_areas=result.query_areas,
        match=result.match,
        did_you_mean=result.did_you_mean,
        notice=result.notice,
        offset=req.offset,
    )
    return Response(body.model_dump_json(), media_type="application/json")


def build_router(taxonomy: Taxonomy) -> APIRouter:
    """The API's routes; the search request model comes from the taxonomy's filters."""
    router = APIRouter()
    facets = facet_schema(taxonomy)
    SearchQuery = search_request_model(facets)  # noqa: N806
    SearchRequest = search_request_model(facets, json_body=True)  # noqa: N806

    @router.get(
        "/api/search", response_model=SearchResponse, responses=_ERRORS, summary="Hybrid semantic search"
    )
    def search_get(
        searcher: SearcherDep,
        query_log: QueryLogDep,
        req: Annotated[SearchQuery, Param()],  # type: ignore[valid-type]
    ) -> Response:
        return _search(searcher, req, query_log)

    @router.post(
        "/api/search",
        response_model=SearchResponse,
        responses=_BODY_ERRORS,
        summary="Hybrid semantic search (JSON body)",
        # Before the body is read as the model: a form or plain text is a 415 that says to send
        # JSON, not a 422 about a missing field.
        dependencies=[Depends(require_json)],
    )
    def search_post(searcher: SearcherDep, query_log: QueryLogDep, req: SearchRequest) -> Response:  # type: ignore[valid-type]
        return _search(searcher, req, query_log)

    # The document types are the taxonomy's, so this route is built here too, its enum with it.
    types = {"items": {"type": "string", "enum": list(taxonomy.type_slugs)}}

    @router.get(
        "/api/docs/{doc_id:path}/related",
        response_model=RelatedResponse,
        responses={404: {"model": ErrorResponse, "description": "No document with this id"}, **_ERRORS},
        summary="Documents most similar to this one",
    )
    def related(
        searcher: SearcherDep,
        doc_id: str,
        k: Annotated[int, Param(ge=BOUNDS["k"][0], le=BOUNDS["k"][1], description=f"1-{MAX_K}")] = 5,
        type: Annotated[  # noqa: A002 - the query parameter's public name
            list[str], Param(description="Only these document types", json_schema_extra=types)
        ] = [],  # noqa: B006
    ) -> RelatedResponse:
        try:
            found = searcher.related(doc_id, k=k, types=tuple(type))
        except UnknownDocument as exc:
            raise HTTPException(404, detail=str(exc)) from None
        except InvalidQuery as exc:
            raise HTTPException(422, detail=str(exc)) from None
        return RelatedResponse(id=doc_id, results=[asdict(r) for r in found])

    router.include_router(_static_routes)

    @router.api_route(
        "/api/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
        name=NOT_FOUND_ROUTE,
    )
    def api_not_found(request: Request) -> JSONResponse:
        """Under /api/ the answer is JSON, never the site's HTML 404: a wrong method on a real
        route is a 405 that lists the right ones; any other path a 404 that lists the API."""
        methods = allowed_methods(request.app.routes, request.scope)
        if methods:
            allow = ", ".join(sorted(methods | {"OPTIONS"}))
            return JSONResponse(
                {"detail": f"{request.method} is not allowed here; use {allow}"},
                status_code=405,
                headers={"Allow": allow},
            )
        return JSONResponse(
            {
                "detail": f"no API endpoint at {request.url.path}; the API has "
                "/api/search, /api/areas and /api/docs/{id}/related"
            },
            status_code=404,
        )

    return router


_static_routes = APIRouter()

# Swagger UI's files as the fastapi-offline package installs them (a current Swagger UI 5, which
# reads OpenAPI 3.1): /docs needs no CDN, so it works offline and runs no third party's script.
SWAGGER_UI_FILES = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS = "/docs/assets"


@_static_routes.get("/docs", include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - API",
        swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
    )


@_static_routes.get(
    "/api/areas",
    response_model=list[Area],
    responses=_ERRORS,
    summary="The core areas and how many documents carry each",
)
def areas(searcher: SearcherDep) -> list[Area]:
    counts = searcher.area_counts()
    return [
        Area(slug=a.slug, name=a.name, description=a.description, count=counts[a.slug])
        for a in searcher.taxonomy.core_areas
    ]


@_static_routes.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@_static_routes.get(
    "/readyz", response_model=Readiness, responses={503: {"model": Readiness}}, summary="The index is loaded"
)
def readyz(live: LiveIndexDep):
    """ "ready"; "degraded" (still 200) while an older good version serves and something needs
    attention, said in `detail`; "loading" (503) until a version is served. The detail names
    folders relative to the index, never by their place on the server's disk."""
    s = live.searcher
    detail = _without_paths(live.error, live.settings.index_dir)
    if s is None:
        body = Readiness(status="loading", detail=detail)
        return JSONResponse(body.model_dump(), status_code=503)
    return Readiness(
        status="degraded" if detail else "ready",
        index_version=s.data.version,
        model=s.data.manifest.model.name,
        chunks=len(s.data.chunks),
        documents=len(s.doc_ids),
        detail=detail,
    )


def _without_paths(detail: str | None, index_dir: Path) -> str | None:
    if detail is None:
        return None
    for form in {str(index_dir.resolve()), str(index_dir)}:
        detail = detail.replace(form, "<index>")
    return detail
