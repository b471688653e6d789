"""The model on ONNX Runtime: 2.5-3x faster than torch for one query on these machines.

The ONNX graph is exported locally from the packaged weights, once, and cached beside the index
(``<index>/models/``); nothing is downloaded. Why not sentence-transformers' own ONNX backend:
it exports through ``optimum-onnx``, which requires transformers < 4.58, while
sentence-transformers 6 requires transformers >= 5, so the two cannot share one environment.
Here ``torch.onnx`` (the TorchScript exporter) traces the transformer with mean pooling and L2
normalization inside the graph, and the model's own ``tokenizers`` tokenizer feeds it: the same
computation as sentence-transformers (cosine >= 0.999 on real text, pinned by a test).

The export runs in a child process, so a server that only queries never imports torch (its
memory stays small); ``int8`` is a dynamically quantized copy of the fp32 graph.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from kb.embedding import resolve_model_path, weights_fingerprint
from kb.errors import KBError
from kb.settings import DEFAULT_MODEL

Precision = Literal["fp32", "int8"]
# One text per run, batches side by side on the cores: no padding, so faster here (fp32 102 vs
# 72 texts/s with batches of 32; int8 241 vs 127), and for int8 a text's vector does not depend
# on its neighbours (dynamic quantization scales a run by its own range: batched, kb eval moved
# by 0.007 between two builds).
_BATCH = 1


class OnnxUnavailable(KBError):
    """ONNX Runtime is missing or the export failed; the caller falls back to torch."""


class OnnxEmbedder:
    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        cache_dir: Path | None = None,
        precision: Precision = "fp32",
        threads: int | None = None,
    ):
        try:
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError as exc:
            raise OnnxUnavailable(f"{exc.name} is not installed") from exc
        self.name = model
        self.path = resolve_model_path(model)
        self.precision = precision
        self.backend = f"onnx-{precision}"
        self.cache_dir = cache_dir or Path(".kb/models")
        # Each run uses one thread: a server runs requests side by side, one per core, and a
        # build runs ``threads`` batches side by side (faster here than threads inside a run).
        self.threads = threads or 1
        config = json.loads((self.path / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config.get("max_seq_length", 256))
        self.dimension = int(json.loads((self.path / "config.json").read_text())["hidden_size"])

    @cached_property
    def fingerprint(self) -> str:
        return weights_fingerprint(self.path)

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tok.enable_truncation(self.max_tokens)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        return tok

    @cached_property
    def _session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])

    @cached_property
    def model_file(self) -> Path:
        """The cached export for these weights and this precision, made on first use."""
        folder = self.cache_dir / self.fingerprint[:16]
        target = folder / f"model-{self.precision}.onnx"
        if target.is_file():
            return target
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".export.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a server and `kb index` may both get here
            if not target.is_file():
                _export_in_child(self.path, folder, self.precision)
        return target

    def prepare(self) -> None:
        """Export (first time only) and load the graph."""
        self._session  # noqa: B018

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def embed(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Batches of similar length pad little: sort by length, embed, put back in order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        batches = [order[start : start + _BATCH] for start in range(0, len(texts), _BATCH)]
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Embedding sections", unit="section")

        def run(rows: np.ndarray) -> None:
            out[rows] = self._run([texts[i] for i in rows])
            if bar is not None:
                bar.update(len(rows))

        if self.threads > 1 and len(batches) > 1:
            from concurrent.futures import ThreadPoolExecutor

            # ONNX Runtime releases the GIL while it runs: batches truly run side by side.
            with ThreadPoolExecutor(self.threads) as pool:
                list(pool.map(run, batches))
        else:
            for rows in batches:
                run(rows)
        if bar is not None:
            bar.close()
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encoded = (
            self._tokenizer.encode_batch(texts) if len(texts) > 1 else [self._tokenizer.encode(texts[0])]
        )
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return np.ascontiguousarray(self._session.run(None, feeds)[0], dtype=np.float32)


def _export_in_child(model_path: Path, folder: Path, precision: Precision) -> None:
    cmd = [sys.executable, "-m", "kb.onnx_encoder", str(model_path), str(folder), precision]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise OnnxUnavailable(f"exporting the model to ONNX failed: {tail}")


def export(model_path: Path, folder: Path, precision: Precision) -> Path:
    """Write ``model-<precision>.onnx`` into ``folder`` (atomically: a temp file, then rename)."""
    import torch
    from transformers import AutoModel

    fp32 = folder / "model-fp32.onnx"
    if not fp32.is_file():
        model = AutoModel.from_pretrained(
            str(model_path), local_files_only=True, attn_implementation="eager"
        ).eval()

        class Pooled(torch.nn.Module):
            """The transformer, then mean pooling over real tokens, then L2 normalization:
            sentence-transformers' Pooling and Normalize modules, in the graph."""

            def __init__(self, inner: torch.nn.Module):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.inner(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        sample = torch.ones(2, 8, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        tmp = folder / f".model-fp32.{os.getpid()}.onnx"
        with torch.no_grad():
            torch.onnx.export(
                Pooled(model),
                (sample, sample, torch.zeros_like(sample)),
                str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                opset_version=17,
                dynamo=False,
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "embedding": {0: "batch"},
                },
            )
        os.replace(tmp, fp32)
    if precision == "fp32":
        return fp32
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = folder / f"model-{precision}.onnx"
    tmp = folder / f".model-{precision}.{os.getpid()}.onnx"
    quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8)
    os.replace(tmp, target)
    return target


if __name__ == "__main__":
    export(Path(sys.argv[1]), Path(sys.argv[2]), "int8" if sys.argv[3] == "int8" else "fp32")
