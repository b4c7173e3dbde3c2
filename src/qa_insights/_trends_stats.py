"""Per-period theme counts and the statistics behind each theme's status.

Everything here works on an aggregate count table (theme x period), never on record text, so the
incremental state holds no personal data. Period ``i`` is assessed from columns ``0..i`` only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._trends_config import STRONG_STATUSES, TrendConfig
from .errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["CountTable", "aggregate_assignments", "assess_period", "check_periods",
           "TREND_COLUMNS"]

#: Columns of a trends table, in order.
TREND_COLUMNS: tuple[str, ...] = (
    "period", "theme_id", "status", "signal", "weak_signal", "score",
    "count", "volume", "share", "fail_count", "judged_count", "fail_rate",
    "baseline_n_periods", "baseline_count", "baseline_volume", "baseline_share",
    "expected_count", "excess_count", "rate_ratio", "rate_ratio_ci_low", "rate_ratio_ci_high",
    "p_increase", "p_decrease", "p_value", "q_value", "tested", "test_family", "has_baseline",
    "first_period", "weak_trend_p",
)

_PERIOD_KINDS = {
    "month": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "week": re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$"),
    "quarter": re.compile(r"^\d{4}-Q[1-4]$"),
}


def _period_kind(period: str) -> str | None:
    for kind, pattern in _PERIOD_KINDS.items():
        if pattern.match(period):
            return kind
    return None


def check_periods(periods, *, source: str = "periods") -> list[str]:
    """Validate an ordered list of period labels and return it as a list of str.

    Labels must be unique, strictly increasing as strings, and of one kind (month, ISO week or
    quarter) when they follow the loader's formats; other sortable labels are accepted as given.
    """
    labels = [str(p) for p in periods]
    if len(set(labels)) != len(labels):
        raise InputError("period labels are not unique", source=source)
    if labels != sorted(labels):
        raise InputError("periods must be in increasing order", source=source)
    kinds = {_period_kind(p) for p in labels}
    if len(kinds) > 1:
        raise InputError(
            f"periods mix formats ({', '.join(sorted(str(k) for k in kinds))}); "
            "months, ISO weeks and quarters cannot be compared", source=source)
    return labels


@dataclass
class CountTable:
    """Aggregate counts: per period the volume, per theme and period count / fails / judged."""

    periods: list[str] = field(default_factory=list)
    volume: list[int] = field(default_factory=list)
    count: dict[str, list[int]] = field(default_factory=dict)
    fail: dict[str, list[int]] = field(default_factory=dict)
    judged: dict[str, list[int]] = field(default_factory=dict)

    def append(self, period: str, volume: int, count: dict[str, int], fail: dict[str, int],
               judged: dict[str, int]) -> None:
        """Add one period at the end; themes not mentioned get zeros."""
        n_before = len(self.periods)
        for theme in count:
            if theme not in self.count:
                self.count[theme] = [0] * n_before
                self.fail[theme] = [0] * n_before
                self.judged[theme] = [0] * n_before
        for theme in self.count:
            self.count[theme].append(int(count.get(theme, 0)))
            self.fail[theme].append(int(fail.get(theme, 0)))
            self.judged[theme].append(int(judged.get(theme, 0)))
        self.periods.append(period)
        self.volume.append(int(volume))

    def copy(self) -> "CountTable":
        return CountTable(list(self.periods), list(self.volume),
                          {k: list(v) for k, v in self.count.items()},
                          {k: list(v) for k, v in self.fail.items()},
                          {k: list(v) for k, v in self.judged.items()})


def aggregate_assignments(assignments: pd.DataFrame) -> dict[str, dict[str, dict[str, int] | int]]:
    """Count an assignments table per period.

    Parameters
    ----------
    assignments : DataFrame
        Columns ``record_id``, ``period``, ``theme_id`` (NA or blank = no theme) and optionally
        ``qa_result`` (``"pass"`` / ``"fail"`` / NA).

    Returns
    -------
    dict
        ``{period: {"volume": int, "count": {theme: n}, "fail": {...}, "judged": {...}}}``.
    """
    if not isinstance(assignments, pd.DataFrame):
        raise InputError(f"expected a DataFrame of assignments, got {type(assignments).__name__}",
                         source="<DataFrame>")
    missing = [c for c in ("record_id", "period", "theme_id") if c not in assignments.columns]
    if missing:
        raise InputError(f"missing required column(s): {', '.join(missing)}", source="<DataFrame>")
    if assignments["period"].isna().any():
        row = int(np.flatnonzero(assignments["period"].isna().to_numpy())[0]) + 1
        raise InputError("period is missing", source="<DataFrame>", row=row, column="period")
    dup = assignments["record_id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0]) + 1
        raise InputError(
            f"{int(dup.sum())} duplicate record_id(s); each record has at most one theme",
            source="<DataFrame>", row=row, column="record_id")

    theme = assignments["theme_id"].astype("object")
    theme = theme.where(theme.notna(), None).map(lambda v: None if v is None else str(v).strip())
    theme = theme.map(lambda v: v if v else None)
    if "qa_result" in assignments.columns:
        result = assignments["qa_result"].astype("object")
        result = result.where(result.notna(), None).map(
            lambda v: None if v is None else str(v).strip().lower())
        bad = result.notna() & ~result.isin(["pass", "fail"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(
                f"qa_result must be 'pass', 'fail' or missing, got {result[bad].iloc[0]!r}",
                source="<DataFrame>", row=row, column="qa_result")
    else:
        result = pd.Series([None] * len(assignments), index=assignments.index, dtype="object")

    frame = pd.DataFrame({
        "period": assignments["period"].astype(str).to_numpy(),
        "theme": theme.to_numpy(),
        "fail": (result == "fail").to_numpy(),
        "judged": result.notna().to_numpy(),
    })
    out: dict[str, dict] = {
        str(p): {"volume": int(v), "count": {}, "fail": {}, "judged": {}}
        for p, v in frame.groupby("period", sort=True).size().items()}
    themed = frame[frame["theme"].notna()]
    agg = themed.groupby(["period", "theme"], sort=True).agg(
        count=("theme", "size"), fail=("fail", "sum"), judged=("judged", "sum"))
    for (period, name), values in zip(agg.index, agg.itertuples(index=False)):
        entry = out[str(period)]
        entry["count"][str(name)] = int(values.count)
        entry["fail"][str(name)] = int(values.fail)
        entry["judged"][str(name)] = int(values.judged)
    return out


def _rate_ratio_ci(x: np.ndarray, m: np.ndarray, ratio_exposure: float,
                   level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact CI of the rate ratio from the Clopper–Pearson CI of ``x / m`` (``m > 0``).

    The Clopper–Pearson bounds are beta quantiles (what ``binomtest(...).proportion_ci(
    method="exact")`` solves for by root finding); ``pi`` maps to ``pi / (1 - pi) *
    ratio_exposure``.
    """
    tail = (1.0 - level) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(x == 0, 0.0, stats.beta.ppf(tail, np.maximum(x, 1), m - x + 1))
        high = np.where(x == m, 1.0, stats.beta.ppf(1.0 - tail, x + 1, np.maximum(m - x, 1)))
        return tuple(np.where(pi >= 1.0, np.inf, pi / (1.0 - pi) * ratio_exposure)
                     for pi in (low, high))


