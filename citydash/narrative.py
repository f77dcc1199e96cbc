"""Plain-English sentences about the numbers on screen: text alternatives for maps and charts,
and the comparisons behind KPI tiles. Pure functions over small frames."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from citydash.catalog import Metric
from citydash.maps import format_value


@dataclass(frozen=True)
class Comparison:
    value: float | None
    city_value: float | None
    delta_text: str | None
    delta_colour: str  # "normal" | "inverse" | "off" (streamlit metric semantics)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def compare_with_city(selected: float | None, city: float | None, metric: Metric, all_selected: bool) -> Comparison:
    """How the selection compares with the city. For sums the selection is a share of the city
    total; for means and maxima it is a difference from the city figure."""
    if _missing(selected) or _missing(city) or all_selected:
        return Comparison(selected, city, None, "off")
    if metric.area_aggregation == "sum":
        share = 100 * selected / city if city else float("nan")
        return Comparison(selected, city, f"{share:.0f}% of the city total", "off")
    if city == 0:
        return Comparison(selected, city, None, "off")
    change = 100 * (selected - city) / abs(city)
    # For a metric where lower is better, a positive difference is bad: show it in the warning colour.
    colour = "inverse" if metric.better == "lower" else "normal"
    return Comparison(selected, city, f"{change:+.0f}% vs city", colour)


def ranking_sentence(values: pd.DataFrame, metric: Metric, city_name: str, area_label: str,
                     city_value: float | None) -> str:
    """One sentence for the map's text alternative: highest, lowest, city figure, gaps."""
    ranked = values.dropna(subset=["value"]).sort_values("value", ascending=False)
    if ranked.empty:
        return f"No {area_label} has {metric.label.lower()} data for this period."
    top, bottom = ranked.iloc[0], ranked.iloc[-1]
    sentence = (f"{metric.label} is highest in {top['borough_name']} ({format_value(top['value'], metric.unit)}) "
                f"and lowest in {bottom['borough_name']} ({format_value(bottom['value'], metric.unit)})")
    if not _missing(city_value):
        label = "total" if metric.area_aggregation == "sum" else "figure"
        sentence += f"; the {city_name} {label} is {format_value(city_value, metric.unit)}"
    missing = len(values) - len(ranked)
    if missing:
        sentence += f". {missing} {area_label}{'s' if missing != 1 else ''} have no data"
    return sentence + "."


def rank_table(values: pd.DataFrame) -> pd.DataFrame:
    """Areas with their rank (1 = highest value); areas without data last and unranked."""
    table = values.copy()
    table["rank"] = table["value"].rank(ascending=False, method="min").astype("Int64")
    return table.sort_values(["rank", "borough_name"], na_position="last").reset_index(drop=True)
