"""Tests of qa_insights.datasets: the generator's ground truth, realism and determinism, and the
bundled sample."""

from __future__ import annotations

import gzip
import itertools
import re
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qa_insights
from qa_insights.datasets import (
    AGENTS, CHANNELS, FAILURE_MODES, MACROS, MALFORMED_REASONS, MARKETS, POLICY_AREAS, QUEUES,
    REVIEWERS, ROOT_CAUSE_CATEGORIES, SAMPLE_PARAMS, SAMPLE_PATH, SAMPLE_TRUTH_PATH,
    I18N_TRUTH_COLUMNS, TRUTH_COLUMNS, GeneratedData, PlantedTheme, default_planted,
    generate_assessments,
    generate_sample, load_sample, load_sample_truth,
)
from qa_insights.datasets.__main__ import main as datasets_main
from qa_insights.datasets._pii import luhn_valid
from qa_insights.datasets._sample import csv_bytes
from qa_insights.datasets._text import ticket_phrases
from qa_insights.schema import CANONICAL_COLUMNS

AUTO_FAIL = re.compile(r"^(?:auto-fail \(critical\):|auto fail -|critical error:)", re.I)
EXPECTED_AREAS = {
    "bullying_harassment", "hate_speech", "child_safety", "sexual_exploitation",
    "violent_graphic", "self_harm_suicide", "dangerous_acts", "violent_extremism",
    "scams_fraud", "account_security", "privacy_doxxing", "impersonation", "other",
}
ALL_RESERVED = [
    PlantedTheme("refund macro", "scam_refund_macro_to_victims", "2026-05", "stable", 0.06,
                 {"market": "ID", "macro_id": "MAC-SC-07"}),
    PlantedTheme("minor id", "minor_asked_for_id_photo", "2026-05", "stable", 0.05,
                 {"queue": "account-recovery"}),
    PlantedTheme("translate", "auto_translate_garbled_resources", "2026-05", "stable", 0.05,
                 {"macro_id": "MAC-SH-03"}),
    PlantedTheme("satire", "satire_misapplied_new_policy", "2026-09", "sudden", 0.06,
                 {"market": "MY", "channel": "email", "policy_version": "2026.09"}),
]


@pytest.fixture(scope="module")
def sample() -> GeneratedData:
    return generate_sample()


@pytest.fixture(scope="module")
def all_modes() -> GeneratedData:
    """Every failure mode, reserved ones included, with enough records for all wordings."""
    return generate_assessments(records_per_period=1000, planted=ALL_RESERVED, fail_rate=0.6,
                                seed=11)


def _valid(data: GeneratedData) -> tuple[pd.DataFrame, pd.DataFrame]:
    keep = data.truth["malformed_reason"].isna().to_numpy()
    return data.records[keep], data.truth[keep]


def _binomial_ok(k: int, n: int, p: float, level: float = 0.999) -> bool:
    lo, hi = stats.binom.interval(level, n, p)
    return lo <= k <= hi


# --- determinism ----------------------------------------------------------------------------

def test_same_seed_gives_identical_output():
    a = generate_assessments(records_per_period=120, malformed_rate=0.05, seed=5)
    b = generate_assessments(records_per_period=120, malformed_rate=0.05, seed=5)
    pd.testing.assert_frame_equal(a.records, b.records)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert csv_bytes(a.records) == csv_bytes(b.records)
    assert csv_bytes(a.truth) == csv_bytes(b.truth)
    assert a.pii_values == b.pii_values and a.distractors == b.distractors


def test_different_seed_gives_different_output():
    a = generate_assessments(records_per_period=120, seed=5)
    b = generate_assessments(records_per_period=120, seed=6)
    assert len(a.records) == len(b.records)
    assert not a.records["ticket_text"].equals(b.records["ticket_text"])
    assert not a.records["assessed_at"].equals(b.records["assessed_at"])


# --- catalogue ------------------------------------------------------------------------------

