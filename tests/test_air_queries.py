"""The Environment page's queries on literal rows: the DAQI in SQL agrees with citydash.airquality,
and the pollutant summaries weigh, filter and localise their rows as their headers say."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd
import pytest

from citydash import environment as env
from citydash.airquality import daily_index, load_daqi
from citydash.catalog import load_catalog
from citydash.contract import Extract
from citydash.data import Database
from citydash.ingest.publish import publish
from conftest import BOUNDARIES, BROMLEY, CAMDEN, PACK, WESTMINSTER, entities, observations

TZ = "Europe/London"
DAQI = load_daqi(PACK / "catalog.toml")
DAQI_PARAMS = env.daqi_query_params(DAQI)
POLLUTANTS = ["no2", "pm25", "pm10", "o3"]

AIR_CATALOG = """
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

{daqi}

[datasets.air]
title = "Test air"
domain = "environment"
publisher = "Test publisher"
licence = "ogl3"
attribution = "Test attribution."
synthetic = false
{metrics}
"""
METRIC = """
[[datasets.air.metrics]]
id = "{id}"
label = "{id}"
unit = "µg/m³"
aggregation = "mean"
better = "lower"
valid_range = [0, 2000]
bands = "daqi"
"""
# The London pack's DAQI, as a pack using the index defines it: the published rollup follows it.
PACK_TEXT = (PACK / "catalog.toml").read_text(encoding="utf-8")
DAQI_SECTION = PACK_TEXT[PACK_TEXT.index("[indices.daqi]"):PACK_TEXT.index("# ----", PACK_TEXT.index("[indices.daqi]"))]

SITES = entities(
    ("R1", "Camden Road", "Roadside", CAMDEN),
    ("B1", "Camden Park", "Urban Background", CAMDEN),
    ("K1", "Westminster Kerb", "Kerbside", WESTMINSTER),
    ("S1", "Bromley Town", "Suburban", BROMLEY),
)


@pytest.fixture
def air_database(tmp_path):
    """Publishes literal rows into a pack whose `air` dataset has the four DAQI pollutants."""
    folder = tmp_path / "pack"
    folder.mkdir()
    metrics = "".join(METRIC.format(id=metric) for metric in POLLUTANTS)
    (folder / "catalog.toml").write_text(AIR_CATALOG.format(boundaries=BOUNDARIES, metrics=metrics, daqi=DAQI_SECTION),
                                         encoding="utf-8")
    catalog = load_catalog(folder)
    opened: list[Database] = []

    def publish_rows(observation_rows: pd.DataFrame, site_rows: pd.DataFrame = SITES) -> Database:
        publish(Extract(site_rows, observation_rows), "air", catalog, replace=True, now=datetime(2026, 4, 1, 12))
        database = Database(catalog)
        opened.append(database)
        return database

    yield publish_rows
    for database in opened:
        database.close()


def hourly(entity_id: str, metric: str, first: str, values: list[float], skip: set[int] = frozenset()) -> pd.DataFrame:
    """Hourly rows from `first` (UTC), one per value, leaving out the positions in `skip`."""
    stamps = pd.date_range(first, periods=len(values), freq="h", unit="us")
    rows = pd.DataFrame({"entity_id": entity_id, "ts": stamps, "metric": metric, "value": np.asarray(values, float)})
    return rows.drop(index=sorted(skip)).reset_index(drop=True)


def daily_index_sql(database: Database, start: date, end: date, boroughs: list[str] = ()) -> pd.DataFrame:
    return database.run("air_site_daily_index", dataset="air", boroughs=list(boroughs), start=start, end=end,
                        tz=TZ, **DAQI_PARAMS, pollutants=True)


def as_python_shape(frame: pd.DataFrame) -> pd.DataFrame:
    """The SQL result in daily_index's shape, for comparing the two."""
    return (frame.drop(columns="borough_code").rename(columns={"daqi_index": "index"})
            .assign(day=[stamp.date() for stamp in pd.to_datetime(frame["day"])])
            [["entity_id", "day", "metric", "index", "concentration", "pollutant"]]
            .sort_values(["entity_id", "day", "metric"]).reset_index(drop=True))


