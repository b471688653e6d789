"""The index the service answers from, loaded off the request path and swapped atomically when
``kb index`` makes a new version live. A half-built version is never visible: only a version
that CURRENT names, complete and verified, is ever opened."""

from __future__ import annotations

import asyncio
import logging
import threading

from kb.embedding import Embedder
from kb.errors import KBError
from kb.index import current_version, document_hashes, open_index
from kb.search import Query, Searcher
from kb.taxonomy import Taxonomy
from search_service.settings import ServiceSettings

log = logging.getLogger(__name__)


class LiveIndex:
    def __init__(self, settings: ServiceSettings, embedder: Embedder, taxonomy: Taxonomy):
        self.settings = settings
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.searcher: Searcher | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str | None:
        return self.searcher.data.version if self.searcher else None

    def refresh(self) -> bool:
        """Load the live version if it is not the one being served; True when it swapped."""
        with self._lock:
            wanted = current_version(self.settings.index_dir)
            if wanted is None:
                self.error = self.error or f"no index at {self.settings.index_dir} yet"
                return False
            if wanted == self.version:
                return False
            try:
                data = open_index(self.settings.index_dir, self.embedder, version=wanted)
                searcher = Searcher(data, self.embedder, self.taxonomy, self.settings.rrf_k)
                searcher.search(Query(q="warm up", k=1))  # loads the model before serving
            except KBError as exc:
                # Keep serving the previous version; say why the new one was refused.
                self.error = str(exc)
                log.error("index version %s not loaded: %s", wanted, exc)
                return False
            self.searcher, self.error = searcher, None
            log.info("serving index version %s (%d chunks)", wanted, len(data.chunks))
            return True

    async def watch(self, interval: float) -> None:
        """Poll for a newly built version for as long as the app runs."""
        while True:
            await asyncio.to_thread(self.refresh)
            await asyncio.sleep(interval)


class DocsWatcher:
    """While `kb serve` runs, rebuild what an edit makes stale: the index first (the API serves
    it as soon as it is live), then the site. Uses the already-loaded model, so an edited brief
    is searchable within seconds. Invalid content is reported and the old index kept."""

    def __init__(self, live: LiveIndex):
        self.live = live
        self._seen = document_hashes(live.settings.docs_dir)

    def rebuild_if_changed(self) -> bool:
        from kb.workflow import update_index, update_site

        hashes = document_hashes(self.live.settings.docs_dir)
        if hashes == self._seen:
            return False
        self._seen = hashes
        try:
            update_index(self.live.settings, embedder=self.live.embedder)
            self.live.refresh()
            update_site(self.live.settings, searcher=self.live.searcher)
        except KBError as exc:
            self.live.error = f"content changed but was not rebuilt: {exc}"
            log.error("%s", self.live.error)
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.rebuild_if_changed)
