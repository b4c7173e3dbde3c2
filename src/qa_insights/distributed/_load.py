"""Load, validate and redact a partitioned source on the workers, one partition at a time."""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import InputError
from ..load import LoadConfig, LoadResult, load_records

__all__ = ["PartitionedLoadResult", "load_partitioned", "partition_sources", "get_client"]

logger = logging.getLogger(__name__)

#: File endings a directory source is searched for.
_FILE_SUFFIXES = (".parquet", ".pq")
_FIRST_AT = re.compile(r"first at row (\d+)")
DASK_SOURCE = "<dask DataFrame>"


def get_client(client: Any = None):
    """A ``distributed.Client``: ``client`` itself, one connected to a scheduler address, or
    the current default client."""
    from distributed import Client, default_client

    if client is None:
        try:
            return default_client()
        except ValueError:
            raise InputError("no dask.distributed client: pass client= (a Client or a "
                             "scheduler address such as tcp://host:8786)") from None
    if isinstance(client, Client):
        return client
    if isinstance(client, str):
        return Client(client)
    raise InputError(f"client must be a distributed.Client or a scheduler address, not "
                     f"{type(client).__name__}")


@dataclass
class PartitionedLoadResult(LoadResult):
    """:class:`~qa_insights.load.LoadResult` of a partitioned source.

    ``records`` is a **dask DataFrame** of the usable rows (held in the cluster's memory, one
    partition per input partition, in input order; each partition's index starts at 0). The
    quarantine and problems are pandas frames with ``row`` counted over all partitions in order
    (1-based), as if the partitions were one table; ``counts`` add up over the partitions, so
    ``rows_read = rows_used + rows_set_aside`` still holds. ``source_sha256`` is the sha256 of
    the partitions' own hashes, one per line (``<sha256>  <name>`` for files).
    """

    period_stats: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_partitions: int = 0
    dimensions_present: tuple[str, ...] = ()

    def summary(self) -> pd.DataFrame:
        """One row per period, as :meth:`LoadResult.summary`, from per-partition statistics."""
        stats = self.period_stats
        if not len(stats):
            return pd.DataFrame({schema.PERIOD: pd.Series(dtype="string"),
                                 "records": pd.Series(dtype="int64"),
                                 "fail_rate": pd.Series(dtype="float64"),
                                 "share_ticket_text": pd.Series(dtype="float64"),
                                 "share_reviewer_comment": pd.Series(dtype="float64"),
                                 "markets": pd.Series(dtype="int64")})
        rows = []
        for period, group in stats.groupby(schema.PERIOD, sort=True):
            n, n_result = int(group["n"].sum()), int(group["n_result"].sum())
            markets = set().union(*group["markets"])
            rows.append({
                schema.PERIOD: period, "records": n,
                "fail_rate": (int(group["n_fail"].sum()) / n_result if n_result
                              else float("nan")),
                "share_ticket_text": int(group["n_ticket"].sum()) / n,
                "share_reviewer_comment": int(group["n_comment"].sum()) / n,
                "markets": len(markets),
            })
        out = pd.DataFrame(rows)
        out[schema.PERIOD] = out[schema.PERIOD].astype("string")
        return out.astype({"records": "int64", "markets": "int64", "fail_rate": "float64"})


@dataclass
class _Part:
    """One loaded partition: the records (kept on the worker) and the small rest."""

    records: pd.DataFrame
    info: dict


def _period_stats(records: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for period, group in records.groupby(schema.PERIOD, sort=True):
        result = group[schema.QA_RESULT]
        rows.append({
            schema.PERIOD: str(period), "n": len(group),
            "n_fail": int((result == "fail").fillna(False).sum()),
            "n_result": int(result.notna().sum()),
            "n_ticket": int(group[schema.TICKET_TEXT].notna().sum()),
            "n_comment": int(group[schema.REVIEWER_COMMENT].notna().sum()),
            "markets": frozenset(group["market"].dropna().astype(str)),
        })
    return pd.DataFrame(rows, columns=[schema.PERIOD, "n", "n_fail", "n_result", "n_ticket",
                                       "n_comment", "markets"])


def _load_partition(part, load_config: LoadConfig, clean_config) -> _Part:
    """:func:`load_records` on one partition (a pandas frame or a file path)."""
    loaded = load_records(part, load_config, clean=clean_config)
    records = loaded.records
    present = tuple(c for c in loaded.categorical_columns
                    if c in records.columns and records[c].notna().any())
    return _Part(records, {
        "quarantine": loaded.quarantine, "problems": loaded.problems, "counts": loaded.counts,
        "source": loaded.source, "sha256": loaded.source_sha256,
        "categorical_columns": loaded.categorical_columns, "present": present,
        "period_stats": _period_stats(records),
    })


def _records_of(part: _Part) -> pd.DataFrame:
    return part.records


def _info_of(part: _Part) -> dict:
    return part.info


def partition_sources(source) -> tuple[list, str]:
    """The partitions of ``source`` (pandas-frame delayeds or file paths) and its display name.

    ``source`` is a dask DataFrame, a directory (its ``*.parquet`` / ``*.pq`` files, sorted by
    name), a glob pattern, a single file, or a list of files.
    """
    import dask.dataframe as dd

    if isinstance(source, dd.DataFrame):
        return list(source.to_delayed()), DASK_SOURCE
    if isinstance(source, (list, tuple)):
        files = [str(Path(p)) for p in source]
        return files, files[0] if len(files) == 1 else f"{len(files)} files"
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"source must be a dask DataFrame, a directory, a glob pattern or "
                         f"files, not {type(source).__name__}")
    path = Path(source)
    if path.is_dir():
        files = sorted(str(p) for p in path.iterdir()
                       if p.is_file() and p.name.lower().endswith(_FILE_SUFFIXES))
    elif path.is_file():
        files = [str(path)]
    else:
        files = sorted(glob.glob(str(source)))
    if not files:
        raise InputError("no Parquet files found", source=str(source))
    return files, str(source)


