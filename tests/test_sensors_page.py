"""The Sensors page: its pure builders on literal rows (small-number suppression in every output,
the live map and legend, the replay clock's bookkeeping), then the page itself under AppTest."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from citydash import maps
from citydash import sensors_view as view
from citydash.catalog import load_catalog
from citydash.sensors import level_at, load_sensor_thresholds, thresholds_for
from conftest import PACK, REPO, section_opener

CATALOG = load_catalog(PACK)
DATASET = CATALOG.datasets["street_sensors"]
NOISE = DATASET.metric("noise_db")
FOOTFALL = DATASET.metric("footfall")
HUMIDITY = DATASET.metric("humidity")
RHYTHM = view.rhythm_of(DATASET)
# The shipped catalogue's timed thresholds (catalog.d/sensors.toml).
RULES = load_sensor_thresholds(PACK)
NOISE_T = thresholds_for(NOISE, RULES)
FOOTFALL_T = thresholds_for(FOOTFALL, RULES)
TZ = CATALOG.city.timezone
VIEW = CATALOG.city.map_view
AREAS = json.loads((PACK / "boundaries" / "london_boroughs.geojson").read_text(encoding="utf-8"))
NOW = pd.Timestamp("2026-03-02 10:00")  # winter: London time is UTC
# Counts that must never be shown; no other number below uses these digits on their own.
HIDDEN = (3.0, 8.0)


def latest_rows(rows: list[tuple]) -> pd.DataFrame:
    """sensor_latest rows from (entity_id, name, borough, lat, lon, minutes before NOW or None, value)."""
    return pd.DataFrame({
        "entity_id": [row[0] for row in rows],
        "name": [row[1] for row in rows],
        "kind": ["sensor"] * len(rows),
        "borough_code": ["E09000007"] * len(rows),
        "borough_name": [row[2] for row in rows],
        "lat": [row[3] for row in rows],
        "lon": [row[4] for row in rows],
        "ts": pd.Series([NOW - pd.Timedelta(minutes=row[5]) if row[5] is not None else pd.NaT for row in rows],
                        dtype="datetime64[us]"),
        "value": [row[6] for row in rows],
    })


FOOTFALL_LATEST = latest_rows([
    ("A", "Alpha Street", "Camden", 51.54, -0.14, 0, 8.0),  # hidden
    ("B", "Bravo Street", "Camden", 51.55, -0.15, 0, 45.0),  # hidden too: it would give the 8 away
    ("C", "Charlie Street", "Camden", 51.53, -0.13, 15, 120.0),
    ("D", "Delta Mews", "Camden", 51.52, -0.12, 0, 0.0),
    ("E", "Echo Lane", "Camden", 51.51, -0.11, 120, 3.0),  # silent, hidden
    ("F", "Foxtrot Row", "Camden", 51.50, -0.10, None, math.nan),  # nothing in the last week
])

NOISE_LATEST = latest_rows([
    ("A", "Alpha Street", "Camden", 51.54, -0.14, 0, 50.0),
    ("B", "Bravo Street", "Camden", 51.55, -0.15, 15, 55.0),
    ("C", "Charlie Street", "Camden", 51.53, -0.13, 60, 55.1),  # exactly an hour: still reporting
    ("D", "Delta Mews", "Camden", 51.52, -0.12, 0, 70.0),
    ("E", "Echo Lane", "Camden", 51.51, -0.11, 75, 80.0),  # silent for 1 h 15 min
])


def numbers_in_text(text: str) -> set[float]:
    """Every number written in a text on its own (not part of a longer number, a date or a time)."""
    return {float(token.replace(",", "")) for token in re.findall(r"(?<![\w.:,/-])\d[\d,]*(?:\.\d+)?(?![\w.:/])", text)}


def csv_numbers(data: bytes) -> set[float]:
    numbers = set()
    for row in csv.reader(io.StringIO(data.decode("utf-8"))):
        for field in row:
            numbers |= numbers_in_text(field)
    return numbers


def plotly_array(value) -> np.ndarray:
    """A trace array from figure JSON: a list, or plotly's typed binary {"dtype", "bdata", "shape"}."""
    if value is None:
        return np.array([], dtype=object)
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return array.reshape([int(size) for size in str(shape).split(",")]) if shape else array
    return np.asarray(value, dtype=object)


def figure_numbers(spec: str) -> set[float]:
    """Every y and z value, and every number in the hover data and text, of a figure's JSON as
    Streamlit sends it."""
    numbers = set()
    for trace in json.loads(spec)["data"]:
        for key in ("y", "z"):
            for value in plotly_array(trace.get(key)).ravel():
                if isinstance(value, (int, float, np.number)) and not pd.isna(value):
                    numbers.add(float(value))
        for key in ("customdata", "text", "hovertext"):
            for value in plotly_array(trace.get(key)).ravel():
                numbers |= numbers_in_text(str(value))
    return numbers


def layer_records(deck) -> dict[str, list[dict]]:
    return {layer["id"]: layer["data"] for layer in json.loads(deck.to_json())["layers"] if isinstance(layer["data"], list)}


# ---------------------------------------------------------------------------------------
# protect: the gate


def test_protect_hides_small_counts_and_leaves_other_metrics_alone():
    rows = pd.DataFrame({"value": [7.0, 10.0, 0.0, 1234.0, math.nan]})
    counts = view.protect(rows, FOOTFALL)
    assert counts["value_display"].tolist() == ["<10", "10", "0", "1,234", "no data"]
    assert counts["value"].isna().tolist() == [True, False, False, False, True]
    measured = view.protect(rows, NOISE)
    assert measured["value"].tolist()[:4] == [7.0, 10.0, 0.0, 1234.0]
    assert measured["value_display"].tolist() == ["7.00", "10.0", "0.00", "1,234", "no data"]
    assert not measured["suppressed"].any()


