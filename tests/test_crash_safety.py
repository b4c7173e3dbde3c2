"""Crash safety of the monthly job (issue 8), through the real CLI in a subprocess.

A run killed (SIGKILL) half-way and started again must end with the same output bytes as one
uninterrupted run and re-use the embedding cache; re-running a finished month must change no
output and add no flag; a kill never leaves a half-written output behind. The only files a kill
may leave are the writer's temporary files, which start with "." (``.NAME.XXXX.tmp``, see
``qa_insights._io``) so that tools globbing the output names never see them.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import qa_insights
from qa_insights.datasets import generate_assessments
from qa_insights.pipeline import OUTPUT_FILES, STATE_FILE

pytestmark = pytest.mark.slow

_PERIODS = ["2026-08", "2026-09", "2026-10"]
#: every output but the manifest, whose timings differ from run to run
_COMPARED = sorted(name for key, name in OUTPUT_FILES.items() if key != "manifest")
_TIMEOUT_S = 900


def _env() -> dict[str, str]:
    # the subprocess must import the same qa_insights as this test process
    src = str(Path(qa_insights.__file__).resolve().parents[1])
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _command(source: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "qa_insights", "run", str(source), "--out", str(out), "--quiet"]


def _run_to_end(source: Path, out: Path) -> None:
    proc = subprocess.run(_command(source, out), env=_env(), capture_output=True, text=True,
                          timeout=_TIMEOUT_S, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _query(db: Path, sql: str) -> int:
    """One integer from the state database, read-only; 0 while the table does not exist yet."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # table not created yet, or the writer holds a lock
        return 0


def _wait_then_kill(proc: subprocess.Popen, ready, what: str) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds; fail if the run ends first."""
    deadline = time.monotonic() + _TIMEOUT_S
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}: "
                        f"{proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before it could be killed {what}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in _COMPARED}


def _manifest_without_timings(out: Path) -> dict:
    manifest = json.loads((out / OUTPUT_FILES["manifest"]).read_text())
    manifest.pop("timings_s")
    return manifest


def _visible_temp_files(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir()
                  if ".tmp" in p.name and not p.name.startswith("."))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("input") / "assessments.csv"
    data = generate_assessments(periods=_PERIODS, records_per_period=200, seed=11)
    data.records.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def clean(tmp_path_factory, source) -> dict:
    """One uninterrupted run from an empty state: the reference outputs."""
    out = tmp_path_factory.mktemp("clean")
    _run_to_end(source, out)
    db = out / STATE_FILE
    return {"out": out, "files": _snapshot(out), "manifest": _manifest_without_timings(out),
            "cache_rows": _query(db, "SELECT COUNT(*) FROM embed_cache")}


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, source, clean) -> dict:
    """A run SIGKILLed in the themes stage of a later period, then started again to the end."""
    out = tmp_path_factory.mktemp("resumed")
    db = out / STATE_FILE
    proc = subprocess.Popen(_command(source, out), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        # theme_periods gets a period's rows when its themes are registered: from then on the
        # run is fitting the next period's themes
        _wait_then_kill(proc, lambda: _query(
            db, "SELECT COUNT(DISTINCT period) FROM theme_periods") >= 1,
            "the first period's themes were stored")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    after_kill = {
        "listing": sorted(p.name for p in out.iterdir()),
        "theme_periods": _query(db, "SELECT COUNT(DISTINCT period) FROM theme_periods"),
        "cache_rows": _query(db, "SELECT COUNT(*) FROM embed_cache"),
        "visible_temp": _visible_temp_files(out),
    }
    _run_to_end(source, out)
    return {"out": out, "after_kill": after_kill,
            "cache_rows": _query(db, "SELECT COUNT(*) FROM embed_cache")}


def test_kill_landed_half_way(resumed):
    after = resumed["after_kill"]
    assert 1 <= after["theme_periods"] < len(_PERIODS)
    # killed before the write stage: no output exists yet
    assert not set(after["listing"]) & set(OUTPUT_FILES.values()), after["listing"]


def test_killed_run_leaves_no_visible_partial_file(resumed):
    assert resumed["after_kill"]["visible_temp"] == []


def test_resumed_run_gives_the_uninterrupted_outputs_byte_for_byte(clean, resumed):
    files = _snapshot(resumed["out"])
    differ = [name for name in _COMPARED if files[name] != clean["files"][name]]
    assert differ == []
    manifest = _manifest_without_timings(resumed["out"])
    manifest["outputs"] = sorted(manifest["outputs"])
    assert manifest == {**clean["manifest"], "outputs": sorted(clean["manifest"]["outputs"])}


def test_resumed_run_reuses_the_embedding_cache(clean, resumed):
    before_restart = resumed["after_kill"]["cache_rows"]
    assert before_restart > 0
    # the resumed run ends with the texts one cold run caches ...
    assert resumed["cache_rows"] == clean["cache_rows"]
    # ... but only encoded what the killed run had not reached (the root-cause categorizer's
    # prototypes, encoded after the themes stage), not the records' texts again
    encoded_on_resume = resumed["cache_rows"] - before_restart
    assert encoded_on_resume <= 0.1 * clean["cache_rows"], (encoded_on_resume, clean["cache_rows"])


def test_rerunning_finished_months_changes_nothing_and_adds_no_flag(source, clean):
    out, db = clean["out"], clean["out"] / STATE_FILE
    flags_before = _query(db, "SELECT COUNT(*) FROM qa_flags")
    ids_before = _query(db, "SELECT COUNT(DISTINCT flag_id) FROM qa_flags")
    assert flags_before > 0
    _run_to_end(source, out)
    assert _snapshot(out) == clean["files"]
    assert _query(db, "SELECT COUNT(*) FROM qa_flags") == flags_before
    assert _query(db, "SELECT COUNT(DISTINCT flag_id) FROM qa_flags") == ids_before
    flags = [json.loads(line) for line in (out / "flags.jsonl").read_text().splitlines()]
    assert len(flags) == flags_before
    assert len({f["flag_id"] for f in flags}) == len(flags)
    assert _visible_temp_files(out) == []


def test_kill_while_writing_leaves_only_whole_outputs(source, clean, resumed):
    """Kill a warm re-run right after it replaced its first output: every output file present
    is then either the previous run's or the new one's, both equal to the reference bytes."""
    out = resumed["out"]
    first = out / OUTPUT_FILES["assignments"]
    inode = first.stat().st_ino
    proc = subprocess.Popen(_command(source, out), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        # atomic replacement gives the file a new inode
        _wait_then_kill(proc, lambda: first.exists() and first.stat().st_ino != inode,
                        "the first output was replaced")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _visible_temp_files(out) == []
    assert _snapshot(out) == clean["files"]
    for name in ("assignments.parquet", "themes.parquet", "root_causes.parquet",
                 "flags.parquet"):
        pd.read_parquet(io.BytesIO((out / name).read_bytes()))
    assert (out / "report.html").read_text().rstrip().endswith("</html>")
