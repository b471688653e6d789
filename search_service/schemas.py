"""Public request and response shapes of the API (separate from kb's internal types)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SearchRequest(BaseModel):
    # A misspelt field ("areas") is an error that names it, not a filter silently ignored.
    model_config = ConfigDict(extra="forbid")

    q: str = Field(description="What to look for, 1-500 characters")
    k: int = Field(10, description="Number of results, 1-50")
    area: list[str] = Field(default_factory=list, description="Core area slugs (any of)")
    type: list[str] = Field(default_factory=list, description="Document types (any of)")
    evidence: list[str] = Field(default_factory=list, description="Evidence ratings (any of)")
    site: list[str] = Field(default_factory=list, description="Site slugs (any of)")
    component: list[str] = Field(default_factory=list, description="DOJ components (any of)")
    group: bool = Field(True, description="One result per document (its best section)")
    offset: int = Field(0, description="Results to skip, to page on; offset + k at most 100")


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
        description='"good" matches, "weak" matches only, or "none" (then results is empty)')
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
