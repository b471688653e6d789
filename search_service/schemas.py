"""Public request and response shapes of the API (separate from kb's internal types)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from kb.facets import Facet
from kb.search import MAX_DEPTH, MAX_K, MAX_QUERY_CHARS

# The numeric limits, enforced by the models below and published in the OpenAPI schema from
# the same Field constraints, so the documented contract and the refusals cannot drift apart.
# offset stops one short of MAX_DEPTH because k is at least 1; offset + k <= MAX_DEPTH is the
# one rule a JSON Schema cannot state (it spans two fields): kb checks it, and the 422 says so.
BOUNDS: dict[str, tuple[int, int]] = {"k": (1, MAX_K), "offset": (0, MAX_DEPTH - 1)}


class SearchParams(BaseModel):
    """The fields every search request has; search_request_model adds one per filter."""

    # A misspelt field ("areas") is an error that names it, not a filter silently ignored.
    model_config = ConfigDict(extra="forbid")

    # minLength is published, not enforced here: kb refuses an empty q in its own words, and
    # also a q of only spaces or control characters, which no JSON Schema keyword can express.
    q: str = Field(
        max_length=MAX_QUERY_CHARS,
        json_schema_extra={"minLength": 1},
        description=f"What to look for, 1-{MAX_QUERY_CHARS} characters. A query of only spaces, "
        "control or format characters is refused (422) as empty.",
    )
    k: int = Field(10, ge=BOUNDS["k"][0], le=BOUNDS["k"][1], description=f"Number of results, 1-{MAX_K}")
    group: bool = Field(True, description="One result per document (its best section)")
    offset: int = Field(
        0,
        ge=BOUNDS["offset"][0],
        le=BOUNDS["offset"][1],
        description=f"Results to skip, to page on; offset + k at most {MAX_DEPTH} (else 422)",
    )

    def filters(self) -> dict[str, list[str]]:
        """The filter fields (everything the base model does not define)."""
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name not in SearchParams.model_fields
        }


class _JsonSearchParams(SearchParams):
    """JSON has real types: `"k": "5"` or `"group": 1` is a client's bug worth naming, not
    something to guess at. A query string has only text, so the GET model stays lax and parses
    "5"; both are built from the same fields, so the contract is still one. Not pydantic's
    strict mode: JSON Schema counts 5.0 as an integer, and the schema is the contract."""

    @field_validator("k", "offset", mode="before")
    @classmethod
    def _json_integer(cls, value: object) -> object:
        if isinstance(value, (bool, str)):
            raise PydanticCustomError("int_type", "Input should be a valid integer")
        return value

    @field_validator("group", mode="before")
    @classmethod
    def _json_boolean(cls, value: object) -> object:
        if not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Input should be a valid boolean")
        return value


def search_request_model(facets: Sequence[Facet], *, json_body: bool = False) -> type[SearchParams]:
    """The request model for these filters: one repeatable field per filter, its allowed values
    in the schema. GET reads it from the query string and POST (``json_body``: JSON's types)
    from a JSON body, so the two are the same contract by construction."""
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
    if json_body:
        return create_model("SearchRequest", __base__=_JsonSearchParams, **fields)
    return create_model("SearchQuery", __base__=SearchParams, **fields)


def refusal(err: dict[str, Any]) -> str:
    """One readable sentence for one of pydantic's validation errors, in the words kb uses for
    the same refusal (``k must be between 1 and 50, got 0``), never the raw input at length."""
    loc = [str(p) for p in err["loc"] if p not in ("query", "body", "path")]
    name = loc[-1] if loc else ""
    kind = err["type"]
    if kind == "json_invalid":
        return 'the body is not valid JSON; send an object such as {"q": "gun violence strategies"}'
    if not loc and kind in ("missing", "model_attributes_type", "dict_type", "model_type"):
        return 'the body must be a JSON object such as {"q": "gun violence strategies"}'
    if name == "q" and kind == "string_too_long":
        return f"q is {len(err['input'])} characters; at most {MAX_QUERY_CHARS} are allowed"
    if name in BOUNDS and kind in ("greater_than_equal", "less_than_equal"):
        low, high = BOUNDS[name]
        return f"{name} must be between {low} and {high}, got {err['input']}"
    where = ".".join(loc)
    if kind in _JSON_TYPES and where:
        # Strict JSON fields: say what came and what is wanted, e.g. `k: must be an integer, got "5"`.
        got = json.dumps(err["input"], default=str)
        return f"{where}: must be {_JSON_TYPES[kind]}, got {got if len(got) <= 40 else got[:37] + '...'}"
    return f"{where}: {err['msg']}" if where else err["msg"]


_JSON_TYPES = {
    "int_type": "an integer",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "an array",
}


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
