"""Column mapping and row validation for :mod:`qa_insights.load`.

Every problem is collected at once (pandera's ``lazy=True`` spirit): each row is checked against
every rule, unusable rows are set aside with all their reasons, and the problems table says
what was found where. Problems carry ids, column names and reasons only, never values, because
any column of a misaligned file may hold ticket text.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._load_read import to_text_series
from .errors import InputError
from .schema import (
    ASSESSED_AT, CANONICAL_COLUMNS, CATEGORICAL_COLUMNS, PERIOD, POLICY_AREA, QA_RESULT,
    QA_RESULT_VALUES, QA_SCORE, RECORD_ID, REQUIRED_COLUMNS, TEXT_COLUMNS,
)

__all__ = [
    "SET_ASIDE_REASONS", "PROBLEM_COLUMNS", "Validated", "apply_column_map",
    "check_columns", "validate_rows", "period_labels",
]

#: Reason code -> the words used in ``problems`` and ``quarantine``; codes are count keys.
SET_ASIDE_REASONS: dict[str, str] = {
    "missing_record_id": "missing record_id",
    "duplicate_record_id": "duplicate record_id",
    "missing_assessed_at": "missing assessed_at",
    "unparseable_assessed_at": "unparseable assessed_at (expected ISO 8601)",
    "no_text": "neither ticket_text nor reviewer_comment has text",
    "invalid_qa_result": "invalid qa_result (expected pass or fail)",
    "invalid_qa_score": "invalid qa_score (expected a number from 0 to 100)",
}
_REASON_COLUMN = {
    "missing_record_id": RECORD_ID,
    "duplicate_record_id": RECORD_ID,
    "missing_assessed_at": ASSESSED_AT,
    "unparseable_assessed_at": ASSESSED_AT,
    "no_text": ", ".join(TEXT_COLUMNS),
    "invalid_qa_result": QA_RESULT,
    "invalid_qa_score": QA_SCORE,
}
PROBLEM_COLUMNS: tuple[str, ...] = ("row", RECORD_ID, "column", "reason", "action")

# pandas' nanosecond timestamps end here; later or earlier dates cannot be stored.
_TS_MIN = _dt.datetime(1678, 1, 1, tzinfo=_dt.timezone.utc)
_TS_MAX = _dt.datetime(2262, 1, 1, tzinfo=_dt.timezone.utc)


@dataclass
class Validated:
    """What :func:`validate_rows` returns."""

    records: pd.DataFrame
    quarantine: pd.DataFrame
    problems: pd.DataFrame
    counts: dict
    categorical_columns: tuple[str, ...]


def _problem(row, record_id, column, reason, action) -> dict:
    return {"row": row, RECORD_ID: record_id, "column": column, "reason": reason,
            "action": action}


def _problems_frame(items: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(items, columns=list(PROBLEM_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    for col in PROBLEM_COLUMNS[1:]:
        frame[col] = frame[col].astype("string")
    return frame


def apply_column_map(frame: pd.DataFrame, column_map: dict[str, str],
                     source: str) -> tuple[pd.DataFrame, list[dict]]:
    """Rename source columns to canonical names; returns the frame and file-level problems."""
    problems = []
    renames = {}
    for src, dst in column_map.items():
        if src == dst:
            continue
        if src not in frame.columns:
            problems.append(_problem(
                None, None, src, f"column_map source column not found (would map to {dst})",
                "ignored",
            ))
            continue
        if dst in frame.columns:
            raise InputError(
                f"column_map maps {src!r} onto {dst!r}, but the input already has a {dst!r} "
                "column; drop one of them or remove the mapping",
                source=source,
            )
        renames[src] = dst
    return frame.rename(columns=renames), problems


def check_columns(frame: pd.DataFrame, source: str) -> None:
    """Raise :class:`InputError` unless the required columns and at least one text are there."""
    found = ", ".join(map(repr, frame.columns)) or "none"
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing required column(s) {missing}; columns found: {found}. If the input names "
            "them differently, map them with `column_map` in the load config",
            source=source,
        )
    if not any(c in frame.columns for c in TEXT_COLUMNS):
        raise InputError(
            f"neither text column {list(TEXT_COLUMNS)} is present; columns found: {found}. "
            "If the input names them differently, map them with `column_map` in the load config",
            source=source,
        )


def period_labels(timestamps: pd.Series, period: str) -> pd.Series:
    """Reporting-period labels of UTC timestamps: ``2026-10``, ``2026-W42`` or ``2026-Q4``.

    Missing timestamps get a missing label.
    """
    out = pd.Series(pd.NA, index=timestamps.index, dtype="string")
    valid = timestamps.notna().to_numpy(dtype=bool)
    # Only valid stamps: with NaT present, the year/month accessors turn float ("2026.0").
    stamps = timestamps[valid]
    if not len(stamps):
        return out
    if period == "month":
        labels = stamps.dt.year.astype(str) + "-" + stamps.dt.month.astype(str).str.zfill(2)
    elif period == "quarter":
        labels = stamps.dt.year.astype(str) + "-Q" + stamps.dt.quarter.astype(str)
    elif period == "week":
        iso = stamps.dt.isocalendar()
        labels = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    else:  # LoadConfig restricts the values; this guards direct callers.
        raise ValueError(f"unknown period {period!r}")
    out[valid] = labels.astype("string").to_numpy()
    return out


def _parse_timestamps(values: pd.Series):
    """UTC datetimes of ISO 8601 strings, with missing / unparseable / naive masks."""
    n = len(values)
    parsed: list = [None] * n
    missing = np.zeros(n, dtype=bool)
    bad = np.zeros(n, dtype=bool)
    naive = np.zeros(n, dtype=bool)
    for i, value in enumerate(_objects(values)):
        if value is None or not value.strip():
            missing[i] = True
            continue
        try:
            stamp = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            bad[i] = True
            continue
        if stamp.tzinfo is None:
            naive[i] = True
            stamp = stamp.replace(tzinfo=_dt.timezone.utc)
        stamp = stamp.astimezone(_dt.timezone.utc)
        if not _TS_MIN <= stamp < _TS_MAX:
            bad[i] = True
            continue
        parsed[i] = stamp
    stamps = pd.Series(pd.to_datetime(parsed, utc=True), index=values.index).dt.as_unit("ns")
    return stamps, missing, bad, naive


def _parse_scores(values: pd.Series):
    """Float scores, with a mask of present-but-invalid values (non-numeric or outside 0-100)."""
    n = len(values)
    scores = np.full(n, np.nan)
    invalid = np.zeros(n, dtype=bool)
    for i, value in enumerate(_objects(values)):
        if value is None or not value.strip():
            continue
        try:
            score = float(value.strip())
        except ValueError:
            invalid[i] = True
            continue
        if not math.isfinite(score) or not 0.0 <= score <= 100.0:
            invalid[i] = True
            continue
        scores[i] = score
    return scores, invalid


def _objects(series: pd.Series) -> np.ndarray:
    # Python-level loops over an object array are far faster than over Arrow-backed strings.
    return series.to_numpy(dtype=object, na_value=None)


def _blank(series: pd.Series) -> np.ndarray:
    return (series.isna() | (series.str.strip() == "")).fillna(True).to_numpy(dtype=bool)


def validate_rows(frame: pd.DataFrame, *, extra_categoricals: list[str], max_text_chars: int,
                  period: str, file_problems: list[dict]) -> Validated:
    """Check every row of a mapped frame; split it into records and quarantine.

    ``frame`` has canonical column names (after :func:`apply_column_map` and
    :func:`check_columns`). Returns records (typed canonical columns, ``period``, passthrough
    columns), the quarantine (original values plus ``row`` and ``reason``), problems and counts.
    """
    n = len(frame)
    rows = np.arange(1, n + 1)
    problems = list(file_problems)
    extras = []
    for name in dict.fromkeys(extra_categoricals):
        if name in CANONICAL_COLUMNS:
            continue
        if name in frame.columns:
            extras.append(name)
        else:
            problems.append(_problem(None, None, name, "extra categorical column not found",
                                     "ignored"))
    tail = [c for c in frame.columns if c not in CANONICAL_COLUMNS]
    if PERIOD in tail:
        tail.remove(PERIOD)
        problems.append(_problem(None, None, PERIOD,
                                 "input column replaced by the computed period", "ignored"))

    raw: dict[str, pd.Series] = {}
    for col in (*CANONICAL_COLUMNS, *extras):
        if col in frame.columns:
            raw[col] = to_text_series(frame[col])
        else:
            raw[col] = pd.Series(pd.NA, index=frame.index, dtype="string")

    record_id = raw[RECORD_ID].str.strip()
    no_id = _blank(record_id)
    record_id = record_id.mask(no_id)
    first_row: dict[str, int] = {}
    duplicate_of = np.zeros(n, dtype=np.int64)
    for i, rid in enumerate(_objects(record_id)):
        if no_id[i]:
            continue
        if rid in first_row:
            duplicate_of[i] = first_row[rid]
        else:
            first_row[rid] = int(rows[i])

    stamps, ts_missing, ts_bad, ts_naive = _parse_timestamps(raw[ASSESSED_AT])

    texts = {}
    truncated_cells = 0
    no_text = np.ones(n, dtype=bool)
    for col in TEXT_COLUMNS:
        absent = _blank(raw[col])
        no_text &= absent
        value = raw[col].mask(absent)
        too_long = (value.str.len() > max_text_chars).fillna(False).to_numpy(dtype=bool)
        if too_long.any():
            value = value.where(~too_long, value.str.slice(0, max_text_chars))
            raw[col] = raw[col].where(~too_long, raw[col].str.slice(0, max_text_chars))
            truncated_cells += int(too_long.sum())
            for i in np.flatnonzero(too_long):
                problems.append(_problem(
                    int(rows[i]), record_id.iloc[i], col,
                    f"text longer than {max_text_chars} characters truncated", "truncated",
                ))
        texts[col] = value

    result = raw[QA_RESULT].str.strip().str.lower()
    result_present = ~_blank(result)
    bad_result = result_present & ~result.isin(QA_RESULT_VALUES).fillna(False).to_numpy(bool)
    result = result.where(result_present & ~bad_result)
    scores, bad_score = _parse_scores(raw[QA_SCORE])

    flags = {
        "missing_record_id": no_id,
        "duplicate_record_id": duplicate_of > 0,
        "missing_assessed_at": ts_missing,
        "unparseable_assessed_at": ts_bad,
        "no_text": no_text,
        "invalid_qa_result": bad_result,
        "invalid_qa_score": bad_score,
    }
    set_aside = np.zeros(n, dtype=bool)
    for mask in flags.values():
        set_aside |= mask
    reasons: list[str] = []
    for i in np.flatnonzero(set_aside):
        words = []
        for code, mask in flags.items():
            if not mask[i]:
                continue
            text = SET_ASIDE_REASONS[code]
            if code == "duplicate_record_id":
                text = f"{text} (first at row {duplicate_of[i]})"
            words.append(text)
            problems.append(_problem(int(rows[i]), record_id.iloc[i], _REASON_COLUMN[code],
                                     text, "set_aside"))
        reasons.append("; ".join(words))
    keep = ~set_aside
    naive_kept = ts_naive & keep
    for i in np.flatnonzero(naive_kept):
        problems.append(_problem(int(rows[i]), record_id.iloc[i], ASSESSED_AT,
                                 "timestamp without offset taken as UTC", "kept"))

    columns: dict[str, pd.Series | np.ndarray] = {
        RECORD_ID: record_id,
        ASSESSED_AT: stamps,
        **texts,
        QA_RESULT: result,
        QA_SCORE: pd.Series(scores, index=frame.index),
    }
    for col in (POLICY_AREA, *CATEGORICAL_COLUMNS, *extras):
        value = raw[col].str.strip()
        columns[col] = value.mask(value == "")
    typed = pd.DataFrame({c: columns[c] for c in CANONICAL_COLUMNS}, index=frame.index)
    typed[PERIOD] = period_labels(typed[ASSESSED_AT], period)
    for col in tail:
        typed[col] = columns[col] if col in extras else frame[col]
    records = typed.loc[keep].reset_index(drop=True)

    quarantine = pd.DataFrame({"row": pd.array(rows[set_aside], dtype="Int64")})
    for col in (*CANONICAL_COLUMNS, *extras):
        quarantine[col] = raw[col].loc[set_aside].reset_index(drop=True)
    quarantine["reason"] = pd.array(reasons, dtype="string")

    problems_frame = _problems_frame(problems)
    # File-level problems (no row) first, then by row; the sort is stable within a row.
    order = np.lexsort((problems_frame["row"].fillna(0).to_numpy(),))
    problems_frame = problems_frame.iloc[order].reset_index(drop=True)

    counts: dict = {
        "rows_read": n,
        "rows_used": int(keep.sum()),
        "rows_set_aside": int(set_aside.sum()),
        **{code: int(mask.sum()) for code, mask in flags.items()},
        "naive_assessed_at": int(naive_kept.sum()),
        "truncated_texts": truncated_cells,
    }
    if counts["rows_read"] != counts["rows_used"] + counts["rows_set_aside"]:
        raise AssertionError(f"row counts do not reconcile: {counts}")
    return Validated(records, quarantine, problems_frame, counts,
                     (*CATEGORICAL_COLUMNS, *extras))
