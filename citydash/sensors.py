"""Street sensor health rules, and a clock for replaying recorded readings as if live.

Pure functions on modest frames (one borough, one period): `readings` follows the observation
contract (entity_id, ts naive UTC, metric, value) and `sensors` the entity contract. The rules:

- window: readings from period_start up to period_end (exclusive), never after `now`
  (during a replay, later readings have not "arrived" yet);
- expected slots: the whole `expected_interval` slots from period_start to the earlier of
  period_end and now; a slot is filled when the sensor sent any reading (any metric) in it;
- uptime_pct: filled slots / expected slots x 100 (NaN when no slot has elapsed yet);
- gaps: runs of empty slots (leading, between readings and trailing up to now), their count
  and the longest one;
- stale: not heard from for more than `stale_after_intervals` x expected_interval;
- stuck: one metric repeating the same value over more than `stuck_after` consecutive
  readings (default: the number of intervals in 6 hours); zero runs of metrics listed in
  `zero_is_normal` (footfall at night) are not faults;
- out_of_range: readings outside the metric's inclusive range (the catalogue's expected_range
  where it has one, else its valid_range: see `expected_ranges_of`);
- status: "dead" when there is no reading in the window or the sensor has been silent for
  more than `dead_after` (24 h); otherwise "attention" when stale, stuck, out of range or
  uptime below `min_uptime_pct`; otherwise "ok".

The problem texts are built by public functions (`problems_text`, `stuck_text`, ...) so that
health computed elsewhere (queries/sensor_health.sql) is described in the same words. A value
of a metric with a disclosure threshold (a count of people) is never written out when it is
below the threshold: "footfall stuck at <10".
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from citydash.catalog import CatalogError, Dataset, pack_files

STATUSES = ("ok", "attention", "dead")
STUCK_SPAN = pd.Timedelta(hours=6)
# The catalogue domain of street-sensor datasets, and how often their sensors report when the
# catalogue does not say (expected_interval_minutes).
SENSOR_DOMAIN = "sensors"
DEFAULT_INTERVAL = pd.Timedelta(minutes=15)

# attention_ranking: points per fault, so dead sensors always come first (200 is more than
# every other fault together: 40 + 30 + 30 + 50).
SCORE_DEAD = 200.0
SCORE_STALE = 40.0
SCORE_STUCK = 30.0
SCORE_OUT_OF_RANGE = 20.0
SCORE_PER_OUT_OF_RANGE_READING = 1.0
SCORE_OUT_OF_RANGE_READINGS_COUNTED = 10
SCORE_PER_MISSING_UPTIME_POINT = 0.5


def expected_interval(dataset: Dataset) -> pd.Timedelta:
    """How often a catalogue dataset's sensors report."""
    minutes = dataset.expected_interval_minutes
    return pd.Timedelta(minutes=minutes) if minutes else DEFAULT_INTERVAL


def default_stuck_after(expected_interval: pd.Timedelta) -> int:
    """How many identical readings in a row are still normal: as many as fit in 6 hours."""
    return max(1, int(STUCK_SPAN / expected_interval))


def valid_ranges_of(metrics: Iterable[Mapping | object]) -> dict[str, tuple[float, float]]:
    """metric id -> (low, high) from catalogue metrics (TOML dicts or catalogue Metric objects)."""
    ranges = {}
    for metric in metrics:
        get = metric.get if isinstance(metric, Mapping) else lambda key, m=metric: getattr(m, key, None)
        if get("valid_range") is not None:
            low, high = get("valid_range")
            ranges[get("id")] = (float(low), float(high))
    return ranges


def expected_ranges_of(metrics: Iterable[Mapping | object]) -> dict[str, tuple[float, float]]:
    """metric id -> (low, high) for health checks: the expected_range, else the valid_range.

    Publishing already rejects readings outside the valid range, so for a published dataset
    only the (narrower) expected range can flag anything.
    """
    metrics = list(metrics)
    ranges = valid_ranges_of(metrics)
    for metric in metrics:
        get = metric.get if isinstance(metric, Mapping) else lambda key, m=metric: getattr(m, key, None)
        if get("expected_range") is not None:
            low, high = get("expected_range")
            ranges[get("id")] = (float(low), float(high))
    return ranges


