"""Dependencies: how routes reach the live index (tests override these, not globals)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from kb.gaps import QueryLog
from kb.search import Searcher
from search_service.live_index import LiveIndex


def get_live_index(request: Request) -> LiveIndex:
    return request.app.state.live_index


def get_searcher(live: Annotated[LiveIndex, Depends(get_live_index)]) -> Searcher:
    searcher = live.searcher
    if searcher is None:
        raise HTTPException(503, detail="the search index is still loading; try again shortly")
    return searcher


NOT_JSON = "send the search as a JSON object with Content-Type: application/json"


def require_json(request: Request) -> None:
    """415 for a body that is not declared JSON: FastAPI would read a form or plain text as
    no body at all and answer that `q` is missing, which sends the client the wrong way."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    # The same media types FastAPI itself reads as JSON.
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise HTTPException(415, detail=NOT_JSON)


def get_query_log(request: Request) -> QueryLog | None:
    return request.app.state.query_log


LiveIndexDep = Annotated[LiveIndex, Depends(get_live_index)]
SearcherDep = Annotated[Searcher, Depends(get_searcher)]
QueryLogDep = Annotated[QueryLog | None, Depends(get_query_log)]
