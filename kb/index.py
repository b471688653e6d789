"""The index artifact: build it (incrementally, atomically) and open it (verified).

On disk::

    <index dir>/
      CURRENT                 name of the live version (replaced atomically)
      versions/<version>/
        manifest.json         schema, model and weights hash, template, counts, hashes, and the
                              size and sha256 of every other file in the folder
        vectors.faiss         exact inner-product index (IndexFlatIP; FAISS id = chunk row)
        chunks.jsonl          one chunk per line, in the order of the vectors
        bm25/                 bm25s index over the same chunks (JSON + NumPy, no pickle)

A build writes a new version folder and only then points CURRENT at it, so a build that fails or
is killed leaves the previous version live and served. Unchanged chunks reuse the previous
version's vectors (matched by content hash), so editing one brief embeds only its changed chunks.
Every file is checked against the manifest when a version is opened; a damaged live version is
not "up to date": the next build replaces it, reusing every vector whose files still check out.
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
from kb.errors import IndexCorrupt, IndexError_, IndexMismatch, IndexNotFound
from kb.facets import Facet, schema_signature
from kb.lexical import LexicalIndex
from kb.rendering import render_page

log = logging.getLogger(__name__)

# 3: `files` covers every file of the folder (bm25/ included), each with its size.
SCHEMA_VERSION = 3
_CURRENT = "CURRENT"
_MANIFEST = "manifest.json"
_VECTORS = "vectors.faiss"
_CHUNKS = "chunks.jsonl"
_BM25 = "bm25"
# The live version and its two predecessors: a server may still be serving the one before, and
# a damaged live version is repaired from the vectors of an older intact one.
KEEP_VERSIONS = 3


class ModelInfo(BaseModel):
    name: str
    weights_sha256: str
    # How the vectors were computed ("onnx-fp32", "torch"): an index embedded one way is not
    # silently queried another.
    backend: str
    dimension: int
    normalized: bool = True


class FileSum(BaseModel):
    """One file's size and sha256. The size is compared first: a truncated file is found
    without reading it."""

    size: int
    sha256: str


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
    files: dict[str, FileSum]  # every file but the manifest, by path relative to the folder


@dataclass(frozen=True)
class BuildReport:
    version: str
    documents: int
    chunks: int
    embedded: int
    reused: int
    seconds: float
    # What was wrong with the live version this build replaced ("version V is missing
    # bm25/vocab.index.json"), or None when it was intact or there was none.
    repaired: str | None = None


@dataclass(frozen=True)
class VersionCheck:
    """One version folder checked against its manifest (`kb index --verify`)."""

    version: str
    live: bool
    problem: str | None  # None when every file matches; otherwise what is wrong, in a phrase
    chunks: int = 0


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


class _Damaged(Exception):
    """What is wrong with one version folder, phrased to follow "index version <v> "; turned
    into kb's error by ``raised`` (with what to do) or printed as is by ``verify_index``."""

    def __init__(self, problem: str, error: type[IndexError_] = IndexCorrupt):
        super().__init__(problem)
        self.problem = problem
        self.error = error

    def raised(self, version: str) -> IndexError_:
        # No paths on this machine's disk: the message also reaches /readyz.
        return self.error(f"index version {version} {self.problem}; rebuild it with 'kb index'")


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
    """The manifest of the version folder ``path``; IndexCorrupt when missing or malformed,
    IndexMismatch when written by another schema version."""
    try:
        return _manifest_of(path)
    except _Damaged as damaged:
        raise damaged.raised(path.name) from damaged


def index_is_current(
    index_dir: Path, docs_dir: Path, embedder: Embedder, facets: tuple[Facet, ...] = ()
) -> bool:
    """True when the live index was built from these exact files with this model, backend and
    filter schema, and every one of its files still matches the manifest."""
    version = current_version(index_dir)
    if version is None:
        return False
    path = index_dir / "versions" / version
    try:
        manifest = _manifest_of(path)
    except _Damaged:
        return False
    return (
        manifest.chunker == CHUNKER_VERSION
        and manifest.model.name == embedder.name
        and manifest.model.backend == embedder.backend
        and manifest.facets == schema_signature(facets)
        and manifest.documents == document_hashes(docs_dir)
        and _file_problem(path, manifest) is None  # last: the only check that reads the files
    )


