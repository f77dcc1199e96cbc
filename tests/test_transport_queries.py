"""The transport_* queries on literal rows published into a tiny pack: totals, day types and
hours in the city's local time, time buckets, selections."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from citydash.catalog import load_catalog
from citydash.contract import Extract
from citydash.data import Database
from citydash.ingest.publish import publish
from citydash import transport
from conftest import BOUNDARIES, BROMLEY, CAMDEN, WESTMINSTER, BothWaysDatabase, entities, observations

TRANSPORT_CATALOG = """
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

[datasets.rail]
title = "Test stations"
domain = "transport"
publisher = "Test publisher"
licence = "ogl3"
attribution = "Test attribution."

[[datasets.rail.metrics]]
id = "entries"
label = "Entries"
unit = "people"
aggregation = "sum"

[[datasets.rail.metrics]]
id = "exits"
label = "Exits"
unit = "people"
aggregation = "sum"

[datasets.bikes]
title = "Test docks"
domain = "transport"
publisher = "Test publisher"
licence = "ogl3"
attribution = "Test attribution."

[[datasets.bikes.metrics]]
id = "hires"
label = "Hires"
unit = "hires"
aggregation = "sum"

[[datasets.bikes.metrics]]
id = "dock_capacity"
label = "Docking points"
unit = "docks"
aggregation = "max"
area_aggregation = "sum"
"""

STATIONS = entities(("S1", "Camden Town", "Underground", CAMDEN), ("S2", "Green Park", "Underground", WESTMINSTER),
                    ("S3", "Bromley South", "National Rail", BROMLEY))
STATION_COUNTS = observations(
    # Monday 1 June 2026 (BST), Saturday 6 June, Sunday 7 June: midnight UTC is 01:00 local, same day.
    ("S1", "2026-06-01 00:00", "entries", 100), ("S1", "2026-06-01 00:00", "exits", 90),
    ("S1", "2026-06-06 00:00", "entries", 40), ("S1", "2026-06-06 00:00", "exits", 30),
    # 23:30 UTC on Saturday 6 June is 00:30 on Sunday 7 June in London.
    ("S1", "2026-06-06 23:30", "entries", 20),
    ("S2", "2026-06-01 00:00", "entries", 500), ("S2", "2026-06-02 00:00", "entries", 700),
    ("S3", "2026-05-01 00:00", "entries", 9),
)
DOCKS = entities(("D1", "Camden Lock", "Docking station", CAMDEN),
                 ("D2", "Soho Square", "Docking station", WESTMINSTER))
DOCK_READINGS = observations(
    # 07:00 UTC on Monday 1 June (BST) and 08:00 UTC on Monday 5 January (GMT): both 08:00 local.
    ("D1", "2026-06-01 07:00", "hires", 6), ("D1", "2026-01-05 08:00", "hires", 4),
    # 23:30 UTC on Sunday 7 June is 00:30 on Monday 8 June locally: outside a period ending the 7th.
    ("D1", "2026-06-07 23:30", "hires", 50),
    ("D2", "2026-06-01 07:00", "hires", 10),
    ("D1", "2026-06-01 00:00", "dock_capacity", 20), ("D1", "2026-06-02 00:00", "dock_capacity", 24),
)
FIRST_HALF = {"start": date(2026, 1, 1), "end": date(2026, 6, 7)}


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    pack = tmp_path_factory.mktemp("transport_pack")
    (pack / "catalog.toml").write_text(TRANSPORT_CATALOG.format(boundaries=BOUNDARIES), encoding="utf-8")
    catalog = load_catalog(pack)
    for dataset, (entity_rows, observation_rows) in {"rail": (STATIONS, STATION_COUNTS),
                                                     "bikes": (DOCKS, DOCK_READINGS)}.items():
        publish(Extract(entity_rows, observation_rows), dataset, catalog, replace=True, now=datetime(2026, 7, 1))
    opened = BothWaysDatabase(catalog)
    yield opened
    opened.close()


def test_coverage_gives_each_datasets_span_and_its_days_in_the_period(database):
    coverage = database.run("transport_coverage", datasets=["rail", "bikes", "absent"],
                            start=date(2026, 6, 1), end=date(2026, 6, 30)).set_index("dataset")
    assert list(coverage.index) == ["bikes", "rail"]
    assert coverage.loc["rail", "first_day"] == pd.Timestamp("2026-05-01")
    assert coverage.loc["rail", "days_in_period"] == 4  # 1, 2, 6 and 7 June
    later = database.run("transport_coverage", datasets=["rail"], start=date(2027, 1, 1), end=date(2027, 1, 31))
    assert later["days_in_period"].tolist() == [0] and later["first_day"].tolist() == [pd.Timestamp("2026-05-01")]


def test_sampling_counts_entity_days_against_entity_years_over_all_the_data(database):
    counts = database.run("transport_sampling", datasets=["rail", "absent"]).set_index("dataset")
    assert list(counts.index) == ["rail"]
    assert counts.loc["rail", "entity_days"] == 6  # S1 on 1, 6 and 7 June; S2 on 1 and 2 June; S3 on 1 May
    assert counts.loc["rail", "entity_years"] == 3  # each station in 2026 only


def test_entity_metrics_total_each_metric_per_entity_with_its_borough(database):
    frame = database.run("transport_entity_metrics", dataset="rail", metrics=["entries", "exits"], **FIRST_HALF)
    rows = frame.set_index(["entity_id", "metric"])
    assert rows.loc[("S1", "entries"), "total"] == 160 and rows.loc[("S1", "entries"), "days"] == 3
    assert rows.loc[("S1", "exits"), "total"] == 120
    assert rows.loc[("S2", "entries"), "peak"] == 700 and rows.loc[("S2", "entries"), "readings"] == 2
    assert rows.loc[("S2", "entries"), "borough_name"] == "Westminster"
    assert rows.loc[("S3", "entries"), "kind"] == "National Rail"
    assert ("S2", "exits") not in rows.index, "no readings, no row"
    only_june = database.run("transport_entity_metrics", dataset="rail", metrics=["entries"],
                             start=date(2026, 6, 1), end=date(2026, 6, 30))
    assert "S3" not in set(only_june["entity_id"])


def test_day_types_follow_the_local_calendar(database):
    frame = database.run("transport_entity_daytypes", dataset="rail", metrics=["entries"], **FIRST_HALF)
    s1 = frame[frame["entity_id"] == "S1"].set_index("day_type")
    assert s1.loc["weekday", "total"] == 100
    assert s1.loc["saturday", "total"] == 40
    assert s1.loc["sunday", "total"] == 20, "23:30 UTC on Saturday is Sunday in London"
    assert set(frame["borough_code"]) == {"E09000007", "E09000033", "E09000006"}


def test_trend_buckets_for_the_selected_boroughs_or_all(database):
    weekly = database.run("transport_trend", dataset="rail", metrics=["entries"], bucket="week",
                          boroughs=["E09000007"], **FIRST_HALF).set_index("bucket")
    assert weekly.loc[pd.Timestamp("2026-06-01"), "total"] == 160  # Monday 1 to Sunday 7 June, Camden only
    assert weekly.loc[pd.Timestamp("2026-06-01"), "days"] == 3
    every = database.run("transport_trend", dataset="rail", metrics=["entries"], bucket="week",
                         boroughs=[], **FIRST_HALF).set_index("bucket")
    assert every.loc[pd.Timestamp("2026-06-01"), "total"] == 160 + 1200
    assert every.loc[pd.Timestamp("2026-06-01"), "entities"] == 2
    assert every.loc[pd.Timestamp("2026-04-27"), "total"] == 9  # Friday 1 May's week starts Monday 27 April
    yearly = database.run("transport_trend", dataset="rail", metrics=["entries", "exits"], bucket="year",
                          boroughs=[], **FIRST_HALF)
    assert set(yearly["bucket"]) == {pd.Timestamp("2026-01-01")}
    assert yearly[yearly["metric"] == "entries"]["total"].iloc[0] == 1369
    unknown = database.run("transport_trend", dataset="rail", metrics=["entries"], bucket="fortnight",
                           boroughs=[], **FIRST_HALF)
    assert len(unknown) == 5, "an unknown bucket falls back to days"


def test_a_daily_trend_counts_each_days_own_entities(database):
    daily = database.run("transport_trend", dataset="rail", metrics=["entries", "exits"], bucket="day",
                         boroughs=[], **FIRST_HALF).set_index(["bucket", "metric"])
    monday, tuesday, sunday = pd.Timestamp("2026-06-01"), pd.Timestamp("2026-06-02"), pd.Timestamp("2026-06-07")
    assert daily.loc[(monday, "entries"), ["total", "entities", "days"]].tolist() == [600, 2, 1]
    assert daily.loc[(monday, "exits"), ["total", "entities"]].tolist() == [90, 1]
    assert daily.loc[(tuesday, "entries"), ["total", "entities"]].tolist() == [700, 1]
    assert daily.loc[(sunday, "entries"), ["total", "entities"]].tolist() == [20, 1]
    per_borough = database.run("transport_trend_by_borough", dataset="rail", metrics=["entries"], bucket="day",
                               boroughs=[], **FIRST_HALF).set_index(["borough_name", "bucket"])
    assert per_borough.loc[("Camden", monday), ["total", "entities", "days"]].tolist() == [100, 1, 1]
    assert per_borough.loc[("Westminster", monday), ["total", "entities"]].tolist() == [500, 1]
    # Every station is in a borough, so the boroughs' entities of a day add up to the city's.
    city = daily.xs("entries", level="metric")["entities"]
    assert per_borough.groupby("bucket")["entities"].sum().equals(city)


def test_hours_and_days_of_the_week_are_local(database):
    frame = database.run("transport_hour_week", dataset="bikes", metrics=["hires"], boroughs=[],
                         **FIRST_HALF).set_index(["day_of_week", "hour"])
    assert frame.loc[(1, 8), "total"] == 6 + 4 + 10, "07:00 UTC in June and 08:00 UTC in January are 08:00 local"
    assert frame.loc[(1, 8), "days"] == 2
    assert (1, 0) not in frame.index, "00:30 on Monday 8 June is after the period"
    camden = database.run("transport_hour_week", dataset="bikes", metrics=["hires"], boroughs=["E09000007"],
                          **FIRST_HALF)
    assert camden["total"].sum() == 10


# A rollup added after a dataset was published, and the query that reads it.
WORKED_OUT_AT_START = [
    ("borough_hourly", "bikes", "transport_hour_week", {"metrics": ["hires"], "boroughs": []}),
    ("entity_monthly", "rail", "transport_entity_metrics", {"metrics": ["entries", "exits"]}),
    ("entity_weekly", "rail", "transport_trend", {"metrics": ["entries"], "bucket": "week", "boroughs": []}),
]


@pytest.mark.parametrize(("rollup", "dataset", "query", "params"), WORKED_OUT_AT_START)
def test_a_dataset_published_without_a_later_rollup_has_it_worked_out_at_start(tmp_path, caplog, rollup, dataset,
                                                                                query, params):
    (tmp_path / "catalog.toml").write_text(TRANSPORT_CATALOG.format(boundaries=BOUNDARIES), encoding="utf-8")
    catalog = load_catalog(tmp_path)
    rows = {"bikes": (DOCKS, DOCK_READINGS), "rail": (STATIONS, STATION_COUNTS)}[dataset]
    publish(Extract(*rows), dataset, catalog, replace=True, now=datetime(2026, 7, 1))
    asked = {"dataset": dataset, **params, **FIRST_HALF}
    with Database(catalog) as published:
        expected = published.run(query, **asked)
    assert not expected.empty
    catalog.extract_path(dataset, rollup).unlink()
    with caplog.at_level("WARNING", logger="citydash.data"), Database(catalog) as reopened:
        assert reopened.problems == [] and dataset in reopened.available
        assert f"{dataset}: its {rollup} rollup is missing" in caplog.text
        pd.testing.assert_frame_equal(reopened.run(query, **asked), expected)


def test_the_benchs_rollups_worked_out_from_the_raw_readings_answer_as_the_published_ones(database):
    # The bench's "no rollups" column runs every query on views that derive the rollups from the raw
    # observations: they must be the same questions.
    asked = [("transport_hour_week", {"dataset": "bikes", "metrics": ["hires"], "boroughs": []}),
             ("transport_hour_week_by_borough", {"dataset": "bikes", "metrics": ["hires"], "boroughs": ["E09000007"]}),
             ("transport_entity_metrics", {"dataset": "rail", "metrics": ["entries", "exits"]}),
             ("transport_trend_by_borough", {"dataset": "rail", "metrics": ["entries"], "bucket": "week",
                                             "boroughs": []}),
             ("transport_trend", {"dataset": "rail", "metrics": ["entries", "exits"], "bucket": "day",
                                  "boroughs": []})]
    with Database(database.catalog, derive_rollups=True) as derived:
        for query, params in asked:
            published = database.run(query, **params, **FIRST_HALF)
            assert not published.empty, query
            pd.testing.assert_frame_equal(derived.run(query, **params, **FIRST_HALF), published, check_dtype=False,
                                          obj=query)


EVERY_METRIC = {"rail": ["entries", "exits"], "bikes": ["hires", "dock_capacity"]}


def entity_daily_between(database: Database, start: date, end: date) -> pd.DataFrame:
    """Every dataset's entity_daily rows in a period: what the rollup-reading queries must add up to."""
    cursor = database.cursor("public")
    try:
        return cursor.execute("select dataset, entity_id, borough_code, day, metric, n, total, peak from entity_daily "
                              "where day between $start and $end", {"start": start, "end": end}).df()
    finally:
        cursor.close()