def test_builders_refuse_a_frame_that_did_not_go_through_protect():
    series = pd.DataFrame({"scope": ["selection"], "borough_name": [None], "day": [date(2026, 3, 2)],
                           "value": [7.0], "sensors": [1], "label": ["All"]})
    with pytest.raises(ValueError, match="protect"):
        view.series_table(series, FOOTFALL)
    with pytest.raises(ValueError, match="protect"):
        view.borough_series_figure(series, FOOTFALL)


# ---------------------------------------------------------------------------------------
# The live feed


def test_sensors_are_fresh_until_four_intervals_of_silence():
    feed = view.live_feed(NOISE_LATEST, NOISE, NOW, RHYTHM, NOISE_T, TZ)
    fresh = dict(zip(feed.sensors["entity_id"], feed.sensors["fresh"]))
    assert fresh == {"A": True, "B": True, "C": True, "D": True, "E": False}
    assert (feed.reporting, feed.silent) == (4, 1)
    assert (feed.headline_label, feed.headline) == ("Average now (dB(A))", maps.format_value((50 + 55 + 55.1 + 70) / 4))
    assert (feed.above_label, feed.above) == ("Above 65 dB(A) now", "1 of 4")


def test_the_catalogue_gives_noise_a_day_and_a_night_level_and_footfall_a_capacity():
    day, night, loud = NOISE_T
    assert (day.value, day.level, day.hours_text()) == (55.0, 1, "07:00–23:00")
    assert (night.value, night.level, night.hours_text()) == (45.0, 1, "23:00–07:00")
    assert (loud.value, loud.level, loud.hours_text()) == (65.0, 2, "07:00–23:00")
    assert "WHO" in day.source and "WHO" in night.source and "not a WHO value" in loud.source
    assert [(threshold.value, threshold.all_day) for threshold in FOOTFALL_T] == [(150.0, True)]
    # The About page lists the catalogue's `thresholds`: they hold the same values.
    for metric, timed in ((NOISE, NOISE_T), (FOOTFALL, FOOTFALL_T)):
        assert sorted(metric.thresholds) == sorted(threshold.value for threshold in timed)


def test_a_reading_is_compared_with_the_threshold_for_its_local_time():
    minute = lambda hours, minutes=0: hours * 60 + minutes  # noqa: E731
    assert [level_at(50.0, minute(*when), NOISE_T) for when in ((12,), (23, 30), (6, 59), (7,), (22, 59), (23,))] \
        == [0, 1, 1, 0, 0, 1]
    assert [level_at(value, minute(12), NOISE_T) for value in (55.0, 55.1, 65.0, 65.1)] == [0, 1, 1, 2]
    assert level_at(90.0, minute(2), NOISE_T) == 1, "no level-2 threshold applies at night"
    assert level_at(math.nan, minute(12), NOISE_T) == 0
    # Without timed thresholds, the catalogue's values apply all day, lowest first.
    assert [(threshold.value, threshold.level) for threshold in thresholds_for(NOISE, {})] == [
        (45.0, 1), (55.0, 2), (65.0, 3)]


def test_threshold_bands_are_the_threshold_levels():
    bands = view.threshold_bands(NOISE, NOISE_T)
    assert [band.label for band in bands] == [
        "at or below 55 dB(A) 07:00–23:00 or 45 dB(A) 23:00–07:00 (for the time of day)",
        "above 55 dB(A) 07:00–23:00 or 45 dB(A) 23:00–07:00",
        "above 65 dB(A) 07:00–23:00"]
    lightness = [sum(band.colour) for band in bands]
    assert lightness == sorted(lightness, reverse=True), "louder is darker"
    assert [band.label for band in view.threshold_bands(FOOTFALL, FOOTFALL_T)] == [
        "at or below 150 people", "above 150 people"]


def test_the_map_colours_a_night_reading_against_the_night_threshold():
    night = NOISE_LATEST.assign(ts=NOISE_LATEST["ts"] + pd.Timedelta(hours=13, minutes=30))  # 23:30 and before
    feed = view.live_feed(night, NOISE, NOW + pd.Timedelta(hours=13, minutes=30), RHYTHM, NOISE_T, TZ)
    bands = dict(zip(feed.sensors["name"], feed.sensors["band"]))
    # Alpha's 50 dB at 23:30 is above the night guideline (45); at 10:00 it was below the day one (55).
    assert bands["Alpha Street"] == feed.bands[1].label
    assert bands["Bravo Street"] == feed.bands[1].label  # 55 dB at 23:15: at the day guideline, above the night one
    assert bands["Delta Mews"] == feed.bands[1].label  # 70 dB at night: no level-2 threshold then
    reporting = {record["name"]: record for record in layer_records(view.live_map(feed, AREAS, VIEW, NOISE, TZ))[
        "sensors-reporting"]}
    assert reporting["Alpha Street"]["fill"][:3] == list(feed.bands[1].colour)
    assert (feed.above_label, feed.above) == ("Above 65 dB(A) now", "0 of 4")


def test_each_dot_has_the_legend_colour_of_its_band_and_silent_sensors_are_rings():
    feed = view.live_feed(NOISE_LATEST, NOISE, NOW, RHYTHM, NOISE_T, TZ)
    deck = view.live_map(feed, AREAS, VIEW, NOISE, TZ)
    records = layer_records(deck)
    reporting = {record["name"]: record for record in records["sensors-reporting"]}
    colour = [list(band.colour) for band in feed.bands]
    assert reporting["Alpha Street"]["fill"][:3] == colour[0]  # 50 dB at 10:00
    assert reporting["Bravo Street"]["fill"][:3] == colour[0]  # 55: at the day guideline, not above
    assert reporting["Charlie Street"]["fill"][:3] == colour[1]
    assert reporting["Delta Mews"]["fill"][:3] == colour[2]
    assert [record["name"] for record in records["sensors-silent"]] == ["Echo Lane"]
    assert records["sensors-silent"][0]["status"] == "not heard from for 1 h 15 min"
    legend = view.live_legend_html(feed, NOISE, RHYTHM, NOISE_T)
    for band in feed.bands:
        assert "rgb({},{},{})".format(*band.colour) in legend and band.label in legend
    assert "not heard from for over 1 h" in legend
    assert reporting["Delta Mews"]["reading"] == "Latest: 70.0 dB(A) at Mon 02 Mar 2026, 10:00"