def varied_readings() -> pd.DataFrame:
    """Four days of hourly readings over the spring clock change (29 March 2026, 01:00 UTC), with
    gaps that break the 75% rule for some windows and values on .5 rounding boundaries."""
    hours = 96
    first = "2026-03-27 00:00"
    step = np.arange(hours)
    parts = [
        hourly("R1", "no2", first, list(60 + (step * 37) % 160)),
        hourly("R1", "o3", first, list(40 + (step * 13) % 70), skip={30, 31, 32, 50}),
        hourly("R1", "pm25", first, list(20 + (step * 7) % 30), skip=set(range(40, 47))),
        hourly("R1", "pm10", first, list(30 + (step * 11) % 40)),
        hourly("B1", "no2", first, list(20 + (step * 5) % 50)),
        hourly("B1", "o3", first, [100.5 if hour % 24 == 14 else 60 + hour % 9 for hour in step]),
        hourly("B1", "pm25", first, [34.5] * hours, skip=set(range(10, 19))),
        hourly("K1", "no2", first, [200.4 if hour % 24 == 8 else 200.5 if hour % 24 == 18 else 90 for hour in step],
               skip=set(range(60, 96))),
        hourly("S1", "pm10", first, list(10 + (step * 3) % 25), skip={5, 6, 7, 8, 9, 10, 11}),
    ]
    return pd.concat(parts, ignore_index=True)


def test_sql_daily_index_agrees_with_python_on_the_same_rows(air_database):
    readings = varied_readings()
    database = air_database(readings)
    start, end = date(2026, 3, 27), date(2026, 3, 30)
    in_sql = as_python_shape(daily_index_sql(database, start, end))
    in_python = daily_index(readings, DAQI, tz=TZ)
    in_python = in_python[in_python["day"].between(start, end)].reset_index(drop=True)
    assert len(in_python) > 40
    pd.testing.assert_frame_equal(in_sql, in_python, check_dtype=False)


def test_sql_daily_index_of_a_sub_period_is_each_days_index_over_all_the_readings(air_database):
    readings = varied_readings()
    database = air_database(readings)
    start, end = date(2026, 3, 29), date(2026, 3, 29)
    in_sql = as_python_shape(daily_index_sql(database, start, end))
    in_python = daily_index(readings, DAQI, tz=TZ)
    in_python = in_python[in_python["day"] == start].reset_index(drop=True)
    assert set(in_sql["entity_id"]) == {"R1", "B1", "K1", "S1"}
    pd.testing.assert_frame_equal(in_sql, in_python, check_dtype=False)


def test_without_the_pollutants_rows_only_each_sites_overall_index_comes_back(air_database):
    database = air_database(varied_readings())
    every_row = daily_index_sql(database, date(2026, 3, 27), date(2026, 3, 30))
    overall = database.run("air_site_daily_index", dataset="air", boroughs=[], start=date(2026, 3, 27),
                           end=date(2026, 3, 30), tz=TZ, **DAQI_PARAMS, pollutants=False)
    assert set(every_row["metric"]) == {"daqi", *POLLUTANTS} and set(overall["metric"]) == {"daqi"}
    pd.testing.assert_frame_equal(overall, every_row[every_row["metric"] == "daqi"].reset_index(drop=True))


def test_a_days_index_does_not_depend_on_the_period_chosen(air_database):
    # PM2.5 all of 10 January, then a pause until midday on the 12th: the running means ending in
    # the first hours of the 11th still have 18 of their 24 hours measured, whichever period asks.
    readings = pd.concat([hourly("R1", "pm25", "2026-01-10 00:00", [36.0] * 24),
                          hourly("R1", "pm25", "2026-01-12 12:00", [10.0] * 12)])
    database = air_database(readings)
    alone = daily_index_sql(database, date(2026, 1, 11), date(2026, 1, 11))
    longer = daily_index_sql(database, date(2026, 1, 10), date(2026, 1, 12))
    longer = longer[pd.to_datetime(longer["day"]) == pd.Timestamp("2026-01-11")].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, longer)
    assert alone.set_index("metric").loc["pm25", "daqi_index"] == 4
    in_python = daily_index(readings, DAQI, tz=TZ)
    assert in_python[in_python["day"] == date(2026, 1, 11)].set_index("metric").loc["pm25", "index"] == 4


