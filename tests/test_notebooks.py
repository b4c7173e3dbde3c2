"""The analyst notebooks in ``notebooks/``: committed without outputs, and each runs top to bottom.

Each notebook is executed in a fresh ``python3`` kernel with nbclient, on the bundled sample,
with its outputs (``QA_INSIGHTS_NOTEBOOK_OUT``) and saved models (``QA_INSIGHTS_MODELS_DIR``)
pointed at a temporary folder, so running the tests writes nothing into the repository.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import qa_insights

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ["01_quickstart.ipynb", "02_monthly_review.ipynb", "03_policy_classifier.ipynb"]
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def _read(name: str):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def _execute(name: str, tmp_path: Path, monkeypatch) -> tuple[nbformat.NotebookNode, Path]:
    """Run a notebook in a fresh kernel; raises CellExecutionError on the first failing cell."""
    out = tmp_path / "out"
    monkeypatch.setenv("QA_INSIGHTS_NOTEBOOK_OUT", str(out))
    monkeypatch.setenv("QA_INSIGHTS_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # the kernel must import the qa_insights under test, not whatever else is installed
    src = str(Path(qa_insights.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])]))
    nb = _read(name)
    NotebookClient(nb, kernel_name="python3", timeout=900,
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    return nb, out


def _stream_text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def _mimetypes(nb) -> set[str]:
    return {m for c in nb.cells if c.cell_type == "code" for o in c.outputs
            for m in o.get("data", {})}


def _line_after(text: str, prefix: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.startswith(prefix)]
    assert len(lines) == 1, f"expected one line starting {prefix!r}, got {lines}"
    return lines[0][len(prefix):].strip()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_valid_and_has_no_outputs(name):
    nb = _read(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    assert all(c.outputs == [] and c.execution_count is None for c in code), \
        f"{name} has outputs: strip them before committing"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # every step is explained to the reader, not only shown
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= len(code) // 3


@pytest.mark.slow
def test_quickstart_runs_and_lists_the_emerging_themes_it_wrote(tmp_path, monkeypatch):
    nb, out = _execute("01_quickstart.ipynb", tmp_path, monkeypatch)
    run_dir = out / "quickstart"
    printed = _line_after(_stream_text(nb), "emerging theme ids:").split()
    themes = pd.read_parquet(run_dir / "themes.parquet")
    last = themes[themes["period"] == themes["period"].max()]
    with_signal = last[last["signal"] != "none"]
    assert printed, "the sample has planted emerging themes; none were listed"
    assert sorted(printed) == sorted(with_signal["theme_id"])
    # strong signals are listed before weak ones
    kinds = with_signal.set_index("theme_id").loc[printed, "signal"].tolist()
    assert kinds == sorted(kinds, key=["strong", "weak"].index)
    assert (run_dir / "report.html").stat().st_size > 0
    assert PLOTLY_MIME in _mimetypes(nb)  # the volume and policy charts are interactive
    # the last cell is the one that answers "what to look at first"
    assert nb.cells[-1].outputs and "emerging theme ids:" in nb.cells[-1].outputs[0]["text"]


@pytest.mark.slow
def test_monthly_review_runs_and_keeps_the_analyst_edits(tmp_path, monkeypatch):
    nb, out = _execute("02_monthly_review.ipynb", tmp_path, monkeypatch)
    text = _stream_text(nb)
    assert "rename kept: True; merge kept: True; new name in the outputs: True" in text
    run_dir = out / "monthly_review"
    october = pd.read_parquet(run_dir / "2026-10" / "themes.parquet")
    september = pd.read_parquet(run_dir / "2026-09" / "themes.parquet")
    # October alone, against the stored state: its trends span the earlier months too, and
    # themes seen in September keep their ids
    assert sorted(october["period"].unique())[-2:] == ["2026-09", "2026-10"]
    seen_in_october = set(october.query("period == '2026-10' and count > 0")["theme_id"])
    assert seen_in_october & set(september.query("count > 0")["theme_id"])
    assert "Minors asked for an ID photo" in set(october["label"])
    # the exported flags are the October run's flags, one JSON object per line
    exported = (run_dir / "flags_for_triage" / "flags.jsonl").read_text().splitlines()
    written = (run_dir / "2026-10" / "flags.jsonl").read_text().splitlines()
    assert exported and sorted(exported) == sorted(written)
    assert {json.loads(x)["period"] for x in exported} == {"2026-10"}
    assert PLOTLY_MIME in _mimetypes(nb)


@pytest.mark.slow
def test_policy_classifier_round_trips_through_models_dir(tmp_path, monkeypatch):
    nb, out = _execute("03_policy_classifier.ipynb", tmp_path, monkeypatch)
    assert "identical predictions after loading: True" in _stream_text(nb)
    saved = tmp_path / "models" / "policy_classifier_sample"
    meta = json.loads((saved / "policy_classifier.json").read_text())
    assert meta["format"] == "qa_insights.policy_classifier"
    assert not list(saved.rglob("*.pkl")) and not list(saved.rglob("*.pickle"))
    assert PLOTLY_MIME in _mimetypes(nb)
