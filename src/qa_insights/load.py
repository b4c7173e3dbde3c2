"""Load QA assessment records: any input -> validated records, a quarantine and a problems list.

:func:`load_records` reads CSV (optionally gzipped), Parquet, JSON Lines or a pandas DataFrame,
maps column names onto the canonical schema of :mod:`qa_insights.schema`, parses and checks
every row, and sets aside the rows it cannot use, each with its reasons. A source that cannot be
read at all raises :class:`~qa_insights.errors.InputError`. Unless ``redact=False``, ticket text
and reviewer comments are redacted (:func:`qa_insights.clean.clean_records`) before the result
is returned, in the records and the quarantine alike.

Examples
--------
>>> import pandas as pd
>>> from qa_insights.load import load_records
>>> frame = pd.DataFrame({"record_id": ["007", "008"],
...                       "assessed_at": ["2026-11-01T02:00:00+08:00", "not a date"],
...                       "reviewer_comment": ["Closed without escalation", "ok"]})
>>> result = load_records(frame, redact=False)
>>> result.records[["record_id", "period"]].values.tolist()
[['007', '2026-10']]
>>> result.counts["rows_set_aside"], result.quarantine["reason"].tolist()
(1, ['unparseable assessed_at (expected ISO 8601)'])
"""

from __future__ import annotations

import codecs
import html
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, ValidationError, field_validator

from ._base import StrictModel, format_validation_error, read_yaml
from ._load_read import read_source
from ._load_validate import apply_column_map, check_columns, validate_rows
from .errors import ConfigError
from .schema import (
    ASSESSED_AT, CANONICAL_COLUMNS, PERIOD, QA_RESULT, RECORD_ID, REVIEWER_COMMENT, TICKET_TEXT,
)

__all__ = ["LoadConfig", "LoadResult", "load_records"]

logger = logging.getLogger(__name__)


class LoadConfig(StrictModel):
    """How to read an input and bring it to the canonical schema.

    Parameters
    ----------
    column_map : dict of str to str
        Source column name -> canonical column name (see :mod:`qa_insights.schema`).
    period : {"month", "week", "quarter"}
        Reporting period derived from ``assessed_at`` (UTC): ``2026-10``, ``2026-W42``
        (ISO week) or ``2026-Q4``.
    extra_categoricals : list of str
        Further columns that root-cause ranking may search; a name not in the input after
        mapping is listed in ``problems``.
    encoding : str
        Text encoding of CSV and JSON Lines files.
    csv_delimiter : str
        One-character field separator of CSV files.
    max_text_chars : int
        Texts longer than this are truncated (and the truncation listed in ``problems``).
    format : {"csv", "parquet", "jsonl"}, optional
        Overrides the format implied by the file extension.
    """

    column_map: dict[str, str] = Field(default_factory=dict)
    period: Literal["month", "week", "quarter"] = "month"
    extra_categoricals: list[str] = Field(default_factory=list)
    encoding: str = "utf-8"
    csv_delimiter: str = ","
    max_text_chars: int = Field(default=20000, gt=0)
    format: Literal["csv", "parquet", "jsonl"] | None = None

    @field_validator("column_map")
    @classmethod
    def _targets_are_canonical(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({t for t in value.values() if t not in CANONICAL_COLUMNS})
        if unknown:
            raise ValueError(
                f"targets {unknown} are not canonical columns; allowed: {list(CANONICAL_COLUMNS)}"
            )
        targets = list(value.values())
        doubled = sorted({t for t in targets if targets.count(t) > 1})
        if doubled:
            raise ValueError(f"several source columns map onto {doubled}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r}") from None
        return value

    @field_validator("csv_delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1 or value in "\r\n\"":
            raise ValueError("must be a single character other than a quote or newline")
        return value

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> LoadConfig:
        """Read a config from a YAML file (top-level keys, or under a ``load:`` section).

        Raises
        ------
        ConfigError
            When the file is missing, is not valid YAML, or a key or value does not validate;
            the message names the file and the field.
        """
        path = Path(path)
        data = read_yaml(path, "config file")
        if data is None:
            data = {}
        if isinstance(data, dict) and set(data) == {"load"}:
            data = data["load"] or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of load options, "
                              f"got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{path}: invalid load config: "
                              f"{format_validation_error(exc)}") from None


@dataclass
class LoadResult:
    """What :func:`load_records` returns.

    Attributes
    ----------
    records : DataFrame
        Usable rows: canonical columns in contract order, ``period``, then passthrough columns.
    quarantine : DataFrame
        Rows set aside: ``row``, the original canonical (and extra categorical) values, ``reason``.
    problems : DataFrame
        ``row``, ``record_id``, ``column``, ``reason``, ``action`` (``set_aside``, ``kept``,
        ``truncated``, or ``ignored`` for file-level notes without a row). Never holds text.
        ``row`` is the 1-based data row: the CSV record after the header (a record may span
        several lines), the non-blank JSON Lines line, or a DataFrame's position + 1.
    counts : dict
        ``rows_read``, ``rows_used``, ``rows_set_aside``, rows per set-aside reason,
        ``naive_assessed_at``, ``truncated_texts`` and ``redactions`` (per kind).
    source : str
        The file path, or ``"<DataFrame>"``.
    source_sha256 : str
        sha256 of the file bytes (of a canonical CSV rendering for a DataFrame).
    config : LoadConfig
    categorical_columns : tuple of str
        The dimensions root-cause ranking may search (canonical ones plus extras found).
    """

    records: pd.DataFrame
    quarantine: pd.DataFrame
    problems: pd.DataFrame
    counts: dict
    source: str
    source_sha256: str
    config: LoadConfig
    categorical_columns: tuple[str, ...] = field(default=())

    def summary(self) -> pd.DataFrame:
        """One row per period: records, fail rate, share with each text, distinct markets.

        ``fail_rate`` is over the records that have a ``qa_result`` (NaN if none do).
        """
        frame = self.records
        grouped = frame.groupby(PERIOD, sort=True, dropna=False)
        out = pd.DataFrame({
            "records": grouped.size(),
            "fail_rate": grouped[QA_RESULT].agg(
                lambda s: (s == "fail").sum() / s.notna().sum() if s.notna().any() else float("nan")
            ),
            "share_ticket_text": grouped[TICKET_TEXT].agg(lambda s: s.notna().mean()),
            "share_reviewer_comment": grouped[REVIEWER_COMMENT].agg(lambda s: s.notna().mean()),
            "markets": grouped["market"].nunique(),
        })
        out.index = out.index.astype("string")
        out.index.name = PERIOD
        return out.reset_index().astype({"records": "int64", "markets": "int64",
                                         "fail_rate": "float64"})

    def _repr_html_(self) -> str:
        esc = html.escape
        count_rows = "".join(
            f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>"
            for k, v in self.counts.items()
        )
        summary = self.summary()
        head = "".join(f"<th>{esc(str(c))}</th>" for c in summary.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(_fmt(v))}</td>" for v in row) + "</tr>"
            for row in summary.itertuples(index=False)
        )
        preview_cols = [RECORD_ID, ASSESSED_AT, TICKET_TEXT, REVIEWER_COMMENT, QA_RESULT]
        preview = self.records[preview_cols].head(3)
        p_head = "".join(f"<th>{esc(c)}</th>" for c in preview_cols)
        p_body = "".join(
            "<tr>" + "".join(f"<td>{esc(_fmt(v, 80))}</td>" for v in row) + "</tr>"
            for row in preview.itertuples(index=False)
        )
        return (
            f"<div><strong>LoadResult</strong> from <code>{esc(self.source)}</code>"
            f"<table>{count_rows}</table>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<table><thead><tr>{p_head}</tr></thead><tbody>{p_body}</tbody></table></div>"
        )


