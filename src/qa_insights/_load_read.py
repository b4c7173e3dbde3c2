"""Reading a source (file or DataFrame) into a raw frame of strings, for :mod:`qa_insights.load`.

Nothing here interprets values: canonical columns come out as text (so ids like ``"007"`` and
odd timestamps survive untouched) and validation happens afterwards. Anything that makes the
whole source unreadable raises :class:`~qa_insights.errors.InputError` naming the file.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import io
import json
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._base import sha256_file
from .errors import InputError

__all__ = ["RawSource", "read_source", "detect_format", "to_text_series"]

DATAFRAME_SOURCE = "<DataFrame>"

# (suffix, format, gzip-compressed); longest suffixes first so ".csv.gz" wins over ".gz".
_SUFFIXES: tuple[tuple[str, str, bool], ...] = (
    (".csv.gz", "csv", True),
    (".jsonl.gz", "jsonl", True),
    (".ndjson.gz", "jsonl", True),
    (".csv", "csv", False),
    (".parquet", "parquet", False),
    (".pq", "parquet", False),
    (".jsonl", "jsonl", False),
    (".ndjson", "jsonl", False),
)


@dataclass
class RawSource:
    """A source read but not yet interpreted.

    ``frame`` holds every column of the source: all strings for CSV, the source's own types
    for Parquet, JSON Lines and DataFrames (the caller converts the columns it interprets
    with :func:`to_text_series`).
    """

    frame: pd.DataFrame
    source: str
    sha256: str
    format: str


def detect_format(path: Path, override: str | None) -> tuple[str, bool]:
    """Format (``"csv"``, ``"parquet"``, ``"jsonl"``) and gzip flag of ``path``.

    An explicit ``override`` wins over the extension; a ``.gz`` ending still means gzip.
    """
    name = path.name.lower()
    compressed = name.endswith(".gz")
    if override is not None:
        return override, compressed
    for suffix, fmt, gz in _SUFFIXES:
        if name.endswith(suffix):
            return fmt, gz
    known = ", ".join(s for s, _, _ in _SUFFIXES)
    raise InputError(
        f"unknown file extension; expected one of {known}, or set `format` (csv, parquet, "
        "jsonl) in the load config",
        source=str(path),
    )


def read_source(source, *, fmt: str | None, encoding: str, delimiter: str) -> RawSource:
    """Read ``source`` (a path or a DataFrame) into a :class:`RawSource`."""
    if isinstance(source, pd.DataFrame):
        return _read_dataframe(source)
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(
            f"source must be a file path or a pandas DataFrame, not {type(source).__name__}"
        )
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise InputError("file not found", source=name)
    if not path.is_file():
        raise InputError("not a regular file", source=name)
    file_format, compressed = detect_format(path, fmt)
    if path.stat().st_size == 0:
        raise InputError("the file is empty (0 bytes)", source=name)
    digest = sha256_file(path)
    if file_format == "parquet":
        frame = _read_parquet(path)
        return RawSource(frame, name, digest, "parquet")
    data = path.read_bytes()
    if compressed:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"not a valid gzip file ({exc})", source=name) from None
        if not data:
            raise InputError("the file is empty (0 bytes after decompression)", source=name)
    text = _decode(data, encoding, name, compressed)
    if file_format == "csv":
        frame = _parse_csv(text, delimiter, name)
        return RawSource(frame, name, digest, "csv")
    frame = _parse_jsonl(text, name)
    return RawSource(frame, name, digest, "jsonl")


def _decode(data: bytes, encoding: str, name: str, compressed: bool) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = "of the decompressed data " if compressed else ""
        bad = data[exc.start:exc.start + 1].hex()
        raise InputError(
            f"cannot decode byte 0x{bad} at byte offset {exc.start} {where}(line {line}) as "
            f"{encoding!r}; if the file uses another encoding, set the `encoding` option of the "
            "load config (e.g. encoding: cp1252)",
            source=name,
        ) from None
    # A byte-order mark is an encoding artefact, not part of the first column's name.
    return text[1:] if text.startswith("\ufeff") else text


def _parse_csv(text: str, delimiter: str, name: str) -> pd.DataFrame:
    if not text.strip():
        raise InputError("the file has no header row (only blank content)", source=name)
    try:
        # header=None: the header is read as data, so a row longer than the header is an error
        # instead of pandas silently turning the first columns into an index. dtype=str and no
        # NA filtering keep every value as the exact text of the file.
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
            na_filter=False, engine="c", skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise InputError("the file has no header row", source=name) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"malformed CSV: {str(exc).strip()}", source=name) from None
    header = [str(c) if isinstance(c, str) and c != "" else f"Unnamed: {i}"
              for i, c in enumerate(frame.iloc[0].tolist())]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise InputError(f"duplicate column names in the header: {dupes}", source=name)
    frame = frame.iloc[1:].reset_index(drop=True)
    frame.columns = header
    return frame


def _parse_jsonl(text: str, name: str) -> pd.DataFrame:
    rows: list[dict] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON on line {lineno} (column {exc.colno}): {exc.msg}", source=name
            ) from None
        if not isinstance(obj, dict):
            raise InputError(
                f"line {lineno} is a JSON {type(obj).__name__}, not an object", source=name
            )
        rows.append(obj)
    if not rows:
        raise InputError("the file has no JSON records (only blank lines)", source=name)
    columns: dict[str, None] = {}
    for obj in rows:
        columns.update(dict.fromkeys(obj))
    return pd.DataFrame.from_records(rows, columns=list(columns))


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa

    try:
        # Nullable dtypes keep integer ids integral even with missing values.
        return pd.read_parquet(path, dtype_backend="numpy_nullable")
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", source=str(path)) from None


def _read_dataframe(frame: pd.DataFrame) -> RawSource:
    if frame.columns.has_duplicates:
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise InputError(f"duplicate column names: {dupes}", source=DATAFRAME_SOURCE)
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.reset_index(drop=True)
    rendering = frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S.%f%z")
    digest = hashlib.sha256(rendering.encode("utf-8")).hexdigest()
    return RawSource(frame, DATAFRAME_SOURCE, digest, "dataframe")


def _scalar_text(value) -> object:
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return pd.NA
    if isinstance(value, float) and math.isnan(value):
        return pd.NA
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return pd.NA
    return str(value)


def to_text_series(series: pd.Series) -> pd.Series:
    """``series`` as pandas ``string`` dtype, datetimes rendered as ISO 8601, missing as NA."""
    if isinstance(series.dtype, pd.StringDtype) or series.dtype == object and all(
        isinstance(v, str) for v in series
    ):
        return series.astype("string")
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        out = pd.Series(
            [pd.NA if pd.isna(v) else v.isoformat() for v in series],
            index=series.index, dtype="string",
        )
        return out
    return pd.Series([_scalar_text(v) for v in series], index=series.index, dtype="string")
