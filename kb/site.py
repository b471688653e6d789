"""The static site: MkDocs Material, built from the same docs as the index.

The site builds with a plain ``mkdocs build --strict``. ``build_site`` adds what front matter and
the index know and a hand-kept mkdocs.yml would not: the navigation (briefs grouped by primary
core area, in the taxonomy's order), the related briefs computed from the embeddings, the index
of every cited work, and in-text citations linked to each page's source list. It calls MkDocs as
a library and registers its one page step itself, so mkdocs.yml names no hook or third-party
plugin: a plain build (or another engine reading mkdocs.yml) gives the same pages with the
citations as plain text.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from kb.citations import link_citations
from kb.documents import Document
from kb.errors import KBError
from kb.network import exchange_network
from kb.sources import cited_works
from kb.taxonomy import Taxonomy

log = logging.getLogger(__name__)
STAMP = ".kb-build.json"


def site_inputs_hash(
    docs_dir: Path,
    mkdocs_config: Path,
    taxonomy_file: Path,
    related: dict[str, Any],
    site_url: str | None = None,
) -> str:
    """Hash of everything the built site depends on, to tell whether it is stale."""
    h = hashlib.sha256()
    h.update(f"site_url={site_url}\n".encode())
    for path in sorted([*docs_dir.rglob("*"), mkdocs_config, taxonomy_file]):
        if path.is_file():
            h.update(str(path).encode())
            h.update(path.read_bytes())
    h.update(json.dumps(related, sort_keys=True).encode())
    return h.hexdigest()


def site_is_current(site_dir: Path, inputs_hash: str) -> bool:
    try:
        return json.loads((site_dir / STAMP).read_text())["inputs"] == inputs_hash
    except (OSError, ValueError, KeyError):
        return False


def build_nav(docs: list[Document], taxonomy: Taxonomy) -> list[dict[str, Any]]:
    """Home, About, Core areas, Briefs (by primary area), Peer learning (by type), Sites, DOJ
    components, Contribute."""
    by_id = {d.id: d for d in docs}
    used: set[str] = set()

    def page(doc_id: str) -> str:
        used.add(doc_id)
        return f"{doc_id}.md"

    def folder(prefix: str, order: list[str] | None = None) -> list[Any]:
        ids = [d.id for d in docs if d.id.startswith(prefix + "/") and d.id != f"{prefix}/index"]
        if order is not None:
            ids = [f"{prefix}/{s}" for s in order if f"{prefix}/{s}" in by_id] + sorted(
                i for i in ids if i.split("/", 1)[1] not in order
            )
        else:
            ids.sort(key=lambda i: by_id[i].title.casefold())
        head = [page(f"{prefix}/index")] if f"{prefix}/index" in by_id else []
        return head + [page(i) for i in ids]

    briefs: list[Any] = [page("briefs/index")] if "briefs/index" in by_id else []
    for area in taxonomy.core_areas:
        in_area = sorted(
            (d for d in docs if d.type == "practice-brief" and d.meta.core_areas[:1] == [area.slug]),
            key=lambda d: d.title.casefold(),
        )
        if in_area:
            briefs.append({area.name: [page(d.id) for d in in_area]})
    peer: list[Any] = [page("peer-learning/index")] if "peer-learning/index" in by_id else []
    for dtype in taxonomy.document_types:
        if dtype.peer_learning and dtype.folder:
            items = folder(dtype.folder)
            if items:
                peer.append({dtype.plural or dtype.name: items})
    nav: list[dict[str, Any]] = []
    if "index" in by_id:
        nav.append({"Home": page("index")})
    sections = [
        ("About", folder("about", ["psp-overview", "engagement-models", "site-selection"])),
        ("Core areas", folder("areas", taxonomy.area_slugs)),
        ("Briefs", briefs),
        ("Peer learning", peer),
        ("Sites", folder("sites")),
        ("DOJ components", folder("components", taxonomy.component_slugs)),
        ("Contribute", folder("contribute")),
    ]
    nav += [{name: items} for name, items in sections if items]
    used.add("search")  # reached from the header, not the navigation
    rest = [page(d.id) for d in docs if d.id not in used]
    if rest:
        nav.append({"More": rest})
    return nav


def cited_works_data(docs: list[Document]) -> list[dict[str, Any]]:
    """Every cited work, most-cited first, with the pages that cite it (each linked to its
    entry in that page's source list), as the source index page's template reads them."""
    return [
        {
            "source": w.source if isinstance(w.source, str) else w.source.model_dump(),
            "cited_by": [
                {"title": d.title, "url": f"{d.url.lstrip('/')}#source-{n}"} for d, n in w.citations
            ],
        }
        for w in cited_works(docs)
    ]


class _CitationLinks:
    """Links each page's in-text citations to its source list as MkDocs renders the page's
    Markdown (before the theme adds navigation, the evidence box and the list itself, none of
    which is prose to link). MkDocs registers any object's ``on_*`` methods as event handlers."""

    def __init__(self, docs: list[Document]) -> None:
        self._sources = {d.path.as_posix(): d.sources for d in docs}

    def on_page_content(self, html: str, *, page: Any, **_: Any) -> str:
        sources = self._sources.get(page.file.src_uri)
        return link_citations(html, sources) if sources else html


def build_site(
    *,
    mkdocs_config: Path,
    docs_dir: Path,
    site_dir: Path,
    docs: list[Document],
    taxonomy: Taxonomy,
    related: dict[str, Any],
    inputs_hash: str,
    site_url: str | None = None,
) -> None:
    """Build into a temporary folder, then swap it in, so a failed build leaves the old site.

    Builds into one site folder take turns (a lock file beside it): `kb site` run while
    `kb serve` rebuilds after an edit would otherwise share the temporary folder and could
    leave a partial site."""
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    with site_dir.with_name(site_dir.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _build_site(
            mkdocs_config=mkdocs_config,
            docs_dir=docs_dir,
            site_dir=site_dir,
            docs=docs,
            taxonomy=taxonomy,
            related=related,
            inputs_hash=inputs_hash,
            site_url=site_url,
        )


def _build_site(
    *,
    mkdocs_config: Path,
    docs_dir: Path,
    site_dir: Path,
    docs: list[Document],
    taxonomy: Taxonomy,
    related: dict[str, Any],
    inputs_hash: str,
    site_url: str | None = None,
) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    tmp = site_dir.with_name(site_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        # site_url: where this site is served (canonical links, sitemap, robots.txt).
        where = {"site_url": site_url} if site_url else {}
        cfg = load_config(
            str(mkdocs_config),
            docs_dir=str(docs_dir.resolve()),
            site_dir=str(tmp.resolve()),
            nav=build_nav(docs, taxonomy),
            strict=True,
            **where,
        )
        if cfg["repo_url"]:
            # "Edit this page" opens the file on the main branch (MkDocs would guess master).
            cfg["edit_uri"] = "edit/main/docs/"
        cfg.extra["related"] = related
        cfg.extra["exchange_network"] = exchange_network(docs, taxonomy)
        cfg.extra["cited_works"] = cited_works_data(docs)
        cfg.plugins["kb-citations"] = _CitationLinks(docs)  # type: ignore[assignment]
        build(cfg)
    except (MkDocsException, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise KBError(f"the site build failed: {exc}") from exc
    (tmp / STAMP).write_text(json.dumps({"inputs": inputs_hash}))
    old = site_dir.with_name(site_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if site_dir.exists():
        site_dir.rename(old)
    tmp.rename(site_dir)
    shutil.rmtree(old, ignore_errors=True)
