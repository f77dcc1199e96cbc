"""The Sensors page's queries on literal rows published into a tiny pack, the SQL health rules
against citydash.sensors.sensor_health on the same rows, and the `ingest sensors` command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from citydash.__main__ import main
from citydash.catalog import CatalogError, load_catalog
from citydash.contract import Extract
from citydash.data import Database
from citydash.ingest.publish import publish
from citydash.sensors import (
    Threshold,
    expected_ranges_of,
    level_at,
    load_sensor_thresholds,
    sensor_health,
    stuck_text,
)
from citydash.sensors_view import (
    exceedance_params,
    exceedance_query,
    health_from_query,
    health_params,
    health_ranges,
)
from conftest import BOUNDARIES, BROMLEY, CAMDEN, WESTMINSTER, BothWaysDatabase, entities

FIXTURES = Path(__file__).parent / "fixtures" / "sensors"
CAMDEN_CODE, BROMLEY_CODE, WESTMINSTER_CODE = "E09000007", "E09000006", "E09000033"

SENSOR_CATALOG = """
[city]
id = "testville"
name = "Testville"
timezone = "Europe/London"
area_label = "borough"
area_label_plural = "boroughs"
boundaries = "{boundaries}"
boundaries_attribution = "Test boundaries."
map_view = {{ latitude = 51.49, longitude = -0.11, zoom = 8.7 }}

[licences]
ogl3 = {{ title = "Open Government Licence v3.0", url = "https://example.org/ogl" }}

[datasets.demo_street]
title = "Invented street sensors"
domain = "sensors"
publisher = "Test demo"
licence = "ogl3"
attribution = "Synthetic."
synthetic = true

[[datasets.demo_street.metrics]]
id = "footfall"
label = "Footfall"
unit = "people"
aggregation = "sum"
valid_range = [0, 20000]
disclosure = 10

[datasets.street]
title = "Test street sensors"
domain = "sensors"
publisher = "Test publisher"
licence = "ogl3"
attribution = "Test attribution."
access = "public"
synthetic = false
expected_interval_minutes = 15

[[datasets.street.metrics]]
id = "noise_db"
label = "Noise level"
unit = "dB(A)"
aggregation = "mean"
better = "lower"
valid_range = [20, 140]
expected_range = [30, 110]
thresholds = [55, 65]

[[datasets.street.metrics]]
id = "footfall"
label = "Footfall"
unit = "people"
aggregation = "sum"
better = "higher"
valid_range = [0, 20000]
disclosure = 10