def test_catalogue_covers_the_domain():
    assert set(POLICY_AREAS) == EXPECTED_AREAS
    background = [m for m in FAILURE_MODES.values() if not m.reserved]
    reserved = [m for m in FAILURE_MODES.values() if m.reserved]
    assert len(background) >= 20 and len(reserved) >= 4
    for mode in FAILURE_MODES.values():
        assert mode.category in ROOT_CAUSE_CATEGORIES
        assert mode.areas and set(mode.areas) <= EXPECTED_AREAS
        assert 1 <= mode.severity <= 3
    # every root-cause category has at least one background mode
    assert {m.category for m in background} == set(ROOT_CAUSE_CATEGORIES)
    assert len(AGENTS) == 60 and len(REVIEWERS) == 12


def _content_words(text: str) -> set[str]:
    stop = set("a an the to of and or for in on at is was be been it this that not no with as "
               "by from but so than".split())
    text = re.sub(r"\{[a-z_]+\}", " ", text.lower())
    return {w for w in re.findall(r"[a-z]+", text) if w not in stop}


def test_wordings_are_genuinely_different():
    for mode in FAILURE_MODES.values():
        assert len(set(mode.wordings)) >= 6, mode.id
        words = [_content_words(w) for w in mode.wordings]
        for (i, a), (j, b) in itertools.combinations(enumerate(words), 2):
            jaccard = len(a & b) / len(a | b)
            assert jaccard < 0.5, (mode.id, mode.wordings[i], mode.wordings[j])
        lengths = [len(w) for w in mode.wordings]
        assert max(lengths) >= 2.5 * min(lengths), mode.id


def test_every_failure_mode_has_six_wordings_in_generated_data(all_modes):
    records, truth = _valid(all_modes)
    failed = truth["failure_mode"].notna()
    assert set(truth.loc[failed, "failure_mode"]) == set(FAILURE_MODES)
    for mode_id, group in truth[failed].groupby("failure_mode"):
        assert group["wording"].nunique() >= 6, mode_id
        comments = records.loc[group.index, "reviewer_comment"]
        assert comments.nunique() >= 6, mode_id
        # each comment was really written from its wording: despite typos and shorthand, the
        # wording whose words it shares most is the one the truth names
        templates = [_content_words(w) for w in FAILURE_MODES[mode_id].wordings]
        hits = 0
        for idx, w in group["wording"].items():
            got = _content_words(records.at[idx, "reviewer_comment"])
            overlap = [len(t & got) / len(t | got) for t in templates]
            hits += int(np.argmax(overlap)) == w
        assert hits >= 0.9 * len(group), mode_id


def test_unknown_language_falls_back_to_english_phrases():
    assert ticket_phrases("ms") is ticket_phrases("en")
    assert ticket_phrases("pt-BR") is ticket_phrases("en")


# --- contract shape -------------------------------------------------------------------------

def test_records_follow_the_data_contract(sample):
    records, truth = _valid(sample)
    assert list(sample.records.columns) == list(CANONICAL_COLUMNS)
    assert list(sample.truth.columns) == list(TRUTH_COLUMNS) + list(I18N_TRUTH_COLUMNS)
    assert (sample.records.dtypes == "str").all()
    assert records["record_id"].str.fullmatch(r"QA-\d{4}-\d{6}").all()
    assert records["record_id"].is_unique
    ts = pd.to_datetime(records["assessed_at"], utc=True, format="ISO8601")
    assert (ts.dt.strftime("%Y-%m") == truth["period"]).all()
    offsets = records["assessed_at"].str.extract(r"(Z|[+-]\d\d:\d\d)$")[0]
    assert offsets.notna().all()
    assert {"Z", "+08:00", "+07:00", "-03:00"} <= set(offsets)
    assert records["ticket_text"].str.strip().str.len().gt(0).all()
    assert set(records["qa_result"]) == {"pass", "fail"}
    assert records.loc[records["qa_result"] == "fail", "reviewer_comment"].notna().all()