# Whole months, none, one exactly, and months with days either side, against the days they hold.
PERIODS_ACROSS_MONTHS = [(date(2026, 1, 1), date(2026, 6, 7)), (date(2026, 5, 1), date(2026, 5, 31)),
                         (date(2026, 4, 30), date(2026, 6, 1)), (date(2026, 5, 2), date(2026, 6, 30)),
                         (date(2026, 6, 2), date(2026, 6, 6)), (date(2026, 1, 6), date(2026, 6, 1))]


@pytest.mark.parametrize(("start", "end"), PERIODS_ACROSS_MONTHS)
def test_entity_totals_from_whole_months_and_the_days_either_side_equal_the_days_summed(database, start, end):
    days = entity_daily_between(database, start, end)
    days["day_type"] = pd.to_datetime(days["day"]).dt.day_of_week.map({5: "saturday", 6: "sunday"}).fillna("weekday")
    for dataset, metrics in EVERY_METRIC.items():
        own = days[days["dataset"] == dataset]
        expected = own.groupby(["entity_id", "metric"]).agg(
            total=("total", "sum"), readings=("n", "sum"), peak=("peak", "max"), days=("day", "count"))
        answer = database.run("transport_entity_metrics", dataset=dataset, metrics=metrics, start=start, end=end)
        got = answer.set_index(["entity_id", "metric"])[["total", "readings", "peak", "days"]]
        pd.testing.assert_frame_equal(got, expected.sort_index(), check_dtype=False, check_index_type=False,
                                      obj=f"{dataset} {start}-{end}")
        expected_types = own.groupby(["entity_id", "day_type", "metric"]).agg(
            total=("total", "sum"), days=("day", "count"))
        types = database.run("transport_entity_daytypes", dataset=dataset, metrics=metrics, start=start, end=end)
        pd.testing.assert_frame_equal(types.set_index(["entity_id", "day_type", "metric"])[["total", "days"]],
                                      expected_types.sort_index(), check_dtype=False, check_index_type=False,
                                      obj=f"{dataset} day types")
    assert not days.empty


