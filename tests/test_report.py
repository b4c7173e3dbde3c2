"""Tests of the stakeholder theme report (qa_insights.report)."""

from __future__ import annotations

import html.parser
import json
import re
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from qa_insights.errors import InputError
from qa_insights.outputs import RunTables
from qa_insights.report import ThemeReport, format_attributes, md_escape

XSS_SCRIPT = "<script>document.title='PWNED';alert(1)</script>"
XSS_IMG = ("<img src=x onerror=\"var d=document.createElement('div');d.id='pwned';"
           "document.body.appendChild(d);alert(1)\">")
PERIODS = ["2026-08", "2026-09", "2026-10"]


def make_tables(theme_map: bool = True, period: str = "2026-10") -> RunTables:
    """Three months: a big stable theme TH-0001 and a theme TH-0002 emerging in 2026-10."""
    rows = []
    plan = {"2026-08": (60, 0, 140), "2026-09": (62, 1, 137), "2026-10": (58, 30, 112)}
    for p, (n1, n2, n_out) in plan.items():
        for k in range(n1 + n2 + n_out):
            theme = "TH-0001" if k < n1 else "TH-0002" if k < n1 + n2 else None
            rows.append({
                "record_id": f"R-{p}-{k:03d}", "period": p, "theme_id": theme,
                "theme_label": {"TH-0001": "insults not actioned",
                                "TH-0002": "refund link sent to scam victims"}.get(theme),
                "is_outlier": theme is None,
                "policy_area": ("bullying_harassment" if theme == "TH-0001" else
                                "scams_fraud" if theme == "TH-0002" else "other"),
                "policy_confidence": 0.8,
                "qa_result": "fail" if (theme is not None or k % 5 == 0) else "pass",
                "market": "ID" if theme == "TH-0002" else "GB", "queue": "scams",
                "reviewer_comment": (XSS_SCRIPT if theme == "TH-0002" and k % 2 else
                                     "agent sent refund link" if theme == "TH-0002" else
                                     "fine"),
            })
    assignments = pd.DataFrame(rows)
    assignments["theme_id"] = assignments["theme_id"].astype("string")
    summary = (assignments.groupby("period")
               .agg(records=("record_id", "size"),
                    fail_rate=("qa_result", lambda s: float((s == "fail").mean())))
               .reset_index())
    summary["share_ticket_text"] = 1.0
    summary["share_reviewer_comment"] = 1.0
    summary["markets"] = 2
    base = {"keywords": ["insult", "closed"], "signal": "none", "weak_signal": False,
            "p_value": 0.5, "q_value": 0.6, "rate_ratio": 1.0, "rr_ci_low": 0.8,
            "rr_ci_high": 1.2, "score": 0.0, "representative_comments": ["insult ignored"],
            "root_cause_category": "policy knowledge", "root_cause_category_confidence": 0.7,
            "policy_area": "bullying_harassment", "impact_fail_rate": 0.05, "fail_rate": 1.0}
    themes = []
    for p, (n1, n2, n_out) in plan.items():
        total = n1 + n2 + n_out
        themes.append({**base, "theme_id": "TH-0001", "period": p, "label": "insults not actioned",
                       "count": n1, "share": n1 / total, "status": "stable",
                       "baseline_share": 0.3})
        if n2:
            emerging = p == "2026-10"
            themes.append({
                **base, "theme_id": "TH-0002", "period": p,
                "label": "refund link sent to scam victims", "count": n2, "share": n2 / total,
                "status": "emerging" if emerging else "stable",
                "signal": "strong" if emerging else "none", "p_value": 1e-9, "q_value": 1e-8,
                "rate_ratio": 8.1 if emerging else 1.0, "rr_ci_low": 4.2, "rr_ci_high": 15.0,
                "baseline_share": 0.0025, "score": 29.5 if emerging else 0.0,
                "keywords": ["refund", "link"],
                "representative_comments": [XSS_SCRIPT, XSS_IMG, "agent | sent `refund` link"],
                "root_cause_category": "wrong macro", "policy_area": "scams_fraud",
                "impact_fail_rate": 0.08})
    themes = pd.DataFrame(themes)
    root_causes = pd.DataFrame([{
        "theme_id": "TH-0002", "period": "2026-10", "rank": rank, "attributes": attrs,
        "n_dims": 2, "support": support, "theme_count": 30, "rate_in": rate_in,
        "rate_out": 0.02, "risk_ratio": rr, "rr_ci_low": rr / 2, "rr_ci_high": rr * 2,
        "explanatory_power": support / 30, "surprise": 3.0, "p_value": 1e-6, "q_value": 1e-5,
        "score": 10.0 / rank, "evidence_record_ids": [f"R-2026-10-{k:03d}" for k in range(58, 80)],
        "example_comments": ["agent sent refund link"]}
        for rank, attrs, support, rate_in, rr in (
            (1, json.dumps({"market": "ID", "macro_id": "MAC-SC-07"}), 27, 0.9, 8.1),
            (2, json.dumps({"queue": "scams|fraud"}), 20, 0.5, 3.2))])
    phrases = pd.DataFrame([
        {"theme_id": "TH-0002", "period": "2026-10", "phrase": "refund link",
         "count_in_theme": 20, "count_other": 1, "log_odds": 4.0}])
    tmap = pd.DataFrame([{"theme_id": "TH-0001", "x": 0.0, "y": 1.0, "count": 180,
                          "label": "insults not actioned"},
                         {"theme_id": "TH-0002", "x": 2.0, "y": -1.0, "count": 31,
                          "label": XSS_IMG}]) if theme_map else None
    upto = PERIODS[: PERIODS.index(period) + 1]
    keep = {name: frame[frame["period"].isin(upto)].reset_index(drop=True) for name, frame in
            (("summary", summary), ("assignments", assignments), ("themes", themes),
             ("root_causes", root_causes), ("phrases", phrases))}
    return RunTables(period=period, periods=upto, theme_map=tmap, **keep)