def test_the_map_keeps_its_view_and_layer_ids_whatever_the_data():
    first = json.loads(view.live_map(view.live_feed(NOISE_LATEST, NOISE, NOW, RHYTHM, NOISE_T, TZ), AREAS, VIEW, NOISE, TZ).to_json())
    later = NOISE_LATEST.assign(value=NOISE_LATEST["value"] + 3, ts=NOISE_LATEST["ts"] + pd.Timedelta(hours=2))
    second = json.loads(view.live_map(view.live_feed(later, NOISE, NOW + pd.Timedelta(hours=2), RHYTHM, NOISE_T, TZ), AREAS, VIEW,
                                      NOISE, TZ).to_json())
    assert first["initialViewState"] == second["initialViewState"]
    assert first["initialViewState"]["latitude"] == VIEW["latitude"] and first["initialViewState"]["zoom"] == VIEW["zoom"]
    assert [layer["id"] for layer in first["layers"]] == [layer["id"] for layer in second["layers"]]
    assert first["layers"] != second["layers"]
    assert "html" not in view.live_map(view.live_feed(later, NOISE, NOW, RHYTHM, NOISE_T, TZ), AREAS, VIEW, NOISE, TZ)._tooltip


def test_no_small_count_reaches_the_map_table_tiles_sentence_or_csv():
    feed = view.live_feed(FOOTFALL_LATEST, FOOTFALL, NOW, RHYTHM, FOOTFALL_T, TZ)
    shown = dict(zip(feed.sensors["name"], feed.sensors["value_display"]))
    # Bravo's 45 is hidden to protect the total, and says so: "<10" over a 45 would be false.
    assert shown == {"Alpha Street": "<10", "Bravo Street": "suppressed", "Charlie Street": "120", "Delta Mews": "0",
                     "Echo Lane": "<10", "Foxtrot Row": "no data"}
    # The total of the sensors reporting stays visible: less the visible 120 and 0 it gives two hidden cells' sum.
    assert (feed.headline_label, feed.headline) == ("Total now (people)", "173")
    # Against the capacity (150): none shown is above it, and the hidden 45 is said to be not counted.
    assert (feed.above_label, feed.above) == ("Above 150 people now", "0 of 4 (1 suppressed)")
    without_capacity = view.live_feed(FOOTFALL_LATEST, FOOTFALL, NOW, RHYTHM, (), TZ)
    assert (without_capacity.above_label, without_capacity.above) == ("Highest now (people)", "120")
    deck = view.live_map(feed, AREAS, VIEW, FOOTFALL, TZ)
    for records in layer_records(deck).values():
        for record in records:
            for key, value in record.items():
                if key in ("reading", "status", "name", "borough"):
                    assert not numbers_in_text(value) & {*HIDDEN, 45.0}, (key, value)
                elif key in ("lat", "lon"):
                    continue
                else:
                    assert value not in (*HIDDEN, 45.0), (key, value)
    table = view.latest_table(feed, FOOTFALL, TZ)
    assert set(table["Reading (people)"]) == {"<10", "suppressed", "120", "0", ""}
    notes = dict(zip(table["Sensor"], table["Note"]))
    assert notes["Bravo Street"] == view.SECONDARY_NOTE and notes["Alpha Street"] == "under 10: not shown"
    assert notes["Charlie Street"] == ""
    bravo = next(record for record in layer_records(deck)["sensors-reporting"] if record["name"] == "Bravo Street")
    assert bravo["reading"].startswith(f"Latest: suppressed ({view.SECONDARY_NOTE}) at")
    assert not csv_numbers(view.csv_bytes(table)) & {*HIDDEN, 45.0}
    text = view.live_sentence(feed, FOOTFALL, "Camden") + view.live_legend_html(feed, FOOTFALL, RHYTHM)
    assert not numbers_in_text(re.sub(r"1 to 9", "", text)) & {*HIDDEN, 45.0}
    hidden_colour = list(view.HIDDEN_FILL) + [240]
    reporting = {record["name"]: record for record in layer_records(deck)["sensors-reporting"]}
    assert reporting["Alpha Street"]["fill"] == hidden_colour and reporting["Bravo Street"]["fill"] == hidden_colour
    assert reporting["Delta Mews"]["fill"][:3] == list(feed.bands[0].colour)  # at or below the capacity
    plain = view.live_feed(FOOTFALL_LATEST, FOOTFALL, NOW, RHYTHM, (), TZ)
    plain_dots = {record["name"]: record for record in layer_records(
        view.live_map(plain, AREAS, VIEW, FOOTFALL, TZ))["sensors-reporting"]}
    assert plain_dots["Delta Mews"]["fill"][:3] == list(view.ZERO_FILL)  # without thresholds zero has its own colour


def test_a_lone_small_count_hides_the_total_when_nothing_else_can():
    rows = latest_rows([("A", "Alpha Street", "Camden", 51.54, -0.14, 0, 7.0),
                        ("D", "Delta Mews", "Camden", 51.52, -0.12, 0, 0.0)])
    feed = view.live_feed(rows, FOOTFALL, NOW, RHYTHM, FOOTFALL_T, TZ)
    assert feed.headline == "<10"


def test_latest_table_lists_reporting_sensors_first_loudest_first():
    table = view.latest_table(view.live_feed(NOISE_LATEST, NOISE, NOW, RHYTHM, NOISE_T, TZ), NOISE, TZ)
    assert table["Sensor"].tolist() == ["Delta Mews", "Charlie Street", "Bravo Street", "Alpha Street", "Echo Lane"]
    assert table["Status"].tolist()[-1] == "not heard from for 1 h 15 min"
    assert table["Band"].tolist()[0] == "above 65 dB(A) 07:00–23:00"