@pytest.mark.parametrize(("start", "end"), PERIODS_ACROSS_MONTHS)
def test_daily_stations_from_their_day_types_and_entities_equal_those_from_entity_metrics(database, start, end):
    scheme = transport.DAILY_STATIONS
    window = dict(dataset="rail", metrics=list(scheme.volume), start=start, end=end)
    daytypes = database.run("transport_entity_daytypes", **window)
    from_day_types = transport.station_table(
        transport.daily_station_metrics(database.run("transport_entities", dataset="rail"), daytypes, scheme),
        daytypes, scheme)
    from_metrics = transport.station_table(database.run("transport_entity_metrics", **window), daytypes, scheme)
    pd.testing.assert_frame_equal(from_day_types, from_metrics, check_like=True, obj=f"{start}-{end}")
    assert len(from_metrics) == len(set(entity_daily_between(database, start, end).query("dataset == 'rail'")
                                        ["entity_id"]))


# Whole weeks (Monday to Sunday) with days either side, one whole week exactly, none, part weeks.
PERIODS_ACROSS_WEEKS = [(date(2026, 1, 1), date(2026, 6, 7)), (date(2026, 6, 1), date(2026, 6, 7)),
                        (date(2026, 6, 2), date(2026, 6, 6)), (date(2026, 4, 28), date(2026, 6, 8)),
                        (date(2026, 5, 1), date(2026, 6, 6)), (date(2026, 1, 5), date(2026, 6, 30))]


