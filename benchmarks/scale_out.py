"""Scale-out benchmark (issue 10): the monthly job on a local dask cluster of 1 and of 2 workers.

Run from the repository root::

    python3 benchmarks/scale_out.py [--records 1000000] [--partitions 16] [--workers 1 2]
                                    [--seed 0] [--out FILE.json]

Generates ``--records`` assessments over three months with the sample generator, writes them as
``--partitions`` Parquet files in a temporary folder, and for each worker count starts a
``LocalCluster`` (one thread per worker process, the encoder limited to one thread so workers do
not oversubscribe the cores) and runs :func:`qa_insights.distributed.run_distributed` on the
folder, cold (fresh output folder and state). Reported per configuration: wall seconds of the
run, ``records_per_s`` (records read / wall seconds), per-stage seconds from the run, and each
worker's own peak RSS (``resource.getrusage`` inside the worker via ``client.run``), plus the
driver's. Generated texts repeat a lot and each distinct text of a partition is embedded once,
so the distinct texts (comments and tickets together) are reported too: embedding dominates.

On a shared 2-core machine, 1M records do not fit in the time budget of one run; ``--records``
sets a smaller size and the JSON says which size ran (``records``) and why (``note``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "scale_out.json"
PERIODS = ["2026-07", "2026-08", "2026-09"]


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _generate(n: int, partitions: int, folder: Path, seed: int) -> dict:
    import numpy as np

    from qa_insights.datasets import generate_assessments

    per = [n // len(PERIODS) + (1 if i < n % len(PERIODS) else 0) for i in range(len(PERIODS))]
    data = generate_assessments(periods=PERIODS, records_per_period=per, seed=seed).records
    texts = set(data["reviewer_comment"].dropna()) | set(data["ticket_text"].dropna())
    for k, chunk in enumerate(np.array_split(np.arange(len(data)), partitions)):
        data.iloc[chunk].to_parquet(folder / f"part-{k:04d}.parquet", index=False)
    return {"records": int(len(data)), "distinct_texts_raw": len(texts),
            "mean_text_chars": float(data["reviewer_comment"].fillna("").str.len().mean())}


def _run(folder: Path, n_workers: int, out: Path, seed: int) -> dict:
    from distributed import Client, LocalCluster

    from qa_insights.config import PipelineConfig
    from qa_insights.distributed import run_distributed
    from qa_insights.embed import EmbedConfig

    embed = {"n_threads": 1}
    if "multilingual" in EmbedConfig.model_fields:
        embed["multilingual"] = "off"
    config = PipelineConfig(seed=seed, embed=embed)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=0) as cluster, \
            Client(cluster) as client:
        started = time.perf_counter()
        result = run_distributed(folder, out, config, client=client)
        wall = time.perf_counter() - started
        peaks = client.run(_peak_rss_mb)
    return {
        "workers": n_workers, "wall_s": round(wall, 1),
        "records_per_s": round(result.load.counts["rows_read"] / wall, 1),
        "stage_s": result.timings,
        "worker_peak_rss_mb": sorted(round(v, 1) for v in peaks.values()),
        "n_themes_last_period": int(((result.themes["period"] == PERIODS[-1])
                                     & (result.themes["count"] > 0)).sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", default="")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    with tempfile.TemporaryDirectory(prefix="qa_scale_out_") as tmp:
        folder = Path(tmp) / "input"
        folder.mkdir()
        started = time.perf_counter()
        data = _generate(args.records, args.partitions, folder, args.seed)
        data["generate_s"] = round(time.perf_counter() - started, 1)
        runs = [_run(folder, n, Path(tmp) / f"out-{n}", args.seed) for n in args.workers]
        with open(Path(tmp) / f"out-{args.workers[-1]}" / "manifest.json") as fh:
            manifest = json.load(fh)

    result = {
        "records": data["records"], "partitions": args.partitions, "periods": PERIODS,
        "distinct_texts": data["distinct_texts_raw"],
        "mean_comment_chars": round(data["mean_text_chars"], 1),
        "generate_s": data["generate_s"],
        "runs": runs,
        "speedup_2_vs_1": (round(runs[1]["records_per_s"] / runs[0]["records_per_s"], 2)
                           if len(runs) >= 2 else None),
        "driver_peak_rss_mb": round(_peak_rss_mb(), 1),
        "counts": manifest["counts"],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "note": args.note,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
