"""Tests of qa_insights.pipeline: the monthly job on the bundled sample and generated data."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from qa_insights.config import PipelineConfig
from qa_insights.datasets import (
    SAMPLE_PATH, default_planted, generate_assessments, load_sample_truth,
)
from qa_insights.errors import InputError
from qa_insights.pipeline import OUTPUT_FILES, run


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run(SAMPLE_PATH, out)


def test_counts_reconcile_with_the_sample_truth(sample_run):
    truth = load_sample_truth()
    malformed = int(truth["malformed_reason"].notna().sum())
    counts = sample_run.load.counts
    assert counts["rows_read"] == len(truth)
    assert counts["rows_set_aside"] == malformed
    assert counts["rows_used"] + counts["rows_set_aside"] == counts["rows_read"]
    quarantine = pd.read_csv(sample_run.out_dir / "quarantine.csv", dtype=str)
    assert len(quarantine) == malformed


def test_manifest_says_what_ran(sample_run):
    manifest = json.loads((sample_run.out_dir / "manifest.json").read_text())
    assert manifest["counts"] == json.loads(json.dumps(sample_run.load.counts))
    assert len(manifest["input"]["sha256"]) == 64
    assert manifest["seed"] == PipelineConfig().seed
    assert set(manifest["outputs"]) == set(OUTPUT_FILES.values())
    assert manifest["periods"] == sample_run.periods
    assert set(manifest["timings_s"]) >= {"load", "embed", "themes", "trends", "root_causes"}
    summary = pd.read_csv(sample_run.out_dir / "summary.csv")
    assert summary["records"].sum() == manifest["counts"]["rows_used"]


def test_assignments_cover_every_used_record(sample_run):
    assignments = pd.read_parquet(sample_run.out_dir / "assignments.parquet")
    assert len(assignments) == sample_run.load.counts["rows_used"]
    assert assignments["record_id"].is_unique
    assert {"record_id", "period", "theme_id", "theme_label", "policy_area",
            "policy_confidence", "is_outlier"} <= set(assignments.columns)
    truth = load_sample_truth().set_index("record_id")
    merged = assignments.join(truth["failure_mode"], on="record_id")
    failed = merged[merged["failure_mode"].notna()]
    # failed records get a theme; passes are out of theme scope
    assert failed["theme_id"].notna().mean() >= 0.95
    passed = merged[merged["failure_mode"].isna() & ~merged["in_theme_scope"]]
    assert passed["theme_id"].isna().all()
    assert assignments["policy_area"].notna().all()


def test_planted_emerging_theme_is_flagged_with_its_planted_cause(sample_run):
    truth = load_sample_truth()
    sudden = next(p for p in default_planted() if p.pattern == "sudden")
    period = sample_run.periods[-1]
    planted_ids = truth.loc[(truth["planted_theme"] == sudden.name)
                            & (truth["period"] == period), "record_id"]
    a = sample_run.assignments
    theme_id = a.loc[a["record_id"].isin(planted_ids), "theme_id"].mode().iloc[0]
    themes = sample_run.themes.set_index(["theme_id", "period"])
    assert themes.loc[(theme_id, period), "signal"] == "strong"
    assert theme_id in set(sample_run.emerging(period)["theme_id"])
    causes = sample_run.root_causes
    top = causes[(causes["theme_id"] == theme_id) & (causes["period"] == period)
                 & (causes["rank"] == 1)].iloc[0]
    assert set(top["attributes"].items()) <= set(sudden.root_cause.items())
    stored = pd.read_parquet(sample_run.out_dir / "root_causes.parquet")
    row = stored[(stored["theme_id"] == theme_id) & (stored["period"] == period)
                 & (stored["rank"] == 1)].iloc[0]
    assert json.loads(row["attributes"]) == top["attributes"]

    # the stakeholder report shows it with its cause, and a flag routes it to a person
    html = (sample_run.out_dir / "report.html").read_text(encoding="utf-8")
    md = (sample_run.out_dir / "report.md").read_text(encoding="utf-8")
    for value in sudden.root_cause.values():
        assert value in html and value in md
    assert theme_id in html and theme_id in md
    flags = [json.loads(line) for line in
             (sample_run.out_dir / "flags.jsonl").read_text(encoding="utf-8").splitlines()]
    mine = [f for f in flags if f["theme_id"] == theme_id and f["period"] == period]
    assert {"emerging_theme", "new_theme"} & {f["kind"] for f in mine}
    assert all(f["route_to"] for f in mine)


def test_non_english_tickets_get_policy_areas_as_often_as_english_ones(sample_run):
    # the bundled sample's tickets are in the market's language; the truth knows each one's
    # language and area. Measured: non-English 68 % classified, 88 % of those right (49 % and
    # 88 % with the mapped vector alone); English 64 % and 92 %.
    truth = load_sample_truth().drop_duplicates("record_id")
    a = sample_run.assignments.merge(truth[["record_id", "ticket_language", "policy_area_true"]],
                                     on="record_id")
    a = a[a["policy_source"] == "model"]
    for english in (True, False):
        part = a[(a["ticket_language"] == "en") == english]
        kept = part[part["policy_area"] != "unknown"]
        assert len(part) > 500
        assert len(kept) / len(part) >= 0.6, english
        assert (kept["policy_area"] == kept["policy_area_true"]).mean() >= 0.85, english


def test_flags_validate_against_the_published_schema(sample_run):
    import jsonschema

    from qa_insights.flags import flag_schema

    schema = flag_schema()
    lines = (sample_run.out_dir / "flags.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        jsonschema.validate(json.loads(line), schema)
    ids = [json.loads(line)["flag_id"] for line in lines]
    assert len(ids) == len(set(ids))


def test_rerun_of_the_same_input_changes_nothing(sample_run, tmp_path):
    before = {name: (sample_run.out_dir / OUTPUT_FILES[name]).read_bytes()
              for name in ("assignments", "themes", "root_causes", "summary", "quarantine",
                           "flags_jsonl", "report_md")}
    again = run(SAMPLE_PATH, sample_run.out_dir)
    for name, blob in before.items():
        assert (again.out_dir / OUTPUT_FILES[name]).read_bytes() == blob, name
    # every embedding came from the cache the first run filled
    assert again.timings["embed"] < sample_run.timings["embed"]


def test_no_output_holds_planted_personal_data(tmp_path):
    data = generate_assessments(periods=["2026-09", "2026-10"], records_per_period=150,
                                planted=[], pii_rate=0.6, malformed_rate=0.05, seed=3)
    assert data.pii_values
    result = run(data.records, tmp_path)
    blobs = [p.read_bytes() for p in tmp_path.iterdir() if p.is_file()]
    leaked = [value for value in data.pii_values
              if any(value.encode("utf-8") in blob for blob in blobs)]
    assert leaked == []
    assert (tmp_path / "state.db").is_file()
    assert result.files


def test_period_restricts_the_run(tmp_path):
    result = run(SAMPLE_PATH, tmp_path, period="2026-10")
    assert list(result.summary["period"]) == ["2026-10"]
    assert set(result.assignments["period"]) == {"2026-10"}
    with pytest.raises(InputError, match="2031-01"):
        run(SAMPLE_PATH, tmp_path, period="2031-01")
