"""Queries: every file honours its header contract, and literal rows give the expected rows."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pandas as pd
import pytest

from citydash.data import QUERIES_DIR, QueryError, load_query
from conftest import BROMLEY, CAMDEN, WESTMINSTER, entities, observations

QUERY_NAMES = sorted(path.stem for path in QUERIES_DIR.glob("*.sql"))

SAMPLE_VALUES = {
    "text": {"dataset": "air_quality", "metric": "no2", "aggregation": "mean", "area_aggregation": "mean",
             "tz": "Europe/London"},
    "date": date(2026, 1, 1),
    "timestamp": pd.Timestamp("2026-01-01"),
    "text[]": ["E09000007"],
    "integer": 5,
    "double": 1.0,
    "boolean": True,
}


def sample_params(params: dict[str, str]) -> dict:
    values = {}
    for name, kind in params.items():
        sample = SAMPLE_VALUES[kind]
        values[name] = sample.get(name, "x") if isinstance(sample, dict) else sample
    return values


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_returns_the_columns_its_header_promises(name, demo_database):
    contract = load_query(name)
    assert contract.purpose and contract.returns, f"{name}.sql header is incomplete"
    assert not re.search(r"\{\{|\{[A-Za-z_]\w*\}", contract.sql), "queries take bound $parameters, never templates"
    for param in contract.params:
        assert f"${param}" in contract.sql, f"{name}.sql declares ${param} but never uses it"
    frame = demo_database.run(name, **sample_params(contract.params))
    assert list(frame.columns) == contract.returns


def test_every_parameter_used_is_declared():
    for name in QUERY_NAMES:
        contract = load_query(name)
        used = set(pd.Series(contract.sql).str.findall(r"\$([a-z_]+)").iloc[0])
        assert used <= set(contract.params), f"{name}.sql uses undeclared {used - set(contract.params)}"


def test_run_refuses_missing_or_unexpected_parameters(demo_database):
    with pytest.raises(QueryError, match="missing"):
        demo_database.run("metric_coverage", dataset="air_quality")
    with pytest.raises(QueryError, match="unexpected"):
        demo_database.run("boroughs", extra=1)
    with pytest.raises(QueryError, match="unknown query"):
        demo_database.run("../etc/passwd")


AIR_SITES = entities(("A1", "Camden Road", "Roadside", CAMDEN), ("A2", "Camden Park", "Urban Background", CAMDEN),
                     ("A3", "Bromley Town", "Suburban", BROMLEY))
AIR_READINGS = observations(
    ("A1", "2026-03-01 10:00", "no2", 40), ("A1", "2026-03-01 11:00", "no2", 60),
    ("A2", "2026-03-01 10:00", "no2", 20),
    ("A3", "2026-03-01 10:00", "no2", 10), ("A3", "2026-03-02 10:00", "no2", 30),
)
PARAMS = {"dataset": "air", "metric": "no2", "aggregation": "mean", "area_aggregation": "mean",
          "start": date(2026, 3, 1), "end": date(2026, 3, 2)}


def test_metric_by_borough_weights_every_reading_and_lists_every_borough(published):
    database = published("air", AIR_SITES, AIR_READINGS)
    frame = database.run("metric_by_borough", **PARAMS).set_index("borough_code")
    assert len(frame) == 33
    assert frame.loc["E09000007", "value"] == pytest.approx((40 + 60 + 20) / 3)
    assert frame.loc["E09000007", "entities"] == 2
    assert frame.loc["E09000007", "readings"] == 3
    assert frame.loc["E09000006", "value"] == pytest.approx(20)
    assert pd.isna(frame.loc["E09000033", "value"]) and frame.loc["E09000033", "entities"] == 0


def test_metric_by_borough_respects_the_period(published):
    database = published("air", AIR_SITES, AIR_READINGS)
    frame = database.run("metric_by_borough", **{**PARAMS, "end": date(2026, 3, 1)}).set_index("borough_code")
    assert frame.loc["E09000006", "value"] == pytest.approx(10)


def test_metric_summary_compares_the_selection_with_the_city(published):
    database = published("air", AIR_SITES, AIR_READINGS)
    frame = database.run("metric_summary", **PARAMS, boroughs=["E09000006"]).set_index("scope")
    assert frame.loc["selected", "value"] == pytest.approx(20)
    assert frame.loc["city", "value"] == pytest.approx((40 + 60 + 20 + 10 + 30) / 5)
    assert frame.loc["city", "entities"] == 3
    everything = database.run("metric_summary", **PARAMS, boroughs=[]).set_index("scope")
    assert everything.loc["selected", "value"] == pytest.approx(everything.loc["city", "value"])


def test_metric_daily_gives_one_row_per_scope_and_day(published):
    database = published("air", AIR_SITES, AIR_READINGS)
    frame = database.run("metric_daily", **PARAMS, boroughs=["E09000007"])
    selected = frame[frame["scope"] == "selected"].set_index("day")["value"]
    assert list(selected.index.date) == [date(2026, 3, 1)]
    assert selected.iloc[0] == pytest.approx(40)
    city = frame[frame["scope"] == "city"].set_index("day")["value"]
    assert city.iloc[0] == pytest.approx((40 + 60 + 20 + 10) / 4)
    assert city.iloc[1] == pytest.approx(30)
    # Entities, not readings: A1 read twice on 1 March.
    entities_per_day = frame.set_index(["scope", "day"])["entities"]
    assert entities_per_day.tolist() == [3, 1, 2]


def test_sums_and_capacities_add_up_across_entities(published):
    docks = entities(("D1", "Dock one", "Dock", WESTMINSTER), ("D2", "Dock two", "Dock", WESTMINSTER))
    readings = observations(
        ("D1", "2026-03-01 08:00", "entries", 5), ("D1", "2026-03-01 09:00", "entries", 7),
        ("D2", "2026-03-02 08:00", "entries", 11),
        ("D1", "2026-03-01 00:00", "capacity", 20), ("D1", "2026-03-02 00:00", "capacity", 24),
        ("D2", "2026-03-01 00:00", "capacity", 30),
    )
    database = published("counts", docks, readings)
    params = {**PARAMS, "dataset": "counts"}
    entries = database.run("metric_by_borough", access="officer", **{
        **params, "metric": "entries", "aggregation": "sum", "area_aggregation": "sum"}).set_index("borough_code")
    assert entries.loc["E09000033", "value"] == 23
    capacity = database.run("metric_by_borough", **{**params, "metric": "capacity", "aggregation": "max",
                                                     "area_aggregation": "sum"}, access="officer")
    assert capacity.set_index("borough_code").loc["E09000033", "value"] == 24 + 30


def test_days_are_the_city_calendar_days_not_utc_days(published):
    # 23:30 UTC on 1 June is 00:30 on 2 June in London (BST).
    readings = observations(("A1", "2026-06-01 23:30", "no2", 50), ("A1", "2026-06-01 22:30", "no2", 10))
    database = published("air", AIR_SITES, readings)
    coverage = database.run("metric_daily", **{**PARAMS, "start": date(2026, 6, 1), "end": date(2026, 6, 2)},
                            boroughs=[])
    city = coverage[coverage["scope"] == "city"].set_index("day")["value"]
    assert [day.date() for day in city.index] == [date(2026, 6, 1), date(2026, 6, 2)]
    assert list(city) == [10, 50]


def test_officer_datasets_do_not_exist_for_a_public_session(published):
    docks = entities(("D1", "Dock one", "Dock", WESTMINSTER))
    readings = observations(("D1", "2026-03-01 08:00", "entries", 5))
    database = published("air", AIR_SITES, AIR_READINGS, others={"counts": (docks, readings)})
    params = {**PARAMS, "dataset": "counts", "metric": "entries", "aggregation": "sum", "area_aggregation": "sum"}
    public = database.run("metric_by_borough", **params)
    officer = database.run("metric_by_borough", access="officer", **params)
    assert public["value"].isna().all()
    assert officer.set_index("borough_code").loc["E09000033", "value"] == 5
    assert database.run("data_coverage")["datasets"].iloc[0] == 1
    assert database.run("data_coverage", access="officer")["datasets"].iloc[0] == 2


def test_hostile_parameter_values_are_data(published):
    database = published("air", AIR_SITES, AIR_READINGS)
    hostile = "no2' or 1=1; drop table boroughs; --"
    frame = database.run("metric_by_borough", **{**PARAMS, "metric": hostile})
    assert frame["value"].isna().all()
    assert len(database.run("boroughs")) == 33


def test_coverage_of_a_metric(published):
    database = published("air", AIR_SITES, AIR_READINGS)
    row = database.run("metric_coverage", dataset="air", metric="no2").iloc[0]
    assert (row["first_day"].date(), row["last_day"].date()) == (date(2026, 3, 1), date(2026, 3, 2))
    assert row["entities"] == 3 and row["readings"] == 5


def test_queries_of_one_dataset_started_together_on_a_fresh_database_all_answer(published):
    # Each dataset's own tables are made when a query first asks for them: several queries arriving
    # at once (a section's, ui.run_together) must find them made once, whole.
    database = published("air", AIR_SITES, AIR_READINGS)
    with ThreadPoolExecutor(max_workers=4) as pool:
        frames = list(pool.map(lambda _: database.run("metric_by_borough", **PARAMS), range(8)))
    for frame in frames:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert frames[0].set_index("borough_code").loc["E09000007", "entities"] == 2
