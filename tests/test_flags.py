"""Tests of the flags for other QA tools (qa_insights.flags)."""

from __future__ import annotations

import csv
import hashlib
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from qa_insights.errors import ConfigError, InputError
from qa_insights.flags import (FLAG_COLUMNS, FlagConfig, RoutingTable, build_flags, flag_schema,
                               flag_severity, read_flags_sql, validate_flags, write_flags,
                               write_flags_sql)
from qa_insights.outputs import RunTables

ALL = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
LABEL = "=HYPERLINK(\"http://x\")"  # a theme label that a spreadsheet would run
# per period: (records of TH-0002, its status, failed scams records outside it)
SCENARIO = {"2026-07": (0, None), "2026-08": (30, "emerging"), "2026-09": (45, "growing"),
            "2026-10": (2, "stable"), "2026-11": (1, "stable")}


def make_tables(period: str, th2_weak: bool = False) -> RunTables:
    """History up to ``period``: stable TH-0001 (bullying, GB) and TH-0002 (scams, ID)."""
    periods = ALL[: ALL.index(period) + 1]
    rows, themes, causes = [], [], []
    for p in periods:
        n2, status = SCENARIO[p]
        n1, n_out = 60, 140 - n2
        for k in range(n1 + n2 + n_out):
            theme = "TH-0001" if k < n1 else "TH-0002" if k < n1 + n2 else None
            rows.append({"record_id": f"R-{p}-{k:03d}", "period": p, "theme_id": theme,
                         "theme_label": None, "is_outlier": theme is None,
                         "policy_area": {"TH-0001": "bullying_harassment",
                                         "TH-0002": "scams_fraud"}.get(theme, "other"),
                         "policy_confidence": 0.9,
                         "qa_result": "fail" if theme or k % 4 == 0 else "pass",
                         "market": "ID" if theme == "TH-0002" else "GB",
                         "queue": "scams" if theme == "TH-0002" else "safety-reports",
                         "reviewer_comment": "x"})
        common = {"keywords": [], "fail_rate": 1.0, "p_value": 0.5, "q_value": 0.5,
                  "rr_ci_low": 0.5, "rr_ci_high": 2.0, "representative_comments": [],
                  "root_cause_category": "process", "root_cause_category_confidence": 0.5,
                  "impact_fail_rate": 0.01}
        themes.append({**common, "theme_id": "TH-0001", "period": p, "label": "insults",
                       "count": n1, "share": 0.3, "status": "stable", "signal": "none",
                       "weak_signal": False, "rate_ratio": 1.0, "baseline_share": 0.3,
                       "score": 0.5, "policy_area": "bullying_harassment"})
        if n2:
            strong = status in ("new", "emerging", "growing")
            themes.append({**common, "theme_id": "TH-0002", "period": p, "label": LABEL,
                           "count": n2, "share": n2 / 200, "status": status,
                           "signal": "strong" if strong else "weak" if th2_weak else "none",
                           "weak_signal": th2_weak, "rate_ratio": 12.0 if strong else 1.2,
                           "baseline_share": 0.01, "score": n2 - 2.0,
                           "policy_area": "scams_fraud"})
            causes.append({"theme_id": "TH-0002", "period": p, "rank": 1,
                           "attributes": json.dumps({"market": "ID", "macro_id": "MAC-SC-07"}),
                           "n_dims": 2, "support": n2 - 1, "theme_count": n2, "rate_in": 0.9,
                           "rate_out": 0.01, "risk_ratio": 9.0, "rr_ci_low": 4.0,
                           "rr_ci_high": float("inf"), "explanatory_power": 0.95,
                           "surprise": 2.0, "p_value": 1e-6, "q_value": 1e-5, "score": 7.0,
                           "evidence_record_ids": [f"R-{p}-{k:03d}" for k in range(60, 60 + n2)],
                           "example_comments": ["x"]})
    assignments = pd.DataFrame(rows)
    summary = pd.DataFrame({"period": periods, "records": 200, "fail_rate": 0.5,
                            "share_ticket_text": 1.0, "share_reviewer_comment": 1.0,
                            "markets": 2})
    rc_columns = ["theme_id", "period", "rank", "attributes", "n_dims", "support", "theme_count",
                  "rate_in", "rate_out", "risk_ratio", "rr_ci_low", "rr_ci_high",
                  "explanatory_power", "surprise", "p_value", "q_value", "score",
                  "evidence_record_ids", "example_comments"]
    phrases = pd.DataFrame(columns=["theme_id", "period", "phrase", "count_in_theme",
                                    "count_other", "log_odds"])
    return RunTables(period=period, periods=periods, summary=summary, assignments=assignments,
                     themes=pd.DataFrame(themes), root_causes=pd.DataFrame(causes,
                                                                           columns=rc_columns),
                     phrases=phrases)


