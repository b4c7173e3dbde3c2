"""Tests of qa_insights.trends on hand-built assignment tables with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import yaml
from pydantic import ValidationError
from scipy import stats

from qa_insights.errors import ConfigError, InputError, StateError
from qa_insights.trends import (
    STATUSES,
    TREND_COLUMNS,
    TrendConfig,
    TrendState,
    emerging_themes,
    plot_theme_volume,
    status_rules_markdown,
    theme_trends,
    update_trends,
)

REPO = Path(__file__).resolve().parents[1]
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


def make_assignments(volumes, themes, fails=None, periods=None) -> pd.DataFrame:
    """Records per period: ``themes[name][i]`` records of each theme, the rest unassigned.

    ``fails[name][i]`` of a theme's records fail, the others pass; unassigned records pass.
    """
    periods = periods or MONTHS[: len(volumes)]
    fails = fails or {}
    rows = []
    for i, (period, volume) in enumerate(zip(periods, volumes)):
        k = 0
        for name in sorted(themes):
            n_fail = fails.get(name, [0] * len(volumes))[i]
            for j in range(themes[name][i]):
                rows.append((f"{period}-{k}", period, name, "fail" if j < n_fail else "pass"))
                k += 1
        assert k <= volume, "themes exceed the period's volume"
        for _ in range(volume - k):
            rows.append((f"{period}-{k}", period, pd.NA, "pass"))
            k += 1
    return pd.DataFrame(rows, columns=["record_id", "period", "theme_id", "qa_result"])


def row(trends: pd.DataFrame, period: str, theme: str) -> pd.Series:
    hit = trends[(trends["period"] == period) & (trends["theme_id"] == theme)]
    assert len(hit) == 1, f"expected one row for {theme} in {period}, got {len(hit)}"
    return hit.iloc[0]


# A history whose last period has one theme of each status.
VOLUMES = [1000] * 5
THEMES = {
    "jump": [20, 20, 20, 20, 100],        # 2 % -> 10 %: emerging (low baseline share)
    "steady": [80, 80, 80, 80, 80],       # stable
    "gone": [30, 30, 30, 30, 0],          # dormant
    "falling": [150, 150, 150, 150, 50],  # 15 % -> 5 %: declining
    "big_up": [100, 100, 100, 100, 200],  # 10 % -> 20 % of an old theme: growing
}


@pytest.fixture(scope="module")
def mixed_trends() -> pd.DataFrame:
    fails = {"jump": [5, 5, 5, 5, 60]}
    return theme_trends(make_assignments(VOLUMES, THEMES, fails))


def test_statuses_of_known_cases(mixed_trends):
    expected = {"jump": "emerging", "steady": "stable", "gone": "dormant",
                "falling": "declining", "big_up": "growing"}
    got = {t: row(mixed_trends, "2026-05", t)["status"] for t in expected}
    assert got == expected
    assert set(mixed_trends["status"]) <= set(STATUSES)
    assert list(mixed_trends.columns) == list(TREND_COLUMNS)


def test_counts_shares_baseline_and_fail_rate(mixed_trends):
    r = row(mixed_trends, "2026-05", "jump")
    assert (r["count"], r["volume"], r["share"]) == (100, 1000, pytest.approx(0.10))
    # the baseline is the three periods before May only, never May itself
    assert (r["baseline_count"], r["baseline_volume"], r["baseline_n_periods"]) == (60, 3000, 3)
    assert r["baseline_share"] == pytest.approx(0.02)
    assert r["rate_ratio"] == pytest.approx(5.0)
    assert r["fail_rate"] == pytest.approx(0.6)
    assert r["excess_count"] == pytest.approx(80.0)
    assert row(mixed_trends, "2026-01", "jump")["fail_rate"] == pytest.approx(0.25)


def test_p_value_matches_hand_computed_exact_test(mixed_trends):
    r = row(mixed_trends, "2026-05", "jump")
    # count | (count + baseline_count) ~ Binomial(160, 1000 / (1000 + 3000)) under "no change"
    p_inc = stats.binomtest(100, 160, 0.25, alternative="greater").pvalue
    p_dec = stats.binomtest(100, 160, 0.25, alternative="less").pvalue
    assert r["p_increase"] == pytest.approx(p_inc, rel=1e-12)
    assert r["p_decrease"] == pytest.approx(p_dec, rel=1e-12)
    assert r["p_value"] == pytest.approx(stats.binomtest(100, 160, 0.25).pvalue, rel=1e-12)
    assert r["p_value"] < 1e-20 and r["test_family"] == "established"
    # the same upper tail summed by hand from the binomial pmf
    assert p_inc == pytest.approx(sum(stats.binom.pmf(k, 160, 0.25) for k in range(100, 161)))
    # exact CI of the rate ratio maps the Clopper-Pearson CI of the proportion
    ci = stats.binomtest(100, 160, 0.25).proportion_ci(0.95, method="exact")
    assert r["rate_ratio_ci_low"] == pytest.approx(ci.low / (1 - ci.low) * 3.0)
    assert r["rate_ratio_ci_high"] == pytest.approx(ci.high / (1 - ci.high) * 3.0)
    assert r["rate_ratio_ci_low"] < 5.0 < r["rate_ratio_ci_high"]


def test_q_values_are_benjamini_hochberg_within_period(mixed_trends):
    may = mixed_trends[mixed_trends["period"] == "2026-05"]
    assert set(may["test_family"]) == {"established"}
    expected = stats.false_discovery_control(may["p_value"].to_numpy(), method="bh")
    np.testing.assert_allclose(may["q_value"].to_numpy(), expected)


def test_novel_themes_form_their_own_bh_family():
    # 20 established themes with noisy counts and one theme never seen before
    rng = np.random.default_rng(5)
    themes = {f"bg{k:02d}": [int(v) for v in rng.poisson(20, size=4)] for k in range(20)}
    themes["fresh"] = [0, 0, 0, 6]
    t = theme_trends(make_assignments([1000] * 4, themes))
    apr = t[t["period"] == "2026-04"]
    fresh = apr[apr["theme_id"] == "fresh"].iloc[0]
    assert fresh["test_family"] == "novel"
    # alone in its family, q == p == 0.25 ** 6 (the exact two-sided test: the lower tail is
    # more likely than the observed value, so only the upper tail counts)
    assert fresh["p_value"] == pytest.approx(0.25**6)
    assert fresh["q_value"] == pytest.approx(fresh["p_value"])
    assert fresh["status"] == "new"
    est = apr[apr["test_family"] == "established"]
    np.testing.assert_allclose(
        est["q_value"], stats.false_discovery_control(est["p_value"].to_numpy(), method="bh"))


def test_first_period_has_no_baseline_and_is_stable(mixed_trends):
    jan = mixed_trends[mixed_trends["period"] == "2026-01"]
    assert len(jan) == len(THEMES)
    assert (jan["status"] == "stable").all()
    assert not jan["has_baseline"].any()
    assert jan["p_value"].isna().all()
    assert (jan["signal"] == "none").all()
    assert mixed_trends[mixed_trends["period"] > "2026-01"]["has_baseline"].all()


def test_small_noisy_theme_held_back_by_minimum_support():
    # 1 record, then three quiet periods, then 3: significant on its own (p = 0.25**3) and a
    # large effect, but below min_support = 5
    df = make_assignments([100] * 5, {"noisy": [1, 0, 0, 0, 3]})
    r = row(theme_trends(df), "2026-05", "noisy")
    assert r["p_value"] == pytest.approx(0.25**3)
    assert r["q_value"] <= 0.05
    assert r["status"] == "stable" and r["signal"] == "none"
    # the same data with min_support = 3 is flagged, so it is the support rule that held it back
    r3 = row(theme_trends(df, TrendConfig(min_support=3, dormant_max_count=0)), "2026-05", "noisy")
    assert r3["status"] == "new"


def test_small_noisy_theme_one_to_three_never_flagged():
    df = make_assignments([800] * 6, {"noisy": [1, 2, 1, 1, 2, 3], "bg": [100] * 6})
    t = theme_trends(df)
    noisy = t[t["theme_id"] == "noisy"]
    assert (noisy["status"] == "stable").all()
    assert (noisy["signal"] == "none").all()


def test_benjamini_hochberg_stops_a_marginal_p_value():
    volumes = [1000] * 4
    marginal = {"marginal": [10, 10, 10, 20]}
    alone = row(theme_trends(make_assignments(volumes, marginal)), "2026-04", "marginal")
    assert alone["p_value"] < 0.05
    assert alone["status"] == "emerging"  # tested alone, q == p passes

    many = dict(marginal, **{f"bg{k:02d}": [30] * 4 for k in range(19)})
    r = row(theme_trends(make_assignments(volumes, many)), "2026-04", "marginal")
    assert r["p_value"] == pytest.approx(alone["p_value"])
    assert r["q_value"] > 0.05
    assert r["status"] == "stable"


def test_new_theme_and_what_follows():
    df = make_assignments([1000] * 8, {"fresh": [0, 0, 0, 40, 40, 40, 40, 40], "bg": [100] * 8})
    t = theme_trends(df)
    assert "2026-02" not in set(t.loc[t["theme_id"] == "fresh", "period"])  # no rows before it
    r = row(t, "2026-04", "fresh")
    assert r["status"] == "new" and r["signal"] == "strong"
    assert r["rate_ratio"] == np.inf and r["first_period"] == "2026-04"
    # a month later it is still far above its three-month baseline (0, 0, 40 records)
    assert row(t, "2026-05", "fresh")["status"] == "emerging"
    # once the baseline is all at the new level, it is stable
    assert [row(t, p, "fresh")["status"] for p in ("2026-07", "2026-08")] == ["stable", "stable"]


def test_return_after_a_dormant_spell_is_emerging_not_new():
    df = make_assignments([1000] * 8, {"back": [30, 30, 0, 0, 0, 0, 30, 30], "bg": [100] * 8})
    t = theme_trends(df)
    assert list(t.loc[t["theme_id"] == "back", "status"])[:7] == [
        "stable", "stable", "dormant", "dormant", "dormant", "dormant", "emerging"]


def test_young_theme_rising_above_share_threshold_is_emerging_old_one_growing():
    # both go 5 % -> 10 %; "young" first appeared two periods ago, "old" five
    df = make_assignments([1000] * 6, {"young": [0, 0, 0, 50, 50, 100],
                                       "old": [50, 50, 50, 50, 50, 100]})
    t = theme_trends(df)
    assert row(t, "2026-06", "young")["status"] == "emerging"
    assert row(t, "2026-06", "old")["status"] == "growing"


def test_empty_period_passed_explicitly():
    df = make_assignments([500, 500, 500], {"a": [50, 50, 50]},
                          periods=["2026-01", "2026-02", "2026-04"])
    t = theme_trends(df, periods=["2026-01", "2026-02", "2026-03", "2026-04"])
    march = row(t, "2026-03", "a")
    assert (march["count"], march["volume"], march["status"]) == (0, 0, "stable")
    assert not march["has_baseline"]
    april = row(t, "2026-04", "a")
    assert (april["baseline_count"], april["baseline_volume"]) == (100, 1000)
    assert april["status"] == "stable"
    with pytest.raises(InputError, match="not in `periods`"):
        theme_trends(df, periods=["2026-01", "2026-02"])


def test_blank_and_missing_theme_count_in_volume_only():
    df = pd.DataFrame({"record_id": ["a", "b", "c", "d"], "period": ["2026-01"] * 4,
                       "theme_id": ["T", "", None, "  "]})
    t = theme_trends(df)
    assert list(t["theme_id"]) == ["T"]
    assert (t.loc[0, "count"], t.loc[0, "volume"]) == (1, 4)
    assert np.isnan(t.loc[0, "fail_rate"])  # no qa_result column: nothing judged


def test_weak_signal_for_rare_theme_rising_three_periods():
    df = make_assignments([1000] * 5, {"rare": [5, 5, 4, 7, 11], "bg": [100] * 5,
                                       "flat": [5, 5, 5, 5, 5]})
    t = theme_trends(df)
    r = row(t, "2026-05", "rare")
    assert r["status"] == "stable"  # not significant against the baseline: not a strong signal
    assert r["weak_signal"] and r["signal"] == "weak"
    assert r["weak_trend_p"] <= 0.05
    assert not row(t, "2026-04", "rare")["weak_signal"]  # 5, 4, 7 is not a rise
    assert not row(t, "2026-05", "flat")["weak_signal"]
    listed = emerging_themes(t, "2026-05")
    assert list(listed["theme_id"]) == ["rare"] and list(listed["signal"]) == ["weak"]


def test_weak_signal_rules_reject_noise_and_common_themes():
    df = make_assignments([1000] * 3, {"tiny": [1, 2, 3], "common": [100, 110, 121]})
    t = theme_trends(df)
    tiny, common = row(t, "2026-03", "tiny"), row(t, "2026-03", "common")
    assert not tiny["weak_signal"] and tiny["weak_trend_p"] > 0.05  # too few to be a trend
    assert not common["weak_signal"]  # 12 % of volume is not rare


def test_emerging_themes_orders_strong_then_weak_by_score():
    df = make_assignments([1000] * 5, {"jump": [20, 20, 20, 20, 100], "fresh": [0, 0, 0, 0, 60],
                                       "rare": [5, 5, 4, 7, 11], "bg": [300] * 5})
    listed = emerging_themes(theme_trends(df))
    assert list(listed["theme_id"]) == ["jump", "fresh", "rare"]
    assert list(listed["status"]) == ["emerging", "new", "stable"]
    assert list(listed["signal"]) == ["strong", "strong", "weak"]
    assert listed["score"].iloc[0] == pytest.approx(80.0)


def _history(seed: int) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    periods = MONTHS[:9]
    probs = {"a": [0.10] * 9, "b": [0.05] * 4 + [0.02] * 5, "c": [0.0, 0.0, 0.004, 0.01, 0.03,
             0.06, 0.08, 0.08, 0.08], "d": [0.03] * 3 + [0.0] * 6, "e": [0.01] * 9}
    volumes = [int(v) for v in rng.integers(600, 900, size=9)]
    themes = {k: [int(rng.binomial(n, p[i])) for i, n in enumerate(volumes)]
              for k, p in probs.items()}
    volumes[5] = 0  # an empty month, known only from the explicit period list
    themes = {k: [0 if i == 5 else v for i, v in enumerate(c)] for k, c in themes.items()}
    fails = {k: [x // 2 for x in c] for k, c in themes.items()}
    return make_assignments(volumes, themes, fails, periods), periods


@pytest.mark.parametrize("seed", [0, 1])
def test_backfill_equals_six_monthly_incremental_runs(seed):
    df, periods = _history(seed)
    backfill = theme_trends(df, periods=periods)
    state, first = update_trends(None, df[df["period"] <= periods[2]], periods=periods[:3])
    parts = [first]
    for period in periods[3:]:
        # the state goes through JSON between runs, as it does through the store
        state = TrendState.from_dict(json.loads(json.dumps(state.to_dict())))
        state, rows = update_trends(state, df[df["period"] == period], periods=[period])
        parts.append(rows)
    assert len(periods[3:]) == 6
    incremental = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(incremental, backfill)
    assert set(backfill["status"]) - {"stable"}, "the history should hold some non-stable status"


def test_no_look_ahead():
    df, periods = _history(3)
    before = theme_trends(df, periods=periods)
    later = df.copy()
    late = later["period"] >= "2026-07"
    later.loc[late, "theme_id"] = np.where(np.arange(late.sum()) % 3 == 0, "e", "zz-late")
    after = theme_trends(later, periods=periods)
    early = lambda t: t[t["period"] < "2026-07"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(early(before), early(after))
    assert not before[before["period"] >= "2026-07"].reset_index(drop=True).equals(
        after[after["period"] >= "2026-07"].reset_index(drop=True))


def test_update_rejects_old_period_and_other_config():
    df, periods = _history(0)
    state = TrendState.from_assignments(df[df["period"] <= "2026-04"])
    with pytest.raises(StateError, match="not after"):
        update_trends(state, df[df["period"] == "2026-03"])
    with pytest.raises(ConfigError):
        update_trends(state, df[df["period"] == "2026-05"], config={"alpha": 0.01})
    before = state.to_dict()
    update_trends(state, df[df["period"] == "2026-05"])
    assert state.to_dict() == before  # the caller's state is not changed


def test_state_round_trip_and_foreign_state():
    df, _ = _history(0)
    state = TrendState.from_assignments(df, TrendConfig(alpha=0.01))
    data = json.loads(json.dumps(state.to_dict()))
    assert "record_id" not in json.dumps(data) and "2026-01-0" not in json.dumps(data)
    again = TrendState.from_dict(data)
    assert again.config.alpha == 0.01
    pd.testing.assert_frame_equal(again.trends(), state.trends())
    with pytest.raises(StateError):
        TrendState.from_dict({"format": "something else"})
    with pytest.raises(StateError, match="version"):
        TrendState.from_dict(dict(data, version=99))
    with pytest.raises(StateError, match="corrupt"):
        TrendState.from_dict(dict(data, volume=data["volume"][:-1]))


def test_input_errors():
    ok = make_assignments([10, 10], {"a": [2, 2]})
    with pytest.raises(InputError, match="theme_id"):
        theme_trends(ok.drop(columns="theme_id"))
    with pytest.raises(InputError, match="duplicate"):
        theme_trends(pd.concat([ok, ok.head(1)]))
    mixed = ok.assign(period=["2026-01"] * 10 + ["2026-W03"] * 10)
    with pytest.raises(InputError, match="mix formats"):
        theme_trends(mixed)
    with pytest.raises(InputError, match="qa_result"):
        theme_trends(ok.assign(qa_result="maybe"))
    with pytest.raises(ConfigError):
        theme_trends(ok, config={"alpha": 2})


def test_weekly_periods_work():
    weeks = [f"2026-W{w:02d}" for w in range(10, 15)]
    df = make_assignments([400] * 5, {"a": [8, 8, 8, 8, 60]}, periods=weeks)
    assert row(theme_trends(df), "2026-W14", "a")["status"] == "emerging"


def test_config_file_holds_the_defaults_and_validates():
    raw = yaml.safe_load((REPO / "configs" / "trends.yaml").read_text(encoding="utf-8"))
    assert TrendConfig.model_validate(raw) == TrendConfig()
    with pytest.raises(ValidationError):
        TrendConfig.model_validate(dict(raw, baseline_window=3))
    with pytest.raises(ValidationError):
        TrendConfig(min_support=2, dormant_max_count=2)


def test_rules_markdown_states_the_configured_values():
    text = status_rules_markdown(TrendConfig(alpha=0.01, baseline_periods=6))
    assert text.startswith("## Emerging-theme detection")
    assert "q_value ≤ 0.01" in text and "previous** 6 periods" in text
    for status in STATUSES:
        assert f"`{status}`" in text


def test_plot_highlights_the_emerging_theme(mixed_trends):
    fig = plot_theme_volume(mixed_trends, top=4)
    assert isinstance(fig, go.Figure)
    lines = {t.meta["theme_id"]: t for t in fig.data if not t.meta.get("markers")}
    # all highlighted themes are drawn, then the largest others up to `top`
    assert set(lines) == {"jump", "big_up", "falling", "steady"}
    jump = lines["jump"]
    assert jump.meta["highlighted"] and jump.meta["status"] == "emerging"
    assert jump.line.width > lines["falling"].line.width
    assert jump.line.color != lines["falling"].line.color == "#B0B0B0"
    assert list(jump.y) == pytest.approx([0.02, 0.02, 0.02, 0.02, 0.10])
    markers = [t for t in fig.data if t.meta.get("markers") and t.meta["theme_id"] == "jump"]
    assert list(markers[0].x) == ["2026-05"] and list(markers[0].text) == ["emerging"]
    # a figure that needs no network: plotly.js inlined when written as a standalone file
    html = fig.to_html(include_plotlyjs=True, full_html=True)
    assert "cdn.plot.ly" not in html.split("<body>")[1][:200] and len(html) > 1_000_000
    counts = plot_theme_volume(mixed_trends, value="count", labels={"jump": "Jump theme"})
    assert any((t.name or "").startswith("Jump theme") for t in counts.data)
