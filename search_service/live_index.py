"""The index the service answers from, loaded off the request path and swapped atomically when
``kb index`` makes a new version live. A half-built version is never visible: only a version
that CURRENT names, complete and verified, is ever opened."""

from __future__ import annotations

import asyncio
import logging
import threading

from kb.embedding import Embedder
from kb.errors import KBError
from kb.index import current_version, open_index
from kb.search import Query, Searcher
from kb.settings import Settings
from kb.taxonomy import Taxonomy

log = logging.getLogger(__name__)


class LiveIndex:
    def __init__(self, settings: Settings, embedder: Embedder, taxonomy: Taxonomy):
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
