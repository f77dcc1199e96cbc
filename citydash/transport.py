"""The transport page's logic: stations, cycle hire docks and road traffic counts.

Pure functions over the frames the transport_* queries return, and builders of the page's maps
(pydeck), charts (plotly), legends and sentences. No Streamlit here, so everything tests alone.

A dataset plays a part on the page by the metric ids it carries, the ids the connectors and the
demo generator share, never by its dataset id: a station dataset has daily `entries`/`exits`
(the demo) or yearly typical-day counts with `annual_entries_exits` (TfL); a dock dataset has
`dock_capacity`; a road traffic dataset has `cars` and `pedal_cycles`. Another city's pack with
its own dataset ids works unchanged.
"""

from __future__ import annotations

import html
import json
import math
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
from plotly.subplots import make_subplots

from citydash import charts
from citydash.catalog import Catalog, Dataset, pack_files
from citydash.charts import CATEGORICAL, CITY_LINE, HIGHLIGHT, MUTED
from citydash.maps import SEQUENTIAL, ColourBin, Deck, colour_bins, format_value
from citydash.state import MAX_PARAM_LENGTH

STATIONS, DOCKS, TRAFFIC = "stations", "docks", "traffic"
ROLE_METRICS: dict[str, tuple[frozenset[str], ...]] = {
    STATIONS: (frozenset({"entries", "exits"}), frozenset({"annual_entries_exits"})),
    DOCKS: (frozenset({"dock_capacity"}),),
    TRAFFIC: (frozenset({"cars", "pedal_cycles"}),),
}
DAYS_PER_YEAR = 365.25
STEP_WORDS = {"day": "day by day", "week": "week by week", "month": "month by month", "year": "year by year"}
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOUR_LABELS = tuple(f"{hour:02d}:00" for hour in range(24))

# Above this many points a map's tooltips give numbers only: a name per point would take the
# page's JSON past 2 MB at 20,000 points, and every name is in the table under the map.
LABEL_LIMIT = 5_000
SELECTED_ALPHA = 225
UNSELECTED_ALPHA = 55
POINT_OUTLINE = (40, 40, 40)
OUTLINE_COLOUR = (82, 96, 109)
LAND_COLOUR = (241, 243, 245)
LINE_COLOUR = (60, 60, 60)


# ---------------------------------------------------------------------------------------------
# Which datasets play which part, and which one to show


def transport_sources(datasets: Iterable[Dataset]) -> dict[str, list[Dataset]]:
    """Datasets by the part they can play (stations, docks, traffic), real before synthetic."""
    found: dict[str, list[Dataset]] = {role: [] for role in ROLE_METRICS}
    for dataset in datasets:
        ids = {metric.id for metric in dataset.metrics}
        for role, alternatives in ROLE_METRICS.items():
            if any(needed <= ids for needed in alternatives):
                found[role].append(dataset)
    return {role: sorted(members, key=lambda dataset: (dataset.synthetic, dataset.id))
            for role, members in found.items()}


def pick_source(candidates: list[Dataset], coverage: pd.DataFrame) -> Dataset | None:
    """The dataset to show by default: the first (real before synthetic) with data in the period."""
    in_period = set(coverage.loc[coverage["days_in_period"] > 0, "dataset"])
    return next((dataset for dataset in candidates if dataset.id in in_period), None)


def coverage_text(dataset: Dataset, coverage: pd.DataFrame) -> str:
    """'<title> covers 01 Jan 2000 to 31 Dec 2016' or 'has no data yet'."""
    rows = coverage[coverage["dataset"] == dataset.id]
    if rows.empty or pd.isna(rows["first_day"].iloc[0]):
        return f"{dataset.title} has no data yet"
    first, last = pd.Timestamp(rows["first_day"].iloc[0]), pd.Timestamp(rows["last_day"].iloc[0])
    return f"{dataset.title} covers {first:%d %b %Y} to {last:%d %b %Y}"


def trend_bucket(span_days: int, entity_days: int, entity_years: int, daily_up_to: int = 92) -> str:
    """The time step a trend is drawn in: day, week, month or year.

    A series sampled about once a year per entity (TfL's yearly counts, DfT's one count day a
    year) is only comparable year by year, whatever the period. A daily series is drawn by day
    over short periods and summed into weeks, months or years over longer ones.
    """
    if entity_years and entity_days <= 1.5 * entity_years:
        return "year"
    if span_days <= daily_up_to:
        return "day"
    if span_days <= 183:
        return "week"
    if span_days <= 3 * 366:
        return "month"
    return "year"


def has_period_data(coverage: pd.DataFrame, dataset_id: str) -> bool:
    rows = coverage[coverage["dataset"] == dataset_id]
    return bool(not rows.empty and rows["days_in_period"].iloc[0] > 0)


def sampling(counts: pd.DataFrame, dataset_id: str) -> tuple[int, int]:
    """(entity-days, entity-years) of a dataset (queries/transport_sampling.sql), for trend_bucket."""
    rows = counts[counts["dataset"] == dataset_id]
    if rows.empty:
        return 0, 0
    return int(rows["entity_days"].iloc[0]), int(rows["entity_years"].iloc[0])


def in_selection(frame: pd.DataFrame, boroughs: tuple[str, ...]) -> pd.DataFrame:
    """Rows in the selected boroughs; an empty selection means every borough."""
    if not boroughs:
        return frame
    return frame[frame["borough_code"].isin(boroughs)]


def mapped_table(table: pd.DataFrame, boroughs: tuple[str, ...]) -> pd.DataFrame:
    """Every point a map draws, those in the selection first, flagged `in_selection`."""
    flagged = table.assign(in_selection=table["borough_code"].isin(boroughs) if boroughs else True)
    return flagged.sort_values("in_selection", ascending=False, kind="stable").reset_index(drop=True)


