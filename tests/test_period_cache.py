"""Tests of qa_insights._period_cache and of the batch job's reuse of unchanged periods."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from qa_insights import pipeline
from qa_insights._period_cache import (
    chain_digest, forget_results_from, frame_digest, load_period_results, save_period_results,
    stored_digests,
)
from qa_insights.config import PipelineConfig
from qa_insights.datasets import generate_assessments
from qa_insights._pipeline_state import load_assignments
from qa_insights.pipeline import OUTPUT_FILES, run
from qa_insights.store import StateStore
from qa_insights.themes import ThemeModel, ThemeRegistry

PERIODS = ["2026-08", "2026-09", "2026-10"]
COMPARED = ("assignments", "themes", "root_causes", "flags_jsonl", "flags_csv", "report_md",
            "summary")


# --------------------------------------------------------------------------- digests
def test_frame_digest_sees_every_value_order_and_missing_values():
    frame = pd.DataFrame({"a": ["x", "y", None], "b": [1.0, 2.5, np.nan]})
    base = frame_digest(frame)
    assert frame_digest(frame.copy()) == base
    changed = frame.copy()
    changed.loc[1, "b"] = 2.5000000001
    assert frame_digest(changed) != base
    assert frame_digest(frame.iloc[[1, 0, 2]]) != base
    # a missing value is not the empty string nor the text "None"
    assert frame_digest(frame.fillna({"a": ""})) != base
    assert frame_digest(frame.fillna({"a": "None"})) != base
    assert frame_digest(frame.rename(columns={"b": "c"})) != base


def test_chain_digest_depends_on_the_period_before():
    frame = pd.DataFrame({"a": ["x"]})
    assert chain_digest("p1", "ctx", frame) == chain_digest("p1", "ctx", frame)
    assert chain_digest("p1", "ctx", frame) != chain_digest("p0", "ctx", frame)
    assert chain_digest("p1", "ctx", frame) != chain_digest("p1", "ctx2", frame)


def test_period_results_round_trip_and_are_forgotten_from_a_period(tmp_path):
    frame = pd.DataFrame({"theme_id": pd.array(["TH-0001", None], dtype="string"),
                          "keywords": [["a", "b"], []], "score": [0.25, np.nan]})
    with StateStore(tmp_path / "s.db") as store:
        for p in PERIODS:
            save_period_results(store, p, f"d-{p}", {"t": frame})
        assert stored_digests(store) == {p: f"d-{p}" for p in PERIODS}
        back = load_period_results(store, "2026-09", ["t"])["t"]
        assert back["theme_id"].tolist()[0] == "TH-0001" and pd.isna(back["theme_id"].iloc[1])
        assert [list(v) for v in back["keywords"]] == [["a", "b"], []]
        assert back["score"].iloc[0] == 0.25 and np.isnan(back["score"].iloc[1])
        forget_results_from(store, "2026-09")
        assert stored_digests(store) == {"2026-08": "d-2026-08"}
        with pytest.raises(KeyError):
            load_period_results(store, "2026-09", ["t"])


# --------------------------------------------------------------------------- the batch job
@pytest.fixture(scope="module")
def data():
    return generate_assessments(periods=PERIODS, records_per_period=150, planted=[], seed=11)


@pytest.fixture(scope="module")
def first_run(data, tmp_path_factory):
    """One cold run; each test continues from a copy of its state database."""
    out = tmp_path_factory.mktemp("first")
    return run(data.records, out)


@pytest.fixture
def state(first_run, tmp_path):
    target = tmp_path / "state.db"
    shutil.copyfile(first_run.out_dir / "state.db", target)
    return target


@pytest.fixture
def fits(monkeypatch):
    """Sizes of the periods ThemeModel.fit is called for, in order."""
    seen: list[int] = []
    original = ThemeModel.fit

    def counting_fit(self, docs, embeddings=None, *args, **kwargs):
        seen.append(len(docs))
        return original(self, docs, embeddings, *args, **kwargs)

    monkeypatch.setattr(ThemeModel, "fit", counting_fit)
    return seen


def _outputs(out_dir):
    return {name: (out_dir / OUTPUT_FILES[name]).read_bytes() for name in COMPARED}


def test_unchanged_rerun_reuses_every_period_and_writes_the_same_bytes(data, first_run, state,
                                                                      tmp_path, fits):
    again = run(data.records, tmp_path, state=state)
    assert fits == [], "an unchanged period was clustered again"
    assert _outputs(tmp_path) == _outputs(first_run.out_dir)
    assert again.timings["themes"] < 0.05 and again.timings["root_causes"] < 0.05
    pd.testing.assert_frame_equal(again.assignments, first_run.assignments)
    pd.testing.assert_frame_equal(again.root_causes, first_run.root_causes)


def test_a_change_in_the_last_month_recomputes_only_that_month(data, state, tmp_path, fits):
    records = data.records.copy()
    month = pd.to_datetime(records["assessed_at"], utc=True).dt.strftime("%Y-%m")
    records.loc[records.index[month == PERIODS[-1]][0], "reviewer_comment"] = \
        "Agent closed the report without reading it."
    changed = run(records, tmp_path / "second", state=state)
    assert len(fits) == 1
    # the same as a fresh run over the changed input
    fresh = run(records, tmp_path / "fresh")
    assert _outputs(tmp_path / "second") == _outputs(tmp_path / "fresh")
    assert changed.periods == fresh.periods


def test_a_change_in_the_first_month_or_the_config_recomputes_everything(data, state, tmp_path,
                                                                         fits):
    records = data.records.copy()
    records.loc[records.index[0], "queue"] = "a-queue-nobody-had"
    run(records, tmp_path, state=state)
    assert len(fits) == len(PERIODS)
    fits.clear()
    config = PipelineConfig.model_validate({"themes": {"outlier_threshold": 0.31}})
    run(records, tmp_path, config, state=state)
    assert len(fits) == len(PERIODS)


def test_an_unchanged_earlier_month_keeps_the_later_months(data, state, tmp_path, fits):
    run(data.records, tmp_path, period="2026-09", state=state)
    assert fits == []
    with StateStore(state) as store:
        assert set(stored_digests(store)) == set(PERIODS)
        assert sorted(load_assignments(store)["period"].unique()) == PERIODS


def test_a_user_merge_invalidates_the_stored_periods(data, first_run, state, tmp_path, fits):
    ids = first_run.themes.sort_values("count", ascending=False)["theme_id"].unique()[:2]
    with StateStore(state) as store:
        ThemeRegistry(store).merge([ids[1]], into=ids[0])
    run(data.records, tmp_path, state=state)
    assert len(fits) == len(PERIODS)


def test_stored_results_that_do_not_line_up_are_refused(tmp_path):
    assignments = pd.DataFrame({"record_id": ["a", "b"], "theme_id": pd.array([None, None],
                                                                             dtype="string")})
    stored = pd.DataFrame({"record_id": ["b", "a"], "theme_id": ["TH-0001", None]})
    with pytest.raises(pipeline.StateError, match="do not line up"):
        pipeline._restore_assignments(assignments, np.array([0, 1]), stored)