@pytest.mark.parametrize(("start", "end"), PERIODS_ACROSS_WEEKS)
@pytest.mark.parametrize("boroughs", [[], ["E09000007", "E09000006"]])
def test_weekly_trends_from_whole_weeks_and_the_days_either_side_equal_the_days_counted(database, start, end,
                                                                                        boroughs):
    days = entity_daily_between(database, start, end)
    assert not days.empty
    days["bucket"] = pd.to_datetime(days["day"]).dt.to_period("W-SUN").dt.start_time
    if boroughs:
        days = days[days["borough_code"].isin(boroughs)]
    for dataset, metrics in EVERY_METRIC.items():
        own = days[days["dataset"] == dataset]
        asked = {"dataset": dataset, "metrics": metrics, "start": start, "end": end, "bucket": "week",
                 "boroughs": boroughs}
        expected = own.groupby(["bucket", "metric"]).agg(
            total=("total", "sum"), readings=("n", "sum"), entities=("entity_id", "nunique"), days=("day", "nunique"))
        got = database.run("transport_trend", **asked).set_index(["bucket", "metric"])
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False,
                                      obj=f"{dataset} {start}-{end} {boroughs}")
        by_borough = own.dropna(subset=["borough_code"]).groupby(["borough_code", "bucket", "metric"]).agg(
            total=("total", "sum"), readings=("n", "sum"), entities=("entity_id", "nunique"), days=("day", "nunique"))
        got = database.run("transport_trend_by_borough", **asked).set_index(["borough_code", "bucket", "metric"])
        pd.testing.assert_frame_equal(got.drop(columns="borough_name").sort_index(), by_borough,
                                      check_dtype=False, check_index_type=False, obj=f"{dataset} by borough")


