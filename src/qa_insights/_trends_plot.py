"""Plot of theme volume over periods with the emerging themes highlighted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from .errors import InputError

__all__ = ["plot_theme_volume", "HIGHLIGHT_COLOURS", "BACKGROUND_COLOUR"]

#: Colours of highlighted themes, in order (colour-blind safe, Okabe–Ito).
HIGHLIGHT_COLOURS: tuple[str, ...] = (
    "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
)
#: Colour of every theme that is not highlighted.
BACKGROUND_COLOUR = "#B0B0B0"
_SYMBOLS = {"new": "star", "emerging": "diamond", "growing": "triangle-up"}


def plot_theme_volume(trends: pd.DataFrame, top: int = 10,
                      highlight: Sequence[str] = ("new", "emerging", "growing"),
                      value: str = "share", labels: Mapping[str, str] | None = None,
                      period: str | None = None):
    """Line chart of each theme's volume per period, flagged themes coloured, others grey.

    Parameters
    ----------
    trends : DataFrame
        Output of :func:`qa_insights.trends.theme_trends`.
    top : int
        Themes drawn: every highlighted theme, then the largest others (by total count) up to
        ``top`` lines in all.
    highlight : sequence of str
        Statuses that highlight a theme when it has one in ``period``.
    value : {"share", "count"}
        What the y axis shows.
    labels : mapping, optional
        Display names by ``theme_id`` (e.g. the theme model's labels).
    period : str, optional
        Period whose statuses decide the highlighting; the last one by default. Markers show
        every period in which a highlighted theme had a highlighted status.

    Returns
    -------
    plotly.graph_objects.Figure
        Highlighted themes first (bold, coloured, with markers), then grey lines. The figure
        needs no network; embedding plotly.js is the report writer's choice.
    """
    import plotly.graph_objects as go

    if value not in ("share", "count"):
        raise InputError(f"value must be 'share' or 'count', got {value!r}")
    missing = {"period", "theme_id", "status", value} - set(trends.columns)
    if missing:
        raise InputError(f"trends table lacks column(s): {', '.join(sorted(missing))}")
    labels = dict(labels or {})
    fig = go.Figure()
    if trends.empty:
        fig.update_layout(title="Theme volume (no data)")
        return fig
    periods = sorted(trends["period"].unique())
    at = period if period is not None else periods[-1]
    if at not in periods:
        raise InputError(f"period {at!r} is not in the trends table")

    now = trends[trends["period"] == at]
    flagged_now = now[now["status"].isin(highlight)]
    score = flagged_now["score"] if "score" in flagged_now else flagged_now["count"]
    flagged = list(flagged_now.assign(_s=score).sort_values(
        ["_s", "theme_id"], ascending=[False, True])["theme_id"])
    totals = trends.groupby("theme_id")["count"].sum()
    totals = totals.drop(index=flagged, errors="ignore")
    others = sorted(totals.index, key=lambda t: (-int(totals[t]), t))
    others = others[: max(0, top - len(flagged))]

    wide = trends.pivot(index="period", columns="theme_id", values=value).reindex(periods)
    wide = wide.fillna(0.0)  # a theme is at zero before its first record
    status = trends.pivot(index="period", columns="theme_id", values="status").reindex(periods)

    for theme in reversed(others):  # grey first so the coloured lines are drawn on top
        fig.add_trace(go.Scatter(
            x=periods, y=wide[theme].tolist(), mode="lines", name=labels.get(theme, theme),
            line={"color": BACKGROUND_COLOUR, "width": 1.5}, opacity=0.7,
            legendgroup="other", meta={"theme_id": theme, "highlighted": False},
            hovertemplate="%{x}: %{y}<extra>" + labels.get(theme, theme) + "</extra>"))
    for k, theme in enumerate(flagged):
        colour = HIGHLIGHT_COLOURS[k % len(HIGHLIGHT_COLOURS)]
        name = labels.get(theme, theme)
        fig.add_trace(go.Scatter(
            x=periods, y=wide[theme].tolist(), mode="lines",
            name=f"{name} ({status.at[at, theme]})",
            line={"color": colour, "width": 4}, legendgroup=theme,
            meta={"theme_id": theme, "highlighted": True, "status": status.at[at, theme]},
            hovertemplate="%{x}: %{y}<extra>" + name + "</extra>"))
        marks = status[theme].isin(highlight)
        fig.add_trace(go.Scatter(
            x=[p for p in periods if marks[p]], y=[wide.at[p, theme] for p in periods if marks[p]],
            mode="markers", showlegend=False, legendgroup=theme,
            marker={"color": colour, "size": 12,
                    "symbol": [_SYMBOLS.get(status.at[p, theme], "circle")
                               for p in periods if marks[p]]},
            text=[status.at[p, theme] for p in periods if marks[p]],
            meta={"theme_id": theme, "highlighted": True, "markers": True},
            hovertemplate="%{x}: %{text}<extra>" + name + "</extra>"))
    fig.update_layout(
        title=f"Theme volume by period ({', '.join(highlight)} in {at} highlighted)",
        xaxis_title="period", yaxis_title="share of assessments" if value == "share" else "records",
        template="plotly_white", legend_title_text="theme")
    if value == "share":
        fig.update_yaxes(tickformat=".1%")
    fig.update_xaxes(type="category")
    return fig
