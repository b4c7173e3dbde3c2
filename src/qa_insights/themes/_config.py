"""Configuration of the theme model and the theme registry."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .._base import StrictModel

__all__ = ["ThemeConfig", "DEFAULT_STOP_WORDS"]

#: Words that occur in nearly every QA comment and so say nothing about the failure.
DEFAULT_STOP_WORDS: tuple[str, ...] = (
    "agent", "user", "ticket", "customer", "case", "reviewer", "review", "qa", "comment",
    "report", "reporter", "support", "team", "issue", "query", "request", "please", "hi",
    "hello", "thanks", "thank", "redacted", "email", "phone", "url", "handle",
)


class ThemeConfig(StrictModel):
    """Settings of :class:`~qa_insights.themes.ThemeModel` and :class:`ThemeRegistry`.

    The defaults are tuned so that rewordings of one failure land in one theme while distinct
    failures stay apart; ``configs/themes.yaml`` documents each value.
    """

    # discovery
    umap_n_neighbors: int = Field(15, ge=2)
    umap_n_components: int = Field(5, ge=2)
    umap_min_dist: float = Field(0.0, ge=0.0)
    min_theme_size: int = Field(10, ge=2)
    min_theme_floor: int = Field(5, ge=2)
    min_theme_full_at: int = Field(3000, ge=1)
    min_theme_share: float = Field(0.002, ge=0.0, le=0.5)
    min_samples: int | None = Field(5, ge=1)
    cluster_selection_method: Literal["eom", "leaf"] = "eom"
    smoothing_neighbors: int = Field(5, ge=1)
    merge_threshold: float = Field(0.1, ge=0.0, le=2.0)
    link_neighbors: int = Field(30, ge=1)
    link_threshold: float | None = Field(0.15, gt=0.0, le=1.0)
    min_themes: int = Field(2, ge=1)
    max_themes: int = Field(150, ge=1)
    outlier_threshold: float = Field(0.3, ge=-1.0, le=1.0)
    sample_size: int | None = Field(20000, ge=10)
    random_state: int = 42
    # labels
    stop_words: list[str] = Field(default_factory=lambda: list(DEFAULT_STOP_WORDS))
    ngram_range: tuple[int, int] = (1, 2)
    n_keywords: int = Field(10, ge=1)
    n_label_keywords: int = Field(4, ge=1)
    mmr_diversity: float = Field(0.3, ge=0.0, le=1.0)
    n_representative_docs: int = Field(5, ge=1)
    # registry
    match_threshold: float = Field(0.75, ge=-1.0, le=1.0)
    lineage_threshold: float = Field(0.6, ge=-1.0, le=1.0)
    retire_after: int = Field(6, ge=1)

    @model_validator(mode="after")
    def _check_ranges(self) -> "ThemeConfig":
        if self.min_theme_floor > self.min_theme_size:
            raise ValueError(f"min_theme_floor ({self.min_theme_floor}) > min_theme_size "
                             f"({self.min_theme_size})")
        if self.min_themes > self.max_themes:
            raise ValueError(f"min_themes ({self.min_themes}) > max_themes ({self.max_themes})")
        if self.ngram_range[0] < 1 or self.ngram_range[0] > self.ngram_range[1]:
            raise ValueError(f"bad ngram_range {self.ngram_range}")
        if self.lineage_threshold > self.match_threshold:
            raise ValueError("lineage_threshold must not exceed match_threshold")
        return self
