"""The vocabulary of the knowledge base, read from one YAML file (``kb/taxonomy.yml``).

mkdocs.yml inherits the same file, so the site, the validator, the index and the API can never
disagree about which core areas, document types, ratings, components and sites exist.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ValidationError

from kb.errors import TaxonomyError

DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.yml")


class Term(BaseModel):
    slug: str
    name: str
    description: str = ""


class DocumentType(Term):
    plural: str = ""
    # Multiplies a document's fused score: landing pages and guides mention every topic in
    # passing, so they should not outrank the brief that treats it.
    search_weight: float = 1.0
    # Contributed types (briefs and peer-learning resources) have a folder and a `kb new` kind;
    # the program's own pages have neither.
    folder: str | None = None
    kind: str | None = None
    peer_learning: bool = False
    query_cues: list[str] = []
    requires: list[str] = []
    min_sources: int = 0
    # Every source must carry a URL or DOI (structured sources); older types may still use strings.
    linked_sources: bool = False
    # Required `##` sections, in order; other sections may stand between them.
    sections: list[str] = []


class StartHere(BaseModel):
    """The rule behind a role's picks on the home page (rendered by the site's templates)."""

    label: str = ""
    areas: list[str]
    topics: list[str] = []


class Role(Term):
    start_here: StartHere | None = None


class Rating(Term):
    evidence_first: bool = False


class EvidenceIntent(BaseModel):
    cues: list[str]
    with_area: list[str]


class Component(Term):
    abbreviation: str


class Engagement(BaseModel):
    cohort: str
    approach: str | None = None  # None where the source names the site but not its approach
    source: str  # a slug of site_sources


class SiteSource(BaseModel):
    slug: str
    title: str
    venue: str
    year: int
    url: str


class Site(BaseModel):
    slug: str
    city: str
    state: str
    engagements: list[Engagement]

    @property
    def name(self) -> str:
        return f"{self.city}, {self.state}"


class Filter(BaseModel):
    """One search filter as the taxonomy declares it (see ``filters`` in taxonomy.yml)."""

    param: str
    field: str
    vocabulary: str
    label: str
    facet: bool = False
    control: Literal["chips", "select", "none"] = "none"


class Taxonomy(BaseModel):
    core_areas: list[Term]
    document_types: list[DocumentType]
    evidence_ratings: list[Rating]
    evidence_intent: EvidenceIntent
    team_approaches: list[Term]
    components: list[Component]
    roles: list[Role]
    exchange_formats: list[Term]
    psp_timings: list[Term]
    site_sources: list[SiteSource]
    sites: list[Site]
    filters: list[Filter] = []

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

    @cached_property
    def role_slugs(self) -> list[str]:
        return [r.slug for r in self.roles]

    @cached_property
    def kinds(self) -> dict[str, DocumentType]:
        """`kb new` kind -> its document type."""
        return {t.kind: t for t in self.document_types if t.kind}

    def vocabulary(self, name: str) -> list[Term] | list[Site]:
        """The taxonomy list called ``name`` (each entry has a slug and a name)."""
        value = getattr(self, name, None)
        if name not in type(self).model_fields or not isinstance(value, list):
            raise AttributeError(name)
        return value

    def area(self, slug: str) -> Term:
        return next(a for a in self.core_areas if a.slug == slug)

    def doc_type(self, slug: str) -> DocumentType | None:
        return next((t for t in self.document_types if t.slug == slug), None)


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
    for f in taxonomy.filters:
        try:
            taxonomy.vocabulary(f.vocabulary)
        except AttributeError:
            raise TaxonomyError(
                f"{path}: filter {f.param!r} names vocabulary {f.vocabulary!r}, "
                "which is not a list in the taxonomy"
            ) from None
    if len({f.param for f in taxonomy.filters}) != len(taxonomy.filters):
        raise TaxonomyError(f"{path}: two filters share a param; each needs its own")
    for role in taxonomy.roles:
        unknown = [
            a for a in (role.start_here.areas if role.start_here else []) if a not in taxonomy.area_slugs
        ]
        if unknown:
            raise TaxonomyError(
                f"{path}: role {role.slug} starts from unknown core area(s) "
                f"{', '.join(unknown)}; allowed: {', '.join(taxonomy.area_slugs)}"
            )
    approaches = {a.slug for a in taxonomy.team_approaches}
    sources = {s.slug for s in taxonomy.site_sources}
    for site in taxonomy.sites:
        for e in site.engagements:
            if e.source not in sources:
                raise TaxonomyError(
                    f"{path}: site {site.slug} cites source {e.source!r}; "
                    f"allowed: {', '.join(sorted(sources))}"
                )
            if e.approach is not None and e.approach not in approaches:
                raise TaxonomyError(
                    f"{path}: site {site.slug} has team approach {e.approach!r}; "
                    f"allowed: {', '.join(sorted(approaches))}"
                )
    return taxonomy