def _by_kind(flags: pd.DataFrame) -> dict[str, dict]:
    return {r["kind"]: r for r in flags.to_dict("records")}


def test_flags_of_an_emerging_theme():
    flags = build_flags(make_tables("2026-08"))
    kinds = _by_kind(flags)
    assert set(kinds) == {"emerging_theme", "root_cause", "policy_spike"}
    emerging = kinds["emerging_theme"]
    assert emerging["theme_id"] == "TH-0002" and emerging["status"] == "new"
    assert emerging["summary"].startswith("Emerging theme '=HYPERLINK")
    assert "30 records in 2026-08, 15.0% of assessments vs 1.0% before" in emerging["summary"]
    assert "top cause market = ID, macro = MAC-SC-07 (RR 9.0)" in emerging["summary"]
    assert emerging["root_causes"][0]["attributes"] == {"market": "ID", "macro_id": "MAC-SC-07"}
    assert emerging["root_causes"][0]["rr_ci_high"] is None  # infinite -> null in JSON
    assert emerging["evidence_record_ids"][:2] == ["R-2026-08-060", "R-2026-08-061"]
    assert len(emerging["evidence_record_ids"]) == 20  # capped
    # scams_fraud is medium severity; a rate ratio of 12 raises it one step
    assert emerging["severity"] == "high"
    assert emerging["route_to"] == ["integrity-policy", "apac-support-leads"]
    spike = kinds["policy_spike"]
    assert spike["policy_area"] == "scams_fraud" and pd.isna(spike["theme_id"])
    assert "30 of " in spike["summary"]
    # the stable bullying theme raises nothing
    assert "TH-0001" not in set(flags["theme_id"].dropna())
    assert list(flags.columns) == list(FLAG_COLUMNS)


def test_flag_id_is_deterministic_and_content_based():
    a, b = build_flags(make_tables("2026-08")), build_flags(make_tables("2026-08"))
    pd.testing.assert_frame_equal(a, b)
    expected = hashlib.sha256("emerging_theme\x1f2026-08\x1fTH-0002\x1f".encode()).hexdigest()
    assert _by_kind(a)["emerging_theme"]["flag_id"] == expected[:16]
    rc_content = json.dumps({"macro_id": "MAC-SC-07", "market": "ID"}, sort_keys=True)
    expected = hashlib.sha256(f"root_cause\x1f2026-08\x1fTH-0002\x1f{rc_content}".encode())
    assert _by_kind(a)["root_cause"]["flag_id"] == expected.hexdigest()[:16]
    assert a["flag_id"].is_unique


def test_every_flag_validates_and_a_bad_one_does_not():
    flags = build_flags(make_tables("2026-09"), previous=build_flags(make_tables("2026-08")))
    records = validate_flags(flags)
    assert len(records) == len(flags) > 0
    schema = flag_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    bad = flags.copy()
    bad.loc[0, "severity"] = "critical"
    bad.loc[1, "flag_id"] = "not-hex"
    with pytest.raises(InputError, match="2 flag schema problem") as err:
        validate_flags(bad)
    assert "severity" in str(err.value) and "flag_id" in str(err.value)


def test_status_new_then_ongoing_then_resolved():
    first = build_flags(make_tables("2026-08"))
    assert set(first["status"]) == {"new"}
    second = build_flags(make_tables("2026-09"), previous=first)
    kinds = _by_kind(second)
    # emerging -> growing is the same finding, so it continues
    assert kinds["growing_theme"]["status"] == "ongoing"
    assert kinds["root_cause"]["status"] == "ongoing"
    history = pd.concat([first, second], ignore_index=True)
    # re-running 2026-09 with its own flags already stored changes nothing
    pd.testing.assert_frame_equal(build_flags(make_tables("2026-09"), previous=history), second)
    third = build_flags(make_tables("2026-10"), previous=history)
    resolved = third[third["status"] == "resolved"]
    assert sorted(resolved["kind"]) == ["growing_theme", "policy_spike", "root_cause"]
    assert set(resolved["period"]) == {"2026-10"}
    growing = resolved[resolved["kind"] == "growing_theme"].iloc[0]
    assert growing["theme_id"] == "TH-0002"
    assert growing["summary"].startswith("Resolved: growing theme")
    assert growing["route_to"] == ["integrity-policy", "apac-support-leads"]
    validate_flags(third)
    # re-running 2026-10 with its own flags stored gives the same flags
    later = pd.concat([history, third], ignore_index=True)
    pd.testing.assert_frame_equal(build_flags(make_tables("2026-10"), previous=later), third)
    # once resolved, a finding is not resolved again
    assert build_flags(make_tables("2026-11"), previous=later).empty


