"""Supervised scoring of policy areas: a linear model and a nearest-neighbour vote, blended.

Pure numpy / scikit-learn on embeddings, so the classifier can fit, predict and be saved
(as plain arrays) without keeping any sklearn object.

An area's score for a text is::

    s = w . c(x) + b  +  knn_weight * (vote - 0.5)  +  zero_shot_weight * zero_shot_logit

where ``c(x)`` is the embedding re-centred on the training mean and re-normalised, ``w, b`` a
logistic regression on the records' labels (and the taxonomy's examples), and ``vote`` the
similarity-weighted share of positives among the ``k`` most similar labelled training rows.
A sigmoid fitted on out-of-fold scores turns ``s`` into a probability.

Why these parts (measured on ``benchmarks/policy_quality.py``, macro AP, 5-fold CV, pooling
the uncalibrated scores ``s``; with the per-fold sigmoids the last figure is 0.589):
the logistic regression alone 0.548; larger ``C`` lowers it (0.538 at 4, 0.51 at 16), so the
embeddings are over- not under-fitted; ``class_weight="balanced"`` and standardising did not
help; adding the neighbour vote, which catches local clusters of near-duplicate harmful texts
a single hyperplane misses, 0.583; re-centring (MiniLM embeddings share a large common
direction that compresses cosines) 0.587; counting the taxonomy's examples as neighbours,
which brings in the area's sub-types the labels under-represent (graphic violence, threats),
0.593.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold

__all__ = ["recentre", "neighbour_vote", "fit_area", "area_scores"]

logger = logging.getLogger(__name__)

# rows of queries scored against the neighbours at once: bounds the similarity matrix's memory
_CHUNK = 2048


def recentre(emb: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Embeddings minus ``centre``, re-normalised to unit length (zero rows stay zero).

    Returns
    -------
    ndarray (n, d)
    """
    out = np.asarray(emb, dtype=np.float64) - centre
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)


def neighbour_vote(queries: np.ndarray, neighbours: np.ndarray, labels: np.ndarray, *, k: int,
                   temperature: float) -> np.ndarray:
    """Similarity-weighted share of positives among each query's ``k`` nearest labelled rows.

    Parameters
    ----------
    queries : ndarray (n, d)
        Re-centred, unit-length embeddings.
    neighbours : ndarray (m, d)
        Re-centred, unit-length embeddings of the labelled rows.
    labels : ndarray (m, n_areas) of 1 / 0 / NaN
        NaN rows do not vote for that area.
    k, temperature
        Neighbours per query; weight of a neighbour is ``exp(temperature * (cos - best cos))``.

    Returns
    -------
    ndarray (n, n_areas) in [0, 1]; 0.5 for an area with no labelled neighbour.
    """
    n, n_areas = queries.shape[0], labels.shape[1]
    out = np.full((n, n_areas), 0.5)
    known = [np.flatnonzero(~np.isnan(labels[:, a])) for a in range(n_areas)]
    for start in range(0, n, _CHUNK):
        sims = queries[start:start + _CHUNK] @ neighbours.T
        for a, rows in enumerate(known):
            if rows.size == 0:
                continue
            k_eff = min(k, rows.size)
            s = sims[:, rows]
            # ties broken by row order, so the vote does not depend on the partition algorithm
            idx = np.argsort(-s, axis=1, kind="stable")[:, :k_eff]
            top = np.take_along_axis(s, idx, axis=1)
            w = np.exp(temperature * (top - top[:, :1]))
            out[start:start + _CHUNK, a] = (w * labels[rows, a][idx]).sum(axis=1) / w.sum(axis=1)
    return out


def area_scores(feats: np.ndarray, coef: np.ndarray, intercept: np.ndarray, vote: np.ndarray,
                zero_shot_logit: np.ndarray, *, knn_weight: np.ndarray | float,
                zero_shot_weight: np.ndarray | float) -> np.ndarray:
    """The blended decision score ``s`` (module docstring) for several areas at once.

    Parameters
    ----------
    feats : ndarray (n, p)
    coef : ndarray (n_sup, p); intercept : ndarray (n_sup,)
    vote, zero_shot_logit : ndarray (n, n_sup)
    knn_weight, zero_shot_weight : float or ndarray (n_sup,)

    Returns
    -------
    ndarray (n, n_sup)
    """
    return (feats @ coef.T + intercept + knn_weight * (vote - 0.5)
            + zero_shot_weight * zero_shot_logit)


def _logistic(X: np.ndarray, y: np.ndarray, C: float) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=3000).fit(X, y)


#: blend weights tried per area when ``tune_blend`` is on: (knn_weight, zero_shot_weight)
BLEND_GRID = tuple((kw, zw) for kw in (0.0, 4.0, 8.0, 12.0) for zw in (0.0, 0.25, 0.5, 1.0))


