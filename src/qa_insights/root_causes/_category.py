"""Root-cause category of a theme by zero-shot similarity to a configurable taxonomy.

Each category is represented by the embeddings of its description and its example comments; a
comment's similarity to a category is its largest cosine similarity to any of them (nearest
example, which separates short comments better than a single averaged prototype). A theme's
similarity is the mean over its comments, turned into a confidence by a softmax.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ._config import CategoryConfig

__all__ = ["CategoryTag", "RootCauseCategorizer", "tag_root_cause_category"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CategoryTag:
    """The category of one theme.

    Attributes
    ----------
    category : str
        Id of the best category.
    name : str
        Its display name.
    confidence : float
        Softmax probability of the best category.
    margin : float
        Cosine similarity of the best category minus that of the runner-up.
    scores : DataFrame
        Every category: ``category``, ``name``, ``similarity``, ``probability``,
        ``share_of_comments`` (comments whose nearest category it is), best first.
    """

    category: str
    name: str
    confidence: float
    margin: float
    scores: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready summary (without the per-category table)."""
        return {"category": self.category, "name": self.name,
                "confidence": self.confidence, "margin": self.margin}


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def _default_encoder():
    try:
        from ..embed import TextEncoder
    except ImportError as exc:  # pragma: no cover - depends on the installed stage modules
        raise ImportError("tagging needs an encoder: pass encoder= or precomputed embeddings "
                          "(qa_insights.embed.TextEncoder is not available)") from exc
    return TextEncoder()


class RootCauseCategorizer:
    """Zero-shot root-cause category tagger over an encoder with ``encode(list[str])``.

    Parameters
    ----------
    encoder : object, optional
        Anything with ``encode(list_of_str) -> ndarray (n, d)``; default
        :class:`qa_insights.embed.TextEncoder`.
    config : CategoryConfig, optional
        Taxonomy and softmax temperature.

    Attributes
    ----------
    category_ids_ : list of str
    text_owner_ : ndarray of int
        For each embedded taxonomy text, the index of its category.
    text_embeddings_ : ndarray (n_texts, d)
    """

    def __init__(self, encoder=None, config: CategoryConfig | None = None) -> None:
        self.encoder = encoder
        self.config = config

    def fit(self) -> RootCauseCategorizer:
        """Embed the taxonomy's descriptions and examples."""
        config = self.config or CategoryConfig()
        encoder = self.encoder if self.encoder is not None else _default_encoder()
        texts, owner = [], []
        for idx, cat in enumerate(config.categories):
            for text in (cat.description, *cat.examples):
                texts.append(text)
                owner.append(idx)
        self.config_ = config
        self.encoder_ = encoder
        self.category_ids_ = [c.id for c in config.categories]
        self.text_owner_ = np.asarray(owner)
        self.text_embeddings_ = _normalise(encoder.encode(texts))
        return self

    def comment_similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """(n_comments, n_categories) nearest-text cosine similarity of each comment."""
        sims = _normalise(embeddings) @ self.text_embeddings_.T
        out = np.full((sims.shape[0], len(self.category_ids_)), -np.inf, dtype=np.float64)
        for idx in range(len(self.category_ids_)):
            out[:, idx] = sims[:, self.text_owner_ == idx].max(axis=1)
        return out

    def tag(self, comments: Sequence[str] | None = None, *,
            embeddings: np.ndarray | None = None) -> CategoryTag:
        """Category of a theme from its comments (or their precomputed embeddings)."""
        if not hasattr(self, "text_embeddings_"):
            self.fit()
        if embeddings is None:
            if not comments:
                raise InputError("a theme needs at least one comment to be tagged")
            embeddings = self.encoder_.encode(list(comments))
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2 or embeddings.shape[0] == 0:
            raise InputError(f"embeddings must be a non-empty 2-D array, got {embeddings.shape}")
        if embeddings.shape[1] != self.text_embeddings_.shape[1]:
            raise InputError(f"embedding width {embeddings.shape[1]} does not match the "
                             f"encoder's {self.text_embeddings_.shape[1]}")
        return self.tag_similarities(self.comment_similarities(embeddings))

    def tag_similarities(self, per_comment: np.ndarray) -> CategoryTag:
        """Category of a theme from its comments' :meth:`comment_similarities` (rows in
        record-id order), e.g. computed partition by partition where the embeddings are.

        Returns
        -------
        CategoryTag
        """
        if not hasattr(self, "text_embeddings_"):
            self.fit()
        per_comment = np.asarray(per_comment, dtype=np.float64)
        if per_comment.ndim != 2 or per_comment.shape[0] == 0 \
                or per_comment.shape[1] != len(self.category_ids_):
            raise InputError(f"expected a non-empty (n, {len(self.category_ids_)}) similarity "
                             f"array, got {per_comment.shape}")
        sim = per_comment.mean(axis=0)
        logits = (sim - sim.max()) / self.config_.temperature
        prob = np.exp(logits) / np.exp(logits).sum()
        share = np.bincount(per_comment.argmax(axis=1),
                            minlength=len(self.category_ids_)) / per_comment.shape[0]
        cats = self.config_.categories
        scores = pd.DataFrame({
            "category": self.category_ids_, "name": [c.name for c in cats],
            "similarity": sim, "probability": prob, "share_of_comments": share,
        }).sort_values(["similarity", "category"], ascending=[False, True], kind="stable")
        scores = scores.reset_index(drop=True)
        best = scores.iloc[0]
        margin = float(best.similarity - scores.iloc[1].similarity)
        return CategoryTag(str(best.category), str(best["name"]), float(best.probability),
                           margin, scores)


def tag_root_cause_category(comments: Sequence[str] | None = None, *,
                            embeddings: np.ndarray | None = None, encoder=None,
                            config: CategoryConfig | None = None) -> CategoryTag:
    """Root-cause category of a theme from its comments or their embeddings.

    Convenience over :class:`RootCauseCategorizer`; to tag many themes, fit one categorizer
    and call :meth:`RootCauseCategorizer.tag` for each, so the taxonomy is embedded once.

    Returns
    -------
    CategoryTag
    """
    return RootCauseCategorizer(encoder=encoder, config=config).tag(comments,
                                                                   embeddings=embeddings)
