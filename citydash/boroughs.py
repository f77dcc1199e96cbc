"""One borough across every dataset, and a few boroughs side by side.

Pure functions over the small frames that queries/borough_*.sql and compare_daily.sql return:
each metric's figure for every borough over a period and over the period before it, ranks,
changes, the city/inner/outer averages, statistical neighbours, trends, the borough's sites,
and a plain-English sentence for each, which the pages show as text (screen readers read it)
and the printable brief (citydash.brief) reuses. No Streamlit here.

Figures follow the catalogue: a metric's `aggregation` and `area_aggregation` pick how readings
combine (value_column; the same rules as queries/metric_by_borough.sql). Ranks: 1 = highest
value, among the boroughs with data, ties share the best rank. Averages are of borough figures,
each borough with data counting once ("the average borough"), for the whole city and for each
`borough_group` (inner/outer in London). The change is against the period of equal length just
before, and only when that period has data on at least 90% as many days as the current one.

Statistical neighbours (statistical_neighbours) are the boroughs nearest to this one on:
  - size: the natural log of its area in hectares (a density proxy: small boroughs are the
    dense central ones);
  - group: a borough in another borough_group (inner vs outer) counts as 2 standard deviations
    apart on one indicator, one in the same group as 0;
  - its metric profile: the first metric of each dataset over the period, one indicator each.
    Totals (metrics that add up across sites) are compared on a log scale, since a central
    borough can count a hundred times more than an outer one.
Every numeric indicator is standardised across the boroughs that have it (z-scores), and the
distance between two boroughs is the root mean square of their differences over the indicators
both have (plus the group term), so a borough missing a dataset is compared on the rest. Ties
go to the lower area code. Metric figures reflect where sites are as well as the place itself
(a borough with no docks has no cycle-hire figure), so neighbours are a starting point for
comparison, not a classification.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
from plotly.subplots import make_subplots

from citydash import maps
from citydash.catalog import Metric
from citydash.charts import CATEGORICAL, CITY_LINE, FONT, GRID
from citydash.maps import OUTLINE, format_value

NEIGHBOUR_COUNT = 5
GROUP_APART_SD = 2.0
COMPARABLE_DAYS_SHARE = 0.9
DAILY_UP_TO_DAYS = 92
WEEK = 7
SAME_WITHIN_PERCENT = 0.5
TILE_PX = 512  # deck.gl's Web Mercator world is 512 px wide at zoom 0
BOROUGH_FILL = (0, 114, 178, 40)
OTHER_FILL = (200, 200, 200, 110)

# The profile's sections, shown one at a time (pages/borough.py); each runs one query of its own
# (the brief runs its three when its file is asked for). The first opens by default: the kiosk
# tour and a link without ?section= show it.
HEADLINE_SECTION, TRENDS_SECTION = "Headline figures", "Trends"
SITES_SECTION, NEIGHBOURS_SECTION, BRIEF_SECTION = "Sites", "Neighbours", "Brief"
SECTION_LABELS = (HEADLINE_SECTION, TRENDS_SECTION, SITES_SECTION, NEIGHBOURS_SECTION, BRIEF_SECTION)


# ---------------------------------------------------------------------------------
# Periods and words


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of equal length that ends the day before `start`."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _month_end(day: date) -> date:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def describe_period(start: date, end: date) -> str:
    """A period in words: 'March 2026', '2025', '1 to 14 Mar 2026', '29 Jan to 28 Feb 2026'."""
    if start.day == 1 and end == _month_end(start):
        return f"{start:%B %Y}"
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return f"{start.year}"
    if start == end:
        return f"{start.day} {start:%b %Y}"
    if start.year != end.year:
        return f"{start.day} {start:%b %Y} to {end.day} {end:%b %Y}"
    if start.month != end.month:
        return f"{start.day} {start:%b} to {end.day} {end:%b %Y}"
    return f"{start.day} to {end.day} {end:%b %Y}"


def during(start: date, end: date) -> str:
    """The period after a verb: 'in March 2026', 'on 5 Mar 2026', 'from 1 Dec 2025 to 28 Feb 2026'."""
    text = describe_period(start, end)
    if start == end:
        return f"on {text}"
    if " to " in text:
        return f"from {text}"
    return f"in {text}"


def days_in(start: date, end: date) -> int:
    return (end - start).days + 1


def ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th')}"


def lower_first(text: str) -> str:
    """'Nitrogen dioxide (NO₂)' -> 'nitrogen dioxide (NO₂)', but 'NO₂' stays 'NO₂'."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def is_suppressed(value: float | None, metric: Metric) -> bool:
    """A count of people too small to show (the catalogue's `disclosure` threshold)."""
    return bool(metric.disclosure) and not _missing(value) and 0 < float(value) < metric.disclosure


def display_value(value: float | None, metric: Metric) -> str:
    """A figure with its unit for reading: millions as '15.9 million', small counts of people hidden."""
    if is_suppressed(value, metric):
        return f"fewer than {metric.disclosure} {metric.unit}"
    if not _missing(value) and abs(float(value)) >= 1_000_000:
        return f"{float(value) / 1_000_000:,.3g} million {metric.unit}".strip()
    return format_value(None if _missing(value) else float(value), metric.unit)


def display_number(value: float | None, metric: Metric) -> str:
    """display_value without the unit, for a tile whose label gives it."""
    return display_value(value, metric).removesuffix(f" {metric.unit}")


def suppress_small(values: pd.Series, metric: Metric) -> pd.Series:
    """Values with small counts of people replaced by NaN, so no chart or CSV can show them."""
    if not metric.disclosure:
        return values
    return values.mask((values > 0) & (values < metric.disclosure))


