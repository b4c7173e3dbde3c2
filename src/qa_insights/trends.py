"""Per-period theme statistics and emerging-theme status (the "what is new or growing?" stage).

Input is a table of theme assignments, one row per assessment: ``record_id``, ``period`` (sortable
labels such as ``"2026-05"``, ``"2026-W42"``, ``"2026-Q3"``), ``theme_id`` (NA or ``""`` for a
record without a theme; it still counts in the period's volume) and optionally ``qa_result``.

- :func:`theme_trends` assesses a whole history at once (a back-fill);
- :class:`TrendState` + :func:`update_trends` assess one new period at a time (the monthly job),
  with the same result, because period *P* is assessed from periods up to *P* only;
- :func:`emerging_themes` lists the strong and weak signals of a period;
- :func:`plot_theme_volume` draws volume over time with those themes highlighted;
- :func:`status_rules_markdown` states the rules, with the configured values, for a README.

The rules are stated in full in :func:`theme_trends`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pandas as pd
from pydantic import ValidationError

from ._trends_config import STATUSES, STRONG_STATUSES, TrendConfig, status_rules_markdown
from ._trends_plot import plot_theme_volume
from ._trends_stats import (
    TREND_COLUMNS,
    CountTable,
    aggregate_assignments,
    assess_period,
    check_periods,
)
from .errors import ConfigError, InputError, StateError

logger = logging.getLogger(__name__)

__all__ = [
    "TrendConfig", "TrendState", "theme_trends", "update_trends", "emerging_themes",
    "plot_theme_volume", "status_rules_markdown", "STATUSES", "STRONG_STATUSES", "TREND_COLUMNS",
]

_STATE_FORMAT = "qa_insights.trend_state"
_STATE_VERSION = 1


class TrendState:
    """Aggregate counts of every period assessed so far, enough to assess the next one.

    Holds counts per theme and period only (no record ids, no text), and serialises to plain
    JSON with :meth:`to_dict` / :meth:`from_dict` so that the monthly job can keep it in the store.

    Parameters
    ----------
    config : TrendConfig, optional
        Rules used for every period assessed with this state.
    """

    def __init__(self, config: TrendConfig | None = None) -> None:
        self.config = config if config is not None else TrendConfig()
        self._table = CountTable()

    @property
    def periods(self) -> list[str]:
        """Periods held, in order."""
        return list(self._table.periods)

    @property
    def themes(self) -> list[str]:
        """Theme ids seen so far, sorted."""
        return sorted(self._table.count)

    def copy(self) -> "TrendState":
        """An independent copy (updates never change the original)."""
        new = TrendState(self.config.model_copy())
        new._table = self._table.copy()
        return new

    def add(self, assignments: pd.DataFrame, periods: Iterable[str] | None = None) -> list[str]:
        """Append the periods of ``assignments`` (all later than those held) in order.

        Parameters
        ----------
        assignments : DataFrame
            Assignments of one or more new periods.
        periods : iterable of str, optional
            The new periods, in order, including any without records; by default those in the
            data.

        Returns
        -------
        list of str
            The periods appended.
        """
        counts = aggregate_assignments(assignments)
        if periods is None:
            new = check_periods(sorted(counts))
        else:
            new = check_periods(periods)
            extra = sorted(set(counts) - set(new))
            if extra:
                raise InputError(f"assignments have periods not in `periods`: {extra[:5]}",
                                 source="<DataFrame>", column="period")
        if not new:
            raise InputError("no period to add: the assignments are empty and no period was given",
                             source="<DataFrame>")
        if self._table.periods:
            last = self._table.periods[-1]
            if new[0] <= last:
                raise StateError(
                    f"period {new[0]} is not after the last period held ({last}); a period "
                    "is assessed once, from the periods before it")
            check_periods([last, new[0]])
        empty = {"volume": 0, "count": {}, "fail": {}, "judged": {}}
        for period in new:
            c = counts.get(period, empty)
            self._table.append(period, c["volume"], c["count"], c["fail"], c["judged"])
            logger.debug("trend state: added %s (%d records, %d themes)", period, c["volume"],
                         len(c["count"]))
        return new

    def assess(self, period: str) -> pd.DataFrame:
        """Trends rows of one held period (see :func:`theme_trends`)."""
        try:
            i = self._table.periods.index(period)
        except ValueError:
            raise InputError(f"period {period!r} is not held by this state") from None
        return assess_period(self._table, i, self.config)

    def trends(self) -> pd.DataFrame:
        """Trends rows of every held period, in order."""
        frames = [assess_period(self._table, i, self.config)
                  for i in range(len(self._table.periods))]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return assess_period(CountTable(["-"], [0]), 0, self.config)
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: format tag, version, config and the count table."""
        t = self._table
        return {
            "format": _STATE_FORMAT, "version": _STATE_VERSION,
            "config": self.config.model_dump(mode="json"),
            "periods": list(t.periods), "volume": list(t.volume),
            "themes": {k: {"count": t.count[k], "fail": t.fail[k], "judged": t.judged[k]}
                       for k in sorted(t.count)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrendState":
        """Rebuild a state written by :meth:`to_dict`; raises :class:`StateError` if foreign."""
        if not isinstance(data, dict) or data.get("format") != _STATE_FORMAT:
            raise StateError("not a qa_insights trend state")
        if data.get("version") != _STATE_VERSION:
            raise StateError(f"trend state version {data.get('version')!r} is not supported "
                             f"(this version reads {_STATE_VERSION})")
        try:
            config = TrendConfig.model_validate(data["config"])
            periods = check_periods(data["periods"], source="trend state")
            volume = [int(v) for v in data["volume"]]
            themes = data["themes"]
            n = len(periods)
            series = [v[key] for v in themes.values() for key in ("count", "fail", "judged")]
            if len(volume) != n or any(len(v) != n for v in series):
                raise StateError("trend state is corrupt: series lengths differ from the periods")
        except (KeyError, TypeError, ValueError, ValidationError, InputError) as exc:
            raise StateError(f"trend state is corrupt: {exc}") from exc
        state = cls(config)
        state._table = CountTable(
            periods, volume,
            {k: [int(x) for x in v["count"]] for k, v in themes.items()},
            {k: [int(x) for x in v["fail"]] for k, v in themes.items()},
            {k: [int(x) for x in v["judged"]] for k, v in themes.items()})
        return state

    @classmethod
    def from_assignments(cls, assignments: pd.DataFrame, config: TrendConfig | None = None,
                         periods: Iterable[str] | None = None) -> "TrendState":
        """A state holding the whole history in ``assignments``."""
        state = cls(_resolve_config(config))
        state.add(assignments, periods)
        return state


def _resolve_config(config) -> TrendConfig:
    if config is None:
        return TrendConfig()
    if isinstance(config, TrendConfig):
        return config
    try:
        return TrendConfig.model_validate(config)
    except ValidationError as exc:
        raise ConfigError(f"invalid trends config: {exc}") from exc


def theme_trends(assignments: pd.DataFrame, config: TrendConfig | dict | None = None,
                 periods: Iterable[str] | None = None) -> pd.DataFrame:
    """Per theme and period: volume, share, fail rate, baseline, test and status.

    Parameters
    ----------
    assignments : DataFrame
        ``record_id``, ``period``, ``theme_id`` (NA / ``""`` = no theme, still in the volume),
        optional ``qa_result``. Other columns are ignored.
    config : TrendConfig or dict, optional
        Rule parameters; defaults when omitted.
    periods : iterable of str, optional
        All periods in order, so that a period without records is known; by default the sorted
        periods present in the data.

    Returns
    -------
    DataFrame
        One row per theme and period from the theme's first record on (columns
        ``TREND_COLUMNS``), sorted by period then ``theme_id``. A theme at zero in a period
        has a row with ``count = 0``.

    Notes
    -----
    For theme *t* in period *P* with ``volume`` assessments, the baseline is the
    ``baseline_periods`` periods before *P* (fewer at the start): ``baseline_count`` records in
    ``baseline_volume`` assessments. Under "same rate as the baseline", given ``m = count +
    baseline_count``, ``count ~ Binomial(m, volume / (volume + baseline_volume))`` (the exact
    conditional test of two Poisson rates, :func:`scipy.stats.binomtest`). ``p_increase`` and
    ``p_decrease`` are its one-sided p-values, ``p_value`` the exact two-sided one, and
    ``q_value`` is Benjamini–Hochberg over the themes tested in *P* (those with a record in *P*
    or in its baseline), separately in two families fixed by the baseline alone
    (``test_family``): ``"novel"`` (no record in the baseline window) and ``"established"``.
    ``rate_ratio = share / baseline_share`` with an exact ``ci_level`` interval.

    An *increase* needs ``q_value <= alpha``, ``count >= min_support``, ``rate_ratio >=
    min_rate_ratio`` and ``share - baseline_share >= min_share_change``; a *decrease* needs
    ``q_value <= alpha``, a baseline of ``>= min_support`` records per period on average,
    ``rate_ratio <= 1 / min_rate_ratio`` and ``baseline_share - share >= min_share_change``.
    Status, first rule that applies:

    1. ``stable`` with ``has_baseline=False`` when fewer than ``min_baseline_periods`` earlier
       periods exist or *P* has no records (no history, no evidence of change);
    2. ``dormant``: ``count <= dormant_max_count`` after ``>= min_support`` records in some
       earlier period;
    3. ``new``: an increase, no record in the baseline window, never ``min_support`` records in
       an earlier period;
    4. ``emerging``: an increase from ``baseline_share < emerging_max_baseline_share`` or by a
       theme first seen at most ``baseline_periods`` periods ago;
    5. ``growing``: any other increase;
    6. ``declining``: a decrease;
    7. ``stable`` otherwise.

    ``signal`` is ``"strong"`` for new / emerging / growing, ``"weak"`` for a weak signal (a rare
    theme whose share rose strictly over ``weak_rising_periods`` consecutive periods, see
    :class:`TrendConfig`), else ``"none"``. ``score`` is the excess over the baseline expectation,
    ``count - volume * baseline_share`` (``count`` when there is no baseline).
    :func:`status_rules_markdown` renders these rules for a README.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [(f"r{p}{k}", p, "T1" if k < 10 * (1 + 4 * (p == "2026-04")) else None)
    ...         for p in ("2026-01", "2026-02", "2026-03", "2026-04") for k in range(500)]
    >>> df = pd.DataFrame(rows, columns=["record_id", "period", "theme_id"])
    >>> theme_trends(df)[["period", "status"]].tail(1).to_numpy().tolist()
    [['2026-04', 'emerging']]
    """
    return TrendState.from_assignments(assignments, config, periods).trends()


def update_trends(state: TrendState | None, new_assignments: pd.DataFrame,
                  periods: Iterable[str] | None = None,
                  config: TrendConfig | dict | None = None) -> tuple[TrendState, pd.DataFrame]:
    """Assess newly arrived period(s) given the state of the earlier ones.

    Parameters
    ----------
    state : TrendState or None
        The state after the last run (``None`` to start a history; ``config`` then applies).
    new_assignments : DataFrame
        Assignments of the new period(s), all later than the state's last period.
    periods : iterable of str, optional
        The new period labels, needed when a new period has no records.
    config : TrendConfig or dict, optional
        Only for a new history; a state keeps the config it was built with.

    Returns
    -------
    (TrendState, DataFrame)
        A new state (the given one is unchanged) and the trends rows of the new period(s), equal
        to the rows :func:`theme_trends` gives for them on the whole history.
    """
    if state is None:
        state = TrendState(_resolve_config(config))
    else:
        if config is not None and _resolve_config(config) != state.config:
            raise ConfigError("config differs from the one the trend state was built with; "
                              "rebuild the history with theme_trends to change the rules")
        state = state.copy()
    added = state.add(new_assignments, periods)
    rows = [state.assess(p) for p in added]
    rows = [r for r in rows if not r.empty]
    out = pd.concat(rows, ignore_index=True) if rows else state.assess(added[-1])
    return state, out


def emerging_themes(trends: pd.DataFrame, period: str | None = None) -> pd.DataFrame:
    """The themes flagged in a period: strong signals first, then weak, each by score.

    Parameters
    ----------
    trends : DataFrame
        Output of :func:`theme_trends` or :func:`update_trends`.
    period : str, optional
        The period to list; the last one in ``trends`` by default.

    Returns
    -------
    DataFrame
        Rows of ``trends`` with ``signal`` ``"strong"`` or ``"weak"`` in that period, sorted by
        signal (strong first), then ``score`` descending, then ``theme_id``, with a fresh index.
    """
    missing = {"period", "theme_id", "signal", "score"} - set(trends.columns)
    if missing:
        raise InputError(f"trends table lacks column(s): {', '.join(sorted(missing))}")
    if trends.empty:
        return trends.copy()
    at = period if period is not None else max(trends["period"])
    if at not in set(trends["period"]):
        raise InputError(f"period {at!r} is not in the trends table")
    rows = trends[(trends["period"] == at) & trends["signal"].isin(["strong", "weak"])]
    rank = rows["signal"].map({"strong": 0, "weak": 1})
    rows = rows.assign(_rank=rank).sort_values(["_rank", "score", "theme_id"],
                                               ascending=[True, False, True], kind="mergesort")
    return rows.drop(columns="_rank").reset_index(drop=True)