def _fmt(value, limit: int | None = None) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def load_records(source, config: LoadConfig | None = None, *, redact: bool = True,
                 clean=None) -> LoadResult:
    """Read, validate and (by default) redact QA assessment records.

    Parameters
    ----------
    source : str, path-like or DataFrame
        A ``.csv``, ``.csv.gz``, ``.parquet``/``.pq``, ``.jsonl``/``.ndjson``(``.gz``) file,
        or a DataFrame.
    config : LoadConfig, optional
        Column mapping, period and reading options; defaults to ``LoadConfig()``.
    redact : bool
        Redact personal data in ``ticket_text`` and ``reviewer_comment`` of the records and the
        quarantine (counts in ``counts["redactions"]``).
    clean : qa_insights.clean.CleanConfig, optional
        Passed to :func:`qa_insights.clean.clean_records` when redacting; ``None`` uses its
        defaults.

    Returns
    -------
    LoadResult
        Records, quarantine, problems and reconciled counts.

    Raises
    ------
    InputError
        When the source cannot be read at all (missing, unknown extension, empty, undecodable,
        corrupt, or without the required columns).
    """
    config = config if config is not None else LoadConfig()
    raw = read_source(source, fmt=config.format, encoding=config.encoding,
                      delimiter=config.csv_delimiter)
    frame, file_problems = apply_column_map(raw.frame, config.column_map, raw.source)
    check_columns(frame, raw.source)
    if len(frame) == 0:
        logger.warning("%s: no data rows (header only)", raw.source)
    checked = validate_rows(
        frame, extra_categoricals=config.extra_categoricals,
        max_text_chars=config.max_text_chars, period=config.period,
        file_problems=file_problems,
    )
    records, quarantine, counts = checked.records, checked.quarantine, checked.counts
    redactions: dict[str, int] = {}
    if redact:
        from .clean import clean_records

        cleaned = []
        for part in (records, quarantine):
            part, found = clean_records(part, config=clean)
            for kind, number in found.items():
                redactions[kind] = redactions.get(kind, 0) + int(number)
            cleaned.append(part)
        records, quarantine = cleaned
    counts["redactions"] = dict(sorted(redactions.items()))
    if counts["naive_assessed_at"]:
        logger.warning("%s: %d assessed_at value(s) without a UTC offset were taken as UTC",
                       raw.source, counts["naive_assessed_at"])
    logger.info(
        "loaded %s: %d rows read, %d used, %d set aside (%s); %d truncated texts; redactions %s",
        raw.source, counts["rows_read"], counts["rows_used"], counts["rows_set_aside"],
        ", ".join(f"{k}={v}" for k, v in counts.items()
                  if k not in ("rows_read", "rows_used", "rows_set_aside", "naive_assessed_at",
                               "truncated_texts", "redactions") and v) or "none",
        counts["truncated_texts"], counts["redactions"],
    )
    return LoadResult(
        records=records, quarantine=quarantine, problems=checked.problems, counts=counts,
        source=raw.source, source_sha256=raw.sha256, config=config,
        categorical_columns=checked.categorical_columns,
    )