def sources_caption(entries: Sequence[tuple[str, str, str, str, bool]]) -> str:
    """One line for a chart drawn from several datasets: (publisher, title, licence, freshness,
    synthetic) entries grouped by publisher, licence and freshness."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for publisher, title, licence, freshness, _ in entries:
        groups.setdefault((publisher, licence, freshness), []).append(title)
    parts = [f"{publisher}: {', '.join(titles)} · Licence: {licence} · {freshness}"
             for (publisher, licence, freshness), titles in groups.items()]
    synthetic = any(entry[4] for entry in entries)
    return ("**Synthetic demo data.** " if synthetic else "") + "Sources: " + "; ".join(parts)


def value_column(metric: Metric) -> str:
    """Which of the queries' columns is this metric's figure for a borough."""
    if metric.aggregation == "mean":
        return "mean_value"
    if metric.aggregation == "sum":
        return "total"
    return "peak_sum" if metric.area_aggregation == "sum" else "peak_max"


def summed_peak_keys(metrics: Mapping[str, Metric]) -> list[str]:
    """The keys whose figure is the sum over entities of each one's largest reading (capacities):
    queries/borough_metrics.sql and borough_trends.sql work that out only for these, as it needs
    every entity's rows where the other figures come from the per-borough rollup."""
    return [key for key, metric in metrics.items() if value_column(metric) == "peak_sum"]


def _verb(metric: Metric) -> str:
    return {"mean": "averaged", "sum": "totalled"}.get(metric.aggregation, "was")


# ---------------------------------------------------------------------------------
# Which metrics, and every borough's figures


def headline_metric_keys(metrics: Mapping[str, Metric], chosen: Sequence[str] = ()) -> list[str]:
    """The first metric of each dataset in catalogue order, then the chosen ones not yet listed."""
    firsts: dict[str, str] = {}
    for key, metric in metrics.items():
        firsts.setdefault(metric.dataset, key)
    keys = list(firsts.values())
    keys += [key for key in dict.fromkeys(chosen) if key in metrics and key not in keys]
    return keys


VALUE_COLUMNS = ["metric_key", "borough_code", "borough_name", "borough_group", "value", "previous",
                 "days", "previous_days"]


def borough_values(rows: pd.DataFrame, metrics: Mapping[str, Metric], areas: pd.DataFrame) -> pd.DataFrame:
    """Every area's figure for each metric, now and in the previous period.

    `rows` is queries/borough_metrics.sql's result; `areas` has borough_code, borough_name,
    borough_group. One row per metric key and area (every area; value NaN where it has no data):
    metric_key, borough_code, borough_name, borough_group, value, previous, days,
    previous_days.
    """
    if not metrics:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    # Every row placed in a metrics x areas grid in one pass: filtering and mapping the rows
    # metric by metric took about 40 ms a rerun with 18 metrics.
    metric_at = {(metric.dataset, metric.id): index for index, metric in enumerate(metrics.values())}
    codes = areas["borough_code"]
    area_at = pd.Index(codes)
    metric_of_row = np.fromiter((metric_at.get(pair, -1) for pair in zip(rows["dataset"].tolist(),
                                                                          rows["metric"].tolist())),
                                dtype="int64", count=len(rows))
    ours = metric_of_row >= 0
    if (len(metric_at) != len(metrics) or not area_at.is_unique
            or rows.loc[ours, ["dataset", "metric", "period", "borough_code"]].duplicated().any()):
        # Not one row per metric, period and area: metric by metric, as mapping each does.
        return _borough_values_by_metric(rows, metrics, areas)
    area_of_row = area_at.get_indexer(rows["borough_code"])
    placed = ours & (area_of_row >= 0)
    period = rows["period"].to_numpy(dtype=object)
    value_columns = np.array([value_column(metric) for metric in metrics.values()], dtype=object)
    row_value = np.full(len(rows), np.nan)
    for column in dict.fromkeys(value_columns):
        chosen = placed & (value_columns[np.where(ours, metric_of_row, 0)] == column)
        row_value[chosen] = rows[column].to_numpy(dtype="float64", na_value=np.nan)[chosen]
    shape = (len(metrics), len(areas))

    def grid(in_period: str, values: np.ndarray, empty: float) -> np.ndarray:
        cells = np.full(shape, empty, dtype="float64")
        chosen = placed & (period == in_period)
        cells[metric_of_row[chosen], area_of_row[chosen]] = values[chosen]
        return cells.ravel()

    days = rows["days"].to_numpy(dtype="float64", na_value=np.nan)
    keys = list(metrics)
    return pd.DataFrame({
        "metric_key": np.repeat(np.array(keys, dtype=object), len(areas)),
        "borough_code": np.tile(codes.to_numpy(), len(keys)),
        "borough_name": np.tile(areas["borough_name"].to_numpy(), len(keys)),
        "borough_group": np.tile(areas["borough_group"].to_numpy(), len(keys)),
        "value": grid("current", row_value, np.nan),
        "previous": grid("previous", row_value, np.nan),
        "days": np.nan_to_num(grid("current", days, 0.0)).astype("int64"),
        "previous_days": np.nan_to_num(grid("previous", days, 0.0)).astype("int64"),
    })


