"""The policy-area classifier: zero-shot from the taxonomy, supervised where labels exist."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ..errors import ConfigError, InputError, StateError
from ._config import DEFAULT_THRESHOLDS
from ._taxonomy import UNKNOWN, PolicyTaxonomy
from ._lexical import fit_idf, hashed_counts, lexical_features
from ._supervised import area_scores, calibrated, fit_area, neighbour_vote, recentre
from ._zero_shot import area_similarity, loo_calibration

__all__ = ["PolicyClassifier", "label_matrix"]

logger = logging.getLogger(__name__)

_MODES = ("zero_shot", "supervised")


@functools.lru_cache(maxsize=1)
def _default_encoder():
    """One shared default :class:`qa_insights.embed.TextEncoder` per process."""
    try:
        from ..embed import TextEncoder
    except ImportError as exc:  # pragma: no cover - depends on the embed stage being present
        raise ImportError("PolicyClassifier needs qa_insights.embed.TextEncoder, or pass "
                          "encoder= (any object with .encode(list[str]) and .fingerprint)") from exc
    return TextEncoder()


def label_matrix(y: Any, taxonomy: PolicyTaxonomy) -> np.ndarray:
    """Turn policy labels into an (n, n_areas) matrix of 1 / 0 / NaN (unknown).

    Parameters
    ----------
    y : sequence of str or None, or DataFrame
        Either one label per record (area id or alias; ``None``/NaN/"unknown" for unlabelled
        records), read as "this area and no other"; or a DataFrame with one column per area id
        holding 1, 0 or NaN (multi-label, partially known), other areas unknown.
    taxonomy : PolicyTaxonomy

    Returns
    -------
    ndarray of float (n, n_areas), columns in ``taxonomy.ids`` order.
    """
    ids = taxonomy.ids
    if isinstance(y, pd.DataFrame):
        extra = [c for c in y.columns if c not in ids]
        if extra:
            raise ConfigError(f"label columns {extra} are not area ids of {taxonomy.source}")
        out = np.full((len(y), len(ids)), np.nan)
        for c in y.columns:
            col = pd.to_numeric(y[c], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isnan(col) & ~np.isin(col, (0.0, 1.0))
            if bad.any():
                raise InputError(f"label column {c!r} must hold 1, 0 or empty",
                                 source="<DataFrame>", row=int(np.flatnonzero(bad)[0]) + 1)
            out[:, ids.index(c)] = col
        return out
    labels = taxonomy.canonical_labels(list(y))
    out = np.full((len(labels), len(ids)), np.nan)
    for i, lab in enumerate(labels):
        if lab is not None:
            out[i] = 0.0
            out[i, ids.index(lab)] = 1.0
    return out


class PolicyClassifier(ClassifierMixin, BaseEstimator):
    """Assigns each text a policy area, a confidence, runners-up, or ``unknown``.

    Two modes share one interface. ``zero_shot`` needs only the taxonomy: a text's score for
    an area blends its cosine similarity to the area's description with the mean of its
    ``top_k`` highest similarities to the area's example phrases; one logistic map, fitted
    leave-one-out on the taxonomy's own examples, turns each area's score into a one-vs-rest
    probability. (A softmax over areas was tried and lost: it splits a text that is both
    sexual and about a minor between two areas, macro AP 0.38 against 0.44 on the benchmark.)
    ``supervised`` scores, per area with at least ``min_labels`` positive and negative labels,
    (when ``fit`` is given the texts and ``lexical`` is on, the sigmoid also reads an n-gram
    logistic model of the words, see :mod:`qa_insights.policy._lexical`; such a model needs
    the texts at prediction time as well)
    a blend of a logistic regression (one-vs-rest) on the re-centred embeddings, a
    nearest-neighbour vote of the labelled rows and the zero-shot logit, turned into a
    probability by a sigmoid fitted on out-of-fold scores (see
    :mod:`qa_insights.policy._supervised`); the taxonomy's examples count as extra labelled
    rows if ``taxonomy_rows``. Other areas keep their zero-shot probability. Rows need not sum
    to 1, which is what lets a ticket be both harassment and hate (see ``policy_areas`` in
    :meth:`predict_frame`).

    **Non-English texts.** With a :class:`~qa_insights.embed.RoutedEncoder` (``auto`` mode) and
    a taxonomy with ``translated_examples``, a text that took the multilingual route is also
    scored in the multilingual model's own space (its raw e5 vector against the English
    taxonomy embedded by e5), and its zero-shot logit is ``a * mapped score + b * e5 score +
    c``, fitted on the translated examples scored against the English evidence: the way a real
    non-English ticket is scored. English texts keep the leave-one-out map above. Pass the raw
    vectors as ``native=`` with precomputed embeddings (the encoder's ``native_`` after
    ``encode``); without them every text is scored as English would be.

    Parameters
    ----------
    taxonomy : PolicyTaxonomy, optional
        Defaults to the shipped ``configs/policy_areas.yaml``.
    mode : {"zero_shot", "supervised"}
    encoder : object, optional
        Anything with ``encode(list[str]) -> ndarray (n, d)`` of L2-normalised rows and a
        ``fingerprint`` string; defaults to :class:`qa_insights.embed.TextEncoder`.
    threshold : float, optional
        Abstention threshold on the top probability; ``None``: the mode's default in
        :data:`~qa_insights.policy.DEFAULT_THRESHOLDS`.
    multilabel_threshold, min_labels, top_k, description_weight, C, knn_k, knn_temperature,
    knn_weight, zero_shot_weight, tune_blend, calibration_folds, zero_shot_features, taxonomy_rows,
    lexical, lexical_C, n_alternatives, random_state
        See :class:`~qa_insights.policy.PolicyConfig`.

    Attributes
    ----------
    classes_ : ndarray of str
        Area ids, the column order of :meth:`predict_proba`.
    zero_shot_slope_, zero_shot_intercept_ : float
        The leave-one-out logistic map from zero-shot score to probability.
    crosslingual_ : ndarray (3,)
        ``(a, b, c)`` of the non-English logit, or empty when there is none (no multilingual
        encoder, or no translated examples).
    crosslingual_top_k_ : int
        How many closest examples the non-English scores average (chosen on the translated
        examples).
    native_description_embeddings_, native_example_embeddings_ : ndarray
        The taxonomy embedded by e5 (empty without ``crosslingual_``).
    threshold_ : float
    supervised_areas_ : list of str
        Areas with their own supervised model (empty in zero-shot mode).
    centre_ : ndarray (d,)
        Mean embedding of the training records (zeros in zero-shot mode).
    coef_, intercept_, calibration_ : ndarray (n_sup, p), (n_sup,), (n_sup, 2)
        Per supervised area: logistic regression weights and the (slope, offset) sigmoid.
    blend_ : ndarray (n_sup, 2)
        Per supervised area: the (knn_weight, zero_shot_weight) in force.
    neighbour_units_, neighbour_labels_ : ndarray (m, d), (m, n_sup)
        Re-centred training rows and their 1 / 0 / NaN labels, for the neighbour vote.
    lexical_columns_, lexical_idf_ : ndarray (q,)
        Hashed n-gram columns seen in training and their idf (empty without the n-gram view).
    lexical_coef_, lexical_intercept_, lexical_slope_ : ndarray (n_sup, q), (n_sup,), (n_sup,)
        Per supervised area: the n-gram logistic model and its slope in the sigmoid.
    taxonomy_sha256_, encoder_fingerprint_ : str
        Identity of what the model was built from, checked on load and on encoding.
    native_fingerprint_ : str or None
        Identity of the e5 vectors ``crosslingual_`` expects.

    Examples
    --------
    >>> clf = PolicyClassifier(encoder=my_encoder).fit()          # doctest: +SKIP
    >>> clf.predict_frame(["they posted my home address"])        # doctest: +SKIP
    """

    def __init__(self, taxonomy: PolicyTaxonomy | None = None, *, mode: str = "zero_shot",
                 encoder: Any = None, threshold: float | None = None,
                 multilabel_threshold: float = 0.35, min_labels: int = 10, top_k: int = 5,
                 description_weight: float = 0.15, C: float = 1.0, knn_k: int = 30,
                 knn_temperature: float = 10.0, knn_weight: float = 8.0,
                 zero_shot_weight: float = 0.5, tune_blend: bool = False,
                 calibration_folds: int = 5,
                 zero_shot_features: bool = False, taxonomy_rows: bool = True,
                 lexical: bool = True, lexical_C: float = 4.0,
                 n_alternatives: int = 3,
                 random_state: int | None = 0) -> None:
        self.taxonomy = taxonomy
        self.mode = mode
        self.encoder = encoder
        self.threshold = threshold
        self.multilabel_threshold = multilabel_threshold
        self.min_labels = min_labels
        self.top_k = top_k
        self.description_weight = description_weight
        self.C = C
        self.knn_k = knn_k
        self.knn_temperature = knn_temperature
        self.knn_weight = knn_weight
        self.zero_shot_weight = zero_shot_weight
        self.tune_blend = tune_blend
        self.calibration_folds = calibration_folds
        self.zero_shot_features = zero_shot_features
        self.taxonomy_rows = taxonomy_rows
        self.lexical = lexical
        self.lexical_C = lexical_C
        self.n_alternatives = n_alternatives
        self.random_state = random_state

    # ------------------------------------------------------------------ helpers
    def _encoder(self):
        return self.encoder if self.encoder is not None else _default_encoder()

    def _check_params(self) -> None:
        if self.mode not in _MODES:
            raise ConfigError(f"mode must be one of {list(_MODES)}, got {self.mode!r}")
        if self.min_labels < self.calibration_folds:
            raise ConfigError("min_labels must be at least calibration_folds")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {self.threshold}")
        if not 0.0 <= self.description_weight <= 1.0:
            raise ConfigError("description_weight must be in [0, 1]")
        if self.knn_k < 1 or self.C <= 0 or self.knn_temperature < 0:
            raise ConfigError("knn_k must be >= 1, C > 0 and knn_temperature >= 0")
        if self.lexical_C <= 0:
            raise ConfigError("lexical_C must be > 0")

    @staticmethod
    def _as_texts(X: Any) -> list[str]:
        if isinstance(X, str):
            raise InputError("expected a sequence of texts, got a single string")
        if isinstance(X, pd.DataFrame):
            raise InputError("expected a sequence of texts, got a DataFrame; pass one column")
        return ["" if (t is None or (isinstance(t, float) and t != t)) else str(t) for t in X]

    def _encode(self, texts: list[str]) -> np.ndarray:
        encoder = self._encoder()
        fingerprint = getattr(self, "encoder_fingerprint_", None)
        if fingerprint is not None and encoder.fingerprint != fingerprint:
            raise StateError(f"encoder fingerprint {encoder.fingerprint!r} differs from the one "
                             f"this classifier was fitted with ({fingerprint!r}); use the same "
                             "encoder or refit")
        emb = np.asarray(encoder.encode(texts))
        if emb.ndim != 2 or emb.shape[0] != len(texts):
            raise StateError(f"encoder returned shape {emb.shape} for {len(texts)} texts")
        return emb

    def _embeddings(self, X: Any, embeddings: Any) -> np.ndarray:
        if embeddings is None:
            if X is None:
                raise InputError("pass texts (X) or precomputed embeddings=")
            return self._encode(self._as_texts(X)).astype(np.float64)
        emb = np.asarray(embeddings, dtype=np.float64)
        if emb.ndim != 2:
            raise InputError(f"embeddings must be 2-D, got shape {emb.shape}")
        if X is not None and len(X) != emb.shape[0]:
            raise InputError(f"{len(X)} texts but {emb.shape[0]} embedding rows")
        dim = getattr(self, "n_features_in_", None)
        if dim is not None and emb.shape[1] != dim:
            raise InputError(f"embeddings have {emb.shape[1]} dimensions, the classifier "
                             f"was fitted on {dim}")
        return emb

    def _embeddings_and_native(self, X: Any, embeddings: Any,
                               native: Any) -> tuple[np.ndarray, Any]:
        """The rows' embeddings and, when this call encodes the texts with a routed encoder,
        the raw e5 vectors it produced on the way."""
        emb = self._embeddings(X, embeddings)
        if embeddings is not None or native is not None:
            return emb, native
        from ..embed import last_native

        encoder = self._encoder()
        native = last_native(encoder, emb.shape[0])
        if native is None:
            return emb, None
        fp = getattr(encoder, "native_fingerprint", None)
        expected = getattr(self, "native_fingerprint_", None)
        if expected is not None and fp is not None and str(fp) != expected:
            raise StateError(f"e5 fingerprint {fp!r} differs from the one this classifier was "
                             f"fitted with ({expected!r}); use the same encoder or refit")
        return emb, native

    def _zero_shot_scores(self, emb: np.ndarray, top_k: int | None = None) -> np.ndarray:
        return area_similarity(emb, self.description_embeddings_, self.example_embeddings_,
                               self.example_area_, top_k=self.top_k if top_k is None else top_k,
                               description_weight=self.description_weight)

    def _features(self, units: np.ndarray, zs_logits: np.ndarray) -> np.ndarray:
        if not self.zero_shot_features:
            return units
        # the zero-shot logits rather than raw cosines: on the scale where differences between
        # areas matter, so the one C suits them as it suits the embeddings
        return np.hstack([units, zs_logits])

    def _zero_shot_logits(self, zs_scores: np.ndarray) -> np.ndarray:
        return self.zero_shot_slope_ * zs_scores + self.zero_shot_intercept_

    # ------------------------------------------------------------------ fit
    def fit(self, X: Sequence[str] | None = None, y: Any = None, *,
            embeddings: Any = None, native: Any = None) -> "PolicyClassifier":
        """Build the zero-shot model from the taxonomy and, in supervised mode, train on labels.

        Parameters
        ----------
        X : sequence of str, optional
            Texts (not needed in zero-shot mode).
        y : sequence of labels or DataFrame, optional
            Policy labels (see :func:`label_matrix`); required in supervised mode.
        embeddings : array (n, d), optional
            Precomputed embeddings of ``X`` from the same encoder (avoids re-encoding).
        native : array (n, d_e5), optional
            With ``embeddings``: raw e5 vectors of the non-English rows, NaN rows elsewhere.

        Returns
        -------
        self
        """
        self._check_params()
        taxonomy = self.taxonomy if self.taxonomy is not None else PolicyTaxonomy.default()
        encoder = self._encoder()
        for name in ("encoder_fingerprint_", "n_features_in_"):
            self.__dict__.pop(name, None)
        areas = taxonomy.areas
        desc = np.asarray(encoder.encode([f"{a.name}: {a.description}" for a in areas]),
                          dtype=np.float64)
        example_texts = [ex for a in areas for ex in a.examples]
        example_area = np.array([i for i, a in enumerate(areas) for _ in a.examples],
                                dtype=np.int64)
        ex = np.asarray(encoder.encode(example_texts), dtype=np.float64)
        self.taxonomy_ = taxonomy
        self.taxonomy_sha256_ = taxonomy.sha256
        self.encoder_fingerprint_ = str(encoder.fingerprint)
        self.classes_ = np.array(taxonomy.ids, dtype=object)
        self.description_embeddings_ = desc
        self.example_embeddings_ = ex
        self.example_area_ = example_area
        self.n_features_in_ = desc.shape[1]
        self.zero_shot_slope_, self.zero_shot_intercept_ = loo_calibration(
            desc, ex, example_area, top_k=self.top_k, description_weight=self.description_weight)
        self._fit_crosslingual(encoder, taxonomy, areas)
        self.supervised_areas_: list[str] = []
        n_feat = desc.shape[1] + (len(areas) if self.zero_shot_features else 0)
        self.centre_ = np.zeros(desc.shape[1])
        self.coef_ = np.zeros((0, n_feat))
        self.intercept_ = np.zeros(0)
        self.calibration_ = np.zeros((0, 2))
        self.blend_ = np.zeros((0, 2))
        self.neighbour_units_ = np.zeros((0, desc.shape[1]))
        self.neighbour_labels_ = np.zeros((0, 0))
        self.lexical_columns_ = np.zeros(0, dtype=np.int64)
        self.lexical_idf_ = np.zeros(0)
        self.lexical_coef_ = np.zeros((0, 0))
        self.lexical_intercept_ = np.zeros(0)
        self.lexical_slope_ = np.zeros(0)
        logger.info("policy classifier: %d areas, %d examples, zero-shot map %.2f*s%+.2f",
                    len(areas), len(example_texts), self.zero_shot_slope_,
                    self.zero_shot_intercept_)
        if self.mode == "supervised":
            if y is None:
                raise ConfigError("supervised mode needs policy_area labels (y)")
            self._fit_supervised(X, y, embeddings, native)
        return self

    def _fit_crosslingual(self, encoder, taxonomy: PolicyTaxonomy, areas) -> None:
        """The non-English logit, from the translated examples (see the class docstring)."""
        self.crosslingual_ = np.zeros(0)
        self.crosslingual_top_k_ = int(self.top_k)
        self.native_description_embeddings_ = np.zeros((0, 0))
        self.native_example_embeddings_ = np.zeros((0, 0))
        self.native_fingerprint_ = None
        texts, langs, area_of = [], [], []
        for i, area in enumerate(areas):
            for tag, phrases in area.translated_examples.items():
                texts += phrases
                langs += [tag] * len(phrases)
                area_of += [i] * len(phrases)
        if (not texts or not hasattr(encoder, "encode_native")
                or getattr(encoder, "mode", None) != "auto"):
            return
        native_desc = np.asarray(encoder.encode_native(
            [f"{a.name}: {a.description}" for a in areas]), dtype=np.float64)
        native_ex = np.asarray(encoder.encode_native(
            [ex for a in areas for ex in a.examples]), dtype=np.float64)
        mapped = np.asarray(encoder.encode(texts, languages=langs), dtype=np.float64)
        raw = getattr(encoder, "native_", None)
        raw = (np.full((len(texts), native_desc.shape[1]), np.nan) if raw is None
               else np.asarray(raw, dtype=np.float64))
        english = np.isnan(raw).any(axis=1)
        if english.any():
            # a translated example the router keeps English (a loanword-heavy phrase) is
            # still scored the way a non-English ticket is, for the fit
            raw[english] = encoder.encode_native([texts[i] for i in np.flatnonzero(english)])
        self.native_description_embeddings_ = native_desc
        self.native_example_embeddings_ = native_ex
        area_of = np.asarray(area_of)
        target = np.zeros((len(texts), len(areas)), dtype=int)
        target[np.arange(len(texts)), area_of] = 1
        best = None
        # how many closest examples a cross-lingual score averages is chosen here, on the
        # translated examples (cross-lingual similarities are flatter than English ones, so
        # the English top_k need not suit them); the classifier's own top_k wins ties
        for k in dict.fromkeys((int(self.top_k), 1, 3, 5, 10)):
            s_mapped, s_native = self._crosslingual_scores(mapped, raw, k)
            lr = LogisticRegression(C=100.0, max_iter=2000)
            lr.fit(np.column_stack([s_mapped.ravel(), s_native.ravel()]), target.ravel())
            coef = np.array([lr.coef_[0, 0], lr.coef_[0, 1], lr.intercept_[0]])
            hits = float(np.mean((coef[0] * s_mapped + coef[1] * s_native).argmax(axis=1)
                                 == area_of))
            if best is None or hits > best[0]:
                best = (hits, k, coef)
        hits, self.crosslingual_top_k_, self.crosslingual_ = best
        self.native_fingerprint_ = str(encoder.native_fingerprint)
        logger.info("policy classifier: non-English logit %.2f*mapped %+.2f*e5 %+.2f (top %d "
                    "examples) from %d translated examples (%.0f%% in their own area)",
                    *self.crosslingual_, self.crosslingual_top_k_, len(texts), 100 * hits)

    def _crosslingual_scores(self, mapped: np.ndarray, native: np.ndarray,
                             k: int) -> tuple[np.ndarray, np.ndarray]:
        """A non-English text's zero-shot scores in the mapped and in the e5 space."""
        s_mapped = self._zero_shot_scores(mapped, k)
        s_native = area_similarity(native, self.native_description_embeddings_,
                                   self.native_example_embeddings_, self.example_area_,
                                   top_k=k, description_weight=self.description_weight)
        return s_mapped, s_native

    def _native_rows(self, native: Any, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Which rows have a usable raw e5 vector, and those vectors."""
        if native is None or len(getattr(self, "crosslingual_", ())) == 0:
            return np.zeros(n, dtype=bool), None
        arr = np.asarray(native, dtype=np.float64)
        dim = self.native_description_embeddings_.shape[1]
        if arr.ndim != 2 or arr.shape != (n, dim):
            raise InputError(f"native must have shape ({n}, {dim}), got {arr.shape}")
        rows = ~np.isnan(arr).any(axis=1)
        return rows, arr[rows]

    def _logits(self, emb: np.ndarray, native: Any = None) -> np.ndarray:
        """Zero-shot logit of every text and area: the English map, or the non-English one
        where a raw e5 vector is given."""
        rows, raw = self._native_rows(native, emb.shape[0])
        logits = np.empty((emb.shape[0], len(self.classes_)))
        if not rows.all():
            logits[~rows] = self._zero_shot_logits(self._zero_shot_scores(emb[~rows]))
        if rows.any():
            a, b, c = self.crosslingual_
            s_mapped, s_native = self._crosslingual_scores(emb[rows], raw,
                                                           int(self.crosslingual_top_k_))
            logits[rows] = a * s_mapped + b * s_native + c
        return logits

    def _fit_supervised(self, X: Any, y: Any, embeddings: Any, native: Any = None) -> None:
        Y = label_matrix(y, self.taxonomy_)
        emb, native = self._embeddings_and_native(X, embeddings, native)
        if emb.shape[0] != Y.shape[0]:
            raise InputError(f"{emb.shape[0]} texts/embeddings but {Y.shape[0]} labels")
        # small dense problems: multi-threaded BLAS only adds contention (28x slower measured on
        # a shared 2-core machine), so these fits run single-threaded
        texts = self._as_texts(X) if X is not None and self.lexical else None
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit_areas(emb, Y, native, texts)

    def _fit_areas(self, emb: np.ndarray, Y: np.ndarray, native: Any = None,
                   texts: list[str] | None = None) -> None:
        n_records = emb.shape[0]
        self.centre_ = emb.mean(axis=0)
        units = recentre(emb, self.centre_)
        zs_logit = self._logits(emb, native)
        if self.taxonomy_rows:
            ex = self.example_embeddings_
            units = np.vstack([units, recentre(ex, self.centre_)])
            zs_logit = np.vstack([zs_logit, self._logits(ex)])
            Y = np.vstack([Y, np.eye(len(self.classes_))[self.example_area_]])
            if texts is not None:
                texts = texts + [ex for a in self.taxonomy_.areas for ex in a.examples]
        feats = self._features(units, zs_logit)
        lexical = None
        if texts is not None:
            counts = hashed_counts(texts)
            self.lexical_columns_, self.lexical_idf_ = fit_idf(counts)
            lexical = lexical_features(counts, self.lexical_columns_, self.lexical_idf_)
        coefs, intercepts, calib, blends, kept = [], [], [], [], []
        lex_fits = []
        for a, area_id in enumerate(self.classes_):
            # taxonomy rows make every area look labelled; count only the records' labels
            rec = Y[:n_records, a]
            n_pos, n_neg = int(np.nansum(rec)), int(np.sum(rec == 0))
            if min(n_pos, n_neg) < self.min_labels:
                logger.info("area %s: %d positive / %d negative labels < min_labels=%d, "
                            "zero-shot fallback", area_id, n_pos, n_neg, self.min_labels)
                continue
            coef, intercept, cal, blend, lex_fit = fit_area(
                feats, units, zs_logit[:, a], Y[:, a], n_records, C=self.C, k=self.knn_k,
                temperature=self.knn_temperature, knn_weight=self.knn_weight,
                zero_shot_weight=self.zero_shot_weight, tune_blend=self.tune_blend,
                folds=self.calibration_folds,
                random_state=self.random_state, lexical=lexical, lexical_C=self.lexical_C)
            lex_fits.append(lex_fit)
            coefs.append(coef)
            intercepts.append(intercept)
            calib.append(cal)
            blends.append(blend)
            kept.append(a)
        self.supervised_areas_ = [str(self.classes_[a]) for a in kept]
        if kept:
            self.coef_ = np.asarray(coefs, dtype=np.float64)
            self.intercept_ = np.asarray(intercepts, dtype=np.float64)
            self.calibration_ = np.asarray(calib, dtype=np.float64)
            self.blend_ = np.asarray(blends, dtype=np.float64)
            if lexical is not None:
                self.lexical_coef_ = np.asarray([f[0] for f in lex_fits], dtype=np.float64)
                self.lexical_intercept_ = np.asarray([f[1] for f in lex_fits], dtype=np.float64)
                self.lexical_slope_ = np.asarray([f[2] for f in lex_fits], dtype=np.float64)
                logger.info("policy classifier: weight of the n-gram model per area: %s",
                            dict(zip(self.supervised_areas_,
                                     np.round(self.lexical_slope_, 3).tolist())))
            logger.info("policy classifier: blend weights (knn, zero-shot) per area: %s",
                        dict(zip(self.supervised_areas_, map(tuple, blends))))
            # only rows labelled for some supervised area can ever vote
            voters = ~np.isnan(Y[:, kept]).all(axis=1)
            self.neighbour_units_ = units[voters]
            self.neighbour_labels_ = Y[np.ix_(voters, kept)]
        logger.info("policy classifier: supervised models for %d of %d areas",
                    len(kept), len(self.classes_))

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: Sequence[str] | None = None, *,
                      embeddings: Any = None, native: Any = None) -> np.ndarray:
        """Probability of each area, columns in ``classes_`` order.

        Parameters
        ----------
        X : sequence of str, optional
            Texts, encoded here (a routed encoder also gives the raw e5 vectors).
        embeddings : array (n, d), optional
            Precomputed embeddings instead of ``X``.
        native : array (n, d_e5), optional
            With ``embeddings``: raw e5 vectors of the non-English rows, NaN elsewhere.

        Returns
        -------
        ndarray (n, n_areas)
            One-vs-rest probabilities (rows need not sum to 1): calibrated logistic models for
            ``supervised_areas_``, the zero-shot map for the others.
        """
        check_is_fitted(self, "classes_")
        emb, native = self._embeddings_and_native(X, embeddings, native)
        zs_logit = self._logits(emb, native)
        proba = expit(zs_logit)
        if self.supervised_areas_:
            cols = [list(self.classes_).index(a) for a in self.supervised_areas_]
            units = recentre(emb, self.centre_)
            # small dense products: threaded BLAS only adds contention (see _fit_supervised)
            with threadpool_limits(limits=1, user_api="blas"):
                vote = neighbour_vote(units, self.neighbour_units_, self.neighbour_labels_,
                                      k=self.knn_k, temperature=self.knn_temperature)
                scores = area_scores(self._features(units, zs_logit), self.coef_,
                                     self.intercept_, vote, zs_logit[:, cols],
                                     knn_weight=self.blend_[:, 0],
                                     zero_shot_weight=self.blend_[:, 1])
                lexical = None
                if len(self.lexical_coef_):
                    if X is None:
                        raise InputError(
                            "this classifier also reads the words of each text (it was "
                            "fitted with texts); pass the texts as X as well as embeddings=")
                    words = lexical_features(hashed_counts(self._as_texts(X)),
                                             self.lexical_columns_, self.lexical_idf_)
                    lexical = (np.asarray(words @ self.lexical_coef_.T)
                               + self.lexical_intercept_) * self.lexical_slope_
            proba[:, cols] = calibrated(scores, self.calibration_, lexical)
        return proba

    @property
    def threshold_(self) -> float:
        """Abstention threshold in force: ``threshold``, or the mode's default.

        Read at prediction time, so ``set_params(threshold=...)`` needs no refit.
        """
        return (float(self.threshold) if self.threshold is not None
                else DEFAULT_THRESHOLDS[self.mode])

    def _decide(self, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top = np.argmax(proba, axis=1)
        conf = proba[np.arange(proba.shape[0]), top]
        labels = np.where(conf >= self.threshold_, self.classes_[top], UNKNOWN).astype(object)
        return labels, conf

    def predict(self, X: Sequence[str] | None = None, *, embeddings: Any = None,
                native: Any = None) -> np.ndarray:
        """Most likely area per text, or ``"unknown"`` when its probability < ``threshold_``."""
        return self._decide(self.predict_proba(X, embeddings=embeddings, native=native))[0]

    def predict_frame(self, X: Sequence[str] | None = None, *, embeddings: Any = None,
                      native: Any = None) -> pd.DataFrame:
        """Everything downstream needs about each text's policy area, one row per text.

        Returns
        -------
        DataFrame (index of ``X`` if it is a Series, else 0..n-1) with columns
            ``policy_area`` (area id or ``"unknown"``), ``policy_confidence`` (top
            probability), ``unknown`` (bool: abstained), ``alternatives`` (list of
            ``{"policy_area": id, "score": p}`` dicts for the next ``n_alternatives`` areas,
            best first) and ``policy_areas`` (list of every area with probability at least
            ``multilabel_threshold``, best first; may be empty).
        """
        proba = self.predict_proba(X, embeddings=embeddings, native=native)
        labels, conf = self._decide(proba)
        order = np.argsort(-proba, axis=1, kind="stable")
        alternatives, multi = [], []
        for i in range(proba.shape[0]):
            alternatives.append([{"policy_area": str(self.classes_[j]),
                                  "score": float(proba[i, j])}
                                 for j in order[i, 1:1 + self.n_alternatives]])
            multi.append([str(self.classes_[j]) for j in order[i]
                          if proba[i, j] >= self.multilabel_threshold])
        index = X.index if isinstance(X, pd.Series) else pd.RangeIndex(proba.shape[0])
        return pd.DataFrame({
            "policy_area": pd.Series(labels, index=index, dtype=object),
            "policy_confidence": pd.Series(conf, index=index, dtype=float),
            "unknown": pd.Series(labels == UNKNOWN, index=index, dtype=bool),
            "alternatives": pd.Series(alternatives, index=index, dtype=object),
            "policy_areas": pd.Series(multi, index=index, dtype=object),
        })

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write the fitted classifier to a directory (JSON + ``.npy``, no pickle)."""
        from ._persist import save_policy_classifier
        save_policy_classifier(self, path)

    @classmethod
    def load(cls, path, *, encoder: Any = None,
             taxonomy: PolicyTaxonomy | None = None) -> "PolicyClassifier":
        """Read a classifier written by :meth:`save`; see :func:`load_policy_classifier`."""
        from ._persist import load_policy_classifier
        return load_policy_classifier(path, encoder=encoder, taxonomy=taxonomy)
