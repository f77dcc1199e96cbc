"""The borough profile's arithmetic and words on literal rows; its queries on a tiny published pack;
the profile page under AppTest (shared links, hostile links, the brief download)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from citydash import boroughs
from citydash.catalog import Metric
from citydash.data import Database
from conftest import BROMLEY, CAMDEN, REPO, entities, observations, section_opener

NO2 = Metric(id="no2", dataset="air", label="Nitrogen dioxide (NO₂)", unit="µg/m³", aggregation="mean",
             better="lower")
ENTRIES = Metric(id="entries", dataset="counts", label="Entries", unit="people", aggregation="sum",
                 area_aggregation="sum", better="higher")
CAPACITY = Metric(id="capacity", dataset="counts", label="Capacity", unit="docks", aggregation="max",
                  area_aggregation="sum", better="higher")
PEAK = Metric(id="peak", dataset="air", label="Peak", unit="µg/m³", aggregation="max", better="lower")
FOOTFALL = Metric(id="footfall", dataset="sensors", label="Footfall", unit="people", aggregation="sum",
                  area_aggregation="sum", better="higher", disclosure=10)
METRICS = {"air.no2": NO2, "counts.entries": ENTRIES, "counts.capacity": CAPACITY}

AREAS = pd.DataFrame({
    "borough_code": ["A", "B", "C", "D", "E"],
    "borough_name": ["Avon", "Brent", "Calder", "Dart", "Eden"],
    "borough_group": ["inner", "inner", "outer", "outer", "outer"],
    "area_ha": [1000.0, 1500.0, 5000.0, 6000.0, 5500.0],
})


def metric_rows(*rows: tuple) -> pd.DataFrame:
    """queries/borough_metrics.sql rows from (dataset, metric, borough, period, mean, total, peak_sum,
    peak_max, readings, days) tuples."""
    columns = ["dataset", "metric", "borough_code", "period", "mean_value", "total", "peak_sum", "peak_max",
               "readings", "days"]
    return pd.DataFrame([dict(zip(columns, row)) for row in rows])


# NO2: A 40 (was 50), B 30 (was 30), C 20, D 60 (no previous), E none.
NO2_ROWS = [
    ("air", "no2", "A", "current", 40.0, 4000.0, 90.0, 50.0, 2, 28),
    ("air", "no2", "A", "previous", 50.0, 5000.0, 95.0, 60.0, 2, 28),
    ("air", "no2", "B", "current", 30.0, 3000.0, 70.0, 40.0, 2, 28),
    ("air", "no2", "B", "previous", 30.0, 3000.0, 70.0, 40.0, 2, 28),
    ("air", "no2", "C", "current", 20.0, 2000.0, 25.0, 25.0, 1, 28),
    ("air", "no2", "C", "previous", 25.0, 2500.0, 30.0, 30.0, 1, 10),
    ("air", "no2", "D", "current", 60.0, 6000.0, 80.0, 80.0, 1, 28),
]
COUNT_ROWS = [
    ("counts", "entries", "A", "current", 5.0, 500.0, 9.0, 9.0, 1, 28),
    ("counts", "entries", "A", "previous", 5.0, 400.0, 9.0, 9.0, 1, 28),
    ("counts", "capacity", "A", "current", 20.0, 560.0, 45.0, 25.0, 2, 28),
    ("counts", "entries", "B", "current", 5.0, 700.0, 9.0, 9.0, 1, 28),
]


@pytest.fixture
def values() -> pd.DataFrame:
    return boroughs.borough_values(metric_rows(*NO2_ROWS, *COUNT_ROWS), METRICS, AREAS)


# ---------------------------------------------------------------------------------
# Periods and words


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    assert boroughs.previous_period(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 1, 29), date(2026, 2, 28))
    assert boroughs.previous_period(date(2026, 3, 5), date(2026, 3, 5)) == (date(2026, 3, 4), date(2026, 3, 4))


@pytest.mark.parametrize("start, end, text, phrase", [
    (date(2026, 3, 1), date(2026, 3, 31), "March 2026", "in March 2026"),
    (date(2026, 2, 1), date(2026, 2, 28), "February 2026", "in February 2026"),
    (date(2025, 1, 1), date(2025, 12, 31), "2025", "in 2025"),
    (date(2026, 3, 1), date(2026, 3, 14), "1 to 14 Mar 2026", "from 1 to 14 Mar 2026"),
    (date(2026, 1, 29), date(2026, 2, 28), "29 Jan to 28 Feb 2026", "from 29 Jan to 28 Feb 2026"),
    (date(2025, 12, 1), date(2026, 2, 28), "1 Dec 2025 to 28 Feb 2026", "from 1 Dec 2025 to 28 Feb 2026"),
    (date(2026, 3, 5), date(2026, 3, 5), "5 Mar 2026", "on 5 Mar 2026"),
])
def test_periods_in_words(start, end, text, phrase):
    assert boroughs.describe_period(start, end) == text
    assert boroughs.during(start, end) == phrase


@pytest.mark.parametrize("number, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"),
                                          (12, "12th"), (13, "13th"), (21, "21st"), (22, "22nd"), (33, "33rd"),
                                          (111, "111th")])
def test_ordinals(number, text):
    assert boroughs.ordinal(number) == text


def test_each_aggregation_reads_its_own_column():
    assert [boroughs.value_column(metric) for metric in (NO2, ENTRIES, CAPACITY, PEAK)] == [
        "mean_value", "total", "peak_sum", "peak_max"]
    chosen = {"a.no2": NO2, "b.entries": ENTRIES, "c.capacity": CAPACITY, "d.peak": PEAK}
    assert boroughs.summed_peak_keys(chosen) == ["c.capacity"]


def test_small_counts_of_people_are_never_shown():
    assert boroughs.display_value(7, FOOTFALL) == "fewer than 10 people"
    assert boroughs.display_value(0, FOOTFALL) == "0.00 people"
    assert boroughs.display_value(12_345_678, FOOTFALL) == "12.3 million people"
    hidden = boroughs.suppress_small(pd.Series([0.0, 3.0, 10.0, np.nan]), FOOTFALL)
    assert hidden.isna().tolist() == [False, True, False, True]


# ---------------------------------------------------------------------------------
# Figures, ranks, changes and averages


def test_headline_metrics_are_the_first_of_each_dataset_then_the_chosen():
    metrics = {"air.no2": NO2, "air.peak": PEAK, "counts.entries": ENTRIES, "counts.capacity": CAPACITY}
    assert boroughs.headline_metric_keys(metrics) == ["air.no2", "counts.entries"]
    assert boroughs.headline_metric_keys(metrics, ["counts.capacity", "air.no2", "nope.x", "counts.capacity"]) == [
        "air.no2", "counts.entries", "counts.capacity"]


def test_every_area_gets_a_row_per_metric_with_the_metrics_own_figure(values):
    assert len(values) == len(METRICS) * len(AREAS)
    no2 = values[values["metric_key"] == "air.no2"].set_index("borough_code")
    assert no2.loc["A", "value"] == 40.0 and no2.loc["A", "previous"] == 50.0
    assert math.isnan(no2.loc["E", "value"]) and no2.loc["E", "days"] == 0
    entries = values[values["metric_key"] == "counts.entries"].set_index("borough_code")
    assert entries.loc["A", "value"] == 500.0 and entries.loc["A", "previous"] == 400.0
    capacity = values[values["metric_key"] == "counts.capacity"].set_index("borough_code")
    assert capacity.loc["A", "value"] == 45.0, "capacity adds each dock's largest reading"


def test_rank_one_is_the_highest_and_ties_share_the_best_rank():
    series = pd.Series({"A": 40.0, "B": 30.0, "C": 30.0, "D": 60.0, "E": np.nan})
    assert boroughs.rank_among(series, "D") == (1, 4, False)
    assert boroughs.rank_among(series, "A") == (2, 4, False)
    assert boroughs.rank_among(series, "B") == (3, 4, True)
    assert boroughs.rank_among(series, "C") == (3, 4, True)
    assert boroughs.rank_among(series, "E") == (None, 4, False)


def test_standings_give_rank_change_and_averages(values):
    table = boroughs.standings(values, "A", METRICS, ["air.no2", "counts.entries"]).set_index("metric_key")
    no2 = table.loc["air.no2"]
    assert (no2["rank"], no2["ranked"], no2["areas"]) == (2, 4, 5)
    assert no2["change_pct"] == pytest.approx(-20.0)
    assert no2["average_all"] == pytest.approx((40 + 30 + 20 + 60) / 4)
    assert no2["average_inner"] == pytest.approx(35.0)
    assert no2["average_outer"] == pytest.approx(40.0)
    entries = table.loc["counts.entries"]
    assert entries["change_pct"] == pytest.approx(25.0)
    assert (entries["rank"], entries["ranked"]) == (2, 2)


def test_no_change_without_a_comparable_previous_period(values):
    for code, note in [("D", "no figure for the previous period"), ("C", "data on 10 of its 28 days")]:
        row = boroughs.standings(values, code, METRICS, ["air.no2"]).iloc[0]
        assert pd.isna(row["change_pct"]) and note in row["change_note"]
    steady = boroughs.standings(values, "B", METRICS, ["air.no2"]).iloc[0]
    assert steady["change_pct"] == 0.0
    assert boroughs.change_phrase(steady["change_pct"], None, "February") == "about the same as February"


def test_the_sentence_says_figure_rank_direction_change_and_average(values):
    row = boroughs.standings(values, "A", METRICS, ["air.no2"]).iloc[0].to_dict()
    sentence = boroughs.standing_sentence(row, NO2, "Avon", "Testville", "in March 2026",
                                          "the previous 31 days", "borough", "boroughs")
    assert sentence == ("Avon: Nitrogen dioxide (NO₂) averaged 40.0 µg/m³ in March 2026 (average Testville "
                        "borough: 37.5 µg/m³), 2nd highest of the 4 boroughs with data (lower is better), "
                        "down 20% on the previous 31 days.")
    missing = boroughs.standings(values, "E", METRICS, ["air.no2"]).iloc[0].to_dict()
    assert "no nitrogen dioxide (NO₂) data in March 2026 (4 of 5 boroughs have some)" in boroughs.standing_sentence(
        missing, NO2, "Eden", "Testville", "in March 2026", "the previous 31 days", "borough", "boroughs")


@pytest.mark.parametrize("rank, ranked, areas, tied, text", [
    (1, 33, 33, False, "the highest of 33 boroughs"),
    (33, 33, 33, False, "the lowest of 33 boroughs"),
    (4, 33, 33, False, "4th highest of 33 boroughs"),
    (2, 12, 33, True, "joint 2nd highest of the 12 boroughs with data"),
    (1, 1, 33, False, "the only one of 33 boroughs with data"),
    (None, 12, 33, False, "not ranked (no data)"),
])
def test_rank_phrases(rank, ranked, areas, tied, text):
    assert boroughs.rank_phrase(rank, ranked, areas, tied, "boroughs") == text


def test_the_overall_sentence_counts_best_and_worst_thirds_by_the_better_direction(values):
    table = boroughs.standings(values, "D", METRICS, ["air.no2", "counts.entries"])
    sentence = boroughs.overall_sentence(table, "Dart", "in March 2026")
    # D has the highest NO2 and lower is better: the worst third. It has no entries data.
    assert "among the worst third on 1 (nitrogen dioxide (NO₂))" in sentence
    assert "among the best third of boroughs on none;" in sentence, "not 'on 0'"
    assert "No data here for: entries." in sentence


# ---------------------------------------------------------------------------------
# Statistical neighbours


def indicator_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "group": ["inner", "inner", "inner", "outer", "outer", "outer"],
        "log_area": [7.0, 7.1, 7.6, 7.0, 8.5, 8.6],
        "air.no2": [50.0, 48.0, 45.0, 50.0, 20.0, np.nan],
    }, index=pd.Index(["A", "B", "C", "D", "E", "F"], name="borough_code"))


def test_neighbours_are_nearest_first_and_the_group_counts():
    neighbours = boroughs.statistical_neighbours(indicator_frame(), "A", count=3)
    # D is identical on the numbers but in the other group; B and C are inner and close.
    assert neighbours["borough_code"].tolist() == ["B", "C", "D"]
    assert neighbours["distance"].is_monotonic_increasing
    assert neighbours["same_group"].tolist() == [True, True, False]
    assert neighbours.loc[2, "distance"] == pytest.approx(math.sqrt(2.0 ** 2 / 3))


def test_neighbours_with_a_missing_indicator_are_compared_on_the_rest():
    neighbours = boroughs.statistical_neighbours(indicator_frame(), "E", count=5).set_index("borough_code")
    assert neighbours.loc["F", "shared"] == 2 and neighbours.loc["D", "shared"] == 3
    assert neighbours.index[0] == "F", "F has the same group and a close area; its missing NO2 is skipped"


def test_neighbour_ties_go_to_the_lower_code():
    frame = pd.DataFrame({"group": ["x", "x", "x"], "log_area": [1.0, 2.0, 0.0]},
                         index=pd.Index(["M", "Z", "B"], name="borough_code"))
    assert boroughs.statistical_neighbours(frame, "M", count=2)["borough_code"].tolist() == ["B", "Z"]


def test_totals_are_compared_on_a_log_scale(values):
    indicators = boroughs.neighbour_indicators(AREAS, values, METRICS, ["air.no2", "counts.entries"])
    assert indicators.loc["A", "counts.entries"] == pytest.approx(math.log1p(500.0))
    assert indicators.loc["A", "air.no2"] == 40.0
    assert indicators.loc["C", "log_area"] == pytest.approx(math.log(5000.0))
    assert math.isnan(indicators.loc["C", "counts.entries"])


def test_neighbour_table_and_sentences(values):
    neighbours = pd.DataFrame({"borough_code": ["B", "C"], "distance": [0.4, 0.9], "shared": [3, 3],
                               "same_group": [True, False]})
    table = boroughs.neighbour_table("A", neighbours, values, AREAS, ["air.no2"])
    assert table["borough_name"].tolist() == ["Avon", "Brent", "Calder"]
    assert table["air.no2"].tolist() == [40.0, 30.0, 20.0]
    sentences = boroughs.neighbour_sentences(table, METRICS, ["air.no2"])
    assert sentences[0] == "The 2 boroughs most like Avon (most similar first): Brent, Calder."
    assert sentences[1] == ("Nitrogen dioxide (NO₂): Avon (40.0 µg/m³) is higher than 2 of the 2 neighbours with "
                            "data; their average is 25.0 µg/m³.")


# ---------------------------------------------------------------------------------
# Trends, the sites map and picking a borough on a map


def trend_rows(*rows: tuple) -> pd.DataFrame:
    columns = ["dataset", "metric", "scope", "bucket", "mean_value", "total", "peak_sum", "peak_max", "entities", "days"]
    return pd.DataFrame([dict(zip(columns, row)) for row in rows]).astype({"bucket": "datetime64[us]"})


def test_weekly_totals_are_shown_per_day_so_a_short_last_week_does_not_look_like_a_fall():
    rows = trend_rows(("counts", "entries", "borough", "2026-03-01", 1.0, 700.0, 1.0, 1.0, 1, 7),
                      ("counts", "entries", "borough", "2026-03-08", 1.0, 200.0, 1.0, 1.0, 1, 2),
                      ("air", "no2", "borough", "2026-03-01", 35.0, 999.0, 1.0, 1.0, 1, 7))
    series = boroughs.trend_series(rows, METRICS, bucket_days=7).set_index(["metric_key", "bucket"])["value"]
    assert series[("counts.entries", pd.Timestamp("2026-03-01"))] == 100.0
    assert series[("counts.entries", pd.Timestamp("2026-03-08"))] == 100.0
    assert series[("air.no2", pd.Timestamp("2026-03-01"))] == 35.0
    daily = boroughs.trend_series(rows, METRICS, bucket_days=1).set_index(["metric_key", "bucket"])["value"]
    assert daily[("counts.entries", pd.Timestamp("2026-03-08"))] == 200.0


def test_trend_small_counts_are_blanked_and_the_sentence_reads_the_series():
    rows = trend_rows(("sensors", "footfall", "borough", "2026-03-01", 1.0, 4.0, 1.0, 1.0, 1, 1),
                      ("sensors", "footfall", "borough", "2026-03-02", 1.0, 40.0, 1.0, 1.0, 1, 1),
                      ("sensors", "footfall", "borough", "2026-03-03", 1.0, 20.0, 1.0, 1.0, 1, 1),
                      ("sensors", "footfall", "average", "2026-03-01", 1.0, 30.0, 1.0, 1.0, 1, 1),
                      ("sensors", "footfall", "average", "2026-03-02", 1.0, 30.0, 1.0, 1.0, 1, 1),
                      ("sensors", "footfall", "average", "2026-03-03", 1.0, 30.0, 1.0, 1.0, 1, 1))
    series = boroughs.trend_series(rows, {"sensors.footfall": FOOTFALL}, bucket_days=1)
    own = series[series["scope"] == "borough"]["value"].tolist()
    assert math.isnan(own[0]) and own[1:] == [40.0, 20.0]
    sentence = boroughs.trend_sentence(series, FOOTFALL, "Avon", 1)
    assert sentence == ("Footfall in Avon, day by day: highest 40.0 people (2 Mar), lowest 20.0 people (3 Mar); "
                        "above the average borough in 1 of 2 days.")


def test_bucket_steps():
    assert boroughs.bucket_days_for(date(2026, 1, 1), date(2026, 3, 31)) == 1
    assert boroughs.bucket_days_for(date(2026, 1, 1), date(2026, 6, 30)) == 7


def test_the_view_fits_the_bounds_inside_the_map():
    bounds = (-0.2135, 51.5128, -0.1053, 51.5729)  # about Camden
    view = boroughs.fit_view(bounds, 600, 400, padding_px=20)
    corners = [boroughs.project(lat, lon, view, 600, 400) for lon in bounds[0::2] for lat in bounds[1::2]]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    assert min(xs) >= 19 and max(xs) <= 581 and min(ys) >= 19 and max(ys) <= 381
    assert max(xs) - min(xs) > 550 or max(ys) - min(ys) > 350, "one side of the bounds fills the map"
    centre = boroughs.project((bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2, view, 600, 400)
    assert centre[0] == pytest.approx(300) and centre[1] == pytest.approx(200, abs=1)


def test_borough_bounds_cover_its_polygon():
    geojson = {"features": [
        {"properties": {"code": "A"}, "geometry": {"type": "MultiPolygon", "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[3, 3], [4, 3], [4, 5], [3, 3]]]]}},
        {"properties": {"code": "B"}, "geometry": {"type": "Polygon", "coordinates": [[[9, 9], [10, 9], [9, 9]]]}}]}
    assert boroughs.borough_bounds(geojson, "A") == (0, 0, 4, 5)
    with pytest.raises(KeyError):
        boroughs.borough_bounds(geojson, "Z")


@pytest.mark.parametrize("selection, code", [
    ({"indices": {"areas": [3]}, "objects": {"areas": [{"type": "Feature", "properties": {"code": "E09000007"}}]}},
     "E09000007"),
    ({"indices": {}, "objects": {}}, None),
    ({"objects": {"sites": [{"name": "Dock"}]}}, None),
    ({"objects": {"areas": [{"code": "E09000019"}]}}, "E09000019"),
    (None, None),
])
def test_the_picked_area_comes_from_the_areas_layer_only(selection, code):
    assert boroughs.picked_area(selection) == code


def test_the_sites_map_draws_every_area_and_every_located_site():
    geojson = {"features": [
        {"properties": {"code": "A", "name": "Avon"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}},
        {"properties": {"code": "B", "name": "Brent"}, "geometry": {"type": "Polygon", "coordinates": [[[2, 2], [3, 2], [2, 2]]]}}]}
    sites = pd.DataFrame({"dataset": ["air", "counts", "air"], "name": ["S1", "S2", "S3"], "kind": ["x", None, "z"],
                          "lat": [0.5, 0.4, np.nan], "lon": [0.5, 0.3, 0.1], "readings": [3, 0, 1]})
    colours = boroughs.dataset_colours(["air", "counts"])
    deck = boroughs.sites_map(geojson, "A", sites, {"air": "Air"}, colours, {"latitude": 0.5, "longitude": 0.5, "zoom": 9})
    areas_layer, sites_layer = deck.layers
    fills = {feature["properties"]["code"]: feature["properties"]["fill"] for feature in areas_layer.data["features"]}
    assert fills["A"] != fills["B"]
    assert [point["detail"] for point in sites_layer.data] == ["Air · x", "counts · "]
    assert colours["air"] != colours["counts"]
    assert deck.map_provider is None
    assert boroughs.sites_sentence("Avon", sites, {"air": "Air"}) == (
        "The map shows 3 sites in Avon (2 reporting in the period): Air 2; counts 1.")


# ---------------------------------------------------------------------------------
# Compare


def compared(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame([{"borough_name": name, "value": value} for name, value in rows])


def test_differences_are_said_in_words_highest_first():
    sentences = boroughs.compare_sentences(compared(("Islington", 34.0), ("Camden", 38.08)), NO2, "in March 2026")
    assert sentences == ["Nitrogen dioxide (NO₂): Camden was 12% higher than Islington (38.1 µg/m³ against "
                         "34.0 µg/m³) in March 2026."]


def test_large_ratios_same_values_negative_values_and_missing_data():
    assert "2.5 times as high as" in boroughs.compare_sentences(compared(("A", 250.0), ("B", 100.0)), ENTRIES, "")[0]
    assert "about the same as" in boroughs.compare_sentences(compared(("A", 100.2), ("B", 100.0)), ENTRIES, "")[0]
    temperature = Metric(id="t", dataset="s", label="Temperature", unit="°C", aggregation="mean", better="lower")
    assert "A was 3.00 °C higher than B" in boroughs.compare_sentences(
        compared(("A", 2.0), ("B", -1.0)), temperature, "")[0]
    sentences = boroughs.compare_sentences(compared(("A", 1.0), ("B", 2.0), ("C", np.nan)), ENTRIES, "in May")
    assert len(sentences) == 2 and sentences[-1] == "No entries data in May for: C."


def test_three_areas_give_every_pair():
    sentences = boroughs.compare_sentences(compared(("A", 30.0), ("B", 20.0), ("C", 10.0)), NO2, "")
    assert [sentence.split(": ", 1)[1].split(" (")[0] for sentence in sentences] == [
        "A was 50% higher than B", "A was 3.0 times as high as C", "B was 2.0 times as high as C"]


def test_small_counts_are_not_compared():
    sentences = boroughs.compare_sentences(compared(("A", 300.0), ("B", 4.0)), FOOTFALL, "")
    assert "not compared" in sentences[0] and "4" not in sentences[0]


def test_default_comparison_is_the_highest_and_the_lowest():
    by_area = pd.DataFrame({"borough_code": ["A", "B", "C", "D"], "value": [3.0, np.nan, 9.0, 1.0]})
    assert boroughs.default_compared(by_area) == ("C", "D")
    empty = pd.DataFrame({"borough_code": ["A", "B", "C"], "value": [np.nan, np.nan, np.nan]})
    assert boroughs.default_compared(empty) == ("A", "B")


def test_compare_lines_share_one_y_axis():
    daily = pd.DataFrame({"borough_code": ["A", "A", "B", "B"], "day": pd.to_datetime(["2026-03-01", "2026-03-02"] * 2),
                          "value": [1.0, 2.0, 30.0, 40.0]})
    figure = boroughs.compare_lines(daily, NO2, {"A": "Avon", "B": "Brent"}, ["A", "B"])
    assert [trace.yaxis for trace in figure.data] == ["y", "y2"]
    assert figure.layout.yaxis2.matches == "y", "the second chart's y axis follows the first"


def test_sources_caption_groups_datasets_by_publisher_and_licence():
    caption = boroughs.sources_caption([("Pub", "One", "OGL", "refreshed today", False),
                                        ("Pub", "Two", "OGL", "refreshed today", False),
                                        ("Other", "Three", "CC0", "refreshed today", True)])
    assert caption == ("**Synthetic demo data.** Sources: Pub: One, Two · Licence: OGL · refreshed today; "
                       "Other: Three · Licence: CC0 · refreshed today")


# ---------------------------------------------------------------------------------
# The queries on literal rows


SITES = entities(("A1", "Camden Road", "Roadside", CAMDEN), ("A2", "Camden Park", "Urban Background", CAMDEN),
                 ("A3", "Bromley Town", "Suburban", BROMLEY))
READINGS = observations(
    ("A1", "2026-03-01 10:00", "no2", 40), ("A1", "2026-03-02 10:00", "no2", 60),
    ("A2", "2026-03-01 10:00", "no2", 20),
    ("A1", "2026-02-27 10:00", "no2", 10), ("A3", "2026-02-28 10:00", "no2", 30),
    ("A3", "2026-03-02 10:00", "no2", 50),
)
PERIODS = {"start": date(2026, 3, 1), "end": date(2026, 3, 2),
           "previous_start": date(2026, 2, 27), "previous_end": date(2026, 2, 28)}


def test_borough_metrics_gives_both_periods_and_every_way_to_combine(published):
    database = published("air", SITES, READINGS)
    frame = database.run("borough_metrics", **PERIODS, summed_peaks=["air.no2"]).set_index(["borough_code", "period"])
    camden = frame.loc[("E09000007", "current")]
    assert camden["mean_value"] == pytest.approx(40.0) and camden["total"] == 120.0
    assert camden["peak_sum"] == 60.0 + 20.0 and camden["peak_max"] == 60.0
    assert (camden["readings"], camden["days"]) == (3, 2)
    assert frame.loc[("E09000006", "previous"), "peak_sum"] == 30.0
    unsummed = database.run("borough_metrics", **PERIODS, summed_peaks=[])
    assert unsummed["peak_sum"].isna().all(), "worked out only for the keys asked for"
    pd.testing.assert_frame_equal(unsummed.drop(columns="peak_sum"), frame.reset_index()[unsummed.columns].drop(
        columns="peak_sum"), check_like=True)
    assert frame.loc[("E09000007", "previous"), "mean_value"] == 10.0
    assert frame.loc[("E09000007", "previous"), "days"] == 1
    assert frame.loc[("E09000006", "previous"), "mean_value"] == 30.0
    assert set(frame.reset_index()["borough_code"]) == {"E09000007", "E09000006"}


def test_borough_trends_gives_the_borough_and_the_average_borough_per_step(published):
    database = published("air", SITES, READINGS)
    frame = database.run("borough_trends", borough="E09000007", metrics=["air.no2"], summed_peaks=[],
                         start=date(2026, 2, 27), end=date(2026, 3, 2), bucket_days=2)
    own = frame[frame["scope"] == "borough"].set_index("bucket")
    assert [day.date() for day in own.index] == [date(2026, 2, 27), date(2026, 3, 1)]
    assert own["mean_value"].tolist() == [10.0, 40.0]
    average = frame[frame["scope"] == "average"].set_index("bucket")
    # 27-28 Feb: Camden 10, Bromley 30; 1-2 Mar: Camden 40, Bromley 50.
    assert average["mean_value"].tolist() == [20.0, 45.0]
    assert frame["days"].tolist() == [2, 2, 2, 2]
    assert frame["peak_sum"].isna().all(), "worked out only for the keys asked for"
    other = database.run("borough_trends", borough="E09000007", metrics=["air.pm25"], summed_peaks=[],
                         start=date(2026, 2, 27), end=date(2026, 3, 2), bucket_days=1)
    assert other.empty


def test_borough_trends_sums_each_entitys_largest_reading_in_a_step_for_the_keys_asked(published):
    database = published("air", SITES, READINGS)
    frame = database.run("borough_trends", borough="E09000007", metrics=["air.no2"], summed_peaks=["air.no2"],
                         start=date(2026, 2, 27), end=date(2026, 3, 2), bucket_days=2)
    own = frame[frame["scope"] == "borough"].set_index("bucket")
    # 1-2 Mar in Camden: A1's largest 60 plus A2's 20 (not A1's 40 + 60 + A2's 20, nor the largest alone).
    assert own["peak_sum"].tolist() == [10.0, 80.0]
    assert own["peak_max"].tolist() == [10.0, 60.0]
    average = frame[frame["scope"] == "average"].set_index("bucket")
    assert average["peak_sum"].tolist() == [20.0, 65.0]  # Camden 10 and Bromley 30; Camden 80 and Bromley 50


def test_borough_entities_lists_the_boroughs_sites_with_their_readings(published):
    database = published("air", SITES, READINGS)
    frame = database.run("borough_entities", borough="E09000007", start=date(2026, 3, 1), end=date(2026, 3, 1))
    assert frame["name"].tolist() == ["Camden Park", "Camden Road"]
    assert frame["readings"].tolist() == [1, 1]
    none = database.run("borough_entities", borough="E09000033", start=date(2026, 3, 1), end=date(2026, 3, 2))
    assert none.empty


def test_compare_daily_gives_one_row_per_chosen_borough_and_day(published):
    database = published("air", SITES, READINGS)
    frame = database.run("compare_daily", dataset="air", metric="no2", aggregation="mean", area_aggregation="mean",
                         start=date(2026, 3, 1), end=date(2026, 3, 2), boroughs=["E09000007", "E09000033"])
    assert frame["borough_code"].tolist() == ["E09000007", "E09000007"]
    assert frame["value"].tolist() == [30.0, 60.0]


def test_the_profile_numbers_agree_with_the_overview_query(demo_database, demo_catalog):
    metrics = {f"{metric.dataset}.{metric.id}": metric for metric in demo_catalog.metrics("public")
               if metric.dataset in demo_database.available}
    start, end = date(2025, 11, 10), date(2025, 11, 30)
    previous_start, previous_end = boroughs.previous_period(start, end)
    rows = demo_database.run("borough_metrics", start=start, end=end, previous_start=previous_start,
                             previous_end=previous_end, summed_peaks=boroughs.summed_peak_keys(metrics))
    areas = demo_database.run("boroughs")
    values = boroughs.borough_values(rows, metrics, areas)
    for key in ("air_quality.no2", "stations.entries", "cycle_hire.dock_capacity"):
        metric = metrics[key]
        overview = demo_database.run("metric_by_borough", dataset=metric.dataset, metric=metric.id,
                                     aggregation=metric.aggregation, area_aggregation=metric.area_aggregation,
                                     start=start, end=end).set_index("borough_code")["value"]
        mine = values[values["metric_key"] == key].set_index("borough_code")["value"]
        pd.testing.assert_series_equal(mine.sort_index(), overview.sort_index(), check_names=False)


# ---------------------------------------------------------------------------------
# The profile page under AppTest

ENTRY = REPO / "tests" / "apptest" / "entry.py"
PROFILE = str(REPO / "pages" / "borough.py")


@pytest.fixture
def app(demo_extracts, monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(ENTRY), default_timeout=90)


def open_link(app: AppTest, page: str, **params) -> AppTest:
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page(page)
    return app.run()


def test_a_shared_profile_link_opens_that_borough_with_its_metrics(app):
    open_link(app, PROFILE, borough="E09000019", extra="air_quality.pm25", metric="stations.entries",
              start="2025-11-05", end="2025-11-20")
    assert not app.exception, [exception.value for exception in app.exception]
    assert app.title[0].value == "Islington: borough profile"
    assert app.selectbox(key="borough_code").value == "E09000019"
    assert app.multiselect(key="borough_extra_metrics").value == ["air_quality.pm25"]
    assert app.sidebar.selectbox(key="filters_metric").value == "stations.entries"
    labels = [metric.label for metric in app.metric]
    assert any("PM2.5" in label for label in labels) and any("Station entries" in label for label in labels)
    assert app.query_params["borough"] in ("E09000019", ["E09000019"])
    link = app.sidebar.code[0].value
    assert "borough=E09000019" in link and "extra=air_quality.pm25" in link and "snapshot=" in link
    words = " ".join(element.value for element in app.markdown).replace("\\", "")
    assert "Islington: Station entries totalled" in words and "from 5 to 20 Nov 2025" in words
    open_section(app, boroughs.NEIGHBOURS_SECTION)
    words = " ".join(element.value for element in app.markdown).replace("\\", "")
    assert "The 5 boroughs most like Islington" in words and "Period: **5 to 20 Nov 2025**" in words


def test_choosing_another_borough_updates_the_page_and_the_link(app):
    open_link(app, PROFILE, borough="E09000007")
    app.selectbox(key="borough_code").set_value("E09000033").run()
    assert not app.exception
    assert app.title[0].value == "Westminster: borough profile"
    assert app.query_params["borough"] in ("E09000033", ["E09000033"])


def test_a_hostile_profile_link_falls_back_with_a_notice(app):
    open_link(app, PROFILE, borough="<script>alert(1)</script>", extra="air_quality.no2'--,nope.x")
    assert not app.exception
    notices = " ".join(info.value for info in app.info)
    assert "Ignored unknown area code" in notices and "Ignored unknown metric(s)" in notices
    assert "<script>" not in notices
    assert app.selectbox(key="borough_code").value == "E09000002", "the first borough by name"
    assert app.multiselect(key="borough_extra_metrics").value == []


def test_a_pinned_link_says_when_the_data_has_changed(app):
    open_link(app, PROFILE, borough="E09000007", snapshot="0123456789")
    assert any("refreshed since this link was made" in info.value for info in app.info)
    pinned = app.sidebar.code[0].value.split("snapshot=")[1]
    fresh = AppTest.from_file(str(ENTRY), default_timeout=90)
    open_link(fresh, PROFILE, borough="E09000007", snapshot=pinned)
    assert not any("refreshed" in info.value for info in fresh.info)


def test_the_brief_and_every_table_can_be_downloaded(app):
    open_link(app, PROFILE, borough="E09000007")
    keys = set()
    for label in boroughs.SECTION_LABELS:
        keys |= {button.key for button in open_section(app, label).get("download_button")}
    assert {"borough_download_headline", "borough_download_trends", "borough_download_sites",
            "borough_download_neighbours", "borough_download_brief"} <= keys
    (brief_button,) = [button for button in app.get("download_button") if button.key == "borough_download_brief"]
    assert brief_button.proto.deferred_file_id, "the brief is made when asked for, not on every rerun"


# The page's sections: one drawn at a time, each asking only for its own data

SECTION_H2S = {boroughs.HEADLINE_SECTION: ["Headline figures"], boroughs.TRENDS_SECTION: ["Trends"],
               boroughs.SITES_SECTION: ["Sites in Camden"], boroughs.NEIGHBOURS_SECTION: ["Statistical neighbours"],
               boroughs.BRIEF_SECTION: ["Printable brief"]}
# Each section's queries (the brief runs its own when its file is asked for).
SECTION_QUERIES = {boroughs.HEADLINE_SECTION: {"borough_metrics"}, boroughs.TRENDS_SECTION: {"borough_trends"},
                   boroughs.SITES_SECTION: {"borough_entities"}, boroughs.NEIGHBOURS_SECTION: {"borough_metrics"},
                   boroughs.BRIEF_SECTION: set()}
PROFILE_QUERIES = {"borough_metrics", "borough_trends", "borough_entities"}


open_section = section_opener("borough")


def section_h2s(app: AppTest) -> list[str]:
    return [header.value for header in app.main.header]


def link_of(app: AppTest) -> dict[str, str]:
    return {key: value[0] if isinstance(value, list) else value for key, value in app.query_params.items()}


@pytest.fixture
def queries_run(monkeypatch):
    """The names of the queries the database runs (the real database: only recorded)."""
    ran: list[str] = []
    real_run = Database.run

    def recording(self, query, *args, **kwargs):
        ran.append(query)
        return real_run(self, query, *args, **kwargs)

    monkeypatch.setattr(Database, "run", recording)
    return ran


@pytest.mark.parametrize("label", boroughs.SECTION_LABELS)
def test_each_section_renders_alone_and_runs_only_its_own_queries(app, queries_run, label):
    open_link(app, PROFILE, borough="E09000007", start="2025-11-01", end="2025-11-28")
    # A period no other test asks for, so none of its results is in the (process-wide) query cache.
    index = boroughs.SECTION_LABELS.index(label)
    start, end = date(2025, 11, 2 + index), date(2025, 11, 24 + index)
    open_section(app, label)
    queries_run.clear()
    app.sidebar.date_input(key="filters_dates").set_value((start, end)).run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert section_h2s(app) == SECTION_H2S[label], "only the open section's headings are drawn"
    assert [tab.label for tab in app.tabs][:len(boroughs.SECTION_LABELS)] == list(boroughs.SECTION_LABELS)
    assert set(queries_run) & PROFILE_QUERIES == SECTION_QUERIES[label]
    assert app.title[0].value == "Camden: borough profile"
    words = " ".join(element.value for element in app.markdown)
    assert f"Period: **{boroughs.describe_period(start, end)}**" in words, "the period is said above every section"
    assert bool(app.get("plotly_chart")) == (label == boroughs.TRENDS_SECTION)
    assert bool(app.get("deck_gl_json_chart")) == (label == boroughs.SITES_SECTION)
    # The profile's datasets are recorded whichever section is open: the demo banner shows in each.
    assert any("Demo data, not real measurements" in warning.value for warning in app.warning)


def test_the_trends_section_draws_a_chart_per_metric_with_data(app):
    open_link(app, PROFILE, borough="E09000007", section="trends")
    assert section_h2s(app) == ["Trends"]
    charts = app.get("plotly_chart")
    assert len(charts) >= 3 and all(chart.proto.spec for chart in charts)
    assert any("Camden solid, the average London borough dotted" in caption.value for caption in app.caption)


def test_a_link_opens_its_section_and_a_switch_of_section_is_written_into_the_link(app):
    open_link(app, PROFILE, borough="E09000019", section="neighbours")
    assert section_h2s(app) == ["Statistical neighbours"]
    assert link_of(app)["section"] == "neighbours" and link_of(app)["borough"] == "E09000019"
    assert "section=neighbours" in app.sidebar.code[0].value, "the copyable link names the section"
    for label, slug in ((boroughs.SITES_SECTION, "sites"), (boroughs.BRIEF_SECTION, "brief"),
                        (boroughs.TRENDS_SECTION, "trends")):
        assert link_of(open_section(app, label))["section"] == slug
    open_section(app, boroughs.HEADLINE_SECTION)
    assert "section" not in link_of(app), "the first section is the default: its link names none"
    assert section_h2s(app) == ["Headline figures"]
    # Another borough keeps the open section.
    open_section(app, boroughs.SITES_SECTION)
    app.selectbox(key="borough_code").set_value("E09000033").run()
    assert section_h2s(app) == ["Sites in Westminster"] and link_of(app)["section"] == "sites"


def test_a_hostile_section_in_a_link_opens_the_first_with_a_notice(app):
    open_link(app, PROFILE, borough="E09000007", section="<img src=x onerror=alert(1)>")
    assert section_h2s(app) == ["Headline figures"]
    notices = [element.value for element in app.info if "Ignored the link's section" in element.value]
    assert len(notices) == 1 and "onerror" not in notices[0]
    assert "section" not in link_of(app)


def test_the_brief_links_to_the_profile_not_to_its_own_section():
    link = "http://localhost:8501/borough?borough=E09000007&section=brief&extra=a.b,c.d&snapshot=0123"
    assert boroughs.without_param(link, "section") == \
        "http://localhost:8501/borough?borough=E09000007&extra=a.b,c.d&snapshot=0123"
    assert boroughs.without_param("http://x/borough", "section") == "http://x/borough"


def test_only_metrics_the_borough_has_get_a_trend_chart_and_a_flat_line_is_steady():
    series = pd.DataFrame({"metric_key": ["a.x", "a.x", "b.y", "b.y"], "scope": ["borough", "average"] * 2,
                           "bucket": pd.to_datetime(["2026-03-01"] * 4), "value": [5.0, 4.0, np.nan, 3.0]})
    assert boroughs.charted_keys(series, ["b.y", "a.x", "c.z"]) == ["a.x"]
    flat = pd.DataFrame({"scope": ["borough"] * 2, "bucket": pd.to_datetime(["2026-03-01", "2026-03-02"]),
                         "value": [327.0, 327.0]})
    assert boroughs.trend_sentence(flat, CAPACITY, "Avon", 1) == "Capacity in Avon, day by day: steady at 327 docks."


def test_table_cells_for_changes():
    assert boroughs.change_text(-12.345, None) == "-12.3%"
    assert boroughs.change_text(float("nan"), "no figure for the previous period") == "no figure for the previous period"
    assert boroughs.change_text(float("nan"), float("nan")) == ""
    assert boroughs.delta_text(0.2, 28) == "about the same as the previous 28 days"
    assert boroughs.delta_text(-13.4, 28) == "-13% on previous 28 days"
    assert boroughs.delta_text(float("nan"), 28) is None


def test_picking_a_borough_in_the_sidebar_filter_follows_it(app):
    open_link(app, PROFILE, borough="E09000007")
    app.sidebar.multiselect(key="filters_boroughs").set_value(["E09000019"]).run()
    assert not app.exception
    assert app.title[0].value == "Islington: borough profile"
    assert app.query_params["borough"] in ("E09000019", ["E09000019"])


def test_csv_exports_never_carry_small_counts_of_people():
    metrics = {**METRICS, "sensors.footfall": FOOTFALL}
    rows = metric_rows(*NO2_ROWS, ("sensors", "footfall", "A", "current", 1.0, 7.0, 1.0, 1.0, 1, 28),
                       ("sensors", "footfall", "A", "previous", 1.0, 300.0, 1.0, 1.0, 1, 28),
                       ("sensors", "footfall", "B", "current", 1.0, 500.0, 1.0, 1.0, 1, 28))
    values = boroughs.borough_values(rows, metrics, AREAS)
    table = boroughs.standings(values, "A", metrics, ["air.no2", "sensors.footfall"])
    exported = boroughs.standings_export(table, metrics).set_index("metric_key")
    assert math.isnan(exported.loc["sensors.footfall", "value"])
    assert exported.loc["sensors.footfall", "previous"] == 300.0
    assert exported.loc["air.no2", "value"] == 40.0
    assert pd.isna(table.set_index("metric_key").loc["sensors.footfall", "change_pct"])
    neighbours = pd.DataFrame({"borough_code": ["B"], "distance": [0.3]})
    wide = boroughs.neighbour_table("A", neighbours, values, AREAS, ["sensors.footfall"])
    assert boroughs.neighbours_export(wide, metrics, ["sensors.footfall"])["sensors.footfall"].isna().tolist() == [
        True, False]