def test_weak_signal_kind_and_severity():
    flags = build_flags(make_tables("2026-10", th2_weak=True),
                        config=FlagConfig(kinds=["weak_signal"]))
    assert flags["kind"].tolist() == ["weak_signal"]
    # medium area, weak signal -> one step down
    assert flags["severity"].tolist() == ["low"]


def test_kinds_and_min_score_filter():
    tables = make_tables("2026-08")
    only = build_flags(tables, FlagConfig(kinds=["root_cause"]))
    assert only["kind"].tolist() == ["root_cause"]
    assert build_flags(tables, FlagConfig(min_score=1e6)).empty


@pytest.mark.parametrize("area, ratio, weak, expected", [
    ("critical", 1.0, True, "high"),
    ("high", 5.0, False, "high"),
    ("high", 2.0, False, "high"),
    ("high", 1.2, False, "medium"),
    ("medium", 3.0, False, "high"),
    ("medium", 2.0, False, "medium"),
    ("medium", float("inf"), False, "high"),
    ("medium", 10.0, True, "low"),
    ("low", 10.0, False, "medium"),
    ("low", 1.1, False, "low"),
    (None, 2.0, False, "medium"),
    (None, float("nan"), False, "medium"),
])
def test_severity_rule(area, ratio, weak, expected):
    assert flag_severity(area, ratio, weak=weak) == expected


def test_routing_rules():
    table = RoutingTable.model_validate({
        "default": ["qa"],
        "rules": [
            {"policy_area": ["child_safety"], "route_to": ["cs-policy"]},
            {"queue": ["appeals"], "route_to": ["appeals"]},
            {"market": ["ID", "MY"], "route_to": ["apac"]},
            {"policy_area": ["scams_fraud"], "market": ["GB"], "route_to": ["uk-fraud", "apac"]},
        ]})
    assert table.route("child_safety", ["safety-reports"], ["ID"]) == ["cs-policy", "apac"]
    assert table.route("other", ["appeals"], []) == ["appeals"]
    assert table.route("scams_fraud", [], ["GB"]) == ["uk-fraud", "apac"]
    assert table.route("scams_fraud", [], ["DE"]) == ["qa"]  # both fields must match
    assert table.route(None) == ["qa"]
    shipped = RoutingTable.default_table()
    assert "child-safety-policy" in shipped.route("child_safety", [], [])
    assert shipped.route("unknown", ["nowhere"], ["XX"]) == shipped.default


def test_routing_config_errors(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text("default: [qa]\nrules:\n  - route_to: [x]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="at least one of policy_area"):
        RoutingTable.from_yaml(path)
    path.write_text("default: [qa]\nrules: []\nextra: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="extra"):
        RoutingTable.from_yaml(path)


def test_write_flags_files(tmp_path):
    flags = build_flags(make_tables("2026-08"))
    flags.loc[0, "summary"] = "=cmd|' /C calc'!A0"
    paths = write_flags(flags, tmp_path)
    lines = paths["jsonl"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(flags)
    for line, expected in zip(lines, flags["flag_id"]):
        obj = json.loads(line)
        assert list(obj) == list(FLAG_COLUMNS) and obj["flag_id"] == expected
    with open(paths["csv"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["summary"] == "'=cmd|' /C calc'!A0"
    labels = {r["theme_label"] for r in rows if r["theme_label"]}
    assert labels == {"'" + LABEL}
    assert json.loads(rows[0]["route_to"]) == flags.loc[0, "route_to"]
    back = pd.read_parquet(paths["parquet"])
    assert back["flag_id"].tolist() == flags["flag_id"].tolist()
    assert json.loads(back.loc[0, "root_causes"]) == flags.loc[0, "root_causes"]
    assert list(back.loc[0, "evidence_record_ids"]) == flags.loc[0, "evidence_record_ids"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flags.csv", "flags.jsonl",
                                                          "flags.parquet"]


def test_write_flags_sql_upsert_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = build_flags(make_tables("2026-08"))
    assert write_flags_sql(first, url) == len(first)
    assert write_flags_sql(first, url) == len(first)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM qa_flags")).scalar() == len(first)
    engine.dispose()
    second = build_flags(make_tables("2026-09"), previous=read_flags_sql(url))
    write_flags_sql(second, url)
    stored = read_flags_sql(url)
    assert len(stored) == len(first) + len(second)
    assert stored["flag_id"].is_unique
    # an upsert replaces a row's content
    changed = first.copy()
    changed.loc[0, "summary"] = "updated"
    write_flags_sql(changed, url)
    stored = read_flags_sql(url)
    assert len(stored) == len(first) + len(second)
    row = stored[stored["flag_id"] == first.loc[0, "flag_id"]].iloc[0]
    assert row["summary"] == "updated"
    assert row["root_causes"] == first.loc[0, "root_causes"]
    assert read_flags_sql(tmp_path / "empty.db").empty
