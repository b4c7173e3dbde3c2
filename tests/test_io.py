"""Tests of qa_insights._io: atomic writes and spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from qa_insights._io import atomic_write_text, neutralise_formula, write_csv_safe, write_json


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=HYPERLINK(\"http://x\",\"click\")", "'=HYPERLINK(\"http://x\",\"click\")"),
        ("+60123456789", "'+60123456789"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("Agent closed as no-violation", "Agent closed as no-violation"),
        ("", ""),
        (40, 40),
    ],
)
def test_neutralise_formula(cell, expected):
    assert neutralise_formula(cell) == expected


def test_write_csv_safe_neutralises_text_cells_only(tmp_path):
    frame = pd.DataFrame({
        "record_id": ["QA-1", "QA-2"],
        "reviewer_comment": ["=cmd|' /C calc'!A0", "fine"],
        "qa_score": [-5.0, 40.0],
    })
    path = write_csv_safe(tmp_path / "out.csv", frame)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["reviewer_comment"] == "'=cmd|' /C calc'!A0"
    assert rows[1]["reviewer_comment"] == "fine"
    # numbers are not text: a negative score stays a number
    assert rows[0]["qa_score"] == "-5.0"
    # the frame given is not modified
    assert frame.loc[0, "reviewer_comment"].startswith("=")


def test_atomic_write_leaves_no_temp_file_and_replaces(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_atomic_write_failure_keeps_old_content(tmp_path):
    target = tmp_path / "a.json"
    write_json(target, {"n": 1})
    with pytest.raises(TypeError):
        write_json(target, {"n": object()})
    assert json.loads(target.read_text()) == {"n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_write_json_is_stable(tmp_path):
    a = write_json(tmp_path / "a.json", {"b": 1, "a": [1, 2]}).read_bytes()
    b = write_json(tmp_path / "b.json", {"a": [1, 2], "b": 1}).read_bytes()
    assert a == b


def test_outputs_get_the_umask_mode_not_private(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "r.txt", "x")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
