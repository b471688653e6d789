"""The index artifact: build it (incrementally, atomically) and open it (verified).

On disk::

    <index dir>/
      CURRENT                 name of the live version (replaced atomically)
      versions/<version>/
        manifest.json         schema, model and weights hash, template, counts, hashes, file sums
        vectors.faiss         exact inner-product index (IndexFlatIP; FAISS id = chunk row)
        chunks.jsonl          one chunk per line, in the order of the vectors
        bm25/                 bm25s index over the same chunks (JSON + NumPy, no pickle)

A build writes a new version folder and only then points CURRENT at it, so a build that fails or
is killed leaves the previous version live and served. Unchanged chunks reuse the previous
version's vectors (matched by content hash), so editing one brief embeds only its changed chunks.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from pydantic import BaseModel, ValidationError

from kb.chunking import CHUNKER_VERSION, TEXT_TEMPLATE, Chunk, chunk_document
from kb.documents import Document
from kb.embedding import Embedder
from kb.errors import IndexCorrupt, IndexMismatch, IndexNotFound
from kb.facets import Facet, schema_signature
from kb.lexical import LexicalIndex
from kb.rendering import render_page

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
_CURRENT = "CURRENT"
_FILES = ("vectors.faiss", "chunks.jsonl")


class ModelInfo(BaseModel):
    name: str
    weights_sha256: str
    # How the vectors were computed ("onnx-fp32", "torch"): an index embedded one way is not
    # silently queried another.
    backend: str
    dimension: int
    normalized: bool = True


class Manifest(BaseModel):
    """manifest.json: what a version folder holds and how it was made (build writes it, open
    and the staleness check read it)."""

    schema_version: int
    version: str
    created_at: str
    model: ModelInfo
    text_template: str
    chunk_count: int
    document_count: int
    chunker: int
    facets: list[str]  # the filter schema the chunks carry (kb.facets.schema_signature)
    documents: dict[str, str]
    files: dict[str, str]


@dataclass(frozen=True)
class BuildReport:
    version: str
    documents: int
    chunks: int
    embedded: int
    reused: int
    seconds: float


@dataclass
class IndexData:
    """An opened, verified index version."""

    path: Path
    version: str
    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray  # (n, dim) float32, normalized, row i is chunks[i]
    faiss_index: faiss.Index
    lexical: LexicalIndex


def chunk_documents(
    docs: list[Document],
    mkdocs_config: Path | None,
    facets: tuple[Facet, ...] = (),
    reuse: dict[str, list[Chunk]] | None = None,
) -> list[Chunk]:
    """Chunks of every document; ``reuse`` holds the chunks of documents known unchanged."""
    chunks: list[Chunk] = []
    for doc in docs:
        if reuse and doc.id in reuse:
            chunks += reuse[doc.id]
        else:
            chunks += chunk_document(doc, render_page(doc.body, mkdocs_config).sections, facets)
    return chunks


def new_faiss_index(dimension: int) -> faiss.Index:
    """Exact inner product (cosine on normalized vectors); a vector's id is its chunk row."""
    return faiss.IndexFlatIP(dimension)


def text_key(chunk: Chunk) -> str:
    """What a vector depends on: the embedded text alone (metadata edits re-embed nothing)."""
    return hashlib.sha256(chunk.embed_text.encode()).hexdigest()[:24]


