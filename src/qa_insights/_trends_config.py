"""Configuration of emerging-theme detection and the text that states its rules."""

from __future__ import annotations

from pydantic import Field, model_validator

from ._base import StrictModel

__all__ = ["TrendConfig", "STATUSES", "STRONG_STATUSES", "status_rules_markdown"]

#: Every status a theme can have in a period.
STATUSES: tuple[str, ...] = ("new", "emerging", "growing", "stable", "declining", "dormant")
#: Statuses that make a theme a strong signal of something new or rising.
STRONG_STATUSES: tuple[str, ...] = ("new", "emerging", "growing")


class TrendConfig(StrictModel):
    """Parameters of the per-period theme statistics and of the status rules.

    Parameters
    ----------
    baseline_periods : int
        Length of the trailing baseline window: the ``baseline_periods`` periods *before* the
        period assessed (fewer at the start of the history).
    min_baseline_periods : int
        Periods of history needed before any status other than ``stable`` is given; until then
        rows carry ``has_baseline=False``.
    alpha : float
        False discovery rate for the Benjamini–Hochberg correction across themes in a period.
    ci_level : float
        Confidence level of the exact interval on the rate ratio.
    min_support : int
        Records a theme needs in the period to be ``new``, ``emerging`` or ``growing``; for
        ``declining`` the theme needs this many records per period on average in its baseline.
    min_rate_ratio : float
        Minimum effect: the period's share over the baseline share must be at least this for an
        increase, at most its inverse for a decrease.
    min_share_change : float
        Minimum effect in absolute terms: the share must move by at least this many parts of the
        period's volume (0.005 = half a percentage point).
    emerging_max_baseline_share : float
        A significant increase from a baseline share below this is ``emerging``; from at or
        above it (and for a theme older than the window) it is ``growing``.
    dormant_max_count : int
        A theme with at most this many records in a period, after having had ``min_support``
        records in some earlier period, is ``dormant``.
    weak_rising_periods : int
        Weak signal: the theme's share rises strictly over this many consecutive periods ending
        at the period assessed (3 = two successive rises).
    weak_max_share : float
        Weak signal: the theme is still rare, its share in the period at most this.
    weak_min_support : int
        Weak signal: records the theme needs in the period.
    weak_min_growth : float
        Weak signal: share at the end of the run over the share at its start, at least this.
    weak_alpha : float
        Weak signal: one-sided p-value of the trend score test over the run, at most this (not
        corrected for multiplicity; weak signals are for watching, not for alarms).
    """

    baseline_periods: int = Field(3, ge=1)
    min_baseline_periods: int = Field(1, ge=1)
    alpha: float = Field(0.05, gt=0, lt=1)
    ci_level: float = Field(0.95, gt=0, lt=1)
    min_support: int = Field(5, ge=1)
    min_rate_ratio: float = Field(1.5, ge=1)
    min_share_change: float = Field(0.005, ge=0, lt=1)
    emerging_max_baseline_share: float = Field(0.03, ge=0, le=1)
    dormant_max_count: int = Field(0, ge=0)
    weak_rising_periods: int = Field(3, ge=2)
    weak_max_share: float = Field(0.03, gt=0, le=1)
    weak_min_support: int = Field(3, ge=1)
    weak_min_growth: float = Field(1.5, ge=1)
    weak_alpha: float = Field(0.05, gt=0, lt=1)

    @model_validator(mode="after")
    def _check_consistent(self) -> "TrendConfig":
        if self.min_baseline_periods > self.baseline_periods:
            raise ValueError(
                f"min_baseline_periods ({self.min_baseline_periods}) cannot exceed "
                f"baseline_periods ({self.baseline_periods})")
        if self.dormant_max_count >= self.min_support:
            raise ValueError(
                f"dormant_max_count ({self.dormant_max_count}) must be below min_support "
                f"({self.min_support}), or a supported theme could be called dormant")
        return self