[[datasets.street.metrics]]
id = "temperature"
label = "Air temperature"
unit = "°C"
aggregation = "mean"
better = "lower"
valid_range = [-30, 60]
expected_range = [-10, 40]
thresholds = [27, 32]
"""

DAY = pd.Timestamp("2026-03-02 00:00")  # a Monday in winter: London time is UTC
QUARTER = pd.Timedelta(minutes=15)
TWO_DAYS = DAY + pd.Timedelta(days=2)


def make_sensor_pack(folder: Path, timezone: str = "Europe/London"):
    folder.mkdir(parents=True, exist_ok=True)
    text = SENSOR_CATALOG.format(boundaries=BOUNDARIES).replace('"Europe/London"', f'"{timezone}"')
    (folder / "catalog.toml").write_text(text, encoding="utf-8")
    return load_catalog(folder)


@pytest.fixture
def sensor_pack(tmp_path):
    return make_sensor_pack(tmp_path / "pack")


@pytest.fixture
def publish_street(sensor_pack):
    """Publishes literal sensors and readings as dataset `street`; returns a fresh Database."""
    opened: list[Database] = []

    def publish_rows(sensor_rows: pd.DataFrame, reading_rows: pd.DataFrame) -> Database:
        publish(Extract(sensor_rows, reading_rows), "street", sensor_pack, replace=True)
        database = BothWaysDatabase(sensor_pack)
        opened.append(database)
        return database

    yield publish_rows
    for database in opened:
        database.close()


def frame(rows: list[tuple]) -> pd.DataFrame:
    readings = pd.DataFrame(rows, columns=["entity_id", "ts", "metric", "value"])
    return readings.astype({"entity_id": object, "ts": "datetime64[us]", "metric": object, "value": "float64"})


def every_quarter(sensor: str, metric: str, values: list[float], start: pd.Timestamp = DAY) -> list[tuple]:
    return [(sensor, start + index * QUARTER, metric, float(value)) for index, value in enumerate(values)]


def varying(count: int, base: float = 50.0) -> list[float]:
    return [base + index % 7 for index in range(count)]


# Two days of 15-minute readings from sensors with every kind of fault the rules know.
HEALTH_SENSORS = entities(
    ("OK", "Steady noise", "noise", CAMDEN),
    ("GAPPY", "Gappy noise", "noise", CAMDEN),
    ("LATE", "Quiet since evening", "noise", WESTMINSTER),
    ("STUCK", "Stuck thermometer", "climate", WESTMINSTER),
    ("NIGHT", "Night-time footfall", "footfall", BROMLEY),
    ("FROZEN", "Frozen footfall", "footfall", BROMLEY),
    ("SPIKY", "Spiky noise", "noise", BROMLEY),
    ("GONE", "Gone noise", "noise", CAMDEN),
    ("NEVER", "Never heard", "noise", CAMDEN),
)


def health_readings() -> pd.DataFrame:
    slots = 2 * 96
    rows = every_quarter("OK", "noise_db", varying(slots))
    rows += [row for index, row in enumerate(every_quarter("GAPPY", "noise_db", varying(slots)))
             if not (20 <= index < 60 or index in (100, 101, 150))]
    rows += every_quarter("LATE", "noise_db", varying(slots - 10))
    rows += every_quarter("STUCK", "temperature", varying(30, 5.0) + [12.5] * 40 + varying(slots - 70, 5.0))
    rows += every_quarter("NIGHT", "footfall", ([0.0] * 30 + varying(66, 100.0)) * 2)
    rows += every_quarter("FROZEN", "footfall", varying(40, 100.0) + [7.0] * 30 + varying(slots - 70, 100.0))
    spiky = varying(slots)
    spiky[5], spiky[77], spiky[150] = 115.0, 25.0, 110.0  # 110 is inside the expected range
    rows += every_quarter("SPIKY", "noise_db", spiky)
    rows += every_quarter("GONE", "noise_db", varying(40))
    return frame(rows)


CATALOG_RANGES = {"noise_db": (30.0, 110.0), "footfall": (0.0, 20000.0), "temperature": (-10.0, 40.0)}


def sql_health(database, catalog, now, period_start, period_end, boroughs=()) -> pd.DataFrame:
    dataset = catalog.datasets["street"]
    rows = database.run("sensor_health", **health_params(dataset, boroughs, now, period_start, period_end))
    return health_from_query(rows, pd.Timestamp(now), QUARTER, {"footfall": 10}).set_index("entity_id")


def python_health(readings, now, period_start, period_end) -> pd.DataFrame:
    return sensor_health(readings, HEALTH_SENSORS, now, period_start, period_end, QUARTER, CATALOG_RANGES,
                         zero_is_normal={"footfall"}, disclosure={"footfall": 10}).set_index("entity_id")


MOMENTS = [
    (TWO_DAYS, DAY, TWO_DAYS),  # the whole period, seen from its end
    (DAY + pd.Timedelta(hours=30, minutes=7), DAY, TWO_DAYS),  # mid-replay: later readings have not arrived
    (TWO_DAYS, DAY + pd.Timedelta(hours=6), DAY + pd.Timedelta(days=1, hours=6)),  # a window inside the data
    (TWO_DAYS + pd.Timedelta(days=1, hours=2), DAY + pd.Timedelta(days=1), TWO_DAYS + pd.Timedelta(days=1)),
    # A week after the data ends: every sensor is last seen days before the period.
    (DAY + pd.Timedelta(days=9), DAY + pd.Timedelta(days=8), DAY + pd.Timedelta(days=9)),
]


def test_the_catalogue_gives_expected_ranges_where_set_else_valid_ones(sensor_pack):
    dataset = sensor_pack.datasets["street"]
    assert expected_ranges_of(dataset.metrics) == CATALOG_RANGES
    assert health_ranges(dataset) == ["footfall:0.0:20000.0", "noise_db:30.0:110.0", "temperature:-10.0:40.0"]
    assert expected_ranges_of(metric for metric in dataset.metrics) == CATALOG_RANGES


def test_problem_texts_never_repeat_a_small_count():
    span = pd.Timedelta(hours=7)
    assert stuck_text("footfall", 7.0, 29, span, threshold=10) == "footfall stuck at <10 for 7 h (29 readings)"
    assert stuck_text("footfall", 12.0, 29, span, threshold=10) == "footfall stuck at 12 for 7 h (29 readings)"
    assert stuck_text("footfall", 0.0, 29, span, threshold=10) == "footfall stuck at 0 for 7 h (29 readings)"
    assert stuck_text("noise_db", 7.5, 29, span) == "noise_db stuck at 7.5 for 7 h (29 readings)"


@pytest.mark.parametrize("now, period_start, period_end", MOMENTS)
def test_sql_health_matches_the_python_rules_on_the_same_rows(publish_street, sensor_pack, now, period_start,
                                                               period_end):
    readings = health_readings()
    database = publish_street(HEALTH_SENSORS, readings)
    in_sql = sql_health(database, sensor_pack, now, period_start, period_end)
    in_python = python_health(readings, now, period_start, period_end)
    assert sorted(in_sql.index) == sorted(in_python.index)
    in_sql = in_sql.loc[in_python.index]
    for column in ("status", "readings", "gap_count", "longest_gap", "stale", "stuck", "out_of_range", "problems"):
        assert in_sql[column].tolist() == in_python[column].tolist(), column
    pd.testing.assert_series_equal(in_sql["uptime_pct"], in_python["uptime_pct"], check_names=False)
    assert in_sql["last_seen"].tolist() == in_python["last_seen"].tolist()
    assert in_sql["silent_for"].tolist() == in_python["silent_for"].tolist()


# Four days in which faults run over midnight, through a whole day, and a day with no readings:
# health then comes from the daily rollups for whole days and from the readings for part-days.
OVERNIGHT_SENSORS = entities(
    ("OVERNIGHT", "Stuck overnight", "climate", CAMDEN),
    ("FLAT", "Flat for a day", "climate", WESTMINSTER),
    ("DARK", "Dark overnight", "noise", CAMDEN),
    ("ZEROS", "Zeros overnight", "footfall", BROMLEY),
    ("BOOKENDS", "The same value at both ends of a day", "climate", WESTMINSTER),
)
FOUR_DAYS = DAY + pd.Timedelta(days=4)


def overnight_readings() -> pd.DataFrame:
    slots = 4 * 96
    rows = every_quarter("OVERNIGHT", "temperature", varying(88, 5.0) + [12.5] * 30 + varying(slots - 118, 5.0))
    rows += every_quarter("FLAT", "temperature", varying(86, 5.0) + [9.0] * 130 + varying(slots - 216, 5.0))
    rows += every_quarter("FLAT", "noise_db", varying(slots))
    rows += [row for index, row in enumerate(every_quarter("DARK", "noise_db", varying(slots)))
             if not (80 <= index < 108 or 192 <= index < 288)]
    rows += every_quarter("ZEROS", "footfall", varying(80, 100.0) + [0.0] * 40 + [7.0] * 30 + varying(slots - 150, 100.0))
    # The second day starts and ends with 15 readings of 9.0, two runs that together would be stuck.
    rows += every_quarter("BOOKENDS", "temperature",
                          varying(96, 5.0) + [9.0] * 15 + varying(66, 5.0) + [9.0] * 15 + varying(2 * 96, 5.0))
    return frame(rows)


OVERNIGHT_MOMENTS = [
    (FOUR_DAYS, DAY, FOUR_DAYS),  # whole days only
    (DAY + pd.Timedelta(days=2, hours=13, minutes=45), DAY + pd.Timedelta(hours=7), FOUR_DAYS),  # part-days at both ends
    (FOUR_DAYS, DAY + pd.Timedelta(hours=7, minutes=7), FOUR_DAYS),  # a start off the 15-minute grid
    (DAY + pd.Timedelta(days=1, hours=20), DAY + pd.Timedelta(days=1, hours=4), FOUR_DAYS),  # under a day
]


@pytest.mark.parametrize("now, period_start, period_end", OVERNIGHT_MOMENTS)
def test_sql_health_matches_the_python_rules_across_midnight(publish_street, sensor_pack, now, period_start,
                                                              period_end):
    readings = overnight_readings()
    database = publish_street(OVERNIGHT_SENSORS, readings)
    dataset = sensor_pack.datasets["street"]
    rows = database.run("sensor_health", **health_params(dataset, (), now, period_start, period_end))
    in_sql = health_from_query(rows, pd.Timestamp(now), QUARTER, {"footfall": 10}).set_index("entity_id")
    in_python = sensor_health(readings, OVERNIGHT_SENSORS, now, period_start, period_end, QUARTER, CATALOG_RANGES,
                              zero_is_normal={"footfall"}, disclosure={"footfall": 10}).set_index("entity_id")
    in_sql = in_sql.loc[in_python.index]
    for column in ("status", "readings", "gap_count", "longest_gap", "stuck", "problems"):
        assert in_sql[column].tolist() == in_python[column].tolist(), column
    pd.testing.assert_series_equal(in_sql["uptime_pct"], in_python["uptime_pct"], check_names=False)
    if period_start == DAY:
        assert in_python.loc["FLAT", "stuck"] and in_python.loc["OVERNIGHT", "stuck"]
        assert in_python.loc["DARK", "longest_gap"] == 96 * QUARTER


# One reading out of range each, near a UTC midnight: EARLY's falls on the local day before the
# window's first UTC day west of Greenwich, LATE's on the local day after "now"'s east of it. The
# query finds the series with readings out of range from entity_daily, whose days are local.
EDGE_SENSORS = entities(("EARLY", "Early spike", "noise", CAMDEN), ("LATE", "Late spike", "noise", CAMDEN))


def edge_readings() -> pd.DataFrame:
    slots = 3 * 96
    early, late = varying(slots), varying(slots)
    early[96 + 2] = 120.0  # 00:30 UTC on the second day; valid, but outside the expected 30-110
    late[2 * 96 - 2] = 120.0  # 23:30 UTC on the second day
    return frame(every_quarter("EARLY", "noise_db", early) + every_quarter("LATE", "noise_db", late))


@pytest.mark.parametrize("timezone", ["America/New_York", "Europe/Helsinki"])
def test_sql_health_counts_readings_out_of_range_on_local_days_either_side_of_the_window(tmp_path, timezone):
    pack = make_sensor_pack(tmp_path / "pack", timezone)
    readings = edge_readings()
    publish(Extract(EDGE_SENSORS, readings), "street", pack, replace=True)
    now, period_start, period_end = DAY + pd.Timedelta(days=1, hours=23, minutes=50), DAY + pd.Timedelta(days=1), \
        TWO_DAYS
    database = BothWaysDatabase(pack)
    try:
        rows = database.run("sensor_health", **health_params(pack.datasets["street"], (), now, period_start,
                                                             period_end))
    finally:
        database.close()
    in_python = sensor_health(readings, EDGE_SENSORS, now, period_start, period_end, QUARTER, CATALOG_RANGES,
                              zero_is_normal={"footfall"})
    assert in_python.set_index("entity_id")["out_of_range"].to_dict() == {"EARLY": 1, "LATE": 1}
    assert rows.set_index("entity_id")["out_of_range"].to_dict() == {"EARLY": 1, "LATE": 1}


def test_the_health_rollups_hold_each_days_slots_and_runs(publish_street, sensor_pack):
    values = [53.0, 53.0, 55.0, 55.0, 55.0, 54.0, 56.0, 56.0, 56.0, 56.0, 52.0, 51.0, 51.0]
    rows = [row for index, row in enumerate(every_quarter("OK", "noise_db", values)) if index != 11]
    rows += every_quarter("OK", "noise_db", [58.0], FOUR_DAYS)
    database = publish_street(entities(("OK", "Steady noise", "noise", CAMDEN)), frame(rows))
    cursor = database.cursor()
    slots = cursor.execute(
        "select day, interval_s, filled, last_slot - first_slot, gaps, longest_gap from sensor_slot_daily "
        "where dataset = 'street' order by day").fetchall()
    assert [row[1:] for row in slots] == [(900, 12, 12, 1, 1), (900, 1, 0, 0, 0)]
    runs = cursor.execute(
        "select readings, first_run, last_run, inner_run from series_run_daily where dataset = 'street' "
        "order by day").fetchall()
    readings, first_run, last_run, inner_run = runs[0]
    assert readings == 12
    assert (first_run["value"], first_run["readings"], first_run["end_ts"]) == (53.0, 2, DAY + QUARTER)
    assert (last_run["value"], last_run["readings"], last_run["start_ts"]) == (51.0, 1, DAY + 12 * QUARTER)
    assert (inner_run["value"], inner_run["readings"], inner_run["start_ts"]) == (56.0, 4, DAY + 6 * QUARTER)
    assert runs[1][1] == runs[1][2] and runs[1][3] is None


def test_health_rollups_missing_or_on_another_grid_are_worked_out_again_at_start(publish_street, sensor_pack,
                                                                                   caplog):
    readings = overnight_readings()
    database = publish_street(OVERNIGHT_SENSORS, readings)
    moment = OVERNIGHT_MOMENTS[1]
    expected = database.run("sensor_health", **health_params(sensor_pack.datasets["street"], (), *moment))
    slots = sensor_pack.extract_path("street", "sensor_slot_daily")
    # As if published when the sensors reported every 10 minutes: its slots are not this grid's.
    duckdb.sql("copy (select * replace (600 as interval_s) from read_parquet($path)) to '" + str(slots) + ".tmp' "
               "(format parquet)", params={"path": str(slots)})
    Path(str(slots) + ".tmp").replace(slots)
    sensor_pack.extract_path("street", "series_run_daily").unlink()
    with caplog.at_level("WARNING", logger="citydash.data"):
        reopened = Database(sensor_pack)
    try:
        assert reopened.problems == [] and "street" in reopened.available
        assert "street: its sensor_slot_daily rollup is missing or was made by another method" in caplog.text
        assert "street: its series_run_daily rollup is missing" in caplog.text
        again = reopened.run("sensor_health", **health_params(sensor_pack.datasets["street"], (), *moment))
        pd.testing.assert_frame_equal(again, expected)
    finally:
        reopened.close()


def test_sql_health_asked_on_another_grid_than_its_rollups_stops_with_an_error(publish_street, sensor_pack):
    database = publish_street(OVERNIGHT_SENSORS, overnight_readings())
    params = health_params(sensor_pack.datasets["street"], (), *OVERNIGHT_MOMENTS[0])
    assert len(database.run("sensor_health", **params)) == len(OVERNIGHT_SENSORS)
    with pytest.raises(duckdb.Error, match="another reporting interval than 600 s"):
        database.run("sensor_health", **{**params, "interval_s": 600})


def test_sql_health_finds_each_fault(publish_street, sensor_pack):
    database = publish_street(HEALTH_SENSORS, health_readings())
    health = sql_health(database, sensor_pack, TWO_DAYS, DAY, TWO_DAYS)
    assert health.loc["OK", "status"] == "ok" and health.loc["OK", "problems"] == ""
    assert health.loc["OK", "uptime_pct"] == 100.0
    assert health.loc["GAPPY", "status"] == "attention"
    assert health.loc["GAPPY", "gap_count"] == 3 and health.loc["GAPPY", "longest_gap"] == pd.Timedelta(hours=10)
    assert health.loc["GAPPY", "uptime_pct"] == pytest.approx((192 - 43) / 192 * 100)
    assert health.loc["LATE", "stale"] and "silent for 2 h 45 min" in health.loc["LATE", "problems"]  # last at 45:15
    assert health.loc["STUCK", "stuck"]
    assert "temperature stuck at 12.5 for 9 h 45 min (40 readings)" in health.loc["STUCK", "problems"]
    assert not health.loc["NIGHT", "stuck"] and health.loc["NIGHT", "status"] == "ok"
    # A frozen count of people is a fault, but its small value is not written out.
    assert health.loc["FROZEN", "stuck"]
    assert "footfall stuck at <10 for 7 h 15 min (30 readings)" in health.loc["FROZEN", "problems"]
    assert "7" not in health.loc["FROZEN", "problems"].replace("7 h", "")
    # The expected range (30..110), not the valid one (20..140), flags readings; 110 is inside.
    assert health.loc["SPIKY", "out_of_range"] == 2
    assert "2 readings out of range (noise_db 2)" in health.loc["SPIKY", "problems"]
    assert health.loc["GONE", "status"] == "dead" and "silent for 1 day 14 h" in health.loc["GONE", "problems"]
    assert health.loc["NEVER", "status"] == "dead" and health.loc["NEVER", "problems"] == "never heard from"
    assert pd.isna(health.loc["NEVER", "last_seen"])


def test_sql_health_covers_only_the_selected_boroughs(publish_street, sensor_pack):
    database = publish_street(HEALTH_SENSORS, health_readings())
    health = sql_health(database, sensor_pack, TWO_DAYS, DAY, TWO_DAYS, boroughs=[BROMLEY_CODE])
    assert sorted(health.index) == ["FROZEN", "NIGHT", "SPIKY"]
    assert set(health["borough_name"]) == {"Bromley"}


def test_sql_health_last_seen_long_ago_although_the_sensor_reports_again_later_today(publish_street, sensor_pack):
    # The query reads back only as far as each sensor's last day with readings wholly before now;
    # a sensor silent for days that reports again later today must still be last seen days ago.
    now = DAY + pd.Timedelta(days=4, hours=12)
    readings = frame(every_quarter("OK", "noise_db", varying(96))
                     + every_quarter("OK", "noise_db", varying(40), start=now + pd.Timedelta(hours=1))
                     + every_quarter("LATE", "noise_db", varying(40), start=now - pd.Timedelta(hours=10)))
    database = publish_street(HEALTH_SENSORS, readings)
    health = sql_health(database, sensor_pack, now, now - pd.Timedelta(days=1), now)
    assert health.loc["OK", "last_seen"] == DAY + 95 * QUARTER
    assert health.loc["OK", "status"] == "dead" and health.loc["OK", "readings"] == 0
    assert health.loc["LATE", "last_seen"] == now - pd.Timedelta(hours=10) + 39 * QUARTER
    assert pd.isna(health.loc["GONE", "last_seen"])


def test_sql_health_before_any_slot_has_passed_gives_no_uptime(publish_street, sensor_pack):
    database = publish_street(HEALTH_SENSORS, health_readings())
    health = sql_health(database, sensor_pack, DAY + pd.Timedelta(minutes=5), DAY, TWO_DAYS)
    assert health["uptime_pct"].isna().all()
    assert health.loc["OK", "readings"] == 1 and health.loc["OK", "status"] == "ok"


# ---------------------------------------------------------------------------------------
# The live feed, thresholds, series and profiles.

FEED_SENSORS = entities(
    ("N1", "Camden noise", "noise", CAMDEN),
    ("N2", "Westminster noise", "noise", WESTMINSTER),
    ("N3", "Bromley noise", "noise", BROMLEY),
    ("F1", "Camden footfall", "footfall", CAMDEN),
)


def feed_readings() -> pd.DataFrame:
    return frame([
        ("N1", DAY + pd.Timedelta(hours=9), "noise_db", 52.0),
        ("N1", DAY + pd.Timedelta(hours=10), "noise_db", 58.0),
        ("N1", DAY + pd.Timedelta(hours=11), "noise_db", 70.0),  # after "now" below
        ("N2", DAY + pd.Timedelta(hours=2), "noise_db", 66.0),
        ("N3", DAY - pd.Timedelta(days=9), "noise_db", 40.0),  # before the look-back
        ("F1", DAY + pd.Timedelta(hours=10), "footfall", 7.0),
    ])


def test_latest_reading_per_sensor_up_to_now(publish_street):
    database = publish_street(FEED_SENSORS, feed_readings())
    now = DAY + pd.Timedelta(hours=10, minutes=30)
    latest = database.run("sensor_latest", dataset="street", metric="noise_db", boroughs=[],
                          since=now - pd.Timedelta(days=7), now=now).set_index("entity_id")
    assert list(latest.index) == ["N1", "N2", "N3"]  # F1 never reported noise
    assert latest.loc["N1", "value"] == 58.0 and latest.loc["N1", "ts"] == DAY + pd.Timedelta(hours=10)
    assert latest.loc["N2", "value"] == 66.0
    assert pd.isna(latest.loc["N3", "value"]) and pd.isna(latest.loc["N3", "ts"])
    assert latest.loc["N1", "borough_name"] == "Camden" and latest.loc["N1", "lat"] == pytest.approx(CAMDEN[0])
    camden = database.run("sensor_latest", dataset="street", metric="noise_db", boroughs=[CAMDEN_CODE],
                          since=now - pd.Timedelta(days=7), now=now)
    assert list(camden["entity_id"]) == ["N1"]


NOISE_THRESHOLDS = (  # by day 55 (level 1) and 65 (level 2), at night 45 (level 1): local times
    Threshold(55.0, 1, "day", 7 * 60, 23 * 60, "test"),
    Threshold(45.0, 1, "night", 23 * 60, 7 * 60, "test"),
    Threshold(65.0, 2, "loud, day", 7 * 60, 23 * 60, "test"),
)


def test_exceedances_compare_each_reading_with_the_threshold_for_its_local_time(publish_street):
    summer = pd.Timestamp("2026-06-01 00:00")  # London is UTC+1
    readings = frame([
        ("N1", summer + pd.Timedelta(hours=5, minutes=45), "noise_db", 50.0),  # 06:45: night, above 45
        ("N1", summer + pd.Timedelta(hours=6), "noise_db", 50.0),  # 07:00: day, not above 55
        ("N1", summer + pd.Timedelta(hours=10), "noise_db", 55.0),  # at the threshold: not above
        ("N1", summer + pd.Timedelta(hours=11), "noise_db", 55.1),
        ("N1", summer + pd.Timedelta(hours=12), "noise_db", 65.5),  # above both day levels
        ("N1", summer + pd.Timedelta(hours=22, minutes=15), "noise_db", 50.0),  # 23:15: night, above 45
        ("N1", summer + pd.Timedelta(hours=23, minutes=30), "noise_db", 80.0),  # 00:30 on 2 June: night
        ("N2", summer + pd.Timedelta(hours=12), "noise_db", 40.0),
    ])
    database = publish_street(FEED_SENSORS, readings)
    params = exceedance_params(NOISE_THRESHOLDS)
    rows = database.run("sensor_exceedances_from_readings", dataset="street", metric="noise_db", boroughs=[],
                        start=date(2026, 6, 1), end=date(2026, 6, 2), tz="Europe/London", **params)
    by_key = {(row.borough_code, pd.Timestamp(row.day).date(), row.level): (row.readings, row.in_hours, row.above)
              for row in rows.itertuples()}
    assert by_key == {
        # 6 readings on 1 June: all under a level-1 threshold (4 above: 55.1, 65.5 by day, both 50s at night),
        # 4 by day under the level-2 one (1 above: 65.5).
        (CAMDEN_CODE, date(2026, 6, 1), 1): (6, 6, 4),
        (CAMDEN_CODE, date(2026, 6, 1), 2): (6, 4, 1),
        # 00:30 is night: above 45, and no level-2 threshold applies then.
        (CAMDEN_CODE, date(2026, 6, 2), 1): (1, 1, 1),
        (CAMDEN_CODE, date(2026, 6, 2), 2): (1, 0, 0),
        (WESTMINSTER_CODE, date(2026, 6, 1), 1): (1, 1, 0),
        (WESTMINSTER_CODE, date(2026, 6, 1), 2): (1, 1, 0),
    }
    # The same in Python, reading by reading.
    local = readings.assign(local=readings["ts"].dt.tz_localize("UTC").dt.tz_convert("Europe/London"))
    june_first = local[local["entity_id"].eq("N1") & local["local"].dt.day.eq(1)]
    levels = [level_at(value, moment.hour * 60 + moment.minute, NOISE_THRESHOLDS)
              for value, moment in zip(june_first["value"], june_first["local"])]
    assert levels == [1, 0, 0, 1, 2, 1]
    only_first_day = database.run("sensor_exceedances_from_readings", dataset="street", metric="noise_db",
                                  boroughs=[CAMDEN_CODE], start=date(2026, 6, 1), end=date(2026, 6, 1),
                                  tz="Europe/London", **params)
    assert len(only_first_day) == 2 and set(only_first_day["readings"]) == {6}


def test_exceedances_match_the_rules_in_python_across_both_clock_changes(publish_street):
    # Every 7 minutes through the two nights the clocks change in 2026, so readings fall on each
    # side of 01:00 UTC, of local midnight and of the 07:00 and 23:00 boundaries; a third level in
    # the small hours tells the hour the clocks change from the hour either side.
    thresholds = (*NOISE_THRESHOLDS, Threshold(45.0, 3, "small hours", 60, 150, "test"))
    nights = (pd.Timestamp("2026-03-28 20:00"), pd.Timestamp("2026-10-24 20:00"))
    moments = [night + index * pd.Timedelta(minutes=7) for night in nights for index in range(12 * 60 // 7)]
    values = [44.0, 50.0, 60.0, 70.0]
    readings = frame([("N1", moment, "noise_db", values[index % 4]) for index, moment in enumerate(moments)])
    database = publish_street(FEED_SENSORS, readings)
    rows = database.run("sensor_exceedances_from_readings", dataset="street", metric="noise_db", boroughs=[CAMDEN_CODE],
                        start=date(2026, 3, 28), end=date(2026, 10, 25), tz="Europe/London",
                        **exceedance_params(thresholds))
    in_sql = {(pd.Timestamp(row.day).date(), row.level): (row.readings, row.in_hours, row.above)
              for row in rows.itertuples()}
    local = readings["ts"].dt.tz_localize("UTC").dt.tz_convert("Europe/London")
    per_day = local.dt.date.value_counts()
    in_python: dict[tuple, list[int]] = {(day, level): [int(count), 0, 0]
                                         for day, count in per_day.items() for level in (1, 2, 3)}
    for moment, value in zip(local, readings["value"]):
        for threshold in thresholds:
            if threshold.applies_at(moment.hour * 60 + moment.minute):
                counts = in_python[(moment.date(), threshold.level)]
                counts[1] += 1
                counts[2] += value > threshold.value
    assert in_sql == {key: tuple(counts) for key, counts in in_python.items()}
    assert set(per_day.index) == {date(2026, 3, 28), date(2026, 3, 29), date(2026, 10, 24), date(2026, 10, 25)}


TIMED_NOISE_TOML = """
[[sensor_thresholds.noise_db]]
value = 55
hours = "07:00-23:00"
source = "test"

