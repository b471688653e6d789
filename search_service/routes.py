"""The API's routes. kb's errors become HTTP errors here and nowhere else."""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Query as Param
from fastapi.responses import JSONResponse

from kb.errors import InvalidQuery, UnknownDocument
from kb.gaps import QueryLog
from kb.search import MAX_DEPTH, MAX_K, MAX_QUERY_CHARS, Query
from search_service.deps import LiveIndexDep, QueryLogDep, SearcherDep
from search_service.schemas import (
    Area,
    ErrorResponse,
    Health,
    Readiness,
    RelatedResponse,
    SearchRequest,
    SearchResponse,
)

log = logging.getLogger(__name__)
router = APIRouter()
_ERRORS = {422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}


def _search(searcher, req: SearchRequest, query_log: QueryLog | None) -> SearchResponse:
    started = time.perf_counter()
    try:
        result = searcher.search(Query(
            q=req.q, k=req.k, areas=tuple(req.area), types=tuple(req.type),
            evidence=tuple(req.evidence), sites=tuple(req.site),
            components=tuple(req.component), group=req.group, offset=req.offset))
    except InvalidQuery as exc:
        raise HTTPException(422, detail=str(exc)) from None
    took = (time.perf_counter() - started) * 1000
    if query_log is not None and result.match != "good" and req.offset == 0:
        try:
            query_log.record(result.query, result.match, result.query_areas)
        except sqlite3.Error as exc:  # the gap log must never cost a reader their results
            log.warning("could not record a gap query: %s", exc)
    return SearchResponse(
        query=result.query, took_ms=round(took, 2), total=result.total,
        results=[{k: v for k, v in asdict(h).items() if k != "section_path"}
                 for h in result.results],
        facets=result.facets, query_areas=result.query_areas, match=result.match,
        did_you_mean=result.did_you_mean, notice=result.notice, offset=req.offset)


@router.get("/api/search", response_model=SearchResponse, responses=_ERRORS,
            summary="Hybrid semantic search")
def search_get(
    searcher: SearcherDep,
    query_log: QueryLogDep,
    q: Annotated[str, Param(description=f"1-{MAX_QUERY_CHARS} characters")],
    k: Annotated[int, Param(description=f"1-{MAX_K}")] = 10,
    area: Annotated[list[str], Param(description="Core area slug, repeatable (any of)")] = [],  # noqa: B006
    type: Annotated[list[str], Param(description="Document type, repeatable")] = [],  # noqa: B006
    evidence: Annotated[list[str], Param(description="Evidence rating, repeatable")] = [],  # noqa: B006
    site: Annotated[list[str], Param(description="Site slug, repeatable")] = [],  # noqa: B006
    component: Annotated[list[str], Param(description="DOJ component, repeatable")] = [],  # noqa: B006
    group: bool = True,
    offset: Annotated[int, Param(description=f"Results to skip; offset + k at most {MAX_DEPTH}")] = 0,
) -> SearchResponse:
    return _search(searcher, SearchRequest(q=q, k=k, area=area, type=type, evidence=evidence,
                                           site=site, component=component, group=group,
                                           offset=offset), query_log)


@router.post("/api/search", response_model=SearchResponse, responses=_ERRORS,
             summary="Hybrid semantic search (JSON body)")
def search_post(searcher: SearcherDep, query_log: QueryLogDep, req: SearchRequest
                ) -> SearchResponse:
    return _search(searcher, req, query_log)


@router.get("/api/areas", response_model=list[Area], responses=_ERRORS,
            summary="The core areas and how many documents carry each")
def areas(searcher: SearcherDep) -> list[Area]:
    counts = searcher.area_counts()
    return [Area(slug=a.slug, name=a.name, description=a.description, count=counts[a.slug])
            for a in searcher.taxonomy.core_areas]


@router.get("/api/docs/{doc_id:path}/related", response_model=RelatedResponse,
            responses={404: {"model": ErrorResponse}, **_ERRORS},
            summary="Documents most similar to this one")
def related(
    searcher: SearcherDep,
    doc_id: str,
    k: Annotated[int, Param(description=f"1-{MAX_K}")] = 5,
    type: Annotated[list[str], Param(description="Only these document types")] = [],  # noqa: B006
) -> RelatedResponse:
    try:
        found = searcher.related(doc_id, k=k, types=tuple(type))
    except UnknownDocument as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except InvalidQuery as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return RelatedResponse(id=doc_id, results=[asdict(r) for r in found])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}},
            summary="The index is loaded")
def readyz(live: LiveIndexDep):
    s = live.searcher
    if s is None:
        body = Readiness(status="loading", detail=live.error)
        return JSONResponse(body.model_dump(), status_code=503)
    return Readiness(status="ready", index_version=s.data.version,
                     model=s.data.manifest["model"]["name"], chunks=len(s.data.chunks),
                     documents=len(s.doc_ids), detail=live.error)