def test_scores_agree_with_results(sample):
    records, _ = _valid(sample)
    score = pd.to_numeric(records["qa_score"])
    assert score.between(0, 100).all() and (score == score.round()).all()
    passed = records["qa_result"] == "pass"
    assert (score[passed] >= 70).all()
    failed = records[~passed]
    auto = failed["reviewer_comment"].str.contains(AUTO_FAIL)
    assert (score[~passed][~auto] < 70).all()
    assert 0 < auto.sum() < 0.08 * len(failed)   # "mostly": auto-fails are the exception


def test_attributes_are_valid_and_consistent(sample):
    records, truth = _valid(sample)
    assert set(records["market"]) == set(MARKETS)
    for market, langs in records.groupby("market")["language"]:
        assert set(langs) <= {lang for lang, _ in MARKETS[market].languages}
    assert set(records["queue"]) <= set(QUEUES)
    assert set(records["channel"]) == set(CHANNELS)
    assert set(records["agent_id"]) <= set(AGENTS)
    assert set(records["reviewer_id"]) == set(REVIEWERS)
    assert set(records["macro_id"].dropna()) <= set(MACROS)
    # policy_area: filled at ~policy_label_rate, mostly equal to the truth, always a valid id
    label = records["policy_area"]
    assert set(label.dropna()) <= EXPECTED_AREAS
    assert _binomial_ok(int(label.notna().sum()), len(label), 0.6)
    agree = (label == truth["policy_area_true"])[label.notna()].mean()
    assert 0.9 < agree < 1.0
    # policy versions follow the rollout: old until July, new from late September
    ts = pd.to_datetime(records["assessed_at"], utc=True, format="ISO8601")
    version = records["policy_version"]
    assert (version[ts < "2026-08-01"] == "2026.03").all()
    # the last wave (BR, DE) switches on 2026-09-16 and old tags linger 10 days, to 09-25 local
    assert (version[ts >= "2026-09-27"] == "2026.09").all()
    august = version[(ts >= "2026-08-01") & (ts < "2026-09-01")]
    assert {"2026.03", "2026.09"} <= set(august)


def test_european_reviewers_follow_summer_time(sample):
    records, _ = _valid(sample)
    dub = records[(records["reviewer_id"].isin(["R-09", "R-10"]))
                  & ~records["assessed_at"].str.endswith("Z")]
    ts = pd.to_datetime(dub["assessed_at"], utc=True, format="ISO8601")
    offset = dub["assessed_at"].str[-6:]
    assert (offset[ts < "2026-10-25"] == "+01:00").all()
    assert (offset[ts >= "2026-10-26"] == "+00:00").all()


# --- ground truth ---------------------------------------------------------------------------

def test_truth_is_aligned_and_consistent(sample):
    assert (sample.records["record_id"] == sample.truth["record_id"]).all()
    records, truth = _valid(sample)
    failed = records["qa_result"] == "fail"
    assert (truth["failure_mode"].notna() == failed).all()
    assert (truth["wording"].notna() == failed).all()
    reserved = {k for k, m in FAILURE_MODES.items() if m.reserved}
    planted = truth["planted_theme"].notna()
    assert not truth.loc[~planted, "failure_mode"].isin(reserved).any()
    assert not truth.loc[~planted, "root_cause_match"].any()
    for theme in sample.planted:
        rows = truth["planted_theme"] == theme.name
        assert (truth.loc[rows, "failure_mode"] == theme.failure_mode).all()
        assert (records.loc[rows, "qa_result"] == "fail").all()
        match = np.logical_and.reduce(
            [(records.loc[rows, dim] == value).to_numpy()
             for dim, value in theme.root_cause.items()])
        assert (truth.loc[rows, "root_cause_match"].to_numpy() == match).all()