def test_metrics_without_thresholds_get_bands_over_the_shown_values():
    rows = NOISE_LATEST.assign(value=[40.0, 50.0, 60.0, 70.0, 80.0])
    feed = view.live_feed(rows, HUMIDITY, NOW, RHYTHM)
    assert len(feed.bands) == len(maps.SEQUENTIAL)
    assert feed.bands[0].label.startswith("40.0 to") and feed.bands[-1].label.endswith("70.0 %")
    assert (feed.above_label, feed.above) == ("Highest now (%)", "70.0")


# ---------------------------------------------------------------------------------------
# Series, profiles and thresholds


def test_borough_series_protects_cells_and_the_selection_total_together():
    rows = pd.DataFrame({
        "scope": ["borough", "borough", "borough", "selection"],
        "borough_code": ["E09000007", "E09000033", "E09000006", None],
        "borough_name": ["Camden", "Westminster", "Bromley", None],
        "day": [date(2026, 3, 2)] * 4,
        "value": [7.0, 45.0, 130.0, 182.0], "readings": [96] * 4, "sensors": [1, 1, 1, 3],
    })
    series = view.borough_series(rows, FOOTFALL)
    shown = dict(zip(series["label"], series["value_display"]))
    # Westminster's 45 is hidden only so the total cannot give Camden's 7 away: it is not "<10".
    assert shown == {"Camden": "<10", "Westminster": "suppressed", "Bromley": "130", "All selected boroughs": "182"}
    figure = view.borough_series_figure(series, FOOTFALL)
    hover = {trace["name"]: trace["customdata"] for trace in json.loads(figure.to_json())["data"]}
    assert hover["Westminster"] == [f"suppressed ({view.SECONDARY_NOTE})"] and hover["Camden"] == ["<10 people"]
    table = view.series_table(series, FOOTFALL).set_index("Area")
    assert table.loc["Westminster", "Footfall (people)"] == "suppressed"
    assert table.loc["Westminster", "Note"] == view.SECONDARY_NOTE
    assert not figure_numbers(figure.to_json()) & {7.0, 45.0}
    assert not csv_numbers(view.csv_bytes(view.series_table(series, FOOTFALL))) & {7.0, 45.0}
    many = view.borough_series(rows, FOOTFALL, max_boroughs=2)
    assert many["label"].tolist() == ["All selected boroughs"] and many["value_display"].tolist() == ["182"]


def test_one_sensors_readings_are_protected_day_by_day():
    rows = pd.DataFrame({
        "ts": pd.to_datetime(["2026-03-02 08:00", "2026-03-02 08:15", "2026-03-02 08:30", "2026-03-03 08:00",
                              "2026-03-03 08:15"]),
        "local_ts": pd.to_datetime(["2026-03-02 08:00", "2026-03-02 08:15", "2026-03-02 08:30", "2026-03-03 08:00",
                                    "2026-03-03 08:15"]),
        "day": [date(2026, 3, 2)] * 3 + [date(2026, 3, 3)] * 2,
        "value": [3.0, 25.0, 60.0, 12.0, 11.0],
    })
    series = view.sensor_series(rows, FOOTFALL)
    # The 3 is hidden and, as the day's total is shown elsewhere, so is the next smallest (25).
    assert series["value_display"].tolist() == ["<10", "suppressed", "60", "12", "11"]
    assert not figure_numbers(view.sensor_series_figure(series, FOOTFALL, "Alpha Street").to_json()) & {3.0, 25.0}
    assert not csv_numbers(view.csv_bytes(view.sensor_series_table(series, FOOTFALL))) & {3.0, 25.0}


def test_daily_profile_hides_small_average_counts():
    rows = pd.DataFrame({"day_type": ["weekday", "weekday", "weekend"], "hour": [3, 8, 8],
                         "value": [7.0, 240.5, 3.0], "readings": [40, 40, 16], "sensors": [2, 2, 2]})
    profile = view.daily_profile(rows, FOOTFALL)
    assert profile["value_display"].tolist() == ["<10", "240.5", "<10"]
    assert not figure_numbers(view.profile_figure(profile, FOOTFALL, RHYTHM.interval).to_json()) & set(HIDDEN)
    assert not csv_numbers(view.csv_bytes(view.profile_table(profile, FOOTFALL))) & set(HIDDEN)
    assert view.profile_sentence(profile, FOOTFALL) == "On weekdays footfall peaks around 08:00 (240.5 people on average)."


def test_exceedances_per_borough_and_day():
    def level_rows(level: int, in_hours: list[int], above: list[int]) -> pd.DataFrame:
        return pd.DataFrame({
            "borough_code": ["E09000007", "E09000007", "E09000033"], "borough_name": ["Camden", "Camden", "Westminster"],
            "day": [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 2)], "level": [level] * 3, "sensors": [2, 2, 1],
            "readings": [192, 180, 96], "in_hours": in_hours, "above": above})
    # Level 1 (55 by day, 45 at night) applies to every reading; level 2 (65) only to the day's two thirds.
    rows = pd.concat([level_rows(1, [192, 180, 96], [100, 90, 90]), level_rows(2, [128, 120, 64], [20, 0, 32])])
    days = view.exceedance_days(rows, NOISE, NOISE_T)
    assert list(days.columns) == ["borough_code", "borough_name", "day", "sensors", "readings",
                                  "in_hours_55_or_45", "above_55_or_45", "pct_above_55_or_45",
                                  "in_hours_65", "above_65", "pct_above_65"]
    assert days["pct_above_65"].tolist() == [15.6, 0.0, 50.0]  # of the readings taken by day
    table = view.exceedance_by_borough(days, NOISE, NOISE_T)
    assert table["Borough"].tolist() == ["Westminster", "Camden"]
    camden = table.set_index("Borough").loc["Camden"]
    assert camden["Above 65 dB(A)"] == 20 and camden["Above 65 dB(A) (%)"] == round(100 * 20 / 248, 1)
    assert camden["Above 55 / 45 dB(A) (%)"] == round(100 * 190 / 372, 1)
    heatmap = json.loads(view.exceedance_heatmap(days, NOISE, NOISE_T).to_json())["data"][0]
    assert heatmap["y"] == ["Westminster", "Camden"]
    assert "65 dB(A) 07:00–23:00" in heatmap["hovertemplate"]
    assert view.exceedance_sentence(table, NOISE, NOISE_T) == (
        "Westminster had the largest share of readings above 65 dB(A) 07:00–23:00 (50.0%, 32 readings).")
    assert "WHO" in view.thresholds_sentence(NOISE_T, "dB(A)")


