"""The steps the CLI and the service share: bring the index and the site up to date, open a
searcher. Each step does nothing when its output is already current."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kb.embedding import SentenceTransformerEmbedder
from kb.errors import ContentError
from kb.index import BuildReport, build_index, index_is_current, open_index
from kb.search import Searcher
from kb.settings import Settings
from kb.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from kb.validation import check_content

log = logging.getLogger(__name__)
RELATED_ON_PAGE = 4


def update_index(settings: Settings, *, force: bool = False, progress: bool = False,
                 embedder=None) -> BuildReport | None:
    """Rebuild the index when the content changed (or ``force``); None when it was current."""
    embedder = embedder or SentenceTransformerEmbedder(settings.model)
    if not force and index_is_current(settings.index_dir, settings.docs_dir, embedder):
        return None
    docs, problems = check_content(settings.docs_dir, load_taxonomy(settings.taxonomy),
                                   settings.mkdocs_config)
    if problems:
        raise ContentError(problems)
    return build_index(docs, settings.docs_dir, settings.index_dir, embedder,
                       mkdocs_config=settings.mkdocs_config, progress=progress)


def open_searcher(settings: Settings, embedder=None) -> Searcher:
    embedder = embedder or SentenceTransformerEmbedder(settings.model)
    data = open_index(settings.index_dir, embedder)
    return Searcher(data, embedder, load_taxonomy(settings.taxonomy), rrf_k=settings.rrf_k)


def related_briefs(searcher: Searcher, k: int = RELATED_ON_PAGE) -> dict[str, list[dict[str, Any]]]:
    """For every brief, its most similar briefs, as the site's templates read them."""
    out = {}
    for doc_id in searcher.document_ids():
        if not doc_id.startswith("briefs/") or doc_id == "briefs/index":
            continue
        out[doc_id] = [
            {"id": r.id, "title": r.title, "url": r.url.lstrip("/"), "core_areas": r.core_areas}
            for r in searcher.related(doc_id, k=k, types=("practice-brief",))
        ]
    return out


def update_site(settings: Settings, *, force: bool = False, searcher: Searcher | None = None
                ) -> bool:
    """Build the static site when its inputs changed; True when it was built."""
    from kb.site import build_site, site_inputs_hash, site_is_current

    taxonomy = load_taxonomy(settings.taxonomy)
    docs, problems = check_content(settings.docs_dir, taxonomy, settings.mkdocs_config)
    if problems:
        raise ContentError(problems)
    related = related_briefs(searcher or open_searcher(settings))
    inputs = site_inputs_hash(settings.docs_dir, settings.mkdocs_config,
                              Path(settings.taxonomy or DEFAULT_TAXONOMY), related)
    if not force and site_is_current(settings.site_dir, inputs):
        return False
    build_site(mkdocs_config=settings.mkdocs_config, docs_dir=settings.docs_dir,
               site_dir=settings.site_dir, docs=docs, taxonomy=taxonomy, related=related,
               inputs_hash=inputs)
    return True
