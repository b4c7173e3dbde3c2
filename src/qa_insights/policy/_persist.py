"""Save and load a fitted :class:`PolicyClassifier` without pickle.

Layout of the directory::

    policy_classifier.json   format version, library version, parameters, classes, fitted
                             scalars, taxonomy sha256, encoder fingerprint, array manifest
    taxonomy.json            the taxonomy the model was built from (its content hashes to the
                             sha256 above)
    arrays/<name>.npy        numeric state, written with ``allow_pickle=False``; each file's
                             sha256 is in the manifest. In supervised mode this includes the
                             re-centred embeddings of the training rows (the neighbour vote
                             needs them): derived from the texts, never the texts themselves

Loading checks, and names in the error, every mismatch: format version, a modified or corrupt
file, a taxonomy other than the one trained on, an encoder with another fingerprint.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._base import sha256_file
from .._version import __version__
from ..errors import ConfigError, StateError
from ._classifier import PolicyClassifier
from ._taxonomy import PolicyTaxonomy

__all__ = ["save_policy_classifier", "load_policy_classifier", "FORMAT_VERSION"]

logger = logging.getLogger(__name__)

# 2: blended logistic + neighbour-vote model (centre_, neighbour_* arrays, one sigmoid per area)
# 3: the non-English logit (crosslingual_, native_* arrays, native_fingerprint_)
# 4: the n-gram view of supervised models (lexical_* arrays)
FORMAT_VERSION = 4
_META = "policy_classifier.json"
_TAXONOMY = "taxonomy.json"
_ARRAYS = ("description_embeddings_", "example_embeddings_", "example_area_", "centre_",
           "coef_", "intercept_", "calibration_", "blend_", "neighbour_units_", "neighbour_labels_",
           "crosslingual_", "native_description_embeddings_", "native_example_embeddings_",
           "lexical_columns_", "lexical_idf_", "lexical_coef_", "lexical_intercept_",
           "lexical_slope_")
_SCALARS = ("zero_shot_slope_", "zero_shot_intercept_", "n_features_in_", "native_fingerprint_",
            "crosslingual_top_k_")
# parameters that are objects, stored elsewhere (taxonomy) or supplied on load (encoder)
_NOT_SAVED_PARAMS = ("taxonomy", "encoder")


def save_policy_classifier(clf: PolicyClassifier, path: str | Path) -> Path:
    """Write a fitted classifier to directory ``path`` (created if needed).

    Returns
    -------
    Path
        The directory written.
    """
    if not hasattr(clf, "classes_"):
        raise StateError("cannot save an unfitted PolicyClassifier: call fit first")
    path = Path(path)
    (path / "arrays").mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name in _ARRAYS:
        arr = np.ascontiguousarray(getattr(clf, name))
        file = path / "arrays" / f"{name.rstrip('_')}.npy"
        np.save(file, arr, allow_pickle=False)
        manifest[name] = {"file": f"arrays/{file.name}", "sha256": sha256_file(file),
                          "shape": list(arr.shape), "dtype": str(arr.dtype)}
    (path / _TAXONOMY).write_text(clf.taxonomy_.canonical_json() + "\n", encoding="utf-8")
    params = {k: v for k, v in clf.get_params(deep=False).items() if k not in _NOT_SAVED_PARAMS}
    meta = {
        "format": "qa_insights.policy_classifier",
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "params": params,
        "classes": [str(c) for c in clf.classes_],
        "supervised_areas": list(clf.supervised_areas_),
        "scalars": {k: getattr(clf, k) for k in _SCALARS},
        "taxonomy_sha256": clf.taxonomy_sha256_,
        "encoder_fingerprint": clf.encoder_fingerprint_,
        "arrays": manifest,
    }
    (path / _META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n",
                              encoding="utf-8")
    logger.info("saved policy classifier to %s", path)
    return path


def _taxonomy_diff(saved: PolicyTaxonomy, given: PolicyTaxonomy) -> str:
    saved_areas = {a.id: a for a in saved.areas}
    given_areas = {a.id: a for a in given.areas}
    parts = []
    if added := sorted(set(given_areas) - set(saved_areas)):
        parts.append(f"added areas {added}")
    if removed := sorted(set(saved_areas) - set(given_areas)):
        parts.append(f"removed areas {removed}")
    changed = sorted(a for a in set(saved_areas) & set(given_areas)
                     if saved_areas[a] != given_areas[a])
    if changed:
        parts.append(f"changed areas {changed}")
    if not parts and saved.ids != given.ids:
        parts.append("areas reordered")
    return "; ".join(parts) or "version field differs"


def load_policy_classifier(path: str | Path, *, encoder: Any = None,
                           taxonomy: PolicyTaxonomy | None = None) -> PolicyClassifier:
    """Read a classifier saved by :func:`save_policy_classifier`.

    Parameters
    ----------
    path : str or Path
        The directory.
    encoder : object, optional
        Encoder for new texts; its ``fingerprint`` must match the saved one. If omitted the
        default :class:`~qa_insights.embed.TextEncoder` is used and checked on first use.
    taxonomy : PolicyTaxonomy, optional
        The taxonomy in force (e.g. from the pipeline config); must be the one trained on.
        If omitted, the saved copy is used.

    Returns
    -------
    PolicyClassifier
        Fitted; ``predict_proba`` gives the same numbers as before saving.

    Raises
    ------
    StateError
        Missing/corrupt/modified files, another format version, another encoder.
    ConfigError
        ``taxonomy`` differs from the saved one (the message lists what changed).
    """
    path = Path(path)
    meta_file = path / _META
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StateError(f"{path}: no saved policy classifier ({_META} missing)") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise StateError(f"{meta_file}: unreadable: {exc}") from exc
    if meta.get("format") != "qa_insights.policy_classifier":
        raise StateError(f"{meta_file}: not a saved policy classifier")
    if meta.get("format_version") != FORMAT_VERSION:
        raise StateError(f"{meta_file}: format version {meta.get('format_version')!r}, this "
                         f"qa_insights ({__version__}) reads version {FORMAT_VERSION}; retrain "
                         "and save again")
    if meta.get("library_version") != __version__:
        logger.info("policy classifier saved by qa_insights %s, loading with %s",
                    meta.get("library_version"), __version__)

    tax_file = path / _TAXONOMY
    try:
        saved_tax = PolicyTaxonomy.from_dict(json.loads(tax_file.read_text(encoding="utf-8")),
                                             source=str(tax_file))
    except (OSError, json.JSONDecodeError) as exc:
        raise StateError(f"{tax_file}: unreadable: {exc}") from exc
    except ConfigError as exc:
        raise StateError(f"{tax_file}: the saved taxonomy is invalid: {exc}") from exc
    if saved_tax.sha256 != meta["taxonomy_sha256"]:
        raise StateError(f"{tax_file}: taxonomy sha256 {saved_tax.sha256[:12]} does not match "
                         f"the {meta['taxonomy_sha256'][:12]} the model was trained on: the "
                         "file was modified after saving")
    if taxonomy is not None and taxonomy.sha256 != saved_tax.sha256:
        raise ConfigError(
            f"{path}: the model was trained on taxonomy sha256 {saved_tax.sha256[:12]}, the "
            f"taxonomy given ({taxonomy.source}) has {taxonomy.sha256[:12]} "
            f"({_taxonomy_diff(saved_tax, taxonomy)}); retrain the classifier on it")
    if saved_tax.ids != meta["classes"]:
        raise StateError(f"{meta_file}: classes {meta['classes']} do not match the saved "
                         f"taxonomy's areas {saved_tax.ids}")
    if encoder is not None and str(encoder.fingerprint) != meta["encoder_fingerprint"]:
        raise StateError(f"{path}: saved with encoder fingerprint {meta['encoder_fingerprint']!r}"
                         f", the encoder given has {encoder.fingerprint!r}")
    native_fp = meta["scalars"].get("native_fingerprint_")
    given_fp = getattr(encoder, "native_fingerprint", None) if encoder is not None else None
    if native_fp is not None and given_fp is not None and str(given_fp) != native_fp:
        raise StateError(f"{path}: saved with e5 fingerprint {native_fp!r}, the encoder given "
                         f"has {given_fp!r}")

    params = dict(meta["params"])
    try:
        clf = PolicyClassifier(taxonomy=taxonomy or saved_tax, encoder=encoder, **params)
    except TypeError as exc:
        raise StateError(f"{meta_file}: parameters do not fit this version: {exc}") from exc
    for name in _ARRAYS:
        entry = meta["arrays"].get(name)
        if entry is None:
            raise StateError(f"{meta_file}: array {name!r} missing from the manifest")
        file = path / entry["file"]
        if not file.exists():
            raise StateError(f"{file}: missing")
        if sha256_file(file) != entry["sha256"]:
            raise StateError(f"{file}: sha256 differs from the manifest (modified or corrupt)")
        arr = np.load(file, allow_pickle=False)
        if list(arr.shape) != entry["shape"] or str(arr.dtype) != entry["dtype"]:
            raise StateError(f"{file}: shape/dtype {arr.shape}/{arr.dtype} differ from the "
                             f"manifest {entry['shape']}/{entry['dtype']}")
        setattr(clf, name, arr)
    for name, value in meta["scalars"].items():
        setattr(clf, name, value)
    clf.taxonomy_ = saved_tax
    clf.taxonomy_sha256_ = meta["taxonomy_sha256"]
    clf.encoder_fingerprint_ = meta["encoder_fingerprint"]
    clf.classes_ = np.array(meta["classes"], dtype=object)
    clf.supervised_areas_ = list(meta["supervised_areas"])
    return clf