def test_default_themes_follow_their_patterns(sample):
    _, truth = _valid(sample)
    periods = sample.periods
    counts = pd.crosstab(truth["planted_theme"], truth["period"]).reindex(
        columns=periods, fill_value=0)
    sudden, gradual, fading = default_planted()
    assert [t.name for t in sample.planted] == [sudden.name, gradual.name, fading.name]

    def series(theme):
        return [int(counts.at[theme.name, p]) for p in periods]

    def expected(theme):
        return [int(round(theme.share(p, periods[-1]) * 700)) for p in periods]

    for theme in (sudden, gradual, fading):
        assert series(theme) == expected(theme)
    s = series(sudden)
    assert s[:4] == [0, 0, 0, 0] and s[4] == s[5] == 42
    g = series(gradual)
    assert g[0] == 0 and all(a < b for a, b in zip(g[1:], g[2:]))
    f = series(fading)
    assert f[0] > 0 and all(a > b for a, b in zip(f[:4], f[1:4]))
    end = periods.index(fading.end_period)
    assert all(n == 0 for n in f[end:])


@pytest.mark.parametrize("concentration", [0.85, 0.6])
def test_root_cause_concentration_within_binomial_interval(concentration):
    theme = PlantedTheme("c", "minor_asked_for_id_photo", "2026-05", "stable", 0.1,
                         {"market": "PH", "channel": "chat", "queue": "account-recovery"},
                         concentration=concentration)
    data = generate_assessments(records_per_period=250, planted=[theme], seed=21)
    _, truth = _valid(data)
    rows = truth["planted_theme"] == "c"
    n, k = int(rows.sum()), int(truth.loc[rows, "root_cause_match"].sum())
    assert n == 6 * 25
    assert _binomial_ok(k, n, concentration), (k, n)


def test_default_concentration_within_binomial_interval(sample):
    _, truth = _valid(sample)
    for theme in sample.planted:
        rows = truth["planted_theme"] == theme.name
        n, k = int(rows.sum()), int(truth.loc[rows, "root_cause_match"].sum())
        assert _binomial_ok(k, n, theme.concentration), (theme.name, k, n)


def test_distractor_is_over_represented_but_never_the_cause(sample):
    records, truth = _valid(sample)
    assert set(sample.distractors) == {t.name for t in sample.planted}
    for theme in sample.planted:
        (dim, value), = sample.distractors[theme.name].items()
        assert dim not in theme.root_cause
        rows = (truth["planted_theme"] == theme.name).to_numpy()
        in_theme = (records.loc[rows, dim] == value).mean()
        background = (records.loc[~rows, dim] == value).mean()
        assert in_theme > 2 * background
        cause_share = truth.loc[rows, "root_cause_match"].mean()
        assert in_theme < cause_share
    none = generate_assessments(records_per_period=60, distractor_strength=0.0, seed=2)
    assert none.distractors == {}


def test_no_planted_themes_when_asked():
    data = generate_assessments(records_per_period=80, planted=[], seed=4)
    assert data.planted == [] and data.truth["planted_theme"].isna().all()
    reserved = {k for k, m in FAILURE_MODES.items() if m.reserved}
    assert not data.truth["failure_mode"].isin(reserved).any()
    assert _binomial_ok(int((data.records["qa_result"] == "fail").sum()), 480, 0.35)


def test_records_per_period_list():
    data = generate_assessments(periods=["2026-01", "2026-03"], records_per_period=[30, 50],
                                planted=[], seed=1)
    assert data.truth["period"].value_counts().to_dict() == {"2026-01": 30, "2026-03": 50}


# --- personal data --------------------------------------------------------------------------

