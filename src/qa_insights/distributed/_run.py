"""The monthly job on a dask cluster: :func:`qa_insights.pipeline.run` with partitioned input.

Same outputs, same state, same numbers as the single-machine job on the same data and seed;
only loading and the analysis stages differ (:func:`load_partitioned`, :func:`analyse`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from .. import schema
from .._io import write_json
from ..config import PipelineConfig
from ..errors import InputError
from ..store import StateStore
from ._analyse import analyse
from ._load import get_client, load_partitioned

__all__ = ["run_distributed", "REPORT_COLUMNS"]

logger = logging.getLogger(__name__)

#: Record columns the flags and the report read besides the assignments.
REPORT_COLUMNS = [schema.QA_RESULT, "market", "queue", schema.REVIEWER_COMMENT]


def run_distributed(source: Any, out_dir: str | os.PathLike, config: PipelineConfig | None = None,
                    *, client=None, period: str | None = None,
                    state: str | os.PathLike | None = None, verbose: bool = False):
    """Run the monthly job on a partitioned ``source`` on a dask cluster; write the outputs.

    Parameters
    ----------
    source : dask DataFrame, directory of Parquet files, glob pattern or list of files
        Assessments in the data contract; files must be readable by the workers.
    out_dir, config, period, state, verbose
        As in :func:`qa_insights.pipeline.run`.
    client : distributed.Client or str, optional
        The cluster or its scheduler address (``tcp://host:8786``); default: the current client.

    Returns
    -------
    qa_insights.pipeline.RunResult
        ``load`` is a :class:`PartitionedLoadResult` (its ``records`` a dask DataFrame).
    """
    from ..pipeline import (OUTPUT_FILES, STATE_FILE, RunResult, _flags_and_report, _Timer,
                            run_manifest, write_outputs)

    config = config or PipelineConfig()
    client = get_client(client)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timer = _Timer()

    with timer.stage("load"):
        records, loaded = load_partitioned(source, config.load, config.clean, client=client)
    summary = loaded.summary()
    periods = summary[schema.PERIOD].astype(str).tolist()
    if period is not None:
        if period not in periods:
            raise InputError(f"period {period!r} is not in the input; it holds {periods}",
                             source=loaded.source)
        periods = [period]
        records = records[records[schema.PERIOD] == period]
    with StateStore(state if state is not None else out / STATE_FILE) as store:
        tables = analyse(records, periods, loaded, config, store, timer, verbose, client)
        # the flags and the report read a few record columns next to the assignments
        report_records = records[REPORT_COLUMNS].compute().reset_index(drop=True)
        with timer.stage("flags_report"):
            flags, report = _flags_and_report(tables, summary, report_records, periods, config,
                                              store)
    summary = summary[summary["period"].isin(periods)].reset_index(drop=True)
    files = write_outputs(out, tables, flags, report, loaded, summary)
    manifest = run_manifest(loaded, periods, len(tables["assignments"]), config, tables, timer,
                            files, partitions=loaded.n_partitions)
    files["manifest"] = write_json(out / OUTPUT_FILES["manifest"], manifest)
    logger.info("distributed run finished: %d records used, %d set aside, %d periods; "
                "outputs in %s", loaded.counts["rows_used"], loaded.counts["rows_set_aside"],
                len(periods), out)
    return RunResult(load=loaded, summary=summary, assignments=tables["assignments"],
                     themes=tables["themes"], root_causes=tables["root_causes"],
                     phrases=tables["phrases"], flags=flags, report=report, periods=periods,
                     out_dir=out, files=files, timings=timer.timings)