def sensor_health(
    readings: pd.DataFrame,
    sensors: pd.DataFrame,
    now: pd.Timestamp,
    period_start: pd.Timestamp,
    period_end: pd.Timestamp,
    expected_interval: pd.Timedelta,
    valid_ranges: Mapping[str, tuple[float, float]],
    stuck_after: int | None = None,
    *,
    stale_after_intervals: float = 4,
    dead_after: pd.Timedelta = pd.Timedelta(hours=24),
    zero_is_normal: Collection[str] = (),
    min_uptime_pct: float = 90.0,
    disclosure: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """One row per sensor in `sensors`, by the rules in the module docstring.

    Columns: entity_id, name, last_seen (latest reading up to now, any period), silent_for,
    readings (in the window), uptime_pct, gap_count, longest_gap, stale, stuck, out_of_range,
    status, problems (plain English, "; "-separated, "" when ok). `disclosure` maps metric id
    -> threshold for counts of people, whose small values the problem texts do not repeat.
    """
    now, period_start, period_end = (_naive_utc(moment) for moment in (now, period_start, period_end))
    expected_interval = pd.Timedelta(expected_interval)
    if expected_interval <= pd.Timedelta(0):
        raise ValueError(f"expected_interval must be positive, not {expected_interval}")
    if period_start >= period_end:
        raise ValueError(f"the period must start before it ends ({period_start} .. {period_end})")
    if now < period_start:
        raise ValueError(f"now ({now}) is before the period starts ({period_start})")
    stuck_after = default_stuck_after(expected_interval) if stuck_after is None else stuck_after

    ids = pd.Index(sensors["entity_id"].astype(str), name="entity_id")
    names = sensors["name"].astype(str).to_numpy() if "name" in sensors else ids.to_numpy()
    known = readings[readings["entity_id"].isin(ids) & readings["ts"].le(now)]
    window = known[known["ts"].ge(period_start) & known["ts"].lt(period_end)]
    window_end = min(period_end, now)
    slot_count = int((window_end - period_start) // expected_interval)

    last_seen = known.groupby("entity_id")["ts"].max().reindex(ids)
    silent_for = now - last_seen
    count = window.groupby("entity_id").size().reindex(ids, fill_value=0)
    uptime_pct, gap_count, longest_gap = _slots(window, ids, period_start, expected_interval, slot_count)
    stuck_texts = _stuck(window, ids, stuck_after, zero_is_normal, disclosure or {})
    range_text, out_of_range = _out_of_range(window, ids, valid_ranges)

    stale = last_seen.isna() | silent_for.gt(expected_interval * stale_after_intervals)
    stuck = stuck_texts.ne("")
    dead = count.eq(0) | last_seen.isna() | silent_for.gt(dead_after)
    low_uptime = uptime_pct.lt(min_uptime_pct)
    attention = stale | stuck | out_of_range.gt(0) | low_uptime
    status = pd.Series(np.select([dead, attention], ["dead", "attention"], "ok"), index=ids)

    problems = [
        problems_text(*facts)
        for facts in zip(
            last_seen.isna(), count.eq(0), stale, silent_for, stuck_texts, range_text,
            low_uptime, uptime_pct, gap_count, longest_gap,
        )
    ]
    return pd.DataFrame({
        "entity_id": ids.to_numpy(),
        "name": names,
        "last_seen": last_seen.to_numpy(),
        "silent_for": silent_for.to_numpy(),
        "readings": count.to_numpy(dtype="int64"),
        "uptime_pct": uptime_pct.to_numpy(dtype="float64"),
        "gap_count": gap_count.to_numpy(dtype="int64"),
        "longest_gap": longest_gap.to_numpy(),
        "stale": stale.to_numpy(dtype=bool),
        "stuck": stuck.to_numpy(dtype=bool),
        "out_of_range": out_of_range.to_numpy(dtype="int64"),
        "status": status.to_numpy(dtype=object),
        "problems": pd.Series(problems, dtype=object),
    })


def attention_ranking(health: pd.DataFrame) -> pd.DataFrame:
    """`health` sorted worst first, with the `attention_score` it is sorted by.

    Score = 200 if dead + 40 if stale + 30 if stuck + (20 + 1 per out-of-range reading, up to
    10) if any reading is out of range + 0.5 per percentage point of uptime below 100.
    Dead sensors therefore always rank first. Ties: longest gap first, then entity_id.
    """
    uptime_missing = (100.0 - health["uptime_pct"]).clip(lower=0).fillna(100.0)
    out_of_range = health["out_of_range"].clip(upper=SCORE_OUT_OF_RANGE_READINGS_COUNTED)
    score = (
        SCORE_DEAD * health["status"].eq("dead")
        + SCORE_STALE * health["stale"]
        + SCORE_STUCK * health["stuck"]
        + (SCORE_OUT_OF_RANGE + SCORE_PER_OUT_OF_RANGE_READING * out_of_range) * health["out_of_range"].gt(0)
        + SCORE_PER_MISSING_UPTIME_POINT * uptime_missing
    )
    ranked = health.assign(attention_score=score.astype("float64"))
    return ranked.sort_values(
        ["attention_score", "longest_gap", "entity_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)


def healthy_share_by_area(health: pd.DataFrame, entities: pd.DataFrame, area_col: str = "borough_code") -> pd.DataFrame:
    """Per area: sensors, ok, attention, dead and healthy_share (ok / sensors, 0..1).

    Sensors without an area are left out. One row per area that has sensors, sorted by area.
    """
    areas = entities[["entity_id", area_col]].dropna(subset=[area_col])
    joined = health[["entity_id", "status"]].merge(areas, on="entity_id", how="inner").dropna(subset=["status"])
    # Counted in numpy, as pd.crosstab(area, status) counts them (areas sorted, only the known
    # statuses counted, an area with none of them kept with zeros): crosstab cost more than the
    # rest of the page's health section put together.
    names, area_of_row = np.unique(joined[area_col].to_numpy(), return_inverse=True)
    status_at = {status: index for index, status in enumerate(STATUSES)}
    column_of_row = np.fromiter((status_at.get(status, -1) for status in joined["status"]), dtype="int64",
                                count=len(joined))
    known = column_of_row >= 0
    counts = np.zeros((len(names), len(STATUSES)), dtype="int64")
    np.add.at(counts, (area_of_row.reshape(-1)[known], column_of_row[known]), 1)
    sensors = counts.sum(axis=1)
    shares = pd.DataFrame({area_col: names, "sensors": sensors,
                           **{status: counts[:, index] for status, index in status_at.items()}})
    shares["healthy_share"] = shares["ok"] / shares["sensors"]
    return shares


@dataclass(frozen=True)
class ReplayClock:
    """Simulated time for replaying recorded readings as if they arrived live.

    `speed` is simulated seconds per real second (0 pauses). The caller passes the real time
    (`time.monotonic()` values) so the clock stays pure. With `end`, the simulated time wraps
    round to `loop_start` (default: `start`) on reaching `end`.
    """

    start: pd.Timestamp
    speed: float
    started_at: float
    end: pd.Timestamp | None = None
    loop_start: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.speed) or self.speed < 0:
            raise ValueError(f"speed must be a finite number of at least 0, not {self.speed!r}")
        if self.end is not None and not self._loop_start() <= pd.Timestamp(self.start) < pd.Timestamp(self.end):
            raise ValueError(f"start {self.start} must lie in [{self._loop_start()}, {self.end})")

    def _loop_start(self) -> pd.Timestamp:
        return pd.Timestamp(self.start if self.loop_start is None else self.loop_start)

    def now(self, at: float) -> pd.Timestamp:
        """The simulated time when the real (monotonic) clock reads `at`."""
        if at < self.started_at:
            raise ValueError(f"at ({at}) is before the clock started ({self.started_at})")
        elapsed = pd.Timedelta(microseconds=round((at - self.started_at) * self.speed * 1_000_000))
        simulated = pd.Timestamp(self.start) + elapsed
        if self.end is None or simulated < pd.Timestamp(self.end):
            return simulated
        loop_start = self._loop_start()
        return loop_start + (simulated - loop_start) % (pd.Timestamp(self.end) - loop_start)

    def with_speed(self, speed: float, at: float) -> "ReplayClock":
        """A clock that carries on from this one's time at `at`, at a new speed, looping the same way."""
        return ReplayClock(self.now(at), speed, at, self.end, self._loop_start() if self.end is not None else None)


# Thresholds: a value a metric is compared with, and the local hours it applies to.


MINUTES_PER_DAY = 24 * 60
HOURS_PATTERN = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class Threshold:
    """A threshold that applies from `start_minute` (inclusive) to `end_minute` (exclusive) of the
    local day; a start after the end wraps past midnight (23:00-07:00). `level` orders a metric's
    thresholds: readings above a level-2 threshold are worse than above a level-1 one, and the
    thresholds of one level (a day and a night value) never overlap in time."""

    value: float
    level: int = 1
    label: str = ""
    start_minute: int = 0
    end_minute: int = MINUTES_PER_DAY
    source: str = ""

    @property
    def all_day(self) -> bool:
        return self.start_minute == 0 and self.end_minute == MINUTES_PER_DAY

    def applies_at(self, minute: int) -> bool:
        """Whether the threshold applies at `minute` after local midnight."""
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute

    def hours_text(self) -> str:
        if self.all_day:
            return "all day"
        return f"{_clock(self.start_minute)}–{_clock(self.end_minute)}"


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hours(text: str, where: str) -> tuple[int, int]:
    """ "07:00-23:00" -> (420, 1380); "00:00-24:00" is the whole day."""
    match = HOURS_PATTERN.match(str(text).strip())
    if not match:
        raise CatalogError(f"{where}: hours must be written HH:MM-HH:MM (e.g. 07:00-23:00), not {text!r}")
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    if start > MINUTES_PER_DAY or end > MINUTES_PER_DAY or start == end or start == MINUTES_PER_DAY:
        raise CatalogError(f"{where}: hours {text!r} are not a stretch of the day")
    return start, end


def load_sensor_thresholds(pack_dir: Path) -> dict[str, tuple[Threshold, ...]]:
    """metric id -> its thresholds from [[sensor_thresholds.<metric>]] tables in catalog.toml and
    catalog.d/*.toml (the main catalogue loader ignores them), lowest level and value first.

    Raises CatalogError naming the file for a malformed table or two thresholds of one level
    whose hours overlap (a reading would be counted twice).
    """
    found: dict[str, list[Threshold]] = {}
    for path in pack_files(pack_dir):
        try:
            content = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise CatalogError(f"{path}: not valid TOML ({error})") from error
        for metric_id, tables in content.get("sensor_thresholds", {}).items():
            for index, table in enumerate(tables):
                where = f"{path} [[sensor_thresholds.{metric_id}]] #{index + 1}"
                value, level = table.get("value"), table.get("level", 1)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise CatalogError(f"{where}: value must be a number")
                if isinstance(level, bool) or not isinstance(level, int) or level < 1:
                    raise CatalogError(f"{where}: level must be a whole number of at least 1")
                if not str(table.get("source", "")).strip():
                    raise CatalogError(f"{where}: say where the value comes from (source = ...)")
                start, end = parse_hours(table.get("hours", "00:00-24:00"), where)
                found.setdefault(metric_id, []).append(Threshold(
                    float(value), level, str(table.get("label", "")), start, end, str(table["source"])))
    for metric_id, thresholds in found.items():
        for level in {threshold.level for threshold in thresholds}:
            same = [threshold for threshold in thresholds if threshold.level == level]
            for minute in range(0, MINUTES_PER_DAY, 15):
                if sum(threshold.applies_at(minute) for threshold in same) > 1:
                    raise CatalogError(f"sensor_thresholds.{metric_id}: two level-{level} thresholds apply at "
                                       f"{_clock(minute)}; give each level hours that do not overlap")
    return {metric_id: tuple(sorted(thresholds, key=lambda threshold: (threshold.level, threshold.start_minute,
                                                                        threshold.value)))
            for metric_id, thresholds in found.items()}


def thresholds_for(metric: object, rules: Mapping[str, tuple[Threshold, ...]]) -> tuple[Threshold, ...]:
    """A metric's thresholds: the timed ones set for its id, else its catalogue `thresholds` as
    all-day ones (the lowest level 1, the next level 2, ...)."""
    if rules.get(metric.id):
        return tuple(rules[metric.id])
    return tuple(Threshold(float(value), level) for level, value in enumerate(sorted(metric.thresholds), start=1))


def threshold_entries(thresholds: Iterable[Threshold]) -> list[str]:
    """The thresholds as the SQL takes them: 'level:value:from_minute:to_minute' each (a text list,
    as sensor_health's $ranges, so one bound parameter carries them all)."""
    return [f"{int(threshold.level)}:{float(threshold.value)!r}:{int(threshold.start_minute)}:"
            f"{int(threshold.end_minute)}" for threshold in thresholds]


def thresholds_key(thresholds: Iterable[Threshold]) -> str:
    """How sensor_threshold_daily names the thresholds a metric was counted with (and
    sensor_threshold_specs returns them): their threshold_entries, sorted, comma-separated."""
    return ",".join(sorted(threshold_entries(thresholds)))


def metric_threshold_entries(by_metric: Mapping[str, Iterable[Threshold]]) -> list[str]:
    """Every metric's thresholds as the sensor_threshold_daily rollup takes them: 'metric:' before
    each of its threshold_entries."""
    return [f"{metric_id}:{entry}" for metric_id, thresholds in by_metric.items()
            for entry in threshold_entries(thresholds)]


def levels_of(thresholds: Iterable[Threshold]) -> list[int]:
    return sorted({threshold.level for threshold in thresholds})


def level_at(value: float, minute: int, thresholds: Iterable[Threshold]) -> int:
    """The highest level whose threshold for that time of day the value is above (0: none)."""
    if value is None or pd.isna(value):
        return 0
    return max((threshold.level for threshold in thresholds
                if threshold.applies_at(minute) and value > threshold.value), default=0)


# Problem texts, shared with health computed in SQL.


def stuck_text(metric: str, value: float, readings: int, span: pd.Timedelta, threshold: int | None = None) -> str:
    """E.g. "noise_db stuck at 45 for 7 h (29 readings)"; a count below `threshold` shows as "<N"."""
    shown = f"<{threshold}" if threshold is not None and 0 < value < threshold else f"{value:g}"
    return f"{metric} stuck at {shown} for {duration_text(span)} ({readings} readings)"


def out_of_range_text(per_metric: Iterable[tuple[str, int]]) -> str:
    """E.g. "3 readings out of range (humidity 1, noise_db 2)", metrics in the order given."""
    pairs = [(metric, int(count)) for metric, count in per_metric]
    total = sum(count for _, count in pairs)
    return (f"{total} reading{'s' if total != 1 else ''} out of range ("
            + ", ".join(f"{metric} {count}" for metric, count in pairs) + ")")


def problems_text(
    never_heard: bool, no_readings: bool, stale: bool, silent_for: pd.Timedelta, stuck: str, out_of_range: str,
    low_uptime: bool, uptime_pct: float, gap_count: int, longest_gap: pd.Timedelta,
) -> str:
    """The plain-English problems of one sensor, "; "-separated ("" when it is fine)."""
    texts = []
    if never_heard:
        texts.append("never heard from")
    elif no_readings:
        texts.append("no readings in the period")
    if stale and not never_heard:
        texts.append(f"silent for {duration_text(silent_for)}")
    texts += [stuck, out_of_range]
    if low_uptime and not no_readings:
        texts.append(f"uptime {uptime_pct:.0f}% ({_gaps_text(gap_count)}, longest {duration_text(longest_gap)})")
    return "; ".join(text for text in texts if text)


def duration_text(span: pd.Timedelta) -> str:
    """A length of time in at most two units: "2 days 3 h", "3 h 15 min", "45 min"."""
    minutes = int(round(span.total_seconds() / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


# ---------------------------------------------------------------------------------------


def _naive_utc(moment: pd.Timestamp) -> pd.Timestamp:
    moment = pd.Timestamp(moment)
    return moment.tz_convert("UTC").tz_localize(None) if moment.tzinfo is not None else moment


def _slots(window: pd.DataFrame, ids: pd.Index, period_start: pd.Timestamp, interval: pd.Timedelta, slot_count: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    """uptime_pct, gap_count and longest_gap per sensor, from which slots have a reading."""
    slot = ((window["ts"] - period_start) // interval).astype("int64")
    filled = (
        pd.DataFrame({"entity_id": window["entity_id"].to_numpy(), "slot": slot.to_numpy()})
        .loc[lambda frame: frame["slot"].lt(slot_count)]
        .drop_duplicates()
        .sort_values(["entity_id", "slot"])
    )
    per_sensor = filled.groupby("entity_id")["slot"]
    filled_count = per_sensor.size().reindex(ids, fill_value=0)
    uptime = filled_count / slot_count * 100.0 if slot_count else pd.Series(np.nan, index=ids)
    # Empty slots before each filled one (since the previous filled slot, or the period start).
    previous = per_sensor.shift(1).fillna(-1).astype("int64")
    before = filled["slot"] - previous - 1
    after = (slot_count - 1 - per_sensor.max()).reindex(ids)
    after = after.fillna(slot_count).astype("int64")  # a sensor with no filled slot: one gap of all
    runs = pd.concat([
        pd.DataFrame({"entity_id": filled["entity_id"], "run": before}),
        pd.DataFrame({"entity_id": ids, "run": after.to_numpy()}),
    ])
    runs = runs[runs["run"].gt(0)]
    gap_count = runs.groupby("entity_id").size().reindex(ids, fill_value=0)
    longest = runs.groupby("entity_id")["run"].max().reindex(ids, fill_value=0) * interval
    return uptime.astype("float64"), gap_count, longest


def _stuck(window: pd.DataFrame, ids: pd.Index, stuck_after: int, zero_is_normal: Collection[str],
           disclosure: Mapping[str, int]) -> pd.Series:
    """Per sensor, "" or e.g. "noise_db stuck at 45 for 7 h (29 readings)" per stuck metric."""
    ordered = window.sort_values(["entity_id", "metric", "ts"], kind="stable")
    same_series = ordered["entity_id"].eq(ordered["entity_id"].shift()) & ordered["metric"].eq(ordered["metric"].shift())
    run = (~same_series | ordered["value"].ne(ordered["value"].shift())).cumsum()
    runs = ordered.groupby(run).agg(
        entity_id=("entity_id", "first"),
        metric=("metric", "first"),
        value=("value", "first"),
        length=("value", "size"),
        first=("ts", "min"),
        last=("ts", "max"),
    )
    normal_zero = runs["value"].eq(0) & runs["metric"].isin(list(zero_is_normal))
    faults = runs[runs["length"].gt(stuck_after) & ~normal_zero]
    longest = faults.sort_values("length", ascending=False, kind="stable").drop_duplicates(["entity_id", "metric"])
    longest = longest.sort_values(["entity_id", "metric"])
    text = pd.Series(
        [
            stuck_text(metric, value, length, last - first, disclosure.get(metric))
            for metric, value, length, first, last in longest[["metric", "value", "length", "first", "last"]].itertuples(index=False)
        ],
        index=longest["entity_id"].to_numpy(),
        dtype=object,
    )
    return text.groupby(level=0).agg("; ".join).reindex(ids, fill_value="").astype(object)


def _out_of_range(window: pd.DataFrame, ids: pd.Index, valid_ranges: Mapping[str, tuple[float, float]]) -> tuple[pd.Series, pd.Series]:
    """Per sensor, e.g. "3 readings out of range (humidity 2, noise_db 1)", and the count."""
    low = window["metric"].map(lambda metric: valid_ranges.get(metric, (-np.inf, np.inf))[0]).astype("float64")
    high = window["metric"].map(lambda metric: valid_ranges.get(metric, (-np.inf, np.inf))[1]).astype("float64")
    outside = window[window["value"].lt(low) | window["value"].gt(high)]
    per_metric = outside.groupby(["entity_id", "metric"]).size().rename("n").reset_index()
    count = per_metric.groupby("entity_id")["n"].sum().reindex(ids, fill_value=0)
    text = {
        entity_id: out_of_range_text(zip(rows["metric"], rows["n"]))
        for entity_id, rows in per_metric.groupby("entity_id")
    }
    return pd.Series([text.get(entity_id, "") for entity_id in ids], index=ids, dtype=object), count


def _gaps_text(count: int) -> str:
    return f"{count} gap{'s' if count != 1 else ''}"
