"""TfL station entry/exit counts: hand-written fixtures in the real formats, and the real sample."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pandas as pd
import pytest

from citydash.ingest.errors import IngestError
from citydash.ingest.tfl_stations import (
    STATION_METRICS,
    read_tfl_station_counts,
    station_join_summary,
)
from conftest import assert_extract_contract

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "transport"
COUNTS = FIXTURES / "station_counts.csv"
STATIONS = FIXTURES / "stations.csv"
LONDON = Path(__file__).resolve().parents[2] / "shared" / "data" / "london"
REAL_COUNTS = LONDON / "transport" / "station_entry_exit_counts.csv"
REAL_STATIONS = LONDON / "transport" / "london_combinedstations_630.csv"


def _check_contract(extract) -> None:
    assert_extract_contract(extract, set(STATION_METRICS))
    # Only stations that have counts become entities.
    assert set(extract.observations["entity_id"]) == set(extract.entities["entity_id"])


def _reasons(extract, source: str) -> dict[str, str]:
    rejects = extract.rejects[extract.rejects["source"] == source]
    return dict(zip(rejects["record"], rejects["reason"]))


def _value(extract, entity_id: str, metric: str, year: int) -> float:
    observations = extract.observations
    match = observations[
        (observations["entity_id"] == entity_id)
        & (observations["metric"] == metric)
        & (observations["ts"] == pd.Timestamp(year, 1, 1))
    ]
    assert len(match) == 1, (entity_id, metric, year)
    return float(match["value"].iloc[0])


@pytest.fixture(scope="module")
def fixture_extract():
    return read_tfl_station_counts(COUNTS, STATIONS)


def test_fixture_follows_the_contract(fixture_extract):
    _check_contract(fixture_extract)


def test_every_count_line_is_kept_rejected_or_a_missing_reading(fixture_extract):
    lines = [line for line in COUNTS.read_text().splitlines() if line.strip()]
    missing_values = [line for line in lines if line.endswith(',""')]
    from_counts = fixture_extract.rejects[fixture_extract.rejects["source"] == COUNTS.name]
    assert len(lines) == len(fixture_extract.observations) + len(from_counts) + len(missing_values)
    assert len(missing_values) == 1


def test_stations_with_counts_become_entities_keyed_by_the_stations_id(fixture_extract):
    kinds = dict(zip(fixture_extract.entities["entity_id"], fixture_extract.entities["kind"]))
    assert kinds == {
        "940GZZLUACT": "Underground",
        "940GZZLUALD": "Underground",
        "940GZZDLSIT": "DLR",
        "NLT": "National Rail",
        "910GHAYESAH": "National Rail",
        "910GBRTWOOD": "Not in London",
        "910GBATRSPK": "National Rail",
        "940GZZCRWOD": "Tram",
    }
    names = dict(zip(fixture_extract.entities["entity_id"], fixture_extract.entities["name"]))
    assert names["910GBATRSPK"] == "Battersea Park, Queenstown Road"


def test_station_location_is_converted_from_british_national_grid(fixture_extract):
    acton = fixture_extract.entities.set_index("entity_id").loc["940GZZLUACT"]
    # Acton Town station is at about 51.5028 N, 0.2801 W.
    assert acton["lat"] == pytest.approx(51.5028, abs=0.001)
    assert acton["lon"] == pytest.approx(-0.2801, abs=0.001)


def test_each_id_scheme_joins_its_station(fixture_extract):
    assert _value(fixture_extract, "940GZZLUACT", "weekday_entries", 2014) == 9379  # padded NLC "0500"
    assert _value(fixture_extract, "940GZZLUALD", "weekday_entries", 2014) == 12779  # unquoted line
    assert _value(fixture_extract, "NLT", "annual_entries_exits", 2015) == 259988  # NLC 1478
    assert _value(fixture_extract, "NLT", "annual_nr_season", 2016) == 41000  # CRS that is the id
    assert _value(fixture_extract, "910GHAYESAH", "annual_nr_reduced", 2016) == 1500000  # CRS in nr_id
    assert _value(fixture_extract, "940GZZCRWOD", "weekday_late_exits", 2013) == 0


def test_metric_codes_map_to_typical_day_and_annual_metrics(fixture_extract):
    metrics = set(zip(fixture_extract.observations["entity_id"], fixture_extract.observations["metric"]))
    assert ("940GZZLUACT", "weekday_exits") in metrics
    assert ("940GZZLUACT", "annual_entries_exits") in metrics
    assert ("940GZZDLSIT", "weekday_am_entries") in metrics
    assert ("910GBATRSPK", "sunday_exits") in metrics
    assert STATION_METRICS["weekday_entries"]["period"] == "typical day"
    assert STATION_METRICS["annual_entries_exits"]["period"] == "annual"
    assert all(spec["period"] == "annual" for spec in STATION_METRICS.values() if spec["source_code"].endswith("_yr"))
    assert all(spec["period"] == "typical day" for spec in STATION_METRICS.values() if not spec["source_code"].endswith("_yr"))


def test_observations_are_stamped_1_january_of_their_year(fixture_extract):
    years = fixture_extract.observations["ts"]
    assert (years.dt.month == 1).all() and (years.dt.day == 1).all() and (years.dt.hour == 0).all()
    assert set(years.dt.year) == {2013, 2014, 2015, 2016}


def test_bad_count_lines_are_rejected_with_their_reason(fixture_extract):
    reasons = _reasons(fixture_extract, COUNTS.name)
    assert set(reasons) == {"5", "9", "12", "13", "18", "19", "20", "21", "22", "23", "24", "25"}
    assert reasons["5"].startswith("duplicate of an earlier line for the same station, year and metric: line 1 ")
    assert "kept value 9379" in reasons["5"]
    assert reasons["9"].startswith("duplicate of an earlier line for the same station, year and metric: line 8 ")
    assert reasons["12"] == "value is not a number: 'abc'"
    assert reasons["13"] == "value is negative: -5"
    assert reasons["18"].startswith("metric is not one of in, out,") and reasons["18"].endswith(": 'xx_yr'")
    assert reasons["19"] == "year is not a four-digit year: '20x4'"
    assert reasons["20"].startswith("old TfL station number") and reasons["20"].endswith(": '12'")
    assert reasons["21"].startswith("CRS code not in the stations file") and reasons["21"].endswith(": 'ABD'")
    assert reasons["22"] == "NLC not in the stations file (nlc_id): '0999'"
    assert reasons["23"] == "station code not in the stations file (id): 'AGWP'"
    assert reasons["24"] == "NLC not in the stations file (nlc_id): '0940'"
    assert reasons["25"] == "expected 4 comma-separated fields (station_id, year, metric, value): found 3"
    raw = dict(zip(fixture_extract.rejects["record"], fixture_extract.rejects["raw"]))
    assert raw["12"] == '"HAY","2016","f_yr","abc"'


def test_bad_station_rows_are_rejected_with_their_reason(fixture_extract):
    reasons = _reasons(fixture_extract, STATIONS.name)
    assert set(reasons) == {"11", "12", "13"}
    assert reasons["11"] == "wkt_geom is not a WKT POINT: 'not a point'"
    assert reasons["12"] == "id repeats an earlier station: '940GZZLUACT' is on line 2"
    assert reasons["13"] == "row has a different number of fields from the header (6): found 7"


def test_a_missing_stations_column_is_named(tmp_path):
    stations = tmp_path / "stations.csv"
    stations.write_text("wkt_geom,id,name,nr_id\nPoint (519483.6 179598.0),940GZZLUACT,Acton Town,\n")
    with pytest.raises(IngestError, match=r"stations\.csv.*missing column\(s\): nlc_id, category"):
        read_tfl_station_counts(COUNTS, stations)


def test_counts_without_a_value_column_are_refused(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text('"0500","2014","in"\n"0500","2014","out"\n')
    with pytest.raises(IngestError, match=r"counts\.csv.*missing column\(s\): value"):
        read_tfl_station_counts(counts, STATIONS)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "file not found"), (b"", "file is empty"), (b"\xff\xfe\x00\x01", "not UTF-8")],
)
def test_unreadable_counts_files_are_refused(tmp_path, content, problem):
    counts = tmp_path / "counts.csv"
    if content is not None:
        counts.write_bytes(content)
    with pytest.raises(IngestError, match=problem) as raised:
        read_tfl_station_counts(counts, STATIONS)
    assert str(counts) in str(raised.value)


# ---------------------------------------------------------------------------------
# The real sample

@pytest.fixture(scope="module")
def real_extract():
    if not LONDON.exists():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    started = time.perf_counter()
    extract = read_tfl_station_counts(REAL_COUNTS, REAL_STATIONS)
    return extract, time.perf_counter() - started


def test_real_sample_follows_the_contract_quickly(real_extract):
    extract, seconds = real_extract
    _check_contract(extract)
    assert seconds < 10


def test_real_sample_accounts_for_every_line(real_extract):
    extract, _ = real_extract
    with REAL_COUNTS.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 87416
    missing_values = sum(1 for row in rows if len(row) == 4 and row[3] == "")
    from_counts = extract.rejects[extract.rejects["source"] == REAL_COUNTS.name]
    assert len(rows) == len(extract.observations) + len(from_counts) + missing_values


def test_real_sample_maps_every_metric_code(real_extract):
    extract, _ = real_extract
    with REAL_COUNTS.open(newline="") as handle:
        codes = {row[2] for row in csv.reader(handle)}
    assert codes == {spec["source_code"] for spec in STATION_METRICS.values()}
    assert not extract.rejects["reason"].str.startswith("metric is not one of").any()


def test_real_sample_join_rates_by_id_scheme(real_extract):
    summary = station_join_summary(REAL_COUNTS, REAL_STATIONS).set_index("scheme")
    assert summary.loc["nlc", "station_ids"] == 697
    assert summary.loc["nlc", "station_ids_joined"] == 607
    assert summary.loc["crs", "station_ids"] == 2556
    assert summary.loc["crs", "station_ids_joined"] == 209
    assert summary.loc["old_tfl_number", "station_ids_joined"] == 0
    assert summary["lines"].sum() == 87416


def test_real_sample_stations_are_in_and_around_london(real_extract):
    extract, _ = real_extract
    entities = extract.entities
    assert entities["lat"].between(51.2, 51.8).all()
    assert entities["lon"].between(-0.7, 0.4).all()
    assert set(entities["kind"]) == {"Underground", "DLR", "Overground", "Tram", "National Rail", "Not in London"}


def test_real_sample_weekday_time_bands_add_up_to_the_weekday_count(real_extract):
    extract, _ = real_extract
    table = extract.observations.pivot_table(index=["entity_id", "ts"], columns="metric", values="value")
    for direction in ("entries", "exits"):
        bands = table[[f"weekday_{band}_{direction}" for band in ("early", "am", "mid", "pm", "late")]]
        both = pd.DataFrame({"bands": bands.sum(axis=1, min_count=5), "day": table[f"weekday_{direction}"]}).dropna()
        busy = both[both["day"] > 1000]
        relative_gap = ((busy["bands"] - busy["day"]).abs() / busy["day"]).median()
        assert len(busy) > 500
        assert relative_gap < 0.01