def load_partitioned(source, load_config: LoadConfig | None = None, clean_config=None, *,
                     client=None) -> tuple[Any, PartitionedLoadResult]:
    """Read, validate and redact every partition of ``source`` on the workers.

    Parameters
    ----------
    source : dask DataFrame, directory, glob pattern, file or list of files
        Records in the data contract; files must be readable by the workers (shared storage).
    load_config : LoadConfig, optional
    clean_config : qa_insights.clean.CleanConfig, optional
    client : distributed.Client or str, optional
        The cluster (or a scheduler address); default: the current client.

    Returns
    -------
    (dask DataFrame, PartitionedLoadResult)
        The usable records, persisted on the workers (the same object as the result's
        ``records``), and the load result with reconciled counts and the quarantine.

    Raises
    ------
    InputError
        When a partition cannot be read, or a record id occurs in more than one partition
        (within a partition a repeated id is set aside, as :func:`load_records` does).
    """
    import dask
    import dask.dataframe as dd

    client = get_client(client)
    load_config = load_config if load_config is not None else LoadConfig()
    parts, name = partition_sources(source)
    if not parts:
        raise InputError("the source has no partitions", source=name)
    loading = [client.compute(dask.delayed(_load_partition)(p, load_config, clean_config))
               if not isinstance(p, str) else client.submit(_load_partition, p, load_config,
                                                            clean_config, pure=False)
               for p in parts]
    records = client.map(_records_of, loading)
    infos = client.gather(client.map(_info_of, loading))
    del loading
    meta = client.submit(lambda frame: frame.iloc[:0], records[0]).result()
    ddf = dd.from_delayed(records, meta=meta, verify_meta=False)
    _check_unique_ids(ddf, name)
    loaded = _combine(infos, records, ddf, name, load_config)
    logger.info("loaded %s in %d partitions: %d rows read, %d used, %d set aside", name,
                len(infos), loaded.counts["rows_read"], loaded.counts["rows_used"],
                loaded.counts["rows_set_aside"])
    return ddf, loaded


def _check_unique_ids(ddf, name: str) -> None:
    """Record ids repeated across partitions are an input error (the counts are reduced on
    the cluster; only repeated ids come back)."""
    counts = ddf[schema.RECORD_ID].value_counts()
    repeated = counts[counts > 1].compute()
    if len(repeated):
        shown = sorted(str(i) for i in repeated.index)[:10]
        raise InputError(f"{len(repeated)} record_id(s) occur in more than one partition, "
                         f"e.g. {shown}; record ids must be unique across the whole input",
                         source=name)


def _shift_rows(frame: pd.DataFrame, offset: int, text_columns: tuple[str, ...]) -> pd.DataFrame:
    if not len(frame) or not offset:
        return frame
    frame = frame.copy()
    frame["row"] = frame["row"] + offset
    for col in text_columns:
        if col in frame.columns:
            frame[col] = frame[col].astype("string").str.replace(
                _FIRST_AT, lambda m: f"first at row {int(m.group(1)) + offset}", regex=True)
    return frame


def _combine(infos: list[dict], records: list, ddf, name: str,
             config: LoadConfig) -> PartitionedLoadResult:
    offsets = np.concatenate([[0], np.cumsum([i["counts"]["rows_read"] for i in infos])[:-1]])
    quarantine = pd.concat([_shift_rows(i["quarantine"], int(o), ("reason",))
                            for i, o in zip(infos, offsets)], ignore_index=True)
    problems = pd.concat([_shift_rows(i["problems"], int(o), ("reason",))
                          for i, o in zip(infos, offsets)], ignore_index=True)
    # file-level notes (no row) repeat in every partition: keep each once, first
    file_level = problems["row"].isna()
    problems = pd.concat([problems[file_level].drop_duplicates(["column", "reason", "action"]),
                          problems[~file_level]], ignore_index=True)
    counts: dict = {}
    for info in infos:
        for key, value in info["counts"].items():
            if isinstance(value, dict):
                merged = counts.setdefault(key, {})
                for kind, number in value.items():
                    merged[kind] = merged.get(kind, 0) + int(number)
            else:
                counts[key] = counts.get(key, 0) + int(value)
    if "redactions" in counts:
        counts["redactions"] = dict(sorted(counts["redactions"].items()))
    if counts["rows_read"] != counts["rows_used"] + counts["rows_set_aside"]:
        raise AssertionError(f"row counts do not reconcile: {counts}")
    if len(infos) == 1:
        digest = infos[0]["sha256"]
    else:
        lines = "".join(f"{i['sha256']}  {i['source']}\n" for i in infos)
        digest = hashlib.sha256(lines.encode("utf-8")).hexdigest()
    categorical = tuple(dict.fromkeys(c for i in infos for c in i["categorical_columns"]))
    present = tuple(c for c in categorical if any(c in i["present"] for i in infos))
    stats = pd.concat([i["period_stats"] for i in infos], ignore_index=True)
    return PartitionedLoadResult(
        records=ddf, quarantine=quarantine, problems=problems, counts=counts, source=name,
        source_sha256=digest, config=config, categorical_columns=categorical,
        period_stats=stats, n_partitions=len(infos), dimensions_present=present)