def test_a_dataset_published_without_the_rollup_has_it_worked_out_at_start(air_database, caplog):
    readings = varied_readings()
    database = air_database(readings)
    with_rollup = daily_index_sql(database, date(2026, 3, 27), date(2026, 3, 30))
    database.catalog.extract_path("air", "pollutant_daily").unlink()
    # Published before the sensor rollups existed: for air quality they are empty anyway,
    # so they are made quietly, with no advice to publish again.
    database.catalog.extract_path("air", "sensor_slot_daily").unlink()
    database.catalog.extract_path("air", "series_run_daily").unlink()
    database.catalog.extract_path("air", "sensor_hourly").unlink()
    with caplog.at_level("WARNING", logger="citydash.data"):
        reopened = Database(database.catalog)
    try:
        assert reopened.problems == [] and "air" in reopened.available
        assert "air: its pollutant_daily rollup is missing" in caplog.text
        assert not any(table in caplog.text for table in ("sensor_slot_daily", "series_run_daily", "sensor_hourly"))
        pd.testing.assert_frame_equal(daily_index_sql(reopened, date(2026, 3, 27), date(2026, 3, 30)), with_rollup)
    finally:
        reopened.close()


def test_a_rollup_made_by_another_method_is_never_read_as_this_one(air_database, caplog):
    readings = varied_readings()
    database = air_database(readings)
    expected = daily_index_sql(database, date(2026, 3, 27), date(2026, 3, 30))
    path = database.catalog.extract_path("air", "pollutant_daily")
    # As if published when the pack asked for half of each averaging period and o3 over 4 hours.
    other = duckdb.sql("select * replace (0.5 as min_coverage, case when metric = 'o3' then 4 else hours end as hours) "
                       "from read_parquet($path)", params={"path": str(path)}).df()
    path.unlink()
    duckdb.from_df(other).write_parquet(str(path))
    with caplog.at_level("WARNING", logger="citydash.data"):
        reopened = Database(database.catalog)
    try:
        assert "made by another method" in caplog.text
        pd.testing.assert_frame_equal(daily_index_sql(reopened, date(2026, 3, 27), date(2026, 3, 30)), expected)
    finally:
        reopened.close()


def test_hourly_no2_is_banded_after_rounding_half_up(air_database):
    database = air_database(pd.concat([
        hourly("R1", "no2", "2026-01-10 08:00", [200.4]),
        hourly("B1", "no2", "2026-01-10 08:00", [200.5]),
    ]))
    frame = daily_index_sql(database, date(2026, 1, 10), date(2026, 1, 10)).set_index(["entity_id", "metric"])
    # NO2 index 3 ends at 200 µg/m³ and index 4 at 267.
    assert frame.loc[("R1", "no2"), "daqi_index"] == 3
    assert frame.loc[("B1", "no2"), "daqi_index"] == 4


def test_ozone_needs_six_of_eight_hours_and_particles_eighteen_of_twenty_four(air_database):
    database = air_database(pd.concat([
        hourly("R1", "o3", "2026-01-10 08:00", [101.0] * 6),
        hourly("B1", "o3", "2026-01-10 08:00", [101.0] * 5),
        hourly("R1", "pm25", "2026-01-10 00:00", [36.0] * 18),
        hourly("B1", "pm25", "2026-01-10 00:00", [36.0] * 17),
    ]))
    frame = daily_index_sql(database, date(2026, 1, 10), date(2026, 1, 10))
    pollutant_rows = frame[frame["metric"] != "daqi"].set_index(["entity_id", "metric"])
    assert set(pollutant_rows.index) == {("R1", "o3"), ("R1", "pm25")}
    # O3 101 is above index 3's 100; PM2.5 36 above index 3's 35.
    assert pollutant_rows.loc[("R1", "o3"), "daqi_index"] == 4
    assert pollutant_rows.loc[("R1", "pm25"), "daqi_index"] == 4
    assert pollutant_rows.loc[("R1", "pm25"), "concentration"] == pytest.approx(36)


def test_a_sites_daqi_is_its_highest_pollutant_and_a_tie_goes_to_the_first_in_the_catalogue(air_database):
    database = air_database(pd.concat([
        hourly("R1", "no2", "2026-01-10 08:00", [140.0]),        # index 3
        hourly("R1", "pm10", "2026-01-10 00:00", [60.0] * 24),   # index 5
        hourly("B1", "no2", "2026-01-10 08:00", [140.0]),        # index 3
        hourly("B1", "o3", "2026-01-10 08:00", [70.0] * 8),      # index 3
    ]))
    overall = daily_index_sql(database, date(2026, 1, 10), date(2026, 1, 10))
    overall = overall[overall["metric"] == "daqi"].set_index("entity_id")
    assert overall.loc["R1", "daqi_index"] == 5 and overall.loc["R1", "pollutant"] == "pm10"
    assert overall.loc["B1", "daqi_index"] == 3 and overall.loc["B1", "pollutant"] == "no2"
    assert overall.loc["R1", "borough_code"] == "E09000007"


