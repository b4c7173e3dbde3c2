"""The tables a run produces: the contract between the pipeline and the report and flag writers.

The pipeline fills a :class:`RunTables` once per reported period; :class:`qa_insights.report.
ThemeReport` and :func:`qa_insights.flags.build_flags` read only from it. The column tuples below
are the minimum each table must have (more columns are allowed and ignored).

All texts in these tables are already redacted, but ticket and comment text is untrusted user
content: every writer escapes it for the format it writes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "RunTables", "SUMMARY_COLUMNS", "ASSIGNMENT_COLUMNS", "THEME_COLUMNS", "ROOT_CAUSE_COLUMNS",
    "PHRASE_COLUMNS", "THEME_MAP_COLUMNS", "as_list",
]

#: One row per period.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "period", "records", "fail_rate", "share_ticket_text", "share_reviewer_comment", "markets",
)
#: One row per record used; ``theme_id`` NA for outliers, ``policy_area`` "unknown" on abstention.
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "record_id", "period", "theme_id", "theme_label", "is_outlier", "policy_area",
    "policy_confidence", "qa_result", "market", "queue", "reviewer_comment",
)
#: One row per theme and period.
THEME_COLUMNS: tuple[str, ...] = (
    "theme_id", "period", "label", "keywords", "count", "share", "fail_rate", "status", "signal",
    "weak_signal", "p_value", "q_value", "rate_ratio", "rr_ci_low", "rr_ci_high",
    "baseline_share", "score", "representative_comments", "root_cause_category",
    "root_cause_category_confidence", "policy_area", "impact_fail_rate",
)
#: One row per ranked root-cause candidate of a theme and period; ``attributes`` is a JSON object.
ROOT_CAUSE_COLUMNS: tuple[str, ...] = (
    "theme_id", "period", "rank", "attributes", "n_dims", "support", "theme_count", "rate_in",
    "rate_out", "risk_ratio", "rr_ci_low", "rr_ci_high", "explanatory_power", "surprise",
    "p_value", "q_value", "score", "evidence_record_ids", "example_comments",
)
#: Distinctive phrases of a theme's comments.
PHRASE_COLUMNS: tuple[str, ...] = (
    "theme_id", "period", "phrase", "count_in_theme", "count_other", "log_odds",
)
#: 2-D positions of theme centroids.
THEME_MAP_COLUMNS: tuple[str, ...] = ("theme_id", "x", "y", "count", "label")

_REQUIRED = {
    "summary": SUMMARY_COLUMNS, "assignments": ASSIGNMENT_COLUMNS, "themes": THEME_COLUMNS,
    "root_causes": ROOT_CAUSE_COLUMNS, "phrases": PHRASE_COLUMNS, "theme_map": THEME_MAP_COLUMNS,
}


@dataclass(frozen=True)
class RunTables:
    """Everything a run found, for one reported period.

    Parameters
    ----------
    period : str
        The period being reported (the latest one processed).
    periods : list of str
        All periods processed so far, in order.
    summary, assignments, themes, root_causes, phrases : DataFrame
        See the ``*_COLUMNS`` constants of this module.
    theme_map : DataFrame or None
        Theme centroid positions for a map; ``None`` when not computed.

    Raises
    ------
    TypeError
        A table is not a DataFrame.
    ValueError
        A table lacks a required column, or ``period`` is not in ``periods``. (Not an
        ``InputError``: these tables are made by code, so a bad one is a bug, not bad input.)
    """

    period: str
    periods: list[str]
    summary: pd.DataFrame
    assignments: pd.DataFrame
    themes: pd.DataFrame
    root_causes: pd.DataFrame
    phrases: pd.DataFrame
    theme_map: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        for name, columns in _REQUIRED.items():
            frame = getattr(self, name)
            if frame is None and name == "theme_map":
                continue
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"RunTables.{name} must be a DataFrame, got "
                                 f"{type(frame).__name__}")
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ValueError(f"RunTables.{name} lacks column(s): {', '.join(missing)}")
        if self.period not in list(self.periods):
            raise ValueError(f"RunTables.period {self.period!r} is not in periods "
                             f"{list(self.periods)[-5:]}")

    def previous_period(self) -> str | None:
        """The period before :attr:`period` in :attr:`periods`, or ``None`` for the first."""
        i = list(self.periods).index(self.period)
        return self.periods[i - 1] if i > 0 else None


def as_list(value: Any) -> list:
    """A list cell as read back from any writer: a list, an array, JSON text, or missing.

    Missing values (None, NA, NaN) give ``[]``; JSON text of a list is parsed, other text is one
    item; missing items inside a list are dropped.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return parsed if isinstance(parsed, list) else [value]
    try:
        return [v for v in list(value)
                if v is not None and v is not pd.NA and not (isinstance(v, float) and math.isnan(v))]
    except TypeError:
        return []
