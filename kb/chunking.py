"""Chunking: a document becomes one chunk per heading section, located at ``page/#anchor``.

Pure: takes a Document and its rendered sections, returns Chunks; no I/O. Sections longer than
the embedding model's window are split into overlapping windows that keep their anchor.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

from kb.documents import Document
from kb.facets import Facet
from kb.rendering import Section

# all-MiniLM-L6-v2 reads 256 word pieces; ~1.3 word pieces per English word, and the title and
# section path take some, so windows hold 150 words with 30 words of overlap. Punctuation counts
# too: a template full of "[ ... ] | [date] |" is short in words and long in word pieces, so a
# window also closes once its words and punctuation marks reach WINDOW_PIECES.
WINDOW_WORDS = 150
OVERLAP_WORDS = 30
WINDOW_PIECES = 190
TEXT_TEMPLATE = "{title} > {section}\n{text}"
# Bump when chunking changes what it produces, so that existing indexes are rebuilt.
CHUNKER_VERSION = 5
# The site prints each page's summary under its title with this id (overrides/partials/
# content.html); a page's own text (summary, then any text before the first heading) links there.
PAGE_ANCHOR = "page-summary"
_PIECE = re.compile(r"\w+|[^\w\s]")
# Link lists, not prose: indexing them only adds keyword noise.
_UNINDEXED_SECTIONS = {"Related resources"}


@dataclass(frozen=True)
class Chunk:
    key: str  # "doc-id#anchor@window", stable across builds
    doc_id: str
    title: str
    section: str
    section_path: list[str]
    anchor: str
    url: str
    type: str
    summary: str
    core_areas: list[str]
    evidence: str | None
    facets: dict[str, list[str]]  # filter param -> the document's values (kb.facets)
    text: str
    hash: str

    @property
    def embed_text(self) -> str:
        section = " > ".join(self.section_path) or "Overview"
        return TEXT_TEMPLATE.format(title=self.title, section=section, text=self.text)

    def to_json(self) -> dict:
        return asdict(self)


def chunk_document(doc: Document, sections: list[Section], facets: tuple[Facet, ...] = ()) -> list[Chunk]:
    """Split one document into chunks (the page itself first, then its sections); each carries
    the document's values of every filter in ``facets``."""
    m = doc.meta
    values = {f.param: f.read(doc) for f in facets}
    out: list[Chunk] = []
    if (m.search or {}).get("exclude"):  # Material's own switch for leaving a page out of search
        return out
    for section in sections:
        if section.title in _UNINDEXED_SECTIONS:
            continue
        text = section.text
        if section.level == 0:
            # Text before the first heading belongs to the page; lead with its summary.
            lead = [m.summary]
            if m.evidence:
                rating = m.evidence.rating.replace("-", " ")
                lead.append(f"Evidence rating: {rating}. {m.evidence.basis}")
            text = "\n".join([*lead, text]).strip()
        if not text:
            continue
        for n, window in enumerate(_windows(text)):
            anchor = section.anchor if section.level else PAGE_ANCHOR
            key = f"{doc.id}#{anchor}@{n}"
            url = f"{doc.url}#{anchor}"
            body: dict[str, Any] = dict(
                key=key,
                doc_id=doc.id,
                title=m.title,
                section=section.title or m.title,
                section_path=section.path,
                anchor=anchor,
                url=url,
                type=m.type,
                summary=m.summary,
                core_areas=list(m.core_areas),
                evidence=m.evidence.rating if m.evidence else None,
                facets=values,
                text=window,
            )
            digest = hashlib.sha256(repr(sorted(body.items())).encode()).hexdigest()[:16]
            out.append(Chunk(**body, hash=digest))
    return out


def _windows(text: str) -> list[str]:
    words = text.split(" ")
    cost = [max(1, len(_PIECE.findall(w))) for w in words]
    if len(words) <= WINDOW_WORDS and sum(cost) <= WINDOW_PIECES:
        return [text]
    out, start = [], 0
    while True:
        end, pieces = start, 0
        while end < len(words) and end - start < WINDOW_WORDS and pieces + cost[end] <= WINDOW_PIECES:
            pieces += cost[end]
            end += 1
        end = max(end, start + 1)
        out.append(" ".join(words[start:end]))
        if end >= len(words):
            return out
        # overlap a fifth of the window, so a sentence cut at the edge is whole in one of them
        start = max(start + 1, end - max(1, (end - start) * OVERLAP_WORDS // WINDOW_WORDS))
