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
#: precision 0.92 at coverage 5% (long web texts, unlike tickets); supervised 0.8 -> precision
#: 0.91 at coverage 33%.
DEFAULT_THRESHOLDS: dict[str, float] = {"zero_shot": 0.4, "supervised": 0.8}


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
    calibration_folds : int
        Folds of the sigmoid calibration (``CalibratedClassifierCV``).
    zero_shot_features, taxonomy_rows : bool
        Supervised: add the zero-shot similarity scores as features; add the taxonomy's
        examples as extra training rows.
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
    C: float = Field(default=4.0, gt=0.0)
    calibration_folds: int = Field(default=5, ge=2)
    zero_shot_features: bool = True
    taxonomy_rows: bool = True
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