def test_threshold_lines_on_the_hour_of_day_chart_run_only_over_their_hours():
    rows = pd.DataFrame({"day_type": ["weekday", "weekday"], "hour": [3, 12], "value": [50.0, 60.0],
                         "readings": [4, 4], "sensors": [1, 1]})
    figure = json.loads(view.profile_figure(view.daily_profile(rows, NOISE), NOISE, RHYTHM.interval,
                                            NOISE_T).to_json())["layout"]
    lines = sorted((shape["y0"], shape["x0"], shape["x1"]) for shape in figure["shapes"] if shape["type"] == "line")
    assert lines == [(45.0, -0.5, 6.5), (45.0, 22.5, 23.5), (55.0, 6.5, 22.5), (65.0, 6.5, 22.5)]
    # Each label at the start of its line's longest stretch, inside the chart (the night line's
    # 23:00 stretch is an hour wide: a label there ran off the right edge).
    labels = sorted((note["y"], note["x"]) for note in figure["annotations"] if "dB(A)" in note["text"])
    assert labels == [(45.0, -0.5), (55.0, 6.5), (65.0, 6.5)]


def test_attention_table_and_borough_health():
    health = pd.DataFrame({
        "entity_id": ["A", "B", "C", "D"], "name": ["Alpha", "Bravo", "Charlie", "Delta"],
        "borough_code": ["E09000007", "E09000007", "E09000033", "E09000033"],
        "borough_name": ["Camden", "Camden", "Westminster", "Westminster"],
        "last_seen": pd.to_datetime(["2026-03-02 09:45", "2026-03-01 08:00", "2026-03-02 09:45", "2026-03-02 06:00"]),
        "uptime_pct": [100.0, 40.0, 99.0, 95.0], "longest_gap": pd.to_timedelta(["0h", "20h", "0h", "4h"]),
        "stale": [False, True, False, True], "stuck": [False, False, False, False],
        "out_of_range": [0, 0, 0, 0], "status": ["ok", "dead", "ok", "attention"],
        "problems": ["", "silent for 1 day 2 h", "", "silent for 4 h"],
    })
    table = view.attention_table(health, TZ)
    assert table["Sensor"].tolist() == ["Bravo", "Delta"] and table["Rank"].tolist() == [1, 2]
    assert table["Status"].tolist() == ["dead", "needs attention"]
    shares = view.borough_health(health)
    assert shares[["borough_name", "sensors", "ok", "healthy_share"]].values.tolist() == [
        ["Camden", 2, 1, 0.5], ["Westminster", 2, 1, 0.5]]
    summary = view.health_summary(health)
    assert (summary.ok, summary.attention, summary.dead, summary.median_uptime) == (2, 1, 1, 97.0)


# ---------------------------------------------------------------------------------------
# Times and the replay


def test_periods_are_local_days_in_utc():
    start, end = view.period_bounds(date(2026, 6, 1), date(2026, 6, 30), TZ)
    assert (start, end) == (pd.Timestamp("2026-05-31 23:00"), pd.Timestamp("2026-06-30 23:00"))
    assert view.local_text(pd.Timestamp("2026-06-01 13:15"), TZ) == "Mon 01 Jun 2026, 14:15"


def test_health_is_judged_over_the_last_31_local_days_of_a_longer_period():
    start, end = view.period_bounds(date(2026, 1, 1), date(2026, 6, 30), TZ)
    # 31 London days before midnight on 1 July (BST): midnight on 31 May, 23:00 UTC.
    assert view.health_start(start, end, TZ) == pd.Timestamp("2026-05-30 23:00")
    # Across the spring change of the clocks the span is still local days: 1 April 00:00 BST back
    # to 1 March 00:00 GMT.
    assert view.health_start(start, pd.Timestamp("2026-03-31 23:00"), TZ) == pd.Timestamp("2026-03-01 00:00")
    short_start, short_end = view.period_bounds(date(2026, 6, 1), date(2026, 6, 30), TZ)
    assert view.health_start(short_start, short_end, TZ) == short_start


def test_replay_start_defaults_to_a_morning_and_stays_inside_the_period():
    start, end = view.period_bounds(date(2026, 6, 1), date(2026, 6, 30), TZ)
    assert view.default_replay_start(start, end, TZ) == datetime(2026, 6, 28, 7, 0)
    settings = view.replay_settings(None, 3600.0, start, end, TZ, RHYTHM.interval)
    assert settings.start == pd.Timestamp("2026-06-28 06:00")  # 07:00 BST
    too_late = view.replay_settings(datetime(2026, 8, 1), 60.0, start, end, TZ, RHYTHM.interval)
    assert too_late.start == end - RHYTHM.interval
    too_early = view.replay_settings(datetime(2026, 1, 1), 60.0, start, end, TZ, RHYTHM.interval)
    assert too_early.start == start
    short = view.period_bounds(date(2026, 6, 1), date(2026, 6, 1), TZ)
    assert view.default_replay_start(*short, TZ) == datetime(2026, 6, 1, 0, 0)


