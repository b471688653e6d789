"""Public request and response shapes of the API (separate from kb's internal types)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from kb.facets import Facet
from kb.search import MAX_DEPTH, MAX_K, MAX_QUERY_CHARS


class SearchParams(BaseModel):
    """The fields every search request has; search_request_model adds one per filter."""

    # A misspelt field ("areas") is an error that names it, not a filter silently ignored.
    model_config = ConfigDict(extra="forbid")

    q: str = Field(description=f"What to look for, 1-{MAX_QUERY_CHARS} characters")
    k: int = Field(10, description=f"Number of results, 1-{MAX_K}")
    group: bool = Field(True, description="One result per document (its best section)")
    offset: int = Field(0, description=f"Results to skip, to page on; offset + k at most {MAX_DEPTH}")

    def filters(self) -> dict[str, list[str]]:
        """The filter fields (everything the base model does not define)."""
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name not in SearchParams.model_fields
        }


def search_request_model(facets: Sequence[Facet]) -> type[SearchParams]:
    """The request model for these filters: one repeatable field per filter, its allowed values
    in the schema. GET reads it from the query string and POST from a JSON body, so the two
    are the same contract by construction."""
    fields: dict[str, Any] = {
        f.param: (
            list[str],
            Field(
                default_factory=list,
                description=f"{f.label}, repeatable (any of)",
                json_schema_extra={"items": {"type": "string", "enum": list(f.values)}},
            ),
        )
        for f in facets
    }
    return create_model("SearchRequest", __base__=SearchParams, **fields)


class SearchHit(BaseModel):
    id: str
    title: str
    url: str
    section: str
    anchor: str
    snippet: str = Field(description="HTML-escaped text; only <mark> is markup")
    score: float
    core_areas: list[str]
    type: str
    evidence: str | None
    summary: str


class SearchResponse(BaseModel):
    query: str
    took_ms: float
    total: int = Field(description="How many documents match (only those are results)")
    results: list[SearchHit]
    facets: dict[str, dict[str, int]]
    query_areas: list[str] = Field(description="Core areas the query is about, to suggest a filter")
    match: Literal["good", "weak", "none"] = Field(
        description='"good" matches, "weak" matches only, or "none" (then results is empty)'
    )
    did_you_mean: str | None = Field(description="The query with its misspellings corrected")
    notice: str | None = Field(description="One sentence for the page about these results")
    offset: int


class Area(BaseModel):
    slug: str
    name: str
    description: str
    count: int


class RelatedDoc(BaseModel):
    id: str
    title: str
    url: str
    summary: str
    score: float
    core_areas: list[str]
    type: str
    evidence: str | None


class RelatedResponse(BaseModel):
    id: str
    results: list[RelatedDoc]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    index_version: str | None = None
    model: str | None = None
    chunks: int | None = None
    documents: int | None = None
    detail: str | None = None


class ErrorResponse(BaseModel):
    detail: str
