"""The stakeholder theme report: one object, rendered as HTML, Markdown or in Jupyter.

The report reads a :class:`~qa_insights.outputs.RunTables` and turns it into plain, formatted
values first (:meth:`ThemeReport.context`); the Jinja2 templates only lay those values out. Every
value from the tables is escaped by the template engine: HTML autoescaping for the page, and a
Markdown escaper applied to every ``{{ }}`` output of the Markdown template. Only strings this
module formats itself (numbers, percentages) are marked :class:`MdSafe` and left as they are.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from functools import cached_property
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from .._io import atomic_write_text
from ..outputs import RunTables, as_list
from ..trends import STRONG_STATUSES
from ._charts import figure_json, theme_map_figure, volume_figure

__all__ = ["ThemeReport", "md_escape", "MdSafe", "format_attributes"]

logger = logging.getLogger(__name__)

_STATUS_TEXT = {
    "new": "new this period", "emerging": "emerging", "growing": "growing",
    "stable": "stable", "declining": "declining", "dormant": "dormant",
}
_DIMENSION_NAMES = {"macro_id": "macro", "agent_id": "agent", "reviewer_id": "reviewer",
                    "policy_version": "policy version", "policy_area": "policy area"}
_MD_CHARS = re.compile(r"([\\`*\[\]<>|&!{}])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LEADING = re.compile(r"^(\s*)([#=+\-~:]|\d+[.)])")
_EXAMPLES_PER_THEME = 3
_ROOT_CAUSES_PER_THEME = 3


class MdSafe(str):
    """A string formatted by the report itself, written to Markdown without escaping."""


def md_escape(value: Any) -> str:
    """Text made inert in Markdown: one line, active characters backslash-escaped.

    Escapes ``\\ ` * [ ] < > | & ! { }``, underscores at word edges (intraword ones cannot start
    emphasis), and a leading ``#``, ``=``, ``+``, ``-``, ``~``, ``:`` or ``1.`` that would start a
    heading, rule, list or quote. Newlines become spaces so that a value cannot leave its table
    cell or line. :class:`MdSafe` strings and numbers are returned as they are.
    """
    if isinstance(value, MdSafe):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = " ".join(str(value).split())
    text = _MD_CHARS.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    return _MD_LEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def _pct(value: Any, digits: int = 1) -> MdSafe:
    v = _num(value)
    return MdSafe("–" if math.isnan(v) else f"{v * 100:.{digits}f}%")


def _pp(value: Any) -> MdSafe:
    v = _num(value)
    return MdSafe("–" if math.isnan(v) else f"{v * 100:+.1f} pp")


def _ratio(value: Any, low: Any = None, high: Any = None) -> MdSafe:
    v = _num(value)
    if math.isnan(v):
        return MdSafe("–")
    head = "no baseline" if math.isinf(v) else f"{v:.1f}"
    lo, hi = _num(low), _num(high)
    if math.isnan(lo) or math.isnan(hi):
        return MdSafe(head)
    hi_text = "∞" if math.isinf(hi) else f"{hi:.1f}"
    return MdSafe(f"{head} ({lo:.1f}–{hi_text})")


def _p(value: Any) -> MdSafe:
    v = _num(value)
    if math.isnan(v):
        return MdSafe("–")
    return MdSafe("< 0.001" if v < 0.001 else f"{v:.3f}")


def _int(value: Any) -> MdSafe:
    v = _num(value)
    return MdSafe("–" if math.isnan(v) else f"{int(round(v)):,}")


def _as_attributes(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def format_attributes(attributes: Any) -> str:
    """``{"market": "ID", "macro_id": "MAC-SC-07"}`` -> ``"market = ID, macro = MAC-SC-07"``.

    ``attributes`` may be a dict or its JSON text; dimension names are made readable.
    """
    attrs = _as_attributes(attributes)
    return ", ".join(f"{_DIMENSION_NAMES.get(k, k.replace('_', ' '))} = {v}"
                     for k, v in attrs.items())


def _environment(autoescape: bool) -> jinja2.Environment:
    loader = jinja2.PackageLoader("qa_insights", "templates")
    if autoescape:
        return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                                  trim_blocks=True, lstrip_blocks=True)
    return jinja2.Environment(loader=loader, autoescape=False, finalize=md_escape,
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)


class ThemeReport:
    """The month's theme report for stakeholders.

    Parameters
    ----------
    tables : RunTables
        What the run found; the report covers ``tables.period``.
    title : str, optional
        Heading of the report; ``"QA insights: <period>"`` by default.
    top_themes : int
        Themes listed in "the month at a glance".
    max_emerging : int
        Emerging themes given a section each (strong signals first, then weak, by score).

    Examples
    --------
    >>> report = ThemeReport(tables)                            # doctest: +SKIP
    >>> report.write_html("out/report.html")                    # doctest: +SKIP
    """

    def __init__(self, tables: RunTables, *, title: str | None = None, top_themes: int = 8,
                 max_emerging: int = 10) -> None:
        self.tables = tables
        self.title = title
        self.top_themes = top_themes
        self.max_emerging = max_emerging

    # ------------------------------------------------------------------ content
    @cached_property
    def context(self) -> dict[str, Any]:
        """Every value the templates show, already formatted (user text left as plain ``str``)."""
        t = self.tables
        themes_now = t.themes[t.themes["period"] == t.period]
        return {
            "title": self.title or f"QA insights: {t.period}",
            "period": t.period,
            "previous_period": t.previous_period(),
            "periods": MdSafe(f"{t.periods[0]} to {t.periods[-1]}" if len(t.periods) > 1
                              else t.periods[0]),
            "glance": self._glance(themes_now),
            "top_themes": self._top_themes(themes_now),
            "emerging": self._emerging(themes_now),
            "policy": self._policy(),
        }

    def _glance(self, themes_now: pd.DataFrame) -> dict[str, Any]:
        t = self.tables
        summary = t.summary.set_index("period")
        row = summary.loc[t.period] if t.period in summary.index else None
        prev = t.previous_period()
        prev_row = summary.loc[prev] if prev is not None and prev in summary.index else None
        now_records = t.assignments[t.assignments["period"] == t.period]
        fail = _num(row["fail_rate"]) if row is not None else float("nan")
        prev_fail = _num(prev_row["fail_rate"]) if prev_row is not None else float("nan")
        n_strong = int(themes_now["status"].isin(STRONG_STATUSES).sum())
        n_weak = int((themes_now["weak_signal"].fillna(False).astype(bool)
                      & ~themes_now["status"].isin(STRONG_STATUSES)).sum())
        outliers = now_records["is_outlier"].fillna(False).astype(bool)
        return {
            "records": _int(row["records"] if row is not None else len(now_records)),
            "previous_records": _int(prev_row["records"]) if prev_row is not None else None,
            "fail_rate": _pct(fail),
            "previous_fail_rate": _pct(prev_fail) if prev_row is not None else None,
            "fail_rate_change": _pp(fail - prev_fail) if prev_row is not None else None,
            "fail_rate_direction": ("up" if fail > prev_fail else "down" if fail < prev_fail
                                    else "flat") if prev_row is not None else "flat",
            "markets": _int(row["markets"]) if row is not None else _int(float("nan")),
            "share_reviewer_comment": _pct(row["share_reviewer_comment"] if row is not None
                                           else float("nan"), 0),
            "themes": _int(themes_now["count"].gt(0).sum()),
            "in_themes": _pct(1.0 - outliers.mean() if len(outliers) else float("nan"), 0),
            "strong": _int(n_strong),
            "weak": _int(n_weak),
        }

    def _top_themes(self, themes_now: pd.DataFrame) -> list[dict[str, Any]]:
        rows = themes_now[themes_now["count"] > 0].sort_values(
            ["count", "theme_id"], ascending=[False, True], kind="mergesort")
        return [{"theme_id": r.theme_id, "label": r.label, "count": _int(r.count),
                 "share": _pct(r.share), "fail_rate": _pct(r.fail_rate, 0),
                 "status": _STATUS_TEXT.get(r.status, r.status),
                 "flagged": r.status in STRONG_STATUSES}
                for r in rows.head(self.top_themes).itertuples()]

    def _emerging(self, themes_now: pd.DataFrame) -> list[dict[str, Any]]:
        t = self.tables
        strong = themes_now["status"].isin(STRONG_STATUSES)
        weak = themes_now["weak_signal"].fillna(False).astype(bool) & ~strong
        rows = themes_now[strong | weak].copy()
        rows["is_weak"] = (~strong[strong | weak]).astype(int).to_numpy()
        rows = rows.sort_values(["is_weak", "score", "theme_id"], ascending=[True, False, True],
                                kind="mergesort").head(self.max_emerging)
        rc = t.root_causes[t.root_causes["period"] == t.period]
        ph = t.phrases[t.phrases["period"] == t.period]
        out = []
        for r in rows.itertuples():
            causes = rc[rc["theme_id"] == r.theme_id].sort_values("rank", kind="mergesort")
            causes = causes.head(_ROOT_CAUSES_PER_THEME)
            phrases = ph[ph["theme_id"] == r.theme_id].sort_values(
                ["log_odds", "phrase"], ascending=[False, True], kind="mergesort")
            out.append({
                "theme_id": r.theme_id, "label": r.label,
                "status": "weak signal" if r.is_weak else _STATUS_TEXT.get(r.status, r.status),
                "count": _int(r.count), "share": _pct(r.share),
                "baseline_share": _pct(r.baseline_share),
                "rate_ratio": _ratio(r.rate_ratio, r.rr_ci_low, r.rr_ci_high),
                "q_value": _p(r.q_value), "fail_rate": _pct(r.fail_rate, 0),
                "impact": _pp(r.impact_fail_rate),
                "policy_area": r.policy_area,
                "category": r.root_cause_category,
                "category_confidence": _pct(r.root_cause_category_confidence, 0),
                "keywords": [str(k) for k in as_list(r.keywords)[:8]],
                "root_causes": [{
                    "rank": _int(c.rank), "where": format_attributes(c.attributes),
                    "risk_ratio": _ratio(c.risk_ratio, c.rr_ci_low, c.rr_ci_high),
                    "explains": _pct(c.explanatory_power, 0),
                    "support": _int(c.support), "theme_count": _int(c.theme_count),
                    "rate_in": _pct(c.rate_in, 0), "rate_out": _pct(c.rate_out, 0),
                    "q_value": _p(c.q_value),
                } for c in causes.itertuples()],
                "phrases": [str(p) for p in phrases["phrase"].head(6)],
                "examples": self._examples(r, causes),
            })
        return out

    def _examples(self, row, causes: pd.DataFrame) -> list[str]:
        seen: list[str] = []
        pools = [as_list(row.representative_comments)]
        pools += [as_list(c) for c in causes["example_comments"]]
        a = self.tables.assignments
        pools.append(a.loc[(a["period"] == self.tables.period) & (a["theme_id"] == row.theme_id),
                           "reviewer_comment"].dropna().tolist())
        for pool in pools:
            for text in pool:
                text = " ".join(str(text).split())
                if text and text not in seen:
                    seen.append(text)
                if len(seen) >= _EXAMPLES_PER_THEME:
                    return seen
        return seen

    def _policy(self) -> list[dict[str, Any]]:
        t = self.tables
        a = t.assignments
        failed = a["qa_result"].astype("string").str.lower().eq("fail").fillna(False)
        frame = pd.DataFrame({"period": a["period"], "area": a["policy_area"].fillna("unknown"),
                              "failed": failed.astype(int)})
        now = frame[frame["period"] == t.period]
        if now.empty:
            return []
        prev = frame[frame["period"] == t.previous_period()]
        grouped = now.groupby("area").agg(records=("failed", "size"), fails=("failed", "sum"))
        prev_share = (prev.groupby("area").size() / len(prev)) if len(prev) else pd.Series(
            dtype=float)
        grouped["share"] = grouped["records"] / len(now)
        grouped = grouped.reset_index().sort_values(["records", "area"], ascending=[False, True],
                                                    kind="mergesort")
        rows = []
        for r in grouped.itertuples():
            before = prev_share.get(r.area, 0.0) if len(prev) else float("nan")
            rows.append({"area": r.area, "records": _int(r.records), "share": _pct(r.share),
                         "fail_rate": _pct(r.fails / r.records, 0),
                         "change": _pp(r.share - before)})
        return rows

    @cached_property
    def charts(self) -> list[dict[str, str]]:
        """The report's figures as ``{"id", "title", "json"}``; JSON safe inside ``<script>``."""
        out = []
        volume = volume_figure(self.tables.themes, self.tables.period)
        if volume is not None:
            out.append({"id": "qa-chart-volume", "title": "Theme volume over time",
                        "json": figure_json(volume)})
        tmap = theme_map_figure(self.tables.theme_map, self.tables.themes, self.tables.period)
        if tmap is not None:
            out.append({"id": "qa-chart-map", "title": "Theme map", "json": figure_json(tmap)})
        return out

    # ------------------------------------------------------------------ output
    def _render_html(self, standalone: bool) -> str:
        from plotly.offline import get_plotlyjs

        charts = self.charts
        template = _environment(autoescape=True).get_template("report.html.j2")
        return template.render(
            standalone=standalone, charts=[{**c, "json": Markup(c["json"])}
                                           for c in charts],
            plotlyjs=Markup(get_plotlyjs()) if charts else "",
            **self.context)

    def html(self) -> str:
        """The report as one self-contained HTML page (plotly.js inlined, no network needed)."""
        return self._render_html(standalone=True)

    def markdown(self) -> str:
        """The report as Markdown (tables and text; charts are in the HTML report)."""
        template = _environment(autoescape=False).get_template("report.md.j2")
        return template.render(**self.context)

    def write_html(self, path: str | os.PathLike) -> str:
        """Write :meth:`html` to ``path`` atomically; returns the path as a string."""
        return str(atomic_write_text(path, self.html()))

    def write_markdown(self, path: str | os.PathLike) -> str:
        """Write :meth:`markdown` to ``path`` atomically; returns the path as a string."""
        return str(atomic_write_text(path, self.markdown()))

    def _repr_html_(self) -> str:
        return self._render_html(standalone=False)

    def __repr__(self) -> str:
        return f"ThemeReport(period={self.tables.period!r})"
