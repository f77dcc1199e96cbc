"""Chart builders: data frames in, plotly Figures out. No Streamlit here, so they test alone."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from citydash.catalog import Metric

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
CATEGORICAL = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
HIGHLIGHT = "#0072B2"
MUTED = "#9AA5B1"
CITY_LINE = "#4D4D4D"
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=14, color="#1F2933")


def _layout(figure: go.Figure, title: str, height: int) -> go.Figure:
    figure.update_layout(
        title=dict(text=title, font=dict(size=16)),
        font=FONT, height=height, margin=dict(l=10, r=10, t=50, b=10),
        plot_bgcolor="white", paper_bgcolor="white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        hoverlabel=dict(font_size=14),
    )
    figure.update_xaxes(gridcolor="#E4E7EB", zerolinecolor="#CBD2D9")
    figure.update_yaxes(gridcolor="#E4E7EB", zerolinecolor="#CBD2D9")
    return figure


def ranking_bar(values: pd.DataFrame, metric: Metric, selected: tuple[str, ...], area_label: str) -> go.Figure:
    """Every area ranked by value; selected areas in a strong colour, the rest muted, values printed."""
    ranked = values.dropna(subset=["value"]).sort_values("value", ascending=True)
    colours = [HIGHLIGHT if not selected or code in selected else MUTED for code in ranked["borough_code"]]
    figure = go.Figure(go.Bar(
        x=ranked["value"], y=ranked["borough_name"], orientation="h", marker_color=colours,
        text=[f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}" for value in ranked["value"]],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:,.2f} " + metric.unit + "<extra></extra>",
    ))
    figure = _layout(figure, f"{metric.label} by {area_label}, highest at the top", height=max(300, 22 * len(ranked) + 80))
    figure.update_xaxes(title_text=metric.unit, rangemode="tozero")
    figure.update_yaxes(title_text=None, tickfont=dict(size=12))
    return figure


def trend_lines(daily: pd.DataFrame, metric: Metric, labels: dict[str, str]) -> go.Figure:
    """Day-by-day lines, one per scope (e.g. selected areas vs the whole city)."""
    figure = go.Figure()
    for index, (scope, rows) in enumerate(daily.groupby("scope", sort=True)):
        figure.add_trace(go.Scatter(
            x=rows["day"], y=rows["value"], mode="lines", name=labels.get(scope, scope),
            line=dict(color=CITY_LINE if scope == "city" else CATEGORICAL[index % len(CATEGORICAL)],
                      width=2, dash="dot" if scope == "city" else "solid"),
            hovertemplate="%{x|%d %b %Y}: %{y:,.1f} " + metric.unit + "<extra>%{fullData.name}</extra>",
        ))
    figure = _layout(figure, f"{metric.label}, day by day", height=320)
    # A single line still gets its legend entry: a dotted line alone does not say what it is.
    figure.update_layout(showlegend=True)
    figure.update_yaxes(title_text=metric.unit, rangemode="tozero")
    figure.update_xaxes(title_text=None, tickformat="%d %b")
    return figure
