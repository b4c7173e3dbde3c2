"""Readable theme labels: c-TF-IDF keywords, MMR diversity, representative documents."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

__all__ = ["theme_keywords", "mmr", "keyword_label", "representative_docs", "apply_labeller"]

logger = logging.getLogger(__name__)


def theme_keywords(docs: Sequence[str], labels: np.ndarray, embeddings: np.ndarray,
                   centroids: np.ndarray, vectorizer, *, n_keywords: int = 10,
                   diversity: float = 0.3, n_candidates: int = 30) -> list[list[tuple[str, float]]]:
    """Keywords of each theme: c-TF-IDF candidates re-ranked by MMR.

    A keyword's vector is the mean embedding of the theme's documents that contain it, so MMR
    needs no word encoder: near-synonymous phrases used by the same documents are redundant.

    Parameters
    ----------
    docs, labels, embeddings
        The documents, their theme (``-1`` unassigned) and their L2-normalised embeddings.
    centroids : ndarray of shape (n_themes, dim)
        Theme centroids, row ``t`` for theme ``t``.
    vectorizer : CountVectorizer
        Unfitted; fitted here on ``docs``. A theme's counts are the sum of its documents'
        (so no bigram spans two documents).

    Returns
    -------
    list of list of (str, float)
        Per theme, ``(keyword, c-TF-IDF weight)`` in MMR order.
    """
    from bertopic.vectorizers import ClassTfidfTransformer

    n_themes = centroids.shape[0]
    if n_themes == 0:
        return []
    labels = np.asarray(labels)
    member = np.flatnonzero((labels >= 0) & (labels < n_themes))
    try:
        doc_terms = vectorizer.fit_transform(list(docs)).tocsr()
    except ValueError:  # every word was a stop-word
        return [[] for _ in range(n_themes)]
    # theme x document indicator: a theme's counts are the sum of its documents' counts
    member_of = sp.csr_matrix((np.ones(member.size), (labels[member], member)),
                              shape=(n_themes, len(docs)))
    counts = (member_of @ doc_terms).tocsc()
    used = np.flatnonzero(np.asarray(counts.sum(axis=0)).ravel() > 0)
    if used.size == 0:
        return [[] for _ in range(n_themes)]
    counts = counts[:, used].tocsr()
    ctfidf = ClassTfidfTransformer(reduce_frequent_words=True).fit_transform(counts).toarray()
    vocab = vectorizer.get_feature_names_out()[used]
    doc_terms = doc_terms[:, used].tocsc()
    out = []
    for t in range(n_themes):
        row = ctfidf[t]
        # stable sort so that ties resolve by vocabulary order, the same in every run
        cand = [j for j in np.argsort(-row, kind="stable")[:n_candidates] if row[j] > 0]
        if not cand:
            out.append([])
            continue
        members = labels == t
        vecs = []
        for j in cand:
            rows = doc_terms[:, j].nonzero()[0]
            rows = rows[members[rows]]
            vecs.append(embeddings[rows].mean(0) if len(rows) else centroids[t])
        order = mmr(centroids[t], np.asarray(vecs), row[cand], n_keywords, diversity)
        out.append([(str(vocab[cand[i]]), float(row[cand[i]])) for i in order])
    return out


def mmr(target: np.ndarray, vecs: np.ndarray, weights: np.ndarray, k: int,
        diversity: float) -> list[int]:
    """Maximal marginal relevance: indices of ``k`` items relevant to ``target`` yet unlike each other.

    Relevance mixes cosine similarity to the target with the item's (max-scaled) weight, so
    strong c-TF-IDF words are not dropped for being generic in embedding space.
    """
    vecs = normalize(np.asarray(vecs, dtype=np.float64))
    tgt = normalize(np.asarray(target, dtype=np.float64).reshape(1, -1))[0]
    w = np.asarray(weights, dtype=np.float64)
    rel = 0.5 * (vecs @ tgt) + 0.5 * (w / w.max() if w.max() > 0 else w)
    sim = vecs @ vecs.T
    chosen = [int(np.argmax(rel))]
    while len(chosen) < min(k, len(vecs)):
        rest = [i for i in range(len(vecs)) if i not in chosen]
        score = [(1 - diversity) * rel[i] - diversity * sim[i, chosen].max() for i in rest]
        chosen.append(rest[int(np.argmax(score))])
    return chosen


def keyword_label(keywords: Sequence[str], n: int = 4) -> str:
    """A short label from the top keywords, skipping words already covered by a chosen phrase."""
    picked: list[str] = []
    seen: set[str] = set()
    for kw in keywords:
        words = set(kw.split())
        if words <= seen:
            continue
        picked.append(kw)
        seen |= words
        if len(picked) == n:
            break
    return " / ".join(picked) if picked else "(no keywords)"


def representative_docs(docs: Sequence[str], embeddings: np.ndarray, labels: np.ndarray,
                        centroids: np.ndarray, n: int = 5) -> list[list[str]]:
    """Per theme, up to ``n`` distinct documents closest to its centroid."""
    out = []
    for t in range(centroids.shape[0]):
        idx = np.flatnonzero(labels == t)
        sims = embeddings[idx] @ centroids[t]
        picked: list[str] = []
        for i in idx[np.argsort(-sims, kind="stable")]:
            if docs[i] not in picked:
                picked.append(docs[i])
            if len(picked) == n:
                break
        out.append(picked)
    return out


def apply_labeller(labeller: Callable[[list[str], list[str]], str] | None,
                   keywords: list[str], docs: list[str], fallback: str) -> str:
    """The user labeller's label, or ``fallback`` when it is absent, fails, refuses or returns nothing."""
    if labeller is None:
        return fallback
    try:
        label = labeller(list(keywords), list(docs))
    except Exception as exc:  # a user hook must never break the run
        logger.warning("theme labeller failed (%s); keeping the keyword label",
                       type(exc).__name__)
        return fallback
    if not isinstance(label, str) or not label.strip():
        logger.info("theme labeller returned no label; keeping the keyword label")
        return fallback
    return label.strip()
