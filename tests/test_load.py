"""Tests of qa_insights.load: every input format, mapping, periods, quarantine and bad input.

Fixtures are tiny and written to ``tmp_path`` here; every expected value is written by hand.
Loading behaviour is tested with ``redact=False`` (so texts can be compared exactly); the
redaction hand-off has its own tests.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import logging
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from qa_insights.errors import ConfigError, InputError
from qa_insights.load import LoadConfig, LoadResult, load_records
from qa_insights.schema import CANONICAL_COLUMNS, PERIOD

REPO_ROOT = Path(__file__).resolve().parents[1]

HEADER = ["record_id", "assessed_at", "ticket_text", "reviewer_comment", "qa_result", "qa_score",
          "market", "queue", "team_lead"]
ROWS = [
    ["007", "2026-10-03T09:14:00+08:00", "Someone keeps posting my photos, I reported 3 times",
     "Closed as no-violation; should have escalated", "fail", "40", "MY", "safety-reports", "L1"],
    ["QA-2", "2026-11-01T02:00:00+08:00", "", "Correct removal", "PASS", "95.5", "GB",
     "safety-reports", ""],
    ["QA-3", "2026-10-15T12:00:00Z", "Scam account asked for my card", "", " Fail ", "", "",
     "scams", "L2"],
]
# The same three rows, loaded, as written out by hand.
EXPECTED = pd.DataFrame({
    "record_id": pd.array(["007", "QA-2", "QA-3"], dtype="string"),
    "assessed_at": pd.to_datetime(
        ["2026-10-03 01:14:00", "2026-10-31 18:00:00", "2026-10-15 12:00:00"], utc=True,
    ).as_unit("ns"),
    "ticket_text": pd.array(["Someone keeps posting my photos, I reported 3 times", pd.NA,
                             "Scam account asked for my card"], dtype="string"),
    "reviewer_comment": pd.array(["Closed as no-violation; should have escalated",
                                  "Correct removal", pd.NA], dtype="string"),
    "qa_result": pd.array(["fail", "pass", "fail"], dtype="string"),
    "qa_score": [40.0, 95.5, np.nan],
    "market": pd.array(["MY", "GB", pd.NA], dtype="string"),
    "queue": pd.array(["safety-reports", "safety-reports", "scams"], dtype="string"),
    "period": pd.array(["2026-10", "2026-10", "2026-10"], dtype="string"),
})


def load(source, config=None):
    return load_records(source, config, redact=False)


def write_csv(path: Path, header, rows, **kwargs) -> Path:
    with open(path, "w", newline="", encoding=kwargs.pop("encoding", "utf-8")) as fh:
        writer = csv.writer(fh, **kwargs)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, header, rows) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            # JSON has a real null: empty values are written as null here.
            fh.write(json.dumps({k: (v if v != "" else None) for k, v in zip(header, row)}) + "\n")
    return path


def make_source(kind: str, tmp_path: Path, header=HEADER, rows=ROWS):
    if kind == "csv":
        return write_csv(tmp_path / "in.csv", header, rows)
    if kind == "csv.gz":
        plain = write_csv(tmp_path / "plain.csv", header, rows)
        path = tmp_path / "in.csv.gz"
        path.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
        return path
    if kind == "parquet":
        path = tmp_path / "in.parquet"
        pd.DataFrame(rows, columns=header).to_parquet(path, index=False)
        return path
    if kind == "jsonl":
        return write_jsonl(tmp_path / "in.jsonl", header, rows)
    if kind == "dataframe":
        return pd.DataFrame(rows, columns=header)
    raise ValueError(kind)


def check_expected(result: LoadResult, passthrough=("team_lead",)) -> None:
    records = result.records
    assert list(records.columns) == [*CANONICAL_COLUMNS, PERIOD, *passthrough]
    pd.testing.assert_frame_equal(records[list(EXPECTED.columns)], EXPECTED)
    for col in ("policy_area", "language", "channel", "agent_id", "macro_id"):
        assert records[col].isna().all()
        assert records[col].dtype == "string"
    assert result.counts["rows_read"] == 3 and result.counts["rows_used"] == 3
    assert result.counts["rows_set_aside"] == 0 and len(result.quarantine) == 0


# --- formats ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet", "jsonl", "dataframe"])
def test_each_format_gives_the_same_records(kind, tmp_path):
    result = load(make_source(kind, tmp_path))
    check_expected(result)
    # The passthrough column keeps what each format holds: "" in CSV, missing in JSON.
    lead = result.records["team_lead"].tolist()
    assert lead[0] == "L1" and lead[2] == "L2"
    if kind == "jsonl":
        assert pd.isna(lead[1])
    else:
        assert lead[1] == ""
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    reference = load(make_source("csv", reference_dir))
    pd.testing.assert_frame_equal(result.records.drop(columns="team_lead"),
                                  reference.records.drop(columns="team_lead"))


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl", "dataframe"])
def test_default_redaction_leaves_clean_text_alone(kind, tmp_path):
    # The fixture texts hold no personal data, so redaction on (the default) changes nothing.
    result = load_records(make_source(kind, tmp_path))
    check_expected(result)
    assert set(result.counts["redactions"].values()) == {0}


def test_source_and_sha256(tmp_path):
    path = make_source("csv", tmp_path)
    result = load(path)
    assert result.source == str(path)
    assert result.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    frame_result = load(pd.DataFrame(ROWS, columns=HEADER))
    assert frame_result.source == "<DataFrame>"
    assert len(frame_result.source_sha256) == 64
    # Same frame -> same hash; one changed cell -> another hash.
    assert load(pd.DataFrame(ROWS, columns=HEADER)).source_sha256 == frame_result.source_sha256
    changed = pd.DataFrame(ROWS, columns=HEADER)
    changed.loc[0, "qa_score"] = "41"
    assert load(changed).source_sha256 != frame_result.source_sha256


def test_explicit_format_overrides_extension(tmp_path):
    plain = write_csv(tmp_path / "export.txt", HEADER, ROWS)
    check_expected(load(plain, LoadConfig(format="csv")))
    with pytest.raises(InputError, match="unknown file extension"):
        load(plain)


def test_ndjson_extension_and_semicolon_delimiter(tmp_path):
    path = write_jsonl(tmp_path / "in.ndjson", HEADER, ROWS)
    check_expected(load(path))
    semi = write_csv(tmp_path / "semi.csv", HEADER, ROWS, delimiter=";")
    check_expected(load(semi, LoadConfig(csv_delimiter=";")))


def test_dataframe_with_datetime_and_numeric_columns():
    frame = pd.DataFrame({
        "record_id": ["a", "b"],
        "assessed_at": pd.to_datetime(["2026-10-03T09:14:00+08:00", "2026-12-31T23:30:00-02:00"],
                                      utc=True),
        "reviewer_comment": ["x", "y"],
        "qa_score": [40, 100],
    })
    records = load(frame).records
    assert records["assessed_at"].tolist() == [pd.Timestamp("2026-10-03T01:14:00Z"),
                                                pd.Timestamp("2027-01-01T01:30:00Z")]
    assert records["qa_score"].tolist() == [40.0, 100.0]
    assert records["period"].tolist() == ["2026-10", "2027-01"]


def test_ids_like_007_stay_strings(tmp_path):
    rows = [["007", "2026-10-01T00:00:00Z", "a", "", "", "", "", "", ""],
            ["0012", "2026-10-01T00:00:00Z", "b", "", "", "", "", "", ""],
            ["1e3", "2026-10-01T00:00:00Z", "c", "", "", "", "", "", ""]]
    for kind in ("csv", "jsonl"):
        result = load(make_source(kind, tmp_path, rows=rows))
        assert result.records["record_id"].tolist() == ["007", "0012", "1e3"]


# --- column mapping ---------------------------------------------------------------------------

EXPORT_HEADER = ["Assessment ID", "Evaluated On", "Ticket Summary", "QA Notes", "Outcome", "Score",
                 "Country", "Queue Name", "team_lead"]


def test_column_map_via_config(tmp_path):
    path = write_csv(tmp_path / "export.csv", EXPORT_HEADER, ROWS)
    config = LoadConfig(column_map={
        "Assessment ID": "record_id", "Evaluated On": "assessed_at",
        "Ticket Summary": "ticket_text", "QA Notes": "reviewer_comment", "Outcome": "qa_result",
        "Score": "qa_score", "Country": "market", "Queue Name": "queue",
    })
    check_expected(load(path, config))


def test_column_map_via_yaml(tmp_path):
    path = write_csv(tmp_path / "export.csv", EXPORT_HEADER, ROWS)
    yaml_path = tmp_path / "cols.yaml"
    yaml_path.write_text(
        "column_map:\n"
        "  Assessment ID: record_id\n  Evaluated On: assessed_at\n"
        "  Ticket Summary: ticket_text\n  QA Notes: reviewer_comment\n"
        "  Outcome: qa_result\n  Score: qa_score\n  Country: market\n  Queue Name: queue\n"
        "period: quarter\n",
        encoding="utf-8",
    )
    config = LoadConfig.from_yaml(yaml_path)
    assert config.period == "quarter"
    result = load(path, config)
    assert result.records["period"].tolist() == ["2026-Q4"] * 3
    assert result.records["record_id"].tolist() == ["007", "QA-2", "QA-3"]


def test_yaml_under_load_section(tmp_path):
    yaml_path = tmp_path / "pipeline.yaml"
    yaml_path.write_text("load:\n  period: week\n  column_map: {id: record_id}\n")
    config = LoadConfig.from_yaml(yaml_path)
    assert config.period == "week" and config.column_map == {"id": "record_id"}


def test_shipped_example_config_maps_an_export(tmp_path):
    config = LoadConfig.from_yaml(REPO_ROOT / "configs" / "columns.yaml")
    path = write_csv(tmp_path / "export.csv", [*EXPORT_HEADER, "Shift"],
                     [[*row, " night "] for row in ROWS])
    result = load(path, config)
    check_expected(result, passthrough=("team_lead", "Shift"))
    assert result.records["Shift"].tolist() == ["night"] * 3
    assert "Shift" in result.categorical_columns
    # The example lists columns this export does not have: each is a file-level problem.
    missing = result.problems[result.problems["row"].isna()]
    assert set(missing["column"]) == {"Agent", "Reviewer", "Macro Used", "Tenure Band"}
    assert set(missing["action"]) == {"ignored"}


def test_column_map_target_must_be_canonical():
    with pytest.raises(ValidationError, match="not canonical"):
        LoadConfig(column_map={"id": "recordid"})
    with pytest.raises(ValidationError, match="several source columns"):
        LoadConfig(column_map={"id": "record_id", "ID": "record_id"})


def test_column_map_onto_existing_column_is_an_error(tmp_path):
    path = write_csv(tmp_path / "in.csv", [*HEADER, "id"], [[*r, "x"] for r in ROWS])
    with pytest.raises(InputError, match="already has a 'record_id' column") as info:
        load(path, LoadConfig(column_map={"id": "record_id"}))
    assert "in.csv" in str(info.value)


@pytest.mark.parametrize("text, expected", [
    ("period: daily\n", "period"),
    ("perod: month\n", "perod"),
    ("column_map:\n  id: recordid\n", "column_map"),
    ("encoding: no-such-codec\n", "encoding"),
    ("max_text_chars: 0\n", "max_text_chars"),
])
def test_yaml_config_errors_name_file_and_field(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        LoadConfig.from_yaml(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_yaml_syntax_error_and_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("column_map:\n  a: record_id\n b: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML at line 3"):
        LoadConfig.from_yaml(path)
    with pytest.raises(ConfigError, match="nope.yaml"):
        LoadConfig.from_yaml(tmp_path / "nope.yaml")
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        LoadConfig.from_yaml(path)


# --- periods ----------------------------------------------------------------------------------

@pytest.mark.parametrize("period, expected", [
    ("month", ["2026-10", "2026-10", "2027-01", "2027-01"]),
    ("week", ["2026-W40", "2026-W44", "2026-W53", "2026-W53"]),
    ("quarter", ["2026-Q4", "2026-Q4", "2027-Q1", "2027-Q1"]),
])
def test_periods(period, expected):
    frame = pd.DataFrame({
        "record_id": ["a", "b", "c", "d"],
        # b: local date is in November, the UTC date in October; c/d: new year in UTC only for
        # d, while 2027-01-01 is still in ISO week 53 of 2026.
        "assessed_at": ["2026-10-03T09:14:00+08:00", "2026-11-01T02:00:00+08:00",
                        "2027-01-01T00:30:00Z", "2026-12-31T23:30:00-02:00"],
        "ticket_text": ["t1", "t2", "t3", "t4"],
    })
    result = load(frame, LoadConfig(period=period))
    assert result.records["period"].tolist() == expected
    # An unparseable stamp in the same input must not disturb the others' labels.
    frame.loc[4] = ["e", "not a date", "t5"]
    assert load(frame, LoadConfig(period=period)).records["period"].tolist() == expected


# --- quarantine -------------------------------------------------------------------------------

def test_every_quarantine_reason_and_counts_reconcile(tmp_path):
    header = ["record_id", "assessed_at", "ticket_text", "reviewer_comment", "qa_result",
              "qa_score", "market"]
    rows = [
        ["A1", "2026-10-01T10:00:00Z", "ok text", "", "pass", "80", "MY"],      # 1 used
        ["", "2026-10-01T10:00:00Z", "no id", "", "pass", "80", "MY"],         # 2 missing id
        ["A3", "", "no date", "", "pass", "80", "MY"],                         # 3 missing date
        ["A4", "last tuesday", "bad date", "", "pass", "80", "MY"],            # 4 unparseable
        ["A5", "2026-10-01T10:00:00Z", "  ", "\n", "pass", "80", "MY"],        # 5 no text
        ["A6", "2026-10-01T10:00:00Z", "text", "", "passed", "80", "MY"],      # 6 bad result
        ["A7", "2026-10-01T10:00:00Z", "text", "", "fail", "abc", "MY"],       # 7 bad score
        ["A8", "2026-10-01T10:00:00Z", "text", "", "fail", "100.5", "MY"],     # 8 score > 100
        ["A1", "2026-10-02T10:00:00Z", "again", "", "fail", "-1", "MY"],       # 9 dup + score
        ["A10", "2026-10-02T10:00:00Z", "", "fine", "FAIL", "0", ""],          # 10 used
    ]
    result = load(write_csv(tmp_path / "q.csv", header, rows))
    assert result.records["record_id"].tolist() == ["A1", "A10"]
    assert result.records["period"].tolist() == ["2026-10", "2026-10"]
    q = result.quarantine
    assert q["row"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9]
    assert q["reason"].tolist() == [
        "missing record_id",
        "missing assessed_at",
        "unparseable assessed_at (expected ISO 8601)",
        "neither ticket_text nor reviewer_comment has text",
        "invalid qa_result (expected pass or fail)",
        "invalid qa_score (expected a number from 0 to 100)",
        "invalid qa_score (expected a number from 0 to 100)",
        "duplicate record_id (first at row 1); "
        "invalid qa_score (expected a number from 0 to 100)",
    ]
    # The quarantine keeps the original values, so the reader can see what was wrong.
    assert q["qa_result"].tolist()[4] == "passed"
    assert q["qa_score"].tolist()[5] == "abc"
    assert q["assessed_at"].tolist()[2] == "last tuesday"
    assert list(q.columns) == ["row", *CANONICAL_COLUMNS, "reason"]
    c = result.counts
    assert (c["rows_read"], c["rows_used"], c["rows_set_aside"]) == (10, 2, 8)
    assert c["rows_read"] == c["rows_used"] + c["rows_set_aside"]
    assert {k: c[k] for k in ("missing_record_id", "duplicate_record_id", "missing_assessed_at",
                              "unparseable_assessed_at", "no_text", "invalid_qa_result",
                              "invalid_qa_score")} == {
        "missing_record_id": 1, "duplicate_record_id": 1, "missing_assessed_at": 1,
        "unparseable_assessed_at": 1, "no_text": 1, "invalid_qa_result": 1,
        "invalid_qa_score": 3,
    }
    p = result.problems
    assert list(p.columns) == ["row", "record_id", "column", "reason", "action"]
    assert len(p) == 9 and set(p["action"]) == {"set_aside"}
    assert p["row"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 9]
    assert p.loc[p["row"] == 9, "column"].tolist() == ["record_id", "qa_score"]
    assert p.loc[p["row"] == 7, "record_id"].tolist() == ["A7"]


def test_duplicate_ids_keep_the_first(tmp_path):
    rows = [["X", "2026-10-01T00:00:00Z", "first", "", "", "", "", "", ""],
            ["Y", "2026-10-01T00:00:00Z", "other", "", "", "", "", "", ""],
            [" X ", "2026-10-02T00:00:00Z", "second", "", "", "", "", "", ""],
            ["X", "2026-10-03T00:00:00Z", "third", "", "", "", "", "", ""]]
    result = load(make_source("csv", tmp_path, rows=rows))
    assert result.records["ticket_text"].tolist() == ["first", "other"]
    assert result.quarantine["reason"].tolist() == ["duplicate record_id (first at row 1)"] * 2
    assert result.quarantine["row"].tolist() == [3, 4]
    assert result.counts["duplicate_record_id"] == 2


# --- unreadable sources -----------------------------------------------------------------------

def test_nonexistent_file(tmp_path):
    with pytest.raises(InputError, match="missing.csv: file not found"):
        load(tmp_path / "missing.csv")


def test_unknown_extension(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"data\.xlsx: unknown file extension.*format"):
        load(path)


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet", "empty.jsonl", "empty.csv.gz"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(InputError, match=rf"{name.replace('.', '[.]')}: the file is empty"):
        load(path)


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "latin.csv"
    content = ("record_id,assessed_at,ticket_text\n"
               "A1,2026-10-01T00:00:00Z,caf\u00e9 ok\n").encode("cp1252")
    path.write_bytes(content)
    offset = content.index(b"\xe9")
    with pytest.raises(InputError) as info:
        load(path)
    message = str(info.value)
    assert "latin.csv" in message and "0xe9" in message
    assert f"byte offset {offset}" in message and "(line 2)" in message
    assert "`encoding`" in message
    records = load(path, LoadConfig(encoding="cp1252")).records
    assert records["ticket_text"].tolist() == ["caf\u00e9 ok"]


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all, just some bytes")
    with pytest.raises(InputError, match=r"broken\.parquet: not a readable Parquet file"):
        load(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(InputError, match=r"broken\.csv\.gz: not a valid gzip file"):
        load(path)


def test_invalid_json_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"record_id": "a", "assessed_at": "2026-10-01", "ticket_text": "x"}\n'
                    '{"record_id": "b", "assessed_at": "2026-10-01", "ticket_text": "y"}\n'
                    '{"record_id": "c", "assessed_at": \n')
    with pytest.raises(InputError, match=r"bad\.jsonl: invalid JSON on line 3"):
        load(path)
    path.write_text('{"record_id": "a", "assessed_at": "2026-10-01", "ticket_text": "x"}\n[1, 2]\n')
    with pytest.raises(InputError, match=r"bad\.jsonl: line 2 is a JSON list, not an object"):
        load(path)


def test_missing_required_column(tmp_path):
    path = write_csv(tmp_path / "noid.csv", ["id", "assessed_at", "ticket_text"],
                     [["1", "2026-10-01T00:00:00Z", "x"]])
    with pytest.raises(InputError) as info:
        load(path)
    message = str(info.value)
    assert "noid.csv" in message and "record_id" in message
    assert "'id', 'assessed_at', 'ticket_text'" in message and "column_map" in message


def test_neither_text_column(tmp_path):
    path = write_csv(tmp_path / "notext.csv", ["record_id", "assessed_at", "body"],
                     [["1", "2026-10-01T00:00:00Z", "x"]])
    with pytest.raises(InputError) as info:
        load(path)
    message = str(info.value)
    assert "notext.csv" in message and "neither text column" in message
    assert "'body'" in message and "column_map" in message


def test_source_of_wrong_type():
    with pytest.raises(InputError, match="not list"):
        load([{"record_id": "a"}])


def test_csv_row_longer_than_header_and_duplicate_header(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("record_id,assessed_at,ticket_text\n"
                    "A1,2026-10-01T00:00:00Z,x\n"
                    "A2,2026-10-01T00:00:00Z,x,extra,fields\n")
    with pytest.raises(InputError, match=r"ragged\.csv: malformed CSV.*line 3, saw 5"):
        load(path)
    path.write_text("record_id,assessed_at,ticket_text,record_id\nA,2026-10-01T00:00:00Z,x,B\n")
    with pytest.raises(InputError, match=r"ragged\.csv: duplicate column names.*'record_id'"):
        load(path)


def test_blank_csv_without_header(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    with pytest.raises(InputError, match=r"blank\.csv: the file has no header row"):
        load(path)


# --- malformed but readable input -------------------------------------------------------------

def test_header_only_csv(tmp_path, caplog):
    path = tmp_path / "header.csv"
    path.write_text(",".join(HEADER) + "\n")
    with caplog.at_level(logging.WARNING, logger="qa_insights.load"):
        result = load(path)
    assert len(result.records) == 0
    assert list(result.records.columns) == [*CANONICAL_COLUMNS, PERIOD, "team_lead"]
    assert str(result.records["assessed_at"].dtype) == "datetime64[ns, UTC]"
    assert result.counts["rows_read"] == 0 and result.counts["rows_set_aside"] == 0
    assert any("header only" in r.getMessage() for r in caplog.records)
    assert len(result.summary()) == 0


def test_one_megabyte_comment_is_truncated(tmp_path):
    long_comment = ("agent missed the escalation " * 40000)[:1_000_000]
    rows = [["A1", "2026-10-01T00:00:00Z", "short", long_comment, "fail", "10", "", "", ""],
            ["A2", "2026-10-01T00:00:00Z", "next row", "", "pass", "90", "", "", ""]]
    result = load(write_csv(tmp_path / "long.csv", HEADER, rows))
    comments = result.records["reviewer_comment"]
    assert len(comments[0]) == 20000 and comments[0] == long_comment[:20000]
    assert result.records["ticket_text"].tolist() == ["short", "next row"]
    problems = result.problems
    assert problems[["row", "record_id", "column", "action"]].values.tolist() == [
        [1, "A1", "reviewer_comment", "truncated"]]
    assert result.counts["truncated_texts"] == 1 and result.counts["rows_used"] == 2
    small = load(tmp_path / "long.csv", LoadConfig(max_text_chars=5))
    assert small.records["ticket_text"].tolist() == ["short", "next "]


def test_embedded_newlines_quotes_and_bom(tmp_path):
    path = tmp_path / "quoted.csv"
    text = ('record_id,assessed_at,ticket_text,reviewer_comment\r\n'
            'A1,2026-10-01T00:00:00Z,"line one\nline two, with comma","he said ""no"" twice"\r\n'
            'A2,2026-10-01T00:00:00Z,"""quoted""",plain\r\n')
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = load(path)
    assert result.records["record_id"].tolist() == ["A1", "A2"]
    assert result.records["ticket_text"].tolist() == ["line one\nline two, with comma",
                                                       '"quoted"']
    assert result.records["reviewer_comment"].tolist() == ['he said "no" twice', "plain"]
    assert result.counts["rows_read"] == 2


def test_mixed_timezones_and_naive_timestamps(tmp_path):
    stamps = ["2026-10-03T09:14:00+08:00", "2026-10-03T01:14:00Z", "2026-10-02T20:14:00-05:00",
              "2026-10-03 03:14:00+0200", "2026-10-03T01:14:00", "2026-10-03T01:14:00.5+00:00"]
    rows = [[f"T{i}", s, "x", "", "", "", "", "", ""] for i, s in enumerate(stamps)]
    result = load(make_source("csv", tmp_path, rows=rows))
    expected = [pd.Timestamp("2026-10-03T01:14:00Z")] * 5 + [pd.Timestamp("2026-10-03T01:14:00.5Z")]
    assert result.records["assessed_at"].tolist() == expected
    assert result.counts["naive_assessed_at"] == 1
    naive = result.problems[result.problems["action"] == "kept"]
    assert naive[["row", "record_id", "column"]].values.tolist() == [[5, "T4", "assessed_at"]]


def test_html_and_script_kept_as_data_and_escaped_in_html(tmp_path):
    payload = '<script>alert("x")</script><b>bold</b> & more'
    rows = [["A<1>", "2026-10-01T00:00:00Z", payload, "", "fail", "", "<i>MY</i>", "", ""]]
    result = load(make_source("csv", tmp_path, rows=rows))
    assert result.records["ticket_text"].tolist() == [payload]
    page = result._repr_html_()
    assert "<script>" not in page and "<b>bold" not in page and "<i>MY" not in page
    assert "&lt;script&gt;" in page and "A&lt;1&gt;" in page


def test_problems_never_carry_text(tmp_path):
    secret = "call me on +60 12-345 6789"
    rows = [["A1", secret, secret, "", secret, secret, "", "", ""],
            ["A1", "2026-10-01T00:00:00Z", secret * 2000, "", "", "", "", "", ""]]
    result = load(make_source("csv", tmp_path, rows=rows))
    assert len(result.problems) == 5
    for col in result.problems.columns:
        assert not result.problems[col].astype(str).str.contains("345 6789").any()


def test_passthrough_columns_and_extra_categoricals(tmp_path):
    header = ["notes_json", "record_id", "assessed_at", "ticket_text", "tenure", "shift"]
    rows = [['{"a": 1}', "A1", "2026-10-01T00:00:00Z", "x", " 0-3m ", "night"],
            ["", "A2", "2026-10-01T00:00:00Z", "y", "", "day"]]
    config = LoadConfig(extra_categoricals=["tenure", "region"])
    result = load(write_csv(tmp_path / "extra.csv", header, rows), config)
    records = result.records
    assert list(records.columns) == [*CANONICAL_COLUMNS, PERIOD, "notes_json", "tenure", "shift"]
    assert records["notes_json"].tolist() == ['{"a": 1}', ""]   # passed through unchanged
    assert records["shift"].tolist() == ["night", "day"]
    assert records["tenure"].tolist()[0] == "0-3m" and pd.isna(records["tenure"].tolist()[1])
    assert "tenure" in result.categorical_columns and "region" not in result.categorical_columns
    assert result.problems[["column", "reason", "action"]].values.tolist() == [
        ["region", "extra categorical column not found", "ignored"]]
    assert "tenure" in result.quarantine.columns


# --- summary, logging, redaction --------------------------------------------------------------

def test_summary_per_period():
    frame = pd.DataFrame({
        "record_id": ["a", "b", "c", "d", "e"],
        "assessed_at": ["2026-10-01T00:00Z", "2026-10-02T00:00Z", "2026-10-03T00:00Z",
                        "2026-10-04T00:00Z", "2026-11-01T00:00Z"],
        "ticket_text": ["t", "t", "", "t", ""],
        "reviewer_comment": ["", "c", "c", "c", "c"],
        "qa_result": ["fail", "pass", "fail", "", "pass"],
        "market": ["MY", "MY", "GB", "", "ID"],
    })
    summary = load(frame).summary()
    assert summary["period"].tolist() == ["2026-10", "2026-11"]
    assert summary["records"].tolist() == [4, 1]
    assert summary["fail_rate"].tolist() == pytest.approx([2 / 3, 0.0])
    assert summary["share_ticket_text"].tolist() == pytest.approx([0.75, 0.0])
    assert summary["share_reviewer_comment"].tolist() == pytest.approx([0.75, 1.0])
    assert summary["markets"].tolist() == [2, 1]


def test_info_log_has_counts_but_no_text(tmp_path, caplog):
    rows = [["A1", "2026-10-01T00:00:00Z", "UNIQUE-TICKET-WORDS", "", "", "", "", "", ""],
            ["A2", "bad", "OTHER-SECRET-WORDS", "", "", "", "", "", ""]]
    with caplog.at_level(logging.INFO, logger="qa_insights.load"):
        load(make_source("csv", tmp_path, rows=rows))
    messages = [r.getMessage() for r in caplog.records if r.name == "qa_insights.load"]
    assert any("2 rows read, 1 used, 1 set aside" in m for m in messages)
    assert not any("SECRET" in m or "UNIQUE" in m for m in messages)


def test_redaction_is_applied_to_records_and_quarantine(tmp_path, monkeypatch):
    calls = []

    def fake_clean_records(frame, config=None):
        calls.append(list(frame["record_id"]))
        out = frame.copy()
        out["ticket_text"] = out["ticket_text"].str.replace("a@b.com", "[EMAIL]", regex=False)
        return out, {"email": int(frame["ticket_text"].str.contains("a@b.com").sum())}

    fake = types.ModuleType("qa_insights.clean")
    fake.clean_records = fake_clean_records
    monkeypatch.setitem(sys.modules, "qa_insights.clean", fake)
    rows = [["A1", "2026-10-01T00:00:00Z", "mail a@b.com", "", "", "", "", "", ""],
            ["A2", "never", "also a@b.com", "", "", "", "", "", ""]]
    result = load_records(make_source("csv", tmp_path, rows=rows))
    assert calls == [["A1"], ["A2"]]
    assert result.records["ticket_text"].tolist() == ["mail [EMAIL]"]
    assert result.quarantine["ticket_text"].tolist() == ["also [EMAIL]"]
    assert result.counts["redactions"] == {"email": 2}
    assert load(make_source("csv", tmp_path, rows=rows)).counts["redactions"] == {}


def test_real_redaction_end_to_end(tmp_path):
    pytest.importorskip("qa_insights.clean", reason="qa_insights.clean is not written yet")
    rows = [["A1", "2026-10-01T00:00:00Z", "write to jane.doe@example.com please",
             "", "fail", "", "", "", ""],
            ["A2", "not a date", "call +44 7700 900123 or jane.doe@example.com", "", "", "", "",
             "", ""]]
    result = load_records(make_source("csv", tmp_path, rows=rows))
    assert "jane.doe@example.com" not in result.records["ticket_text"].iloc[0]
    assert "jane.doe@example.com" not in result.quarantine["ticket_text"].iloc[0]
    assert result.counts["redactions"]["EMAIL"] == 2   # one in records, one in quarantine
    assert result.counts["rows_used"] == 1 and result.counts["rows_set_aside"] == 1
    assert not result.problems.astype(str).apply(lambda c: c.str.contains("@")).any().any()
    # Header only: nothing to redact, but the counts still list every kind (as zeros).
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(HEADER) + "\n")
    empty = load_records(header_only)
    assert empty.counts["redactions"] and set(empty.counts["redactions"].values()) == {0}
