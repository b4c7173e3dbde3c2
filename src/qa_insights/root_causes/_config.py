"""Configuration of root-cause ranking (:class:`RootCauseConfig`) and its category taxonomy."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import Field, field_validator, model_validator

from .._base import StrictModel
from ..errors import ConfigError

__all__ = ["RootCauseConfig", "PhraseConfig", "CategoryConfig", "RootCauseCategory",
           "default_categories"]


class RootCauseCategory(StrictModel):
    """One root-cause category of the taxonomy.

    Parameters
    ----------
    id : str
        Stable snake_case id (stored in reports and flags).
    name : str
        Human-readable name.
    description : str
        What belongs in the category, in the words reviewers use; embedded for zero-shot tagging.
    examples : list of str
        Example reviewer comments of this category; embedded beside the description.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)


@lru_cache(maxsize=1)
def _packaged_yaml() -> dict:
    text = (resources.files("qa_insights") / "configs" / "root_causes.yaml").read_text("utf-8")
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ConfigError("configs/root_causes.yaml: expected a mapping of settings")
    return raw


def default_categories() -> list[RootCauseCategory]:
    """The default taxonomy: ``category.categories`` of the packaged ``root_causes.yaml``."""
    raw = _packaged_yaml().get("category", {}).get("categories")
    if not raw:
        raise ConfigError("configs/root_causes.yaml: category.categories is missing or empty")
    return [RootCauseCategory.model_validate(item) for item in raw]


class PhraseConfig(StrictModel):
    """Distinctive-phrase extraction (log-odds with an informative Dirichlet prior).

    Parameters
    ----------
    top : int
        Number of phrases returned.
    max_ngram : int
        Longest phrase, in words (1 to 3).
    min_count : int
        A phrase must occur at least this often in the theme's comments.
    prior_scale : float
        Total pseudo-count ``alpha_0`` of the Dirichlet prior (Monroe et al. 2008); the prior
        of each phrase is proportional to its frequency in both corpora together.
    """

    top: int = Field(10, ge=1)
    max_ngram: int = Field(3, ge=1, le=3)
    min_count: int = Field(2, ge=1)
    prior_scale: float = Field(100.0, gt=0)


class CategoryConfig(StrictModel):
    """Zero-shot root-cause category tagging.

    Parameters
    ----------
    temperature : float
        Softmax temperature over the cosine similarities; smaller is more decisive.
    categories : list of RootCauseCategory
        The taxonomy; default from ``configs/root_causes.yaml``.
    """

    temperature: float = Field(0.05, gt=0)
    categories: list[RootCauseCategory] = Field(default_factory=default_categories, min_length=2)

    @field_validator("categories")
    @classmethod
    def _unique_ids(cls, value: list[RootCauseCategory]) -> list[RootCauseCategory]:
        ids = [c.id for c in value]
        if len(set(ids)) != len(ids):
            raise ValueError(f"category ids must be unique, got {ids}")
        return value


class RootCauseConfig(StrictModel):
    """Root-cause ranking of a theme over attribute combinations.

    Parameters
    ----------
    dimensions : list of str, optional
        Columns searched. ``None``: the data contract's categorical columns that are present.
    extra_dimensions : list of str
        More categorical columns searched beside ``dimensions`` (e.g. a site or vendor column).
    max_dims : int
        Largest number of attributes in a combination (1 to 3).
    min_support : int
        A combination must match at least this many records (of the compared population).
    min_theme_count : int
        ... and at least this many of the theme's records.
    beam_width : int
        Number of combinations of each size that are expanded to the next size (RiskLoc /
        Squeeze-style pruning: a child is only searched under a promising parent).
    expand_alpha : float
        A combination is promising (may be expanded) only when over-represented with a raw
        one-sided p-value below this.
    prior_strength : float
        Pseudo-records of the Beta prior that shrinks a combination's theme rate towards its
        parent's rate (the overall rate for single attributes); keeps tiny groups off the top.
    correction : {"bh", "holm"}
        Multiple-comparison correction of the p-values across all tested combinations:
        Benjamini-Hochberg (false-discovery rate) or Holm (family-wise error).
    alpha : float
        Combinations with a corrected ``q_value`` above this are not reported.
    child_alpha : float
        A child is kept only when its theme rate is significantly above the rest of its parent's
        at this level (one-sided Fisher); otherwise it is collapsed into the parent.
    overlap_threshold : float
        A candidate whose theme records lie at least this share inside a better-ranked
        candidate's is collapsed into it.
    confidence_level : float
        Of the Katz log interval of the risk ratio.
    score_beta : float
        Weight of coverage against purity in the ranking score (an F-beta of the shrunk
        explanatory power and the shrunk in-combination theme rate): above 1 favours broad
        combinations that explain more of the theme, below 1 narrow and pure ones.
    max_candidates : int
        Length of the returned list (after collapsing).
    n_examples : int
        Example comments per candidate (3 to 5).
    max_evidence_ids : int
        Most record ids listed as evidence per candidate.
    keep_collapsed : bool
        Also return collapsed candidates (``rank`` empty, ``collapsed_into`` the rank of the
        candidate that absorbs them). By default they are dropped.
    phrases : PhraseConfig
        Distinctive phrases of the theme's comments.
    category : CategoryConfig
        Root-cause category taxonomy and tagging.
    """

    dimensions: list[str] | None = None
    extra_dimensions: list[str] = Field(default_factory=list)
    max_dims: int = Field(3, ge=1, le=3)
    min_support: int = Field(5, ge=1)
    min_theme_count: int = Field(3, ge=1)
    beam_width: int = Field(20, ge=1)
    expand_alpha: float = Field(0.2, gt=0, le=1)
    prior_strength: float = Field(20.0, ge=0)
    correction: Literal["bh", "holm"] = "bh"
    alpha: float = Field(0.05, gt=0, le=1)
    child_alpha: float = Field(0.05, gt=0, le=1)
    overlap_threshold: float = Field(0.9, gt=0, le=1)
    confidence_level: float = Field(0.95, gt=0, lt=1)
    score_beta: float = Field(2.0, gt=0)
    max_candidates: int = Field(20, ge=1)
    n_examples: int = Field(5, ge=3, le=5)
    max_evidence_ids: int = Field(200, ge=1)
    keep_collapsed: bool = False
    phrases: PhraseConfig = Field(default_factory=PhraseConfig)
    category: CategoryConfig = Field(default_factory=CategoryConfig)

    @model_validator(mode="after")
    def _min_counts(self) -> RootCauseConfig:
        if self.min_theme_count > self.min_support:
            raise ValueError("min_theme_count cannot exceed min_support")
        return self

    @classmethod
    def from_packaged_defaults(cls) -> RootCauseConfig:
        """The config in the packaged ``configs/root_causes.yaml``."""
        return cls.model_validate(_packaged_yaml())