@pytest.fixture(scope="module")
def tables() -> RunTables:
    return make_tables()


@pytest.fixture(scope="module")
def report_html(tables) -> str:
    return ThemeReport(tables).html()


def _visible_text(page: str) -> str:
    """Text of the page outside <script>/<style>, entities decoded (what a reader sees)."""
    class _P(html.parser.HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("script", "style")

        def handle_endtag(self, tag):
            self.skip -= tag in ("script", "style")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)
    p = _P()
    p.feed(page)
    return " ".join(" ".join(p.parts).split())


def test_report_shows_emerging_theme_and_its_top_root_cause(report_html, tables):
    text = _visible_text(report_html)
    assert "refund link sent to scam victims" in text
    assert "TH-0002" in text and "emerging" in text
    emerging = text[text.index("Emerging themes"):text.index("Policy areas")]
    # the top-ranked cause comes first in the theme's table, formatted for a reader
    assert emerging.index("market = ID, macro = MAC-SC-07") < emerging.index("queue = scams|fraud")
    assert "8.1 (4.0–16.2)" in emerging
    assert "90%" in emerging  # share of theme explained: 27 of 30
    # the month at a glance: volume and fail-rate change vs the previous period
    oct_, sep = tables.summary.set_index("period").loc[["2026-10", "2026-09"], "fail_rate"]
    assert f"{(oct_ - sep) * 100:+.1f} pp" in text
    assert "200" in text


def test_untrusted_comment_is_shown_as_text_not_markup(report_html):
    text = _visible_text(report_html)
    assert XSS_SCRIPT in text  # visible as text after entity decoding
    assert XSS_IMG in text
    assert "&lt;script&gt;document.title" in report_html
    assert "<script>document.title" not in report_html
    assert "<script>alert" not in report_html
    assert "<img src=x" not in report_html
    # in the embedded chart JSON, '<' is \u003c so nothing can close the <script> element
    blocks = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', report_html,
                        flags=re.S)
    assert len(blocks) == 2
    for block in blocks:
        assert "<" not in block and ">" not in block
        json.loads(block)