def _per_entity(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per entity with its descriptive columns (transport_entity_metrics has one per metric)."""
    columns = ["entity_id", "name", "kind", "lat", "lon", "borough_code", "borough_name"]
    return metrics[columns].drop_duplicates("entity_id").set_index("entity_id")


# Both take only the columns they need from the metric's rows: filtering the whole frame copied its
# text columns too, and for a table of eight metrics that was half of its time.
def _metric_column(metrics: pd.DataFrame, metric: str, column: str) -> pd.Series:
    rows = (metrics["metric"] == metric).to_numpy(dtype=bool)
    return pd.Series(metrics[column].to_numpy(dtype="float64")[rows], index=metrics["entity_id"].to_numpy()[rows])


def _metric_mean(metrics: pd.DataFrame, metric: str) -> pd.Series:
    """Each entity's mean reading of one metric (per reading: a day, an hour or a year)."""
    rows = (metrics["metric"] == metric).to_numpy(dtype=bool)
    values = metrics["total"].to_numpy(dtype="float64")[rows] / metrics["readings"].to_numpy(dtype="float64")[rows]
    return pd.Series(values, index=metrics["entity_id"].to_numpy()[rows])


def _group_columns(*columns: pd.Series | pd.DataFrame) -> pd.DataFrame:
    """Aggregates of one groupby side by side, its keys as columns. One cythonised aggregate per
    column: named aggregation (`agg(name=(column, function))`) costs a few milliseconds a call on
    any size of frame, and a lambda runs Python once per group; together they were 6-14 ms of
    each of the transport tables on a date change."""
    return pd.concat(columns, axis=1).reset_index()


def _sum_series(parts: list[pd.Series]) -> pd.Series:
    """Element-wise sum that is missing wherever any part is missing."""
    frame = pd.concat(parts, axis=1)
    return frame.sum(axis=1, min_count=len(parts)).where(frame.notna().all(axis=1))


# ---------------------------------------------------------------------------------------------
# Stations


@dataclass(frozen=True)
class StationScheme:
    """Which metrics of a station dataset answer which question.

    yearly: every reading is one year's count (TfL), not one day's (the demo).
    volume: metrics that add up to entries + exits (per day, or per year when yearly).
    weekday / weekend: metrics of a typical weekday and weekend day (yearly datasets only;
      a daily dataset splits its own days by day of the week).
    bands: (label, entries metric, exits metric) of a typical weekday's time-of-day bands.
    """

    yearly: bool
    volume: tuple[str, ...]
    weekday: tuple[str, ...] = ()
    weekend: tuple[str, ...] = ()
    bands: tuple[tuple[str, str, str], ...] = ()

    @property
    def metrics(self) -> list[str]:
        band_metrics = [metric for _, entries, exits in self.bands for metric in (entries, exits)]
        return list(dict.fromkeys([*self.volume, *self.weekday, *self.weekend, *band_metrics]))


DAILY_STATIONS = StationScheme(yearly=False, volume=("entries", "exits"))
YEARLY_STATIONS = StationScheme(
    yearly=True,
    volume=("annual_entries_exits",),
    weekday=("weekday_entries", "weekday_exits"),
    weekend=("saturday_entries", "saturday_exits", "sunday_entries", "sunday_exits"),
    bands=(
        ("Early morning", "weekday_early_entries", "weekday_early_exits"),
        ("Morning peak", "weekday_am_entries", "weekday_am_exits"),
        ("Midday", "weekday_mid_entries", "weekday_mid_exits"),
        ("Evening peak", "weekday_pm_entries", "weekday_pm_exits"),
        ("Late evening", "weekday_late_entries", "weekday_late_exits"),
    ),
)


def station_scheme(dataset: Dataset) -> StationScheme:
    ids = {metric.id for metric in dataset.metrics}
    if set(DAILY_STATIONS.volume) <= ids:
        return DAILY_STATIONS
    present = tuple((label, entries, exits) for label, entries, exits in YEARLY_STATIONS.bands
                    if {entries, exits} <= ids)
    return StationScheme(
        yearly=True, volume=YEARLY_STATIONS.volume,
        weekday=YEARLY_STATIONS.weekday if set(YEARLY_STATIONS.weekday) <= ids else (),
        weekend=YEARLY_STATIONS.weekend if set(YEARLY_STATIONS.weekend) <= ids else (),
        bands=present)


def station_table(metrics: pd.DataFrame, daytypes: pd.DataFrame | None, scheme: StationScheme) -> pd.DataFrame:
    """One row per station with entries + exits on an average day, a weekday and a weekend day.

    metrics: transport_entity_metrics rows; daytypes: transport_entity_daytypes rows (daily
    datasets only). Yearly counts are averaged over the years in the period; an average day
    of a year is its annual total / 365.25. A station without the volume metric in the period
    is left out.
    """
    stations = _per_entity(metrics)
    if scheme.yearly:
        per_day = _sum_series([_metric_mean(metrics, metric) for metric in scheme.volume]) / DAYS_PER_YEAR
        weekday = _sum_series([_metric_mean(metrics, metric) for metric in scheme.weekday]) if scheme.weekday \
            else pd.Series(dtype="float64")
        # A typical weekend day: the mean of a typical Saturday and a typical Sunday.
        weekend = _sum_series([_metric_mean(metrics, metric) for metric in scheme.weekend]) / 2 if scheme.weekend \
            else pd.Series(dtype="float64")
        periods = _metric_column(metrics, scheme.volume[0], "readings")
    else:
        by_entity = metrics[metrics["metric"].isin(scheme.volume)].groupby("entity_id")
        periods = by_entity["days"].max()
        per_day = by_entity["total"].sum() / periods
        weekday, weekend = _daily_weekday_weekend(daytypes, scheme)
    table = stations.assign(
        per_day=per_day.reindex(stations.index),
        weekday=weekday.reindex(stations.index),
        weekend=weekend.reindex(stations.index),
        periods=periods.reindex(stations.index),
    ).rename(columns={"kind": "mode"})
    table = table[table["per_day"].notna()].reset_index()
    return table.sort_values(["per_day", "name"], ascending=[False, True]).reset_index(drop=True)


def daily_station_metrics(entities: pd.DataFrame, daytypes: pd.DataFrame, scheme: StationScheme) -> pd.DataFrame:
    """What station_table reads of transport_entity_metrics for a daily dataset (each entity with
    its volume metrics' totals and days) from transport_entity_daytypes rows, summed over the kinds
    of day, and transport_entities rows: a date change then asks one query over the period, not two.

    entities: one row per entity; stations with no volume rows in the period are left out."""
    volume = daytypes[daytypes["metric"].isin(scheme.volume)]
    sums = volume.groupby(["entity_id", "metric"], as_index=False)[["total", "days"]].sum()
    return sums.merge(entities, on="entity_id")


def _daily_weekday_weekend(daytypes: pd.DataFrame | None, scheme: StationScheme) -> tuple[pd.Series, pd.Series]:
    if daytypes is None or daytypes.empty:
        return pd.Series(dtype="float64"), pd.Series(dtype="float64")
    by_type = daytypes[daytypes["metric"].isin(scheme.volume)].groupby(["entity_id", "day_type"])
    totals = by_type["total"].sum().unstack("day_type")
    days = by_type["days"].max().unstack("day_type")
    weekday = totals.get("weekday") / days.get("weekday") if "weekday" in totals else pd.Series(dtype="float64")
    weekend_types = [name for name in ("saturday", "sunday") if name in totals]
    if not weekend_types:
        return weekday, pd.Series(dtype="float64")
    weekend = totals[weekend_types].sum(axis=1, min_count=1) / days[weekend_types].sum(axis=1, min_count=1)
    return weekday, weekend


def station_boroughs(stations: pd.DataFrame) -> pd.DataFrame:
    """Per borough: stations, and entries + exits on an average day, weekday and weekend day."""
    grouped = stations.groupby(["borough_code", "borough_name"])
    table = _group_columns(grouped.size().rename("stations"), grouped["per_day"].sum(),
                           grouped[["weekday", "weekend"]].sum(min_count=1))
    table["weekend_share"] = table["weekend"] / table["weekday"]
    return table.sort_values("per_day", ascending=False).reset_index(drop=True)


def busiest_per_borough(stations: pd.DataFrame, count: int = 3) -> pd.DataFrame:
    """The `count` busiest stations of each borough, ranked within it (1 = busiest)."""
    ranked = stations.sort_values(["borough_name", "per_day", "name"], ascending=[True, False, True])
    ranked = ranked.assign(rank=ranked.groupby("borough_code").cumcount() + 1)
    return ranked[ranked["rank"] <= count][["borough_name", "rank", "name", "mode", "per_day"]].reset_index(drop=True)


def station_bands(metrics: pd.DataFrame | None, scheme: StationScheme, boroughs: tuple[str, ...]) -> pd.DataFrame:
    """A typical weekday's entries and exits by time band over the selected stations.

    One row per band in the day's order: band, entries, exits, stations. Empty when the data
    has no time bands (the demo's daily totals, whose page has no metrics rows: None).
    """
    rows = []
    # Only the band metrics' rows are needed; none at all when the data has no bands.
    band_metrics = [metric for _, entries, exits in scheme.bands for metric in (entries, exits)]
    selected = in_selection(metrics[metrics["metric"].isin(band_metrics)], boroughs) if band_metrics else metrics
    for label, entries_metric, exits_metric in scheme.bands:
        entries, exits = _metric_mean(selected, entries_metric), _metric_mean(selected, exits_metric)
        rows.append({"band": label, "entries": float(entries.sum()), "exits": float(exits.sum()),
                     "stations": int(entries.index.union(exits.index).size)})
    frame = pd.DataFrame(rows, columns=["band", "entries", "exits", "stations"])
    return frame if frame["stations"].sum() > 0 else frame.iloc[0:0]


def station_trend(trend: pd.DataFrame, scheme: StationScheme) -> pd.DataFrame:
    """Entries + exits on an average day per time bucket, and how many stations were counted.

    trend: transport_trend rows for the scheme's volume metrics. Returns bucket, per_day, stations.
    """
    by_bucket = trend[trend["metric"].isin(scheme.volume)].groupby("bucket")
    grouped = _group_columns(by_bucket["total"].sum(), by_bucket["days"].max(),
                             by_bucket["entities"].max().rename("stations"))
    if scheme.yearly:
        # Every reading is a year's total: an average day is the total over a year's days.
        grouped["per_day"] = grouped["total"] / DAYS_PER_YEAR
    else:
        grouped["per_day"] = grouped["total"] / grouped["days"]
    return grouped[["bucket", "per_day", "stations"]].sort_values("bucket").reset_index(drop=True)


def counted_changes(counts: pd.Series) -> bool:
    """True when the number of things counted moves by more than a tenth across a trend."""
    counts = counts.dropna()
    return bool(len(counts) > 1 and counts.max() > 1.1 * counts.min())


# ---------------------------------------------------------------------------------------------
# Cycle hire docks


@dataclass(frozen=True)
class DockScheme:
    capacity: str = "dock_capacity"
    hires: str | None = None
    bikes: str | None = None

    @property
    def metrics(self) -> list[str]:
        return [metric for metric in (self.capacity, self.hires, self.bikes) if metric]


def dock_scheme(dataset: Dataset) -> DockScheme:
    ids = {metric.id for metric in dataset.metrics}
    return DockScheme(hires="hires" if "hires" in ids else None,
                      bikes="bikes_available" if "bikes_available" in ids else None)


def dock_table(metrics: pd.DataFrame, scheme: DockScheme) -> pd.DataFrame:
    """One row per dock: capacity (its largest reading), hires and hires per day, bikes docked on
    average and occupancy (bikes / docking points, 0 to 1). Missing where the data has none."""
    docks = _per_entity(metrics)
    capacity = _metric_column(metrics, scheme.capacity, "peak")
    hires = _metric_column(metrics, scheme.hires, "total") if scheme.hires else pd.Series(dtype="float64")
    hire_days = _metric_column(metrics, scheme.hires, "days") if scheme.hires else pd.Series(dtype="float64")
    bikes = _metric_mean(metrics, scheme.bikes) if scheme.bikes else pd.Series(dtype="float64")
    table = docks.assign(
        capacity=capacity.reindex(docks.index),
        hires=hires.reindex(docks.index),
        hires_per_day=(hires / hire_days).reindex(docks.index),
        bikes=bikes.reindex(docks.index),
    )
    table["occupancy"] = (table["bikes"] / table["capacity"].where(table["capacity"] > 0)).clip(upper=1)
    return table.reset_index().sort_values(["capacity", "name"], ascending=[False, True]).reset_index(drop=True)


def dock_boroughs(docks: pd.DataFrame) -> pd.DataFrame:
    """Per borough: docks, docking points, hires per day and bikes docked as a share of points."""
    grouped = docks.groupby(["borough_code", "borough_name"])
    table = _group_columns(grouped.size().rename("docks"), grouped["capacity"].sum().rename("docking_points"),
                           grouped[["hires_per_day", "bikes"]].sum(min_count=1))
    table["occupancy"] = table["bikes"] / table["docking_points"].where(table["docking_points"] > 0)
    return table.sort_values("docking_points", ascending=False).reset_index(drop=True)


def _week_sums(day_of_week: pd.Series, hour: pd.Series, averages: np.ndarray, group: np.ndarray,
               groups: int) -> np.ndarray:
    """Each group's averages summed per day of the week (1 = Monday) and hour, laid out as `groups`
    weeks of 7 x 24 cells, Monday 00:00 first: what pivot_table(aggfunc="sum") reindexed to the whole
    week gives, without a pivot per group. A missing average adds nothing; a cell without rows is
    missing; days and hours outside the week (or a group of -1) are left out."""
    day = day_of_week.to_numpy(dtype="float64")
    hours = hour.to_numpy(dtype="float64")
    kept = (group >= 0) & np.isin(day, np.arange(1, 8)) & np.isin(hours, np.arange(24))
    cells = group[kept] * 168 + (day[kept].astype("int64") - 1) * 24 + hours[kept].astype("int64")
    values = averages[kept]
    sums = np.zeros(168 * groups)
    np.add.at(sums, cells, np.where(np.isnan(values), 0.0, values))
    return np.where(np.bincount(cells, minlength=168 * groups) > 0, sums, np.nan)


def _averages(rows: pd.DataFrame) -> np.ndarray:
    """Each row's average: its total over the days of that kind with data."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return rows["total"].to_numpy(dtype="float64") / rows["days"].to_numpy(dtype="float64")


def hour_week_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    """Average per (local) hour on each day of the week: 7 rows (Monday first) by 24 hour columns.

    rows: transport_hour_week. The average is the total over the days of that kind with data.
    """
    sums = _week_sums(rows["day_of_week"], rows["hour"], _averages(rows), np.zeros(len(rows), dtype="int64"), 1)
    return pd.DataFrame(sums.reshape(len(DAY_NAMES), len(HOUR_LABELS)), index=pd.Index(list(DAY_NAMES)),
                        columns=pd.RangeIndex(len(HOUR_LABELS), name="hour"))


def hour_week_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """The heatmap's numbers in long form: day, hour (as 08:00), average."""
    hours = [f"{int(hour):02d}:00" for hour in matrix.columns]
    return pd.DataFrame({"day": matrix.index.repeat(len(hours)), "hour": hours * len(matrix),
                         "average": matrix.to_numpy(dtype="float64").ravel()})


# ---------------------------------------------------------------------------------------------
# Road traffic

VEHICLE_TYPES: tuple[tuple[str, str], ...] = (
    ("cars", "Cars and taxis"),
    ("lgvs", "Light goods vehicles"),
    ("hgvs", "Heavy goods vehicles"),
    ("buses", "Buses and coaches"),
    ("motorcycles", "Motorcycles"),
    ("pedal_cycles", "Pedal cycles"),
)
MOTOR_VEHICLES = ("cars", "lgvs", "hgvs", "buses", "motorcycles")


def vehicle_types(dataset: Dataset) -> list[tuple[str, str]]:
    ids = {metric.id for metric in dataset.metrics}
    return [(metric, label) for metric, label in VEHICLE_TYPES if metric in ids]


def cycle_share(cycles: pd.Series | float, cars: pd.Series | float):
    """Pedal cycles as a share (0 to 1) of cars and cycles together; missing when both are zero."""
    together = cycles + cars
    if isinstance(together, pd.Series):
        return cycles / together.where(together > 0)
    return cycles / together if together > 0 else float("nan")


def traffic_table(metrics: pd.DataFrame, types: list[tuple[str, str]]) -> pd.DataFrame:
    """One row per count point: counts (readings) and each vehicle type per count, motor vehicles
    per count and the cycle share. A count is one reading: a day in the demo, an hour in DfT's."""
    points = _per_entity(metrics)
    means = {metric: _metric_mean(metrics, metric).reindex(points.index) for metric, _ in types}
    counts = metrics.groupby("entity_id")["readings"].max().reindex(points.index)
    table = points.assign(counts=counts, **means)
    motor = [metric for metric in MOTOR_VEHICLES if metric in means]
    table["motor_vehicles"] = table[motor].sum(axis=1, min_count=1) if motor else np.nan
    if "pedal_cycles" in means and "cars" in means:
        table["cycle_share"] = cycle_share(table["pedal_cycles"], table["cars"])
    else:
        table["cycle_share"] = np.nan
    table = table.rename(columns={"kind": "road"}).reset_index()
    return table.sort_values(["motor_vehicles", "name"], ascending=[False, True]).reset_index(drop=True)


def _by_metric(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """pivot_table(index=keys, columns="metric", values=value) at a fraction of its cost when the rows
    are unique per keys and metric (as the queries return them): missing values are left out, so a
    row without any is left out, and the rows come sorted by the keys."""
    values = frame.set_index([*keys, "metric"])[value]
    if not values.index.is_unique:
        return frame.pivot_table(index=keys, columns="metric", values=value)  # each cell's mean
    return values.astype("float64").dropna().unstack("metric")


def traffic_boroughs(metrics: pd.DataFrame, types: list[tuple[str, str]]) -> pd.DataFrame:
    """Per borough: count points, each vehicle type per count (all counts weighted alike), motor
    vehicles per count and the cycle share (of all cycles and cars counted)."""
    known = metrics[metrics["metric"].isin([metric for metric, _ in types])]
    # Unique per borough and metric by construction, so each pivot is an unstack of the sums.
    sums = known.groupby(["borough_code", "borough_name", "metric"])[["total", "readings"]].sum()
    table = (sums["total"] / sums["readings"]).astype("float64").dropna().unstack("metric")
    table = table.reindex(columns=[metric for metric, _ in types])
    points = known.groupby(["borough_code", "borough_name"])["entity_id"].nunique().rename("count_points")
    table = table.join(points)
    motor = [metric for metric in MOTOR_VEHICLES if metric in table]
    table["motor_vehicles"] = table[motor].sum(axis=1, min_count=1) if motor else np.nan
    totals = sums["total"].astype("float64").dropna().unstack("metric")
    if {"pedal_cycles", "cars"} <= set(totals.columns):
        table["cycle_share"] = cycle_share(totals["pedal_cycles"], totals["cars"]).reindex(table.index)
    else:
        table["cycle_share"] = np.nan
    table.columns.name = None
    return table.reset_index().sort_values("motor_vehicles", ascending=False).reset_index(drop=True)


def traffic_trend(trend: pd.DataFrame, types: list[tuple[str, str]]) -> pd.DataFrame:
    """Each vehicle type per count per time bucket: bucket, metric, label, per_count, count_points."""
    labels = dict(types)
    rows = trend[trend["metric"].isin(labels)].copy()
    rows["per_count"] = rows["total"] / rows["readings"]
    rows["label"] = rows["metric"].map(labels)
    rows = rows.rename(columns={"entities": "count_points"})
    order = {metric: index for index, (metric, _) in enumerate(types)}
    rows = rows.assign(order=rows["metric"].map(order)).sort_values(["bucket", "order"])
    return rows[["bucket", "metric", "label", "per_count", "count_points"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Per borough, side by side

# Two to six chosen boroughs get a panel each on the same scales; one is the pooled view already,
# and beyond six the panels get too small to read, so the pooled view and a per-borough table stay.
SIDE_BY_SIDE_MIN, SIDE_BY_SIDE_MAX = 2, 6


def side_by_side(boroughs: tuple[str, ...]) -> bool:
    return SIDE_BY_SIDE_MIN <= len(boroughs) <= SIDE_BY_SIDE_MAX


def hour_week_by_borough(rows: pd.DataFrame) -> pd.DataFrame:
    """transport_hour_week_by_borough in long form: borough_code, borough_name, day, hour (as 08:00),
    average; every borough with data gets all 168 hours of the week (missing where none).

    Each borough's averages are hour_week_matrix's, all boroughs laid out at once: a pivot per
    borough was most of the page's rerun time."""
    columns = ["borough_code", "borough_name", "day", "hour", "average"]
    keys = rows.groupby(["borough_code", "borough_name"], sort=True)
    boroughs = keys.size().index
    if not len(boroughs):
        return pd.DataFrame(columns=columns)
    # A row without a borough code or name has no group (ngroup gives it NaN): -1, left out.
    group = keys.ngroup().fillna(-1).to_numpy(dtype="int64")
    sums = _week_sums(rows["day_of_week"], rows["hour"], _averages(rows), group, len(boroughs))
    return pd.DataFrame({
        "borough_code": boroughs.get_level_values(0).repeat(168),
        "borough_name": boroughs.get_level_values(1).repeat(168),
        "day": pd.Index(list(DAY_NAMES)).repeat(24).tolist() * len(boroughs),
        "hour": list(HOUR_LABELS) * (7 * len(boroughs)),
        "average": sums,
    }, columns=columns)


PANEL_TITLE_PX = 30


def _panel_grid(count: int) -> tuple[int, int]:
    """Rows and columns for `count` panels: one column up to three, then two side by side."""
    columns = 1 if count <= 3 else 2
    return math.ceil(count / columns), columns


@lru_cache(maxsize=32)
def _panel_skeleton(count: int, shared: bool | str, vertical_gap: float,
                    horizontal_spacing: float) -> tuple[str, tuple[tuple[int, tuple[str, str], dict], ...]]:
    """make_subplots' grid for `count` panels, made once per shape: its layout (axes, domains and the
    panel titles' positions, as JSON) and each cell's (column, axis names, trace axes), in order.

    make_subplots builds and validates a whole figure (10-16 ms) and every add_trace(row=, col=)
    re-validates it; with the grid at hand the panels are one figure validated once."""
    rows, columns = _panel_grid(count)
    grid = make_subplots(rows=rows, cols=columns, subplot_titles=[f"panel {index + 1}" for index in range(count)],
                         shared_xaxes=shared, shared_yaxes=shared, vertical_spacing=vertical_gap / rows,
                         horizontal_spacing=horizontal_spacing)
    layout = grid.layout.to_plotly_json()
    layout.pop("template", None)  # the default template, which every new figure gets anyway
    cells = []
    for row in range(1, rows + 1):
        for column in range(1, columns + 1):
            panel = grid.get_subplot(row, column)
            x_name, y_name = panel.xaxis.plotly_name, panel.yaxis.plotly_name  # "xaxis2", "yaxis2"...
            cells.append((column, (x_name, y_name), {"xaxis": "x" + x_name[5:], "yaxis": "y" + y_name[5:]}))
    return json.dumps(layout), tuple(cells)


def _panels(count: int, shared: bool | str, vertical_gap: float, horizontal_spacing: float,
            titles: list[str]) -> tuple[dict, tuple[tuple[int, tuple[str, str], dict], ...]]:
    """A fresh copy of the grid's layout with the panels' titles (an empty title is left out, as
    make_subplots does), and the cells."""
    layout_json, cells = _panel_skeleton(count, shared, vertical_gap, horizontal_spacing)
    layout = json.loads(layout_json)
    layout["annotations"] = [{**note, "text": text} for note, text in zip(layout["annotations"], titles) if text]
    return layout, cells


def _borough_rows(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[frame["borough_name"] == name]


def _panel_titles(frame: pd.DataFrame, names: list[str], value: str) -> list[str]:
    return [name if _borough_rows(frame, name)[value].notna().any() else f"{name} (no data)" for name in names]


def _week_grid(rows: pd.DataFrame) -> np.ndarray:
    """One borough's hour_week_by_borough rows (one per day and hour) as a 7 (Monday first) by 24
    hours array, placed directly rather than pivoted and reindexed."""
    grid = np.full((len(DAY_NAMES), len(HOUR_LABELS)), np.nan)
    day = rows["day"].map({name: index for index, name in enumerate(DAY_NAMES)}).to_numpy(dtype="float64")
    hour = rows["hour"].map({label: index for index, label in enumerate(HOUR_LABELS)}).to_numpy(dtype="float64")
    kept = ~(np.isnan(day) | np.isnan(hour))
    grid[day[kept].astype("int64"), hour[kept].astype("int64")] = rows["average"].to_numpy(dtype="float64")[kept]
    return grid


def heatmap_panels(by_borough: pd.DataFrame, names: list[str], title: str, unit: str) -> go.Figure:
    """One day-of-week by hour heatmap per borough, in the order given, all on one colour scale
    (0 to the largest average of any of them) so the shades compare across boroughs."""
    rows, columns = _panel_grid(len(names))
    grid, cells = _panels(len(names), True, 0.22, 0.04, _panel_titles(by_borough, names, "average"))
    chosen = by_borough[by_borough["borough_name"].isin(names)]
    largest = float(chosen["average"].max()) if chosen["average"].notna().any() else 1.0
    hours, days = list(HOUR_LABELS), list(DAY_NAMES)
    panels = [dict(
        type="heatmap", z=_week_grid(_borough_rows(by_borough, name)), x=hours, y=days, coloraxis="coloraxis",
        xgap=1, ygap=1, name=name, hovertemplate=name + ", %{y} %{x}: %{z:,.1f} " + unit + "<extra></extra>",
        **cells[index][2],
    ) for index, name in enumerate(names)]
    axes = {}
    for _, (x_name, y_name), _ in cells:
        axes[x_name] = charts.axis(**grid.get(x_name, {}), tickangle=0, dtick=3 if columns == 1 else 6,
                                   tickfont=dict(size=11))
        axes[y_name] = charts.axis(**grid.get(y_name, {}), autorange="reversed", tickfont=dict(size=11))
    return charts.figure(panels, {
        **_style(title, height=60 + 240 * rows), **axes, "annotations": grid["annotations"],
        "coloraxis": dict(colorscale=_colour_scale(), cmin=0, cmax=largest,
                          colorbar=dict(title=dict(text=unit, side="right"))),
    })


def panels_heatmap_sentence(by_borough: pd.DataFrame, names: list[str], unit: str) -> str:
    """Each borough's busiest hour, in the panels' order."""
    parts = []
    for name in names:
        rows = _borough_rows(by_borough, name).dropna(subset=["average"])
        if rows.empty:
            parts.append(f"{name} has none")
            continue
        top = rows.loc[rows["average"].idxmax()]
        parts.append(f"{name} {top['day']} {top['hour']} ({top['average']:,.1f})")
    return f"The busiest hour, on average {unit} on one colour scale for all: " + "; ".join(parts) + "."


def traffic_trend_by_borough(rows: pd.DataFrame, types: list[tuple[str, str]]) -> pd.DataFrame:
    """transport_trend_by_borough as vehicles per count: borough_code, borough_name, bucket, metric,
    label, per_count, count_points, in the catalogue's order of vehicle types."""
    labels = dict(types)
    known = rows[rows["metric"].isin(labels)].copy()
    known["per_count"] = known["total"] / known["readings"]
    known["label"] = known["metric"].map(labels)
    known = known.rename(columns={"entities": "count_points"})
    order = {metric: index for index, (metric, _) in enumerate(types)}
    known = known.assign(order=known["metric"].map(order)).sort_values(["borough_name", "bucket", "order"])
    return known[["borough_code", "borough_name", "bucket", "metric", "label", "per_count",
                  "count_points"]].reset_index(drop=True)


def traffic_borough_table(trend: pd.DataFrame, types: list[tuple[str, str]]) -> pd.DataFrame:
    """One row per borough and period: the count points counted and each vehicle type per count."""
    columns = ["borough_code", "borough_name", "bucket", "count_points", *(metric for metric, _ in types)]
    if trend.empty:
        return pd.DataFrame(columns=columns)
    keys = ["borough_code", "borough_name", "bucket"]
    wide = _by_metric(trend, keys, "per_count")
    wide = wide.reindex(columns=[metric for metric, _ in types])
    wide = wide.join(trend.groupby(keys)["count_points"].max())
    wide.columns.name = None
    return wide.reset_index()[columns].sort_values(["borough_name", "bucket"]).reset_index(drop=True)


def stacked_types_panels(trend: pd.DataFrame, types: list[tuple[str, str]], names: list[str], title: str,
                         unit: str, bucket: str) -> go.Figure:
    """Vehicle types stacked per time bucket, one panel per borough in the order given, every panel
    on the same time and vehicle axes; the legend names each type once."""
    rows, _ = _panel_grid(len(names))
    grid, cells = _panels(len(names), "all", 0.2, 0.05, _panel_titles(trend, names, "per_count"))
    date_format = {"year": "%Y", "month": "%b %Y"}.get(bucket, "%d %b %Y")
    # Split once by borough and type rather than filtering the frame for every bar.
    pieces = dict(tuple(trend.groupby(["borough_name", "metric"], sort=False))) if len(trend) else {}
    empty = trend.iloc[0:0]
    bars = []
    for index, name in enumerate(names):
        for order, (metric, label) in enumerate(types):
            rows_of_type = pieces.get((name, metric), empty)
            bars.append(dict(
                type="bar", x=_plain(rows_of_type["bucket"]), y=_plain(rows_of_type["per_count"]), name=label,
                legendgroup=metric, showlegend=index == 0, marker_color=CATEGORICAL[order % len(CATEGORICAL)],
                hovertemplate=name + ", %{x|" + date_format + "}, " + label + ": %{y:,.1f} " + unit
                              + "<extra></extra>", **cells[index][2],
            ))
    axes = {}
    for column, (x_name, y_name), _ in cells:
        axes[x_name] = charts.axis(**grid.get(x_name, {}), title_text=None)
        axes[y_name] = charts.axis(**grid.get(y_name, {}), rangemode="tozero",
                                   **({"title_text": unit} if column == 1 else {}))
    house = _style(title, height=40 + 260 * rows, legend_rows=2, barmode="stack", **axes,
                   annotations=grid["annotations"])
    # The legend sits above the first row's panel titles, not on them: lifted by a title's height.
    margin = house["margin"]
    plot_height = house["height"] - margin["t"] - margin["b"] + PANEL_TITLE_PX
    house.update(height=house["height"] + PANEL_TITLE_PX, margin={**margin, "t": margin["t"] + PANEL_TITLE_PX},
                 legend={**house["legend"], "traceorder": "normal", "y": 1 + PANEL_TITLE_PX / plot_height})
    return charts.figure(bars, house)


def panels_traffic_sentence(table: pd.DataFrame, types: list[tuple[str, str]], names: list[str]) -> str:
    """Each borough's motor vehicles per count in its first and last period counted."""
    motor = [metric for metric in MOTOR_VEHICLES if metric in dict(types)]
    parts = []
    for name in names:
        rows = _borough_rows(table, name)
        totals = rows.set_index("bucket")[motor].sum(axis=1, min_count=1).dropna() if motor else pd.Series()
        if totals.empty:
            parts.append(f"{name} has no counts")
            continue
        first, last = totals.index.min(), totals.index.max()
        parts.append(f"{name} {totals[first]:,.0f} in the period starting {pd.Timestamp(first):%d %b %Y}"
                     + ("" if first == last else f", {totals[last]:,.0f} in the one starting "
                                                 f"{pd.Timestamp(last):%d %b %Y}"))
    return "Motor vehicles per count: " + "; ".join(parts) + "."


@dataclass(frozen=True)
class ChartView:
    """What a chart and its table show: `columns` maps the table's columns to (label, number format);
    `name` keys the widgets and names the CSV. A view with no figure is a table alone."""
    name: str
    file: str
    figure: go.Figure | None
    table: pd.DataFrame
    columns: dict[str, tuple[str, str | None]]
    sentence: str = ""
    title: str = ""


HOUR_COLUMNS = {"day": ("Day", None), "hour": ("Hour starting", None), "average": ("Average hires", "%,.1f")}


def hires_views(hour_rows: pd.DataFrame, borough_hour_rows: pd.DataFrame, boroughs: tuple[str, ...],
                chosen_names: list[str], selection: str, area_label: str, timezone: str) -> list[ChartView]:
    """Hires by hour and day of the week: a panel per borough for two to six boroughs; otherwise the
    pooled heatmap, then each borough's figures as a table of their own."""
    by_borough = hour_week_by_borough(borough_hour_rows)
    borough_columns = {"borough_name": (area_label.capitalize(), None)} | HOUR_COLUMNS
    borough_file = f"hires_by_hour_by_{area_label}"
    if side_by_side(boroughs):
        figure = heatmap_panels(by_borough, chosen_names,
                                f"Average hires per hour in each {area_label} (local time, {timezone})", "hires")
        return [ChartView("hires_by_borough", borough_file, figure, by_borough, borough_columns,
                          panels_heatmap_sentence(by_borough, chosen_names, "hires"))]
    matrix = hour_week_matrix(hour_rows)
    figure = heatmap(matrix, f"Average hires per hour in {selection} (local time, {timezone})", "hires")
    return [ChartView("hires_hours", "hires_by_hour", figure, hour_week_table(matrix), HOUR_COLUMNS,
                      heatmap_sentence(matrix, "hires")),
            ChartView("hires_by_borough", borough_file, None, by_borough, borough_columns,
                      title=f"Hires by hour and day of the week in each {area_label}")]


def traffic_type_views(trend: pd.DataFrame, borough_trend_rows: pd.DataFrame, types: list[tuple[str, str]],
                       boroughs: tuple[str, ...], chosen_names: list[str], selection: str, area_label: str,
                       bucket: str) -> list[ChartView]:
    """Vehicles by type over time: a panel per borough for two to six boroughs; otherwise the pooled
    stacked bars, then each borough's figures as a table of their own.

    trend: the pooled traffic_trend, which the page also counts count points from (made once)."""
    step, unit = STEP_WORDS[bucket], "vehicles per count"
    borough_trend = traffic_trend_by_borough(borough_trend_rows, types)
    by_borough = traffic_borough_table(borough_trend, types)
    borough_columns = {"borough_name": (area_label.capitalize(), None), "bucket": ("Period starting", "date"),
                       "count_points": ("Count points", "%d"), **{metric: (label, "%,.1f") for metric, label in types}}
    borough_file = f"by_type_{bucket}_by_{area_label}"
    if side_by_side(boroughs):
        figure = stacked_types_panels(borough_trend, types, chosen_names,
                                      f"Vehicles per count in each {area_label}, {step}", unit, bucket)
        return [ChartView("traffic_by_borough", borough_file, figure, by_borough, borough_columns,
                          panels_traffic_sentence(by_borough, types, chosen_names))]
    figure = stacked_types(trend, types, f"Vehicles per count in {selection}, {step}", unit, bucket)
    trend_columns = {"bucket": ("Period starting", "date"), "label": ("Vehicle type", None),
                     "per_count": ("Per count", "%,.1f"), "count_points": ("Count points", "%d")}
    return [ChartView("traffic_trend", f"by_type_{bucket}", figure, trend, trend_columns),
            ChartView("traffic_by_borough", borough_file, None, by_borough, borough_columns,
                      title=f"Vehicles per count by type in each {area_label}, {step}")]


# ---------------------------------------------------------------------------------------------
# The page's own controls in the link (read and written with ui.widget_from_link / widget_to_link)

LINK_ON, LINK_OFF = "on", "off"
# Each control's parameter in the link, prefixed by the page: the link carries every page's own.
OUTLINES_PARAM, TUBE_PARAM, DOCK_COLOUR_PARAM = "transport_outlines", "transport_tube", "transport_dock_colour"


def source_param(role: str) -> str:
    return f"transport_{role}_data"


def flag_to_param(value: bool) -> str:
    return LINK_ON if value else LINK_OFF


def flag_from_param(text: str | None, default: bool, what: str) -> tuple[bool, tuple[str, ...]]:
    """An on/off control from a link; anything else falls back to `default` with a notice (which
    never repeats the link's text: it may be injected)."""
    if text is None or not str(text).strip():
        return default, ()
    value = str(text)[:MAX_PARAM_LENGTH].strip().lower()
    if value in (LINK_ON, LINK_OFF):
        return value == LINK_ON, ()
    return default, (f"Ignored the link's setting for {what}: it must be {LINK_ON} or {LINK_OFF}.",)


def choice_from_param(text: str | None, options: Sequence[str], default: str, what: str) -> tuple[str, tuple[str, ...]]:
    """One of `options` from a link; an unknown value falls back to `default` with a notice."""
    if text is None or not str(text).strip():
        return default, ()
    value = str(text)[:MAX_PARAM_LENGTH].strip()
    if value in options:
        return value, ()
    return default, (f"Ignored the link's choice of {what}: it is not one of those this page offers.",)


# ---------------------------------------------------------------------------------------------
# Per-borough summary of all three


# ---------------------------------------------------------------------------------------------
# Sections: the page shows one at a time (ui.sections), and runs only that one's queries


STATIONS_SECTION, DOCKS_SECTION, TRAFFIC_SECTION = "Stations", "Cycle hire", "Road traffic"


def section_labels(area_label: str) -> list[str]:
    """The page's sections in order; the last holds each area's figures side by side."""
    return [STATIONS_SECTION, DOCKS_SECTION, TRAFFIC_SECTION, f"By {area_label}"]


# The sections of the London pack (areas are boroughs), for tests and tools that open one by name.
SECTION_LABELS = tuple(section_labels("borough"))


def borough_summary(areas: pd.DataFrame, stations: pd.DataFrame | None, docks: pd.DataFrame | None,
                    traffic: pd.DataFrame | None) -> pd.DataFrame:
    """Every borough with its stations, docks and traffic figures side by side (missing = none)."""
    table = areas[["borough_code", "borough_name"]].copy()
    parts = []
    if stations is not None:
        parts.append(stations[["borough_code", "stations", "per_day"]].rename(
            columns={"per_day": "station_entries_exits_per_day"}))
    if docks is not None:
        parts.append(docks[["borough_code", "docks", "docking_points", "hires_per_day", "occupancy"]].rename(
            columns={"hires_per_day": "cycle_hires_per_day", "occupancy": "dock_occupancy"}))
    if traffic is not None:
        parts.append(traffic[["borough_code", "count_points", "motor_vehicles", "cycle_share"]].rename(
            columns={"motor_vehicles": "motor_vehicles_per_count"}))
    for part in parts:
        table = table.merge(part, on="borough_code", how="left")
    return table.sort_values("borough_name").reset_index(drop=True)


def summary_table(summary: pd.DataFrame, area_column: tuple[str, None]) -> tuple[pd.DataFrame, dict]:
    """The borough summary as shown, and its columns as {column: (label, number format)}: only the
    columns of the sources it has (borough_summary leaves out a source without data), shares as
    percentages."""
    columns = {"borough_name": area_column}
    if "stations" in summary:
        columns |= {"stations": ("Stations", "%d"),
                    "station_entries_exits_per_day": ("Entries + exits a day", "%,.0f")}
    if "docks" in summary:
        summary = summary.assign(dock_occupancy_percent=100 * summary["dock_occupancy"])
        columns |= {"docks": ("Cycle docks", "%d"), "docking_points": ("Docking points", "%,.0f"),
                    "cycle_hires_per_day": ("Cycle hires a day", "%,.0f"),
                    "dock_occupancy_percent": ("Docks holding a bike", "%.0f%%")}
    if "count_points" in summary:
        summary = summary.assign(cycle_percent=100 * summary["cycle_share"])
        columns |= {"count_points": ("Count points", "%d"),
                    "motor_vehicles_per_count": ("Motor vehicles per count", "%,.0f"),
                    "cycle_percent": ("Cycles % of cars + cycles", "%.1f%%")}
    return summary, columns


# ---------------------------------------------------------------------------------------------
# Overlays


@dataclass(frozen=True)
class Overlay:
    id: str
    title: str
    path: Path
    licence: str
    licence_title: str
    attribution: str


def load_overlays(catalog: Catalog) -> dict[str, Overlay]:
    """Map overlays listed as [overlays.<id>] in the pack's catalog.toml or catalog.d/*.toml.

    The catalogue loader reads datasets only, so overlays are read here; an overlay whose
    licence is not in [licences] or whose file is missing is left out rather than drawn
    without its attribution.
    """
    overlays: dict[str, Overlay] = {}
    for path in pack_files(catalog.pack_dir):
        listed = _parsed_toml(path.read_text(encoding="utf-8")).get("overlays", {})
        for overlay_id, raw in listed.items():
            licence = catalog.licences.get(raw.get("licence", ""))
            overlay_path = catalog.pack_dir / raw.get("path", "")
            if licence is None or not raw.get("attribution") or not overlay_path.is_file():
                continue
            overlays[overlay_id] = Overlay(id=overlay_id, title=raw.get("title", overlay_id), path=overlay_path,
                                           licence=licence.id, licence_title=licence.title,
                                           attribution=raw["attribution"])
    return overlays


@lru_cache(maxsize=16)
def _parsed_toml(text: str) -> dict:
    """A TOML file's tables, parsed once per content (every rerun reads the overlays): keyed on the
    text itself, so an edited file is parsed afresh. Callers only read the result."""
    return tomllib.loads(text)


def overlay_caption(overlay: Overlay) -> str:
    """What a map drawing the overlay says under it: what the lines are, whose, and the licence."""
    return f"Grey lines: {overlay.title}. {overlay.attribution} Licence: {overlay.licence_title}."


@lru_cache(maxsize=8)
def read_geojson(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Maps


CROWD = 2_000


def radius_pixels(values: pd.Series | np.ndarray, smallest: float = 2.0, largest: float = 14.0) -> np.ndarray:
    """Circle radii (pixels at the opening zoom) whose areas are proportional to the values.

    Beyond CROWD circles the largest radius shrinks (to no less than 3 px) so that together
    they cover about as much of the map as CROWD would: 20,000 full-size circles are one blob.
    """
    values = np.nan_to_num(np.asarray(values, dtype="float64"), nan=0.0).clip(min=0)
    if len(values) > CROWD:
        largest = max(min(3.0, largest), largest * math.sqrt(CROWD / len(values)))
    top = values.max() if len(values) else 0.0
    if top <= 0:
        return np.full(len(values), smallest)
    return np.round(smallest + (largest - smallest) * np.sqrt(values / top), 1)


def metres_per_pixel(latitude: float, zoom: float) -> float:
    """Ground size of a screen pixel in deck.gl's web mercator (512-pixel tiles)."""
    return 40_075_016.686 * math.cos(math.radians(latitude)) / (512 * 2 ** zoom)


def fit_view(lat: pd.Series, lon: pd.Series, fallback: dict, width_px: int = 760, height_px: int = 520,
             max_zoom: float = 13.0) -> dict:
    """A view (latitude, longitude, zoom) that frames the points with a margin.

    The map's width in the browser is not known here; 760 px is about the main column of a
    laptop screen. Without points, or when the points need about the city's own view anyway,
    the city's view (`fallback`) is used.
    """
    lat, lon = pd.Series(lat, dtype="float64").dropna(), pd.Series(lon, dtype="float64").dropna()
    if lat.empty or lon.empty:
        return dict(fallback)
    south, north, west, east = lat.min(), lat.max(), lon.min(), lon.max()

    def mercator_y(latitude: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2))

    lon_span = max(east - west, 1e-4)
    y_span = max(mercator_y(north) - mercator_y(south), 1e-6)
    zoom = min(math.log2(width_px * 360 / (lon_span * 512)), math.log2(height_px * 2 * math.pi / (y_span * 512)))
    # A tenth of the frame on every side, so edge points are not cut in half.
    zoom = min(max_zoom, zoom - math.log2(1.25))
    # Points spread over most of the city keep the city's own view, which suits narrow screens too.
    if zoom < fallback["zoom"] + 0.75:
        return dict(fallback)
    centre_y = (mercator_y(north) + mercator_y(south)) / 2
    centre_lat = math.degrees(2 * math.atan(math.exp(centre_y)) - math.pi / 2)
    return {"latitude": round(centre_lat, 5), "longitude": round((west + east) / 2, 5), "zoom": round(zoom, 2)}


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


# Modes in a fixed order so a mode keeps its colour whatever the filters; others follow in turn.
MODE_ORDER = ("Underground", "Overground", "DLR", "National Rail", "Tram")


def mode_colours(modes: Iterable[str]) -> dict[str, tuple[int, int, int]]:
    present = set(modes)
    known = [mode for mode in MODE_ORDER if mode in present]
    others = sorted(present - set(MODE_ORDER))
    colours = {mode: hex_to_rgb(CATEGORICAL[MODE_ORDER.index(mode)]) for mode in known}
    spare = [CATEGORICAL[index] for index in range(len(MODE_ORDER), len(CATEGORICAL))]
    for index, mode in enumerate(others):
        colours[mode] = hex_to_rgb(spare[index % len(spare)])
    return colours


def robust_bins(values: pd.Series, top_share: float = 0.02) -> list[ColourBin]:
    """Equal-interval colour bins (maps.colour_bins) that one outlier cannot flatten.

    When the largest value is far beyond the rest (a count point of only cycles, 100%, among
    shares below 30%), the bins are spread over the values up to the 98th percentile and the
    last bin stretches to the largest value; the legend then gives that wider range as it is.
    """
    finite = pd.Series(values, dtype="float64").dropna()
    if finite.empty:
        return []
    ceiling = float(finite.quantile(1 - top_share))
    largest = float(finite.max())
    if largest <= 1.5 * ceiling or ceiling <= float(finite.min()):
        return colour_bins(finite)
    bins = colour_bins(finite.clip(upper=ceiling))
    return bins[:-1] + [ColourBin(bins[-1].low, largest, bins[-1].colour)]


def category_colours(values: pd.Series, colours: dict[str, tuple[int, int, int]],
                     missing: tuple[int, int, int] = (170, 170, 170)) -> np.ndarray:
    """An (n, 3) array of each value's colour, looked up once per category rather than per point."""
    categories = pd.Categorical(values)
    palette = np.array([colours.get(category, missing) for category in categories.categories] + [missing],
                       dtype="int64").reshape(-1, 3)
    return palette[np.where(categories.codes < 0, len(categories.categories), categories.codes)]


def bin_colours(values: pd.Series | np.ndarray, bins: list[ColourBin],
                missing: tuple[int, int, int] = (170, 170, 170)) -> np.ndarray:
    """An (n, 3) array of each value's bin colour (maps.colour_for, vectorised)."""
    values = np.asarray(values, dtype="float64")
    colours = np.tile(np.array(missing, dtype="int64"), (len(values), 1))
    if not bins:
        return colours
    highs = np.array([colour_bin.high for colour_bin in bins[:-1]])
    palette = np.array([colour_bin.colour for colour_bin in bins], dtype="int64")
    finite = np.isfinite(values)
    colours[finite] = palette[np.searchsorted(highs, values[finite], side="left")]
    return colours


def point_frame(table: pd.DataFrame, values: pd.Series, sizes: np.ndarray, colours: np.ndarray,
                boroughs: tuple[str, ...], labels: Callable[[pd.DataFrame], pd.Series] | None = None) -> pd.DataFrame:
    """What a scatter layer sends to the browser: one row per point, numeric columns only
    (plus one `label` text column for the tooltip while there are at most LABEL_LIMIT points;
    beyond that the tooltip shows `value`, the number the circle stands for). `labels` makes
    the texts from the table, and is asked only when they will be sent: formatting thousands
    of texts to drop them was a tenth of a rerun.

    Points outside the selected boroughs stay on the map for context, faded.
    """
    selected = np.ones(len(table), dtype=bool) if not boroughs else table["borough_code"].isin(boroughs).to_numpy()
    frame = pd.DataFrame({
        "lon": np.round(table["lon"].to_numpy(dtype="float64"), 5),
        "lat": np.round(table["lat"].to_numpy(dtype="float64"), 5),
        "value": np.round(np.asarray(values, dtype="float64"), 1),
        "radius": np.asarray(sizes, dtype="float64"),
        "r": colours[:, 0].astype("int64"),
        "g": colours[:, 1].astype("int64"),
        "b": colours[:, 2].astype("int64"),
        "a": np.where(selected, SELECTED_ALPHA, UNSELECTED_ALPHA).astype("int64"),
    })
    if labels is not None and len(table) <= LABEL_LIMIT:
        frame["label"] = labels(table).to_numpy(dtype=object)
    # Big circles first so small ones stay visible on top; selected points over faded ones.
    order = np.lexsort((-frame["radius"].to_numpy(), selected))
    return frame.iloc[order].reset_index(drop=True)


def scatter_layer(points: pd.DataFrame, layer_id: str, view: dict) -> pdk.Layer:
    """Circles sized in pixels at the opening zoom, growing with zoom within pixel bounds.

    Radius units cannot be set from Python (pydeck would read "pixels" as an accessor), so the
    pixel radii are scaled to metres at the opening zoom and bounded by min/max pixels.
    """
    return pdk.Layer(
        "ScatterplotLayer",
        points,
        id=layer_id,
        pickable=True,
        stroked=True,
        filled=True,
        get_position="[lon, lat]",
        get_radius="radius",
        radius_scale=metres_per_pixel(view["latitude"], view["zoom"]),
        radius_min_pixels=1.5,
        radius_max_pixels=40,
        get_fill_color="[r, g, b, a]",
        get_line_color=list(POINT_OUTLINE),
        line_width_min_pixels=0.5,
        line_width_max_pixels=1,
        auto_highlight=True,
        highlight_color=[255, 128, 0, 220],
    )


def outline_layer(areas_geojson: dict, boroughs: tuple[str, ...], pickable: bool = True) -> pdk.Layer:
    """Borough outlines on a light land fill; the selected boroughs outlined more strongly."""
    features = []
    for feature in areas_geojson["features"]:
        code = feature["properties"]["code"]
        chosen = bool(boroughs) and code in boroughs
        features.append({"type": "Feature", "geometry": feature["geometry"], "properties": {
            "label": feature["properties"]["name"],
            "line_width": 160 if chosen else 40,
            "line": list((20, 20, 20) if chosen else OUTLINE_COLOUR),
        }})
    return pdk.Layer(
        "GeoJsonLayer", {"type": "FeatureCollection", "features": features}, id="borough_outlines",
        pickable=pickable, stroked=True, filled=True,
        get_fill_color=list(LAND_COLOUR), get_line_color="properties.line",
        get_line_width="properties.line_width", line_width_min_pixels=1, line_width_max_pixels=3,
    )


def lines_layer(geojson: dict, layer_id: str, pickable: bool = True) -> pdk.Layer:
    """Network lines (the tube) in one dark grey: context under the points, named on hover."""
    features = [{"type": "Feature", "geometry": feature["geometry"],
                 "properties": {"label": feature["properties"].get("name", "")}} for feature in geojson["features"]]
    return pdk.Layer(
        "GeoJsonLayer", {"type": "FeatureCollection", "features": features}, id=layer_id,
        pickable=pickable, stroked=True, filled=False,
        get_line_color=list(LINE_COLOUR) + [170], get_line_width=60,
        line_width_min_pixels=1.5, line_width_max_pixels=3,
    )


def map_deck(layers: list[pdk.Layer], view: dict, tooltip: str = "{label}") -> pdk.Deck:
    """A basemap-free deck (see citydash.maps.choropleth) with a text-only tooltip.

    Every pickable layer must carry the tooltip's fields: `label` normally; a points-only
    tooltip such as "{value} people" when the points are too many to carry names.
    """
    return Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(latitude=view["latitude"], longitude=view["longitude"],
                                         zoom=view["zoom"], pitch=0, bearing=0),
        map_provider=None,
        tooltip={"text": tooltip},
    )


@dataclass(frozen=True)
class MapContext:
    """What every point map on the page shares: the city's view, the selection and the overlays
    chosen (GeoJSON, or None when switched off), with the caption the lines need when drawn."""

    view: dict
    boroughs: tuple[str, ...] = ()
    outlines: dict | None = None
    lines: dict | None = None
    caption: str | None = None


def point_deck(points: pd.DataFrame, chosen: pd.DataFrame, layer_id: str, unit: str,
               context: MapContext) -> pdk.Deck:
    """A point layer over the chosen overlays, framed on the selected entities (or all of them).

    points: point_frame rows; chosen: the selected entities' table rows (lat, lon). Without
    text labels (more than LABEL_LIMIT points) the tooltip gives the value and its unit, and
    the overlays stop answering the mouse, as they have no value to show.
    """
    framed = chosen if not chosen.empty else points
    view = fit_view(framed["lat"], framed["lon"], context.view)
    labelled = "label" in points.columns
    layers = []
    if context.outlines is not None:
        layers.append(outline_layer(context.outlines, context.boroughs, pickable=labelled))
    if context.lines is not None:
        layers.append(lines_layer(context.lines, "network_lines", pickable=labelled))
    layers.append(scatter_layer(points, layer_id, view))
    return map_deck(layers, view, "{label}" if labelled else "{value} " + unit)


def category_legend_html(title: str, items: list[tuple[str, tuple[int, int, int], int]], noun: str) -> str:
    """A legend of round swatches in the map's exact colours, each with its label and count."""
    rows = []
    for label, colour, count in items:
        swatch = "rgb({},{},{})".format(*colour)
        text = f"{label} ({count:,} {noun if count != 1 else noun.rstrip('s')})"
        rows.append(f'<li><span class="cd-swatch" style="background:{swatch};border-radius:50%"></span>'
                    f"{html.escape(text)}</li>")
    return (f'<figure class="cd-legend" aria-label="Map legend: {html.escape(title)}">'
            f'<figcaption>{html.escape(title)}</figcaption><ul>{"".join(rows)}</ul></figure>')


def size_note(what: str, largest_name: str, largest_text: str, faded: bool) -> str:
    note = f"Circle area shows {what}; the largest circle is {largest_name} ({largest_text})."
    return note + (" Faded circles are outside the selected boroughs." if faded else "")


def station_labels(stations: pd.DataFrame) -> pd.Series:
    return (stations["name"] + " (" + stations["mode"] + ", " + stations["borough_name"].fillna("") + ")\n"
            + stations["per_day"].map(lambda value: format_value(value)) + " entries and exits on an average day")


def dock_labels(docks: pd.DataFrame) -> pd.Series:
    text = docks["name"] + "\n" + docks["capacity"].map(lambda value: f"{value:,.0f}") + " docking points"
    hires = docks["hires_per_day"].map(lambda value: "" if pd.isna(value) else f"\n{value:,.1f} hires a day")
    bikes = docks["occupancy"].map(
        lambda value: "" if pd.isna(value) else f"\n{value:.0%} of docking points hold a bike")
    return text + hires + bikes


def traffic_labels(points: pd.DataFrame) -> pd.Series:
    motor = points["motor_vehicles"].map(lambda value: format_value(value))
    cycles = points.get("pedal_cycles", pd.Series(np.nan, index=points.index)).map(lambda value: format_value(value))
    share = points["cycle_share"].map(lambda value: "no cycle share" if pd.isna(value) else f"{value:.0%} cycles")
    return (points["name"] + " (" + points["road"] + ")\n" + motor + " motor vehicles and " + cycles
            + " cycles per count (" + share + " of cars and cycles)")


# ---------------------------------------------------------------------------------------------
# Charts


def _plain(column: pd.Series) -> np.ndarray | pd.Series:
    """A numeric or (time-zone-free) date column as the numpy array plotly turns it into anyway: handed
    a pandas Series, plotly inspects and converts it itself, about 0.3 ms per column of every trace."""
    if column.dtype.kind in "biuf" or (column.dtype.kind == "M" and getattr(column.dtype, "tz", None) is None):
        return column.to_numpy()
    return column


def _style(title: str, height: int, legend_rows: int = 0, *, xaxis: dict | None = None, yaxis: dict | None = None,
           legend: dict | None = None, **settings) -> dict:
    """The dashboard's chart look as one layout dict (charts.layout); the title sits above the legend,
    which sits above the plot. `legend` settings are merged over the house legend."""
    top = 60 + 24 * legend_rows
    total = height + 24 * legend_rows
    house = charts.layout(title, total, xaxis=xaxis, yaxis=yaxis, margin=dict(l=10, r=10, t=top, b=10), **settings)
    house["title"] = dict(text=title, font=dict(size=16), y=1 - 14 / total, yanchor="top", yref="container")
    if legend:
        house["legend"] = {**house["legend"], **legend}
    return house


def _number(value: float) -> str:
    """A bar's printed value: whole numbers without decimals, millions shortened."""
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:,.2f}M"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def top_bar(frame: pd.DataFrame, value: str, title: str, unit: str,
            colours: dict[str, tuple[int, int, int]] | None = None, colour_by: str | None = None) -> go.Figure:
    """Ranked horizontal bars (largest at the top) labelled with their values; one trace per
    category when coloured, so the legend names every colour."""
    ranked = frame.sort_values(value, ascending=True)
    groups = ranked.groupby(colour_by, sort=False) if colour_by else [(None, ranked)]
    bars = []
    for name, rows in groups:
        colour = "rgb({},{},{})".format(*colours[name]) if colours and name in colours else HIGHLIGHT
        bars.append(dict(
            type="bar", x=_plain(rows[value]), y=rows["name"], orientation="h", name=name or unit,
            marker_color=colour,
            text=[_number(number) for number in rows[value]], textposition="auto", cliponaxis=False,
            hovertemplate="%{y}: %{x:,.0f} " + unit + "<extra></extra>", showlegend=colour_by is not None,
        ))
    categories = ranked[colour_by].nunique() if colour_by else 0
    # Room on the right for the largest bar's printed value.
    largest = float(ranked[value].max()) if len(ranked) else 1.0
    return charts.figure(bars, _style(
        title, height=max(300, 24 * len(ranked) + 110),
        legend_rows=0 if not colour_by else 1 if categories <= 3 else 2, barmode="overlay",
        xaxis=dict(title_text=unit, range=[0, 1.2 * largest]),
        yaxis=dict(categoryorder="array", categoryarray=list(ranked["name"]), title_text=None,
                   tickfont=dict(size=12))))


def paired_bars(frame: pd.DataFrame, first: tuple[str, str], second: tuple[str, str], title: str,
                unit: str) -> go.Figure:
    """Two horizontal bars per row (e.g. weekday and weekend day per borough), largest first."""
    ranked = frame.sort_values(first[0], ascending=True)
    bars = [dict(
        type="bar", x=_plain(ranked[column]), y=ranked["borough_name"], orientation="h", name=label,
        marker_color=colour,
        hovertemplate="%{y}, " + label.lower() + ": %{x:,.0f} " + unit + "<extra></extra>",
    ) for (column, label), colour in ((second, CATEGORICAL[1]), (first, CATEGORICAL[0]))]
    return charts.figure(bars, _style(
        title, height=max(320, 26 * len(ranked) + 120), legend_rows=1, barmode="group",
        legend=dict(traceorder="reversed"), xaxis=dict(title_text=unit, rangemode="tozero"),
        yaxis=dict(title_text=None, tickfont=dict(size=12))))


def band_bars(bands: pd.DataFrame, title: str) -> go.Figure:
    bars = [dict(
        type="bar", x=bands["band"], y=_plain(bands[column]), name=label, marker_color=colour,
        text=[_number(value) for value in bands[column]], textposition="outside", cliponaxis=False,
        hovertemplate="%{x}, " + label.lower() + ": %{y:,.0f}<extra></extra>",
    ) for column, label, colour in (("entries", "Entries", CATEGORICAL[0]), ("exits", "Exits", CATEGORICAL[1]))]
    return charts.figure(bars, _style(title, height=360, legend_rows=1, barmode="group",
                                      yaxis=dict(title_text="people on a typical weekday", rangemode="tozero")))


def trend_line(frame: pd.DataFrame, value: str, title: str, unit: str, bucket: str,
               counted: tuple[str, str] | None = None) -> go.Figure:
    """One line over time buckets; markers when there are few points.

    counted: (column, label) of how many things were counted in each bucket, drawn dotted on a
    right-hand axis, for series whose coverage changes (a total can rise only because more
    stations were counted).
    """
    date_format = {"year": "%Y", "month": "%b %Y"}.get(bucket, "%d %b %Y")
    week_note = "week from " if bucket == "week" else ""
    mode = "lines+markers" if len(frame) <= 24 else "lines"
    lines = [dict(
        type="scatter", x=_plain(frame["bucket"]), y=_plain(frame[value]), mode=mode,
        line=dict(color=HIGHLIGHT, width=2), name=unit,
        hovertemplate=week_note + "%{x|" + date_format + "}: %{y:,.0f} " + unit + "<extra></extra>",
    )]
    extra_axes = {}
    if counted:
        column, label = counted
        lines.append(dict(
            type="scatter", x=_plain(frame["bucket"]), y=_plain(frame[column]), mode=mode, yaxis="y2", name=label,
            line=dict(color=CITY_LINE, width=1.5, dash="dot"),
            hovertemplate=week_note + "%{x|" + date_format + "}: %{y:,.0f} " + label.lower() + "<extra></extra>",
        ))
        extra_axes["yaxis2"] = charts.axis(title_text=label, overlaying="y", side="right", rangemode="tozero",
                                           showgrid=False)
    return charts.figure(lines, _style(title, height=320, legend_rows=1 if counted else 0,
                                       showlegend=bool(counted), xaxis=dict(title_text=None),
                                       yaxis=dict(title_text=unit, rangemode="tozero"), **extra_axes))


def stacked_types(trend: pd.DataFrame, types: list[tuple[str, str]], title: str, unit: str,
                  bucket: str) -> go.Figure:
    """Vehicle types stacked per time bucket, in the catalogue's order, Okabe-Ito colours."""
    date_format = {"year": "%Y", "month": "%b %Y"}.get(bucket, "%d %b %Y")
    # Split once by type rather than filtering the frame for every bar.
    pieces = dict(tuple(trend.groupby("metric", sort=False))) if len(trend) else {}
    empty = trend.iloc[0:0]
    bars = []
    for index, (metric, label) in enumerate(types):
        rows = pieces.get(metric, empty)
        bars.append(dict(
            type="bar", x=_plain(rows["bucket"]), y=_plain(rows["per_count"]), name=label,
            marker_color=CATEGORICAL[index % len(CATEGORICAL)],
            hovertemplate="%{x|" + date_format + "}, " + label + ": %{y:,.1f} " + unit + "<extra></extra>",
        ))
    return charts.figure(bars, _style(title, height=400, legend_rows=2, barmode="stack",
                                      legend=dict(traceorder="normal"), xaxis=dict(title_text=None),
                                      yaxis=dict(title_text=unit, rangemode="tozero")))


def share_bar(frame: pd.DataFrame, title: str, selected: tuple[str, ...]) -> go.Figure:
    """Cycle share by borough as percentages, highest at the top; selected boroughs stand out."""
    ranked = frame.dropna(subset=["cycle_share"]).sort_values("cycle_share", ascending=True)
    colours = [HIGHLIGHT if not selected or code in selected else MUTED for code in ranked["borough_code"]]
    bar = dict(
        type="bar", x=_plain(100 * ranked["cycle_share"]), y=ranked["borough_name"], orientation="h",
        marker_color=colours,
        text=[f"{100 * value:.1f}%" for value in ranked["cycle_share"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f}% of cars and cycles are cycles<extra></extra>",
    )
    largest = 100 * float(ranked["cycle_share"].max()) if len(ranked) else 1.0
    return charts.figure([bar], _style(title, height=max(300, 22 * len(ranked) + 90),
                                       xaxis=dict(title_text="% of cars and cycles counted", range=[0, 1.18 * largest]),
                                       yaxis=dict(title_text=None, tickfont=dict(size=12))))


def _colour_scale() -> list[list]:
    return [[index / (len(SEQUENTIAL) - 1), "rgb({},{},{})".format(*colour)] for index, colour in enumerate(SEQUENTIAL)]


def heatmap(matrix: pd.DataFrame, title: str, unit: str) -> go.Figure:
    """Day of week by hour; cividis (light = few, dark = many), the value in every hover."""
    cells = dict(
        type="heatmap", z=matrix.to_numpy(), x=[f"{hour:02d}:00" for hour in matrix.columns], y=list(matrix.index),
        colorscale=_colour_scale(), colorbar=dict(title=dict(text=unit, side="right")), xgap=1, ygap=1,
        hovertemplate="%{y} %{x}: %{z:,.1f} " + unit + "<extra></extra>",
    )
    return charts.figure([cells], _style(title, height=340,
                                         xaxis=dict(title_text="Hour starting (local time)", tickangle=0, dtick=2),
                                         yaxis=dict(autorange="reversed", title_text=None)))


# ---------------------------------------------------------------------------------------------
# Sentences: text alternatives for the maps and summaries of the charts


def _places(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def map_table_title(shown: int, chosen: int, noun: str, selection: str, boroughs: tuple[str, ...]) -> str:
    """The label of the tab holding a map's table: how many points, and how many are selected."""
    title = f"Table: {_places(shown, noun)}"
    return title + (f" ({chosen:,} in {selection})" if boroughs else "")


def stations_sentence(stations: pd.DataFrame, selection: str) -> str:
    if stations.empty:
        return f"No station in {selection} has entry and exit counts for this period."
    top = stations.sort_values("per_day", ascending=False).iloc[0]
    modes = stations["mode"].value_counts()
    mix = ", ".join(f"{count:,} {mode}" for mode, count in modes.items())
    return (f"The map shows {_places(len(stations), 'station')} in {selection} ({mix}). "
            f"The busiest is {top['name']} in {top['borough_name']}, with "
            f"{format_value(top['per_day'])} entries and exits on an average day; together the stations "
            f"have {format_value(stations['per_day'].sum())}.")


def docks_sentence(docks: pd.DataFrame, selection: str, colour_by: str) -> str:
    if docks.empty:
        return f"No cycle hire dock in {selection} has data for this period."
    sentence = (f"The map shows {_places(len(docks), 'docking station')} in {selection} with "
                f"{docks['capacity'].sum():,.0f} docking points; the largest is {docks.iloc[0]['name']} "
                f"({docks.iloc[0]['capacity']:,.0f} points).")
    if colour_by == "hires" and docks["hires_per_day"].notna().any():
        busiest = docks.sort_values("hires_per_day", ascending=False).iloc[0]
        sentence += (f" The busiest is {busiest['name']} with {busiest['hires_per_day']:,.1f} hires a day; "
                     f"all of them together see {docks['hires_per_day'].sum():,.0f} a day.")
    elif colour_by == "occupancy" and docks["occupancy"].notna().any():
        empty = int((docks["bikes"] == 0).sum())
        sentence += (f" {docks['bikes'].sum() / docks['capacity'].sum():.0%} of docking points held a bike; "
                     f"{_places(empty, 'dock')} had none.")
    return sentence


def traffic_sentence(points: pd.DataFrame, selection: str, count_noun: str) -> str:
    if points.empty:
        return f"No traffic count point in {selection} has counts for this period."
    busiest = points.sort_values("motor_vehicles", ascending=False).iloc[0]
    sentence = (f"The map shows {_places(len(points), 'count point')} in {selection}. The busiest is "
                f"{busiest['name']} with {format_value(busiest['motor_vehicles'])} motor vehicles per {count_noun}.")
    shares = points.dropna(subset=["cycle_share"])
    if not shares.empty:
        top = shares.sort_values("cycle_share", ascending=False).iloc[0]
        sentence += f" Cycles are the largest share of cars and cycles at {top['name']} ({top['cycle_share']:.0%})."
    return sentence


def heatmap_sentence(matrix: pd.DataFrame, unit: str) -> str:
    stacked = matrix.stack()
    if stacked.empty:
        return "There are no hires in this period."
    (day, hour), value = stacked.idxmax(), stacked.max()
    (quiet_day, quiet_hour), quiet = stacked.idxmin(), stacked.min()
    return (f"The busiest hour is {day} {int(hour):02d}:00 with {value:,.1f} {unit} on average; the quietest is "
            f"{quiet_day} {int(quiet_hour):02d}:00 ({quiet:,.1f}).")