def test_dock_capacity_is_its_largest_reading(database):
    frame = database.run("transport_entity_metrics", dataset="bikes", metrics=["dock_capacity"],
                         start=date(2026, 6, 1), end=date(2026, 6, 30))
    assert frame.set_index("entity_id").loc["D1", "peak"] == 24


def test_hours_and_days_of_the_week_per_borough_are_local_and_each_boroughs_own(database):
    frame = database.run("transport_hour_week_by_borough", dataset="bikes", metrics=["hires"], boroughs=[],
                         **FIRST_HALF)
    rows = frame.set_index(["borough_name", "day_of_week", "hour"])
    # Monday 08:00 local: Camden's D1 in June (07:00 UTC, BST) and January (08:00 UTC, GMT), Westminster's D2.
    assert rows.loc[("Camden", 1, 8), "total"] == 6 + 4 and rows.loc[("Camden", 1, 8), "days"] == 2
    assert rows.loc[("Westminster", 1, 8), "total"] == 10 and rows.loc[("Westminster", 1, 8), "days"] == 1
    assert set(frame["borough_code"]) == {"E09000007", "E09000033"}
    assert len(frame) == 2, "00:30 on Monday 8 June is after the period"
    # The per-borough rows add up to the pooled query's.
    pooled = database.run("transport_hour_week", dataset="bikes", metrics=["hires"], boroughs=[],
                          **FIRST_HALF)
    assert frame["total"].sum() == pooled["total"].sum()
    only_camden = database.run("transport_hour_week_by_borough", dataset="bikes", metrics=["hires"],
                               boroughs=["E09000007"], **FIRST_HALF)
    assert list(only_camden["borough_name"]) == ["Camden"]


def test_trend_per_borough_buckets_each_boroughs_own_counts(database):
    frame = database.run("transport_trend_by_borough", dataset="rail", metrics=["entries", "exits"], bucket="week",
                         boroughs=["E09000007", "E09000033"], **FIRST_HALF)
    rows = frame.set_index(["borough_name", "bucket", "metric"])
    june = pd.Timestamp("2026-06-01")
    assert rows.loc[("Camden", june, "entries"), "total"] == 160  # S1: 100 + 40 + 20
    assert rows.loc[("Camden", june, "exits"), "total"] == 120
    assert rows.loc[("Westminster", june, "entries"), "total"] == 1200
    assert rows.loc[("Westminster", june, "entries"), "readings"] == 2
    assert rows.loc[("Westminster", june, "entries"), "entities"] == 1
    assert "Bromley" not in set(frame["borough_name"]), "only the chosen boroughs"
    every = database.run("transport_trend_by_borough", dataset="rail", metrics=["entries"], bucket="year",
                         boroughs=[], **FIRST_HALF)
    assert dict(zip(every["borough_name"], every["total"])) == {"Bromley": 9, "Camden": 160, "Westminster": 1200}