def _trend_score_p(counts: np.ndarray, volumes: np.ndarray) -> np.ndarray:
    """One-sided p-values of the score test for a log-linear rising trend in a Poisson rate.

    ``counts`` is themes x periods, ``volumes`` the periods' volumes. Conditional on a theme's
    total, its counts are multinomial with probabilities proportional to the volumes under "no
    trend"; the statistic is the period index weighted by the counts (normal approximation).
    """
    total = counts.sum(axis=1)
    pi = volumes / volumes.sum()
    score = np.arange(counts.shape[1], dtype=float)
    mean = float((score * pi).sum())
    var = total * float((score**2 * pi).sum() - mean**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = ((counts * score).sum(axis=1) - total * mean) / np.sqrt(var)
    return np.where(var > 0, stats.norm.sf(z), 1.0)


def _weak_signals(cnt: np.ndarray, vol: np.ndarray, config: TrendConfig
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Weak-signal flags and trend p-values (NaN when not assessable) at the last column."""
    k = config.weak_rising_periods
    n_themes, n_periods = cnt.shape
    if n_periods < k or (vol[-k:] <= 0).any():
        return np.zeros(n_themes, dtype=bool), np.full(n_themes, np.nan)
    c = cnt[:, -k:].astype(float)
    v = vol[-k:].astype(float)
    shares = c / v
    p_trend = _trend_score_p(c, v)
    rising = np.all(np.diff(shares, axis=1) > 0, axis=1)
    grown = (shares[:, 0] == 0) | (shares[:, -1] >= config.weak_min_growth * shares[:, 0])
    flag = (rising & grown & (shares[:, -1] <= config.weak_max_share)
            & (cnt[:, -1] >= config.weak_min_support) & (p_trend <= config.weak_alpha))
    return flag, p_trend


def assess_period(table: CountTable, i: int, config: TrendConfig) -> pd.DataFrame:
    """Statistics and status of every theme seen so far, for period ``table.periods[i]``.

    Uses columns ``0..i`` of the table only. See :func:`qa_insights.trends.theme_trends` for the
    rules; returns one row per theme with a record by period ``i``, sorted by ``theme_id``.
    """
    c = config
    names = sorted(table.count)
    vol = np.asarray(table.volume[: i + 1], dtype=np.int64)
    cnt = np.asarray([table.count[t][: i + 1] for t in names], dtype=np.int64).reshape(
        len(names), i + 1)
    # themes not seen yet by period i get no row, so rows never depend on later data
    keep = cnt.sum(axis=1) > 0
    names = [t for t, k in zip(names, keep) if k]
    cnt = cnt[keep]
    if not names:
        return pd.DataFrame({col: pd.Series(dtype=_dtype(col)) for col in TREND_COLUMNS})
    fails = np.asarray([table.fail[t][i] for t in names], dtype=np.int64)
    judged = np.asarray([table.judged[t][i] for t in names], dtype=np.int64)

    n = int(vol[i])
    lo = max(0, i - c.baseline_periods)
    n_prior = i - lo
    n_b = int(vol[lo:i].sum())
    has_baseline = n_prior >= c.min_baseline_periods and n_b > 0 and n > 0
    x = cnt[:, i]
    xb = cnt[:, lo:i].sum(axis=1)
    first = np.argmax(cnt > 0, axis=1)
    max_before = cnt[:, :i].max(axis=1) if i > 0 else np.zeros(len(names), dtype=np.int64)
    nan = np.full(len(names), np.nan)
    share = x / n if n > 0 else nan
    b_share = xb / n_b if n_b > 0 else nan
    expected = n * b_share

    tested = np.full(len(names), has_baseline) & (x + xb > 0)
    p_inc, p_dec, p_val, q_val = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    ratio, ci_low, ci_high = nan.copy(), nan.copy(), nan.copy()
    if tested.any():
        m = (x + xb)[tested]
        xt = x[tested]
        q0 = n / (n + n_b)
        # conditional exact test: count | count + baseline_count ~ Binomial(m, q0); the tails
        # are scipy.stats.binomtest's one-sided p-values
        p_inc[tested] = np.minimum(1.0, stats.binom.sf(xt - 1, m, q0))
        p_dec[tested] = np.minimum(1.0, stats.binom.cdf(xt, m, q0))
        p_val[tested] = [stats.binomtest(int(a), int(b), q0).pvalue for a, b in zip(xt, m)]
        # BH in two families fixed by the baseline alone: a theme absent from the baseline
        # window can only be new, and its evidence should not be diluted by the number of
        # unrelated established themes in the catalogue
        for fam in (tested & (xb == 0), tested & (xb > 0)):
            if fam.any():
                q_val[fam] = stats.false_discovery_control(p_val[fam], method="bh")
        with np.errstate(divide="ignore"):
            ratio[tested] = np.where(xb[tested] > 0, share[tested] / b_share[tested], np.inf)
        ci_low[tested], ci_high[tested] = _rate_ratio_ci(xt, m, n_b / n, c.ci_level)

    # status rules, first match wins (NaN comparisons are False)
    with np.errstate(invalid="ignore"):
        significant = tested & (q_val <= c.alpha)
        up = (significant & (x > expected) & (x >= c.min_support) & (ratio >= c.min_rate_ratio)
              & (share - b_share >= c.min_share_change))
        down = (significant & (x < expected) & (xb / max(n_prior, 1) >= c.min_support)
                & (ratio <= 1.0 / c.min_rate_ratio) & (b_share - share >= c.min_share_change))
    dormant = (x <= c.dormant_max_count) & (max_before >= c.min_support)
    new = up & (xb == 0) & (max_before < c.min_support)
    low_base = (b_share < c.emerging_max_baseline_share) | (i - first <= c.baseline_periods)
    status = np.select(
        [np.full(len(names), not has_baseline), dormant, new, up & low_base, up, down],
        ["stable", "dormant", "new", "emerging", "growing", "declining"], default="stable")

    weak, p_trend = _weak_signals(cnt, vol, c)
    strong = np.isin(status, STRONG_STATUSES)
    weak = weak & ~strong
    excess = x - expected
    frame = pd.DataFrame({
        "period": table.periods[i], "theme_id": names, "status": status,
        "signal": np.where(strong, "strong", np.where(weak, "weak", "none")),
        "weak_signal": weak, "score": np.where(np.isnan(excess), x, excess),
        "count": x, "volume": n, "share": share, "fail_count": fails, "judged_count": judged,
        "fail_rate": np.where(judged > 0, fails / np.maximum(judged, 1), np.nan),
        "baseline_n_periods": n_prior, "baseline_count": xb, "baseline_volume": n_b,
        "baseline_share": b_share, "expected_count": expected, "excess_count": excess,
        "rate_ratio": ratio, "rate_ratio_ci_low": ci_low, "rate_ratio_ci_high": ci_high,
        "p_increase": p_inc, "p_decrease": p_dec, "p_value": p_val, "q_value": q_val,
        "tested": tested, "test_family": np.where(
            tested, np.where(xb == 0, "novel", "established"), "none"),
        "has_baseline": has_baseline,
        "first_period": [table.periods[f] for f in first], "weak_trend_p": p_trend,
    })
    return _typed(frame[list(TREND_COLUMNS)])


def _dtype(column: str) -> str:
    if column in ("period", "theme_id", "status", "signal", "first_period", "test_family"):
        return "object"
    if column in ("weak_signal", "tested", "has_baseline"):
        return "bool"
    if column in ("count", "volume", "fail_count", "judged_count", "baseline_n_periods",
                  "baseline_count", "baseline_volume"):
        return "int64"
    return "float64"


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: _dtype(c) for c in frame.columns}).reset_index(drop=True)
