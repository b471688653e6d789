"""The steps the CLI and the service share: bring the index and the site up to date, open a
searcher. Each step does nothing when its output is already current."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from kb.embedding import Embedder, make_embedder
from kb.errors import ContentError
from kb.facets import facet_schema
from kb.index import BuildReport, build_index, index_is_current, open_index
from kb.search import Searcher
from kb.settings import Settings
from kb.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from kb.validation import check_content, errors

log = logging.getLogger(__name__)
RELATED_ON_PAGE = 4


def embedder_for(settings: Settings, *, threads: int | None = None) -> Embedder:
    """The configured encoder; its ONNX export is cached in ``model_cache`` (under .kb/)."""
    return make_embedder(settings.model, settings.embedder, settings.model_cache, threads=threads)


def update_index(
    settings: Settings, *, force: bool = False, progress: bool = False, embedder: Embedder | None = None
) -> BuildReport | None:
    """Rebuild the index when the content changed, the live version is damaged (the report says
    how, in ``repaired``) or ``force``; None when it was current."""
    # A build embeds batches: every core works on each one.
    embedder = embedder or embedder_for(settings, threads=os.cpu_count())
    taxonomy = load_taxonomy(settings.taxonomy)
    facets = facet_schema(taxonomy)
    if not force and index_is_current(settings.index_dir, settings.docs_dir, embedder, facets):
        return None
    docs, problems = check_content(settings.docs_dir, taxonomy, settings.mkdocs_config)
    if errors(problems):
        raise ContentError(errors(problems))
    return build_index(
        docs,
        settings.docs_dir,
        settings.index_dir,
        embedder,
        mkdocs_config=settings.mkdocs_config,
        facets=facets,
        progress=progress,
    )


def open_searcher(settings: Settings, embedder: Embedder | None = None) -> Searcher:
    embedder = embedder or embedder_for(settings)
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


def update_site(settings: Settings, *, force: bool = False, searcher: Searcher | None = None) -> bool:
    """Build the static site when its inputs changed; True when it was built."""
    from kb.site import build_site, site_inputs_hash, site_is_current

    taxonomy = load_taxonomy(settings.taxonomy)
    docs, problems = check_content(settings.docs_dir, taxonomy, settings.mkdocs_config)
    if errors(problems):
        raise ContentError(errors(problems))
    related = related_briefs(searcher or open_searcher(settings))
    inputs = site_inputs_hash(
        settings.docs_dir,
        settings.mkdocs_config,
        Path(settings.taxonomy or DEFAULT_TAXONOMY),
        related,
        site_url=settings.public_url,
    )
    if not force and site_is_current(settings.site_dir, inputs):
        return False
    build_site(
        mkdocs_config=settings.mkdocs_config,
        docs_dir=settings.docs_dir,
        site_dir=settings.site_dir,
        docs=docs,
        taxonomy=taxonomy,
        related=related,
        inputs_hash=inputs,
        site_url=settings.public_url,
    )
    return True
