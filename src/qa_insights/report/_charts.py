"""Charts of the theme report, and their safe embedding in an HTML page.

Figures are plain plotly figures; :func:`figure_json` turns one into JSON that can sit inside a
``<script>`` element without any way for the data to close it (``<``, ``>``, ``&`` and the JS
line separators are written as ``\\uXXXX`` escapes, which JSON.parse reads back unchanged).
Labels taken from the data are HTML-escaped before they reach plotly, because plotly renders a
small subset of HTML (``<b>``, ``<a href>``) in text; escaped, they show as literal text.
"""

from __future__ import annotations

import html
import json
import math

import pandas as pd

from .._trends_plot import BACKGROUND_COLOUR, HIGHLIGHT_COLOURS
from ..trends import STRONG_STATUSES, plot_theme_volume

__all__ = ["volume_figure", "theme_map_figure", "figure_json", "plotly_text"]

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


def plotly_text(value, max_chars: int = 60) -> str:
    """A data label made inert for plotly's HTML-like text rendering, shortened to ``max_chars``."""
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return html.escape(text, quote=True)


def _labels(themes: pd.DataFrame) -> dict[str, str]:
    latest = themes.sort_values("period", kind="mergesort").groupby("theme_id")["label"].last()
    return {tid: plotly_text(f"{tid} {label}") for tid, label in latest.items()}


def volume_figure(themes: pd.DataFrame, period: str, top: int = 10):
    """Line chart of each theme's share of assessments per period (flagged themes coloured).

    Returns
    -------
    plotly.graph_objects.Figure or None
        ``None`` when there is no theme to draw.
    """
    rows = themes[themes["theme_id"].notna()]
    if rows.empty:
        return None
    columns = ["period", "theme_id", "status", "share", "count", "score"]
    trends = rows[columns].copy()
    trends["theme_id"] = trends["theme_id"].astype(str)
    fig = plot_theme_volume(trends, top=top, value="share", labels=_labels(rows), period=period)
    fig.update_layout(title="Share of assessments per theme (new, emerging and growing themes "
                      "in colour)", height=460, margin={"l": 60, "r": 20, "t": 60, "b": 50})
    return fig


def theme_map_figure(theme_map: pd.DataFrame | None, themes: pd.DataFrame, period: str):
    """Scatter of theme centroids in 2-D, bubble area proportional to the theme's records.

    Returns
    -------
    plotly.graph_objects.Figure or None
        ``None`` when there is no map.
    """
    import plotly.graph_objects as go

    if theme_map is None or theme_map.empty:
        return None
    now = themes[themes["period"] == period].set_index("theme_id")["status"]
    data = theme_map.sort_values("theme_id", kind="mergesort").reset_index(drop=True)
    flagged = [now.get(t) in STRONG_STATUSES for t in data["theme_id"]]
    counts = pd.to_numeric(data["count"], errors="coerce").fillna(0).clip(lower=0)
    size_ref = 2.0 * float(counts.max() or 1) / (48.0 ** 2)
    fig = go.Figure()
    for is_flagged, colour, name in ((False, BACKGROUND_COLOUR, "other themes"),
                                     (True, HIGHLIGHT_COLOURS[0], "new / emerging / growing")):
        part = data[[f == is_flagged for f in flagged]]
        if part.empty:
            continue
        labels = [plotly_text(f"{t} {lab}", 40) for t, lab in zip(part["theme_id"], part["label"])]
        fig.add_trace(go.Scatter(
            x=part["x"].astype(float).tolist(), y=part["y"].astype(float).tolist(),
            mode="markers+text", name=name, text=labels, textposition="top center",
            customdata=counts[part.index].astype(int).tolist(),
            marker={"size": counts[part.index].tolist(), "sizemode": "area", "sizeref": size_ref,
                    "sizemin": 4, "color": colour, "opacity": 0.75,
                    "line": {"width": 1, "color": "#333333"}},
            hovertemplate="%{text}<br>%{customdata} records<extra></extra>"))
    fig.update_layout(title="Theme map (close themes are similar; bubble area = records)",
                      template="plotly_white", height=520, showlegend=True,
                      margin={"l": 20, "r": 20, "t": 60, "b": 20})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def figure_json(fig) -> str:
    """The figure as JSON that is safe to place verbatim inside an HTML ``<script>`` element."""
    import plotly.io as pio

    # engine="json" (stdlib) rather than orjson, so the bytes do not depend on what is installed
    text = pio.to_json(fig, validate=False, pretty=False, engine="json")
    # round-trip through json to drop plotly's key order quirks and fix the float format
    text = json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)
    for char, escape in _JSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text
