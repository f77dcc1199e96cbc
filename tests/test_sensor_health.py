"""Sensor health rules and the replay clock, on literal readings."""

from __future__ import annotations

import pandas as pd
import pytest

from citydash.sensors import (
    ReplayClock,
    attention_ranking,
    default_stuck_after,
    healthy_share_by_area,
    sensor_health,
    valid_ranges_of,
)

DAY = pd.Timestamp("2026-03-01 00:00")
QUARTER = pd.Timedelta(minutes=15)
END = DAY + pd.Timedelta(days=1)
RANGES = {"noise_db": (20.0, 130.0), "humidity": (0.0, 100.0), "temperature": (-25.0, 50.0)}


def readings(rows: list[tuple[str, pd.Timestamp, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["entity_id", "ts", "metric", "value"])
    return frame.astype({"entity_id": object, "ts": "datetime64[us]", "metric": object, "value": "float64"})


def every_quarter(sensor: str, metric: str, values: list[float], start: pd.Timestamp = DAY) -> list[tuple]:
    return [(sensor, start + i * QUARTER, metric, value) for i, value in enumerate(values)]


def varying(count: int, base: float = 50.0) -> list[float]:
    return [base + i % 7 for i in range(count)]


def sensors(*ids: str) -> pd.DataFrame:
    return pd.DataFrame({"entity_id": list(ids), "name": [f"Sensor {i}" for i in ids]})


def health(rows: list[tuple], *ids: str, now: pd.Timestamp = END, **options) -> pd.DataFrame:
    return sensor_health(readings(rows), sensors(*ids), now, DAY, END, QUARTER, RANGES, **options).set_index("entity_id")


def test_a_sensor_reporting_every_slot_is_ok():
    result = health(every_quarter("A", "noise_db", varying(96)), "A").loc["A"]
    assert result["status"] == "ok"
    assert result["uptime_pct"] == 100.0
    assert result["gap_count"] == 0 and result["longest_gap"] == pd.Timedelta(0)
    assert result["problems"] == ""
    assert result["last_seen"] == DAY + 95 * QUARTER
    assert result["readings"] == 96


def test_uptime_and_gaps():
    values = varying(96)
    rows = [row for i, row in enumerate(every_quarter("A", "noise_db", values)) if not (10 <= i < 30 or i in (50, 51, 52, 53))]
    result = health(rows, "A").loc["A"]
    assert result["uptime_pct"] == pytest.approx(72 / 96 * 100)
    assert result["gap_count"] == 2
    assert result["longest_gap"] == pd.Timedelta(hours=5)
    assert result["status"] == "attention"
    assert "uptime 75% (2 gaps, longest 5 h)" in result["problems"]


def test_several_metrics_in_one_slot_count_once_and_leading_gaps_count():
    rows = every_quarter("A", "noise_db", varying(90), start=DAY + 6 * QUARTER)
    rows += every_quarter("A", "humidity", varying(90, 60.0), start=DAY + 6 * QUARTER)
    result = health(rows, "A").loc["A"]
    assert result["uptime_pct"] == pytest.approx(90 / 96 * 100)
    assert result["gap_count"] == 1 and result["longest_gap"] == pd.Timedelta(hours=1, minutes=30)
    assert result["status"] == "ok"  # 93.75% is above the 90% default


def test_stale_after_four_intervals():
    # Last readings at 23:00, 1 h before now (exactly 4 intervals): not stale yet; at 22:45: stale.
    fresh = every_quarter("FRESH", "noise_db", varying(93))
    late = every_quarter("LATE", "noise_db", varying(92))
    result = health(fresh + late, "FRESH", "LATE", min_uptime_pct=0)
    assert not result.loc["FRESH", "stale"]
    assert result.loc["LATE", "stale"]
    assert result.loc["LATE", "status"] == "attention"
    assert "silent for 1 h 15 min" in result.loc["LATE", "problems"]
    doubled = health(late, "LATE", min_uptime_pct=0, stale_after_intervals=8)
    assert not doubled.loc["LATE", "stale"]


def test_stuck_after_six_hours_of_the_same_value():
    assert default_stuck_after(QUARTER) == 24
    six_hours = [12.5] * 25  # 25 readings span 6 h: still one more than 24
    just_under = [12.5] * 24
    stuck = every_quarter("STUCK", "temperature", six_hours + varying(71, 5.0))
    fine = every_quarter("FINE", "temperature", just_under + varying(72, 5.0))
    result = health(stuck + fine, "STUCK", "FINE")
    assert result.loc["STUCK", "stuck"] and result.loc["STUCK", "status"] == "attention"
    assert "temperature stuck at 12.5 for 6 h (25 readings)" in result.loc["STUCK", "problems"]
    assert not result.loc["FINE", "stuck"] and result.loc["FINE", "status"] == "ok"


def test_night_zeros_of_count_metrics_are_not_stuck_but_other_constants_are():
    night = [0.0] * 40 + varying(56, 100.0)
    frozen = [73.0] * 40 + varying(56, 100.0)
    rows = every_quarter("NIGHT", "footfall", night) + every_quarter("FROZEN", "footfall", frozen)
    result = health(rows, "NIGHT", "FROZEN", zero_is_normal={"footfall"})
    assert not result.loc["NIGHT", "stuck"]
    assert result.loc["FROZEN", "stuck"]
    strict = health(rows, "NIGHT", "FROZEN")
    assert strict.loc["NIGHT", "stuck"]


def test_out_of_range_readings_are_counted_per_metric():
    noise = varying(96)
    noise[3], noise[40] = 131.0, 19.0
    humidity = varying(96, 60.0)
    humidity[7], humidity[8] = 100.0, 100.5  # 100 is in range, inclusive
    rows = every_quarter("A", "noise_db", noise) + every_quarter("A", "humidity", humidity)
    rows += every_quarter("A", "battery", [999.0] * 3)  # no valid range: not checked
    result = health(rows, "A", stuck_after=1000).loc["A"]
    assert result["out_of_range"] == 3
    assert result["status"] == "attention"
    assert "3 readings out of range (humidity 1, noise_db 2)" in result["problems"]


def test_dead_when_silent_in_the_period_or_for_more_than_a_day():
    two_days_before = every_quarter("OLD", "noise_db", varying(4), start=DAY - pd.Timedelta(days=2))
    result = health(two_days_before, "OLD", "NEVER").loc[["OLD", "NEVER"]]
    assert list(result["status"]) == ["dead", "dead"]
    assert result.loc["OLD", "problems"].startswith("no readings in the period; silent for 2 days")
    assert result.loc["NEVER", "problems"] == "never heard from"
    assert pd.isna(result.loc["NEVER", "last_seen"])
    # Heard from on the first day of a two-day period (last at 22:45), then silent: dead, not just stale.
    long_period = sensor_health(
        readings(every_quarter("QUIET", "noise_db", varying(92))), sensors("QUIET"),
        now=END + pd.Timedelta(hours=24), period_start=DAY, period_end=END + pd.Timedelta(days=1),
        expected_interval=QUARTER, valid_ranges=RANGES,
    ).set_index("entity_id")
    assert long_period.loc["QUIET", "status"] == "dead"
    assert long_period.loc["QUIET", "silent_for"] == pd.Timedelta(hours=25, minutes=15)


def test_readings_after_now_have_not_arrived_yet():
    rows = every_quarter("A", "noise_db", varying(96))
    midday = DAY + pd.Timedelta(hours=12)
    result = health(rows, "A", now=midday).loc["A"]
    assert result["last_seen"] == midday
    assert result["readings"] == 49  # 00:00 .. 12:00 inclusive
    assert result["uptime_pct"] == 100.0  # 48 whole slots have passed, all filled
    assert result["status"] == "ok"


def test_attention_ranking_puts_the_worst_first_with_the_documented_score():
    stuck = every_quarter("STUCK", "temperature", [12.5] * 30 + varying(66, 5.0))
    gappy = [row for i, row in enumerate(every_quarter("GAPPY", "noise_db", varying(96))) if i % 2 == 0]
    ok = every_quarter("OK", "noise_db", varying(96))
    result = attention_ranking(sensor_health(
        readings(stuck + gappy + ok), sensors("OK", "GAPPY", "STUCK", "DEAD"), END, DAY, END, QUARTER, RANGES,
    ))
    assert list(result["entity_id"]) == ["DEAD", "STUCK", "GAPPY", "OK"]
    scores = dict(zip(result["entity_id"], result["attention_score"]))
    assert scores["DEAD"] == 200 + 40 + 50  # dead, stale, uptime 0%
    assert scores["STUCK"] == 30
    assert scores["GAPPY"] == pytest.approx(25)  # uptime 50%: 0.5 point per missing point
    assert scores["OK"] == 0


def test_healthy_share_by_area():
    health_rows = pd.DataFrame({
        "entity_id": ["A", "B", "C", "D", "E"],
        "status": ["ok", "attention", "ok", "dead", "ok"],
    })
    entities = pd.DataFrame({
        "entity_id": ["A", "B", "C", "D", "E"],
        "borough_code": ["E09000007", "E09000007", "E09000007", "E09000033", None],
    })
    result = healthy_share_by_area(health_rows, entities)
    assert result.to_dict("records") == [
        {"borough_code": "E09000007", "sensors": 3, "ok": 2, "attention": 1, "dead": 0, "healthy_share": pytest.approx(2 / 3)},
        {"borough_code": "E09000033", "sensors": 1, "ok": 0, "attention": 0, "dead": 1, "healthy_share": 0.0},
    ]


def test_valid_ranges_from_catalogue_metrics():
    metrics = [
        {"id": "noise_db", "valid_range": [20, 130]},
        {"id": "footfall", "valid_range": [0, 20000], "disclosure": 10},
        {"id": "free_text"},
    ]
    assert valid_ranges_of(metrics) == {"noise_db": (20.0, 130.0), "footfall": (0.0, 20000.0)}


def test_bad_arguments_are_refused():
    rows = readings(every_quarter("A", "noise_db", varying(4)))
    with pytest.raises(ValueError, match="period must start before it ends"):
        sensor_health(rows, sensors("A"), END, END, DAY, QUARTER, RANGES)
    with pytest.raises(ValueError, match="before the period starts"):
        sensor_health(rows, sensors("A"), DAY - QUARTER, DAY, END, QUARTER, RANGES)
    with pytest.raises(ValueError, match="expected_interval"):
        sensor_health(rows, sensors("A"), END, DAY, END, pd.Timedelta(0), RANGES)


# ---------------------------------------------------------------------------------------
# Replay clock


def test_replay_clock_runs_at_its_speed():
    clock = ReplayClock(start=DAY, speed=60.0, started_at=1000.0)
    assert clock.now(1000.0) == DAY
    assert clock.now(1060.0) == DAY + pd.Timedelta(hours=1)
    assert clock.now(1000.5) == DAY + pd.Timedelta(seconds=30)
    assert clock.now(1000.0 + 24 * 60) == END


def test_replay_clock_wraps_round_at_the_end():
    clock = ReplayClock(start=DAY, speed=3600.0, started_at=5.0, end=END)
    assert clock.now(5.0 + 23) == DAY + pd.Timedelta(hours=23)
    assert clock.now(5.0 + 24) == DAY  # reaching the end starts again from the start
    assert clock.now(5.0 + 26) == DAY + pd.Timedelta(hours=2)
    assert clock.now(5.0 + 24 * 3) == DAY


def test_replay_clock_can_start_mid_loop():
    clock = ReplayClock(start=DAY + pd.Timedelta(hours=6), speed=3600.0, started_at=5.0, end=END, loop_start=DAY)
    assert clock.now(5.0 + 17) == DAY + pd.Timedelta(hours=23)
    assert clock.now(5.0 + 18) == DAY
    without_loop_start = ReplayClock(start=DAY + pd.Timedelta(hours=6), speed=3600.0, started_at=5.0, end=END)
    assert without_loop_start.now(5.0 + 18) == DAY + pd.Timedelta(hours=6)


def test_replay_clock_can_pause_and_change_speed_without_jumping():
    clock = ReplayClock(start=DAY, speed=60.0, started_at=0.0, end=END)
    paused = clock.with_speed(0.0, at=30.0)
    assert paused.now(30.0) == DAY + pd.Timedelta(minutes=30)
    assert paused.now(500.0) == DAY + pd.Timedelta(minutes=30)
    faster = paused.with_speed(3600.0, at=500.0)
    assert faster.now(500.0) == DAY + pd.Timedelta(minutes=30)
    assert faster.now(524.0) == DAY + pd.Timedelta(minutes=30)  # 24 h later: round the loop
    assert faster.now(523.5) == DAY  # the loop still starts at the original start, not at 00:30


def test_replay_clock_refuses_bad_values():
    with pytest.raises(ValueError, match="speed"):
        ReplayClock(start=DAY, speed=-1.0, started_at=0.0)
    with pytest.raises(ValueError, match="must lie in"):
        ReplayClock(start=END, speed=1.0, started_at=0.0, end=END)
    with pytest.raises(ValueError, match="before the clock started"):
        ReplayClock(start=DAY, speed=1.0, started_at=10.0).now(9.0)
