"""The theme model: UMAP + HDBSCAN sub-themes, merged into themes, with a fixed assignment rule.

Why not plain BERTopic: on QA comments it splits one failure over many topics, leaves a third of
the records as outliers and cannot assign new records the way it assigned the fitted ones. Here
HDBSCAN (on a seeded UMAP projection) finds dense sub-themes; sub-themes whose centroids are
near-duplicates are merged (average linkage, distance threshold, kept inside a target range of
theme counts), and so are sub-themes that are two halves of one dense region (each sends at
least ``link_threshold`` of its records' nearest-neighbour links to the other); then
**every** record, at fit and at transform time alike, is assigned by one
rule: the theme whose centroid is closest to the mean of the record's nearest reference
embeddings, unless that similarity is below ``outlier_threshold``. Because ``fit`` labels the
records with that same rule, a record gets the same theme from ``fit`` and from ``transform``.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError
from ._config import DEFAULT_STOP_WORDS, ThemeConfig
from ._labels import (apply_labeller, keyword_label, representative_docs, theme_keywords)
from ._vectorizer import LemmaTokenizer, make_vectorizer

__all__ = ["ThemeModel", "sample_by_key"]

logger = logging.getLogger(__name__)

_CHUNK = 1024
# rows from which UMAP would switch to approximate neighbours (umap-learn's own cut-off)
_UMAP_EXACT_FROM = 4096


class ThemeModel(BaseEstimator):
    """Failure themes of one period's documents, from their precomputed embeddings.

    Parameters mirror :class:`ThemeConfig` (see ``configs/themes.yaml``); build one from a config
    with :meth:`from_config`. ``labeller`` is an optional ``callable(keywords, docs) -> str``;
    when it fails, refuses or returns nothing, the keyword label stays.

    Attributes
    ----------
    labels_ : ndarray of int, shape (n_docs,)
        Theme of each fitted document; ``-1`` for the few that stay unassigned.
    sub_labels_ : ndarray of int, shape (n_docs,)
        Sub-theme (pre-merge cluster) of each document, ``-1`` when unassigned.
    themes_ : DataFrame
        One row per theme: ``theme, label, keyword_label, keywords, size, share,
        representative_docs, sub_themes``; themes are numbered by decreasing size.
    hierarchy_ : DataFrame
        One row per sub-theme: ``sub_theme, parent, size, keyword_label``.
    centroids_ : ndarray of float32, shape (n_themes, dim)
        L2-normalised theme centroids (row ``t`` for theme ``t``).
    sub_centroids_ : ndarray of float32, shape (n_sub_themes, dim)
    reference_embeddings_ : ndarray of float32
        The embeddings the model was fitted on (the sample, for large inputs); the assignment
        rule looks up a record's neighbours among them.

    Examples
    --------
    >>> model = ThemeModel(random_state=0).fit(docs, embeddings)      # doctest: +SKIP
    >>> model.themes_[["theme", "label", "size"]]                      # doctest: +SKIP
    >>> model.transform(new_docs, new_embeddings)                      # doctest: +SKIP
    """

    def __init__(self, umap_n_neighbors: int = 15, umap_n_components: int = 5,
                 umap_min_dist: float = 0.0, min_theme_size: int = 10,
                 min_theme_floor: int = 5, min_theme_full_at: int = 3000,
                 min_theme_share: float = 0.002, min_samples: int | None = 5,
                 cluster_selection_method: str = "eom", smoothing_neighbors: int = 5,
                 merge_threshold: float = 0.1, link_neighbors: int = 30,
                 link_threshold: float | None = 0.15,
                 min_themes: int = 2, max_themes: int = 150,
                 outlier_threshold: float = 0.3, sample_size: int | None = 20000,
                 stop_words: Sequence[str] = DEFAULT_STOP_WORDS,
                 ngram_range: tuple[int, int] = (1, 2), n_keywords: int = 10,
                 n_label_keywords: int = 4, mmr_diversity: float = 0.3,
                 n_representative_docs: int = 5,
                 labeller: Callable[[list[str], list[str]], str] | None = None,
                 random_state: int | None = 42) -> None:
        self.umap_n_neighbors = umap_n_neighbors
        self.umap_n_components = umap_n_components
        self.umap_min_dist = umap_min_dist
        self.min_theme_size = min_theme_size
        self.min_theme_floor = min_theme_floor
        self.min_theme_full_at = min_theme_full_at
        self.min_theme_share = min_theme_share
        self.min_samples = min_samples
        self.cluster_selection_method = cluster_selection_method
        self.smoothing_neighbors = smoothing_neighbors
        self.merge_threshold = merge_threshold
        self.link_neighbors = link_neighbors
        self.link_threshold = link_threshold
        self.min_themes = min_themes
        self.max_themes = max_themes
        self.outlier_threshold = outlier_threshold
        self.sample_size = sample_size
        self.stop_words = stop_words
        self.ngram_range = ngram_range
        self.n_keywords = n_keywords
        self.n_label_keywords = n_label_keywords
        self.mmr_diversity = mmr_diversity
        self.n_representative_docs = n_representative_docs
        self.labeller = labeller
        self.random_state = random_state

    _MODEL_FIELDS = ("umap_n_neighbors", "umap_n_components", "umap_min_dist", "min_theme_size",
                     "min_theme_floor", "min_theme_full_at",
                     "min_theme_share", "min_samples", "cluster_selection_method",
                     "smoothing_neighbors", "merge_threshold", "link_neighbors",
                     "link_threshold", "min_themes", "max_themes",
                     "outlier_threshold", "sample_size", "stop_words", "ngram_range",
                     "n_keywords", "n_label_keywords", "mmr_diversity", "n_representative_docs",
                     "random_state")

    @classmethod
    def from_config(cls, config: ThemeConfig | None = None, **overrides) -> "ThemeModel":
        """A model with the parameters of ``config`` (defaults when ``None``), then ``overrides``."""
        cfg = config or ThemeConfig()
        params = {name: getattr(cfg, name) for name in cls._MODEL_FIELDS}
        params["stop_words"] = tuple(cfg.stop_words)
        params.update(overrides)
        return cls(**params)

    # ------------------------------------------------------------------ fit / transform
    def fit(self, docs: Sequence[str], embeddings, y=None, *,
            sample_keys: Sequence | None = None) -> "ThemeModel":
        """Find the themes of ``docs`` and label every document.

        Parameters
        ----------
        docs : sequence of str
            Redacted texts, one per record (used for keywords and representative docs).
        embeddings : array-like of shape (n_docs, dim)
            Their sentence embeddings (normalised here if they are not).
        y : ignored
        sample_keys : sequence, optional
            A unique key per document (the record id). When given, an input larger than
            ``sample_size`` is sampled by a seeded hash of the key (:func:`sample_by_key`), so
            which documents are drawn does not depend on where they sit, and a partitioned run
            that draws its sample the same way finds the same themes. Without it, a larger
            input is sampled with ``random_state`` by position.

        Returns
        -------
        self

        Notes
        -----
        When the themes are found on a sample, keywords and representative documents come from
        the sample, and every document is then labelled by :meth:`transform`'s rule;
        ``themes_`` sizes count every document.
        """
        docs, emb = _check_input(docs, embeddings)
        n = len(docs)
        rng = check_random_state(self.random_state)
        if sample_keys is not None and len(sample_keys) != n:
            raise InputError(f"{len(sample_keys)} sample_keys but {n} docs")
        if self.sample_size is None or n <= self.sample_size:
            sample = None
        elif sample_keys is not None:
            sample = sample_by_key(sample_keys, self.sample_size, self.random_state)
        else:
            sample = np.sort(rng.choice(n, size=self.sample_size, replace=False))
        if sample is None:
            return self._fit_reference(docs, emb, rng)
        if len(sample) < n:
            logger.info("fitting themes on a seeded sample of %d of %d records", len(sample), n)
        self._fit_reference([docs[i] for i in sample], emb[sample], rng)
        # the raw embeddings, as a partition-wise transform gets them (normalised once)
        labels = self.transform(None, embeddings)
        sub = self.assign_sub_themes(embeddings, labels)
        self.labels_, self.sub_labels_ = labels, sub
        self.set_counts(np.bincount(labels[labels >= 0], minlength=len(self.centroids_)),
                        np.bincount(sub[sub >= 0], minlength=len(self.sub_centroids_)), n)
        return self

    def _fit_reference(self, docs: list[str], emb: np.ndarray, rng) -> "ThemeModel":
        """Fit on exactly these documents: themes, labels, keywords and representatives."""
        n = len(docs)
        dim = emb.shape[1] if emb.ndim == 2 else 0
        ref = emb
        min_size = self._min_size(n)
        # a large month's exact neighbours serve both UMAP and the sub-theme links
        links_k = self._link_k(n) + 1 if self.link_threshold is not None else 0
        knn = (exact_cosine_knn(ref, max(self.umap_n_neighbors, links_k))
               if n >= _UMAP_EXACT_FROM else None)
        sub = self._sub_themes(ref, min_size, rng, knn)
        n_sub = int(sub.max()) + 1 if len(sub) and sub.max() >= 0 else 0

        self.reference_embeddings_ = ref.astype(np.float32)
        self.n_features_in_ = dim
        if n_sub == 0:
            self._set_empty(n, dim)
            logger.info("no theme of at least %d records among %d records", min_size, n)
            return self

        sub_cent = _centroids(ref, sub, n_sub)
        parent = self._merge(sub_cent, self._links(ref, sub, n_sub, knn))
        theme_cent = _centroids(ref, parent[sub] if n_sub else sub, int(parent.max()) + 1,
                                mask=sub >= 0)
        smooth = self._smoothed(emb)  # the same for every assignment below
        labels = self._assign(smooth, theme_cent)
        # One refinement step: HDBSCAN's members are only each theme's dense core, so a theme's
        # centroid becomes the mean of every record it was given, and the records are assigned
        # again to these centroids (transform uses them too). On banking77 this lifts NMI in
        # each of 5 seeds (mean +0.002) and ARI in 4 (mean +0.003); more steps add nothing.
        given = np.bincount(labels[labels >= 0], minlength=len(theme_cent)) > 0
        theme_cent = np.where(given[:, None],
                              _centroids(emb, labels, len(theme_cent)), theme_cent)
        # kept as float32 (centroids_): the very centroids transform will use
        theme_cent = theme_cent.astype(np.float32).astype(np.float64)
        labels = self._assign(smooth, theme_cent)
        # drop themes nobody is closest to and number the rest by decreasing size; a
        # renumbering of argmax winners does not change who wins, so fit == transform holds
        sizes = np.bincount(labels[labels >= 0], minlength=len(theme_cent))
        keep = [t for t in sorted(range(len(sizes)), key=lambda t: (-sizes[t], t)) if sizes[t]]
        remap = np.full(len(theme_cent), -1)
        remap[keep] = np.arange(len(keep))
        self.centroids_ = theme_cent[keep].astype(np.float32)
        labels = np.where(labels >= 0, remap[labels], -1)
        sub_keep = [s for s in range(n_sub) if remap[parent[s]] >= 0]
        self.sub_centroids_ = sub_cent[sub_keep].astype(np.float32)
        self.sub_parent_ = remap[parent[sub_keep]]
        self.labels_ = labels.astype(np.int64)
        self.sub_labels_ = self._assign_sub(smooth, labels)
        self._describe(docs, emb)
        logger.info("%d themes (%d sub-themes) for %d records, %.1f%% unassigned",
                    len(keep), len(sub_keep), n, 100.0 * float(np.mean(labels < 0)))
        return self

    def set_counts(self, theme_counts, sub_theme_counts, n_docs: int) -> "ThemeModel":
        """Set ``size`` / ``share`` of ``themes_`` and ``size`` of ``hierarchy_`` from counts.

        For documents labelled outside :meth:`fit` (by :meth:`transform` and
        :meth:`assign_sub_themes`, e.g. partition by partition on a cluster), so that the sizes
        count every document of the period, as :meth:`fit` does for its own input.

        Parameters
        ----------
        theme_counts, sub_theme_counts : array-like of int
            Documents per theme and per sub-theme (indices as in ``themes_`` / ``hierarchy_``).
        n_docs : int
            Documents in the period, assigned or not.

        Returns
        -------
        self
        """
        check_is_fitted(self, "centroids_")
        sizes = np.zeros(len(self.centroids_), dtype=np.int64)
        counts = np.asarray(theme_counts, dtype=np.int64)[: len(sizes)]
        sizes[: len(counts)] = counts
        sub_sizes = np.zeros(len(self.sub_centroids_), dtype=np.int64)
        counts = np.asarray(sub_theme_counts, dtype=np.int64)[: len(sub_sizes)]
        sub_sizes[: len(counts)] = counts
        if len(self.themes_):
            self.themes_["size"] = [int(s) for s in sizes]
            self.themes_["share"] = [float(s / n_docs) if n_docs else 0.0 for s in sizes]
        if len(self.hierarchy_):
            self.hierarchy_["size"] = sub_sizes
        return self

    def transform(self, docs: Sequence[str] | None, embeddings) -> np.ndarray:
        """Theme of each document under the fitted rule (the same rule ``fit`` used).

        Returns
        -------
        ndarray of int, shape (n_docs,)
            Theme numbers as in ``themes_``; ``-1`` where no theme is close enough.
        """
        check_is_fitted(self, "centroids_")
        if docs is None:
            docs = [""] * len(np.asarray(embeddings))
        _, emb = _check_input(docs, embeddings)
        if len(emb) and emb.shape[1] != self.n_features_in_ and len(self.centroids_):
            raise InputError(f"embeddings have {emb.shape[1]} dimensions, the model was fitted "
                             f"on {self.n_features_in_}")
        if len(self.centroids_) == 0 or len(emb) == 0:
            return np.full(len(emb), -1, dtype=np.int64)
        return self._assign(self._smoothed(emb),
                            self.centroids_.astype(np.float64)).astype(np.int64)

    def fit_transform(self, docs: Sequence[str], embeddings, y=None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(docs, embeddings).labels_

    # ------------------------------------------------------------------ steps
    def _min_size(self, n: int) -> int:
        """HDBSCAN's min_cluster_size for ``n`` records.

        ``min_theme_size`` from ``min_theme_full_at`` records on, scaled down linearly for
        smaller months (not below ``min_theme_floor``), and raised to ``min_theme_share`` of
        large months. On one generated month of ~670 QA failure comments a fixed 10 merged
        distinct failures (purity 0.66); 5 keeps them apart (0.78).
        """
        floor = min(self.min_theme_floor, self.min_theme_size)
        scaled = math.ceil(self.min_theme_size * n / max(self.min_theme_full_at, 1))
        small = max(floor, min(self.min_theme_size, scaled))
        return max(small, math.ceil(self.min_theme_share * n))

    def _sub_themes(self, ref: np.ndarray, min_size: int, rng,
                    knn: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Dense clusters (sub-themes) of the reference embeddings; ``-1`` is noise.

        ``knn``: :func:`exact_cosine_knn` of ``ref`` with at least ``umap_n_neighbors``
        columns, if already computed.
        """
        n = len(ref)
        if n < min_size:
            return np.full(n, -1)
        uniq, inverse, counts = np.unique(np.round(ref, 6), axis=0, return_inverse=True,
                                          return_counts=True)
        inverse = inverse.ravel()
        if len(uniq) <= self.umap_n_neighbors + 1:
            # too few distinct points for a manifold: each repeated text that is frequent
            # enough is a sub-theme of its own
            big = np.flatnonzero(counts >= min_size)
            code = np.full(len(uniq), -1)
            code[big] = np.arange(len(big))
            return code[inverse]
        import hdbscan
        from umap import UMAP

        n_neighbors = min(self.umap_n_neighbors, len(uniq) - 1)
        # From 4096 rows on, UMAP would search neighbours approximately with pynndescent,
        # whose just-in-time compilation alone costs ~20 s per process; the exact neighbours
        # are a few matrix products away, and below 4096 rows UMAP computes them exactly too.
        if len(ref) >= _UMAP_EXACT_FROM:
            idx, dist = knn if knn is not None else exact_cosine_knn(ref, n_neighbors)
            # copies: UMAP marks disconnected neighbours in these arrays in place
            knn = (np.ascontiguousarray(idx[:, :n_neighbors]),
                   np.ascontiguousarray(dist[:, :n_neighbors]))
        else:
            knn = None
        reducer = UMAP(n_neighbors=n_neighbors,
                       n_components=min(self.umap_n_components, len(uniq) - 2),
                       min_dist=self.umap_min_dist, metric="cosine",
                       random_state=(self.random_state if isinstance(self.random_state, int)
                                     else rng.randint(np.iinfo(np.int32).max)),
                       precomputed_knn=(None, None, None) if knn is None else knn)
        with warnings.catch_warnings():
            # "transform will be unavailable" without a search index: it is never used
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
            z = reducer.fit_transform(ref)
        min_samples = None if self.min_samples is None else min(self.min_samples, min_size)
        clusterer = hdbscan.HDBSCAN(min_cluster_size=min_size, min_samples=min_samples,
                                    cluster_selection_method=self.cluster_selection_method)
        return clusterer.fit_predict(z).astype(np.int64)

    def _link_k(self, n: int) -> int:
        """Neighbours per record for the sub-theme links: a neighbourhood small next to the
        data, so that links show contact between two groups rather than that the whole (small)
        month is alike: ``link_neighbors``, at most 1 % of the records (below 2: no links)."""
        return min(self.link_neighbors, n // 100)

    def _links(self, ref: np.ndarray, sub: np.ndarray, n_sub: int,
               knn: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
        """Mutual link strength of each pair of sub-themes in the nearest-neighbour graph.

        ``R[a, b]`` is the share of the nearest neighbours (:meth:`_link_k`) of sub-theme
        ``a``'s records that lie in sub-theme ``b``; the result is ``min(R, R.T)``: high only
        when each of the two sends many links to the other. HDBSCAN on a UMAP projection often
        cuts one dense group in two (one intent of banking77, one failure written two ways);
        the halves are strongly linked both ways. A small theme beside a large one sends links
        to it but receives few, so it stays apart. ``None`` when linking is off. ``knn``:
        :func:`exact_cosine_knn` of ``ref``, if already computed with enough columns.
        """
        if self.link_threshold is None or n_sub < 2:
            return None
        k = self._link_k(len(ref))
        if k < 2:
            return None
        idx = (knn[0] if knn is not None and knn[0].shape[1] > k
               else exact_cosine_knn(ref, k + 1)[0])
        member = sub >= 0
        src = np.repeat(sub[member], k)
        dst = sub[idx[member, 1:k + 1]].ravel()
        keep = dst >= 0
        counts = np.zeros((n_sub, n_sub))
        np.add.at(counts, (src[keep], dst[keep]), 1.0)
        sizes = np.bincount(sub[member], minlength=n_sub).astype(np.float64)
        share = counts / np.maximum(sizes[:, None] * k, 1.0)
        return np.minimum(share, share.T)

    def _merge(self, sub_cent: np.ndarray, links: np.ndarray | None = None) -> np.ndarray:
        """Theme of each sub-theme: average-linkage merge of near-duplicate centroids, then of
        sub-themes whose mutual ``links`` reach ``link_threshold`` (kept while the number of
        themes stays at least ``min_themes``)."""
        n_sub = len(sub_cent)
        if n_sub == 1:
            return np.zeros(1, dtype=np.int64)
        from scipy.cluster.hierarchy import fcluster, linkage

        tree = linkage(sub_cent, method="average", metric="cosine")
        groups = fcluster(tree, t=self.merge_threshold, criterion="distance")
        n_groups = len(np.unique(groups))
        if n_groups > self.max_themes:
            groups = fcluster(tree, t=self.max_themes, criterion="maxclust")
        elif n_groups < min(self.min_themes, n_sub):
            groups = fcluster(tree, t=min(self.min_themes, n_sub), criterion="maxclust")
        if links is not None:
            linked = _union(groups, np.argwhere(np.triu(links >= self.link_threshold, 1)))
            if len(np.unique(linked)) >= min(self.min_themes, n_sub):
                groups = linked
        # number groups by their first sub-theme so the result does not depend on scipy's ids
        _, first = np.unique(groups, return_index=True)
        order = np.argsort(first, kind="stable")
        remap = {groups[first[k]]: rank for rank, k in enumerate(order)}
        return np.array([remap[g] for g in groups], dtype=np.int64)

    def _smoothed(self, emb: np.ndarray) -> np.ndarray:
        """Mean of each row's nearest reference embeddings (itself, if it is one of them).

        A single comment can be phrased oddly; its neighbourhood says more reliably which
        theme it belongs to (on banking77 this lifts NMI by about 0.006 and ARI by 0.01).
        """
        ref = self.reference_embeddings_.astype(np.float64)
        k = min(self.smoothing_neighbors, len(ref))
        out = np.empty((len(emb), ref.shape[1]))
        for start in range(0, len(emb), _CHUNK):
            block = emb[start:start + _CHUNK]
            if k <= 1:
                out[start:start + _CHUNK] = block
                continue
            sims = block @ ref.T
            nn = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            out[start:start + _CHUNK] = ref[nn].mean(axis=1)
        return _normalise(out)

    def _assign(self, smoothed: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        """The assignment rule shared by ``fit`` and ``transform``, on the records'
        :meth:`_smoothed` embeddings."""
        sims = smoothed @ _normalise(centroids).T
        best = np.argmax(sims, axis=1)
        ok = sims[np.arange(len(best)), best] >= self.outlier_threshold
        return np.where(ok, best, -1).astype(np.int64)

    def assign_sub_themes(self, embeddings, labels) -> np.ndarray:
        """Nearest sub-theme of each document within its theme (for drill-down).

        Parameters
        ----------
        embeddings : array-like of shape (n_docs, dim)
        labels : array-like of int
            The documents' themes (from :meth:`transform`).

        Returns
        -------
        ndarray of int
            Sub-theme numbers as in ``hierarchy_``; ``-1`` where the theme is ``-1``.
        """
        check_is_fitted(self, "sub_centroids_")
        labels = np.asarray(labels, dtype=np.int64)
        _, emb = _check_input([""] * len(labels), embeddings)
        if len(self.sub_centroids_) == 0 or len(emb) == 0:
            return np.full(len(labels), -1, dtype=np.int64)
        return self._assign_sub(self._smoothed(emb), labels)

    def _assign_sub(self, smoothed: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Nearest sub-theme within each record's theme, on the :meth:`_smoothed` embeddings."""
        sims = smoothed @ self.sub_centroids_.astype(np.float64).T
        allowed = self.sub_parent_[None, :] == labels[:, None]
        sims = np.where(allowed, sims, -np.inf)
        return np.where(labels >= 0, np.argmax(sims, axis=1), -1).astype(np.int64)

    def _describe(self, docs: list[str], emb: np.ndarray) -> None:
        """Keywords, labels and representative documents of themes and sub-themes."""
        cent = self.centroids_.astype(np.float64)
        # one tokenizer for themes and sub-themes: each distinct document is lemmatised once
        tokenizer = LemmaTokenizer()
        vec = make_vectorizer(self.stop_words, tuple(self.ngram_range), tokenizer)
        kws = theme_keywords(docs, self.labels_, emb, cent, vec, n_keywords=self.n_keywords,
                             diversity=self.mmr_diversity)
        reps = representative_docs(docs, emb, self.labels_, cent, self.n_representative_docs)
        sizes = np.bincount(self.labels_[self.labels_ >= 0], minlength=len(cent))
        rows = []
        for t in range(len(cent)):
            words = [w for w, _ in kws[t]]
            kw_label = keyword_label(words, self.n_label_keywords)
            rows.append({
                "theme": t,
                "label": apply_labeller(self.labeller, words, reps[t], kw_label),
                "keyword_label": kw_label,
                "keywords": words,
                "size": int(sizes[t]),
                "share": float(sizes[t] / len(docs)),
                "representative_docs": reps[t],
                "sub_themes": [int(s) for s in np.flatnonzero(self.sub_parent_ == t)],
            })
        self.themes_ = pd.DataFrame(rows, columns=_THEME_COLUMNS)
        sub_cent = self.sub_centroids_.astype(np.float64)
        sub_kws = theme_keywords(docs, self.sub_labels_, emb, sub_cent,
                                 make_vectorizer(self.stop_words, tuple(self.ngram_range),
                                                 tokenizer),
                                 n_keywords=self.n_label_keywords, diversity=self.mmr_diversity)
        sub_sizes = np.bincount(self.sub_labels_[self.sub_labels_ >= 0],
                                minlength=len(sub_cent))
        self.hierarchy_ = pd.DataFrame({
            "sub_theme": np.arange(len(sub_cent), dtype=np.int64),
            "parent": self.sub_parent_.astype(np.int64),
            "size": sub_sizes.astype(np.int64),
            "keyword_label": [keyword_label([w for w, _ in k], self.n_label_keywords)
                              for k in sub_kws],
        })

    def _set_empty(self, n: int, dim: int) -> None:
        self.labels_ = np.full(n, -1, dtype=np.int64)
        self.sub_labels_ = np.full(n, -1, dtype=np.int64)
        self.centroids_ = np.zeros((0, dim), dtype=np.float32)
        self.sub_centroids_ = np.zeros((0, dim), dtype=np.float32)
        self.sub_parent_ = np.zeros(0, dtype=np.int64)
        self.themes_ = pd.DataFrame(columns=_THEME_COLUMNS)
        self.hierarchy_ = pd.DataFrame(columns=["sub_theme", "parent", "size", "keyword_label"])

    @property
    def n_themes_(self) -> int:
        """Number of themes found."""
        check_is_fitted(self, "centroids_")
        return len(self.centroids_)


_THEME_COLUMNS = ["theme", "label", "keyword_label", "keywords", "size", "share",
                  "representative_docs", "sub_themes"]


def _check_input(docs, embeddings) -> tuple[list[str], np.ndarray]:
    docs = ["" if d is None or (isinstance(d, float) and math.isnan(d)) else str(d)
            for d in list(docs)]
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.size == 0 and emb.ndim != 2:
        emb = emb.reshape(0, 0)
    if emb.ndim != 2:
        raise InputError(f"embeddings must be 2-D (n_docs, dim), got shape {emb.shape}")
    if len(docs) != len(emb):
        raise InputError(f"{len(docs)} docs but {len(emb)} embeddings")
    if not np.all(np.isfinite(emb)):
        raise InputError("embeddings contain NaN or infinite values")
    return docs, _normalise(emb)


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def _centroids(emb: np.ndarray, labels: np.ndarray, k: int, mask=None) -> np.ndarray:
    """L2-normalised mean embedding of each label ``0..k-1``."""
    if mask is None:
        mask = labels >= 0
    out = np.zeros((k, emb.shape[1]))
    np.add.at(out, labels[mask], emb[mask])
    return _normalise(out)


def sample_by_key(keys: Sequence, size: int | None, random_state) -> np.ndarray:
    """Positions (ascending) of the ``size`` keys with the smallest seeded hash.

    Which keys are drawn depends only on the keys and the seed, not on where they sit: a
    partitioned run that keeps each partition's ``size`` smallest and then the overall
    smallest draws the same sample as a single machine (see :func:`key_hashes`); kept in input
    order, the sample is fitted in the same order too.

    Parameters
    ----------
    keys : sequence
        Unique keys (record ids); compared as strings.
    size : int or None
        Sample size; ``None`` (or more than there are keys) orders every key.
    random_state : int, RandomState or None
        The seed mixed into the hash (a RandomState draws one).

    Returns
    -------
    ndarray of int
    """
    keys = [str(k) for k in keys]
    hashes = key_hashes(keys, random_state)
    # ties of the 64-bit hash are broken by the key itself, so the order is total
    order = sorted(range(len(keys)), key=lambda i: (int(hashes[i]), keys[i]))
    if size is not None:
        order = order[:size]
    return np.sort(np.asarray(order, dtype=np.int64))


def key_hashes(keys: Sequence, random_state) -> np.ndarray:
    """A seeded 64-bit hash of each key (as a string): its rank in :func:`sample_by_key`."""
    import hashlib

    if isinstance(random_state, (int, np.integer)):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    salt = seed.to_bytes(8, "little", signed=True)
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(str(k).encode("utf-8"), digest_size=8,
                                        key=salt).digest(), "little") for k in keys),
        dtype=np.uint64, count=len(keys))


def _union(groups: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``groups`` (one id per item) with the groups of each pair of items joined."""
    parent = {g: g for g in np.unique(groups).tolist()}

    def root(g):
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for a, b in pairs.tolist():
        ra, rb = root(int(groups[a])), root(int(groups[b]))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(int(g)) for g in groups], dtype=np.int64)


def exact_cosine_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest rows by cosine distance, itself first (UMAP's ``precomputed_knn``).

    Parameters
    ----------
    x : ndarray (n, d)
        L2-normalised rows.
    k : int
        Neighbours per row, the row itself included.

    Returns
    -------
    indices : ndarray (n, k) of int64
        Row ``i`` starts with ``i``; ties are broken by the lower row number, so the result
        does not depend on the partition algorithm.
    distances : ndarray (n, k) of float32
        ``1 - cosine``, clipped at 0 (0 for the row itself).
    """
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    k = min(k, n)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        sims = x[start:stop] @ x.T
        rows = np.arange(stop - start)
        sims[rows, start + rows] = np.inf  # the row itself comes first
        # candidates: the k largest (a superset when ties straddle the cut), then an exact
        # order by (similarity descending, row number ascending)
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        cut = np.take_along_axis(sims, part, axis=1).min(axis=1, keepdims=True)
        for r in range(stop - start):
            cand = np.flatnonzero(sims[r] >= cut[r, 0])
            order = np.lexsort((cand, -sims[r, cand]))[:k]
            indices[start + r] = cand[order]
        top = np.take_along_axis(sims, indices[start:stop], axis=1)
        top[:, 0] = 1.0
        distances[start:stop] = np.maximum(1.0 - top, 0.0)
    return indices, distances
