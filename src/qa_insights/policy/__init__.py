"""Policy-area classification: zero-shot from a taxonomy, supervised where labels exist.

Public API: :class:`PolicyTaxonomy` / :class:`PolicyArea` (the validated
``configs/policy_areas.yaml``), :class:`PolicyConfig`, :class:`PolicyClassifier`,
:func:`save_policy_classifier` / :func:`load_policy_classifier` (JSON + ``.npy``, no pickle),
and the evaluation helpers :func:`evaluate_policy`, :func:`confusion_table`,
:func:`cross_validate_policy`.
"""

from ._classifier import PolicyClassifier, label_matrix
from ._config import DEFAULT_THRESHOLDS, PolicyConfig
from ._evaluate import PolicyCVResult, confusion_table, cross_validate_policy, evaluate_policy
from ._persist import FORMAT_VERSION, load_policy_classifier, save_policy_classifier
from ._taxonomy import SEVERITIES, UNKNOWN, PolicyArea, PolicyTaxonomy, default_taxonomy_path

__all__ = [
    "PolicyArea", "PolicyTaxonomy", "PolicyConfig", "PolicyClassifier", "DEFAULT_THRESHOLDS",
    "SEVERITIES", "UNKNOWN", "default_taxonomy_path", "label_matrix",
    "save_policy_classifier", "load_policy_classifier", "FORMAT_VERSION",
    "evaluate_policy", "confusion_table", "cross_validate_policy", "PolicyCVResult",
]
