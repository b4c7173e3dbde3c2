"""Embedding throughput on banking77 (train + test): torch baseline vs. qa_insights, cold and warm.

Run from the repository root::

    python3 benchmarks/embed_throughput.py [--backend auto] [--reuse-onnx] [--out FILE.json]

In one process: plain ``SentenceTransformer(path).encode`` (torch fp32, the baseline); then
``TextEncoder`` with the chosen backend on an empty cache in a temporary folder (cold: every text
goes through the model); then the same texts again (warm: every text is a cache hit). The ONNX
export, if any, happens before the cold timing and is reported separately as ``onnx_export_s``;
model loading is outside every timing. By default the export goes to a temporary folder, so it
is always measured; ``--reuse-onnx`` uses the user's cache folder instead. Timings on a shared
machine are noisy: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("QA_INSIGHTS_SHARED_DATA", REPO.parent / "shared" / "data"))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_mhz() -> float | None:
    try:
        values = [float(line.split(":", 1)[1]) for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("cpu MHz")]
        return max(values) if values else None
    except (OSError, ValueError):
        return None


def flops_per_text(config: dict, tokens) -> "np.ndarray":
    """Forward-pass FLOPs of a BERT encoder for texts of ``tokens`` wordpieces (no padding)."""
    import numpy as np

    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    tokens = np.asarray(tokens, dtype=np.float64)
    dense = 2.0 * layers * (4 * h * h + 2 * h * i) * tokens
    attention = 2.0 * 2.0 * layers * h * tokens * tokens
    return dense + attention


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--reuse-onnx", action="store_true",
                        help="use the ONNX file already in the user's cache folder instead of "
                             "exporting a fresh one into a temporary folder")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" /
                                             "embed_throughput.json"))
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="embed-bench-")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not args.reuse_onnx:
        # a fresh export, timed as onnx_export_s; onnxruntime's own files go there too
        os.environ["QA_INSIGHTS_CACHE_DIR"] = str(Path(tmp.name) / "qa_insights")
        os.environ["XDG_CACHE_HOME"] = tmp.name

    import numpy as np
    import pandas as pd
    import torch
    from sentence_transformers import SentenceTransformer

    from qa_insights.embed import TextEncoder, default_model_path

    files = [DATA / "banking77" / "train.csv", DATA / "banking77" / "test.csv"]
    for f in files:
        if not f.exists():
            print(f"{f} not found: the shared data sets must be beside the repository",
                  file=sys.stderr)
            return 2
    texts = pd.concat([pd.read_csv(f) for f in files])["text"].astype(str).tolist()
    model_dir = default_model_path()
    print(f"{len(texts)} banking77 texts ({len(set(texts))} distinct), model {model_dir}")

    # ---- baseline: plain sentence-transformers, torch fp32
    st = SentenceTransformer(str(model_dir), device="cpu")
    st.encode(texts[:64], batch_size=args.batch_size)
    start = time.perf_counter()
    reference = st.encode(texts, batch_size=args.batch_size, convert_to_numpy=True,
                          normalize_embeddings=True)
    baseline_s = time.perf_counter() - start
    print(f"torch baseline: {len(texts) / baseline_s:.0f} texts/s ({baseline_s:.1f} s)")
    del st

    # ---- ours, cold: empty cache; model loaded (and exported) before the clock starts
    cache_db = Path(tmp.name) / "cache.db"
    enc = TextEncoder(backend=args.backend, batch_size=args.batch_size, cache=str(cache_db))
    enc.fit()
    export_s = float(enc.onnx_export_seconds_)
    start = time.perf_counter()
    ours = enc.encode(texts)
    cold_s = time.perf_counter() - start
    assert enc.n_encoded_ == len(set(texts)), "cold run must encode every distinct text"
    print(f"ours cold ({enc._backend_name}): {len(texts) / cold_s:.0f} texts/s ({cold_s:.1f} s); "
          f"ONNX export {export_s:.1f} s (not in the cold time)")

    # ---- ours, warm: a new encoder on the same cache, as a re-run of the same month would be
    warm = TextEncoder(backend=args.backend, batch_size=args.batch_size, cache=str(cache_db))
    warm.fit()
    start = time.perf_counter()
    again = warm.encode(texts)
    warm_s = time.perf_counter() - start
    assert warm.n_encoded_ == 0, "warm run must be all cache hits"
    print(f"ours warm: {len(texts) / warm_s:.0f} texts/s ({warm_s:.2f} s)")

    # ---- fidelity and batch invariance
    cosine = (ours * reference).sum(axis=1)
    order = np.random.default_rng(0).permutation(len(texts))
    other = TextEncoder(backend=args.backend, batch_size=17)
    shuffled = other.encode([texts[i] for i in order])
    invariance = float(np.abs(shuffled - ours[order]).max())
    warm_diff = float(np.abs(again - ours).max())

    ids, counts = enc._tokenize(texts)
    used = np.minimum(counts, enc._max_len)
    config = json.loads((model_dir / "config.json").read_text())
    gflop = float(flops_per_text(config, used).sum()) / 1e9
    threads = enc._runner.n_threads
    flags = cpu_flags()
    mhz = cpu_mhz()
    # fp32 FLOP per cycle per core: 2 FMA pipes x (16 lanes with AVX-512, 8 with AVX2) x 2
    lanes = 16 if "avx512f" in flags else 8
    peak = 2 * lanes * 2 * threads * mhz / 1e3 if mhz else None

    result = {
        "texts": len(texts),
        "distinct_texts": len(set(texts)),
        "baseline_texts_per_s": round(len(texts) / baseline_s, 1),
        "ours_cold_texts_per_s": round(len(texts) / cold_s, 1),
        "ours_warm_texts_per_s": round(len(texts) / warm_s, 1),
        "speedup_cold": round(baseline_s / cold_s, 3),
        "speedup_warm": round(baseline_s / warm_s, 1),
        "min_cosine_vs_torch": round(float(cosine.min()), 7),
        "mean_tokens_per_text": round(float(used.mean()), 2),
        "n_truncated": int((counts > enc._max_len).sum()),
        "batch_invariance_max_diff": invariance,
        "warm_vs_cold_max_diff": warm_diff,
        "backend": enc._backend_name,
        "batch_size": args.batch_size,
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "onnx_export_s": round(export_s, 2),
        "cold_includes_onnx_export": False,
        "gflop_total": round(gflop, 1),
        "baseline_effective_gflop_per_s": round(gflop / baseline_s, 1),
        "ours_cold_effective_gflop_per_s": round(gflop / cold_s, 1),
        "cpu_model": cpu_model(),
        "cpu_mhz": mhz,
        "cpu_peak_fp32_gflop_per_s_estimate": round(peak, 1) if peak else None,
        "cpu_has_avx512_bf16": "avx512_bf16" in flags,
        "cpu_has_vnni": bool({"avx512_vnni", "avx_vnni"} & flags),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
