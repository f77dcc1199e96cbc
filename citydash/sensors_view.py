"""Pure builders for the Sensors page: query parameters, the replay clock's bookkeeping,
disclosure-protected frames, the live map and its legend, tables, figures and sentences.
No Streamlit here, so everything tests alone.

Counts of people (a metric with `disclosure = N` in the catalogue) are protected here, before
anything reaches the page: every frame of a metric's values goes through `protect`, which
hides values below N (primary suppression) and, where a total is shown beside its cells, the
cells that would let a hidden one be worked out (secondary suppression, citydash.disclosure).
The builders take only protected frames (they refuse a frame without the display column that
`protect` adds) and write values out only as `protect` displayed them, so a hidden count
cannot leak into a tooltip, a table, a chart or a CSV download.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk

from citydash import charts, maps
from citydash.catalog import Catalog, Dataset, Metric, pack_file_stamps
from citydash.disclosure import (
    NO_DATA,
    PROTECTS_TOTAL,
    SECONDARY_MARK,
    SECONDARY_NOTE,
    SMALL,
    SUPPRESSED,
    SUPPRESSION,
    is_disclosive,
    note_of,
    protect_totals,
    suppress_counts,
)
from citydash.sensors import (
    ReplayClock,
    Threshold,
    level_at,
    levels_of,
    load_sensor_thresholds,
    thresholds_for,
    threshold_entries,
    thresholds_key,
    attention_ranking,
    SENSOR_DOMAIN,
    default_stuck_after,
    duration_text,
    expected_interval,
    expected_ranges_of,
    healthy_share_by_area,
    out_of_range_text,
    problems_text,
    stuck_text,
)

DOMAIN = SENSOR_DOMAIN
# The page's sections, shown one at a time (citydash.ui.sections); the first opens by default.
SECTION_LABELS = ["Latest readings", "Sensor health", "Thresholds", "Trends"]
# The same rules as citydash.sensors.sensor_health's defaults.
STALE_AFTER_INTERVALS = 4
DEAD_AFTER = pd.Timedelta(hours=24)
MIN_UPTIME_PCT = 90.0
# How far back the live feed looks for a sensor's latest reading.
LATEST_LOOKBACK = pd.Timedelta(days=7)
# The per-sensor chart shows at most the last month of the period: 3,000 points, not 35,000.
SERIES_SPAN = pd.Timedelta(days=31)
# Health is judged over at most the last month before now: whether a sensor works now, and how well
# it has lately, not a fault from last winter. It also bounds the work: every reading of the span
# is windowed, and a year of a city's sensors took over 30 s at 200 million observations.
HEALTH_SPAN_DAYS = 31
# Simulated seconds per real second, and how each reads.
SPEEDS = {
    0.0: "Paused",
    60.0: "1 simulated minute per second",
    900.0: "15 simulated minutes per second",
    3600.0: "1 simulated hour per second",
    21600.0: "6 simulated hours per second",
}
DEFAULT_SPEED = 3600.0
REPLAY_REFRESH_S = 2.0
LIVE_REFRESH_S = 30.0
MAX_BOROUGH_LINES = len(charts.CATEGORICAL)

STALE_RING = (82, 96, 109)
HIDDEN_FILL = (200, 200, 200)
ZERO_FILL = (255, 255, 255)
BACKDROP_FILL = (241, 243, 245)
BACKDROP_SELECTED_FILL = (225, 230, 236)
BACKDROP_LINE = (154, 165, 177)
STATUS_COLOURS = {"ok": "#009E73", "attention": "#E69F00", "dead": "#000000"}


# ---------------------------------------------------------------------------------------
# The catalogue: which metrics, how often sensors report.


def sensor_metrics(catalog: Catalog, available: Iterable[str], access: str) -> list[Metric]:
    """Metrics of published sensor datasets this session may see, in catalogue order."""
    published = set(available)
    return [metric for metric in catalog.metrics(access, DOMAIN) if metric.dataset in published]


def choose_metric(metrics: Sequence[Metric], wanted: str) -> tuple[Metric, bool]:
    """The shared filter's metric ("<dataset>.<metric>") if it is a sensor metric, else the page's
    default (the first sensor metric); and whether the default stood in."""
    for metric in metrics:
        if f"{metric.dataset}.{metric.id}" == wanted:
            return metric, False
    return metrics[0], True


@dataclass(frozen=True)
class Rhythm:
    """How often a dataset's sensors report, and when a silent one counts as stale or dead."""

    interval: pd.Timedelta
    stale_after: pd.Timedelta
    dead_after: pd.Timedelta


def rhythm_of(dataset: Dataset) -> Rhythm:
    interval = expected_interval(dataset)
    return Rhythm(interval, interval * STALE_AFTER_INTERVALS, DEAD_AFTER)


def disclosure_of(dataset: Dataset) -> dict[str, int]:
    """metric id -> threshold for the dataset's counts of people."""
    return {metric.id: threshold for metric in dataset.metrics if (threshold := is_disclosive(metric)) is not None}


def sensor_thresholds(pack_dir: Path) -> Mapping[str, tuple[Threshold, ...]]:
    """citydash.sensors.load_sensor_thresholds, read again only when a catalogue file changes:
    parsing every catalogue TOML file cost about 3 ms a rerun."""
    return _thresholds_as_of(str(pack_dir), pack_file_stamps(pack_dir))


@functools.lru_cache(maxsize=8)
def _thresholds_as_of(pack_dir: str, stamps: tuple) -> Mapping[str, tuple[Threshold, ...]]:
    # `stamps` (each file's modification time and size) is only the cache key. Read-only, as
    # the result is shared between sessions.
    return MappingProxyType(load_sensor_thresholds(Path(pack_dir)))


# ---------------------------------------------------------------------------------------
# Times: naive UTC inside, the city's local time on screen.


def local_to_utc(moment: datetime | pd.Timestamp, tz: str) -> pd.Timestamp:
    """A naive local wall-clock time as naive UTC (the autumn's repeated hour: the first)."""
    local = pd.Timestamp(moment).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return local.tz_convert("UTC").tz_localize(None)


def utc_to_local(moment: pd.Timestamp, tz: str) -> pd.Timestamp:
    return pd.Timestamp(moment).tz_localize("UTC").tz_convert(tz).tz_localize(None)