def test_the_daily_index_keeps_to_the_selected_boroughs_and_days(air_database):
    readings = varied_readings()
    database = air_database(readings)
    camden = daily_index_sql(database, date(2026, 3, 28), date(2026, 3, 28), boroughs=["E09000007"])
    assert set(camden["entity_id"]) == {"R1", "B1"}
    assert set(pd.to_datetime(camden["day"]).dt.date) == {date(2026, 3, 28)}
    everywhere = daily_index_sql(database, date(2026, 3, 28), date(2026, 3, 28))
    assert set(everywhere["entity_id"]) == {"R1", "B1", "K1", "S1"}


def test_breakpoints_come_from_the_parameters_not_the_sql(air_database):
    database = air_database(hourly("R1", "no2", "2026-01-10 08:00", [50.0]))
    stricter = {**DAQI_PARAMS, "upper_bounds": ["no2=10,20,30,40,45,60,70,80,90"] + DAQI_PARAMS["upper_bounds"][1:]}
    frame = database.run("air_site_daily_index", dataset="air", boroughs=[], start=date(2026, 1, 10),
                         end=date(2026, 1, 10), tz=TZ, **stricter, pollutants=True)
    assert frame.set_index("metric").loc["no2", "daqi_index"] == 6


def test_junk_method_parameters_give_no_rows_rather_than_an_error(air_database):
    database = air_database(hourly("R1", "no2", "2026-01-10 08:00", [50.0]))
    frame = database.run("air_site_daily_index", dataset="air", boroughs=[], start=date(2026, 1, 10),
                         end=date(2026, 1, 10), tz=TZ, averaging=["no2'; drop table boroughs; --"],
                         upper_bounds=["nonsense"], min_coverage=0.75, pollutants=True)
    assert frame.empty
    assert len(database.run("boroughs")) == 33


def test_borough_daily_means_weight_every_reading(air_database):
    database = air_database(observations(
        ("R1", "2026-01-10 08:00", "no2", 40), ("R1", "2026-01-10 09:00", "no2", 60),
        ("B1", "2026-01-10 08:00", "no2", 20), ("S1", "2026-01-10 08:00", "no2", 10),
        ("R1", "2026-01-10 08:00", "pm25", 7),
    ))
    frame = database.run("air_borough_daily", dataset="air", metrics=["no2"], boroughs=["E09000007"],
                         start=date(2026, 1, 10), end=date(2026, 1, 10))
    assert list(frame["borough_code"]) == ["E09000007"] and list(frame["metric"]) == ["no2"]
    row = frame.iloc[0]
    assert row["value"] == pytest.approx(40) and row["readings"] == 3 and row["sites"] == 2
    assert row["borough_name"] == "Camden" and row["total"] == pytest.approx(120)


def test_site_type_daily_means_group_by_the_kind_of_site(air_database):
    database = air_database(observations(
        ("R1", "2026-01-10 08:00", "no2", 40), ("K1", "2026-01-10 08:00", "no2", 80),
        ("B1", "2026-01-10 08:00", "no2", 20), ("B1", "2026-01-10 09:00", "no2", 30),
    ))
    frame = database.run("air_site_type_daily", dataset="air", metrics=["no2"], boroughs=[],
                         start=date(2026, 1, 10), end=date(2026, 1, 10)).set_index("kind")
    assert frame.loc["Roadside", "value"] == pytest.approx(40)
    assert frame.loc["Kerbside", "value"] == pytest.approx(80)
    assert frame.loc["Urban Background", "value"] == pytest.approx(25)
    assert frame.loc["Urban Background", "readings"] == 2
    assert frame.loc["Urban Background", "sites"] == 1, "one site read twice"
    westminster = database.run("air_site_type_daily", dataset="air", metrics=["no2"], boroughs=["E09000033"],
                               start=date(2026, 1, 10), end=date(2026, 1, 10))
    assert list(westminster["kind"]) == ["Kerbside"]


def test_hour_by_weekday_uses_the_citys_clock(air_database):
    database = air_database(observations(
        # Monday 8 June 2026, 07:00 UTC is 08:00 in London (BST).
        ("R1", "2026-06-08 07:00", "no2", 50), ("B1", "2026-06-08 07:00", "no2", 30),
        # Sunday 7 June 23:00 UTC is already Monday 00:00 in London.
        ("R1", "2026-06-07 23:00", "no2", 10),
        ("R1", "2026-06-08 07:00", "pm25", 99),
    ))
    frame = database.run("air_hour_by_weekday", dataset="air", metric="no2", boroughs=[],
                         start=date(2026, 6, 8), end=date(2026, 6, 8))
    rows = {(row.weekday, row.hour): (row.value, row.readings) for row in frame.itertuples()}
    assert rows == {(1, 8): (40.0, 2), (1, 0): (10.0, 1)}


