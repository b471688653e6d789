"""The search filters, derived once from the taxonomy's ``filters`` list.

Everything that knows about filters reads this schema: query validation and the masks and facet
counts in kb.search, the values each chunk carries (kb.chunking), the API's request model
(search_service.schemas) and the search page's controls (the template reads the same taxonomy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kb.taxonomy import Taxonomy


@dataclass(frozen=True)
class Facet:
    param: str  # API parameter and Query.filters key: "area"
    field: str  # dotted front-matter path it reads: "core_areas", "evidence.rating"
    label: str
    values: tuple[str, ...]  # the allowed slugs, in the taxonomy's order
    counted: bool  # whether responses count matching documents per value

    @property
    def key(self) -> str:
        """The response's facet key: the field's first part ("core_areas", "type", "evidence")."""
        return self.field.split(".")[0]

    def read(self, doc: Any) -> list[str]:
        """This filter's values on a document (a list, possibly empty): the field is a property
        of the document (``site_slugs``) or a dotted path in its front matter."""
        parts = self.field.split(".")
        value = doc if hasattr(doc, parts[0]) else doc.meta
        for part in parts:
            value = getattr(value, part, None)
            if value is None:
                return []
        if isinstance(value, str):
            return [value]
        return [v for v in value if isinstance(v, str)]


def facet_schema(taxonomy: Taxonomy) -> tuple[Facet, ...]:
    return tuple(
        Facet(
            param=f.param,
            field=f.field,
            label=f.label,
            counted=f.facet,
            values=tuple(v.slug for v in taxonomy.vocabulary(f.vocabulary)),
        )
        for f in taxonomy.filters
    )


def schema_signature(facets: tuple[Facet, ...]) -> list[str]:
    """What an index's chunks were built to carry; another schema means re-chunking."""
    return [f"{f.param}={f.field}" for f in facets]
