"""The vocabulary of the knowledge base, read from one YAML file (``kb/taxonomy.yml``).

mkdocs.yml inherits the same file, so the site, the validator, the index and the API can never
disagree about which core areas, document types, ratings, components and sites exist.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from kb.errors import TaxonomyError

DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.yml")


class Term(BaseModel):
    slug: str
    name: str
    description: str = ""


class DocumentType(Term):
    # Multiplies a document's fused score: landing pages and guides mention every topic in
    # passing, so they should not outrank the brief that treats it.
    search_weight: float = 1.0


class Component(Term):
    abbreviation: str


class Engagement(BaseModel):
    cohort: str
    approach: str


class Site(BaseModel):
    slug: str
    city: str
    state: str
    engagements: list[Engagement]

    @property
    def name(self) -> str:
        return f"{self.city}, {self.state}"


class Taxonomy(BaseModel):
    core_areas: list[Term]
    document_types: list[DocumentType]
    evidence_ratings: list[Term]
    team_approaches: list[Term]
    components: list[Component]
    sites: list[Site]

    model_config = {"frozen": True}

    @cached_property
    def area_slugs(self) -> list[str]:
        return [a.slug for a in self.core_areas]

    @cached_property
    def type_slugs(self) -> list[str]:
        return [t.slug for t in self.document_types]

    @cached_property
    def rating_slugs(self) -> list[str]:
        return [r.slug for r in self.evidence_ratings]

    @cached_property
    def component_slugs(self) -> list[str]:
        return [c.slug for c in self.components]

    @cached_property
    def site_slugs(self) -> list[str]:
        return [s.slug for s in self.sites]

    def area(self, slug: str) -> Term:
        return next(a for a in self.core_areas if a.slug == slug)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read the taxonomy; ``KB_TAXONOMY`` or ``path`` point at another file."""
    path = Path(path or os.environ.get("KB_TAXONOMY") or DEFAULT_TAXONOMY)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = raw["extra"]["taxonomy"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise TaxonomyError(f"{path}: cannot read the taxonomy (extra.taxonomy): {exc}") from exc
    try:
        taxonomy = Taxonomy.model_validate(data)
    except ValidationError as exc:
        raise TaxonomyError(f"{path}: malformed taxonomy: {exc}") from exc
    approaches = {a.slug for a in taxonomy.team_approaches}
    for site in taxonomy.sites:
        for e in site.engagements:
            if e.approach not in approaches:
                raise TaxonomyError(
                    f"{path}: site {site.slug} has team approach {e.approach!r}; "
                    f"allowed: {', '.join(sorted(approaches))}"
                )
    return taxonomy
