"""The UK Daily Air Quality Index: bands, running means and daily indices."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from citydash.airquality import daily_index, daqi_band, daqi_index, load_daqi, running_mean

CATALOG = Path(__file__).resolve().parents[1] / "data" / "catalog.toml"

# The official DAQI table (Defra / COMEAP, µg/m³): index -> (lowest, highest) whole-number
# concentration. Written out here, not read from the catalogue, so a wrong catalogue fails.
OFFICIAL_DAQI = {
    "no2": [(0, 67), (68, 134), (135, 200), (201, 267), (268, 334), (335, 400),
            (401, 467), (468, 534), (535, 600), (601, None)],
    "o3": [(0, 33), (34, 66), (67, 100), (101, 120), (121, 140), (141, 160),
           (161, 187), (188, 213), (214, 240), (241, None)],
    "pm25": [(0, 11), (12, 23), (24, 35), (36, 41), (42, 47), (48, 53),
             (54, 58), (59, 64), (65, 70), (71, None)],
    "pm10": [(0, 16), (17, 33), (34, 50), (51, 58), (59, 66), (67, 75),
             (76, 83), (84, 91), (92, 100), (101, None)],
}
OFFICIAL_BANDS = {"Low": (1, 3), "Moderate": (4, 6), "High": (7, 9), "Very High": (10, 10)}


def _edge_cases():
    for pollutant, ranges in OFFICIAL_DAQI.items():
        for index, (low, high) in enumerate(ranges, start=1):
            yield pollutant, low, index
            if low > 0:
                yield pollutant, low - 0.5, index  # rounds half up into this band
                yield pollutant, low - 0.6, index - 1
            if high is not None:
                yield pollutant, high, index
                yield pollutant, high + 0.4, index
                yield pollutant, high + 0.5, index + 1
            else:
                yield pollutant, low * 10, index


@pytest.mark.parametrize(("pollutant", "concentration", "expected"), list(_edge_cases()))
def test_every_band_edge_matches_the_official_table(pollutant, concentration, expected):
    assert daqi_index(pollutant, concentration) == expected
    assert daqi_index(pollutant, concentration, load_daqi(CATALOG)) == expected


def test_examples_from_the_brief():
    cases = [(67, 1), (67.4, 1), (67.5, 2), (68, 2), (600, 9), (600.4, 9), (600.6, 10), (0, 1)]
    assert [daqi_index("no2", c) for c, _ in cases] == [expected for _, expected in cases]


def test_catalogue_bands_match_the_official_ones():
    daqi = load_daqi(CATALOG)
    assert {band.name: (band.first, band.last) for band in daqi.bands} == OFFICIAL_BANDS
    assert dict(daqi.averaging_hours) == {"no2": 1, "o3": 8, "pm25": 24, "pm10": 24}
    for name, (first, last) in OFFICIAL_BANDS.items():
        for index in range(first, last + 1):
            band = daqi_band(index)
            assert band.name == name
            assert band.advice_general and band.advice_at_risk
    assert daqi_band(1).advice_general == "Enjoy your usual outdoor activities."
    assert "reliever inhaler" in daqi_band(10).advice_at_risk


@pytest.mark.parametrize("index", [0, 11, -1])
def test_band_outside_the_scale_is_an_error(index):
    with pytest.raises(ValueError, match=f"DAQI index {index} is outside 1..10"):
        daqi_band(index)


@pytest.mark.parametrize(
    ("pollutant", "concentration", "message"),
    [
        ("so2", 10.0, "unknown DAQI pollutant 'so2'"),
        ("NO2", 10.0, "unknown DAQI pollutant 'NO2'"),
        ("no2", math.nan, "NaN"),
        ("pm25", -0.1, "negative"),
    ],
)
def test_bad_arguments_are_errors(pollutant, concentration, message):
    with pytest.raises(ValueError, match=message):
        daqi_index(pollutant, concentration)


VALID_SECTION = """
[indices.daqi]
averaging_hours = { no2 = 1 }
upper_bounds = { no2 = %s }
%s
"""
FOUR_BANDS = """
[[indices.daqi.bands]]
name = "Low"
first = 1
last = 3
advice_general = "g"
advice_at_risk = "r"
[[indices.daqi.bands]]
name = "Moderate"
first = 4
last = 6
advice_general = "g"
advice_at_risk = "r"
[[indices.daqi.bands]]
name = "High"
first = %d
last = 9
advice_general = "g"
advice_at_risk = "r"
[[indices.daqi.bands]]
name = "Very High"
first = 10
last = %d
advice_general = "g"
advice_at_risk = "r"
"""
GOOD_BOUNDS = "[67, 134, 200, 267, 334, 400, 467, 534, 600]"


def _write(tmp_path: Path, bounds: str, bands: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(VALID_SECTION % (bounds, bands), encoding="utf-8")
    return path


def test_a_valid_small_catalogue_loads(tmp_path):
    daqi = load_daqi(_write(tmp_path, GOOD_BOUNDS, FOUR_BANDS % (7, 10)))
    assert daqi.pollutants == ("no2",)
    assert daqi_index("no2", 601, daqi) == 10


@pytest.mark.parametrize(
    ("bounds", "bands", "message"),
    [
        ("[67, 134, 200, 267, 334, 400, 467, 534]", FOUR_BANDS % (7, 10), "list of 9 numbers"),
        ("[67, 134, 200, 200, 334, 400, 467, 534, 600]", FOUR_BANDS % (7, 10), "strictly increasing"),
        ("[67, 134, 200, 267, 334, 400, 467, 600, 534]", FOUR_BANDS % (7, 10), "strictly increasing"),
        (GOOD_BOUNDS, FOUR_BANDS % (8, 10), "gap at index 7"),
        (GOOD_BOUNDS, FOUR_BANDS % (6, 10), "overlap at index 6"),
        (GOOD_BOUNDS, FOUR_BANDS % (7, 9), "'Very High' needs whole numbers first <= last"),
        (GOOD_BOUNDS, FOUR_BANDS % (7, 11), "cover indices 1..10"),
        (GOOD_BOUNDS, "", "bands"),
    ],
)
def test_an_inconsistent_catalogue_is_rejected_with_the_problem(tmp_path, bounds, bands, message):
    path = _write(tmp_path, bounds, bands)
    with pytest.raises(ValueError, match=message) as caught:
        load_daqi(path)
    assert str(path) in str(caught.value)


def test_a_catalogue_without_the_section_is_rejected(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text('[city]\nid = "x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"no \[indices.daqi\] section"):
        load_daqi(path)


def _hourly(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.to_datetime([ts for ts, _ in rows]), "value": [v for _, v in rows]})


def test_running_mean_needs_three_quarters_of_the_window():
    # 8-hour window: 6 readings needed. Hours 03-04 are missing.
    frame = _hourly([
        ("2026-03-01 00:00", 8.0), ("2026-03-01 01:00", 16.0), ("2026-03-01 02:00", 24.0),
        ("2026-03-01 05:00", 32.0), ("2026-03-01 06:00", 40.0), ("2026-03-01 07:00", 48.0),
        ("2026-03-01 08:00", 56.0), ("2026-03-01 09:00", 64.0), ("2026-03-01 10:00", 72.0),
    ])
    means = running_mean(frame, 8)
    assert list(means.index) == list(pd.date_range("2026-03-01 00:00", "2026-03-01 10:00", freq="h"))
    expected = {
        "2026-03-01 06:00": math.nan,  # 00..06 has 5 readings
        "2026-03-01 07:00": (8 + 16 + 24 + 32 + 40 + 48) / 6,  # 00..07: 6 of 8
        "2026-03-01 08:00": (16 + 24 + 32 + 40 + 48 + 56) / 6,  # 01..08
        "2026-03-01 09:00": (24 + 32 + 40 + 48 + 56 + 64) / 6,  # 02..09
        "2026-03-01 10:00": (32 + 40 + 48 + 56 + 64 + 72) / 6,  # 03..10
    }
    for ts, value in expected.items():
        actual = means[pd.Timestamp(ts)]
        assert (math.isnan(actual) and math.isnan(value)) or actual == pytest.approx(value)
    assert means[:"2026-03-01 06:00"].isna().all()


def test_running_mean_24_hours_with_17_and_18_readings():
    hours = pd.date_range("2026-03-01 00:00", periods=24, freq="h")
    values = {ts: 10.0 for ts in hours[:18]} | {hours[23]: 100.0}
    frame = pd.DataFrame({"ts": list(values), "value": list(values.values())})
    means = running_mean(frame, 24)
    assert means[hours[16]] != means[hours[16]]  # 17 readings: NaN
    assert means[hours[17]] == pytest.approx(10.0)  # 18 readings
    assert means[hours[22]] == pytest.approx(10.0)  # still the same 18
    assert means[hours[23]] == pytest.approx((18 * 10 + 100) / 19)


def test_running_mean_of_one_hour_is_the_reading_and_gaps_are_nan():
    frame = _hourly([("2026-03-01 00:00", 5.0), ("2026-03-01 02:00", 7.5)])
    means = running_mean(frame, 1)
    assert means.tolist()[0] == 5.0 and math.isnan(means.tolist()[1]) and means.tolist()[2] == 7.5


def test_running_mean_coverage_parameter():
    frame = _hourly([("2026-03-01 00:00", 4.0), ("2026-03-01 03:00", 8.0)])
    assert running_mean(frame, 4, min_coverage=0.5)[pd.Timestamp("2026-03-01 03:00")] == 6.0
    assert math.isnan(running_mean(frame, 4)[pd.Timestamp("2026-03-01 03:00")])


def test_running_mean_rejects_readings_off_the_hour():
    with pytest.raises(ValueError, match="on the hour"):
        running_mean(_hourly([("2026-03-01 00:30", 4.0)]), 8)


def _readings(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["entity_id", "ts", "metric", "value"]).assign(
        ts=lambda frame: pd.to_datetime(frame["ts"], format="ISO8601").astype("datetime64[us]")
    )


def _index_of(result: pd.DataFrame, entity: str, day: str, metric: str) -> tuple[int, float, str]:
    row = result[
        (result["entity_id"] == entity)
        & (result["day"] == dt.date.fromisoformat(day))
        & (result["metric"] == metric)
    ]
    assert len(row) == 1, f"expected one row for {entity} {day} {metric}, got {len(row)}"
    return int(row["index"].iloc[0]), float(row["concentration"].iloc[0]), row["pollutant"].iloc[0]


def test_daily_index_highest_pollutant_wins():
    day = pd.date_range("2026-01-10 00:00", periods=24, freq="h")  # GMT: local = UTC
    rows = [("S1", str(ts), "pm25", 40.0) for ts in day]  # 24h mean 40 -> PM2.5 band 4
    rows += [("S1", "2026-01-10 08:00", "no2", 60.0), ("S1", "2026-01-10 09:00", "no2", 135.0)]
    rows += [("S1", str(ts), "o3", 67.0) for ts in day[:8]]  # 8h mean 67 -> O3 band 3
    rows += [("S1", str(ts), "pm10", 200.0) for ts in day[:17]]  # 17 of 24: no valid mean
    rows += [("S1", "2026-01-10 09:00", "so2", 900.0)]  # not a DAQI pollutant
    result = daily_index(_readings(rows))
    assert list(result.columns) == ["entity_id", "day", "metric", "index", "concentration", "pollutant"]
    assert list(result["metric"]) == ["daqi", "no2", "o3", "pm25"]
    assert _index_of(result, "S1", "2026-01-10", "no2") == (3, 135.0, "no2")
    assert _index_of(result, "S1", "2026-01-10", "o3") == (3, 67.0, "o3")
    assert _index_of(result, "S1", "2026-01-10", "pm25") == (4, 40.0, "pm25")
    assert _index_of(result, "S1", "2026-01-10", "daqi") == (4, 40.0, "pm25")
    assert result["index"].dtype == "int64"


def test_daily_index_takes_the_highest_running_mean_of_the_day():
    day = pd.date_range("2026-01-10 00:00", periods=10, freq="h")
    values = [30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 110.0, 110.0]
    rows = [("S1", str(ts), "o3", value) for ts, value in zip(day, values)]
    result = daily_index(_readings(rows))
    # Best 8-hour window is 02..09: (6 * 30 + 2 * 110) / 8 = 50 -> band 2, although an hour
    # reached 110 (band 4): ozone is banded on its running 8-hour mean.
    assert _index_of(result, "S1", "2026-01-10", "o3") == (2, 50.0, "o3")


def test_daily_index_days_are_local_days_in_summer_time():
    rows = [
        ("S1", "2026-06-14 22:00", "no2", 10.0),  # 23:00 BST on the 14th
        ("S1", "2026-06-14 23:00", "no2", 140.0),  # 00:00 BST on the 15th
    ]
    london = daily_index(_readings(rows))
    assert _index_of(london, "S1", "2026-06-14", "no2") == (1, 10.0, "no2")
    assert _index_of(london, "S1", "2026-06-15", "no2") == (3, 140.0, "no2")
    utc = daily_index(_readings(rows), tz="UTC")
    assert _index_of(utc, "S1", "2026-06-14", "daqi") == (3, 140.0, "no2")
    assert set(utc["day"]) == {dt.date(2026, 6, 14)}


def test_daily_index_sites_are_independent_and_ties_go_to_catalogue_order():
    day = pd.date_range("2026-01-10 00:00", periods=24, freq="h")
    rows = [("S2", str(ts), "pm25", 12.0) for ts in day]  # band 2
    rows += [("S2", "2026-01-10 12:00", "no2", 68.0)]  # band 2 too: no2 comes first
    rows += [("S1", "2026-01-10 12:00", "no2", 601.0)]  # band 10 at another site
    result = daily_index(_readings(rows))
    assert _index_of(result, "S2", "2026-01-10", "daqi") == (2, 68.0, "no2")
    assert _index_of(result, "S1", "2026-01-10", "daqi") == (10, 601.0, "no2")
    assert list(result["entity_id"]) == ["S1", "S1", "S2", "S2", "S2"]


def test_daily_index_windows_do_not_cross_sites():
    hours = pd.date_range("2026-01-10 00:00", periods=24, freq="h")
    # S1 ends at 23:00 on the 10th; S2 starts at 00:00 on the 11th with 12 readings only.
    rows = [("S1", str(ts), "pm10", 100.0) for ts in hours]
    rows += [("S2", str(ts + pd.Timedelta(hours=24)), "pm10", 1.0) for ts in hours[:12]]
    result = daily_index(_readings(rows))
    assert list(result["entity_id"].unique()) == ["S1"]


def test_daily_index_of_nothing_is_empty():
    result = daily_index(_readings([("S1", "2026-01-10 00:00", "so2", 3.0)]))
    assert result.empty
    assert list(result.columns) == ["entity_id", "day", "metric", "index", "concentration", "pollutant"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("S1", "2026-01-10 00:00", "no2", 1.0), ("S1", "2026-01-10 00:00", "no2", 2.0)],
         "more than one value for the same hour: S1 no2"),
        ([("S1", "2026-01-10 00:00", "no2", math.nan)], "NaN"),
        ([("S1", "2026-01-10 00:00", "no2", -1.0)], "negative"),
        ([("S1", "2026-01-10 00:15", "no2", 1.0)], "on the hour"),
    ],
)
def test_daily_index_rejects_bad_readings(rows, message):
    with pytest.raises(ValueError, match=message):
        daily_index(_readings(rows))
