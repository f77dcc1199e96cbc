"""Transport page logic on literal rows: which data answers what, the per-station, per-dock and
per-count-point figures, per-borough roll-ups, the point maps (legend colours, JSON size) and
the overlays."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citydash import transport
from citydash.catalog import load_catalog
from citydash.geo import areas_geojson
from citydash.ingest.dft_traffic import DFT_METRICS
from citydash.ingest.tfl_bikepoint import BIKEPOINT_METRICS
from citydash.ingest.tfl_stations import STATION_METRICS
from citydash.maps import SEQUENTIAL, legend_html
from conftest import PACK, REPO, SHARED_LONDON

CATALOG = load_catalog(PACK)
VIEW = CATALOG.city.map_view
ENTITY_COLUMNS = ["entity_id", "name", "kind", "lat", "lon", "borough_code", "borough_name"]


def entity_metrics(*rows: tuple) -> pd.DataFrame:
    """transport_entity_metrics rows from (entity_id, name, kind, borough_code, metric, total, readings,
    peak, days); every entity sits at a made-up point."""
    names = {"E09000007": "Camden", "E09000033": "Westminster", "E09000006": "Bromley"}
    return pd.DataFrame([
        {"entity_id": entity_id, "name": name, "kind": kind, "lat": 51.5 + index / 100, "lon": -0.1,
         "borough_code": code, "borough_name": names[code], "metric": metric, "total": float(total),
         "readings": float(readings), "peak": float(peak), "days": days}
        for index, (entity_id, name, kind, code, metric, total, readings, peak, days) in enumerate(rows)])


# --------------------------------------------------------------------------------------------
# Which data answers what


def test_datasets_play_their_part_by_their_metrics_real_before_synthetic():
    sources = transport.transport_sources(CATALOG.datasets.values())
    assert [dataset.id for dataset in sources["stations"]] == ["tfl_station_counts", "stations"]
    assert [dataset.id for dataset in sources["docks"]] == ["tfl_bikepoint", "cycle_hire"]
    assert [dataset.id for dataset in sources["traffic"]] == ["dft_traffic", "road_traffic"]
    assert all(dataset.id != "air_quality" for members in sources.values() for dataset in members)


def test_the_source_shown_is_the_first_with_data_in_the_period():
    sources = transport.transport_sources(CATALOG.datasets.values())
    coverage = pd.DataFrame({"dataset": ["tfl_station_counts", "stations"], "days_in_period": [0, 90],
                             "first_day": pd.to_datetime(["2010-01-01", "2025-11-01"]),
                             "last_day": pd.to_datetime(["2016-01-01", "2026-10-31"])})
    assert transport.pick_source(sources["stations"], coverage).id == "stations"
    coverage.loc[0, "days_in_period"] = 7
    assert transport.pick_source(sources["stations"], coverage).id == "tfl_station_counts"
    assert transport.pick_source(sources["stations"], coverage.assign(days_in_period=0)) is None
    text = transport.coverage_text(CATALOG.datasets["tfl_station_counts"], coverage)
    assert text.endswith("covers 01 Jan 2010 to 01 Jan 2016")


@pytest.mark.parametrize(("span", "entity_days", "entity_years", "expected"), [
    (90, 27_000, 300, "day"),        # daily demo, a quarter
    (365, 98_550, 540, "month"),     # daily demo, a year
    (150, 45_000, 300, "week"),
    (1200, 360_000, 1_200, "year"),  # daily data over more than three years
    (6000, 12_763, 12_700, "year"),  # DfT: about one count day a year per count point
    (40, 7, 7, "year"),              # yearly station counts, whatever the period
])
def test_trend_step_follows_the_period_and_how_often_things_are_counted(span, entity_days, entity_years, expected):
    assert transport.trend_bucket(span, entity_days, entity_years) == expected


def test_traffic_draws_weeks_sooner_than_stations():
    assert transport.trend_bucket(60, 9_600, 160, daily_up_to=31) == "week"
    assert transport.trend_bucket(60, 9_600, 160) == "day"


# --------------------------------------------------------------------------------------------
# Stations


def test_scheme_is_read_from_the_dataset_metrics():
    assert transport.station_scheme(CATALOG.datasets["stations"]) == transport.DAILY_STATIONS
    yearly = transport.station_scheme(CATALOG.datasets["tfl_station_counts"])
    assert yearly.yearly and yearly.volume == ("annual_entries_exits",)
    assert [label for label, _, _ in yearly.bands] == ["Early morning", "Morning peak", "Midday", "Evening peak",
                                                       "Late evening"]
    assert set(yearly.metrics) <= set(STATION_METRICS)


def test_daily_stations_average_their_days_and_split_weekdays_from_weekends():
    metrics = entity_metrics(
        ("S1", "Camden Town", "Underground", "E09000007", "entries", 700, 7, 150, 7),
        ("S1", "Camden Town", "Underground", "E09000007", "exits", 700, 7, 150, 7),
        ("S2", "Bromley South", "National Rail", "E09000006", "entries", 70, 7, 10, 7),
        ("S2", "Bromley South", "National Rail", "E09000006", "exits", 70, 7, 10, 7),
    )
    daytypes = pd.DataFrame([
        # Camden: 5 weekdays of 120 + 120, a Saturday of 60 + 60, a Sunday of 40 + 40
        ("S1", "E09000007", "weekday", "entries", 600.0, 5), ("S1", "E09000007", "weekday", "exits", 600.0, 5),
        ("S1", "E09000007", "saturday", "entries", 60.0, 1), ("S1", "E09000007", "saturday", "exits", 60.0, 1),
        ("S1", "E09000007", "sunday", "entries", 40.0, 1), ("S1", "E09000007", "sunday", "exits", 40.0, 1),
        ("S2", "E09000006", "weekday", "entries", 70.0, 7), ("S2", "E09000006", "weekday", "exits", 70.0, 7),
    ], columns=["entity_id", "borough_code", "day_type", "metric", "total", "days"])
    stations = transport.station_table(metrics, daytypes, transport.DAILY_STATIONS).set_index("entity_id")
    assert stations.loc["S1", "per_day"] == pytest.approx(1400 / 7)
    assert stations.loc["S1", "weekday"] == pytest.approx(240)
    assert stations.loc["S1", "weekend"] == pytest.approx((120 + 80) / 2)
    assert stations.loc["S1", "mode"] == "Underground"
    assert math.isnan(stations.loc["S2", "weekend"]), "no weekend day counted: no weekend figure"
    assert list(stations.index) == ["S1", "S2"], "busiest first"


def test_daily_stations_from_day_types_and_entities_match_those_from_entity_metrics():
    daytypes = pd.DataFrame([
        ("S1", "E09000007", "weekday", "entries", 600.0, 5), ("S1", "E09000007", "weekday", "exits", 500.0, 5),
        ("S1", "E09000007", "saturday", "entries", 60.0, 1), ("S1", "E09000007", "sunday", "exits", 40.0, 1),
        ("S2", "E09000006", "weekday", "entries", 70.0, 7), ("S2", "E09000006", "weekday", "exits", 70.0, 7),
    ], columns=["entity_id", "borough_code", "day_type", "metric", "total", "days"])
    metrics = entity_metrics(
        ("S1", "Camden Town", "Underground", "E09000007", "entries", 660, 6, 150, 6),
        ("S1", "Camden Town", "Underground", "E09000007", "exits", 540, 6, 150, 6),
        ("S2", "Bromley South", "National Rail", "E09000006", "entries", 70, 7, 10, 7),
        ("S2", "Bromley South", "National Rail", "E09000006", "exits", 70, 7, 10, 7),
    )
    # S3 is a station with no counts in the period: it has no row either way.
    entities = pd.concat([metrics[ENTITY_COLUMNS].drop_duplicates("entity_id"), pd.DataFrame(
        [{"entity_id": "S3", "name": "Closed", "kind": "Underground", "lat": 51.6, "lon": -0.1,
          "borough_code": "E09000007", "borough_name": "Camden"}])])
    derived = transport.daily_station_metrics(entities, daytypes, transport.DAILY_STATIONS)
    from_day_types = transport.station_table(derived, daytypes, transport.DAILY_STATIONS)
    from_metrics = transport.station_table(metrics, daytypes, transport.DAILY_STATIONS)
    pd.testing.assert_frame_equal(from_day_types, from_metrics, check_like=True)
    assert from_day_types.set_index("entity_id").loc["S1", "per_day"] == pytest.approx(1200 / 6)


def test_yearly_stations_average_the_years_and_use_typical_days():
    metrics = entity_metrics(
        ("940GZZLUWLO", "Waterloo", "Underground", "E09000033", "annual_entries_exits", 2 * 36_525_000, 2, 0, 2),
        ("940GZZLUWLO", "Waterloo", "Underground", "E09000033", "weekday_entries", 2 * 100_000, 2, 0, 2),
        ("940GZZLUWLO", "Waterloo", "Underground", "E09000033", "weekday_exits", 2 * 110_000, 2, 0, 2),
        *[("940GZZLUWLO", "Waterloo", "Underground", "E09000033", metric, 2 * value, 2, 0, 2)
          for metric, value in (("saturday_entries", 50_000), ("saturday_exits", 50_000),
                                ("sunday_entries", 30_000), ("sunday_exits", 30_000))],
        ("CTK", "City Thameslink", "National Rail", "E09000033", "annual_entries_exits", 3_652_500, 1, 0, 1),
        ("940GZZLUCTN", "Camden Town", "Underground", "E09000007", "weekday_entries", 20_000, 1, 0, 1),
    )
    scheme = transport.station_scheme(CATALOG.datasets["tfl_station_counts"])
    stations = transport.station_table(metrics, None, scheme).set_index("entity_id")
    assert stations.loc["940GZZLUWLO", "per_day"] == pytest.approx(100_000)
    assert stations.loc["940GZZLUWLO", "weekday"] == pytest.approx(210_000)
    assert stations.loc["940GZZLUWLO", "weekend"] == pytest.approx(80_000)
    assert stations.loc["CTK", "per_day"] == pytest.approx(10_000)
    assert math.isnan(stations.loc["CTK", "weekday"])
    assert "940GZZLUCTN" not in stations.index, "a station without an annual count has no average day"


def test_borough_roll_up_busiest_per_borough_and_time_bands():
    rows = [("W1", "Waterloo", "Underground", "E09000033"), ("W2", "Victoria", "Underground", "E09000033"),
            ("W3", "Pimlico", "Underground", "E09000033"), ("W4", "Temple", "Underground", "E09000033"),
            ("C1", "Euston", "National Rail", "E09000007")]
    annual = {"W1": 365.25 * 300, "W2": 365.25 * 200, "W3": 365.25 * 50, "W4": 365.25 * 10, "C1": 365.25 * 100}
    metrics = entity_metrics(
        *[(entity, name, kind, code, "annual_entries_exits", annual[entity], 1, 0, 1)
          for entity, name, kind, code in rows],
        ("W1", "Waterloo", "Underground", "E09000033", "weekday_am_entries", 40, 1, 0, 1),
        ("W1", "Waterloo", "Underground", "E09000033", "weekday_am_exits", 90, 1, 0, 1),
        ("C1", "Euston", "National Rail", "E09000007", "weekday_am_entries", 2 * 30, 2, 0, 2),
        ("C1", "Euston", "National Rail", "E09000007", "weekday_am_exits", 2 * 5, 2, 0, 2),
    )
    scheme = transport.station_scheme(CATALOG.datasets["tfl_station_counts"])
    stations = transport.station_table(metrics, None, scheme)
    boroughs = transport.station_boroughs(stations).set_index("borough_code")
    assert boroughs.loc["E09000033", "stations"] == 4
    assert boroughs.loc["E09000033", "per_day"] == pytest.approx(560)
    assert math.isnan(boroughs.loc["E09000033", "weekday"]), "no weekday counts: missing, not zero"
    busiest = transport.busiest_per_borough(stations)
    assert list(busiest[busiest["borough_name"] == "Westminster"]["name"]) == ["Waterloo", "Victoria", "Pimlico"]
    assert list(busiest[busiest["borough_name"] == "Westminster"]["rank"]) == [1, 2, 3]
    bands = transport.station_bands(metrics, scheme, ()).set_index("band")
    assert bands.loc["Morning peak", "entries"] == pytest.approx(40 + 30)
    assert bands.loc["Morning peak", "exits"] == pytest.approx(90 + 5)
    assert bands.loc["Morning peak", "stations"] == 2
    only_camden = transport.station_bands(metrics, scheme, ("E09000007",)).set_index("band")
    assert only_camden.loc["Morning peak", "entries"] == pytest.approx(30)
    assert transport.station_bands(metrics, transport.DAILY_STATIONS, ()).empty


def test_station_trend_is_per_average_day_with_the_stations_counted():
    trend = pd.DataFrame([
        (pd.Timestamp("2026-01-05"), "entries", 700.0, 7, 2, 7),
        (pd.Timestamp("2026-01-05"), "exits", 700.0, 7, 2, 7),
        (pd.Timestamp("2026-01-12"), "entries", 300.0, 3, 1, 3),
        (pd.Timestamp("2026-01-12"), "exits", 300.0, 3, 1, 3),
        (pd.Timestamp("2026-01-05"), "hires", 9_999.0, 7, 9, 7),
    ], columns=["bucket", "metric", "total", "readings", "entities", "days"])
    daily = transport.station_trend(trend, transport.DAILY_STATIONS)
    assert list(daily["per_day"]) == pytest.approx([200, 200])
    assert list(daily["stations"]) == [2, 1]
    assert transport.counted_changes(daily["stations"])
    assert not transport.counted_changes(pd.Series([100, 105, 108]))
    yearly_rows = pd.DataFrame(
        [(pd.Timestamp("2015-01-01"), "annual_entries_exits", 365.25 * 1000, 3, 3, 1)],
        columns=trend.columns)
    yearly = transport.station_trend(yearly_rows, transport.station_scheme(CATALOG.datasets["tfl_station_counts"]))
    assert yearly["per_day"].iloc[0] == pytest.approx(1000)


# --------------------------------------------------------------------------------------------
# Cycle hire


def test_docks_have_capacity_hires_a_day_and_occupancy():
    metrics = entity_metrics(
        ("D1", "Soho Square", "Docking station", "E09000033", "dock_capacity", 30 * 10, 10, 30, 10),
        ("D1", "Soho Square", "Docking station", "E09000033", "hires", 250, 240, 9, 10),
        ("D2", "Camden Lock", "Docking station", "E09000007", "dock_capacity", 20, 1, 20, 1),
    )
    docks = transport.dock_table(metrics, transport.dock_scheme(CATALOG.datasets["cycle_hire"])).set_index("entity_id")
    assert docks.loc["D1", "capacity"] == 30 and docks.loc["D1", "hires_per_day"] == pytest.approx(25)
    assert math.isnan(docks.loc["D2", "hires"]), "a dock with no hire readings has no hire figure, not zero"
    snapshot = entity_metrics(
        ("BikePoints_1", "River Street", "Docking station", "E09000007", "dock_capacity", 20, 1, 20, 1),
        ("BikePoints_1", "River Street", "Docking station", "E09000007", "bikes_available", 5, 1, 5, 1),
        ("BikePoints_2", "Phillimore Gardens", "Docking station", "E09000007", "dock_capacity", 0, 1, 0, 1),
        ("BikePoints_2", "Phillimore Gardens", "Docking station", "E09000007", "bikes_available", 0, 1, 0, 1),
    )
    scheme = transport.dock_scheme(CATALOG.datasets["tfl_bikepoint"])
    assert scheme.hires is None and scheme.bikes == "bikes_available"
    real = transport.dock_table(snapshot, scheme).set_index("entity_id")
    assert real.loc["BikePoints_1", "occupancy"] == pytest.approx(0.25)
    assert math.isnan(real.loc["BikePoints_2", "occupancy"]), "no docking points: occupancy is undefined"
    boroughs = transport.dock_boroughs(real.reset_index()).set_index("borough_code")
    assert boroughs.loc["E09000007", "docking_points"] == 20 and boroughs.loc["E09000007", "occupancy"] == 0.25
    assert math.isnan(boroughs.loc["E09000007", "hires_per_day"]), "no hire readings: missing, not zero"


def test_hour_week_matrix_averages_over_the_days_of_each_kind():
    rows = pd.DataFrame({"day_of_week": [1, 1, 7], "hour": [8, 9, 14], "total": [120.0, 30.0, 50.0],
                         "readings": [40, 40, 20], "days": [4, 4, 2]})
    matrix = transport.hour_week_matrix(rows)
    assert matrix.shape == (7, 24) and list(matrix.index)[0] == "Monday"
    assert matrix.loc["Monday", 8] == pytest.approx(30) and matrix.loc["Sunday", 14] == pytest.approx(25)
    assert math.isnan(matrix.loc["Tuesday", 8])
    table = transport.hour_week_table(matrix)
    assert len(table) == 168 and table[(table["day"] == "Monday") & (table["hour"] == "08:00")]["average"].iloc[0] == 30
    assert "Monday 08:00" in transport.heatmap_sentence(matrix, "hires")


def test_two_to_six_boroughs_are_shown_side_by_side():
    assert [transport.side_by_side(tuple(f"E0900000{index}" for index in range(count))) for count in range(9)] == [
        False, False, True, True, True, True, True, False, False]


def test_hours_per_borough_average_each_boroughs_own_days_and_share_one_colour_scale():
    rows = pd.DataFrame({"borough_code": ["E09000007", "E09000007", "E09000033"],
                         "borough_name": ["Camden", "Camden", "Westminster"], "day_of_week": [1, 7, 1],
                         "hour": [8, 14, 8], "total": [120.0, 50.0, 900.0], "readings": [40, 20, 30],
                         "days": [4, 2, 3]})
    by_borough = transport.hour_week_by_borough(rows)
    assert len(by_borough) == 2 * 168
    monday = by_borough[(by_borough["day"] == "Monday") & (by_borough["hour"] == "08:00")].set_index("borough_name")
    assert monday.loc["Camden", "average"] == 30 and monday.loc["Westminster", "average"] == 300
    figure = transport.heatmap_panels(by_borough, ["Westminster", "Camden", "Bromley"], "Hires", "hires")
    assert [trace.name for trace in figure.data] == ["Westminster", "Camden", "Bromley"]
    assert {trace.coloraxis for trace in figure.data} == {"coloraxis"}
    assert (figure.layout.coloraxis.cmin, figure.layout.coloraxis.cmax) == (0, 300)
    assert [annotation.text for annotation in figure.layout.annotations] == ["Westminster", "Camden",
                                                                            "Bromley (no data)"]
    sentence = transport.panels_heatmap_sentence(by_borough, ["Camden", "Westminster", "Bromley"], "hires")
    assert "Camden Monday 08:00 (30.0)" in sentence and "Westminster Monday 08:00 (300.0)" in sentence
    assert "Bromley has none" in sentence


def test_vehicles_per_borough_are_per_count_in_panels_on_one_scale():
    types = transport.vehicle_types(CATALOG.datasets["road_traffic"])
    year = pd.Timestamp("2015-01-01")
    rows = pd.DataFrame([
        ("E09000007", "Camden", year, "cars", 5000.0, 5, 2, 5),
        ("E09000007", "Camden", year, "pedal_cycles", 500.0, 5, 2, 5),
        ("E09000033", "Westminster", year, "cars", 900.0, 3, 1, 3),
    ], columns=["borough_code", "borough_name", "bucket", "metric", "total", "readings", "entities", "days"])
    trend = transport.traffic_trend_by_borough(rows, types)
    table = transport.traffic_borough_table(trend, types).set_index("borough_name")
    assert table.loc["Camden", "cars"] == 1000 and table.loc["Camden", "pedal_cycles"] == 100
    assert table.loc["Camden", "count_points"] == 2 and table.loc["Westminster", "cars"] == 300
    assert math.isnan(table.loc["Westminster", "pedal_cycles"])
    figure = transport.stacked_types_panels(trend, types, ["Camden", "Westminster"], "Vehicles", "per count", "year")
    assert len(figure.data) == 2 * len(types)
    assert sum(bool(trace.showlegend) for trace in figure.data) == len(types), "each type named once"
    assert figure.layout.yaxis.matches == "y2", "both panels on the same vehicle scale"
    assert "Camden 1,000 in the period starting 01 Jan 2015" in transport.panels_traffic_sentence(
        table.reset_index(), types, ["Camden", "Westminster"])


# --------------------------------------------------------------------------------------------
# Road traffic


def test_traffic_per_count_point_and_borough_with_the_cycle_share():
    types = transport.vehicle_types(CATALOG.datasets["dft_traffic"])
    assert [metric for metric, _ in types] == ["cars", "lgvs", "hgvs", "buses", "motorcycles", "pedal_cycles"]
    assert {metric for metric, _ in types} == set(DFT_METRICS.values())
    metrics = entity_metrics(
        ("1", "A1 (count point 1)", "Principal A road, urban", "E09000007", "cars", 2 * 900, 2, 1000, 2),
        ("1", "A1 (count point 1)", "Principal A road, urban", "E09000007", "pedal_cycles", 2 * 100, 2, 120, 2),
        ("1", "A1 (count point 1)", "Principal A road, urban", "E09000007", "buses", 2 * 50, 2, 60, 2),
        ("2", "B2 (count point 2)", "B road, urban", "E09000007", "cars", 100, 1, 100, 1),
        ("2", "B2 (count point 2)", "B road, urban", "E09000007", "pedal_cycles", 300, 1, 300, 1),
        ("3", "Quiet Lane (count point 3)", "Unclassified road, urban", "E09000006", "cars", 0, 1, 0, 1),
        ("3", "Quiet Lane (count point 3)", "Unclassified road, urban", "E09000006", "pedal_cycles", 0, 1, 0, 1),
    )
    points = transport.traffic_table(metrics, types).set_index("entity_id")
    assert points.loc["1", "motor_vehicles"] == pytest.approx(950)
    assert points.loc["1", "cycle_share"] == pytest.approx(0.1)
    assert points.loc["2", "cycle_share"] == pytest.approx(0.75)
    assert math.isnan(points.loc["3", "cycle_share"]), "nothing counted: no share rather than 0%"
    boroughs = transport.traffic_boroughs(metrics, types).set_index("borough_code")
    # Three counts in Camden: cars (900 + 900 + 100) / 3; cycles over cars and cycles counted.
    assert boroughs.loc["E09000007", "cars"] == pytest.approx(1900 / 3)
    assert boroughs.loc["E09000007", "cycle_share"] == pytest.approx(500 / 2400)
    assert boroughs.loc["E09000007", "count_points"] == 2


def test_traffic_trend_keeps_the_vehicle_order_and_averages_per_count():
    types = transport.vehicle_types(CATALOG.datasets["road_traffic"])
    trend = pd.DataFrame([
        (pd.Timestamp("2015-01-01"), "pedal_cycles", 50.0, 5, 5, 5),
        (pd.Timestamp("2015-01-01"), "cars", 5000.0, 5, 5, 5),
        (pd.Timestamp("2015-01-01"), "buses_and_coaches_not_a_type", 1.0, 1, 1, 1),
    ], columns=["bucket", "metric", "total", "readings", "entities", "days"])
    rows = transport.traffic_trend(trend, types)
    assert list(rows["metric"]) == ["cars", "pedal_cycles"]
    assert list(rows["per_count"]) == [1000, 10]


def test_borough_summary_lists_every_borough_with_what_it_has():
    areas = pd.DataFrame({"borough_code": ["E09000006", "E09000007"], "borough_name": ["Bromley", "Camden"]})
    stations = pd.DataFrame({"borough_code": ["E09000007"], "stations": [3], "per_day": [900.0]})
    docks = pd.DataFrame({"borough_code": ["E09000007"], "docks": [2], "docking_points": [40.0],
                          "hires_per_day": [12.0], "occupancy": [np.nan]})
    summary = transport.borough_summary(areas, stations, docks, None).set_index("borough_code")
    assert summary.loc["E09000007", "station_entries_exits_per_day"] == 900
    assert math.isnan(summary.loc["E09000006", "docks"])
    assert "count_points" not in summary.columns


def test_the_summary_shows_only_the_columns_of_the_sources_it_has_with_shares_as_percentages():
    areas = pd.DataFrame({"borough_code": ["E09000006", "E09000007"], "borough_name": ["Bromley", "Camden"]})
    docks = pd.DataFrame({"borough_code": ["E09000007"], "docks": [2], "docking_points": [40.0],
                          "hires_per_day": [12.0], "occupancy": [0.25]})
    traffic = pd.DataFrame({"borough_code": ["E09000006"], "count_points": [4], "motor_vehicles": [800.0],
                            "cycle_share": [0.125]})
    summary = transport.borough_summary(areas, None, docks, traffic)
    shown, columns = transport.summary_table(summary, ("Borough", None))
    # No station source with data: no station columns, the others in the page's order.
    assert list(columns) == ["borough_name", "docks", "docking_points", "cycle_hires_per_day",
                             "dock_occupancy_percent", "count_points", "motor_vehicles_per_count", "cycle_percent"]
    assert columns["borough_name"] == ("Borough", None)
    assert set(columns) <= set(shown.columns)
    camden = shown.set_index("borough_name").loc["Camden"]
    assert camden["dock_occupancy_percent"] == 25 and math.isnan(camden["cycle_percent"])
    assert shown.set_index("borough_name").loc["Bromley", "cycle_percent"] == 12.5
    only_areas, columns = transport.summary_table(transport.borough_summary(areas, None, None, None), ("Ward", None))
    assert columns == {"borough_name": ("Ward", None)} and len(only_areas) == 2


def test_sections_are_named_once_and_the_summary_after_the_citys_areas():
    assert transport.SECTION_LABELS == ("Stations", "Cycle hire", "Road traffic", "By borough")
    assert transport.section_labels("ward") == ["Stations", "Cycle hire", "Road traffic", "By ward"]


# --------------------------------------------------------------------------------------------
# Maps


def test_circle_areas_are_proportional_to_values():
    radii = transport.radius_pixels(pd.Series([0.0, 25.0, 100.0, np.nan]), smallest=0.0, largest=10.0)
    assert list(radii) == [0.0, 5.0, 10.0, 0.0]
    assert list(transport.radius_pixels(pd.Series([0.0, 0.0]), 2, 9)) == [2, 2]
    crowded = transport.radius_pixels(pd.Series(np.arange(20_000, dtype="float64")), 1, 14)
    assert crowded.max() == pytest.approx(14 * math.sqrt(2_000 / 20_000), abs=0.05), "crowds shrink"


def test_point_colours_match_their_legend_bins():
    values = pd.Series([0.0, 9.9, 10.0, 55.0, 100.0, np.nan])
    bins = transport.robust_bins(values)
    colours = transport.bin_colours(values, bins)
    for value, colour in zip(values, colours):
        if np.isnan(value):
            assert tuple(colour) == (170, 170, 170)
            continue
        legend_bin = next(colour_bin for colour_bin in bins if colour_bin.low <= value <= colour_bin.high)
        assert tuple(colour) == legend_bin.colour
    legend = legend_html("x", bins, "%", has_missing=True)
    assert all("rgb({},{},{})".format(*colour_bin.colour) in legend for colour_bin in bins)


def test_one_outlier_does_not_flatten_the_colours():
    shares = pd.Series([1.0 + index % 30 for index in range(200)] + [100.0])
    bins = transport.robust_bins(shares)
    assert bins[-1].high == 100.0, "the legend's last range reaches the largest value"
    assert bins[0].high < 8, "the first bins are spread over the bulk of the values"
    distinct = {tuple(colour) for colour in transport.bin_colours(shares, bins)}
    assert len(distinct) == len(bins) == len(SEQUENTIAL) - 1
    even = pd.Series([1.0, 2.0, 3.0, 4.0])
    assert transport.robust_bins(even)[-1].high == 4.0


def test_mode_colours_are_fixed_okabe_ito_and_the_legend_shows_them():
    colours = transport.mode_colours(["Tram", "Underground", "Cable car", "Underground"])
    assert colours["Underground"] == transport.hex_to_rgb("#0072B2")
    assert colours["Tram"] == transport.hex_to_rgb("#56B4E9")
    assert colours["Cable car"] not in (colours["Underground"], colours["Tram"])
    per_point = transport.category_colours(pd.Series(["Tram", "Underground", "Gondola"]), colours)
    assert [tuple(row) for row in per_point] == [colours["Tram"], colours["Underground"], (170, 170, 170)]
    legend = transport.category_legend_html("Mode <b>", [("Tram", colours["Tram"], 1)], "stations")
    assert "rgb(86,180,233)" in legend and "Tram (1 station)" in legend and "<b>" not in legend


def test_view_frames_the_points_or_keeps_the_city_view():
    central = transport.fit_view(pd.Series([51.49, 51.53]), pd.Series([-0.2, -0.05]), VIEW)
    assert central["zoom"] > VIEW["zoom"] + 1
    assert 51.49 < central["latitude"] < 51.53 and -0.2 < central["longitude"] < -0.05
    citywide = transport.fit_view(pd.Series([51.29, 51.69]), pd.Series([-0.5, 0.33]), VIEW)
    assert citywide == VIEW
    assert transport.fit_view(pd.Series([], dtype="float64"), pd.Series([], dtype="float64"), VIEW) == VIEW
    one_point = transport.fit_view(pd.Series([51.5]), pd.Series([-0.1]), VIEW)
    assert one_point["zoom"] == 13.0


def _random_points(count: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "entity_id": [f"P{index}" for index in range(count)],
        "name": [f"Count point number {index} on a long road name" for index in range(count)],
        "lat": rng.uniform(51.3, 51.7, count), "lon": rng.uniform(-0.5, 0.3, count),
        "borough_code": rng.choice(["E09000007", "E09000033", "E09000006"], count),
        "value": rng.lognormal(5, 1, count),
    })


def unasked(table: pd.DataFrame) -> pd.Series:
    raise AssertionError("labels are made only when they are sent")


def name_of(table: pd.DataFrame) -> pd.Series:
    return table["name"]


def test_20000_points_build_a_lean_deck_under_2_mb(record_property):
    points = _random_points(20_000)
    started = time.perf_counter()
    bins = transport.robust_bins(points["value"])
    frame = transport.point_frame(points, points["value"], transport.radius_pixels(points["value"]),
                                  transport.bin_colours(points["value"], bins), ("E09000007",),
                                  labels=unasked)
    deck = transport.map_deck([transport.scatter_layer(frame, "points", VIEW)], VIEW, "{value} vehicles")
    text = deck.to_json()
    seconds = time.perf_counter() - started
    size = len(text.encode("utf-8"))
    record_property("deck_json_bytes_20000_points", size)
    print(f"\n20,000 points: deck JSON {size / 1e6:.2f} MB, built in {seconds:.2f} s")
    assert size < 2_000_000
    layer = json.loads(text)["layers"][0]
    assert layer["@@type"] == "ScatterplotLayer" and len(layer["data"]) == 20_000
    assert "label" not in frame.columns, "above LABEL_LIMIT the tooltip carries numbers only"
    assert all(isinstance(value, (int, float)) for value in layer["data"][0].values())
    assert set(layer["data"][0]) == {"lon", "lat", "value", "radius", "r", "g", "b", "a"}
    assert layer["radiusMinPixels"] > 0 and layer["radiusMaxPixels"] >= layer["radiusMinPixels"]
    assert seconds < 5


def test_small_layers_carry_text_labels_and_fade_points_outside_the_selection():
    points = _random_points(50)
    points.loc[0, "name"] = "<script>alert(1)</script>"
    frame = transport.point_frame(points, points["value"], transport.radius_pixels(points["value"]),
                                  np.zeros((50, 3), dtype="int64"), ("E09000007",), labels=name_of)
    assert "label" in frame.columns and len(frame) == 50
    selected = points["borough_code"].eq("E09000007").sum()
    assert (frame["a"] == transport.SELECTED_ALPHA).sum() == selected
    assert (frame["a"].iloc[-selected:] == transport.SELECTED_ALPHA).all(), "selected points are drawn on top"
    deck = transport.map_deck([transport.scatter_layer(frame, "points", VIEW)], VIEW)
    assert deck._tooltip == {"text": "{label}"}, "text tooltips: data never becomes markup"
    assert deck.map_provider is None


def test_point_deck_stacks_the_chosen_overlays_under_the_points_and_frames_the_selection():
    points = _random_points(50)
    frame = transport.point_frame(points, points["value"], transport.radius_pixels(points["value"]),
                                  np.zeros((50, 3), dtype="int64"), (), labels=name_of)
    tube = transport.load_overlays(CATALOG)["tube_lines"]
    context = transport.MapContext(view=VIEW, outlines=areas_geojson(CATALOG.city.boundaries),
                                   lines=transport.read_geojson(tube.path), caption=transport.overlay_caption(tube))
    chosen = pd.DataFrame({"lat": [51.52, 51.53], "lon": [-0.13, -0.12]})
    spec = json.loads(transport.point_deck(frame, chosen, "docks", "docks", context).to_json())
    assert [layer["id"] for layer in spec["layers"]] == ["borough_outlines", "network_lines", "docks"]
    assert spec["initialViewState"]["zoom"] > VIEW["zoom"] + 2, "zoomed to the two chosen points"
    assert tube.attribution in context.caption and "Grey lines" in context.caption
    bare = json.loads(transport.point_deck(frame, chosen.iloc[0:0], "docks", "docks",
                                           transport.MapContext(view=VIEW)).to_json())
    assert [layer["id"] for layer in bare["layers"]] == ["docks"]


def test_coverage_helpers_read_one_dataset_row():
    coverage = pd.DataFrame({"dataset": ["stations"], "days_in_period": [3]})
    assert transport.has_period_data(coverage, "stations") and not transport.has_period_data(coverage, "docks")
    counts = pd.DataFrame({"dataset": ["stations"], "entity_days": [30], "entity_years": [10]})
    assert transport.sampling(counts, "stations") == (30, 10) and transport.sampling(counts, "docks") == (0, 0)


# --------------------------------------------------------------------------------------------
# Overlays and the catalogue


def test_tube_lines_overlay_is_listed_with_its_odbl_attribution_and_file():
    overlays = transport.load_overlays(CATALOG)
    tube = overlays["tube_lines"]
    assert tube.licence == "odbl" and "Open Database License" in tube.licence_title
    assert "OpenStreetMap contributors" in tube.attribution
    geojson = transport.read_geojson(tube.path)
    assert geojson["attribution"] == tube.attribution
    names = {feature["properties"]["name"] for feature in geojson["features"]}
    assert {"Victoria", "Central", "Northern", "DLR", "Waterloo & City"} <= names
    assert all(feature["geometry"]["type"] == "MultiLineString" for feature in geojson["features"])
    layer = json.loads(transport.map_deck([transport.lines_layer(geojson, "tube_lines")], VIEW).to_json())["layers"][0]
    assert len(layer["data"]["features"]) == len(names)


def test_an_overlay_without_a_known_licence_is_not_drawn(tmp_path):
    (tmp_path / "catalog.toml").write_text((PACK / "catalog.toml").read_text().replace(
        'boundaries = "boundaries/', f'boundaries = "{PACK}/boundaries/'), encoding="utf-8")
    (tmp_path / "catalog.d").mkdir()
    (tmp_path / "lines.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    (tmp_path / "catalog.d" / "lines.toml").write_text(
        '[overlays.good]\npath = "lines.geojson"\ntitle = "Lines"\nlicence = "odbl"\nattribution = "© someone."\n'
        '[overlays.unlicensed]\npath = "lines.geojson"\nlicence = "nope"\nattribution = "x"\n'
        '[overlays.missing]\npath = "absent.geojson"\nlicence = "odbl"\nattribution = "x"\n', encoding="utf-8")
    assert list(transport.load_overlays(load_catalog(tmp_path))) == ["good"]


def test_build_tube_lines_decodes_topojson_arcs(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("build_tube_lines", REPO / "tools" / "build_tube_lines.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    topology = {
        "type": "Topology", "transform": {"scale": [0.001, 0.001], "translate": [-0.2, 51.5]},
        "arcs": [[[0, 0], [100, 0], [0, 50]], [[100, 50], [50, 0]]],
        "objects": {"line": {"type": "GeometryCollection", "geometries": [
            {"type": "LineString", "arcs": [0, 1], "id": "Central"},
            {"type": "LineString", "arcs": [~1], "id": "DLR"}]}},
    }
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "londonTubeLines.json").write_text(json.dumps(topology))
    built = tool.build(tmp_path)
    central = next(feature for feature in built["features"] if feature["properties"]["name"] == "Central")
    assert central["geometry"]["coordinates"] == [[[-0.2, 51.5], [-0.1, 51.5], [-0.1, 51.55], [-0.05, 51.55]]]
    dlr = next(feature for feature in built["features"] if feature["properties"]["name"] == "DLR")
    assert dlr["geometry"]["coordinates"] == [[[-0.05, 51.55], [-0.1, 51.55]]]
    assert dlr["properties"]["kind"] == "Light railway"
    assert "ODbL" in built["attribution"]


def _sources_attribution(kind: str) -> str:
    text = (SHARED_LONDON / "SOURCES.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith(f"- {kind}:"))
    return line.split(":", 1)[1].strip().strip('"')


def test_real_transport_datasets_are_catalogued_with_every_connector_metric():
    stations = CATALOG.datasets["tfl_station_counts"]
    for metric_id, spec in STATION_METRICS.items():
        metric = stations.metric(metric_id)
        assert (metric.label, metric.unit) == (spec["label"], spec["unit"])
        assert metric.aggregation == ("sum" if spec["period"] == "annual" else "mean")
        assert metric.area_aggregation == "sum"
    assert {metric.id for metric in stations.metrics} == set(STATION_METRICS)
    bikepoint = CATALOG.datasets["tfl_bikepoint"]
    assert {metric.id for metric in bikepoint.metrics} == set(BIKEPOINT_METRICS)
    assert bikepoint.metric("dock_capacity").unit == "docks" and bikepoint.metric("bikes_available").unit == "bikes"
    traffic = CATALOG.datasets["dft_traffic"]
    assert {metric.id for metric in traffic.metrics} == set(DFT_METRICS.values())
    assert {metric.unit for metric in traffic.metrics} == {"vehicles", "cycles"}
    assert all(metric.aggregation == "mean" for metric in traffic.metrics), "sampled once a year: never summed"
    assert (stations.licence.id, bikepoint.licence.id, traffic.licence.id) == ("tfl", "tfl", "ogl3")
    assert not any(dataset.synthetic for dataset in (stations, bikepoint, traffic))


def test_real_transport_attributions_are_the_publishers_exact_words():
    if not SHARED_LONDON.is_dir():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    tfl, ogl = _sources_attribution("TfL"), _sources_attribution("OGL")
    assert CATALOG.datasets["tfl_bikepoint"].attribution == tfl
    assert CATALOG.datasets["dft_traffic"].attribution == ogl
    # Station counts are TfL's and, for National Rail, ORR's (OGL): both notices, word for word.
    assert CATALOG.datasets["tfl_station_counts"].attribution == f"{tfl} {ogl}"


def test_valid_ranges_hold_the_real_samples_largest_values():
    """Largest values in the real samples (Waterloo's 100,362,256 a year; a 64-point dock; 14,987 cars
    in an hour on the M25) must pass the catalogue's ranges, or publishing would reject them."""
    stations = CATALOG.datasets["tfl_station_counts"]
    assert stations.metric("annual_entries_exits").valid_range[1] > 100_362_256
    assert stations.metric("weekday_exits").valid_range[1] > 170_206
    assert CATALOG.datasets["tfl_bikepoint"].metric("dock_capacity").valid_range[1] >= 64
    assert CATALOG.datasets["dft_traffic"].metric("cars").valid_range[1] > 14_987
    assert Path(CATALOG.pack_dir / "overlays" / "london_tube_lines.geojson").is_file()


# --------------------------------------------------------------------------------------------
# The page's controls in the link


def test_on_off_controls_round_trip_and_anything_else_is_the_default_with_a_notice():
    for value in (True, False):
        assert transport.flag_from_param(transport.flag_to_param(value), not value, "x") == (value, ())
    assert transport.flag_from_param(None, True, "outlines") == (True, ())
    assert transport.flag_from_param("  ", False, "outlines") == (False, ())
    assert transport.flag_from_param("ON", False, "outlines") == (True, ())
    value, notices = transport.flag_from_param("<img src=x onerror=alert(1)>", True, "borough outlines")
    assert value is True and notices == ("Ignored the link's setting for borough outlines: it must be on or off.",)


def test_choices_come_back_from_the_link_only_when_offered():
    options = ["stations", "tfl_station_counts"]
    assert transport.choice_from_param("tfl_station_counts", options, "stations", "station data") == (
        "tfl_station_counts", ())
    assert transport.choice_from_param(None, options, "stations", "station data") == ("stations", ())
    value, notices = transport.choice_from_param("x" * 10_000, options, "stations", "station data")
    assert value == "stations" and len(notices) == 1 and "xxxx" not in notices[0]