def period_bounds(start: date, end: date, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The local days start..end (inclusive) as naive UTC [from, to)."""
    return local_to_utc(pd.Timestamp(start), tz), local_to_utc(pd.Timestamp(end) + pd.Timedelta(days=1), tz)


def local_text(moment: pd.Timestamp | None, tz: str) -> str:
    if moment is None or pd.isna(moment):
        return "never"
    return f"{utc_to_local(moment, tz):%a %d %b %Y, %H:%M}"


def feed_moment(now: pd.Timestamp, interval: pd.Timedelta) -> pd.Timestamp:
    """`now` rounded down to the reporting interval: the feed cannot change in between, and
    the rounded time lets repeated refreshes share cached query results."""
    return pd.Timestamp(now).floor(interval)


# ---------------------------------------------------------------------------------------
# Replay: the stored readings played forward as if they were arriving now.


@dataclass(frozen=True)
class ReplaySettings:
    start: pd.Timestamp  # naive UTC
    speed: float
    loop_start: pd.Timestamp
    end: pd.Timestamp


def default_replay_start(period_start: pd.Timestamp, period_end: pd.Timestamp, tz: str) -> datetime:
    """07:00 local, two days before the period ends (so a demo opens on a morning rush), as a
    naive local datetime for the start widget; the period start if the period is shorter."""
    last_day = utc_to_local(period_end - pd.Timedelta(microseconds=1), tz).normalize()
    start = local_to_utc(last_day - pd.Timedelta(days=2) + pd.Timedelta(hours=7), tz)
    return utc_to_local(max(start, period_start), tz).to_pydatetime()


def replay_settings(start_local: datetime | None, speed: float, period_start: pd.Timestamp,
                    period_end: pd.Timestamp, tz: str, interval: pd.Timedelta) -> ReplaySettings:
    """Settings from the widgets, the start kept inside the period it loops over."""
    wanted = default_replay_start(period_start, period_end, tz) if start_local is None else start_local
    start = local_to_utc(wanted, tz)
    latest_start = max(period_start, period_end - interval)
    return ReplaySettings(min(max(start, period_start), latest_start), float(speed), period_start, period_end)


def replay_clock(previous: ReplayClock | None, previous_settings: ReplaySettings | None,
                 settings: ReplaySettings, at: float) -> ReplayClock:
    """The session's clock after a rerun at real (monotonic) time `at`.

    A new start or period starts the replay again; a new speed carries on from where the
    replay is; otherwise the clock runs on untouched.
    """
    same_place = previous_settings is not None and (
        previous_settings.start, previous_settings.loop_start, previous_settings.end,
    ) == (settings.start, settings.loop_start, settings.end)
    if previous is None or not same_place:
        return ReplayClock(settings.start, settings.speed, at, settings.end, settings.loop_start)
    if previous_settings.speed != settings.speed:
        return previous.with_speed(settings.speed, at)
    return previous


def speed_label(speed: float) -> str:
    if speed in SPEEDS:
        return SPEEDS[speed]
    return f"{duration_text(pd.Timedelta(seconds=speed))} of readings per second"


def replay_notice(now: pd.Timestamp, settings: ReplaySettings, tz: str) -> str:
    """Says plainly that this is a replay, of what, and what simulated time it shows."""
    pace = "paused" if settings.speed == 0 else f"playing at {speed_label(settings.speed).lower()}"
    return (f"**Replay, not live.** The feed replays stored readings as if they were arriving now: "
            f"it shows **{local_text(now, tz)}** ({tz.split('/')[-1].replace('_', ' ')} time), {pace}, "
            f"from a start of {local_text(settings.start, tz)}. It loops back to "
            f"{local_text(settings.loop_start, tz)} after {local_text(settings.end, tz)}.")


def live_notice(now: pd.Timestamp, newest: pd.Timestamp | None, tz: str) -> str:
    newest_text = local_text(newest, tz) if newest is not None and not pd.isna(newest) else "none in the last 7 days"
    return (f"**Live.** Readings published up to now ({local_text(now, tz)}); "
            f"the newest reading is from {newest_text}. The feed refreshes every {LIVE_REFRESH_S:.0f} s.")


# ---------------------------------------------------------------------------------------
# The page's own controls in the link (with citydash.ui.widget_from_link / widget_to_link).
# Each parser takes the link's text (None for none) and returns a valid value and notices;
# anything else in a link (a typo, injected text) gives the default. Notices never repeat
# the link's text, so nothing from a link is written back onto the page.

PARAM_FEED = "sensors_feed"
PARAM_SPEED = "sensors_speed"
PARAM_FROM = "sensors_from"
PARAM_SENSOR = "sensors_sensor"
FEEDS = ("replay", "live")
DEFAULT_FEED = "replay"
MAX_LINK_TEXT = 100
LINK_TIME = "%Y-%m-%dT%H:%M"


def _linked(text: str | None) -> str | None:
    return None if text is None or not str(text).strip() else str(text)[:MAX_LINK_TEXT].strip()


def feed_from_param(text: str | None) -> tuple[str, tuple[str, ...]]:
    linked = _linked(text)
    if linked is None:
        return DEFAULT_FEED, ()
    if linked in FEEDS:
        return linked, ()
    return DEFAULT_FEED, ("Ignored the feed in the link: it must be replay or live; showing the replay.",)


def speed_to_param(speed: float) -> str:
    return f"{float(speed):g}"


def speed_from_param(text: str | None) -> tuple[float, tuple[str, ...]]:
    linked = _linked(text)
    if linked is None:
        return DEFAULT_SPEED, ()
    try:
        speed = float(linked)
    except ValueError:
        speed = math.nan
    if speed in SPEEDS:
        return speed, ()
    return DEFAULT_SPEED, (f"Ignored the replay speed in the link: it is not one of the speeds offered; "
                           f"playing at {SPEEDS[DEFAULT_SPEED].lower()}.",)


def start_to_param(start_local: datetime | None) -> str:
    return "" if start_local is None else f"{start_local:{LINK_TIME}}"


def start_from_param(text: str | None, first: datetime, last: datetime,
                     default: datetime) -> tuple[datetime, tuple[str, ...]]:
    """A replay start (local wall-clock time, to the minute) inside [first, last], else `default`."""
    linked = _linked(text)
    if linked is None:
        return default, ()
    try:
        wanted = datetime.strptime(linked, LINK_TIME)
    except ValueError:
        return default, ("Ignored the replay start in the link: it must be a local time written "
                         "YYYY-MM-DDTHH:MM.",)
    if not first <= wanted <= last:
        return default, ("The replay start in the link is outside the dates chosen; starting from the default.",)
    return wanted, ()


def sensor_from_param(text: str | None, sensor_ids: Sequence[str], default: str) -> tuple[str, tuple[str, ...]]:
    linked = _linked(text)
    if linked is None:
        return default, ()
    if linked in sensor_ids:
        return linked, ()
    return default, ("Ignored the sensor in the link: no such sensor reports this metric in the selection; "
                     "showing the first one.",)


# ---------------------------------------------------------------------------------------
# Disclosure: the one gate every frame of metric values passes.


def protect(frame: pd.DataFrame, metric: Metric, value_col: str = "value",
            group_cols: Sequence[str] = (), total_col: str | None = None) -> pd.DataFrame:
    """A copy with `<value_col>_display` (text) and `suppressed` (bool) added.

    For a count of people (the metric has a disclosure threshold N) values from 1 to N-1 become
    NaN and display as "<N"; with `group_cols` or `total_col`, cells whose group total would
    give a hidden one away are hidden too (see citydash.disclosure). Other metrics are shown
    as they are. Pass the groups whose totals appear anywhere on the page.
    """
    threshold = is_disclosive(metric)
    if threshold is None:
        result = frame.copy()
        values = pd.to_numeric(result[value_col], errors="raise").astype("float64")
        result[value_col] = values
        result[f"{value_col}_display"] = _value_texts(values.tolist())
        result[SUPPRESSED] = False
        result[SUPPRESSION] = ""
        return result
    if group_cols or total_col:
        return protect_totals(frame, list(group_cols), value_col, threshold, total_col)
    return suppress_counts(frame, value_col, threshold)


def _value_texts(values: list[float]) -> list[str]:
    """maps.format_value of each value, each distinct value written out once: readings repeat
    (a noise level to 0.1 dB). Zeros are not shared, as -0.0 equals 0.0 but reads "-0.00"."""
    texts: dict[float, str] = {}
    written = []
    for value in values:
        text = texts.get(value) if value else None
        if text is None:
            text = maps.format_value(value)
            if value:
                texts[value] = text
        written.append(text)
    return written


def _require_protected(frame: pd.DataFrame, value_col: str = "value") -> None:
    if f"{value_col}_display" not in frame or SUPPRESSED not in frame:
        raise ValueError(f"frame has not been through sensors_view.protect (no {value_col}_display column)")


def with_unit(display: str, unit: str) -> str:
    return display if display in (NO_DATA, SECONDARY_MARK) else f"{display} {unit}"


def shown_with_note(frame: pd.DataFrame, metric: Metric, value_col: str = "value") -> list[str]:
    """Each protected value as text with its unit; a value hidden to protect a total says why,
    so "suppressed" is never read as "small"."""
    _require_protected(frame, value_col)
    # tolist(): iterating a pandas (Arrow) string column value by value costs several times more.
    return [with_unit(display, metric.unit) + (f" ({SECONDARY_NOTE})" if kind == PROTECTS_TOTAL else "")
            for display, kind in zip(frame[f"{value_col}_display"].tolist(), frame[SUPPRESSION].tolist())]


def notes(frame: pd.DataFrame, metric: Metric) -> list[str]:
    """The Note column of a table or CSV: why a value is not shown, "" where it is."""
    _require_protected(frame)
    threshold = is_disclosive(metric)
    kinds = frame[SUPPRESSION].tolist()
    note_by_kind = {kind: note_of(kind, threshold) for kind in set(kinds)}
    return [note_by_kind[kind] for kind in kinds]


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


# ---------------------------------------------------------------------------------------
# The live feed: the latest reading of each sensor.


@dataclass(frozen=True)
class Band:
    label: str
    colour: tuple[int, int, int]
    low: float  # exclusive, except for the first band
    high: float  # inclusive


def metric_thresholds(metric: Metric, thresholds: Sequence[Threshold] | None) -> tuple[Threshold, ...]:
    """The thresholds a builder compares with: those given (the page passes the catalogue's timed
    ones, citydash.sensors.load_sensor_thresholds), else the metric's all-day `thresholds`."""
    return tuple(thresholds) if thresholds is not None else thresholds_for(metric, {})


def of_level(thresholds: Sequence[Threshold], level: int) -> list[Threshold]:
    return [threshold for threshold in thresholds if threshold.level == level]


def level_text(thresholds: Sequence[Threshold], level: int, unit: str) -> str:
    """E.g. "65 dB(A)" (all day), "55 dB(A) 07:00–23:00 or 45 dB(A) 23:00–07:00"."""
    return " or ".join(f"{threshold.value:g} {unit}" + ("" if threshold.all_day else f" {threshold.hours_text()}")
                       for threshold in of_level(thresholds, level))


def level_short(thresholds: Sequence[Threshold], level: int, unit: str) -> str:
    """E.g. "65 dB(A)", "55 / 45 dB(A)": for column names and tiles, beside a text giving the hours."""
    return " / ".join(f"{threshold.value:g}" for threshold in of_level(thresholds, level)) + f" {unit}"


def level_key(thresholds: Sequence[Threshold], level: int) -> str:
    """E.g. "65", "55_or_45": the level in CSV column names."""
    return "_or_".join(f"{threshold.value:g}" for threshold in of_level(thresholds, level))


def thresholds_sentence(thresholds: Sequence[Threshold], unit: str) -> str:
    """Every threshold with its hours and source, for the page's text."""
    parts = []
    for threshold in thresholds:
        hours = "all day" if threshold.all_day else f"{threshold.hours_text()} local time"
        label = f"{threshold.label}: " if threshold.label else ""
        source = f" ({threshold.source})" if threshold.source else ""
        parts.append(f"{label}{threshold.value:g} {unit}, {hours}{source}")
    return "; ".join(parts)


def threshold_bands(metric: Metric, thresholds: Sequence[Threshold] | None = None) -> list[Band]:
    """Bands by threshold level: at or below the level-1 threshold for the time of day, then
    above each level's. A reading's band depends on its local time (see level_at), so the
    bands' low/high are not used for them."""
    thresholds = metric_thresholds(metric, thresholds)
    levels = levels_of(thresholds)
    if not levels:
        return []
    palette = [maps.SEQUENTIAL[round(index * (len(maps.SEQUENTIAL) - 1) / len(levels))]
               for index in range(len(levels) + 1)]
    timed = any(not threshold.all_day for threshold in thresholds)
    first = level_text(thresholds, levels[0], metric.unit)
    bands = [Band(f"at or below {first}" + (" (for the time of day)" if timed else ""), palette[0],
                  math.nan, math.nan)]
    for index, level in enumerate(levels, start=1):
        bands.append(Band(f"above {level_text(thresholds, level, metric.unit)}", palette[index], math.nan, math.nan))
    return bands


def value_bands(values: pd.Series, metric: Metric) -> list[Band]:
    """Without thresholds: equal-interval bands over the shown values. For counts of people,
    zero has its own band and the bands start at the disclosure threshold (smaller counts are
    hidden and have a colour of their own, see live_legend_html)."""
    threshold = is_disclosive(metric)
    bands: list[Band] = []
    palette = maps.SEQUENTIAL
    finite = values.dropna()
    if threshold is not None:
        bands.append(Band(f"0 {metric.unit} (nobody counted)", ZERO_FILL, -math.inf, 0.0))
        palette = maps.SEQUENTIAL[1:]
        finite = finite[finite.ge(threshold)]
    if finite.empty:
        return bands
    low, high = float(finite.min()), float(finite.max())
    if math.isclose(low, high):
        return bands + [Band(_number(low, metric, metric.unit), palette[len(palette) // 2], -math.inf, math.inf)]
    count = len(palette)
    edges = np.linspace(low, high, count + 1)
    for index in range(count):
        band_low = -math.inf if index == 0 else float(edges[index])
        band_high = math.inf if index == count - 1 else float(edges[index + 1])
        label = f"{_number(float(edges[index]), metric)} to {_number(float(edges[index + 1]), metric, metric.unit)}"
        bands.append(Band(label, palette[index], band_low, band_high))
    return bands


def _number(value: float, metric: Metric, unit: str = "") -> str:
    """Counts as whole numbers, measurements as maps.format_value writes them."""
    text = f"{value:,.0f}" if metric.aggregation == "sum" else maps.format_value(value)
    return f"{text} {unit}".strip()


def band_index(value: float, bands: Sequence[Band]) -> int | None:
    if value is None or pd.isna(value) or not bands:
        return None
    for index, band in enumerate(bands):
        if value <= band.high:
            return index
    return len(bands) - 1


@dataclass(frozen=True)
class LiveFeed:
    """The protected latest readings, one row per sensor, and what the tiles say about them."""

    sensors: pd.DataFrame
    bands: list[Band]
    headline_label: str
    headline: str
    reporting: int
    silent: int
    above_label: str
    above: str
    newest: pd.Timestamp | None
    stale_after: pd.Timedelta


def live_feed(latest: pd.DataFrame, metric: Metric, now: pd.Timestamp, rhythm: Rhythm,
              thresholds: Sequence[Threshold] | None = None, tz: str = "UTC") -> LiveFeed:
    """From sensor_latest rows: each sensor's latest reading (protected), fresh or not, its
    band, and the headline figures of the sensors heard from within `rhythm.stale_after`.

    With thresholds, a reading's band is the highest threshold level it is above among the
    thresholds for its local time of day (`tz`): 50 dB is above the night guideline at 23:30
    and below the day one at 12:00."""
    thresholds = metric_thresholds(metric, thresholds)
    rows = latest.copy()
    rows["silent_for"] = now - rows["ts"]
    rows["fresh"] = rows["silent_for"].le(rhythm.stale_after).fillna(False).astype(bool)
    rows["is_total"] = False
    fresh_values = rows.loc[rows["fresh"], "value"]
    counts = metric.aggregation == "sum"
    headline_row = pd.DataFrame({
        "fresh": [True], "is_total": [True],
        "value": [fresh_values.sum() if counts else (fresh_values.mean() if metric.aggregation == "mean" else fresh_values.max())],
    })
    if counts:
        # The total is shown beside its cells: protect them together.
        joint = protect(pd.concat([rows, headline_row], ignore_index=True), metric,
                        group_cols=["fresh"], total_col="is_total")
        sensors, headline = joint[~joint["is_total"]].copy(), joint[joint["is_total"]]
    else:
        sensors, headline = protect(rows, metric), protect(headline_row, metric)
    if fresh_values.empty:
        headline_text = "no data"
    else:
        headline_text = headline["value_display"].iloc[0]
    bands = threshold_bands(metric, thresholds) or value_bands(sensors.loc[sensors["fresh"], "value"], metric)
    if thresholds:
        minutes = _local_minutes(sensors["ts"], tz)
        indices = [None if pd.isna(value) else level_at(value, minute, thresholds)
                   for value, minute in zip(sensors["value"], minutes)]
    else:
        indices = [band_index(value, bands) for value in sensors["value"]]
    sensors["band_index"] = pd.array(indices, dtype="Int64")
    sensors["band"] = [_band_label(index, kind, bands, metric) for index, kind in zip(indices, sensors[SUPPRESSION])]
    sensors = sensors.drop(columns=["is_total"]).reset_index(drop=True)
    fresh = sensors[sensors["fresh"]]
    if thresholds:
        top = max(levels_of(thresholds))
        above_label = f"Above {level_short(thresholds, top, metric.unit)} now"  # a count of sensors
        above = f"{int(fresh['band_index'].eq(top).fillna(False).sum())} of {len(fresh)}"
        unknown = int(fresh[SUPPRESSION].eq(PROTECTS_TOTAL).sum())
        if unknown:
            # A value hidden to protect a total may be above the threshold: say it is not counted.
            above += f" ({unknown} {SECONDARY_MARK})"
    else:
        above_label = f"Highest now ({metric.unit})"
        shown = fresh.dropna(subset=["value"])
        if not shown.empty:
            above = shown.loc[shown["value"].idxmax(), "value_display"]
        elif fresh[SUPPRESSION].eq(PROTECTS_TOTAL).any():
            above = SECONDARY_MARK  # a cell hidden to protect a total is not small: "<N" would be false
        elif fresh[SUPPRESSED].any():
            above = fresh["value_display"][fresh[SUPPRESSED]].iloc[0]
        else:
            above = "no data"
    headline_label = ("Total now" if counts else "Average now" if metric.aggregation == "mean" else "Highest now") \
        + f" ({metric.unit})"
    newest = latest["ts"].max() if latest["ts"].notna().any() else None
    return LiveFeed(sensors, bands, headline_label, headline_text, int(rows["fresh"].sum()),
                    int((~rows["fresh"]).sum()), above_label, above, newest, rhythm.stale_after)


def _local_minutes(moments: pd.Series, tz: str) -> list[int]:
    """The local minute of the day (hour * 60 + minute) of each naive UTC time, -1 for none:
    converted all at once (one utc_to_local a sensor cost about 40 µs each)."""
    local = _in_local_time(moments, tz)
    minutes = (local.dt.hour * 60 + local.dt.minute).to_numpy(dtype="float64", na_value=np.nan)
    return [-1 if math.isnan(minute) else int(minute) for minute in minutes.tolist()]


def _in_local_time(moments: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(pd.Series(moments, copy=False)).dt.tz_localize("UTC").dt.tz_convert(tz)


def _local_texts(moments: pd.Series, tz: str) -> list[str]:
    """local_text of each naive UTC time ("never" for none), converted and written all at once."""
    texts = _in_local_time(moments, tz).dt.strftime("%a %d %b %Y, %H:%M")
    return [text if isinstance(text, str) else "never" for text in texts.tolist()]


def _band_label(index: int | None, kind: str, bands: Sequence[Band], metric: Metric) -> str:
    if kind == SMALL:
        return f"under {is_disclosive(metric)} {metric.unit}"
    if kind == PROTECTS_TOTAL:
        return "suppressed to protect a total"
    return "" if index is None or pd.isna(index) else bands[int(index)].label


def status_text(silent_for: pd.Timedelta, fresh: bool) -> str:
    if pd.isna(silent_for):
        return f"not heard from in the last {duration_text(LATEST_LOOKBACK)}"
    if fresh:
        return "reporting"
    return f"not heard from for {duration_text(silent_for)}"


def latest_table(feed: LiveFeed, metric: Metric, tz: str) -> pd.DataFrame:
    """The latest-readings table exactly as shown (and downloaded): text, no raw values."""
    _require_protected(feed.sensors)
    rows = feed.sensors.assign(
        order_fresh=~feed.sensors["fresh"],
        order_value=feed.sensors["value"].fillna(-math.inf),
    ).sort_values(["order_fresh", "order_value", "name"], ascending=[True, False, True], kind="stable")
    return pd.DataFrame({
        "Sensor": rows["name"].to_numpy(),
        f"Reading ({metric.unit})": rows["value_display"].where(rows["ts"].notna(), "").to_numpy(),
        "Note": notes(rows, metric),
        "Status": [status_text(silent, fresh) for silent, fresh in zip(rows["silent_for"], rows["fresh"])],
        "Band": rows["band"].where(rows["ts"].notna(), "").to_numpy(),
        "Time of reading": [local_text(ts, tz) if not pd.isna(ts) else "" for ts in rows["ts"]],
        "Borough": rows["borough_name"].fillna("").to_numpy(),
    })


def live_sentence(feed: LiveFeed, metric: Metric, area_text: str) -> str:
    """The map's text alternative."""
    sensors = feed.sensors
    if sensors.empty:
        return f"No sensor in {area_text} reports {metric.label.lower()}."
    sentences = [f"{feed.reporting} of {len(sensors)} {metric.label.lower()} sensors in {area_text} have reported "
                 f"in the last {duration_text(feed.stale_after)}"]
    fresh = sensors[sensors["fresh"]]
    if not fresh.empty:
        by_band = fresh["band"].value_counts()
        order = [band.label for band in feed.bands] + [label for label in by_band.index
                                                        if label not in {band.label for band in feed.bands}]
        counted = [f"{by_band[label]} {'at ' if label[0].isdigit() else ''}{label}" for label in order
                   if label in by_band.index and label]
        if counted:
            sentences.append("Their latest readings: " + ", ".join(counted))
        shown = fresh.dropna(subset=["value"])
        if not shown.empty:
            top = shown.loc[shown["value"].idxmax()]
            sentences.append(f"Highest: {top['name']} ({with_unit(top['value_display'], metric.unit)})")
    if feed.silent:
        sentences.append(f"{feed.silent} {'has' if feed.silent == 1 else 'have'} not been heard from recently "
                         "(hollow rings)")
    return ". ".join(sentences) + "."


def live_map(feed: LiveFeed, areas_geojson: dict, view: dict, metric: Metric, tz: str,
             selected: Sequence[str] = ()) -> pdk.Deck:
    """Borough outlines as the backdrop (no basemap), fresh sensors as dots coloured by band,
    silent ones as hollow rings. The view state is the city's fixed one, so a refresh keeps
    whatever pan and zoom the reader chose."""
    _require_protected(feed.sensors)
    sensors = feed.sensors.dropna(subset=["lat", "lon"])
    fills = []
    for index, hidden in zip(sensors["band_index"], sensors[SUPPRESSED]):
        fills.append(list(HIDDEN_FILL if hidden else maps.NO_DATA if pd.isna(index) else feed.bands[int(index)].colour)
                     + [240])
    points = pd.DataFrame({
        "name": sensors["name"].astype(str).to_numpy(),
        "borough": sensors["borough_name"].fillna("").astype(str).to_numpy(),
        "lon": sensors["lon"].astype("float64").to_numpy(),
        "lat": sensors["lat"].astype("float64").to_numpy(),
        "fill": fills,
        "reading": [f"Latest: {shown} at {local_text(ts, tz)}" if not pd.isna(ts)
                    else "No reading in the last week"
                    for shown, ts in zip(shown_with_note(sensors, metric), sensors["ts"])],
        "status": [status_text(silent, fresh) for silent, fresh in zip(sensors["silent_for"], sensors["fresh"])],
        "fresh": sensors["fresh"].to_numpy(dtype=bool),
    })
    selected_codes = set(selected)
    backdrop = []
    for feature in areas_geojson["features"]:
        chosen = feature["properties"]["code"] in selected_codes
        backdrop.append({"type": "Feature", "geometry": feature["geometry"], "properties": {
            "fill": list(BACKDROP_SELECTED_FILL if chosen else BACKDROP_FILL) + [255],
            "line_width": 120 if chosen else 40}})
    common = dict(get_position=["lon", "lat"], get_radius=180, radius_min_pixels=6, radius_max_pixels=14,
                  line_width_min_pixels=2, pickable=True, auto_highlight=True, highlight_color=[255, 128, 0, 220])
    layers = [
        pdk.Layer("GeoJsonLayer", {"type": "FeatureCollection", "features": backdrop}, id="sensors-boroughs",
                  pickable=False, stroked=True, filled=True, get_fill_color="properties.fill",
                  get_line_color=list(BACKDROP_LINE), get_line_width="properties.line_width",
                  line_width_min_pixels=1, line_width_max_pixels=3),
        pdk.Layer("ScatterplotLayer", points[~points["fresh"]].drop(columns="fresh"), id="sensors-silent",
                  filled=False, stroked=True, get_line_color=list(STALE_RING), **common),
        pdk.Layer("ScatterplotLayer", points[points["fresh"]].drop(columns="fresh"), id="sensors-reporting",
                  filled=True, stroked=True, get_fill_color="fill", get_line_color=[31, 41, 51], **common),
    ]
    # maps.Deck: compact JSON. pydeck's indented, key-sorted JSON of the borough outlines took
    # most of this map's time at every refresh of the feed.
    return maps.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(latitude=view["latitude"], longitude=view["longitude"],
                                         zoom=view["zoom"], pitch=0, bearing=0),
        map_provider=None,
        tooltip={"text": "{name} ({borough})\n{reading}\n{status}"},
    )


def live_legend_html(feed: LiveFeed, metric: Metric, rhythm: Rhythm,
                     thresholds: Sequence[Threshold] | None = None) -> str:
    """Swatches in the map's exact colours, each with its meaning in words."""
    rows = []
    timed = any(not threshold.all_day for threshold in metric_thresholds(metric, thresholds))
    title = (f"Latest {metric.label.lower()} ({metric.unit}), against the catalogue's thresholds"
             + (" for the local time of each reading" if timed else "")
             if metric_thresholds(metric, thresholds) else f"Latest {metric.label.lower()} ({metric.unit})")
    threshold = is_disclosive(metric)
    hidden_text = (f"1 to {threshold - 1} (shown as “<{threshold}”, never as the number), or hidden so that "
                   f"the total cannot reveal such a count (shown as “{SECONDARY_MARK}”)") if threshold else ""
    for index, band in enumerate(feed.bands):
        rows.append(_swatch(band.colour, band.label))
        if threshold is not None and index == 0:
            rows.append(_swatch(HIDDEN_FILL, hidden_text))
    if threshold is not None and not feed.bands:
        rows.append(_swatch(HIDDEN_FILL, hidden_text))
    ring = "rgb({},{},{})".format(*STALE_RING)
    rows.append(f'<li><span class="cd-swatch" style="background:transparent;border:3px solid {ring};border-radius:50%">'
                f'</span>not heard from for over {duration_text(rhythm.stale_after)}</li>')
    return (f'<figure class="cd-legend" aria-label="Map legend: {html.escape(title)}">'
            f'<figcaption>{html.escape(title)}</figcaption><ul>{"".join(rows)}</ul></figure>')


def _swatch(colour: tuple[int, int, int], label: str) -> str:
    return (f'<li><span class="cd-swatch" style="background:rgb({colour[0]},{colour[1]},{colour[2]});'
            f'border-radius:50%"></span>{html.escape(label)}</li>')


# ---------------------------------------------------------------------------------------
# Sensor health, computed by queries/sensor_health.sql.


def health_ranges(dataset: Dataset) -> list[str]:
    """The $ranges parameter: 'metric:low:high' per metric, from the expected (else valid) range."""
    return [f"{metric}:{low!r}:{high!r}" for metric, (low, high) in sorted(expected_ranges_of(dataset.metrics).items())]


def zero_is_normal(dataset: Dataset) -> list[str]:
    """Counts (metrics that add up) are zero whenever nobody passes: a run of zeros is no fault."""
    return [metric.id for metric in dataset.metrics if metric.aggregation == "sum"]


def health_start(period_start: pd.Timestamp, now: pd.Timestamp, tz: str) -> pd.Timestamp:
    """Where sensor health is judged from: the period's start, or HEALTH_SPAN_DAYS local days before
    now when the period began earlier (naive UTC, as the period)."""
    span_start = local_to_utc(utc_to_local(now, tz) - pd.Timedelta(days=HEALTH_SPAN_DAYS), tz)
    return max(period_start, span_start)


def health_params(dataset: Dataset, boroughs: Sequence[str], now: pd.Timestamp,
                  period_start: pd.Timestamp, period_end: pd.Timestamp) -> dict:
    rhythm = rhythm_of(dataset)
    return {
        "dataset": dataset.id,
        "boroughs": list(boroughs),
        "now": now,
        "period_start": period_start,
        "period_end": period_end,
        "interval_s": int(rhythm.interval.total_seconds()),
        "stuck_after": default_stuck_after(rhythm.interval),
        "stale_s": int(rhythm.stale_after.total_seconds()),
        "dead_s": int(rhythm.dead_after.total_seconds()),
        "min_uptime_pct": MIN_UPTIME_PCT,
        "zero_ok": zero_is_normal(dataset),
        "ranges": health_ranges(dataset),
    }


def health_from_query(rows: pd.DataFrame, now: pd.Timestamp, interval: pd.Timedelta,
                      disclosure: dict[str, int], min_uptime_pct: float = MIN_UPTIME_PCT) -> pd.DataFrame:
    """sensor_health rows in the shape of citydash.sensors.sensor_health (plus where each sensor
    is), with the same problem texts; small counts stay hidden in them."""
    last_seen = pd.to_datetime(rows["last_seen"]).astype("datetime64[us]")
    silent_for = now - last_seen
    longest_gap = rows["longest_gap_slots"].fillna(0).astype("int64") * interval
    uptime = pd.to_numeric(rows["uptime_pct"], errors="coerce").astype("float64")
    readings = rows["readings"].fillna(0).astype("int64")
    gap_count = rows["gap_count"].fillna(0).astype("int64")
    stuck_texts = [_stuck_texts(runs, disclosure) for runs in rows["stuck_runs"]]
    range_texts = [_range_text(per_metric) for per_metric in rows["out_of_range_by_metric"]]
    problems = [
        problems_text(pd.isna(seen), count == 0, bool(stale), silent, stuck, out_of_range,
                      bool(percent < min_uptime_pct), percent, gaps, longest)
        for seen, count, stale, silent, stuck, out_of_range, percent, gaps, longest in zip(
            last_seen, readings, rows["stale"], silent_for, stuck_texts, range_texts, uptime, gap_count, longest_gap)
    ]
    return pd.DataFrame({
        "entity_id": rows["entity_id"].astype(str).to_numpy(),
        "name": rows["name"].astype(str).to_numpy(),
        "kind": rows["kind"].to_numpy(),
        "borough_code": rows["borough_code"].to_numpy(),
        "borough_name": rows["borough_name"].to_numpy(),
        "last_seen": last_seen.to_numpy(),
        "silent_for": silent_for.to_numpy(),
        "readings": readings.to_numpy(),
        "uptime_pct": uptime.to_numpy(),
        "gap_count": gap_count.to_numpy(),
        "longest_gap": longest_gap.to_numpy(),
        "stale": rows["stale"].astype(bool).to_numpy(),
        "stuck": np.array([text != "" for text in stuck_texts], dtype=bool),
        "out_of_range": rows["out_of_range"].fillna(0).astype("int64").to_numpy(),
        "status": rows["status"].astype(object).to_numpy(),
        "problems": pd.Series(problems, dtype=object).to_numpy(),
    })


def _listed(value) -> list:
    """A list column's entry from DuckDB: a list or array, or a missing value for none."""
    return list(value) if isinstance(value, (list, tuple, np.ndarray)) else []


def _stuck_texts(runs, disclosure: dict[str, int]) -> str:
    return "; ".join(
        stuck_text(run["metric"], float(run["value"]), int(run["readings"]),
                   pd.Timestamp(run["last_ts"]) - pd.Timestamp(run["first_ts"]), disclosure.get(run["metric"]))
        for run in _listed(runs))


def _range_text(per_metric) -> str:
    pairs = [(item["metric"], int(item["readings"])) for item in _listed(per_metric)]
    return out_of_range_text(pairs) if pairs else ""


@dataclass(frozen=True)
class HealthSummary:
    sensors: int
    ok: int
    attention: int
    dead: int
    median_uptime: float | None


def health_summary(health: pd.DataFrame) -> HealthSummary:
    counts = health["status"].value_counts()
    uptime = health["uptime_pct"].dropna()
    return HealthSummary(len(health), int(counts.get("ok", 0)), int(counts.get("attention", 0)),
                         int(counts.get("dead", 0)), float(uptime.median()) if not uptime.empty else None)


def attention_table(health: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Sensors needing attention, worst first (citydash.sensors.attention_ranking), as shown."""
    ranked = attention_ranking(health)
    ranked = ranked[ranked["status"].ne("ok")].reset_index(drop=True)
    return pd.DataFrame({
        "Rank": np.arange(1, len(ranked) + 1),
        "Sensor": ranked["name"].to_numpy(),
        "Borough": ranked["borough_name"].fillna("").to_numpy(),
        "Status": ranked["status"].map({"attention": "needs attention", "dead": "dead"}).to_numpy(),
        "Problems": ranked["problems"].to_numpy(),
        "Uptime (%)": ranked["uptime_pct"].round(1).to_numpy(),
        "Last seen": _local_texts(ranked["last_seen"], tz),
        "Score": ranked["attention_score"].round(1).to_numpy(),
    })


def borough_health(health: pd.DataFrame) -> pd.DataFrame:
    """Per borough with sensors: counts by status and the healthy share, fewest healthy first."""
    names = health.dropna(subset=["borough_code"]).drop_duplicates("borough_code").set_index("borough_code")["borough_name"]
    shares = healthy_share_by_area(health, health[["entity_id", "borough_code"]])
    shares.insert(1, "borough_name", shares["borough_code"].map(names))
    return shares.sort_values(["healthy_share", "borough_name"], kind="stable").reset_index(drop=True)


def borough_health_table(shares: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Borough": shares["borough_name"].to_numpy(),
        "Sensors": shares["sensors"].to_numpy(),
        "Healthy": shares["ok"].to_numpy(),
        "Need attention": shares["attention"].to_numpy(),
        "Dead": shares["dead"].to_numpy(),
        "Healthy (%)": (100 * shares["healthy_share"]).round(0).to_numpy(),
    })


def borough_health_figure(shares: pd.DataFrame) -> go.Figure:
    """Stacked bars per borough, healthy first; the healthy count and share printed on each."""
    ordered = shares.iloc[::-1]
    traces = [dict(
        type="bar", y=ordered["borough_name"], x=ordered[status], orientation="h", name=label,
        marker=dict(color=STATUS_COLOURS[status], line=dict(color="white", width=1)),
        text=[f"{count}" if count else "" for count in ordered[status]], textposition="inside",
        textangle=0, insidetextanchor="middle",
        hovertemplate="%{y}: %{x} " + label.lower() + "<extra></extra>",
    ) for status, label in (("ok", "Healthy"), ("attention", "Needs attention"), ("dead", "Dead"))]
    traces.append(dict(
        type="scatter", y=ordered["borough_name"], x=ordered["sensors"], mode="text", showlegend=False,
        text=[f"  {share:.0%} healthy" for share in ordered["healthy_share"]], textposition="middle right",
        hoverinfo="skip", cliponaxis=False,
    ))
    most = int(shares["sensors"].max()) if not shares.empty else 0
    return charts.figure(traces, _house_layout(
        "Sensor health by borough, fewest healthy first", height=max(260, 26 * len(ordered) + 110),
        barmode="stack", margin=dict(l=10, r=110, t=50, b=70), legend={**FOOT_LEGEND, "traceorder": "normal"},
        xaxis=dict(title_text="sensors", rangemode="tozero", tickformat="d", **({"dtick": 1} if most <= 10 else {})),
        yaxis=dict(tickfont=dict(size=12))))


def health_sentence(summary: HealthSummary, shares: pd.DataFrame, period_text: str) -> str:
    if summary.sensors == 0:
        return "There are no sensors in this selection."
    text = (f"Of {summary.sensors} sensors, {summary.ok} were healthy, {summary.attention} need attention "
            f"and {summary.dead} are dead ({period_text})")
    if summary.median_uptime is not None:
        text += f"; the median uptime was {summary.median_uptime:.1f}%"
    worst = shares[shares["healthy_share"].lt(1)]
    if not worst.empty:
        first = worst.iloc[0]
        text += f". {first['borough_name']} has the smallest healthy share ({first['ok']} of {first['sensors']})"
    return text + "."


# ---------------------------------------------------------------------------------------
# Thresholds: readings above them, per borough and day.


def exceedance_params(thresholds: Sequence[Threshold]) -> dict:
    """The sensor_exceedances $thresholds (citydash.sensors.threshold_entries)."""
    return {"thresholds": threshold_entries(thresholds)}


def exceedance_query(counted_with: pd.DataFrame, metric_id: str, thresholds: Sequence[Threshold],
                     tz: str) -> tuple[str, dict]:
    """The query for readings above these thresholds and its own parameters: sensor_exceedances
    (from the sensor_threshold_daily rollup) when the rollup was counted with them
    (`counted_with`: sensor_threshold_specs), else sensor_exceedances_from_readings. The rollup
    is counted with the catalogue's thresholds when the app starts; a catalogue changed since
    is answered from the readings, more slowly, until the next start."""
    params = exceedance_params(thresholds)
    counted = counted_with.loc[counted_with["metric"].eq(metric_id), "thresholds"].tolist()
    if counted == [thresholds_key(thresholds)]:
        return "sensor_exceedances", params
    return "sensor_exceedances_from_readings", {**params, "tz": tz}


def exceedance_days(rows: pd.DataFrame, metric: Metric, thresholds: Sequence[Threshold] | None = None) -> pd.DataFrame:
    """sensor_exceedances rows (one per borough, day and level) side by side, as downloaded: per
    level the readings its thresholds applied to, how many were above and their share (%)."""
    thresholds = metric_thresholds(metric, thresholds)
    keys = ["borough_code", "borough_name", "day"]
    first_of_key = np.flatnonzero(~rows.duplicated(keys).to_numpy())
    base = rows.iloc[first_of_key][[*keys, "sensors", "readings"]].reset_index(drop=True)
    days = pd.DataFrame({
        "borough_code": base["borough_code"].to_numpy(),
        "borough_name": base["borough_name"].to_numpy(),
        "day": pd.to_datetime(base["day"]).dt.date.to_numpy(),
        "sensors": base["sensors"].astype("int64").to_numpy(),
        "readings": base["readings"].astype("int64").to_numpy(),
    })
    # Each borough and day numbered once, and each level's row for it looked up by number: a
    # MultiIndex and two reindexes per level cost several ms. A missing borough or day, or a
    # level twice for one borough and day, go the reindexing way, which has its own rules for
    # them (it raises for the second).
    missing_keys = rows[["borough_code", "day"]].isna().any(axis=None)
    group = None if missing_keys else rows.groupby(["borough_code", "day"], sort=False).ngroup().to_numpy()
    row_levels = rows["level"].to_numpy()
    for level in levels_of(thresholds):
        key = level_key(thresholds, level)
        of_level = np.flatnonzero(row_levels == level)
        if group is not None and len(np.unique(group[of_level])) == len(of_level):
            row_of_group = np.full(int(group.max()) + 1 if len(group) else 0, -1)
            row_of_group[group[of_level]] = of_level
            found = row_of_group[group[first_of_key]]
            in_hours, above = (np.where(found >= 0, np.nan_to_num(
                rows[column].to_numpy(dtype="float64", na_value=np.nan)[np.maximum(found, 0)]), 0).astype("int64")
                for column in ("in_hours", "above"))
        else:
            of = rows[rows["level"].eq(level)].set_index(["borough_code", "day"])
            index = pd.MultiIndex.from_arrays([base["borough_code"], base["day"]])
            in_hours = of["in_hours"].reindex(index).fillna(0).astype("int64").to_numpy()
            above = of["above"].reindex(index).fillna(0).astype("int64").to_numpy()
        days[f"in_hours_{key}"] = in_hours
        days[f"above_{key}"] = above
        with np.errstate(divide="ignore", invalid="ignore"):
            days[f"pct_above_{key}"] = np.round(100 * above / np.where(in_hours > 0, in_hours, np.nan), 1)
    return days


def exceedance_by_borough(days: pd.DataFrame, metric: Metric,
                          thresholds: Sequence[Threshold] | None = None) -> pd.DataFrame:
    """The period per borough, most often above the highest level first, as shown. Shares are of
    the readings taken while each threshold applied."""
    thresholds = metric_thresholds(metric, thresholds)
    levels = levels_of(thresholds)
    sums = {f"in_hours_{level_key(thresholds, level)}": "sum" for level in levels}
    sums |= {f"above_{level_key(thresholds, level)}": "sum" for level in levels}
    totals = days.groupby(["borough_code", "borough_name"], as_index=False).agg(
        readings=("readings", "sum"), sensors=("sensors", "max"), **{name: (name, how) for name, how in sums.items()})
    columns = {"Borough": totals["borough_name"], "Sensors": totals["sensors"], "Readings": totals["readings"]}
    order = []
    for level in reversed(levels):
        key = level_key(thresholds, level)
        share = (100 * totals[f"above_{key}"] / totals[f"in_hours_{key}"].where(totals[f"in_hours_{key}"].gt(0))).round(1)
        totals[f"pct_{key}"] = share
        order.append(f"pct_{key}")
    totals = totals.sort_values([*order, "borough_name"], ascending=[False] * len(order) + [True], kind="stable",
                                na_position="last")
    columns = {"Borough": totals["borough_name"].to_numpy(), "Sensors": totals["sensors"].to_numpy(),
               "Readings": totals["readings"].to_numpy()}
    for level in levels:
        key, short = level_key(thresholds, level), level_short(thresholds, level, metric.unit)
        columns[f"Above {short}"] = totals[f"above_{key}"].to_numpy()
        columns[f"Above {short} (%)"] = totals[f"pct_{key}"].to_numpy()
    return pd.DataFrame(columns)


def exceedance_heatmap(days: pd.DataFrame, metric: Metric, thresholds: Sequence[Threshold] | None = None) -> go.Figure:
    """Boroughs by day, shaded by the share of readings above the highest level (of those taken
    while it applied); the counts are in the hover text and the downloadable table."""
    thresholds = metric_thresholds(metric, thresholds)
    top = max(levels_of(thresholds))
    key, text = level_key(thresholds, top), level_text(thresholds, top, metric.unit)
    share_col, above_col, hours_col = f"pct_above_{key}", f"above_{key}", f"in_hours_{key}"
    names, day_columns, (shares, counts, totals) = _borough_day_grids(days, [share_col, above_col, hours_col])
    # The counts are whole numbers: numpy writes them as "{:.0f}" would, for the whole grid at once.
    counted = np.char.add(np.char.add(np.nan_to_num(counts).astype("int64").astype(str), " of "),
                          np.char.add(np.nan_to_num(totals).astype("int64").astype(str), " readings"))
    hover = np.where(np.isnan(totals), "no readings", counted).astype(object)
    colourscale = [[index / (len(maps.SEQUENTIAL) - 1), "rgb({},{},{})".format(*colour)]
                   for index, colour in enumerate(maps.SEQUENTIAL)]
    heatmap = dict(
        type="heatmap", z=shares, x=_days(day_columns), y=names,
        customdata=hover, colorscale=colourscale, zmin=0,
        colorbar=dict(title=dict(text=f"% above {level_short(thresholds, top, '')}".strip()), ticksuffix="%"),
        hovertemplate="%{y}, %{x|%a %d %b %Y}: %{z:.1f}% of readings above " + text
                      + " (%{customdata})<extra></extra>",
        xgap=1, ygap=1,
    )
    return charts.figure([heatmap], _house_layout(f"% of readings above {text}", height=max(280, 22 * len(names) + 110),
                                                 yaxis=dict(tickfont=dict(size=12))))


def _borough_day_grids(days: pd.DataFrame, columns: Sequence[str]) -> tuple[list, list, list[np.ndarray]]:
    """Borough names (last name first), days (first day first) and, per column, a names x days
    grid of its values (NaN where a borough has no row for a day): what
    pivot_table(index="borough_name", columns="day", aggfunc="first", dropna=False)
    .sort_index(ascending=False) gives, without pivot_table's cost (several ms a grid)."""
    keys = days[["borough_name", "day"]]
    if days.empty or keys.isna().any(axis=None) or keys.duplicated().any():
        # Rows to merge or missing names: pivot_table's own rules, as the chart always had them
        # (the first grid keeps a missing name, the others drop it).
        first = days.pivot_table(index="borough_name", columns="day", values=columns[0], aggfunc="first",
                                 dropna=False).sort_index(ascending=False)
        others = [days.pivot_table(index="borough_name", columns="day", values=column, aggfunc="first")
                  .reindex_like(first).to_numpy(dtype="float64") for column in columns[1:]]
        return list(first.index), list(first.columns), [first.to_numpy(dtype="float64"), *others]
    name_of_row, day_of_row = keys["borough_name"].tolist(), keys["day"].tolist()
    names, day_columns = sorted(set(name_of_row), reverse=True), sorted(set(day_of_row))
    row_at = {name: index for index, name in enumerate(names)}
    column_at = {day: index for index, day in enumerate(day_columns)}
    rows = np.fromiter((row_at[name] for name in name_of_row), dtype="int64", count=len(days))
    cells = np.fromiter((column_at[day] for day in day_of_row), dtype="int64", count=len(days))
    grids = []
    for column in columns:
        grid = np.full((len(names), len(day_columns)), np.nan)
        grid[rows, cells] = days[column].to_numpy(dtype="float64")
        grids.append(grid)
    return names, day_columns, grids


def exceedance_sentence(table: pd.DataFrame, metric: Metric, thresholds: Sequence[Threshold] | None = None) -> str:
    if table.empty:
        return f"No {metric.label.lower()} readings in this selection."
    thresholds = metric_thresholds(metric, thresholds)
    top = max(levels_of(thresholds))
    short = level_short(thresholds, top, metric.unit)
    first = table.iloc[0]
    if pd.isna(first[f"Above {short} (%)"]):
        return f"No reading in this selection was taken while the {short} threshold applied."
    return (f"{first['Borough']} had the largest share of readings above {level_text(thresholds, top, metric.unit)} "
            f"({first[f'Above {short} (%)']:.1f}%, {first[f'Above {short}']:,} readings).")


# ---------------------------------------------------------------------------------------
# Time series and daily profiles.


def borough_series(rows: pd.DataFrame, metric: Metric, max_boroughs: int = MAX_BOROUGH_LINES) -> pd.DataFrame:
    """sensor_daily_by_borough rows, protected, with a `label`: the selection as a whole, and
    each borough when there are at most `max_boroughs`. The selection is each day's total of
    its boroughs, so for counts the two are protected together."""
    frame = rows.copy()
    frame["is_total"] = frame["scope"].eq("selection")
    boroughs = frame.loc[~frame["is_total"], "borough_code"].dropna().unique()
    if len(boroughs) <= max_boroughs:
        shown = protect(frame, metric, group_cols=["day"], total_col="is_total")
    else:
        shown = protect(frame[frame["is_total"]], metric)
    shown["label"] = shown["borough_name"].where(~shown["is_total"], "All selected boroughs")
    shown["day"] = pd.to_datetime(shown["day"]).dt.date
    return shown.drop(columns=["is_total"]).reset_index(drop=True)


def series_table(series: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    _require_protected(series)
    return pd.DataFrame({
        "Day": series["day"].to_numpy(),
        "Area": series["label"].to_numpy(),
        f"{metric.label} ({metric.unit})": series["value_display"].to_numpy(),
        "Note": notes(series, metric),
        "Sensors": series["sensors"].astype("Int64").to_numpy(),
    })


def borough_series_figure(series: pd.DataFrame, metric: Metric, thresholds: Sequence[Threshold] | None = None) -> go.Figure:
    _require_protected(series)
    labels = list(dict.fromkeys(series.sort_values(["scope", "label"], ascending=[False, True])["label"]))
    traces = []
    for index, label in enumerate(labels):
        rows = series[series["label"].eq(label)].sort_values("day")
        whole = rows["scope"].eq("selection").all()
        alone = len(labels) == 1
        traces.append(dict(
            type="scatter", x=_days(rows["day"]), y=rows["value"], mode="lines", name=label,
            customdata=_texts(shown_with_note(rows, metric)),
            line=dict(color=charts.HIGHLIGHT if alone else charts.CITY_LINE if whole
                      else charts.CATEGORICAL[(index - 1) % len(charts.CATEGORICAL)],
                      width=2.5 if whole else 1.8, dash="dot" if whole and not alone else "solid"),
            hovertemplate="%{x|%a %d %b %Y}: %{customdata}<extra>%{fullData.name}</extra>",
        ))
    what = "daily total" if metric.aggregation == "sum" else "daily average" if metric.aggregation == "mean" else "daily highest"
    return charts.figure(traces, _house_layout(
        f"{metric.label}, {what}", height=380, showlegend=True, yaxis=_value_axis(metric),
        **_marks(metric, thresholds)))


def sensor_series(rows: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """sensor_readings rows, protected by local day (a day's total is a borough's daily total
    when the sensor is its borough's only one)."""
    frame = rows.copy()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return protect(frame, metric, group_cols=["day"])


def sensor_series_table(series: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    _require_protected(series)
    return pd.DataFrame({
        "Local time": pd.to_datetime(series["local_ts"]).dt.strftime("%Y-%m-%d %H:%M").tolist(),
        f"{metric.label} ({metric.unit})": series["value_display"].to_numpy(),
        "Note": notes(series, metric),
    })


def sensor_series_figure(series: pd.DataFrame, metric: Metric, sensor_name: str,
                         thresholds: Sequence[Threshold] | None = None) -> go.Figure:
    _require_protected(series)
    line = dict(
        type="scattergl", x=pd.to_datetime(series["local_ts"]), y=series["value"], mode="lines", name=sensor_name,
        customdata=_texts(shown_with_note(series, metric)), line=dict(color=charts.HIGHLIGHT, width=1.4),
        hovertemplate="%{x|%a %d %b %Y, %H:%M}: %{customdata}<extra></extra>",
    )
    return charts.figure([line], _house_layout(
        "Every reading (local time)", height=340, showlegend=False, yaxis=_value_axis(metric),
        **_marks(metric, thresholds)))


def daily_profile(rows: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """sensor_daily_profile rows, protected (an average count can be as telling as a count)."""
    return protect(rows, metric)


def profile_table(profile: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    _require_protected(profile)
    return pd.DataFrame({
        "Days": profile["day_type"].map({"weekday": "Monday to Friday", "weekend": "Saturday and Sunday"}).to_numpy(),
        "Hour": [f"{int(hour):02d}:00" for hour in profile["hour"]],
        f"Average reading ({metric.unit})": profile["value_display"].to_numpy(),
        "Note": notes(profile, metric),
        "Readings": profile["readings"].to_numpy(),
        "Sensors": profile["sensors"].to_numpy(),
    })


def profile_figure(profile: pd.DataFrame, metric: Metric, interval: pd.Timedelta,
                   thresholds: Sequence[Threshold] | None = None) -> go.Figure:
    _require_protected(profile)
    traces = []
    for index, (day_type, label) in enumerate((("weekday", "Monday to Friday"), ("weekend", "Saturday and Sunday"))):
        rows = profile[profile["day_type"].eq(day_type)].sort_values("hour")
        traces.append(dict(
            type="scatter", x=rows["hour"], y=rows["value"], mode="lines+markers", name=label,
            customdata=_texts(shown_with_note(rows, metric)),
            line=dict(color=charts.CATEGORICAL[index], width=2, dash="solid" if index == 0 else "dash"),
            marker=dict(symbol="circle" if index == 0 else "square", size=6),
            hovertemplate="%{x:02d}:00: %{customdata}<extra>%{fullData.name}</extra>",
        ))
    per = f"per {duration_text(interval)} reading" if metric.aggregation == "sum" else "average reading"
    return charts.figure(traces, _house_layout(
        f"{metric.label} by hour of day", height=360,
        xaxis=dict(title_text="hour of day (local time)", tickmode="array", tickvals=list(range(0, 24, 3)),
                   ticktext=[f"{hour:02d}:00" for hour in range(0, 24, 3)], range=[-0.5, 23.5]),
        yaxis={**_value_axis(metric), "title_text": f"{metric.unit}, {per}"},
        **_marks(metric, thresholds, by_hour=True)))


def profile_sentence(profile: pd.DataFrame, metric: Metric) -> str:
    weekday = profile[profile["day_type"].eq("weekday")].dropna(subset=["value"])
    if weekday.empty:
        return f"No weekday {metric.label.lower()} readings to profile."
    peak = weekday.loc[weekday["value"].idxmax()]
    return (f"On weekdays {metric.label.lower()} peaks around {int(peak['hour']):02d}:00 "
            f"({with_unit(peak['value_display'], metric.unit)} on average).")


REFERENCE_LINE_COLOUR = "#52606D"
REFERENCE_TEXT_FONT = dict(size=12, color="#3E4C59")
# At the foot of the figure: above the plot, a legend that wraps on a phone runs into the title.
FOOT_LEGEND = dict(orientation="h", yref="container", yanchor="bottom", y=0.0, xanchor="left", x=0)


def _marks(metric: Metric, thresholds: Sequence[Threshold] | None = None, by_hour: bool = False) -> dict:
    """The layout's `shapes` and `annotations` (and the margin their labels need): the threshold
    lines, then the band where hidden counts would be. Built as dicts in one go: plotly's
    add_hline/add_hrect re-validate the whole figure at every call. The lines sit where
    add_hline(annotation_position="right") would put them (charts.reference_lines has no
    label beside the line on the right, nor these line styles)."""
    shapes, annotations = [], []
    thresholds = metric_thresholds(metric, thresholds)
    for threshold in thresholds:
        # A dashed line per threshold, labelled with its hours when it does not apply all day. On
        # a chart by hour of day (`by_hour`) each line runs only over the hours it applies to.
        dash = "dash" if threshold.level == 1 else "dashdot"
        text = f"{threshold.value:g} {metric.unit}" + ("" if threshold.all_day else f" {threshold.hours_text()}")
        line = dict(color=REFERENCE_LINE_COLOUR, width=1, dash=dash)
        if by_hour and not threshold.all_day:
            start, end = threshold.start_minute / 60 - 0.5, threshold.end_minute / 60 - 0.5
            spans = [(start, end)] if start < end else [(start, 23.5), (-0.5, end)]
            shapes += [dict(type="line", x0=x0, x1=x1, y0=threshold.value, y1=threshold.value, line=line)
                       for x0, x1 in spans]
            # Labelled over its longest stretch: a label at 23:00 on a line that wraps past
            # midnight ran off the chart's right edge.
            longest = max(spans, key=lambda span: span[1] - span[0])
            annotations.append(dict(x=longest[0], y=threshold.value, text=text, showarrow=False, xanchor="left",
                                    yanchor="bottom", font=REFERENCE_TEXT_FONT))
        else:
            shapes.append(dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=threshold.value,
                               y1=threshold.value, line=line))
            annotations.append(dict(text=text, showarrow=False, font=REFERENCE_TEXT_FONT, xref="x domain", x=1,
                                    xanchor="left", yref="y", y=threshold.value, yanchor="middle"))
    marks = {}
    if thresholds and not by_hour:
        # The threshold labels sit in the right margin, clear of the data.
        marks["margin"] = dict(l=10, r=150 if any(not threshold.all_day for threshold in thresholds) else 90,
                               t=50, b=70)
    hidden_below = is_disclosive(metric)
    if hidden_below is not None:
        # For counts of people: shade where hidden values would be, so a gap in a line reads as
        # "under N", not as missing data.
        shapes.append(dict(type="rect", xref="x domain", x0=0, x1=1, yref="y", y0=0, y1=hidden_below,
                           fillcolor="#CBD2D9", opacity=0.35, line=dict(width=0), layer="below"))
        annotations.append(dict(text=f"under {hidden_below}: not shown", showarrow=False, font=REFERENCE_TEXT_FONT,
                                xref="x domain", x=0, xanchor="left", yref="y", y=hidden_below, yanchor="top"))
    if shapes:
        marks["shapes"], marks["annotations"] = shapes, annotations
    return marks


def _days(days: Iterable) -> np.ndarray | list[pd.Timestamp]:
    """Days as a datetime64 array: the same JSON as a list of Timestamps, which plotly copies
    one object at a time. With a day missing, the list: plotly writes a missing Timestamp as
    null but a missing datetime64 as "NaT"."""
    days = list(days)
    stamps = pd.to_datetime(pd.Series(days, dtype=object))
    if stamps.isna().any():
        return [pd.Timestamp(day) for day in days]
    return stamps.to_numpy()


def _texts(texts: list) -> np.ndarray:
    """Hover texts as an array: plotly copies an array as it is, but converts a list item by
    item (several ms for a month of readings). The figure's JSON is the same."""
    return np.array(texts, dtype=object)


def _value_axis(metric: Metric) -> dict:
    """Counts start at zero; measurements such as noise or temperature are read against their
    thresholds, so their axis keeps to the data (and the threshold lines)."""
    return dict(title_text=metric.unit, rangemode="tozero" if metric.aggregation == "sum" else "normal")


def _house_layout(title: str, height: int, **settings) -> dict:
    """charts.layout with this page's foot-of-figure legend and bottom margin (settings override)."""
    return charts.layout(title, height, **{"margin": dict(l=10, r=10, t=50, b=70), "legend": FOOT_LEGEND, **settings})