def test_the_replay_clock_runs_on_changes_speed_in_place_and_restarts_on_a_new_start():
    start, end = view.period_bounds(date(2026, 6, 1), date(2026, 6, 30), TZ)
    settings = view.replay_settings(datetime(2026, 6, 10, 7, 0), 3600.0, start, end, TZ, RHYTHM.interval)
    clock = view.replay_clock(None, None, settings, at=100.0)
    assert clock.now(103.0) == pd.Timestamp("2026-06-10 09:00")  # three simulated hours in three seconds
    assert view.replay_clock(clock, settings, settings, at=103.0) is clock
    slower = view.ReplaySettings(settings.start, 60.0, settings.loop_start, settings.end)
    slowed = view.replay_clock(clock, settings, slower, at=103.0)
    assert slowed.now(103.0) == pd.Timestamp("2026-06-10 09:00") and slowed.now(163.0) == pd.Timestamp("2026-06-10 10:00")
    moved = view.replay_settings(datetime(2026, 6, 20, 7, 0), 60.0, start, end, TZ, RHYTHM.interval)
    restarted = view.replay_clock(slowed, slower, moved, at=200.0)
    assert restarted.now(200.0) == pd.Timestamp("2026-06-20 06:00")
    other_period = view.replay_settings(datetime(2026, 6, 20, 7, 0), 60.0, start, end + pd.Timedelta(days=1), TZ,
                                        RHYTHM.interval)
    assert view.replay_clock(restarted, moved, other_period, at=300.0).now(300.0) == pd.Timestamp("2026-06-20 06:00")
    looping = view.replay_clock(None, None, view.replay_settings(datetime(2026, 6, 30, 23, 0), 3600.0, start, end,
                                                                  TZ, RHYTHM.interval), at=0.0)
    assert looping.now(2.0) == start + pd.Timedelta(hours=1), "after the period it starts again from its start"


def test_the_feed_moment_and_the_notice_say_what_time_is_shown():
    start, end = view.period_bounds(date(2026, 6, 1), date(2026, 6, 30), TZ)
    settings = view.replay_settings(datetime(2026, 6, 10, 7, 0), 3600.0, start, end, TZ, RHYTHM.interval)
    now = pd.Timestamp("2026-06-10 12:07:30")
    assert view.feed_moment(now, RHYTHM.interval) == pd.Timestamp("2026-06-10 12:00")
    notice = view.replay_notice(now, settings, TZ)
    assert notice.startswith("**Replay, not live.**")
    assert "Wed 10 Jun 2026, 13:07" in notice and "1 simulated hour per second" in notice
    assert "paused" in view.replay_notice(now, view.ReplaySettings(settings.start, 0.0, start, end), TZ)


def test_choose_metric_falls_back_to_the_page_default():
    metrics = view.sensor_metrics(CATALOG, {"street_sensors", "air_quality"}, "public")
    assert [metric.id for metric in metrics] == ["noise_db", "footfall", "temperature", "humidity"]
    assert view.choose_metric(metrics, "street_sensors.footfall") == (FOOTFALL, False)
    assert view.choose_metric(metrics, "air_quality.no2") == (NOISE, True)
    assert view.sensor_metrics(CATALOG, {"air_quality"}, "public") == []


# ---------------------------------------------------------------------------------------
# The page under AppTest, on the session's small demo pack.

ENTRY = REPO / "tests" / "apptest" / "entry.py"
SENSORS_PAGE = str(REPO / "pages" / "sensors.py")


@pytest.fixture
def app(demo_extracts, monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(ENTRY), default_timeout=90)


def open_sensors(app: AppTest) -> AppTest:
    app.run()
    app.switch_page(SENSORS_PAGE).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


open_section = section_opener("sensors")


def main_headers(app: AppTest) -> list[str]:
    return [header.value for header in app.main.header]


def test_the_page_says_it_is_a_replay_and_which_time_it_shows(app):
    open_sensors(app)
    notices = [info.value for info in app.info]
    replay = next(text for text in notices if text.startswith("**Replay, not live.**"))
    assert "London time" in replay and "1 simulated hour per second" in replay
    assert any("not measured by street sensors" in text for text in notices), "the fallback metric is explained"
    labels = [metric.label for metric in app.metric]
    assert labels[:4] == ["Sensors reporting", "Average now (dB(A))", "Above 65 dB(A) now", "Readings up to"]
    assert app.session_state["sensors_clock"].speed == 3600.0
    assert len(app.get("deck_gl_json_chart")) == 1
    open_section(app, "Sensor health")
    labels = [metric.label for metric in app.metric]
    assert "Healthy" in labels and "Dead" in labels
    judged = next(text.value for text in app.markdown if text.value.startswith("Every sensor of"))
    assert "over the last 31 days of the period, from " in judged, "the default 90 days are longer than health's span"


def test_changing_the_replay_speed_carries_the_clock_on(app):
    open_sensors(app)
    before = app.session_state["sensors_clock"]
    app.select_slider(key="sensors_speed").set_value(0.0).run()
    assert not app.exception
    paused = app.session_state["sensors_clock"]
    assert paused.speed == 0.0 and paused.start >= before.start
    assert any("paused" in info.value for info in app.info)


def test_live_mode_says_it_is_live(app):
    open_sensors(app)
    app.segmented_control(key="sensors_feed").set_value("live").run()
    assert not app.exception
    assert any(info.value.startswith("**Live.**") for info in app.info)
    assert not any(info.value.startswith("**Replay") for info in app.info)


def _reading_cells(app: AppTest) -> list[str]:
    cells = []
    for frame in app.dataframe:
        for column in frame.value.columns:
            if "people" in column or column.startswith("Reading") or column.startswith("Footfall"):
                cells += [str(value) for value in frame.value[column]]
    return cells


