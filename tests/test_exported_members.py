"""The public API is sealed: these names, each importable, and nothing heavy at import."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

import kb

EXPECTED = [
    "Chunk",
    "ContentError",
    "Document",
    "Embedder",
    "IndexCorrupt",
    "IndexMismatch",
    "IndexNotFound",
    "InvalidQuery",
    "KBError",
    "Query",
    "SearchResult",
    "Searcher",
    "SentenceTransformerEmbedder",
    "Settings",
    "Taxonomy",
    "UnknownDocument",
    "build_index",
    "check_content",
    "chunk_document",
    "load_documents",
    "load_taxonomy",
    "open_index",
    "open_searcher",
    "update_index",
    "update_site",
]


def test_public_api_is_pinned():
    assert kb.__all__ == EXPECTED
    for name in kb.__all__:
        assert getattr(kb, name) is not None


def test_errors_form_one_tree():
    for name in (
        "ContentError",
        "IndexNotFound",
        "IndexMismatch",
        "IndexCorrupt",
        "InvalidQuery",
        "UnknownDocument",
    ):
        assert issubclass(getattr(kb, name), kb.KBError)


def test_import_kb_is_light():
    code = (
        "import sys, kb; print(sorted(m for m in ('torch', 'faiss', 'sentence_transformers', "
        "'mkdocs', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