def verify_index(index_dir: Path) -> list[VersionCheck]:
    """Every version folder (and the one CURRENT names, even when its folder is gone) checked
    against its manifest, oldest first. Reads every file; changes nothing."""
    live = current_version(index_dir)
    names = set(_version_names(index_dir / "versions")) | ({live} if live else set())
    if not names:
        raise IndexNotFound(f"no index at {index_dir}; build one with 'kb index'")
    checks = []
    for name in sorted(names):
        try:
            manifest = _verified_manifest(index_dir / "versions" / name)
        except _Damaged as damaged:
            checks.append(VersionCheck(name, name == live, damaged.problem))
        else:
            checks.append(VersionCheck(name, name == live, None, manifest.chunk_count))
    return checks


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
        # Holding the lock, no other build is writing: every .partial left is a killed build's.
        _remove_leftovers(index_dir)
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
    previous, unchanged, repaired = _previous(index_dir, embedder, hashes, facets)
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
        faiss.write_index(flat, str(tmp / _VECTORS))
        with (tmp / _CHUNKS).open("w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c.to_json(), ensure_ascii=False) + "\n")
        LexicalIndex.build([c.embed_text for c in chunks] or [""]).save(tmp / _BM25)
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
            files=_file_sums(tmp),
        )
        # The manifest is written last: a folder without one is never opened.
        (tmp / _MANIFEST).write_text(manifest.model_dump_json(indent=2))
        _fsync_tree(tmp)
        final = versions / version
        tmp.rename(final)
        _fsync_dir(versions)  # the rename itself is durable before CURRENT names the folder
        _point_current(index_dir, version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(versions, live=version)
    return BuildReport(
        version=version,
        documents=len(docs),
        chunks=len(chunks),
        embedded=len(todo),
        reused=len(chunks) - len(todo),
        seconds=time.perf_counter() - started,
        repaired=repaired,
    )


def open_index(index_dir: Path, embedder: Embedder | None = None, version: str | None = None) -> IndexData:
    """Open the live (or named) version and verify it; refuse another model's index."""
    version = version or current_version(index_dir)
    if version is None:
        raise IndexNotFound(f"no index at {index_dir}; build one with 'kb index'")
    try:
        return _open(index_dir / "versions" / version, embedder)
    except _Damaged as damaged:
        raise damaged.raised(version) from damaged


def _open(path: Path, embedder: Embedder | None) -> IndexData:
    manifest = _manifest_of(path)
    if embedder is not None:
        model = manifest.model
        if (model.name, model.weights_sha256, model.backend) != (
            embedder.name,
            embedder.fingerprint,
            embedder.backend,
        ):
            raise _Damaged(
                f"was embedded with model {model.name!r} "
                f"(weights {model.weights_sha256[:12]}, {model.backend}), but the configured "
                f"model is {embedder.name!r} (weights {embedder.fingerprint[:12]}, "
                f"{embedder.backend})",
                IndexMismatch,
            )
    problem = _file_problem(path, manifest)
    if problem:
        raise _Damaged(problem)
    try:
        chunks = _read_chunks(path)
        faiss_index, vectors = _read_vectors(path)
        lexical = LexicalIndex.load(path / _BM25)
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise _Damaged(f"cannot be read ({type(exc).__name__}: {exc})") from exc
    if len(chunks) != manifest.chunk_count or faiss_index.ntotal != len(chunks):
        raise _Damaged(
            f"is partial: {len(chunks)} chunks, {faiss_index.ntotal} vectors, "
            f"the manifest says {manifest.chunk_count}"
        )
    return IndexData(
        path=path,
        version=path.name,
        manifest=manifest,
        chunks=chunks,
        vectors=vectors,
        faiss_index=faiss_index,
        lexical=lexical,
    )


def _manifest_of(path: Path) -> Manifest:
    """The version folder's manifest, of this schema version; _Damaged otherwise."""
    if not path.is_dir():
        raise _Damaged("is missing (no such folder)")
    try:
        raw = (path / _MANIFEST).read_bytes()
    except FileNotFoundError as exc:
        raise _Damaged(f"has no {_MANIFEST}") from exc
    except OSError as exc:
        raise _Damaged(f"has an unreadable {_MANIFEST} ({exc.strerror})") from exc
    try:
        schema = json.loads(raw).get("schema_version")
    except (ValueError, AttributeError):
        schema = SCHEMA_VERSION  # the validation below says what is wrong
    if schema != SCHEMA_VERSION:
        raise _Damaged(f"has schema version {schema}, this kb reads version {SCHEMA_VERSION}", IndexMismatch)
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _Damaged(f"has an invalid {_MANIFEST} ({where + ': ' if where else ''}{first['msg']})") from exc


def _verified_manifest(path: Path) -> Manifest:
    manifest = _manifest_of(path)
    problem = _file_problem(path, manifest)
    if problem:
        raise _Damaged(problem)
    return manifest


def _file_problem(path: Path, manifest: Manifest) -> str | None:
    """What differs between the folder and the manifest's file list, or None. Every size is
    compared before any file is hashed, and each file is hashed once."""
    listed = manifest.files
    if _VECTORS not in listed or _CHUNKS not in listed or not any(n.startswith(f"{_BM25}/") for n in listed):
        return f"has a {_MANIFEST} that does not list {_VECTORS}, {_CHUNKS} and {_BM25}/"
    for name, want in listed.items():
        try:
            size = (path / name).stat().st_size
        except FileNotFoundError:
            return f"is missing {name}"
        except OSError as exc:
            return f"has an unreadable {name} ({exc.strerror})"
        if size != want.size:
            return f"has a damaged {name} ({size} bytes, the manifest says {want.size})"
    for name, want in listed.items():
        try:
            digest = _file_sha256(path / name)
        except OSError as exc:
            return f"has an unreadable {name} ({exc.strerror})"
        if digest != want.sha256:
            return f"has a damaged {name} (its sha256 does not match the manifest)"
    return None


def _previous(
    index_dir: Path, embedder: Embedder, hashes: dict[str, str], facets: tuple[Facet, ...]
) -> tuple[dict[str, np.ndarray], dict[str, list[Chunk]], str | None]:
    """From the live version, when built with the same weights: its vectors by text, the
    chunks of documents whose file is unchanged (so they need not be rendered again), and None.
    When the live version is damaged: the vectors that can still be trusted, no chunks, and
    what was wrong with it."""
    version = current_version(index_dir)
    if version is None:
        return _trusted_vectors(index_dir, embedder), {}, None
    try:
        data = _open(index_dir / "versions" / version, embedder)
    except _Damaged as damaged:
        repaired = f"version {version} {damaged.problem}" if damaged.error is IndexCorrupt else None
        return _trusted_vectors(index_dir, embedder), {}, repaired
    vectors = {text_key(c): data.vectors[i] for i, c in enumerate(data.chunks)}
    if data.manifest.chunker != CHUNKER_VERSION or data.manifest.facets != schema_signature(facets):
        return vectors, {}, None
    old = data.manifest.documents
    unchanged: dict[str, list[Chunk]] = {}
    for c in data.chunks:
        if old.get(c.doc_id) == hashes.get(c.doc_id):
            unchanged.setdefault(c.doc_id, []).append(c)
    return vectors, unchanged, None


def _trusted_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors by text from every version folder whose vectors.faiss and chunks.jsonl still
    match the checksums its manifest recorded for them, embedded by this model: a version with
    a damaged BM25 folder or a manifest missing some other key still vouches for its vectors.
    Newer versions win where two hold the same text."""
    trusted: dict[str, np.ndarray] = {}
    for name in _version_names(index_dir / "versions"):  # oldest first, so newer overwrite
        try:
            trusted.update(_vectors_of(index_dir / "versions" / name, embedder))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
            log.debug("no vectors reused from index version %s: %s", name, exc)
    return trusted


def _vectors_of(folder: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    # Read as plain JSON, not as a Manifest: the point is to use what a damaged one still holds.
    raw = json.loads((folder / _MANIFEST).read_bytes())
    model = raw["model"]
    made_by = (model["name"], model["weights_sha256"], model["backend"], model["dimension"])
    if made_by != (embedder.name, embedder.fingerprint, embedder.backend, embedder.dimension):
        return {}
    if raw["text_template"] != TEXT_TEMPLATE:
        return {}
    for name in (_VECTORS, _CHUNKS):
        want = raw["files"][name]
        # Schema 2 recorded the bare sha256: its vectors are as trustworthy.
        if _file_sha256(folder / name) != (want if isinstance(want, str) else want["sha256"]):
            return {}
    chunks = _read_chunks(folder)
    _, vectors = _read_vectors(folder)
    if len(chunks) != len(vectors):
        return {}
    return {text_key(c): vectors[i] for i, c in enumerate(chunks)}


def _read_chunks(folder: Path) -> list[Chunk]:
    return [Chunk(**json.loads(line)) for line in (folder / _CHUNKS).read_text(encoding="utf-8").splitlines()]


def _read_vectors(folder: Path) -> tuple[faiss.Index, np.ndarray]:
    faiss_index = faiss.read_index(str(folder / _VECTORS))
    flat = faiss.downcast_index(faiss_index)
    vectors = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
    return faiss_index, np.array(vectors, dtype=np.float32)


def _file_sums(folder: Path) -> dict[str, FileSum]:
    return {
        p.relative_to(folder).as_posix(): FileSum(size=p.stat().st_size, sha256=_file_sha256(p))
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != _MANIFEST
    }


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a rename, a new file) durable, not only the files' bytes."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())
        elif p.is_dir():
            _fsync_dir(p)
    _fsync_dir(folder)


def _point_current(index_dir: Path, version: str) -> None:
    tmp = index_dir / f".{_CURRENT}.{os.getpid()}"
    tmp.write_text(version + "\n")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / _CURRENT)
    _fsync_dir(index_dir)  # else a crash can bring back the old CURRENT after a reader saw the new


def _version_names(versions: Path) -> list[str]:
    """Complete version folders (not .partial), oldest first (names are UTC timestamps)."""
    if not versions.is_dir():
        return []
    return sorted(p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))


def _remove_leftovers(index_dir: Path) -> None:
    """The .partial folders and CURRENT temp files of builds that were killed. Only called
    under the build lock: then no build is writing any of them."""
    versions = index_dir / "versions"
    leftovers = [*index_dir.glob(f".{_CURRENT}.*")]
    if versions.is_dir():
        leftovers += [p for p in versions.iterdir() if p.name.startswith(".") and p.name.endswith(".partial")]
    for p in leftovers:
        log.info("removing %s, left by a build that did not finish", p.name)
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _prune(versions: Path, live: str) -> None:
    """Drop versions older than the last KEEP_VERSIONS (the live one is always kept)."""
    keep = {live, *_version_names(versions)[-KEEP_VERSIONS:]}
    for name in _version_names(versions):
        if name not in keep:
            shutil.rmtree(versions / name, ignore_errors=True)