def test_html_loads_nothing_from_the_network(report_html):
    class _Refs(html.parser.HTMLParser):
        refs: list[str] = []

        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name in ("src", "href", "srcset", "data", "action", "poster") and value:
                    self.refs.append(value)
    parser = _Refs()
    parser.feed(report_html)
    assert not [r for r in parser.refs if re.match(r"\s*(https?:)?//", r, flags=re.I)]
    markup = re.sub(r"<script.*?</script>", "", report_html, flags=re.S | re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", markup, flags=re.I)
    assert "cdn." not in markup.lower()
    # plotly.js is inlined exactly once
    assert report_html.count("<script>") == 2  # plotly.js and the chart loader
    assert "Content-Security-Policy" in report_html


def test_html_is_deterministic(tables):
    assert ThemeReport(tables).html() == ThemeReport(tables).html()


def test_markdown_escapes_user_text_in_tables(tables):
    md = ThemeReport(tables).markdown()
    assert "refund link sent to scam victims" in md
    row = next(line for line in md.splitlines() if "scams\\|fraud" in line)
    # the escaped pipe keeps the row at its 7 cells (8 unescaped pipes)
    assert len(re.findall(r"(?<!\\)\|", row)) == 8
    assert not re.search(r"(?<!\\)<(script|img|/script)", md)  # no tag can open
    assert "\\<script\\>" in md
    assert "\\`refund\\`" in md
    assert "market = ID, macro = MAC-SC-07" in md


@pytest.mark.parametrize("raw, expected", [
    ("a | b", "a \\| b"),
    ("# heading", "\\# heading"),
    ("=cmd", "\\=cmd"),
    ("- item", "\\- item"),
    ("1. one", "\\1. one"),
    ("line\nbreak", "line break"),
    ("policy_area", "policy_area"),
    ("_emph_", "\\_emph\\_"),
    ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
    ("<b>", "\\<b\\>"),
])
def test_md_escape(raw, expected):
    assert md_escape(raw) == expected


def test_format_attributes():
    assert format_attributes('{"market": "ID", "macro_id": "MAC-SC-07"}') == \
        "market = ID, macro = MAC-SC-07"
    assert format_attributes({"policy_version": "2026.09"}) == "policy version = 2026.09"


def test_repr_html_and_writers(tables, tmp_path):
    report = ThemeReport(tables, title="October <QA>")
    fragment = report._repr_html_()
    assert "<html" not in fragment and "qa-report" in fragment
    assert "October &lt;QA&gt;" in fragment
    assert "refund link sent to scam victims" in fragment
    html_path = report.write_html(tmp_path / "out" / "report.html")
    md_path = report.write_markdown(tmp_path / "out" / "report.md")
    assert Path(html_path).read_text(encoding="utf-8") == report.html()
    assert Path(md_path).read_text(encoding="utf-8") == report.markdown()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.md"]


def test_report_without_map_or_history():
    tables = make_tables(theme_map=False, period="2026-08")
    page = ThemeReport(tables).html()
    assert page.count('type="application/json"') == 1  # volume chart only
    text = _visible_text(page)
    assert "No theme rose significantly" in text
    assert "vs 2026-07" not in text


def test_run_tables_checks_columns(tables):
    # a bad table is a bug in the code that made it, not bad input (the CLI exits 1, not 2)
    with pytest.raises(ValueError, match="themes lacks column") as err:
        RunTables(period="2026-10", periods=PERIODS, summary=tables.summary,
                  assignments=tables.assignments, themes=tables.themes.drop(columns="status"),
                  root_causes=tables.root_causes, phrases=tables.phrases)
    assert not isinstance(err.value, InputError)
    with pytest.raises(TypeError, match="summary must be a DataFrame"):
        RunTables(period="2026-10", periods=PERIODS, summary=None,
                  assignments=tables.assignments, themes=tables.themes,
                  root_causes=tables.root_causes, phrases=tables.phrases)
    with pytest.raises(ValueError, match="not in periods"):
        RunTables(period="2026-11", periods=PERIODS, summary=tables.summary,
                  assignments=tables.assignments, themes=tables.themes,
                  root_causes=tables.root_causes, phrases=tables.phrases)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None and not os.environ.get("CI"),
                    reason="chromium is not installed (Debian: apt-get install -y chromium); "
                    "the static escaping tests still run (CI installs it and never skips)")
def test_no_script_from_the_data_runs_in_a_real_browser(report_html, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(report_html, encoding="utf-8")
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
           "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "qa-chart-volume" in dom
    assert 'id="pwned"' not in dom
    assert "<title>QA insights: 2026-10</title>" in dom  # not replaced by 'PWNED'
    # plotly ran (the chart div was filled), so scripts were enabled during the check
    assert "main-svg" in dom
