"""Configuration of the policy stage."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from .._base import StrictModel

__all__ = ["PolicyConfig", "DEFAULT_THRESHOLDS"]

#: Default abstention thresholds per mode, chosen on ``benchmarks/policy_quality.py`` so that
#: predictions kept (not ``unknown``) are right at least 90% of the time there. Zero-shot
#: probabilities come from a map fitted on the taxonomy's short examples and run low on long
#: texts, so the two modes need different thresholds. Measured there: zero-shot 0.4 ->
#: precision 0.92 at coverage 5% (long web texts, unlike tickets); supervised 0.85 ->
#: precision 0.93 at coverage 30% (0.8 gave 0.899).
DEFAULT_THRESHOLDS: dict[str, float] = {"zero_shot": 0.4, "supervised": 0.85}


class PolicyConfig(StrictModel):
    """Settings of the policy-area classifier (``policy:`` section of the pipeline config).

    Attributes
    ----------
    taxonomy_path : Path or None
        Taxonomy YAML; ``None`` means the one shipped in ``configs/policy_areas.yaml``.
    mode : {"zero_shot", "supervised"}
        ``supervised`` needs records with ``policy_area`` labels; areas with fewer than
        ``min_labels`` positive (or negative) labels fall back to zero-shot scores.
    threshold : float or None
        Abstention threshold on the top score (below it the area is ``unknown``); ``None``
        uses :data:`DEFAULT_THRESHOLDS` for the mode.
    multilabel_threshold : float
        Every area scoring at least this is listed in ``policy_areas``.
    min_labels : int
        Positive and negative labels an area needs to get its own supervised model.
    top_k : int
        Zero-shot: how many of an area's closest examples are averaged.
    description_weight : float
        Zero-shot: weight of the description similarity against the examples' (0..1).
    C : float
        Inverse regularisation strength of the supervised logistic regressions.
    knn_k, knn_temperature : int, float
        Supervised: neighbours in the vote, and how sharply the closer ones count more.
    knn_weight, zero_shot_weight : float
        Supervised: weight of the neighbour vote and of the zero-shot logit added to the
        logistic regression's score (see :mod:`qa_insights.policy._supervised`).
    tune_blend : bool
        Supervised: choose those two weights per area by the average precision of
        out-of-fold scores on the training labels (the given values are the starting point).
        Off by default: it lowered macro AP on the benchmark (0.579 against 0.589), chiefly
        graphic violence, which the area's labels do not single out.
    calibration_folds : int
        Folds of the out-of-fold scores the per-area sigmoid is fitted on.
    zero_shot_features, taxonomy_rows : bool
        Supervised: add the zero-shot logits as logistic regression features (off: it lowered
        macro AP on the benchmark); add the taxonomy's examples as extra training rows.
    lexical, lexical_C : bool, float
        Supervised, when the texts are given to ``fit``: also learn from their words and
        character n-grams (:mod:`qa_insights.policy._lexical`), with this inverse
        regularisation strength. A model fitted so needs the texts at prediction time too.
    n_alternatives : int
        How many runner-up areas ``predict_frame`` lists.
    random_state : int
    """

    taxonomy_path: Path | None = None
    mode: Literal["zero_shot", "supervised"] = "zero_shot"
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    multilabel_threshold: float = Field(default=0.35, gt=0.0, le=1.0)
    min_labels: int = Field(default=10, ge=2)
    top_k: int = Field(default=5, ge=1)
    description_weight: float = Field(default=0.15, ge=0.0, le=1.0)
    C: float = Field(default=1.0, gt=0.0)
    knn_k: int = Field(default=30, ge=1)
    knn_temperature: float = Field(default=10.0, ge=0.0)
    knn_weight: float = Field(default=8.0, ge=0.0)
    zero_shot_weight: float = Field(default=0.5, ge=0.0)
    tune_blend: bool = False
    calibration_folds: int = Field(default=5, ge=2)
    zero_shot_features: bool = False
    taxonomy_rows: bool = True
    lexical: bool = True
    lexical_C: float = Field(default=4.0, gt=0.0)
    n_alternatives: int = Field(default=3, ge=0)
    random_state: int = 0

    @model_validator(mode="after")
    def _check(self) -> "PolicyConfig":
        if self.min_labels < self.calibration_folds:
            raise ValueError("min_labels must be at least calibration_folds (each calibration "
                             "fold needs a label of each kind)")
        return self

    def classifier_params(self) -> dict:
        """Keyword arguments for :class:`~qa_insights.policy.PolicyClassifier` (no taxonomy)."""
        return self.model_dump(exclude={"taxonomy_path"})
