"""Evaluation helpers: per-area precision/recall/F1 and a confusion table, as DataFrames."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from ..errors import InputError
from ._classifier import PolicyClassifier
from ._taxonomy import UNKNOWN

__all__ = ["evaluate_policy", "confusion_table", "cross_validate_policy", "PolicyCVResult"]


def _labels_in_order(y_true: np.ndarray, y_pred: np.ndarray,
                     labels: Sequence[str] | None) -> list[str]:
    if labels is not None:
        return [str(x) for x in labels if str(x) != UNKNOWN]
    seen = pd.unique(pd.Series(np.concatenate([y_true, y_pred]), dtype=object))
    return sorted(str(x) for x in seen if str(x) != UNKNOWN)


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(list(y_true), dtype=object)
    p = np.asarray(list(y_pred), dtype=object)
    if t.shape != p.shape:
        raise InputError(f"{len(t)} true labels but {len(p)} predictions")
    return t, p


def evaluate_policy(y_true: Any, y_pred: Any, *,
                    labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-area precision, recall, F1 and support of single-label predictions.

    ``"unknown"`` (abstention) in ``y_pred`` counts against recall, not precision: an
    abstained record is a missed true area but not a wrong claim.

    Parameters
    ----------
    y_true, y_pred : sequence of str
        Canonical area ids; ``y_pred`` may hold ``"unknown"``.
    labels : sequence of str, optional
        Areas to report, in this order (default: every area seen, sorted).

    Returns
    -------
    DataFrame
        Index ``policy_area`` (plus a final ``macro avg`` row over areas with support);
        columns ``precision``, ``recall``, ``f1``, ``support`` (true count), ``predicted``
        (predicted count).
    """
    t, p = _check_pair(y_true, y_pred)
    rows = []
    for area in _labels_in_order(t, p, labels):
        tp = int(np.sum((t == area) & (p == area)))
        n_pred = int(np.sum(p == area))
        support = int(np.sum(t == area))
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / support if support else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows.append({"policy_area": area, "precision": prec, "recall": rec, "f1": f1,
                     "support": support, "predicted": n_pred})
    out = pd.DataFrame(rows, columns=["policy_area", "precision", "recall", "f1", "support",
                                      "predicted"]).set_index("policy_area")
    has = out[out["support"] > 0]
    macro = {"precision": has["precision"].mean() if len(has) else np.nan,
             "recall": has["recall"].mean() if len(has) else np.nan,
             "f1": has["f1"].mean() if len(has) else np.nan,
             "support": int(out["support"].sum()), "predicted": int(out["predicted"].sum())}
    out.loc["macro avg"] = pd.Series(macro)
    out[["support", "predicted"]] = out[["support", "predicted"]].astype(int)
    return out


def confusion_table(y_true: Any, y_pred: Any, *,
                    labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts of true area (rows) by predicted area (columns), with an ``unknown`` column.

    Returns
    -------
    DataFrame
        Index named ``true``, columns named ``predicted``: ``labels`` (or every area seen)
        then ``"unknown"``; integer counts that sum to the number of records.
    """
    t, p = _check_pair(y_true, y_pred)
    areas = _labels_in_order(t, p, labels)
    cols = [*areas, UNKNOWN]
    if set(map(str, t)) - set(areas):
        raise InputError(f"true labels {sorted(set(map(str, t)) - set(areas))} not in labels")
    unexpected = set(map(str, p)) - set(cols)
    if unexpected:
        raise InputError(f"predicted labels {sorted(unexpected)} not in labels")
    table = pd.crosstab(pd.Categorical(t, categories=areas),
                        pd.Categorical(p, categories=cols), dropna=False)
    table = table.reindex(index=areas, columns=cols, fill_value=0).astype(int)
    table.index.name, table.columns.name = "true", "predicted"
    return table


@dataclass(frozen=True)
class PolicyCVResult:
    """Cross-validated evaluation of a :class:`PolicyClassifier`.

    Attributes
    ----------
    report : DataFrame
        :func:`evaluate_policy` of the out-of-fold predictions.
    confusion : DataFrame
        :func:`confusion_table` of the same.
    predictions : DataFrame
        Out-of-fold :meth:`PolicyClassifier.predict_frame` rows (input order) plus
        ``true_area`` and ``fold``.
    coverage : float
        Share of records not abstained.
    """

    report: pd.DataFrame
    confusion: pd.DataFrame
    predictions: pd.DataFrame
    coverage: float


def cross_validate_policy(estimator: PolicyClassifier, X: Sequence[str] | None = None,
                          y: Any = None, *, embeddings: Any = None, n_splits: int = 5,
                          random_state: int | None = 0) -> PolicyCVResult:
    """Stratified k-fold evaluation of a policy classifier on labelled records.

    Texts are encoded once (unless ``embeddings`` are given); each fold fits a fresh copy of
    ``estimator`` with the same parameters (sharing its encoder object, which is not copied).
    When the texts are given, a supervised fold model also learns from their words (its
    n-gram view), as the pipeline's does.

    Parameters
    ----------
    estimator : PolicyClassifier
        Unfitted template (its ``mode`` decides zero-shot or supervised).
    X : sequence of str, optional
        Texts; optional when ``embeddings`` are given.
    y : sequence of str
        One area label per record (id or alias); records without a label are dropped.
    embeddings : array (n, d), optional
    n_splits, random_state
        Folds of the seeded, shuffled :class:`~sklearn.model_selection.StratifiedKFold`.

    Returns
    -------
    PolicyCVResult
    """
    if y is None:
        raise InputError("cross_validate_policy needs labels (y)")
    template = estimator.get_params(deep=False)
    taxonomy = template["taxonomy"]
    if taxonomy is None:
        from ._taxonomy import PolicyTaxonomy
        taxonomy = PolicyTaxonomy.default()
        template["taxonomy"] = taxonomy
    canon = np.asarray(taxonomy.canonical_labels(list(y)), dtype=object)
    probe = PolicyClassifier(**template)
    texts = None if X is None else np.asarray(probe._as_texts(X), dtype=object)
    if embeddings is None:
        if texts is None:
            raise InputError("pass texts (X) or embeddings=")
        emb = probe._encode(list(texts))
    else:
        emb = np.asarray(embeddings)
    if emb.shape[0] != len(canon):
        raise InputError(f"{emb.shape[0]} texts/embeddings but {len(canon)} labels")
    if texts is not None and len(texts) != len(canon):
        raise InputError(f"{len(texts)} texts but {len(canon)} labels")
    keep = np.flatnonzero(canon != None)  # noqa: E711 - element-wise on an object array
    emb, canon = emb[keep], canon[keep].astype(str)
    texts = None if texts is None else texts[keep]
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    parts = []
    for k, (train, test) in enumerate(folds.split(np.zeros(len(canon)), canon)):
        model = PolicyClassifier(**template)
        model.fit(None if texts is None else list(texts[train]), y=list(canon[train]),
                  embeddings=emb[train])
        frame = model.predict_frame(None if texts is None else list(texts[test]),
                                    embeddings=emb[test])
        frame.index = pd.Index(keep[test], name="row")
        frame["true_area"] = canon[test]
        frame["fold"] = k
        parts.append(frame)
    preds = pd.concat(parts).sort_index()
    labels = taxonomy.ids
    return PolicyCVResult(
        report=evaluate_policy(preds["true_area"], preds["policy_area"], labels=labels),
        confusion=confusion_table(preds["true_area"], preds["policy_area"], labels=labels),
        predictions=preds,
        coverage=float((~preds["unknown"]).mean()),
    )