def test_hours_above_the_limit_count_strictly_above_per_local_calendar_year(air_database):
    database = air_database(observations(
        ("R1", "2025-12-31 22:00", "no2", 250), ("R1", "2025-12-31 23:00", "no2", 201),
        ("R1", "2026-01-01 00:00", "no2", 300), ("R1", "2026-01-01 01:00", "no2", 200),
        ("B1", "2026-01-01 05:00", "no2", 50),
    ))
    frame = database.run("air_hours_above_limit", dataset="air", metric="no2", limit=200.0, boroughs=[],
                         start=date(2025, 12, 31), end=date(2026, 1, 1), tz=TZ)
    rows = {(row.entity_id, row.year): (row.hours_above, row.hours_measured, row.highest)
            for row in frame.itertuples()}
    assert rows == {("R1", 2025): (2, 2, 250.0), ("R1", 2026): (1, 2, 300.0), ("B1", 2026): (0, 1, 50.0)}
    assert frame.iloc[0]["entity_id"] == "R1" and frame.iloc[0]["name"] == "Camden Road"


def test_hours_above_the_limit_take_the_year_from_the_citys_clock_away_from_utc(air_database):
    # Helsinki is UTC+2 in winter: 21:30 UTC on 31 December is 23:30 there, 22:30 UTC is 00:30 on
    # 1 January. A period inside one local year and one across a new year must both say so.
    database = air_database(observations(
        ("R1", "2025-12-31 21:30", "no2", 250), ("R1", "2025-12-31 22:30", "no2", 260),
        ("R1", "2026-06-01 12:00", "no2", 270), ("R1", "2026-12-31 21:30", "no2", 280),
        ("R1", "2026-12-31 22:30", "no2", 290),
    ))
    asked = {"dataset": "air", "metric": "no2", "limit": 200.0, "boroughs": [], "tz": "Europe/Helsinki"}
    inside = database.run("air_hours_above_limit", start=date(2026, 1, 1), end=date(2026, 12, 31), **asked)
    assert {(row.year, row.hours_above, row.highest) for row in inside.itertuples()} == {(2026, 3, 280.0)}
    across = database.run("air_hours_above_limit", start=date(2025, 12, 31), end=date(2027, 1, 1), **asked)
    assert {(row.year, row.hours_above, row.highest) for row in across.itertuples()} == {
        (2025, 1, 250.0), (2026, 3, 280.0), (2027, 1, 290.0)}


def test_sites_lists_every_site_of_the_selection_with_its_period_means(air_database):
    database = air_database(observations(
        ("R1", "2026-01-10 08:00", "no2", 40), ("R1", "2026-01-11 08:00", "no2", 60),
        ("R1", "2026-01-10 08:00", "o3", 30),
    ))
    frame = database.run("air_sites", dataset="air", metrics=["no2", "o3"], boroughs=["E09000007"],
                         start=date(2026, 1, 10), end=date(2026, 1, 11))
    assert set(frame["entity_id"]) == {"R1", "B1"}
    means = frame.dropna(subset=["metric"]).set_index("metric")
    assert means.loc["no2", "value"] == pytest.approx(50) and means.loc["no2", "days"] == 2
    assert means.loc["o3", "readings"] == 1
    quiet = frame[frame["entity_id"] == "B1"].iloc[0]
    assert pd.isna(quiet["metric"]) and quiet["readings"] == 0
    assert quiet["kind"] == "Urban Background" and quiet["borough_name"] == "Camden"


def test_coverage_of_the_pollutants(air_database):
    database = air_database(observations(
        ("R1", "2026-01-10 08:00", "no2", 40), ("S1", "2026-01-12 08:00", "pm10", 20),
    ))
    row = database.run("air_coverage", dataset="air", metrics=POLLUTANTS).iloc[0]
    assert (row["first_day"].date(), row["last_day"].date(), row["sites"]) == (date(2026, 1, 10),
                                                                            date(2026, 1, 12), 2)
    assert env.coverage_days(database.run("air_coverage", dataset="nothing", metrics=POLLUTANTS)) == (None, None)