def fit_area(feats: np.ndarray, units: np.ndarray, zs_logit: np.ndarray, y: np.ndarray,
             n_records: int, *, C: float, k: int, temperature: float, knn_weight: float,
             zero_shot_weight: float, tune_blend: bool, folds: int, random_state: int | None,
             lexical=None, lexical_C: float = 4.0,
             ) -> tuple[np.ndarray, float, tuple[float, float], tuple[float, float],
                        tuple[np.ndarray, float, float] | None]:
    """Fit one area: its logistic regression, blend weights and the sigmoid, out of fold.

    Parameters
    ----------
    feats : ndarray (m, p)
        Features of the training rows (records first, then any taxonomy rows).
    units : ndarray (m, d)
        Re-centred unit embeddings of the same rows (the neighbour space).
    zs_logit : ndarray (m,)
        The rows' zero-shot logit for this area.
    y : ndarray (m,) of 1 / 0 / NaN
    n_records : int
        The first ``n_records`` rows are records; the rest (taxonomy rows) are always in the
        training side of the out-of-fold split and never scored, so the weights and the
        calibration reflect records only.
    tune_blend : bool
        Choose ``(knn_weight, zero_shot_weight)`` from :data:`BLEND_GRID` by the average
        precision of the out-of-fold scores (the given pair is kept on a tie or when off).
    C, k, temperature, knn_weight, zero_shot_weight, folds, random_state
        See :class:`~qa_insights.policy.PolicyClassifier`.
    lexical : sparse matrix (m, q), optional
        TF-IDF n-grams of the same rows (:mod:`qa_insights.policy._lexical`). When given, a
        logistic regression (``lexical_C``) on them is fitted too, and its out-of-fold decision
        value is the sigmoid's second input.

    Returns
    -------
    coef : ndarray (p,)
    intercept : float
    (slope, offset) : the sigmoid ``p = expit(slope * s + offset)``
    (knn_weight, zero_shot_weight) : the blend in force
    lexical_fit : (coef (q,), intercept, slope) or None
        The n-gram model and its slope in the sigmoid ``p = expit(slope_s * s + slope *
        lexical + offset)``; ``None`` without ``lexical``.
    """
    known = np.flatnonzero(~np.isnan(y))
    rec = known[known < n_records]
    extra = known[known >= n_records]
    y_rec = y[rec].astype(int)
    linear, vote, lex = np.empty(rec.size), np.empty(rec.size), np.zeros(rec.size)
    cv = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    for tr, te in cv.split(rec, y_rec):
        train = np.concatenate([rec[tr], extra])
        lr = _logistic(feats[train], y[train].astype(int), C)
        linear[te] = lr.decision_function(feats[rec[te]])
        vote[te] = neighbour_vote(units[rec[te]], units[train], y[train, None], k=k,
                                  temperature=temperature)[:, 0]
        if lexical is not None:
            lex[te] = _logistic(lexical[train], y[train].astype(int),
                                lexical_C).decision_function(lexical[rec[te]])
    zs = zs_logit[rec]

    def blend(w: tuple[float, float]) -> np.ndarray:
        return linear + w[0] * (vote - 0.5) + w[1] * zs

    weights = (float(knn_weight), float(zero_shot_weight))
    if tune_blend:
        best = average_precision_score(y_rec, blend(weights))
        for w in BLEND_GRID:
            ap = average_precision_score(y_rec, blend(w))
            if ap > best + 1e-12:
                best, weights = ap, w
    oof = blend(weights)
    # a weak penalty: one or two features, the data decide the slopes
    inputs = oof.reshape(-1, 1) if lexical is None else np.column_stack([oof, lex])
    cal = LogisticRegression(C=100.0, max_iter=1000).fit(inputs, y_rec)
    lr = _logistic(feats[known], y[known].astype(int), C)
    lexical_fit = None
    if lexical is not None:
        lex_lr = _logistic(lexical[known], y[known].astype(int), lexical_C)
        lexical_fit = (lex_lr.coef_[0].copy(), float(lex_lr.intercept_[0]),
                       float(cal.coef_[0, 1]))
    return (lr.coef_[0].copy(), float(lr.intercept_[0]),
            (float(cal.coef_[0, 0]), float(cal.intercept_[0])), weights, lexical_fit)


def calibrated(scores: np.ndarray, calibration: np.ndarray,
               lexical: np.ndarray | None = None) -> np.ndarray:
    """Probabilities from blended scores (n, n_sup) and sigmoids (n_sup, 2); ``lexical``:
    the n-gram models' decision values already multiplied by their slopes (n, n_sup)."""
    z = scores * calibration[:, 0] + calibration[:, 1]
    return expit(z if lexical is None else z + lexical)
