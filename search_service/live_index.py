"""The index the service answers from, loaded off the request path and swapped atomically when
``kb index`` makes a new version live. A half-built version is never visible: only a version
that CURRENT names, complete and verified, is ever opened."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time

from kb.embedding import Embedder
from kb.errors import KBError
from kb.index import current_version, document_hashes, open_index
from kb.search import Query, Searcher
from kb.taxonomy import Taxonomy
from search_service.settings import ServiceSettings

log = logging.getLogger(__name__)


class LiveIndex:
    """The searcher being served, and the loop that swaps in each new version.

    Nothing that goes wrong while loading a version ends the loop or stops the serving: any
    exception (a corrupt file, a missing key, a full disk) is logged once with its cause, shown
    in /readyz as "degraded", and retried with backoff; a server that starts on a version that
    cannot be loaded serves the newest one that can."""

    def __init__(self, settings: ServiceSettings, embedder: Embedder, taxonomy: Taxonomy):
        self.settings = settings
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.searcher: Searcher | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self._refused: dict[str, tuple[int, float]] = {}  # version -> (attempts, retry at)

    @property
    def version(self) -> str | None:
        return self.searcher.data.version if self.searcher else None

    def refresh(self) -> bool:
        """Load the live version if it is not the one being served; True when it swapped."""
        with self._lock:
            wanted = current_version(self.settings.index_dir)
            if wanted is None:
                self.error = self.error or "no index yet; build one with 'kb index'"
                return False
            if wanted == self.version or not self._due(wanted):
                return False
            try:
                searcher = self._open(wanted)
            except Exception as exc:  # noqa: BLE001 - whatever it is, keep serving and say so
                self._refuse(wanted, exc)
                if self.searcher is None:
                    self._fall_back(wanted)
                return False
            self.searcher, self.error = searcher, None
            self._refused.pop(wanted, None)
            log.debug("serving index version %s (%d chunks)", wanted, len(searcher.data.chunks))
            return True

    async def watch(self, interval: float) -> None:
        """Poll for a newly built version for as long as the app runs."""
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # noqa: BLE001 - the loop outlives any single failure
                log.exception("checking for a new index version failed")
            await asyncio.sleep(interval)

    def _open(self, version: str) -> Searcher:
        data = open_index(self.settings.index_dir, self.embedder, version=version)
        searcher = Searcher(data, self.embedder, self.taxonomy, self.settings.rrf_k)
        searcher.search(Query(q="warm up", k=1))  # loads the model and proves the files read
        return searcher

    def _due(self, version: str) -> bool:
        return time.monotonic() >= self._refused.get(version, (0, 0.0))[1]

    def _refuse(self, version: str, exc: Exception) -> None:
        attempts = self._refused.get(version, (0, 0.0))[0] + 1
        self._refused[version] = (attempts, time.monotonic() + _backoff(self.settings, attempts))
        self.error = f"index version {version} could not be loaded: {describe(exc)}"
        if attempts == 1:  # once per version, with the cause; retries are quiet
            log.error("%s", self.error, exc_info=not isinstance(exc, KBError))

    def _fall_back(self, refused: str) -> None:
        """With nothing served yet, serve the newest version that opens."""
        versions = self.settings.index_dir / "versions"
        names = sorted(
            (
                p.name
                for p in versions.iterdir()
                if p.is_dir() and not p.name.startswith(".") and p.name != refused
            ),
            reverse=True,
        )
        for name in names:
            try:
                self.searcher = self._open(name)
            except Exception as exc:  # noqa: BLE001
                log.warning("older index version %s does not load either: %s", name, describe(exc))
                continue
            self.error = f"{self.error}; serving the older version {name} meanwhile"
            log.warning("%s", self.error)
            return


def describe(exc: Exception) -> str:
    """One plain line for /readyz and the log: kb's own errors say what to do; anything else is
    named by its type."""
    return str(exc) if isinstance(exc, KBError) else f"{type(exc).__name__}: {exc}"


def _backoff(settings: ServiceSettings, attempts: int) -> float:
    """Seconds before retrying a failure: doubling from the poll interval, at most 30 polls."""
    interval = settings.reload_interval
    return min(interval * 2 ** (attempts - 1), interval * 30)


class DocsWatcher:
    """While `kb serve` runs, rebuild what an edit makes stale: the index first (the API serves
    it as soon as it is live), then the site.

    Edits are debounced (a save that touches several files is one rebuild). By default each
    step runs in a child process at lower priority (search_service.rebuild), so searches keep
    their speed while an edit is embedded; a server given an embedder object (tests, embedding
    services) rebuilds in process with it. Invalid content is reported and waits for the next
    edit; any other failure (a full disk, say) is reported and retried with backoff."""

    def __init__(self, live: LiveIndex, in_process: bool = False):
        self.live = live
        self.in_process = in_process
        self._seen = document_hashes(live.settings.docs_dir)
        self._attempts = 0
        self._retry_at = 0.0

    def rebuild_if_changed(self) -> bool:
        hashes = self._settled(document_hashes(self.live.settings.docs_dir))
        if hashes == self._seen or time.monotonic() < self._retry_at:
            return False
        started = time.monotonic()
        try:
            self._step("index")
            self.live.refresh()  # searchable now; the site follows
            self._announce(hashes, time.monotonic() - started)
            self._step("site")
        except ContentProblems as exc:  # the content itself: nothing to retry until edited
            self._seen, self._attempts = hashes, 0
            self.live.error = f"content changed but was not rebuilt: {exc}"
            log.error("%s", self.live.error)
        except Exception as exc:  # noqa: BLE001 - anything else: keep serving, retry later
            self._attempts += 1
            self._retry_at = time.monotonic() + _backoff(self.live.settings, self._attempts)
            self.live.error = f"content changed but the rebuild failed, retrying: {describe(exc)}"
            if self._attempts == 1:
                log.error("%s", self.live.error, exc_info=not isinstance(exc, KBError))
        else:
            self._seen, self._attempts = hashes, 0
        return True

    def _announce(self, hashes: dict[str, str], seconds: float) -> None:
        """The one line `kb serve` prints per rebuild, once the edit is searchable."""
        changed = sum(1 for d in hashes.keys() | self._seen.keys() if hashes.get(d) != self._seen.get(d))
        searcher = self.live.searcher
        log.info(
            "rebuilt in %.1f s: %d document%s changed, %d sections searchable (the site follows)",
            seconds,
            changed,
            "" if changed == 1 else "s",
            len(searcher.data.chunks) if searcher else 0,
        )

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.rebuild_if_changed)
            except Exception:  # noqa: BLE001 - the loop outlives any single failure
                log.exception("checking the docs for edits failed")

    def _settled(self, hashes: dict[str, str]) -> dict[str, str]:
        """The docs once they stop changing (an editor saving several files, a git checkout):
        re-read every 0.2 s until two reads agree, for at most 2 s."""
        deadline = time.monotonic() + 2.0
        while hashes != self._seen and time.monotonic() < deadline:
            time.sleep(0.2)
            again = document_hashes(self.live.settings.docs_dir)
            if again == hashes:
                break
            hashes = again
        return hashes

    def _step(self, step: str) -> None:
        if self.in_process:
            from kb.errors import ContentError
            from kb.workflow import update_index, update_site

            try:
                if step == "index":
                    update_index(self.live.settings, embedder=self.live.embedder)
                else:
                    update_site(self.live.settings, searcher=self.live.searcher)
            except ContentError as exc:
                raise ContentProblems(str(exc)) from exc
            return
        from search_service.rebuild import CONTENT_PROBLEMS

        env = {**os.environ, **self.live.settings.as_env()}
        proc = subprocess.run(
            [sys.executable, "-m", "search_service.rebuild", step], env=env, capture_output=True, text=True
        )
        said = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        if proc.returncode == CONTENT_PROBLEMS:
            raise ContentProblems(said)
        if proc.returncode != 0:
            raise RebuildFailed(f"the {step} rebuild failed: {said}")


class ContentProblems(KBError):
    """The edited content does not pass kb check; the next edit may fix it."""


class RebuildFailed(KBError):
    """A rebuild step failed for another reason (disk, permissions...): retried with backoff."""
