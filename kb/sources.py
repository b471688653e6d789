"""Sources: a cited work as data, the rules a document's sources follow, and the works cited
across the knowledge base.

A source is structured (authors, year, title, venue, and a ``url`` or a ``doi`` a reader can
open) or, in the older form that is being retired, one plain string. ``check_sources`` reports
what is wrong with a document's sources; what is merely not finished yet (a plain string, a
source without a link, a rated brief whose evidence box cannot link its basis) is a warning,
which ``kb check --strict`` turns into an error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kb.errors import Severity

if TYPE_CHECKING:
    from kb.documents import Document
    from kb.taxonomy import DocumentType

# A finding about one document: (file line, message, severity).
Finding = tuple[int, str, Severity]

# The form of a link, checked without the network: a full web address, and a DOI as the DOI
# Handbook writes it (the resolver is added when the link is rendered). The templates print
# both inside href="...", so a quote or angle bracket, which could end the attribute and
# smuggle markup into the page, is refused (a link that needs one writes it %-encoded).
URL = re.compile(r"^https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?(?:[/?#][^\s\"<>\\]*)?$")
DOI = re.compile(r"^10\.\d{4,9}/[^\s\"<>\\]+$")
DOI_RESOLVER = "https://doi.org/"
_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/(10\.\d{4,9}/\S+)$", re.IGNORECASE)
# Ratings that rest on no review, so a brief rated this way has no basis to link.
UNRATED = "not-rated"


class Source(BaseModel):
    """A cited work as data. At least a URL or a DOI where the type asks for linked sources."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1)
    authors: str | None = None
    venue: str | None = None
    year: int | None = None
    url: str | None = None
    doi: str | None = None

    @property
    def link(self) -> str | None:
        """Where a reader opens the work: its URL, else its DOI at the resolver (the `sources`
        macro in docs/overrides/partials/kb-macros.html renders the same choice)."""
        if self.url:
            return self.url
        return DOI_RESOLVER + self.doi if self.doi else None

    @property
    def links(self) -> list[str]:
        """Every address that names this work: its URL and its DOI's resolver URL."""
        out = [self.url] if self.url else []
        return out + ([DOI_RESOLVER + self.doi] if self.doi else [])


def parse_source(raw: str | dict) -> Source | str:
    return raw if isinstance(raw, str) else Source.model_validate(raw)


def work_key(source: Source | str) -> str:
    """One key per cited work across documents: its DOI (however written), else its URL, else
    its normalised title (or the whole text of a plain-string source)."""
    if isinstance(source, str):
        return "text:" + _normalise(source)
    return _link_key(source.doi, doi=True) or _link_key(source.url) or "title:" + _normalise(source.title)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


# ---- one document's sources -----------------------------------------------------------------


def check_sources(doc: Document, dtype: DocumentType | None) -> list[Finding]:
    """Every problem with a document's sources and its evidence link, at its own line."""
    out: list[Finding] = []
    m = doc.meta
    linked = dtype is not None and dtype.linked_sources
    if dtype is not None and len(m.sources) < dtype.min_sources:
        out.append(
            (
                doc.line_of("sources"),
                f"a {m.type} needs 'sources': at least {dtype.min_sources} public "
                f"source{'s' if dtype.min_sources > 1 else ''} it cites (author, year, title, "
                "publisher or journal" + (", and a url or doi)" if linked else ")"),
                "error",
            )
        )
    seen: dict[str, int] = {}  # a work's link key -> the source number that first gave it
    parsed: list[Source] = []
    for i, raw in enumerate(m.sources):
        line = doc.line_of("sources", i)
        if isinstance(raw, str):
            out.append(
                (
                    line,
                    "this source needs a link: write it as fields (authors, year, "
                    "title, venue) with a 'url' or 'doi' so readers can open it",
                    "error" if linked else "warning",
                )
            )
            continue
        try:
            src = Source.model_validate(raw)
        except ValidationError as exc:
            out += [
                (doc.line_of("sources", i, str(err["loc"][0])), _field_message(err), "error")
                for err in exc.errors()
            ]
            continue
        parsed.append(src)
        if not (src.url or src.doi):
            out.append(
                (
                    line,
                    "this source needs a 'url' or a 'doi' so readers can open it",
                    "error" if linked else "warning",
                )
            )
        if src.url is not None and not URL.match(src.url):
            out.append(
                (
                    doc.line_of("sources", i, "url"),
                    f"'url' {src.url!r} is not a web address; write it in full, starting with https://",
                    "error",
                )
            )
        if src.doi is not None and not DOI.match(src.doi):
            out.append(
                (
                    doc.line_of("sources", i, "doi"),
                    f"'doi' {src.doi!r} is not a DOI; write it as 10.xxxx/suffix, without https://doi.org/",
                    "error",
                )
            )
        for kind, key in (("url", _link_key(src.url)), ("doi", _link_key(src.doi, doi=True))):
            if key is None:
                continue
            if key in seen:
                out.append(
                    (
                        doc.line_of("sources", i, kind),
                        f"the same {kind} is cited twice (also source {seen[key] + 1}); cite each work once",
                        "error",
                    )
                )
            seen.setdefault(key, i)
    out += _check_evidence_link(doc, parsed)
    return out


