"""Forward passes: the torch reference (sentence-transformers) and the ONNX Runtime runner.

Both take already tokenised, length-sorted batches from the encoder and return L2-normalised
float32 sentence vectors. torch and onnxruntime are imported only when a backend is built, so
that ``import qa_insights`` stays light.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

__all__ = ["TorchBackend", "OnnxBackend", "read_pooling_mode", "l2_normalise"]

logger = logging.getLogger(__name__)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (as sentence-transformers' ``Normalize``, eps 1e-12)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def read_pooling_mode(model_dir: Path) -> str:
    """The pooling mode of a sentence-transformers model directory (``"mean"`` if unstated)."""
    modules = model_dir / "modules.json"
    pooling_dir = model_dir / "1_Pooling"
    if modules.is_file():
        for module in json.loads(modules.read_text(encoding="utf-8")):
            if module.get("type", "").endswith("Pooling"):
                pooling_dir = model_dir / module.get("path", "1_Pooling")
    config = pooling_dir / "config.json"
    if not config.is_file():
        return "mean"
    cfg = json.loads(config.read_text(encoding="utf-8"))
    if "pooling_mode" in cfg and isinstance(cfg["pooling_mode"], str):
        return cfg["pooling_mode"]
    for mode in ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens",
                 "weightedmean_tokens", "lasttoken"):
        if cfg.get(f"pooling_mode_{mode}"):
            return {"cls_token": "cls", "mean_tokens": "mean", "max_tokens": "max"}.get(mode, mode)
    return "mean"


class TorchBackend:
    """The reference path: ``SentenceTransformer(model_dir).encode`` on CPU in float32."""

    name = "torch"

    def __init__(self, model_dir: Path, max_seq_length: int, n_threads: int | None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if n_threads is not None:
            torch.set_num_threads(n_threads)
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.model.max_seq_length = max_seq_length
        self.n_threads = torch.get_num_threads()

    def encode_texts(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-norm float32 vectors of ``texts`` (sentence-transformers batches by length)."""
        vectors = self.model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                                    normalize_embeddings=False, show_progress_bar=False)
        return l2_normalise(np.asarray(vectors, dtype=np.float32))


class OnnxBackend:
    """An ONNX Runtime session on an exported model, with pooling and L2 norm in numpy.

    Parameters
    ----------
    onnx_path : Path
        Exported model (inputs ``input_ids``, ``attention_mask``; output the last hidden state).
    pooling : {"mean", "cls", "max"}
        Pooling of the model directory this file was exported from.
    n_threads : int
        ONNX Runtime intra-op threads (inter-op is 1: the graph is a chain).
    """

    def __init__(self, onnx_path: Path, pooling: str, n_threads: int, name: str = "onnx") -> None:
        import onnxruntime as ort

        if pooling not in ("mean", "cls", "max"):
            raise ValueError(f"pooling mode {pooling!r} is not supported by the ONNX runner; "
                             "use backend='torch'")
        options = ort.SessionOptions()
        options.intra_op_num_threads = n_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # the cores are shared with tokenisation and other processes; spinning threads burn
        # CPU that the next batch needs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), options,
                                            providers=["CPUExecutionProvider"])
        self.pooling = pooling
        self.n_threads = n_threads
        self.name = name

    def encode_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Unit-norm float32 vectors of one padded batch."""
        hidden = self.session.run(None, {"input_ids": input_ids,
                                         "attention_mask": attention_mask})[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        elif self.pooling == "max":
            pooled = np.where(attention_mask[..., None] > 0, hidden, -np.inf).max(axis=1)
        else:
            mask = attention_mask[..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return l2_normalise(pooled)


def default_threads() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
