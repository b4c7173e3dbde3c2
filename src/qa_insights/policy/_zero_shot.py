"""Zero-shot scoring: similarity of a text to each area's description and example phrases.

Pure numpy on L2-normalised embeddings, so the same functions serve fitting, prediction and
the leave-one-out calibration of scores into probabilities.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

__all__ = ["area_similarity", "loo_calibration"]

def _top_k_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Row-wise mean of the k largest values (all values when fewer than k columns)."""
    k = min(k, sims.shape[1])
    if k == sims.shape[1]:
        return sims.mean(axis=1)
    part = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
    return part.mean(axis=1)


def area_similarity(embeddings: np.ndarray, desc_emb: np.ndarray, example_emb: np.ndarray,
                    example_area: np.ndarray, *, top_k: int, description_weight: float,
                    exclude: np.ndarray | None = None) -> np.ndarray:
    """Blend of description similarity and top-k example similarity, per area.

    Parameters
    ----------
    embeddings : ndarray (n, d)
        L2-normalised text embeddings.
    desc_emb : ndarray (n_areas, d)
        Embedded area descriptions.
    example_emb : ndarray (n_examples, d)
        Embedded example phrases; ``example_area[j]`` is the area index of example ``j``.
    top_k, description_weight
        How many closest examples are averaged, and the description's share of the blend.
    exclude : ndarray (n,) of int, optional
        For leave-one-out: row ``i`` ignores example ``exclude[i]`` (``-1``: none).

    Returns
    -------
    ndarray (n, n_areas)
        Scores on the cosine scale; higher means closer to the area.
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    sims_desc = emb @ np.asarray(desc_emb, dtype=np.float64).T
    sims_ex = emb @ np.asarray(example_emb, dtype=np.float64).T
    if exclude is not None:
        rows = np.flatnonzero(exclude >= 0)
        sims_ex[rows, exclude[rows]] = -np.inf
    n_areas = desc_emb.shape[0]
    out = np.empty((emb.shape[0], n_areas), dtype=np.float64)
    for a in range(n_areas):
        cols = sims_ex[:, example_area == a]
        if exclude is not None:
            # an excluded example must not count: average the k best of the rest
            cols = -np.sort(-cols, axis=1)
            finite = np.isfinite(cols)
            k_eff = np.minimum(top_k, finite.sum(axis=1)).clip(min=1)
            csum = np.cumsum(np.where(finite, cols, 0.0), axis=1)
            ex_score = csum[np.arange(cols.shape[0]), k_eff - 1] / k_eff
        else:
            ex_score = _top_k_mean(cols, top_k)
        out[:, a] = (1.0 - description_weight) * ex_score + description_weight * sims_desc[:, a]
    return out


def loo_calibration(desc_emb: np.ndarray, example_emb: np.ndarray, example_area: np.ndarray, *,
                    top_k: int, description_weight: float) -> tuple[float, float]:
    """Slope and intercept turning an area score into a probability, fitted leave-one-out.

    Each taxonomy example is scored against every area with itself left out of its own area,
    as a new text would be; a one-feature logistic regression then learns
    ``P(text belongs to area | score)`` from the (score, is-own-area) pairs.

    Returns
    -------
    (slope, intercept) : tuple of float
        ``probability = expit(slope * score + intercept)``, the same map for every area, so
        the order of texts within an area is the order of their scores.
    """
    n = example_emb.shape[0]
    n_areas = desc_emb.shape[0]
    scores = area_similarity(example_emb, desc_emb, example_emb, example_area, top_k=top_k,
                             description_weight=description_weight, exclude=np.arange(n))
    target = np.zeros((n, n_areas), dtype=int)
    target[np.arange(n), example_area] = 1
    # a weak penalty: one feature and ~n * n_areas points, the data decide the slope
    lr = LogisticRegression(C=100.0, max_iter=1000)
    lr.fit(scores.reshape(-1, 1), target.reshape(-1))
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])
