"""The monthly job: the same functions a notebook calls, in pipeline order, writing outputs.

Today the job loads and validates the input (with PII redaction), sets unusable rows aside, and
writes a per-period summary, the quarantine and a manifest. The theme, trend, policy and
root-cause stages join it as they land (see README, "What the main job does today").
"""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from ._io import write_csv_safe, write_json
from .config import PipelineConfig
from .load import LoadResult, load_records

__all__ = ["RunResult", "run"]

logger = logging.getLogger(__name__)

#: Output file names: a contract other tools rely on (documented in README).
QUARANTINE_FILE = "quarantine.csv"
SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "manifest.json"


@dataclass
class RunResult:
    """What a run produced: the loaded data, the per-period summary and where files went."""

    load: LoadResult
    summary: pd.DataFrame
    out_dir: Path
    files: dict[str, Path]
    timings: dict[str, float] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        return self.load._repr_html_()


def run(source: Any, out_dir: str | os.PathLike, config: PipelineConfig | None = None, *,
        period: str | None = None) -> RunResult:
    """Run the monthly job on ``source`` and write its outputs to ``out_dir``.

    Parameters
    ----------
    source : path or DataFrame
        Assessments in the data contract (CSV, Parquet, JSON Lines or a DataFrame).
    out_dir : path
        Folder for the outputs; created if missing. Files in it are replaced atomically.
    config : PipelineConfig, optional
        Defaults to ``PipelineConfig()``.
    period : str, optional
        Restrict the run to one reporting period (e.g. ``"2026-10"``).

    Returns
    -------
    RunResult
    """
    config = config or PipelineConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    loaded = load_records(source, config.load, clean=config.clean)
    timings["load"] = round(time.perf_counter() - started, 3)

    records = loaded.records
    if period is not None:
        known = sorted(records["period"].dropna().unique())
        if period not in known:
            from .errors import InputError

            raise InputError(f"period {period!r} is not in the input; it holds {known}",
                             source=loaded.source)
        records = records[records["period"] == period]

    summary = loaded.summary() if period is None else loaded.summary().loc[lambda s: s["period"] == period]
    files = {
        "quarantine": write_csv_safe(out / QUARANTINE_FILE, loaded.quarantine),
        "summary": write_csv_safe(out / SUMMARY_FILE, summary),
    }
    manifest = {
        "qa_insights_version": __version__,
        "python": platform.python_version(),
        "input": {
            "source": loaded.source,
            "sha256": loaded.source_sha256,
        },
        "period": period,
        "counts": loaded.counts,
        "records_in_run": int(len(records)),
        "config": config.model_dump(mode="json"),
        "seed": config.seed,
        "timings_s": timings,
        "outputs": sorted(p.name for p in files.values()),
    }
    files["manifest"] = write_json(out / MANIFEST_FILE, manifest)
    logger.info("run finished: %d records used, %d set aside; outputs in %s",
                loaded.counts["rows_used"], loaded.counts["rows_set_aside"], out)
    return RunResult(load=loaded, summary=summary, out_dir=out, files=files, timings=timings)