def test_pii_values_occur_in_ticket_texts(sample):
    texts = "\n".join(sample.records["ticket_text"].dropna())
    assert len(sample.pii_values) > 300
    assert len(set(sample.pii_values)) == len(sample.pii_values)
    for value in sample.pii_values:
        assert value in texts, value
    records, _ = _valid(sample)
    carrying = records["ticket_text"].map(lambda t: any(v in t for v in sample.pii_values))
    assert _binomial_ok(int(carrying.sum()), len(records), 0.15)
    kinds = {
        "email": r"^[\w.]+@[\w.]+$", "handle": r"^@\w[\w.]*$", "url": r"^(https?://|www\.)",
        "ip": r"^\d+\.\d+\.\d+\.\d+$", "card": r"^\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}$",
        "my_phone": r"^(\+60 ?|0)1\d", "id_phone": r"^(\+62 ?|0)8\d\d", "gb_phone": r"7700",
        "ph_phone": r"^(\+63 ?|0)9\d\d", "account": r"^\d{10,15}$",
    }
    for kind, pattern in kinds.items():
        assert any(re.search(pattern, v) for v in sample.pii_values), kind
    cards = [v for v in sample.pii_values if re.fullmatch(kinds["card"], v)]
    assert cards and all(luhn_valid(c) for c in cards)


def test_no_pii_when_rate_is_zero():
    data = generate_assessments(records_per_period=100, pii_rate=0.0, seed=8)
    assert data.pii_values == []
    text = " ".join(data.records["ticket_text"])
    assert not re.search(r"@\w|https?://|www\.|\d{6,}|\d{3}[ -]\d{3,4}", text)


# --- malformed rows -------------------------------------------------------------------------

def _defects(records: pd.DataFrame) -> pd.DataFrame:
    blank = records[["ticket_text", "reviewer_comment"]].apply(
        lambda c: c.isna() | (c.str.strip() == ""))
    ts = pd.to_datetime(records["assessed_at"], utc=True, format="ISO8601", errors="coerce")
    score = pd.to_numeric(records["qa_score"], errors="coerce")
    return pd.DataFrame({
        "no_text": blank.all(axis=1),
        "bad_timestamp": ts.isna(),
        "duplicate_id": records["record_id"].duplicated(keep="first"),
        "bad_qa_result": ~records["qa_result"].isin(["pass", "fail"]),
        "bad_qa_score": ~score.between(0, 100),
    })


def test_malformed_rows_carry_their_defect(sample):
    reasons = sample.truth["malformed_reason"]
    assert reasons.notna().sum() == round(0.01 * 4200)
    assert set(reasons.dropna()) == set(MALFORMED_REASONS)
    defects = _defects(sample.records)
    for i, reason in reasons.items():
        expected = {r: False for r in MALFORMED_REASONS}
        if isinstance(reason, str):
            expected[reason] = True
        assert defects.loc[i].to_dict() == expected, (i, reason)
    # a duplicate repeats an id that appears earlier, not a fresh one
    dup = sample.records.loc[reasons == "duplicate_id", "record_id"]
    valid_ids = set(sample.records.loc[reasons.isna(), "record_id"])
    assert set(dup) <= valid_ids


# --- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"failure_mode": "missed_escalation"}, "reserved"),
    ({"pattern": "spiky"}, "pattern"),
    ({"pattern": "fading"}, "end_period"),
    ({"peak_share": 1.5}, "peak_share"),
    ({"root_cause": {}}, "1 to 3"),
    ({"root_cause": {"market": "ID", "queue": "scams", "channel": "chat", "agent_id": "A-1001"}},
     "1 to 3"),
    ({"root_cause": {"colour": "red"}}, "dimension"),
    ({"root_cause": {"market": "XX"}}, "unknown market"),
    ({"root_cause": {"market": "GB", "language": "th"}}, "not spoken"),
    ({"start_period": "2026/09"}, "not a month"),
    ({"concentration": 0.0}, "concentration"),
])
def test_planted_theme_validation(kwargs, message):
    args = dict(name="t", failure_mode="scam_refund_macro_to_victims", start_period="2026-09",
                pattern="sudden", peak_share=0.05, root_cause={"market": "ID"})
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        PlantedTheme(**args)


