"""The PSP Community of Practice knowledge base: content, index and search.

The public API is the names below; everything else is internal. Names load lazily, so
``import kb`` (and ``kb --help``) never pulls in torch, FAISS or MkDocs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Settings": "kb.settings",
    "Taxonomy": "kb.taxonomy",
    "load_taxonomy": "kb.taxonomy",
    "Document": "kb.documents",
    "load_documents": "kb.documents",
    "check_content": "kb.validation",
    "Chunk": "kb.chunking",
    "chunk_document": "kb.chunking",
    "Embedder": "kb.embedding",
    "SentenceTransformerEmbedder": "kb.embedding",
    "build_index": "kb.index",
    "open_index": "kb.index",
    "Query": "kb.search",
    "Searcher": "kb.search",
    "SearchResult": "kb.search",
    "update_index": "kb.workflow",
    "update_site": "kb.workflow",
    "open_searcher": "kb.workflow",
    "KBError": "kb.errors",
    "ContentError": "kb.errors",
    "IndexNotFound": "kb.errors",
    "IndexMismatch": "kb.errors",
    "IndexCorrupt": "kb.errors",
    "InvalidQuery": "kb.errors",
    "UnknownDocument": "kb.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kb' has no attribute {name!r}")