[[sensor_thresholds.noise_db]]
value = 45
hours = "23:00-07:00"
source = "test"

[[sensor_thresholds.noise_db]]
value = 65
hours = "07:00-23:00"
level = 2
source = "test"
"""


def clock_change_nights(sensors: tuple[str, ...] = ("N1",)) -> pd.DataFrame:
    """Every 7 minutes through the two nights the clocks change in 2026, for each sensor."""
    nights = (pd.Timestamp("2026-03-28 20:00"), pd.Timestamp("2026-10-24 20:00"))
    moments = [night + index * pd.Timedelta(minutes=7) for night in nights for index in range(12 * 60 // 7)]
    values = [45.0, 50.0, 55.0, 65.0, 70.0, 44.0]  # on and either side of each threshold
    return frame([(sensor, moment, "noise_db", values[(index + offset) % len(values)])
                  for offset, sensor in enumerate(sensors) for index, moment in enumerate(moments)])


def test_exceedances_from_the_rollup_equal_those_from_the_readings(publish_street, sensor_pack):
    (sensor_pack.pack_dir / "catalog.d").mkdir(exist_ok=True)
    (sensor_pack.pack_dir / "catalog.d" / "thresholds.toml").write_text(TIMED_NOISE_TOML, encoding="utf-8")
    thresholds = load_sensor_thresholds(sensor_pack.pack_dir)["noise_db"]
    database = publish_street(FEED_SENSORS, clock_change_nights(("N1", "N2", "N3")))
    counted_with = database.run("sensor_threshold_specs", dataset="street")
    assert counted_with.values.tolist() == [["noise_db", "1:45.0:1380:420,1:55.0:420:1380,2:65.0:420:1380"]]
    for boroughs, start, end in (([], date(2026, 3, 28), date(2026, 10, 25)),
                                 ([CAMDEN_CODE, BROMLEY_CODE], date(2026, 3, 29), date(2026, 10, 24))):
        query, asked = exceedance_query(counted_with, "noise_db", thresholds, "Europe/London")
        assert query == "sensor_exceedances"
        common = dict(dataset="street", metric="noise_db", boroughs=boroughs, start=start, end=end)
        from_rollup = database.run(query, **common, **asked)
        from_readings = database.run("sensor_exceedances_from_readings", **common, **asked, tz="Europe/London")
        assert len(from_rollup) > 0
        pd.testing.assert_frame_equal(from_rollup, from_readings)


def test_the_benchs_sensor_rollups_from_the_raw_readings_answer_as_the_published_ones(publish_street, sensor_pack):
    # The bench's "no rollups" column: views that work each rollup out of the readings on every query.
    (sensor_pack.pack_dir / "catalog.d").mkdir(exist_ok=True)
    (sensor_pack.pack_dir / "catalog.d" / "thresholds.toml").write_text(TIMED_NOISE_TOML, encoding="utf-8")
    database = publish_street(FEED_SENSORS, clock_change_nights(("N1", "N2")))
    common = dict(dataset="street", metric="noise_db", boroughs=[], start=date(2026, 3, 28), end=date(2026, 10, 25))
    asked = [("sensor_daily_profile", common),
             ("sensor_exceedances", dict(common, **exceedance_params(
                 load_sensor_thresholds(sensor_pack.pack_dir)["noise_db"])))]
    with Database(sensor_pack, derive_rollups=True) as derived:
        for query, params in asked:
            published = database.run(query, **params)
            assert not published.empty, query
            pd.testing.assert_frame_equal(derived.run(query, **params), published, check_dtype=False, obj=query)


def test_other_thresholds_are_answered_from_the_readings_never_from_the_rollup(publish_street):
    database = publish_street(FEED_SENSORS, clock_change_nights())
    counted_with = database.run("sensor_threshold_specs", dataset="street")
    # The pack sets no timed thresholds: the catalogue's all-day 55 and 65.
    assert counted_with.values.tolist() == [["noise_db", "1:55.0:0:1440,2:65.0:0:1440"]]
    query, asked = exceedance_query(counted_with, "noise_db", NOISE_THRESHOLDS, "Europe/London")
    assert (query, asked["tz"]) == ("sensor_exceedances_from_readings", "Europe/London")
    common = dict(dataset="street", metric="noise_db", boroughs=[], start=date(2026, 3, 28), end=date(2026, 3, 29))
    with pytest.raises(duckdb.Error, match="counted with other thresholds"):
        database.run("sensor_exceedances", **common, thresholds=asked["thresholds"])
    assert len(database.run(query, **common, **asked)) == 4


def test_the_threshold_rollups_rows_and_a_catalogue_change_works_it_out_again(publish_street, sensor_pack,
                                                                            caplog):
    readings = frame([
        ("N1", pd.Timestamp("2026-06-01 05:45"), "noise_db", 60.0),  # 06:45 BST
        ("N1", pd.Timestamp("2026-06-01 11:00"), "noise_db", 70.0),  # 12:00 BST
        ("N1", pd.Timestamp("2026-06-01 12:00"), "noise_db", 50.0),  # 13:00 BST
    ])
    database = publish_street(FEED_SENSORS, readings)
    rows = database.cursor().execute(
        "select day, level, thresholds, in_hours, above from sensor_threshold_daily where dataset = 'street' "
        "order by level").fetchall()
    assert [(str(day), level, counted, in_hours, above) for day, level, counted, in_hours, above in rows] == [
        ("2026-06-01", 1, "1:55.0:0:1440,2:65.0:0:1440", 3, 2),
        ("2026-06-01", 2, "1:55.0:0:1440,2:65.0:0:1440", 3, 1)]
    (sensor_pack.pack_dir / "catalog.d").mkdir(exist_ok=True)
    (sensor_pack.pack_dir / "catalog.d" / "thresholds.toml").write_text(TIMED_NOISE_TOML, encoding="utf-8")
    with caplog.at_level("WARNING", logger="citydash.data"):
        reopened = Database(sensor_pack)
    try:
        assert "street: its sensor_threshold_daily rollup is missing or was made by another method" in caplog.text
        by_level = reopened.cursor().execute(
            "select level, in_hours, above from sensor_threshold_daily where dataset = 'street' "
            "order by level nulls last").fetchall()
        # 06:45 is night (above 45); 12:00 and 13:00 are day (one above 55, and above 65).
        assert by_level == [(1, 3, 2), (2, 2, 1)]
        counted_with = reopened.run("sensor_threshold_specs", dataset="street")
        assert counted_with["thresholds"].tolist() == ["1:45.0:1380:420,1:55.0:420:1380,2:65.0:420:1380"]
    finally:
        reopened.close()


def test_footfall_above_capacity_all_day(publish_street):
    readings = frame([
        ("F1", DAY + pd.Timedelta(hours=3), "footfall", 151.0),
        ("F1", DAY + pd.Timedelta(hours=8), "footfall", 150.0),  # at capacity: not above
        ("F1", DAY + pd.Timedelta(hours=17), "footfall", 400.0),
    ])
    database = publish_street(FEED_SENSORS, readings)
    rows = database.run("sensor_exceedances_from_readings", dataset="street", metric="footfall", boroughs=[],
                        start=date(2026, 3, 2), end=date(2026, 3, 2), tz="Europe/London",
                        **exceedance_params((Threshold(150.0, 1, "capacity", 0, 24 * 60, "test"),)))
    assert rows[["level", "readings", "in_hours", "above"]].values.tolist() == [[1, 3, 3, 2]]


def test_daily_by_borough_gives_each_borough_and_the_selection(publish_street):
    readings = frame([
        ("N1", DAY + pd.Timedelta(hours=9), "noise_db", 50.0),
        ("N1", DAY + pd.Timedelta(hours=10), "noise_db", 60.0),
        ("N2", DAY + pd.Timedelta(hours=9), "noise_db", 70.0),
        ("F1", DAY + pd.Timedelta(hours=9), "footfall", 120.0),
        ("F1", DAY + pd.Timedelta(hours=10), "footfall", 30.0),
    ])
    database = publish_street(FEED_SENSORS, readings)
    params = {"dataset": "street", "start": date(2026, 3, 2), "end": date(2026, 3, 2)}
    noise = database.run("sensor_daily_by_borough", **params, metric="noise_db", aggregation="mean",
                         boroughs=[CAMDEN_CODE, WESTMINSTER_CODE])
    values = {(row.scope, row.borough_name if row.scope == "borough" else "all"): row.value
              for row in noise.itertuples()}
    assert values == {("borough", "Camden"): pytest.approx(55.0), ("borough", "Westminster"): pytest.approx(70.0),
                      ("selection", "all"): pytest.approx(60.0)}
    assert noise.loc[noise["scope"].eq("selection"), "sensors"].iloc[0] == 2
    footfall = database.run("sensor_daily_by_borough", **params, metric="footfall", aggregation="sum", boroughs=[])
    assert footfall.set_index("scope").loc["selection", "value"] == 150.0


def test_one_sensors_readings_with_local_time(publish_street):
    summer = pd.Timestamp("2026-06-01 22:45")
    readings = frame([("N1", summer + index * QUARTER, "noise_db", 50.0 + index) for index in range(4)]
                     + [("N2", summer, "noise_db", 99.0)])
    database = publish_street(FEED_SENSORS, readings)
    rows = database.run("sensor_readings", dataset="street", metric="noise_db", entity="N1",
                        from_ts=summer + QUARTER, to_ts=summer + 3 * QUARTER, tz="Europe/London")
    assert rows["value"].tolist() == [51.0, 52.0]
    assert rows["local_ts"].tolist() == [pd.Timestamp("2026-06-02 00:00"), pd.Timestamp("2026-06-02 00:15")]
    assert [pd.Timestamp(day).date() for day in rows["day"]] == [date(2026, 6, 2), date(2026, 6, 2)]


def test_daily_profile_by_local_hour_and_day_type(publish_street):
    readings = frame([
        ("N1", pd.Timestamp("2026-06-01 07:00"), "noise_db", 60.0),  # Monday 08:00 BST
        ("N2", pd.Timestamp("2026-06-02 07:30"), "noise_db", 70.0),  # Tuesday 08:30 BST
        ("N1", pd.Timestamp("2026-06-06 07:00"), "noise_db", 40.0),  # Saturday 08:00 BST
        ("N3", pd.Timestamp("2026-06-01 07:00"), "noise_db", 90.0),  # Bromley: not selected
    ])
    database = publish_street(FEED_SENSORS, readings)
    rows = database.run("sensor_daily_profile", dataset="street", metric="noise_db",
                        boroughs=[CAMDEN_CODE, WESTMINSTER_CODE], start=date(2026, 6, 1), end=date(2026, 6, 7))
    profile = {(row.day_type, row.hour): (row.value, row.readings, row.sensors) for row in rows.itertuples()}
    assert profile == {("weekday", 8): (65.0, 2, 2), ("weekend", 8): (40.0, 1, 1)}


def test_daily_profile_keeps_the_citys_days_and_its_repeated_autumn_hour(publish_street, sensor_pack):
    readings = frame([
        ("N1", pd.Timestamp("2026-10-23 23:30"), "noise_db", 50.0),  # Saturday 00:30 BST: in, the weekend
        ("N1", pd.Timestamp("2026-10-23 22:30"), "noise_db", 99.0),  # Friday 23:30 BST: before the period
        ("N1", pd.Timestamp("2026-10-25 00:30"), "noise_db", 40.0),  # Sunday 01:30 BST
        ("N1", pd.Timestamp("2026-10-25 01:30"), "noise_db", 44.0),  # Sunday 01:30 GMT, the hour again
        ("N2", pd.Timestamp("2026-10-25 01:45"), "noise_db", 48.0),  # Sunday 01:45 GMT
        ("N1", pd.Timestamp("2026-10-26 09:10"), "noise_db", 60.0),  # Monday 09:10 GMT, three in one hour
        ("N1", pd.Timestamp("2026-10-26 09:25"), "noise_db", 61.0),
        ("N1", pd.Timestamp("2026-10-26 09:40"), "noise_db", 68.0),
        ("N2", pd.Timestamp("2026-10-26 09:40"), "noise_db", 71.0),
        ("N2", pd.Timestamp("2026-10-26 10:00"), "temperature", 9.0),  # another metric
        ("N1", pd.Timestamp("2026-10-27 00:30"), "noise_db", 99.0),  # Tuesday 00:30 GMT: after the period
    ])
    database = publish_street(FEED_SENSORS, readings)
    hours = database.cursor().execute(
        "select entity_id, day, hour, n, total from sensor_hourly where dataset = 'street' and metric = 'noise_db' "
        "order by day, hour, entity_id").fetchall()
    assert [(sensor, str(day), hour, n, total) for sensor, day, hour, n, total in hours] == [
        ("N1", "2026-10-23", 23, 1, 99.0), ("N1", "2026-10-24", 0, 1, 50.0), ("N1", "2026-10-25", 1, 2, 84.0),
        ("N2", "2026-10-25", 1, 1, 48.0), ("N1", "2026-10-26", 9, 3, 189.0), ("N2", "2026-10-26", 9, 1, 71.0),
        ("N1", "2026-10-27", 0, 1, 99.0)]
    asked = dict(dataset="street", metric="noise_db", boroughs=[], start=date(2026, 10, 24), end=date(2026, 10, 26))
    rows = database.run("sensor_daily_profile", **asked)
    profile = {(row.day_type, row.hour): (row.value, row.readings, row.sensors) for row in rows.itertuples()}
    assert profile == {("weekend", 0): (50.0, 1, 1), ("weekend", 1): (44.0, 3, 2),
                       ("weekday", 9): (65.0, 4, 2)}
    # Published before this rollup existed: it is worked out at start, with the same answer.
    sensor_pack.extract_path("street", "sensor_hourly").unlink()
    reopened = Database(sensor_pack)
    try:
        assert reopened.problems == [] and "street" in reopened.available
        pd.testing.assert_frame_equal(reopened.run("sensor_daily_profile", **asked), rows)
    finally:
        reopened.close()


def test_sensor_list_names_the_sensors_that_reported(publish_street):
    database = publish_street(FEED_SENSORS, feed_readings())
    rows = database.run("sensor_list", dataset="street", metric="noise_db", boroughs=[],
                        start=date(2026, 3, 2), end=date(2026, 3, 2))
    assert list(rows["entity_id"]) == ["N1", "N2"]  # by name; N3 reported before the period
    assert rows.set_index("entity_id").loc["N1", "readings"] == 3


# ---------------------------------------------------------------------------------------
# python -m citydash ingest sensors


def test_ingest_sensors_publishes_readings_and_sensors(sensor_pack, capsys):
    code = main(["ingest", "sensors", str(FIXTURES / "readings.csv"), str(FIXTURES / "clean.jsonl"),
                 "--sensors", str(FIXTURES / "sensors.csv"), "--pack", str(sensor_pack.pack_dir),
                 "--dataset", "street"])
    output = capsys.readouterr()
    assert code == 0, output.err
    assert "street: read" in output.out and "rows rejected" in output.out
    database = Database(load_catalog(sensor_pack.pack_dir))
    try:
        latest = database.run("sensor_latest", dataset="street", metric="noise_db", boroughs=[],
                              since=pd.Timestamp("2026-02-25"), now=pd.Timestamp("2026-03-02")).set_index("entity_id")
        # 12:00Z in clean.jsonl is the latest; naive times in the files are London time (UTC in March).
        assert latest.loc["NS-001", "value"] == 58.5
        assert latest.loc["NS-001", "borough_name"] == "Camden"
        assert latest.loc["NS-002", "ts"] == pd.Timestamp("2026-03-01 10:00")
        summer = database.run("sensor_latest", dataset="street", metric="footfall", boroughs=[],
                              since=pd.Timestamp("2026-06-30"), now=pd.Timestamp("2026-07-02")).set_index("entity_id")
        assert summer.loc["FF-001", "ts"] == pd.Timestamp("2026-07-01 09:00")  # 10:00 BST
    finally:
        database.close()
    quarantined = list((sensor_pack.pack_dir / "quarantine").glob("*"))
    assert quarantined, "rejected rows are quarantined with their reasons"


def test_ingest_sensors_without_the_sensor_list_says_what_is_missing(sensor_pack, capsys):
    code = main(["ingest", "sensors", str(FIXTURES / "readings.csv"), "--pack", str(sensor_pack.pack_dir),
                 "--dataset", "street"])
    assert code == 2
    assert "--sensors SENSORS.csv" in capsys.readouterr().err
    assert not (sensor_pack.pack_dir / "extracts" / "street.parquet").exists()


def test_ingest_sensors_names_an_unreadable_sensor_list(sensor_pack, tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    code = main(["ingest", "sensors", str(FIXTURES / "readings.csv"), "--sensors", str(missing),
                 "--pack", str(sensor_pack.pack_dir), "--dataset", "street"])
    assert code == 2
    assert "nope.csv" in capsys.readouterr().err


def test_ingest_sensors_dry_run_writes_nothing(sensor_pack, capsys):
    code = main(["ingest", "sensors", str(FIXTURES / "readings.csv"), "--sensors", str(FIXTURES / "sensors.csv"),
                 "--pack", str(sensor_pack.pack_dir), "--dataset", "street", "--dry-run"])
    assert code == 0
    assert "Dry run, nothing written. sensors read 4 entities, 6 observations" in capsys.readouterr().out
    assert not (sensor_pack.pack_dir / "extracts").exists() or not any((sensor_pack.pack_dir / "extracts").iterdir())


def ingest(pack_dir: Path, *options: str) -> list[str]:
    return ["ingest", "sensors", str(FIXTURES / "readings.csv"), str(FIXTURES / "clean.jsonl"),
            "--sensors", str(FIXTURES / "sensors.csv"), "--pack", str(pack_dir), *options]


def test_ingest_sensors_needs_a_dataset_and_names_the_synthetic_one(sensor_pack, capsys):
    assert main(ingest(sensor_pack.pack_dir)) == 2
    error = capsys.readouterr().err
    assert "--dataset ID" in error and "demo_street is the synthetic demo" in error
    assert not (sensor_pack.pack_dir / "extracts").exists()


def test_ingest_sensors_refuses_a_synthetic_dataset(sensor_pack, capsys):
    before = (sensor_pack.pack_dir / "catalog.toml").read_text(encoding="utf-8")
    assert main(ingest(sensor_pack.pack_dir, "--dataset", "demo_street")) == 2
    error = capsys.readouterr().err
    assert "'demo_street' is marked synthetic" in error and "demo rebuild" in error
    assert not (sensor_pack.pack_dir / "extracts").exists()
    assert (sensor_pack.pack_dir / "catalog.toml").read_text(encoding="utf-8") == before
    assert not (sensor_pack.pack_dir / "catalog.d").exists()


def test_ingest_sensors_into_a_new_dataset_writes_its_catalogue_entry(sensor_pack, capsys):
    details = ("--dataset", "camden_sensors", "--title", "Camden street sensors", "--publisher", "Camden Council",
               "--licence", "ogl3", "--attribution", "Contains Camden Council data.")
    assert main(ingest(sensor_pack.pack_dir, "--dataset", "camden_sensors")) == 2
    assert "missing: --title, --publisher, --licence, --attribution" in capsys.readouterr().err
    assert main(ingest(sensor_pack.pack_dir, *details)) == 0, capsys.readouterr().err
    assert "Catalogue entry:" in capsys.readouterr().out
    catalog = load_catalog(sensor_pack.pack_dir)
    dataset = catalog.datasets["camden_sensors"]
    assert (dataset.synthetic, dataset.domain, dataset.access) == (False, "sensors", "officer")
    assert dataset.title == "Camden street sensors" and dataset.attribution == "Contains Camden Council data."
    # Metrics are copied from the catalogue's sensor metrics: a real footfall count is protected too.
    assert dataset.metric("footfall").disclosure == 10
    assert dataset.metric("noise_db").thresholds == (55.0, 65.0)
    entry = (sensor_pack.pack_dir / "catalog.d" / "camden_sensors.toml").read_text(encoding="utf-8")
    assert entry.startswith("# Catalogue entry written by citydash's sensor import")
    database = Database(catalog)
    try:
        # Officers only, until someone decides to publish it.
        params = dict(dataset="camden_sensors", metric="noise_db", boroughs=[], since=pd.Timestamp("2026-02-25"),
                      now=pd.Timestamp("2026-03-02"))
        latest = database.run("sensor_latest", access="officer", **params).set_index("entity_id")
        assert latest.loc["NS-001", "value"] == 58.5
        assert database.run("sensor_latest", access="public", **params).empty
    finally:
        database.close()
    # The demo's and the test pack's own datasets are untouched.
    assert not (sensor_pack.pack_dir / "extracts" / "demo_street.parquet").exists()
    assert not (sensor_pack.pack_dir / "extracts" / "street.parquet").exists()
    # A second import into the same dataset keeps the entry (hand edits survive) and merges the rows.
    edited = entry.replace('title = "Camden street sensors"', 'title = "Camden sensors (edited)"')
    (sensor_pack.pack_dir / "catalog.d" / "camden_sensors.toml").write_text(edited, encoding="utf-8")
    assert main(ingest(sensor_pack.pack_dir, "--dataset", "camden_sensors")) == 0, capsys.readouterr().err
    assert load_catalog(sensor_pack.pack_dir).datasets["camden_sensors"].title == "Camden sensors (edited)"


def test_ingest_sensors_asks_for_a_metric_the_catalogue_does_not_know(sensor_pack, tmp_path, capsys):
    readings = tmp_path / "co2.csv"
    readings.write_text("sensor_id,timestamp,metric,value\nNS-001,2026-03-01T10:00:00Z,co2_ppm,410\n",
                        encoding="utf-8")
    base = ["ingest", "sensors", str(readings), "--sensors", str(FIXTURES / "sensors.csv"),
            "--pack", str(sensor_pack.pack_dir), "--dataset", "camden_air", "--title", "Camden CO2",
            "--publisher", "Camden Council", "--licence", "ogl3", "--attribution", "Camden."]
    assert main(base) == 2
    assert "co2_ppm" in capsys.readouterr().err
    assert main([*base, "--metric", "co2_ppm:Carbon dioxide:ppm:mean:lower"]) == 0, capsys.readouterr().err
    metric = load_catalog(sensor_pack.pack_dir).datasets["camden_air"].metric("co2_ppm")
    assert (metric.label, metric.unit, metric.better) == ("Carbon dioxide", "ppm", "lower")


def test_threshold_tables_are_checked_when_read(sensor_pack):
    folder = sensor_pack.pack_dir / "catalog.d"
    folder.mkdir()
    target = folder / "sensors.toml"
    target.write_text('[[sensor_thresholds.noise_db]]\nvalue = 55\nhours = "07:00-23:00"\nsource = "WHO"\n\n'
                      '[[sensor_thresholds.noise_db]]\nvalue = 45\nhours = "23:00-07:00"\nsource = "WHO"\n',
                      encoding="utf-8")
    (day, night) = load_sensor_thresholds(sensor_pack.pack_dir)["noise_db"]
    assert (day.start_minute, day.end_minute, night.start_minute, night.end_minute) == (420, 1380, 1380, 420)
    load_catalog(sensor_pack.pack_dir)  # the dataset loader ignores these tables
    for bad, message in (
        ('value = 55\nhours = "7-23"\nsource = "x"', "HH:MM-HH:MM"),
        ('value = 55\nhours = "07:00-07:00"\nsource = "x"', "not a stretch"),
        ('value = "loud"\nsource = "x"', "value must be a number"),
        ('value = 55', "source"),
        ('value = 55\nlevel = 0\nsource = "x"', "level"),
        ('value = 50\nhours = "22:00-23:30"\nsource = "x"', "two level-1 thresholds apply at 22:00"),
    ):
        target.write_text('[[sensor_thresholds.noise_db]]\nvalue = 55\nhours = "07:00-23:00"\nsource = "WHO"\n\n'
                          f'[[sensor_thresholds.noise_db]]\n{bad}\n', encoding="utf-8")
        with pytest.raises(CatalogError, match=message):
            load_sensor_thresholds(sensor_pack.pack_dir)
