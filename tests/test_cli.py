"""Tests of the qa-insights command line: arguments, outputs and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qa_insights.cli import EXIT_BAD_INPUT, EXIT_OK, main

CSV = (
    "record_id,assessed_at,ticket_text,reviewer_comment,qa_result\n"
    "QA-1,2026-10-03T09:14:00+08:00,someone posts my photos,should have escalated,fail\n"
    "QA-2,2026-10-04T10:00:00Z,scam seller blocked me,handled well,pass\n"
)


def test_run_writes_outputs(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    assert main(["run", str(src), "--out", str(tmp_path / "out"), "--quiet"]) == EXIT_OK
    assert "read 2 rows: 2 used, 0 set aside" in capsys.readouterr().out
    assert (tmp_path / "out" / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.csv"], "missing.csv"),
        (["run", "in.csv", "--config", "bad.yaml"], "bad.yaml"),
        (["run", "in.csv", "--sample"], "either INPUT or --sample"),
        (["run", "in.csv", "--period", "1999-01"], "1999-01"),
    ],
)
def test_bad_input_or_config_exits_2_with_a_message(tmp_path, capsys, monkeypatch, args,
                                                     message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text(CSV)
    (tmp_path / "bad.yaml").write_text("nonsense_key: 1\n")
    assert main([*args, "--out", "out", "--quiet"]) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


def test_log_file_gets_the_log(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(CSV)
    log = tmp_path / "logs" / "run.log"
    assert main(["run", str(src), "--out", str(tmp_path / "out"), "--log-file", str(log)]) == 0
    assert "run finished" in log.read_text()


def test_module_entry_point_runs_the_sample(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "qa_insights", "run", "--sample", "--out", str(tmp_path),
         "--quiet"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "4242 rows: 4200 used, 42 set aside" in proc.stdout