def _borough_values_by_metric(rows: pd.DataFrame, metrics: Mapping[str, Metric], areas: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for key, metric in metrics.items():
        subset = rows[(rows["dataset"] == metric.dataset) & (rows["metric"] == metric.id)]
        current = subset[subset["period"] == "current"].set_index("borough_code")
        before = subset[subset["period"] == "previous"].set_index("borough_code")
        column = value_column(metric)
        codes = areas["borough_code"]
        frames.append(pd.DataFrame({
            "metric_key": key,
            "borough_code": codes.to_numpy(),
            "borough_name": areas["borough_name"].to_numpy(),
            "borough_group": areas["borough_group"].to_numpy(),
            "value": codes.map(current[column]).astype("float64").to_numpy(),
            "previous": codes.map(before[column]).astype("float64").to_numpy(),
            "days": codes.map(current["days"]).fillna(0).astype("int64").to_numpy(),
            "previous_days": codes.map(before["days"]).fillna(0).astype("int64").to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


def rank_among(values: pd.Series, code: str) -> tuple[int | None, int, bool]:
    """(rank, areas ranked, tied): 1 = highest among the areas with data; ties share the best rank.

    `values` is indexed by area code. The rank is None when `code` has no value.
    """
    present = values.dropna()
    if code not in present.index:
        return None, len(present), False
    own = present[code]
    rank = int((present > own).sum()) + 1
    tied = int((present == own).sum()) > 1
    return rank, len(present), tied


def percent_change(value: float | None, previous: float | None) -> float | None:
    if _missing(value) or _missing(previous) or previous == 0:
        return None
    return 100 * (float(value) - float(previous)) / abs(float(previous))


def averages(values: pd.DataFrame) -> dict[str, float | None]:
    """The average borough: 'all' over every area with data, and one per borough_group."""
    present = values.dropna(subset=["value"])
    result = {"all": float(present["value"].mean()) if len(present) else None}
    for group in sorted(values["borough_group"].dropna().unique()):
        in_group = present[present["borough_group"] == group]["value"]
        result[str(group)] = float(in_group.mean()) if len(in_group) else None
    return result


def _rank_of(values: np.ndarray, codes: np.ndarray, code: str) -> tuple[int | None, int, bool]:
    """rank_among on arrays (one row per area code)."""
    present = ~np.isnan(values)
    ranked = int(present.sum())
    own = values[present & (codes == code)]
    if not len(own):
        return None, ranked, False
    shown = values[present]
    return int((shown > own[0]).sum()) + 1, ranked, int((shown == own[0]).sum()) > 1


def _averages_of(values: np.ndarray, groups: np.ndarray) -> dict[str, float | None]:
    """averages on arrays: the same means, taken by pandas as averages takes them."""
    present = ~np.isnan(values)
    result = {"all": float(pd.Series(values[present]).mean()) if present.any() else None}
    for group in sorted({group for group in groups if not _missing(group)}):
        in_group = values[present & (groups == group)]
        result[str(group)] = float(pd.Series(in_group).mean()) if len(in_group) else None
    return result


def standings(values: pd.DataFrame, code: str, metrics: Mapping[str, Metric], keys: Sequence[str]) -> pd.DataFrame:
    """The borough on each metric in `keys`: its figure, the change, its rank and the averages.

    Columns: metric_key, dataset, label, unit, better, value, previous, change_pct,
    change_note, rank, ranked, tied, areas, average_all and average_<group> per group.
    """
    rows = []
    # Each metric's rows found once, and ranks and averages worked out on arrays: selecting and
    # re-indexing frames metric by metric cost about 12 ms a rerun.
    positions = values.groupby("metric_key", sort=False).indices if len(values) else {}
    all_codes = values["borough_code"].to_numpy(dtype=object)
    all_values = values["value"].to_numpy(dtype="float64")
    all_groups = values["borough_group"].to_numpy(dtype=object)
    for key in keys:
        metric = metrics[key]
        at = positions.get(key, np.empty(0, dtype="int64"))
        mine = at[all_codes[at] == code]
        if not len(mine):
            continue
        own = values.iloc[mine[0]]
        rank, ranked, tied = _rank_of(all_values[at], all_codes[at], code)
        change, note = percent_change(own["value"], own["previous"]), None
        if _missing(own["value"]):
            change = None
        elif _missing(own["previous"]):
            note = "no figure for the previous period"
        elif own["previous_days"] < COMPARABLE_DAYS_SHARE * own["days"]:
            change = None
            note = f"not comparable: data on {own['previous_days']} of its {own['days']} days"
        elif change is None:
            note = "the previous period's figure was zero"
        if is_suppressed(own["value"], metric) or is_suppressed(own["previous"], metric):
            change, note = None, "small counts are not compared"
        row = {"metric_key": key, "dataset": metric.dataset, "label": metric.label, "unit": metric.unit,
               "better": metric.better, "value": own["value"], "previous": own["previous"],
               "change_pct": change, "change_note": note, "rank": rank, "ranked": ranked, "tied": tied,
               "areas": len(at)}
        row.update({f"average_{scope}": value
                    for scope, value in _averages_of(all_values[at], all_groups[at]).items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table["rank"] = table["rank"].astype("Int64")
    return table


# ---------------------------------------------------------------------------------
# Sentences about a borough's standing


def rank_phrase(rank: int | None, ranked: int, areas: int, tied: bool, area_label_plural: str) -> str:
    """'4th highest of 33 boroughs', 'the lowest of the 12 boroughs with data', 'joint 2nd highest ...'."""
    if _missing(rank):
        return "not ranked (no data)"
    rank = int(rank)
    whole = f"{ranked} {area_label_plural}" if ranked == areas else f"the {ranked} {area_label_plural} with data"
    joint = "joint " if tied else ""
    if ranked == 1:
        return f"the only one of {areas} {area_label_plural} with data"
    if rank == 1:
        return f"{joint or 'the '}highest of {whole}"
    if rank == ranked:
        return f"{joint or 'the '}lowest of {whole}"
    return f"{joint}{ordinal(rank)} highest of {whole}"


def better_phrase(better: str) -> str:
    return "lower is better" if better == "lower" else "higher is better"


def change_phrase(change_pct: float | None, note: str | None, previous_text: str) -> str:
    if _missing(change_pct):
        return f"no comparison with {previous_text} ({note})" if isinstance(note, str) and note else \
            f"no comparison with {previous_text}"
    if abs(change_pct) < SAME_WITHIN_PERCENT:
        return f"about the same as {previous_text}"
    return f"{'up' if change_pct > 0 else 'down'} {abs(change_pct):.0f}% on {previous_text}"


def standing_sentence(row: Mapping, metric: Metric, borough_name: str, city_name: str, when: str,
                      previous_text: str, area_label: str, area_label_plural: str) -> str:
    """'Camden: Nitrogen dioxide (NO₂) averaged 38.2 µg/m³ in February 2026 (average London borough:
    33.1 µg/m³), 4th highest of 33 boroughs (lower is better), down 6% on the previous 28 days.'"""
    if _missing(row["value"]):
        return (f"{borough_name}: no {lower_first(metric.label)} data {when} "
                f"({row['ranked']} of {row['areas']} {area_label_plural} have some).")
    average = row.get("average_all")
    average_text = "" if _missing(average) else (
        f" (average {city_name} {area_label}: "
        f"{display_value(average, metric)})")
    return (f"{borough_name}: {metric.label} {_verb(metric)} {display_value(row['value'], metric)} {when}"
            f"{average_text}, {rank_phrase(row['rank'], row['ranked'], row['areas'], row['tied'], area_label_plural)} "
            f"({better_phrase(metric.better)}), {change_phrase(row['change_pct'], row['change_note'], previous_text)}.")


def change_text(change_pct: float | None, note: str | None) -> str:
    """A table cell: '+12.3%', or why there is no change."""
    if _missing(change_pct):
        return note if isinstance(note, str) else ""
    return f"{change_pct:+.1f}%"


def delta_text(change_pct: float | None, period_days: int) -> str | None:
    """A KPI tile's delta: '-13% on previous 28 days', 'about the same as ...', or None without a comparison."""
    if _missing(change_pct):
        return None
    if abs(change_pct) < SAME_WITHIN_PERCENT:
        return f"about the same as the previous {period_days} days"
    return f"{change_pct:+.0f}% on previous {period_days} days"


def standings_display(table: pd.DataFrame, metrics: Mapping[str, Metric], area_label_plural: str) -> pd.DataFrame:
    """The standings as text, each figure with its unit: label, figure, before, change, position,
    and one column per average_* column of the table."""
    averages_columns = [column for column in table.columns if column.startswith("average_")]
    records = table.to_dict("records")
    shown = pd.DataFrame({
        "label": table["label"].to_numpy(),
        "figure": [display_value(row["value"], metrics[row["metric_key"]]) for row in records],
        "before": [display_value(row["previous"], metrics[row["metric_key"]]) for row in records],
        "change": [change_text(row["change_pct"], row["change_note"]) for row in records],
        "position": [rank_phrase(row["rank"], row["ranked"], row["areas"], row["tied"], area_label_plural)
                     for row in records],
    })
    for column in averages_columns:
        shown[column] = [display_value(row[column], metrics[row["metric_key"]]) for row in records]
    return shown


def standings_export(table: pd.DataFrame, metrics: Mapping[str, Metric]) -> pd.DataFrame:
    """The standings for a CSV: every figure as a number, small counts of people blanked."""
    exported = table.copy()
    figures = ["value", "previous", *[column for column in table.columns if column.startswith("average_")]]
    for column in figures:
        exported[column] = [np.nan if is_suppressed(value, metrics[key]) else value
                            for key, value in zip(table["metric_key"], table[column])]
    return exported


def neighbours_export(table: pd.DataFrame, metrics: Mapping[str, Metric], keys: Sequence[str]) -> pd.DataFrame:
    """The neighbour table for a CSV, small counts of people blanked."""
    return table.assign(**{key: suppress_small(table[key].astype("float64"), metrics[key]) for key in keys})


def _position(row: Mapping) -> float | None:
    """0 = best borough, 1 = worst, by the metric's `better` direction."""
    if _missing(row["rank"]) or row["ranked"] < 3:
        return None
    from_top = (int(row["rank"]) - 1) / (row["ranked"] - 1)
    return 1 - from_top if row["better"] == "lower" else from_top


def overall_sentence(table: pd.DataFrame, borough_name: str, when: str) -> str:
    """How many headline figures put the borough in the best or worst third of boroughs."""
    with_data = table[table["value"].notna()]
    if with_data.empty:
        return f"{borough_name} has no data {when}."
    positions = [(row["label"], _position(row)) for row in with_data.to_dict("records")]
    placed = [(label, position) for label, position in positions if position is not None]
    best = [label for label, position in placed if position < 1 / 3]
    worst = [label for label, position in placed if position > 2 / 3]
    parts = [f"{borough_name} has data on {len(with_data)} of the {len(table)} headline figures {when}"]
    if placed:
        parts.append(f"among the best third of boroughs on {len(best) or 'none'}"
                     + (f" ({', '.join(lower_first(label) for label in best)})" if best else ""))
        parts.append(f"among the worst third on {len(worst) or 'none'}"
                     + (f" ({', '.join(lower_first(label) for label in worst)})" if worst else ""))
    missing = table[table["value"].isna()]["label"].tolist()
    sentence = "; ".join(parts) + "."
    if missing:
        sentence += f" No data here for: {', '.join(lower_first(label) for label in missing)}."
    return sentence


# ---------------------------------------------------------------------------------
# Statistical neighbours


def neighbour_indicators(areas: pd.DataFrame, values: pd.DataFrame, metrics: Mapping[str, Metric],
                         keys: Sequence[str]) -> pd.DataFrame:
    """The indicators behind statistical_neighbours, one row per area (index borough_code).

    Columns: group (text), log_area, and one column per metric key in `keys` (totals on a
    signed log scale). See the module docstring.
    """
    indicators = pd.DataFrame({
        "group": areas["borough_group"].to_numpy(),
        "log_area": np.log(areas["area_ha"].astype("float64").clip(lower=1e-6)).to_numpy(),
    }, index=pd.Index(areas["borough_code"], name="borough_code"))
    positions = values.groupby("metric_key", sort=False).indices if len(values) else {}
    codes, figures = values["borough_code"].to_numpy(dtype=object), values["value"].to_numpy(dtype="float64")
    for key in keys:
        metric = metrics[key]
        at = positions.get(key, np.empty(0, dtype="int64"))
        of_metric = pd.Series(figures[at], index=pd.Index(codes[at], name="borough_code"), name="value")
        column = indicators.index.map(of_metric).astype("float64")
        if "sum" in (metric.aggregation, metric.area_aggregation):
            column = np.sign(column) * np.log1p(np.abs(column))
        indicators[key] = np.asarray(column, dtype="float64")
    return indicators


def statistical_neighbours(indicators: pd.DataFrame, code: str, count: int = NEIGHBOUR_COUNT) -> pd.DataFrame:
    """The `count` areas most similar to `code`: borough_code, distance (in standard deviations),
    shared (indicators compared, the group included), same_group. Nearest first."""
    numeric = indicators.drop(columns=["group"])
    spread = numeric.std(ddof=0)
    usable = [column for column in numeric.columns
              if numeric[column].notna().sum() >= 3 and spread[column] > 0]
    scores = (numeric[usable] - numeric[usable].mean()) / spread[usable]
    own = scores.loc[code]
    differences = scores.drop(index=code).sub(own, axis="columns")
    shared = differences.notna().sum(axis="columns")
    squared = (differences ** 2).sum(axis="columns", min_count=1).fillna(0.0)
    groups = indicators["group"].drop(index=code)
    apart = (groups != indicators.at[code, "group"]).astype("float64")
    squared = squared + apart * GROUP_APART_SD ** 2
    distance = np.sqrt(squared / (shared + 1))
    result = pd.DataFrame({"borough_code": distance.index, "distance": distance.to_numpy(),
                           "shared": (shared + 1).to_numpy(), "same_group": (apart == 0).to_numpy()})
    return result.sort_values(["distance", "borough_code"], kind="stable").head(count).reset_index(drop=True)


def neighbour_method(name: str, count: int, area_label_plural: str, group_labels: Sequence[str],
                     indicator_labels: Sequence[str], short: bool = False) -> str:
    """The method in words (see the module docstring), in full for the page or short for a caption."""
    groups = " or ".join(group_labels) or "group"
    if short:
        return (f"The {count} {area_label_plural} most like {name} on size (log area), group ({groups}) and the "
                f"first metric of each dataset, standardised across {area_label_plural}; distance is the root mean "
                "square difference in standard deviations (0 = identical).")
    return (f"Neighbours are the {count} {area_label_plural} nearest to {name} on: size (the log of the area in "
            f"hectares, a density proxy), group ({groups}: another group counts as 2 standard deviations apart) "
            f"and the first metric of each dataset over the period ({', '.join(indicator_labels)}; totals on a log "
            f"scale). Each indicator is standardised across {area_label_plural} (z-scores); the distance is the "
            "root mean square difference over the indicators both have. Where the sites are shapes the metric "
            "figures, so treat neighbours as a starting point for comparison, not a classification.")


def neighbour_table(code: str, neighbours: pd.DataFrame, values: pd.DataFrame, areas: pd.DataFrame,
                    keys: Sequence[str]) -> pd.DataFrame:
    """The borough and its neighbours, one row each (the borough first), one column per metric key."""
    order = [code] + neighbours["borough_code"].tolist()
    table = areas.set_index("borough_code").loc[order, ["borough_name", "borough_group"]].reset_index()
    table["distance"] = [0.0] + neighbours["distance"].round(2).tolist()
    chosen = values[values["metric_key"].isin(keys) & values["borough_code"].isin(order)]
    wide = chosen.pivot(index="borough_code", columns="metric_key", values="value").reindex(
        index=order, columns=list(keys)).astype("float64")
    wide.columns.name = None
    return pd.concat([table, wide.reset_index(drop=True)], axis="columns")


def neighbour_sentences(table: pd.DataFrame, metrics: Mapping[str, Metric], keys: Sequence[str]) -> list[str]:
    """The neighbours named, then one sentence per metric: above how many of them, and their average."""
    name = table["borough_name"].iloc[0]
    others = table.iloc[1:]
    if others.empty:
        return [f"{name} has no statistical neighbours with enough data to compare."]
    sentences = [f"The {len(others)} {'boroughs' if len(others) != 1 else 'borough'} most like {name} "
                 f"(most similar first): {', '.join(others['borough_name'])}."]
    for key in keys:
        metric = metrics[key]
        own = table[key].iloc[0]
        theirs = others[key].dropna()
        if _missing(own) or theirs.empty:
            continue
        higher = int((theirs < own).sum())
        average = float(theirs.mean())
        sentences.append(
            f"{metric.label}: {name} ({display_value(own, metric)}) is higher than {higher} of the "
            f"{len(theirs)} neighbours with data; their average is {display_value(average, metric)}.")
    return sentences


# ---------------------------------------------------------------------------------
# Trends


def bucket_days_for(start: date, end: date) -> int:
    """Daily steps for up to about three months, weekly beyond, so a small chart stays readable."""
    return 1 if days_in(start, end) <= DAILY_UP_TO_DAYS else WEEK


def trend_series(rows: pd.DataFrame, metrics: Mapping[str, Metric], bucket_days: int) -> pd.DataFrame:
    """queries/borough_trends.sql rows -> metric_key, scope, bucket, value.

    With steps longer than a day, totals are shown per day (the step's total over its days), so
    a short last step does not look like a fall. Small counts of people are blanked.
    """
    # Each metric's rows found in one grouping, not by filtering the frame once per metric.
    positions = rows.groupby(["dataset", "metric"], sort=False).indices if len(rows) else {}
    keys, picked, values = [], [], []
    for key, metric in metrics.items():
        at = positions.get((metric.dataset, metric.id))
        if at is None or not len(at):
            continue
        value = rows[value_column(metric)].to_numpy(dtype="float64", na_value=np.nan)[at]
        if metric.aggregation == "sum" and bucket_days > 1:
            with np.errstate(divide="ignore", invalid="ignore"):
                value = value / rows["days"].to_numpy(dtype="float64", na_value=np.nan)[at]
        keys.append(key)
        picked.append(at)
        values.append(suppress_small(pd.Series(value), metric).to_numpy())
    frames = [] if not keys else [pd.DataFrame({
        "metric_key": np.repeat(np.array(keys, dtype=object), [len(at) for at in picked]),
        "scope": rows["scope"].to_numpy()[np.concatenate(picked)],
        "bucket": pd.to_datetime(rows["bucket"]).to_numpy()[np.concatenate(picked)],
        "value": np.concatenate(values)})]
    if not frames:
        return pd.DataFrame({"metric_key": pd.Series(dtype="str"), "scope": pd.Series(dtype="str"),
                             "bucket": pd.Series(dtype="datetime64[us]"), "value": pd.Series(dtype="float64")})
    return pd.concat(frames, ignore_index=True).sort_values(["metric_key", "scope", "bucket"]).reset_index(drop=True)


def charted_keys(series: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """The metrics worth a trend chart: those the borough itself has figures for."""
    own = series[(series["scope"] == "borough") & series["value"].notna()]
    present = set(own["metric_key"])
    return [key for key in keys if key in present]


def step_label(bucket_days: int) -> str:
    return "day" if bucket_days == 1 else "week"


def _step_name(day: pd.Timestamp, bucket_days: int) -> str:
    return f"{day.day} {day:%b}" if bucket_days == 1 else f"{step_label(bucket_days)} of {day.day} {day:%b}"


def per_day(metric: Metric, bucket_days: int) -> str:
    return " per day" if metric.aggregation == "sum" and bucket_days > 1 else ""


def trend_sentence(series: pd.DataFrame, metric: Metric, borough_name: str, bucket_days: int) -> str:
    """Highest and lowest step, and how often the borough was above the average borough."""
    step = step_label(bucket_days)
    # On arrays: a handful of small frames and a join per metric took about 2 ms each.
    scopes = series["scope"].to_numpy(dtype=object)
    buckets = series["bucket"].to_numpy()
    values = series["value"].to_numpy(dtype="float64", na_value=np.nan)
    mine = (scopes == "borough") & ~np.isnan(values)
    own, own_buckets = values[mine], buckets[mine]
    if not len(own):
        return f"{metric.label}: no {step}-by-{step} figures for {borough_name} in this period."
    # np.argmax/argmin: the first step with the highest/lowest figure, as Series.idxmax gives.
    high_day, low_day = pd.Timestamp(own_buckets[np.argmax(own)]), pd.Timestamp(own_buckets[np.argmin(own)])
    how = (f"{step} by {step}" if not per_day(metric, bucket_days)
           else f"average per day in each {step}")
    if own.max() == own.min():
        sentence = f"{metric.label} in {borough_name}, {how}: steady at {display_value(own.max(), metric)}"
    else:
        sentence = (f"{metric.label} in {borough_name}, {how}: highest {display_value(own.max(), metric)} "
                    f"({_step_name(high_day, bucket_days)}), lowest {display_value(own.min(), metric)} "
                    f"({_step_name(low_day, bucket_days)})")
    average_at = scopes == "average"
    average, average_buckets = values[average_at], buckets[average_at]
    if len(set(own_buckets.tolist())) < len(own_buckets) or len(set(average_buckets.tolist())) < len(average_buckets):
        # A step twice: pandas' own rules for lining the two up (it raises for some such cases).
        lined_up = pd.concat([pd.Series(own, index=own_buckets).rename("own"),
                              pd.Series(average, index=average_buckets).rename("average")],
                             axis="columns", sort=True).dropna()
        both = list(zip(lined_up["own"].tolist(), lined_up["average"].tolist()))
    else:
        average_of = {bucket: value for bucket, value in zip(average_buckets.tolist(), average.tolist())
                      if not math.isnan(value)}
        both = [(value, average_of[bucket]) for bucket, value in zip(own_buckets.tolist(), own.tolist())
                if bucket in average_of]
    if both:
        above = sum(value > average_value for value, average_value in both)
        sentence += f"; above the average borough in {above} of {len(both)} {step}s"
    return sentence + "."


def _escape(text: str) -> str:
    return html.escape(str(text), quote=False)


def _wrapped(text: str, width: int = 34) -> str:
    """A subplot title on up to two lines (plotly titles do not wrap)."""
    if len(text) <= width:
        return _escape(text)
    cut = text.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    return _escape(text[:cut]) + "<br>" + _escape(text[cut:].strip())


def small_chart(series: pd.DataFrame, metric: Metric, labels: Mapping[str, str], bucket_days: int) -> go.Figure:
    """One metric's small trend chart: the borough solid, the average borough dotted, from zero.

    The pages lay these out in columns, which stack on a phone, so each stays readable.
    """
    # Arrays, not frames: plotly takes them as they are.
    scopes, buckets = series["scope"].to_numpy(dtype=object), series["bucket"].to_numpy()
    values = series["value"].to_numpy()
    lines = []
    for scope, colour, dash, width in (("average", CITY_LINE, "dot", 1.5), ("borough", CATEGORICAL[0], "solid", 2)):
        rows = scopes == scope
        lines.append(dict(
            type="scatter", x=buckets[rows], y=values[rows], mode="lines", name=labels[scope], showlegend=False,
            line=dict(color=colour, width=width, dash=dash),
            hovertemplate="%{x|%d %b %Y}: %{y:,.1f} " + _escape(metric.unit) + "<extra>" + _escape(labels[scope])
                          + "</extra>"))
    # Built in one go (plotly validates once): not charts.layout, whose legend and x zero line
    # this chart never had.
    return go.Figure(data=lines, layout=dict(
        font=FONT, height=230, margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white",
        paper_bgcolor="white", hoverlabel=dict(font_size=14),
        title=dict(text=_wrapped(f"{metric.label} ({metric.unit}{per_day(metric, bucket_days)})", 40),
                   font=dict(size=13)),
        xaxis=dict(gridcolor=GRID["gridcolor"], tickformat="%d %b", nticks=4),
        yaxis=dict(GRID, rangemode="tozero")))


# ---------------------------------------------------------------------------------
# The borough's sites on a map

# The profile's sites map is drawn this size, and the borough fitted into it. The width is the
# narrowest column it is drawn in (a phone), so the borough is whole at every width.
SITES_MAP_WIDTH_PX, SITES_MAP_HEIGHT_PX = 360, 440


def _mercator_y(latitude: float) -> float:
    """0 at the top of the world, 1 at the bottom (Web Mercator)."""
    phi = math.radians(latitude)
    return (1 - math.log(math.tan(math.pi / 4 + phi / 2)) / math.pi) / 2


def _latitude_of(mercator_y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * mercator_y))))


def fit_view(bounds: tuple[float, float, float, float], width_px: int, height_px: int,
             padding_px: int = 24, max_zoom: float = 15.0) -> dict:
    """The centre and zoom that fit (min_lon, min_lat, max_lon, max_lat) in a viewport of that size."""
    min_lon, min_lat, max_lon, max_lat = bounds
    span_x = max((max_lon - min_lon) / 360, 1e-9)
    top, bottom = _mercator_y(max_lat), _mercator_y(min_lat)
    span_y = max(bottom - top, 1e-9)
    zoom = min(math.log2(max(width_px - 2 * padding_px, 1) / (TILE_PX * span_x)),
               math.log2(max(height_px - 2 * padding_px, 1) / (TILE_PX * span_y)), max_zoom)
    return {"latitude": _latitude_of((top + bottom) / 2), "longitude": (min_lon + max_lon) / 2,
            "zoom": round(zoom, 2)}


def project(latitude: float, longitude: float, view: Mapping, width_px: int, height_px: int) -> tuple[float, float]:
    """Where a point is drawn, in pixels from the top left of a width x height map with this view."""
    scale = TILE_PX * 2 ** view["zoom"]
    x = (longitude - view["longitude"]) / 360 * scale + width_px / 2
    y = (_mercator_y(latitude) - _mercator_y(view["latitude"])) * scale + height_px / 2
    return x, y


def dataset_colours(dataset_ids: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """Okabe-Ito colours by dataset, in the order given (beyond eight they repeat: the legend
    and tooltips name the dataset, so colour is never the only cue)."""
    def rgb(hex_colour: str) -> tuple[int, int, int]:
        return tuple(int(hex_colour[index:index + 2], 16) for index in (1, 3, 5))
    return {dataset: rgb(CATEGORICAL[index % len(CATEGORICAL)]) for index, dataset in enumerate(dataset_ids)}


def borough_bounds(areas_geojson: dict, code: str) -> tuple[float, float, float, float]:
    """The (min_lon, min_lat, max_lon, max_lat) of one area's polygon(s)."""
    for feature in areas_geojson["features"]:
        if feature["properties"]["code"] == code:
            points = np.asarray([point for ring in _rings(feature["geometry"]) for point in ring], dtype="float64")
            return (float(points[:, 0].min()), float(points[:, 1].min()),
                    float(points[:, 0].max()), float(points[:, 1].max()))
    raise KeyError(f"no area {code!r} in the boundaries")


def _rings(geometry: dict) -> list:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    raise ValueError(f"unexpected geometry type {geometry['type']!r}")


def sites_map(areas_geojson: dict, code: str, sites: pd.DataFrame, titles: Mapping[str, str],
              colours: Mapping[str, tuple[int, int, int]], view: Mapping) -> pdk.Deck:
    """Every area's outline (the chosen one filled) and the borough's sites coloured by dataset.

    `sites` has dataset, name, kind, lat, lon. Areas are pickable, so a click can pick another one.
    """
    features = [{
        "type": "Feature", "geometry": feature["geometry"],
        "properties": {"code": feature["properties"]["code"], "name": feature["properties"]["name"],
                       "detail": "this borough" if feature["properties"]["code"] == code else "click for its profile",
                       "fill": list(BOROUGH_FILL if feature["properties"]["code"] == code else OTHER_FILL),
                       "line_width": 120 if feature["properties"]["code"] == code else 30},
    } for feature in areas_geojson["features"]]
    located = sites.dropna(subset=["lat", "lon"])
    points = pd.DataFrame({
        "name": located["name"].astype("str").to_numpy(),
        "detail": [f"{titles.get(dataset, dataset)} · {kind}" for dataset, kind in
                   zip(located["dataset"], located["kind"].fillna("").astype("str"))],
        "lon": located["lon"].astype("float64").to_numpy(), "lat": located["lat"].astype("float64").to_numpy(),
        "colour": [list(colours.get(dataset, (0, 0, 0))) + [230] for dataset in located["dataset"]],
    })
    areas_layer = pdk.Layer(
        "GeoJsonLayer", {"type": "FeatureCollection", "features": features}, id="areas", pickable=True,
        stroked=True, filled=True, get_fill_color="properties.fill", get_line_color=[82, 96, 109],
        get_line_width="properties.line_width", line_width_min_pixels=1, line_width_max_pixels=3,
        auto_highlight=True, highlight_color=[82, 96, 109, 90])
    sites_layer = pdk.Layer(
        "ScatterplotLayer", points, id="sites", pickable=True, get_position=["lon", "lat"],
        get_fill_color="colour", get_line_color=list(OUTLINE), stroked=True, get_radius=60,
        radius_min_pixels=5, radius_max_pixels=9, line_width_min_pixels=1)
    # maps.Deck: compact JSON. pydeck's indented, key-sorted JSON of every area's outline took
    # most of this map's time.
    return maps.Deck(
        layers=[areas_layer, sites_layer],
        initial_view_state=pdk.ViewState(latitude=view["latitude"], longitude=view["longitude"],
                                         zoom=view["zoom"], pitch=0, bearing=0),
        map_provider=None, tooltip={"text": "{name}\n{detail}"})


def sites_legend_html(counts: Sequence[tuple[str, tuple[int, int, int], int]]) -> str:
    """A legend: each dataset's colour, title and how many of its sites are on the map."""
    items = "".join(
        f'<li><span class="cd-swatch" style="background:rgb({colour[0]},{colour[1]},{colour[2]});'
        f'border-radius:50%"></span>{_escape(title)}: {count:,}</li>' for title, colour, count in counts)
    return f'<figure class="cd-legend" aria-label="Map legend: sites by dataset"><figcaption>Sites by dataset' \
           f'</figcaption><ul>{items}</ul></figure>'


def sites_sentence(borough_name: str, sites: pd.DataFrame, titles: Mapping[str, str]) -> str:
    """'The map shows 27 sites in Camden (25 reporting in the period): Air quality monitoring 2, ...'."""
    if sites.empty:
        return f"No dataset has a site in {borough_name}."
    counts = sites.groupby("dataset", sort=False).size()
    reporting = int((sites["readings"] > 0).sum())
    parts = [f"{titles.get(dataset, dataset)} {count:,}" for dataset, count in counts.items()]
    return (f"The map shows {len(sites):,} sites in {borough_name} ({reporting:,} reporting in the period): "
            f"{'; '.join(parts)}.")


def without_param(link: str, param: str) -> str:
    """The link without one query parameter (the brief's "this view online" opens the profile at its
    first section, where the figures it quotes are, rather than at the brief's own section)."""
    parts = urlsplit(link)
    kept = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != param]
    return urlunsplit(parts._replace(query=urlencode(kept, safe=",")))


def picked_area(selection: Mapping | None, layer: str = "areas") -> str | None:
    """The area code a pydeck single-object selection picked on `layer`, if any."""
    if not selection:
        return None
    picked = (selection.get("objects") or {}).get(layer) or []
    if not picked:
        return None
    chosen = picked[0] or {}
    properties = chosen.get("properties") if isinstance(chosen.get("properties"), Mapping) else chosen
    code = properties.get("code")
    return str(code) if code else None


# ---------------------------------------------------------------------------------
# Compare


def default_compared(by_area: pd.DataFrame, count: int = 2) -> tuple[str, ...]:
    """With nothing chosen: the highest and the lowest area on the metric (by code without data)."""
    present = by_area.dropna(subset=["value"]).sort_values(["value", "borough_code"], ascending=[False, True])
    if len(present) >= count:
        return tuple([present["borough_code"].iloc[0], present["borough_code"].iloc[-1]][:count])
    return tuple(by_area["borough_code"].head(count))


def _difference_phrase(higher: float, lower: float, metric: Metric) -> str:
    """'12% higher than', '2.4 times as high as', 'about the same as'; in the metric's unit when
    either figure is zero or below (a percentage of a temperature means nothing)."""
    if lower <= 0 or higher <= 0:
        if math.isclose(higher, lower):
            return "the same as"
        return f"{format_value(higher - lower, metric.unit)} higher than"
    change = 100 * (higher - lower) / lower
    if change < SAME_WITHIN_PERCENT:
        return "about the same as"
    if change >= 100:
        return f"{higher / lower:.1f} times as high as"
    return f"{change:.0f}% higher than"


def compare_sentences(values: pd.DataFrame, metric: Metric, when: str) -> list[str]:
    """Every pair of compared areas in words, highest first: '{label}: Camden was 12% higher than
    Islington (38.2 vs 34.1 µg/m³) in March 2026.' `values` has borough_name and value."""
    present = values.dropna(subset=["value"]).sort_values("value", ascending=False)
    absent = values[values["value"].isna()]["borough_name"].tolist()
    sentences = []
    records = present.to_dict("records")
    for index, first in enumerate(records):
        for second in records[index + 1:]:
            if is_suppressed(first["value"], metric) or is_suppressed(second["value"], metric):
                sentences.append(f"{metric.label}: {first['borough_name']} and {second['borough_name']} are not "
                                 "compared because one count is too small to show.")
                continue
            relation = _difference_phrase(float(first["value"]), float(second["value"]), metric)
            sentences.append(
                f"{metric.label}: {first['borough_name']} was {relation} {second['borough_name']} "
                f"({display_value(first['value'], metric)} against {display_value(second['value'], metric)}) "
                f"{when}.")
    if absent:
        sentences.append(f"No {lower_first(metric.label)} data {when} for: {', '.join(absent)}.")
    return sentences


def compare_bars(values: pd.DataFrame, metric: Metric, average: float | None, average_label: str) -> go.Figure:
    """The compared areas' figures as bars on one axis from zero, each labelled with its value,
    and the average borough as a dotted line."""
    shown = values.assign(value=suppress_small(values["value"].astype("float64"), metric))
    colours = [CATEGORICAL[index % len(CATEGORICAL)] for index in range(len(shown))]
    bars = dict(
        type="bar", x=shown["borough_name"], y=shown["value"], marker_color=colours,
        text=[display_value(value, metric) for value in values["value"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{x}: %{y:,.2f} " + _escape(metric.unit) + "<extra></extra>")
    # Built in one go (plotly validates once). The average line is placed as
    # add_hline(annotation_position="top right") placed it, in this chart's own style.
    marks = {} if _missing(average) else dict(
        shapes=[dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=average, y1=average,
                     line=dict(color=CITY_LINE, dash="dot", width=1.5))],
        annotations=[dict(text=f"{_escape(average_label)}: {_escape(display_value(average, metric))}",
                          showarrow=False, bgcolor="rgba(255,255,255,0.85)", xref="x domain", x=1,
                          xanchor="right", yref="y", y=average, yanchor="bottom")])
    return go.Figure(data=[bars], layout=dict(
        font=FONT, height=360, margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor="white", paper_bgcolor="white",
        title=dict(text=_escape(f"{metric.label} over the period"), font=dict(size=16)),
        yaxis=dict(title_text=_escape(metric.unit), rangemode="tozero", gridcolor=GRID["gridcolor"]), **marks))


def compare_lines(daily: pd.DataFrame, metric: Metric, names: Mapping[str, str], order: Sequence[str]) -> go.Figure:
    """One small chart per compared area, side by side, all on the same y axis from zero."""
    columns = max(1, len(order))
    layout = json.loads(_side_by_side(len(order)))
    titles = [_escape(names[code]) for code in order]
    # make_subplots leaves out the title of a chart without one.
    placed = [{**annotation, "text": title}
              for annotation, title in zip(layout.pop("annotations", []), titles) if title]
    if placed:
        layout["annotations"] = placed
    for index in range(columns):
        suffix = "" if index == 0 else str(index + 1)
        layout[f"yaxis{suffix}"].update(rangemode="tozero", gridcolor=GRID["gridcolor"],
                                        zerolinecolor=GRID["zerolinecolor"])
        layout[f"xaxis{suffix}"].update(tickformat="%d %b", nticks=3, gridcolor=GRID["gridcolor"])
    layout["yaxis"]["title"] = dict(text=_escape(metric.unit))
    lines = []
    for index, code in enumerate(order):
        rows = daily[daily["borough_code"] == code]
        lines.append(dict(
            type="scatter", x=rows["day"], y=suppress_small(rows["value"].astype("float64"), metric), mode="lines",
            name=names[code], line=dict(color=CATEGORICAL[index % len(CATEGORICAL)], width=2), showlegend=False,
            hovertemplate="%{x|%d %b %Y}: %{y:,.1f} " + _escape(metric.unit) + "<extra>" + _escape(names[code])
                          + "</extra>",
            # The chart's own axes, as make_subplots' add_trace(row=1, col=index + 1) sets them.
            xaxis="x" if index == 0 else f"x{index + 1}", yaxis="y" if index == 0 else f"y{index + 1}"))
    # The whole figure validated once: make_subplots, then an add_trace per area and an update per
    # setting, re-validated it at every step (about 25 ms a figure, against 5).
    return go.Figure(data=lines, layout=dict(
        layout, font=FONT, height=320, margin=dict(l=10, r=10, t=80, b=10), plot_bgcolor="white",
        paper_bgcolor="white", title=dict(text=_escape(f"{metric.label}, day by day, same scale"),
                                          font=dict(size=16))))


@functools.lru_cache(maxsize=16)
def _side_by_side(charts: int) -> str:
    """make_subplots' layout for `charts` charts in a row sharing one y axis, with placeholder
    titles, as JSON (each use gets its own copy): the grid depends only on the number of charts,
    and make_subplots alone takes about 10 ms."""
    # Gaps wide enough that one chart's last date label does not run into the next one's first.
    layout = make_subplots(rows=1, cols=max(1, charts), shared_yaxes=True, horizontal_spacing=0.08,
                           subplot_titles=["title"] * charts).to_dict()["layout"]
    layout.pop("template", None)
    return json.dumps(layout)