def status_rules_markdown(config: TrendConfig | None = None) -> str:
    """The status rules as a Markdown section, with the parameter values filled in.

    Parameters
    ----------
    config : TrendConfig, optional
        The values to show; defaults when omitted.

    Returns
    -------
    str
        A section (``## Emerging-theme detection``) to paste into the README or a report.
    """
    c = config or TrendConfig()
    return f"""\
## Emerging-theme detection

For each theme *t* and period *P* (months, ISO weeks or quarters, in order):

- `count` = records of *t* in *P*; `volume` = all assessments in *P* (records without a theme
  count in the volume); `share` = `count / volume`; `fail_rate` = failed / judged records of *t*.
- Baseline: the **previous** {c.baseline_periods} periods only (fewer at the start of the
  history); `baseline_count`, `baseline_volume`, `baseline_share`. Nothing after *P* is used, so a
  back-fill gives the same statuses as monthly runs.
- Test: the exact conditional test for two Poisson rates. Under "same rate as the baseline", given
  `count + baseline_count = m`, `count ~ Binomial(m, volume / (volume + baseline_volume))`.
  `p_increase` / `p_decrease` are the one-sided exact binomial p-values and `p_value` the exact
  two-sided one (`scipy.stats.binomtest`). `q_value` is Benjamini–Hochberg over the themes tested
  in *P* (those with a record in *P* or in its baseline), in two families fixed by the baseline
  alone (`test_family`): `novel` themes, with no record in the baseline window, and `established`
  ones; so the evidence for a new theme is not diluted by the size of the theme catalogue.
  `rate_ratio = share / baseline_share` with an exact {c.ci_level:.0%} interval from the
  Clopper–Pearson interval of the binomial proportion.
- An **increase** counts when `q_value ≤ {c.alpha}`, `count ≥ {c.min_support}`,
  `rate_ratio ≥ {c.min_rate_ratio}` and `share − baseline_share ≥ {c.min_share_change}`.
  A **decrease** counts when `q_value ≤ {c.alpha}`, the baseline averaged
  `≥ {c.min_support}` records per period, `rate_ratio ≤ 1/{c.min_rate_ratio}` and
  `baseline_share − share ≥ {c.min_share_change}`.

Status, first rule that applies:

1. `stable` with `has_baseline = false`: fewer than {c.min_baseline_periods} earlier period(s)
   exist (the first period of a history), or *P* has no assessments at all. Without history there
   is no evidence of change; these rows are not signals.
2. `dormant`: `count ≤ {c.dormant_max_count}` after the theme had `≥ {c.min_support}` records in
   some earlier period.
3. `new`: an increase, no record of the theme in the baseline window, and the theme never had
   `≥ {c.min_support}` records in any earlier period.
4. `emerging`: an increase from a low baseline: `baseline_share < {c.emerging_max_baseline_share}`,
   or the theme was first seen at most {c.baseline_periods} periods ago.
5. `growing`: any other increase (an established theme).
6. `declining`: a decrease.
7. `stable`: everything else.

**Signals.** `signal = "strong"` for `new`, `emerging` and `growing`. A **weak signal** is a rare
theme rising steadily, surfaced separately (`signal = "weak"`) when it is not already strong: its
share rose strictly over the last {c.weak_rising_periods} consecutive periods, its share in *P* is
`≤ {c.weak_max_share}`, it has `≥ {c.weak_min_support}` records in *P*, the share grew at least
{c.weak_min_growth}× over the run, and the one-sided score test for a log-linear trend in the rate
over those periods has `p ≤ {c.weak_alpha}` (uncorrected). Unlike BERTrend, which takes popularity
percentiles and a slope over 14-day windows, these rules count periods, so they work for monthly,
weekly or quarterly data alike.

`emerging_themes(trends, period)` lists the strong signals first, then the weak ones, each sorted
by `score` = excess records over the baseline expectation (`count − volume · baseline_share`).
"""
