"""The UK Daily Air Quality Index (DAQI), computed the official way.

The breakpoints, averaging periods, bands and health advice live in the catalogue
(`[indices.daqi]` in data/catalog.toml); this module only knows the method:

1. average each pollutant over its period (NO2 hourly mean, O3 running 8-hour mean,
   PM2.5 and PM10 running 24-hour means), with the usual 75% data-capture rule;
2. round the average half up to a whole number of µg/m³;
3. the index is the first of 1..9 whose inclusive upper bound is at least that number,
   or 10 above the ninth bound;
4. a day's index for a pollutant is the highest over the day, and a site's DAQI for the
   day is the highest across its pollutants.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

DEFAULT_CATALOG_PATH = Path(__file__).resolve().parents[1] / "data" / "catalog.toml"
INDEX_COUNT = 10
DAQI_METRIC = "daqi"
DEFAULT_MIN_COVERAGE = 0.75
# Averages are rounded to this many decimals before banding so that floating-point noise
# in a sum (67.49999999999999 for a true 67.5) cannot move a value across a .5 boundary.
NOISE_DECIMALS = 6
HOUR = np.timedelta64(1, "h")


@dataclass(frozen=True)
class Band:
    """A named range of index values with its health advice."""

    name: str
    first: int
    last: int
    advice_general: str
    advice_at_risk: str


@dataclass(frozen=True)
class Daqi:
    """The DAQI as the catalogue defines it (see `load_daqi`)."""

    upper_bounds: Mapping[str, tuple[float, ...]]
    averaging_hours: Mapping[str, int]
    bands: tuple[Band, ...]

    @property
    def pollutants(self) -> tuple[str, ...]:
        return tuple(self.upper_bounds)


def load_daqi(catalog_path: Path = DEFAULT_CATALOG_PATH) -> Daqi:
    """Read and validate `[indices.daqi]` from a catalogue file.

    Raises ValueError naming the file and the problem when the section is missing or
    inconsistent: each pollutant needs 9 strictly increasing non-negative upper bounds
    and a positive whole number of averaging hours, and the bands must cover index
    1..10 in order without gaps or overlaps.
    """
    with open(catalog_path, "rb") as handle:
        catalog = tomllib.load(handle)
    section = catalog.get("indices", {}).get("daqi")
    if not isinstance(section, dict):
        raise ValueError(f"{catalog_path}: no [indices.daqi] section")
    return _parse_daqi(section, str(catalog_path))


def _parse_daqi(section: dict, where: str) -> Daqi:
    raw_bounds = section.get("upper_bounds")
    raw_hours = section.get("averaging_hours")
    raw_bands = section.get("bands")
    if not isinstance(raw_bounds, dict) or not raw_bounds:
        raise ValueError(f"{where}: [indices.daqi] needs an upper_bounds table")
    if not isinstance(raw_hours, dict):
        raise ValueError(f"{where}: [indices.daqi] needs an averaging_hours table")
    if not isinstance(raw_bands, list) or not raw_bands:
        raise ValueError(f"{where}: [indices.daqi] needs [[indices.daqi.bands]] entries")

    upper_bounds = {
        pollutant: _checked_bounds(pollutant, bounds, where)
        for pollutant, bounds in raw_bounds.items()
    }
    if set(raw_hours) != set(upper_bounds):
        raise ValueError(
            f"{where}: DAQI averaging_hours pollutants {sorted(raw_hours)} differ from "
            f"upper_bounds pollutants {sorted(upper_bounds)}"
        )
    averaging_hours = {
        pollutant: _checked_hours(pollutant, raw_hours[pollutant], where)
        for pollutant in upper_bounds
    }
    bands = tuple(_checked_band(position, band, where) for position, band in enumerate(raw_bands))
    _check_band_coverage(bands, where)
    return Daqi(
        upper_bounds=MappingProxyType(upper_bounds),
        averaging_hours=MappingProxyType(averaging_hours),
        bands=bands,
    )


def _checked_bounds(pollutant: str, bounds: object, where: str) -> tuple[float, ...]:
    expected = INDEX_COUNT - 1
    if not isinstance(bounds, list) or len(bounds) != expected:
        raise ValueError(
            f"{where}: DAQI upper_bounds for {pollutant!r} must be a list of {expected} numbers, "
            f"got {bounds!r}"
        )
    if not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds):
        raise ValueError(f"{where}: DAQI upper_bounds for {pollutant!r} must all be numbers: {bounds!r}")
    if bounds[0] < 0 or any(later <= earlier for earlier, later in zip(bounds, bounds[1:])):
        raise ValueError(
            f"{where}: DAQI upper_bounds for {pollutant!r} must be non-negative and strictly "
            f"increasing: {bounds!r}"
        )
    return tuple(float(b) for b in bounds)


def _checked_hours(pollutant: str, hours: object, where: str) -> int:
    if not isinstance(hours, int) or isinstance(hours, bool) or hours < 1:
        raise ValueError(
            f"{where}: DAQI averaging_hours for {pollutant!r} must be a whole number of hours >= 1, "
            f"got {hours!r}"
        )
    return hours


def _checked_band(position: int, band: object, where: str) -> Band:
    fields = ("name", "first", "last", "advice_general", "advice_at_risk")
    if not isinstance(band, dict) or any(name not in band for name in fields):
        raise ValueError(f"{where}: DAQI band #{position + 1} needs {', '.join(fields)}: {band!r}")
    first, last = band["first"], band["last"]
    if not (isinstance(first, int) and isinstance(last, int) and first <= last):
        raise ValueError(
            f"{where}: DAQI band {band['name']!r} needs whole numbers first <= last, "
            f"got first={first!r} last={last!r}"
        )
    return Band(
        name=str(band["name"]),
        first=first,
        last=last,
        advice_general=str(band["advice_general"]),
        advice_at_risk=str(band["advice_at_risk"]),
    )


def _check_band_coverage(bands: tuple[Band, ...], where: str) -> None:
    next_index = 1
    for band in sorted(bands, key=lambda b: b.first):
        if band.first != next_index:
            problem = "a gap" if band.first > next_index else "an overlap"
            raise ValueError(
                f"{where}: DAQI bands leave {problem} at index {min(band.first, next_index)} "
                f"(band {band.name!r} starts at {band.first}, expected {next_index})"
            )
        next_index = band.last + 1
    if next_index != INDEX_COUNT + 1:
        raise ValueError(
            f"{where}: DAQI bands must cover indices 1..{INDEX_COUNT}, they stop at {next_index - 1}"
        )


@functools.lru_cache(maxsize=1)
def _cached_daqi(catalog_path: Path) -> Daqi:
    return load_daqi(catalog_path)


def _resolve(daqi: Daqi | None, default_path: Path = DEFAULT_CATALOG_PATH) -> Daqi:
    return daqi if daqi is not None else _cached_daqi(default_path)


def _bounds_for(pollutant: str, daqi: Daqi) -> tuple[float, ...]:
    if pollutant not in daqi.upper_bounds:
        raise ValueError(
            f"unknown DAQI pollutant {pollutant!r}: expected one of {', '.join(daqi.pollutants)}"
        )
    return daqi.upper_bounds[pollutant]


def _indices_for(bounds: tuple[float, ...], concentrations: np.ndarray) -> np.ndarray:
    """Index 1..10 for each concentration (round half up, then first bound >= it)."""
    rounded = np.floor(concentrations + 0.5)
    return np.searchsorted(np.asarray(bounds), rounded, side="left").astype(np.int64) + 1


def daqi_index(pollutant: str, concentration: float, daqi: Daqi | None = None) -> int:
    """The DAQI index (1..10) of an already averaged concentration in µg/m³.

    The concentration is rounded half up to a whole number (67.5 -> 68), then the index is
    the first whose inclusive upper bound is >= that number; above the ninth bound it is 10.
    """
    bounds = _bounds_for(pollutant, _resolve(daqi))
    value = float(concentration)
    if math.isnan(value):
        raise ValueError(f"{pollutant} concentration is NaN: a missing reading has no index")
    if value < 0:
        raise ValueError(f"{pollutant} concentration {value} µg/m³ is negative")
    return int(_indices_for(bounds, np.array([value]))[0])


def daqi_band(index: int, daqi: Daqi | None = None) -> Band:
    """The band (name and health advice) that an index 1..10 falls in."""
    for band in _resolve(daqi).bands:
        if band.first <= index <= band.last:
            return band
    raise ValueError(f"DAQI index {index!r} is outside 1..{INDEX_COUNT}")


def _min_readings(hours: int, min_coverage: float) -> int:
    if not isinstance(hours, (int, np.integer)) or hours < 1:
        raise ValueError(f"averaging period must be a whole number of hours >= 1, got {hours!r}")
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage!r}")
    # The tolerance keeps 0.75 * 8 = 6 at 6 instead of letting float error make it 7.
    return max(1, math.ceil(hours * min_coverage - 1e-9))


def _window_means(values: np.ndarray, present: np.ndarray, hours: int, min_count: int) -> np.ndarray:
    """Mean of the `hours` slots ending at each slot; NaN where fewer than min_count present.

    `values` holds 0 where `present` is False. Sums are built from shifted copies rather than
    a cumulative sum, whose rounding error grows with the length of the array.
    """
    sums = values.copy()
    counts = present.astype(np.int32)
    for shift in range(1, hours):
        sums[shift:] += values[:-shift]
        counts[shift:] += present[:-shift]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.round(sums / counts, NOISE_DECIMALS)
    means[counts < min_count] = np.nan
    return means


def _as_naive_utc(ts: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(ts)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


def _hours_to_datetimes(hour_numbers: np.ndarray) -> np.ndarray:
    return (np.datetime64(0, "h") + hour_numbers * HOUR).astype("datetime64[us]")


def _hour_numbers(ts: pd.Series) -> np.ndarray:
    """Whole hours since 1970 for naive UTC timestamps; ValueError if any is not on the hour."""
    micros = _as_naive_utc(ts).to_numpy(dtype="datetime64[us]").astype(np.int64)
    micros_per_hour = 3_600_000_000
    off_the_hour = micros % micros_per_hour != 0
    if off_the_hour.any():
        example = _as_naive_utc(ts)[off_the_hour].iloc[0]
        raise ValueError(f"readings must be hourly, on the hour: {example} is not")
    return micros // micros_per_hour


def running_mean(
    frame: pd.DataFrame, hours: int, min_coverage: float = DEFAULT_MIN_COVERAGE
) -> pd.Series:
    """Running mean over the `hours` hours ending at each hour, for one site's hourly readings.

    `frame` has columns ts (hourly timestamps, gaps allowed) and value. The result has one
    entry per hour from the first reading to the last, indexed by ts, each the mean of the
    readings in the window ending at (and including) that hour. Data-capture rule: a window
    in which fewer than `min_coverage` (75% by default, the usual rule for UK air-quality
    statistics) of its hours have readings gives NaN; hours before the first reading count
    as missing. So an 8-hour mean needs 6 readings and a 24-hour mean needs 18.
    """
    min_count = _min_readings(hours, min_coverage)
    readings = frame.dropna(subset=["value"])
    if readings.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], name="ts"), name="value")
    hour = _hour_numbers(readings["ts"])
    if len(np.unique(hour)) != len(hour):
        raise ValueError("readings have more than one value for the same hour")
    first, last = int(hour.min()), int(hour.max())
    slot = hour - first
    values = np.zeros(last - first + 1)
    present = np.zeros(last - first + 1, dtype=bool)
    values[slot] = readings["value"].to_numpy(dtype="float64")
    present[slot] = True
    means = _window_means(values, present, hours, min_count)
    index = pd.DatetimeIndex(_hours_to_datetimes(np.arange(first, last + 1)), name="ts")
    return pd.Series(means, index=index, name="value")


def _local_days(first_hour: int, last_hour: int, tz: str) -> tuple[np.ndarray, list[dt.date]]:
    """For each hour in first..last (UTC hour numbers): a day number, and the dates by number."""
    utc = pd.DatetimeIndex(_hours_to_datetimes(np.arange(first_hour, last_hour + 1))).tz_localize("UTC")
    local_midnights = utc.tz_convert(tz).tz_localize(None).normalize()
    day_codes, unique_days = pd.factorize(local_midnights, sort=True)
    return day_codes.astype(np.int64), [stamp.date() for stamp in unique_days]


OUTPUT_COLUMNS = ["entity_id", "day", "metric", "index", "concentration", "pollutant"]


def _empty_daily() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": pd.Series(dtype="object"),
            "day": pd.Series(dtype="object"),
            "metric": pd.Series(dtype="object"),
            "index": pd.Series(dtype="int64"),
            "concentration": pd.Series(dtype="float64"),
            "pollutant": pd.Series(dtype="object"),
        }
    )


def daily_index(
    readings: pd.DataFrame,
    daqi: Daqi | None = None,
    tz: str = "Europe/London",
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> pd.DataFrame:
    """Daily DAQI per site and pollutant, and overall, from hourly readings.

    `readings`: long frame with entity_id, ts (naive UTC, on the hour), metric, value (µg/m³).
    Metrics that are not DAQI pollutants (so2, co, ...) are ignored. Each pollutant is
    averaged over its catalogue period with `running_mean`'s 75% data-capture rule; the
    day's index for a pollutant is that of the highest average in the day, days being
    calendar days in `tz` (the average labelled with an hour belongs to that hour's day).

    Returns one row per (entity_id, day, metric) with a valid average that day, plus one row
    per (entity_id, day) with metric "daqi", the highest index across pollutants. Columns:
    entity_id, day (datetime.date), metric, index (int), concentration (the averaged
    concentration that set the index), pollutant (the pollutant that set it: equal to metric
    on pollutant rows; on "daqi" rows the one with the highest index, ties going to the
    first in catalogue order). Sorted by entity_id, day, then metric.

    Raises ValueError for NaN or negative values, timestamps not on the hour, or two
    values for the same (entity_id, metric, ts).
    """
    table = _resolve(daqi)
    pollutants = list(table.pollutants)
    relevant = readings[readings["metric"].isin(pollutants)]
    if relevant.empty:
        return _empty_daily()
    values = relevant["value"].to_numpy(dtype="float64")
    if np.isnan(values).any():
        raise ValueError("readings contain NaN values: a missing reading must be an absent row")
    if (values < 0).any():
        raise ValueError(f"readings contain {(values < 0).sum()} negative values")

    entity_codes, entity_ids = pd.factorize(relevant["entity_id"])
    metric_codes, metric_names = pd.factorize(relevant["metric"])
    pollutant_of_metric = np.array([pollutants.index(name) for name in metric_names], dtype=np.int64)
    hour = _hour_numbers(relevant["ts"])

    # One dense hourly series per (entity, pollutant), laid end to end in a single array with
    # a run of empty slots before each so that no window reaches into the previous series.
    group = entity_codes.astype(np.int64) * len(pollutants) + pollutant_of_metric[metric_codes]
    order = np.argsort(group * (hour.max() - hour.min() + 1) + (hour - hour.min()))
    group, hour, values = group[order], hour[order], values[order]
    group_starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    same_group_next = group[1:] == group[:-1]
    if (same_group_next & (hour[1:] == hour[:-1])).any():
        position = int(np.flatnonzero(same_group_next & (hour[1:] == hour[:-1]))[0])
        raise ValueError(
            "readings have more than one value for the same hour: "
            f"{entity_ids[group[position] // len(pollutants)]} "
            f"{pollutants[group[position] % len(pollutants)]} at "
            f"{_hours_to_datetimes(hour[position : position + 1])[0]}"
        )
    padding = max(table.averaging_hours.values())
    first_hour = hour[group_starts]
    last_hour = np.r_[hour[group_starts[1:] - 1], hour[-1]]
    spans = last_hour - first_hour + 1
    series_start = np.r_[0, np.cumsum(spans + padding)[:-1]] + padding
    run_of = np.repeat(np.arange(len(group_starts)), np.diff(np.r_[group_starts, len(group)]))
    slot = series_start[run_of] + (hour - first_hour[run_of])
    total = int(series_start[-1] + spans[-1])
    dense_values = np.zeros(total)
    dense_present = np.zeros(total, dtype=bool)
    dense_values[slot] = values
    dense_present[slot] = True

    # Which series, pollutant and hour each slot of the dense array stands for.
    slot_series = np.repeat(np.arange(len(group_starts)), spans)
    slot_offsets = np.arange(len(slot_series)) - np.repeat(np.r_[0, np.cumsum(spans)[:-1]], spans)
    series_slots = series_start[slot_series] + slot_offsets
    slot_pollutant = group[group_starts][slot_series] % len(pollutants)
    slot_hour = first_hour[slot_series] + slot_offsets

    averages = np.full(len(series_slots), np.nan)
    means_by_period: dict[int, np.ndarray] = {}
    for code, pollutant in enumerate(pollutants):
        hours = table.averaging_hours[pollutant]
        chosen = slot_pollutant == code
        if not chosen.any():
            continue
        if hours not in means_by_period:
            min_count = _min_readings(hours, min_coverage)
            means_by_period[hours] = _window_means(dense_values, dense_present, hours, min_count)
        averages[chosen] = means_by_period[hours][series_slots[chosen]]

    day_of_hour, days = _local_days(int(slot_hour.min()), int(slot_hour.max()), tz)
    slot_day = day_of_hour[slot_hour - slot_hour.min()]

    # Slots are ordered by series then hour, and local days only move forward with the hour,
    # so each (series, day) is a contiguous run whose maximum is one reduceat away.
    key = slot_series * len(days) + slot_day
    run_starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    daily_max = np.fmax.reduceat(averages, run_starts)
    keep = ~np.isnan(daily_max)
    run_starts, daily_max = run_starts[keep], daily_max[keep]
    run_series = slot_series[run_starts]
    run_pollutant = slot_pollutant[run_starts]
    run_entity = group[group_starts][run_series] // len(pollutants)
    run_day = slot_day[run_starts]
    run_index = np.zeros(len(run_starts), dtype=np.int64)
    for code, pollutant in enumerate(pollutants):
        chosen = run_pollutant == code
        run_index[chosen] = _indices_for(table.upper_bounds[pollutant], daily_max[chosen])

    per_pollutant = pd.DataFrame(
        {
            "entity": run_entity,
            "day_code": run_day,
            "pollutant_code": run_pollutant,
            "index": run_index,
            "concentration": daily_max,
        }
    )
    # Highest index first, then catalogue order, so the first row per (entity, day) wins.
    overall = (
        per_pollutant.sort_values(
            ["entity", "day_code", "index", "pollutant_code"],
            ascending=[True, True, False, True],
            kind="stable",
        )
        .drop_duplicates(["entity", "day_code"])
        .assign(is_overall=True)
    )
    combined = pd.concat([per_pollutant.assign(is_overall=False), overall], ignore_index=True)
    pollutant_names = np.array(pollutants, dtype=object)
    metric_names = np.where(
        combined["is_overall"].to_numpy(), DAQI_METRIC, pollutant_names[combined["pollutant_code"]]
    )
    day_values = np.array(days, dtype=object)
    result = pd.DataFrame(
        {
            "entity_id": np.asarray(entity_ids, dtype=object)[combined["entity"].to_numpy()],
            "day": day_values[combined["day_code"].to_numpy()],
            "metric": metric_names.astype(object),
            "index": combined["index"].to_numpy(dtype=np.int64),
            "concentration": combined["concentration"].to_numpy(dtype=np.float64),
            "pollutant": pollutant_names[combined["pollutant_code"].to_numpy()],
        }
    )
    return result.sort_values(["entity_id", "day", "metric"], ignore_index=True)[OUTPUT_COLUMNS]