def test_generator_validation():
    theme = PlantedTheme("t", "satire_misapplied_new_policy", "2026-06", "sudden", 0.05,
                         {"policy_version": "2026.09"})
    with pytest.raises(ValueError, match="not in force"):
        generate_assessments(records_per_period=50, planted=[theme])
    with pytest.raises(ValueError, match="increasing"):
        generate_assessments(periods=["2026-06", "2026-05"])
    with pytest.raises(ValueError, match="fail_rate"):
        generate_assessments(fail_rate=1.2)
    big = [PlantedTheme(f"t{i}", m, "2026-05", "stable", 0.4, {"market": "MY"})
           for i, m in enumerate(["scam_refund_macro_to_victims", "minor_asked_for_id_photo",
                                  "satire_misapplied_new_policy"])]
    with pytest.raises(ValueError, match="90%"):
        generate_assessments(records_per_period=50, planted=big)
    theme_copy = PlantedTheme("t", "minor_asked_for_id_photo", "2026-06", "sudden", 0.05,
                              {"queue": "scams"})
    with pytest.raises(ValueError, match="distinct names"):
        generate_assessments(planted=[theme_copy, theme_copy])


def test_planted_theme_is_frozen_and_hashable():
    cause = {"market": "ID"}
    theme = PlantedTheme("t", "scam_refund_macro_to_victims", "2026-09", "sudden", 0.05, cause)
    cause["market"] = "MY"
    assert theme.root_cause == {"market": "ID"}
    assert hash(theme) == hash(PlantedTheme("t", "scam_refund_macro_to_victims", "2026-09",
                                            "sudden", 0.05, {"market": "ID"}))
    with pytest.raises(AttributeError):
        theme.name = "other"


# --- the bundled sample ---------------------------------------------------------------------

def test_bundled_sample_equals_the_generator_output(sample):
    raw = gzip.decompress(SAMPLE_PATH.read_bytes())
    assert raw == csv_bytes(sample.records)
    assert gzip.decompress(SAMPLE_TRUTH_PATH.read_bytes()) == csv_bytes(sample.truth)
    assert SAMPLE_PATH.read_bytes()[4:8] == b"\0\0\0\0"     # gzip mtime 0: reproducible
    assert len(SAMPLE_PATH.read_bytes()) + len(SAMPLE_TRUTH_PATH.read_bytes()) < 1_000_000
    readme = SAMPLE_PATH.parent.joinpath("README.md").read_text(encoding="utf-8")
    assert str(SAMPLE_PARAMS["seed"]) in readme and "--write-sample" in readme


def test_load_sample_from_the_installed_package(sample):
    package_dir = Path(qa_insights.__file__).resolve().parent
    assert Path(str(SAMPLE_PATH)).resolve() == package_dir / "data" / "sample_assessments.csv.gz"
    assert Path(str(files("qa_insights") / "data" / "sample_truth.csv.gz")).is_file()
    records = load_sample()
    pd.testing.assert_frame_equal(records, sample.records)
    pd.testing.assert_frame_equal(load_sample_truth(), sample.truth)


def test_write_sample_command_is_reproducible(tmp_path, capsys):
    assert datasets_main(["--write-sample", "--out-dir", str(tmp_path)]) == 0
    written = tmp_path / "sample_assessments.csv.gz"
    assert str(written) in capsys.readouterr().out
    for name, bundled in (("sample_assessments.csv.gz", SAMPLE_PATH),
                          ("sample_truth.csv.gz", SAMPLE_TRUTH_PATH)):
        fresh = (tmp_path / name).read_bytes()
        # no file name (flags byte 0) and mtime 0 in the gzip header: same bytes every run
        assert fresh[3] == 0 and fresh[4:8] == b"\0\0\0\0"
        assert gzip.decompress(fresh) == gzip.decompress(bundled.read_bytes())
    assert datasets_main([]) == 2