def _link_key(value: str | None, *, doi: bool = False) -> str | None:
    """A URL as written, except that a DOI, bare or at a resolver, is one key in any case
    (DOIs are case-insensitive), so a work cited once by DOI and once by its doi.org URL is
    caught as cited twice."""
    if not value:
        return None
    if doi:
        return "doi:" + value.casefold()
    m = _DOI_URL.match(value)
    return "doi:" + m.group(1).casefold() if m else value


def _check_evidence_link(doc: Document, sources: list[Source]) -> list[Finding]:
    """The evidence box links its basis: one of the document's own sources, so the reader
    finds the same work in the list below it."""
    evidence = doc.meta.evidence
    if evidence is None:
        return []
    if evidence.url is None:
        if doc.type == "practice-brief" and evidence.rating != UNRATED:
            return [
                (
                    doc.line_of("evidence"),
                    f"a brief rated '{evidence.rating}' needs 'evidence.url': the url (or "
                    "https://doi.org/ + doi) of the source its rating rests on, one of its "
                    "sources",
                    "warning",
                )
            ]
        return []
    if evidence.url not in {link for s in sources for link in s.links}:
        return [
            (
                doc.line_of("evidence", "url"),
                f"'evidence.url' {evidence.url!r} is not the url of any of this page's sources "
                "(nor https://doi.org/ + one's doi); cite the rating's source under 'sources' "
                "and use its link here",
                "error",
            )
        ]
    return []


def _field_message(err) -> str:
    name = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown source field '{name}'; allowed: {', '.join(Source.model_fields)}"
    if err["type"] == "missing":
        return f"this source is missing '{name}'"
    return f"source field '{name}': {err['msg']}"


# ---- the works cited across documents -------------------------------------------------------


@dataclass
class CitedWork:
    """One work and every document that cites it, with the entry number on each."""

    source: Source | str
    citations: list[tuple[Document, int]] = field(default_factory=list)


def cited_works(docs: list[Document]) -> list[CitedWork]:
    """Every cited work once (by DOI, else URL, else title), most-cited first, so an editor
    sees which works carry the most weight. A work cited with more detail in one document
    (a link, authors) is shown in that form."""
    works: dict[str, CitedWork] = {}
    for doc in docs:
        for n, source in enumerate(doc.sources, 1):
            work = works.setdefault(work_key(source), CitedWork(source))
            if _detail(source) > _detail(work.source):
                work.source = source
            if not any(d is doc for d, _ in work.citations):
                work.citations.append((doc, n))
    return sorted(works.values(), key=lambda w: (-len(w.citations), _sort_name(w.source)))


def _detail(source: Source | str) -> int:
    if isinstance(source, str):
        return 0
    return 2 * bool(source.link) + sum(v is not None for v in (source.authors, source.year, source.venue))


def _sort_name(source: Source | str) -> str:
    if isinstance(source, str):
        return _normalise(source)
    return _normalise(f"{source.authors or ''} {source.year or ''} {source.title}")
