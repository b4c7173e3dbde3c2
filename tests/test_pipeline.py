"""Tests of qa_insights.pipeline: the monthly job on the bundled sample."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from qa_insights.config import PipelineConfig
from qa_insights.datasets import SAMPLE_PATH, generate_assessments, load_sample_truth
from qa_insights.errors import InputError
from qa_insights.pipeline import run


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
    assert set(manifest["outputs"]) == {"quarantine.csv", "summary.csv"}
    summary = pd.read_csv(sample_run.out_dir / "summary.csv")
    assert summary["records"].sum() == manifest["counts"]["rows_used"]


def test_no_output_holds_planted_personal_data(tmp_path):
    data = generate_assessments(periods=["2026-09", "2026-10"], records_per_period=150,
                                planted=[], pii_rate=0.6, malformed_rate=0.05, seed=3)
    assert data.pii_values
    result = run(data.records, tmp_path)
    blobs = [p.read_text(encoding="utf-8") for p in result.files.values()]
    leaked = [value for value in data.pii_values if any(value in blob for blob in blobs)]
    assert leaked == []


def test_period_restricts_the_run(tmp_path):
    result = run(SAMPLE_PATH, tmp_path, period="2026-10")
    assert list(result.summary["period"]) == ["2026-10"]
    with pytest.raises(InputError, match="2031-01"):
        run(SAMPLE_PATH, tmp_path, period="2031-01")