def document_hashes(docs_dir: Path) -> dict[str, str]:
    """Content hash of each Markdown file, keyed by document id (what staleness compares)."""
    out = {}
    for path in sorted(docs_dir.rglob("*.md")):
        rel = path.relative_to(docs_dir)
        if rel.parts[0] == "overrides":
            continue
        out[rel.with_suffix("").as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return out


def current_version(index_dir: Path) -> str | None:
    try:
        return (index_dir / _CURRENT).read_text().strip() or None
    except OSError:
        return None


def read_manifest(path: Path) -> Manifest:
    """The manifest of the version folder ``path``; IndexCorrupt when missing or malformed."""
    try:
        return Manifest.model_validate_json((path / "manifest.json").read_bytes())
    except FileNotFoundError as exc:
        raise IndexCorrupt(
            f"index version {path.name} at {path} has no manifest.json; rebuild it with 'kb index'"
        ) from exc
    except (OSError, ValidationError) as exc:
        raise IndexCorrupt(
            f"{path / 'manifest.json'} is not a valid manifest; rebuild with 'kb index'"
        ) from exc


def index_is_current(
    index_dir: Path, docs_dir: Path, embedder: Embedder, facets: tuple[Facet, ...] = ()
) -> bool:
    """True when the live index was built from these exact files with this model, backend and
    filter schema."""
    version = current_version(index_dir)
    if version is None:
        return False
    try:
        manifest = read_manifest(index_dir / "versions" / version)
    except IndexCorrupt:
        return False
    return (
        manifest.schema_version == SCHEMA_VERSION
        and manifest.chunker == CHUNKER_VERSION
        and manifest.model.name == embedder.name
        and manifest.model.backend == embedder.backend
        and manifest.facets == schema_signature(facets)
        and manifest.documents == document_hashes(docs_dir)
    )


def build_index(
    docs: list[Document],
    docs_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    mkdocs_config: Path | None = Path("mkdocs.yml"),
    facets: tuple[Facet, ...] = (),
    progress: bool = False,
) -> BuildReport:
    """Build a new index version from ``docs`` and make it live; reuse unchanged vectors.

    Builds into one index folder take turns (a lock file), so `kb index` run while `kb serve`
    rebuilds after an edit cannot interleave with it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(docs, docs_dir, index_dir, embedder, mkdocs_config, facets, progress)


def _build(
    docs: list[Document],
    docs_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    mkdocs_config: Path | None,
    facets: tuple[Facet, ...],
    progress: bool,
) -> BuildReport:
    started = time.perf_counter()
    hashes = document_hashes(docs_dir)
    previous, unchanged = _previous(index_dir, embedder, hashes, facets)
    chunks = chunk_documents(docs, mkdocs_config, facets, reuse=unchanged)
    todo = list({text_key(c): c for c in chunks if text_key(c) not in previous}.values())
    if todo:
        fresh = embedder.embed([c.embed_text for c in todo], progress=progress and len(todo) >= 100)
        previous.update(zip((text_key(c) for c in todo), fresh, strict=True))
    dim = embedder.dimension
    vectors = (
        np.stack([previous[text_key(c)] for c in chunks]).astype(np.float32)
        if chunks
        else np.zeros((0, dim), np.float32)
    )

    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    versions = index_dir / "versions"
    tmp = versions / f".{version}.partial"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        flat = new_faiss_index(dim)
        if len(chunks):
            flat.add(vectors)
        faiss.write_index(flat, str(tmp / "vectors.faiss"))
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c.to_json(), ensure_ascii=False) + "\n")
        LexicalIndex.build([c.embed_text for c in chunks] or [""]).save(tmp / "bm25")
        manifest = Manifest(
            schema_version=SCHEMA_VERSION,
            version=version,
            created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            model=ModelInfo(
                name=embedder.name,
                weights_sha256=embedder.fingerprint,
                backend=embedder.backend,
                dimension=dim,
            ),
            text_template=TEXT_TEMPLATE,
            chunk_count=len(chunks),
            document_count=len(docs),
            chunker=CHUNKER_VERSION,
            facets=schema_signature(facets),
            documents=hashes,
            files={name: _file_sha256(tmp / name) for name in _FILES},
        )
        # The manifest is written last: a folder without one is never opened.
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=2))
        _fsync_tree(tmp)
        final = versions / version
        tmp.rename(final)
        _point_current(index_dir, version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(versions, keep={version, *_recent(versions, 2)})
    return BuildReport(
        version=version,
        documents=len(docs),
        chunks=len(chunks),
        embedded=len(todo),
        reused=len(chunks) - len(todo),
        seconds=time.perf_counter() - started,
    )


def open_index(index_dir: Path, embedder: Embedder | None = None, version: str | None = None) -> IndexData:
    """Open the live (or named) version and verify it; refuse another model's index."""
    version = version or current_version(index_dir)
    if version is None:
        raise IndexNotFound(f"no index at {index_dir}; build one with 'kb index'")
    path = index_dir / "versions" / version
    try:
        schema = json.loads((path / "manifest.json").read_bytes()).get("schema_version")
    except (OSError, ValueError, AttributeError):
        schema = SCHEMA_VERSION  # read_manifest below says what is wrong
    if schema != SCHEMA_VERSION:
        raise IndexMismatch(
            f"index at {path} has schema version {schema}, "
            f"this kb reads version {SCHEMA_VERSION}; rebuild with 'kb index'"
        )
    manifest = read_manifest(path)
    if embedder is not None:
        model = manifest.model
        if (model.name, model.weights_sha256, model.backend) != (
            embedder.name,
            embedder.fingerprint,
            embedder.backend,
        ):
            raise IndexMismatch(
                f"index at {path} was embedded with model {model.name!r} "
                f"(weights {model.weights_sha256[:12]}, {model.backend}), but the configured "
                f"model is {embedder.name!r} (weights {embedder.fingerprint[:12]}, "
                f"{embedder.backend}); rebuild with 'kb index'"
            )
    for name, expected in manifest.files.items():
        if not (path / name).is_file() or _file_sha256(path / name) != expected:
            raise IndexCorrupt(
                f"index file {path / name} is missing or does not match its "
                "checksum in manifest.json; rebuild with 'kb index'"
            )
    try:
        chunks = [
            Chunk(**json.loads(line))
            for line in (path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        faiss_index = faiss.read_index(str(path / "vectors.faiss"))
        lexical = LexicalIndex.load(path / "bm25")
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise IndexCorrupt(f"index at {path} cannot be read ({exc}); rebuild with 'kb index'") from exc
    if len(chunks) != manifest.chunk_count or faiss_index.ntotal != len(chunks):
        raise IndexCorrupt(
            f"index at {path} is partial: {len(chunks)} chunks, "
            f"{faiss_index.ntotal} vectors, manifest says {manifest.chunk_count}"
        )
    flat = faiss.downcast_index(faiss_index)
    vectors = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
    return IndexData(
        path=path,
        version=version,
        manifest=manifest,
        chunks=chunks,
        vectors=np.array(vectors, dtype=np.float32),
        faiss_index=faiss_index,
        lexical=lexical,
    )


def _previous(
    index_dir: Path, embedder: Embedder, hashes: dict[str, str], facets: tuple[Facet, ...]
) -> tuple[dict[str, np.ndarray], dict[str, list[Chunk]]]:
    """From the live version, when built with the same weights: its vectors by text, and the
    chunks of documents whose file is unchanged (so they need not be rendered again)."""
    try:
        data = open_index(index_dir, embedder)
    except (IndexNotFound, IndexMismatch, IndexCorrupt):
        return {}, {}
    vectors = {text_key(c): data.vectors[i] for i, c in enumerate(data.chunks)}
    if data.manifest.chunker != CHUNKER_VERSION or data.manifest.facets != schema_signature(facets):
        return vectors, {}
    old = data.manifest.documents
    unchanged: dict[str, list[Chunk]] = {}
    for c in data.chunks:
        if old.get(c.doc_id) == hashes.get(c.doc_id):
            unchanged.setdefault(c.doc_id, []).append(c)
    return vectors, unchanged


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())


def _point_current(index_dir: Path, version: str) -> None:
    tmp = index_dir / f".{_CURRENT}.{os.getpid()}"
    tmp.write_text(version + "\n")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / _CURRENT)


def _recent(versions: Path, n: int) -> list[str]:
    names = sorted(p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    return names[-n:]


def _prune(versions: Path, keep: set[str]) -> None:
    """Drop old versions, keeping the live one and its predecessor (a reader may still hold it),
    and the leftovers of builds that were killed."""
    for p in versions.iterdir():
        if p.is_dir() and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