def test_footfall_never_shows_a_count_under_ten_anywhere_on_the_page(app):
    open_sensors(app)
    app.sidebar.selectbox(key="filters_metric").set_value("street_sensors.footfall").run()
    assert not app.exception, [exception.value for exception in app.exception]
    small = {float(n) for n in range(1, 10)}
    shown_hidden = False
    plotted = 0
    # The page shows one section at a time: every section in turn is the whole page.
    for label in view.SECTION_LABELS:
        open_section(app, label)
        assert main_headers(app) == [label]
        cells = _reading_cells(app)
        if label == "Latest readings":
            assert cells, "the latest-readings table is on the page"
        for cell in cells:
            assert not numbers_in_text(cell) & small, cell
            shown_hidden |= cell == "<10"
        for chart in app.get("deck_gl_json_chart"):
            for layer in json.loads(chart.proto.json)["layers"]:
                for record in layer["data"] if isinstance(layer["data"], list) else []:
                    assert not numbers_in_text(record["reading"].replace("Latest: ", "")) & small, record["reading"]
                    shown_hidden |= "<10" in record["reading"]
        for chart in app.get("plotly_chart"):
            plotted += 1
            for trace in json.loads(chart.proto.spec)["data"]:
                if trace.get("type") not in ("scatter", "scattergl") or trace.get("mode") == "text":
                    continue  # the health chart counts sensors, not people
                for value in plotly_array(trace.get("y")).ravel():
                    assert value is None or pd.isna(value) or not 0 < float(value) < 10, (trace.get("name"), value)
                for text in plotly_array(trace.get("customdata")).ravel():
                    assert not numbers_in_text(str(text)) & small, text
                    shown_hidden |= str(text).startswith("<10")
        for metric in app.metric:
            if metric.label in ("Total now (people)", "Highest now (people)"):
                assert not numbers_in_text(str(metric.value)) & small, (metric.label, metric.value)
    assert plotted == 5, "the health chart, the heatmap and the three trend charts were all checked"
    assert shown_hidden, "the demo has small counts, so some must show as <10"


# ---------------------------------------------------------------------------------------
# The page's own controls in the link


def test_control_parsers_take_valid_values_and_fall_back_on_anything_else():
    assert view.feed_from_param("live") == ("live", ())
    assert view.feed_from_param(None) == ("replay", ())
    feed, notices = view.feed_from_param("<script>alert(1)</script>")
    assert feed == "replay" and notices and "<" not in notices[0]
    assert view.speed_from_param(view.speed_to_param(900.0)) == (900.0, ())
    for hostile in ("nan", "inf", "-3600", "1e400", "3600; drop table observations", "0x10"):
        speed, notices = view.speed_from_param(hostile)
        assert speed == view.DEFAULT_SPEED and notices, hostile
    first, last, default = datetime(2026, 6, 1), datetime(2026, 6, 30, 22, 45), datetime(2026, 6, 28, 7)
    chosen = datetime(2026, 6, 10, 7, 15)
    assert view.start_from_param(view.start_to_param(chosen), first, last, default) == (chosen, ())
    for hostile in ("2026-13-45T07:00", "2026-07-10T07:00", "yesterday", "2026-06-10T07:00'--"):
        start, notices = view.start_from_param(hostile, first, last, default)
        assert start == default and notices, hostile
    assert view.sensor_from_param("B", ["A", "B"], "A") == ("B", ())
    assert view.sensor_from_param("../../etc/passwd", ["A", "B"], "A")[0] == "A"


def open_sensors_link(app: AppTest, **params) -> AppTest:
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page(SENSORS_PAGE).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


def linked(app: AppTest, key: str):
    value = app.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def test_a_link_reproduces_the_pages_own_controls(app, demo_extracts, monkeypatch):
    open_sensors(app)
    app.select_slider(key="sensors_speed").set_value(900.0).run()
    start = app.session_state["sensors_replay_start"]
    # The sensor chooser is in the Trends section; the feed's controls stay in the link meanwhile.
    open_section(app, "Trends")
    sensors = app.selectbox(key="sensors_sensor").options
    assert len(sensors) > 1
    # The demo names sensor SNS0012 "<borough> <kind> 12": the options show names, the state holds ids.
    second = int(re.search(r"(\d+) \(", sensors[1]).group(1))
    app.selectbox(key="sensors_sensor").set_value(f"SNS{second:04d}").run()
    assert not app.exception
    chosen_sensor = app.session_state["sensors_sensor"]
    params = {key: linked(app, key) for key in ("sensors_feed", "sensors_speed", "sensors_from", "sensors_sensor",
                                                "section")}
    assert params == {"sensors_feed": "replay", "sensors_speed": "900", "sensors_from": f"{start:%Y-%m-%dT%H:%M}",
                      "sensors_sensor": chosen_sensor, "section": "trends"}
    shared = {key: linked(app, key) for key in ("metric", "start", "end")}

    other = AppTest.from_file(str(ENTRY), default_timeout=90)
    open_sensors_link(other, **shared, **params)
    assert main_headers(other) == ["Trends"]
    assert other.session_state["sensors_sensor"] == chosen_sensor
    assert not any(info.value.startswith("Ignored") for info in other.info)
    # The feed's controls from the link apply when their section opens.
    open_section(other, "Latest readings")
    assert other.session_state["sensors_speed"] == 900.0
    assert other.session_state["sensors_replay_start"] == start
    assert other.session_state["sensors_clock"].speed == 900.0
    assert not any(info.value.startswith("Ignored") for info in other.info)

    live = AppTest.from_file(str(ENTRY), default_timeout=90)
    open_sensors_link(live, **shared, sensors_feed="live")
    assert live.session_state["sensors_feed"] == "live"
    assert any(info.value.startswith("**Live.**") for info in live.info)


def test_a_hostile_link_gives_the_default_controls_with_a_notice(app):
    open_sensors_link(app, sensors_feed="<img src=x onerror=alert(1)>", sensors_speed="1e9",
                      sensors_from="2026-02-30T07:00", sensors_sensor="'; drop table entities; --")
    assert app.session_state["sensors_feed"] == "replay"
    assert app.session_state["sensors_speed"] == view.DEFAULT_SPEED
    notices = [info.value for info in app.info if info.value.startswith("Ignored")]
    # The feed, its speed and its start are in the Latest readings section, the sensor in Trends.
    open_section(app, "Trends")
    first = int(re.search(r"(\d+) \(", app.selectbox(key="sensors_sensor").options[0]).group(1))
    assert app.session_state["sensors_sensor"] == f"SNS{first:04d}"
    notices += [info.value for info in app.info if info.value.startswith("Ignored")]
    assert len(notices) == 4, notices
    assert not any("onerror" in text or "drop table" in text for text in notices)
    # The link now says what is shown, not what was asked for.
    assert linked(app, "sensors_feed") == "replay" and linked(app, "sensors_speed") == "3600"
    assert linked(app, "sensors_sensor") == f"SNS{first:04d}"


# ---------------------------------------------------------------------------------------
# One section at a time


SECTION_WIDGETS = {
    # The keyed elements (controls, charts, downloads) only each section draws.
    "Latest readings": {"sensors_feed", "sensors_replay_start", "sensors_speed", "sensors_download_latest"},
    "Sensor health": {"sensors_download_attention", "sensors_health_by_borough", "sensors_download_health_boroughs"},
    "Thresholds": {"sensors_exceedance_heatmap", "sensors_download_exceedance_days",
                   "sensors_download_exceedance_boroughs"},
    "Trends": {"sensors_borough_series", "sensors_download_borough_series", "sensors_profile",
               "sensors_download_profile", "sensors_sensor", "sensors_sensor_series", "sensors_download_sensor_series"},
}
# (maps, charts, tables) each section draws on the demo data, noise level chosen.
SECTION_ELEMENTS = {"Latest readings": (1, 0, 1), "Sensor health": (0, 1, 1), "Thresholds": (0, 1, 1),
                    "Trends": (0, 3, 0)}


def widgets_drawn(app: AppTest) -> set[str]:
    return {node.key for node in app.main
            if isinstance(getattr(node, "key", None), str) and node.key.startswith("sensors_")} - {"sensors_section"}


def test_only_the_open_section_is_drawn(app):
    open_sensors(app)
    assert main_headers(app) == ["Latest readings"], "the first section opens by default"
    assert linked(app, "section") is None, "the default section leaves the link clean"
    for label in view.SECTION_LABELS:
        open_section(app, label)
        assert main_headers(app) == [label]
        assert widgets_drawn(app) == SECTION_WIDGETS[label]
        drawn = (len(app.get("deck_gl_json_chart")), len(app.get("plotly_chart")), len(app.dataframe))
        assert drawn == SECTION_ELEMENTS[label], label
        # The replay's notice and the feed's tiles belong to the Latest readings section only.
        replaying = any(info.value.startswith("**Replay, not live.**") for info in app.info)
        assert replaying == (label == "Latest readings"), label
        # Page-wide: the title and the intro stay above the sections.
        assert [title.value for title in app.title] == ["Street sensors"]
        assert any(str(markdown.value).startswith("**Noise level** (dB(A))") for markdown in app.markdown)


def test_a_link_opens_a_section_and_switching_writes_it_into_the_link(app):
    app.run()
    open_sensors_link(app, section="thresholds")
    assert main_headers(app) == ["Thresholds"]
    assert app.session_state["sensors_section"] == "Thresholds"
    assert app.get("plotly_chart") and not app.get("deck_gl_json_chart")
    open_section(app, "Sensor health")
    assert linked(app, "section") == "sensor-health"
    open_section(app, "Latest readings")
    assert linked(app, "section") is None
    assert len(app.get("deck_gl_json_chart")) == 1


def test_a_hostile_section_in_the_link_opens_the_first_with_a_notice(app):
    app.run()
    open_sensors_link(app, section="<img src=x onerror=alert(1)>")
    assert main_headers(app) == ["Latest readings"]
    notices = [info.value for info in app.info if info.value.startswith("Ignored the link's section")]
    assert len(notices) == 1 and "onerror" not in notices[0]
    assert linked(app, "section") is None


def test_the_replay_runs_on_behind_another_section_and_its_controls_are_remembered(app):
    open_sensors(app)
    app.select_slider(key="sensors_speed").set_value(900.0).run()
    clock = app.session_state["sensors_clock"]
    start = app.session_state["sensors_replay_start"]
    open_section(app, "Trends")
    assert app.session_state["sensors_clock"] is clock, "a closed section leaves the clock alone"
    open_section(app, "Latest readings")
    assert app.session_state["sensors_speed"] == 900.0
    assert app.session_state["sensors_replay_start"] == start
    assert app.session_state["sensors_clock"] is clock, "the replay carries on where it had got to"


@pytest.mark.parametrize("metric", ["street_sensors.noise_db", "street_sensors.footfall",
                                    "street_sensors.temperature", "street_sensors.humidity"])
def test_every_section_renders_for_every_sensor_metric(app, metric):
    open_sensors(app)
    app.sidebar.selectbox(key="filters_metric").set_value(metric).run()
    assert not app.exception, [exception.value for exception in app.exception]
    for label in view.SECTION_LABELS:
        open_section(app, label)
        assert main_headers(app) == [label]
        assert not app.error, [error.value for error in app.error]
        assert app.caption, f"{label}: no source note or caption"
        # Every section shows the demo dataset, so every one says it is demo data.
        assert any(str(warning.value).startswith("**Demo data, not real measurements.**")
                   for warning in app.warning), label
    # Humidity has no thresholds: its Thresholds section says so instead of charting.
    open_section(app, "Thresholds")
    says_none = any("sets no thresholds" in info.value for info in app.info)
    assert says_none == (metric == "street_sensors.humidity")
