"""DfT road traffic counts: hand-written fixtures in the real formats, and the real sample."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citydash.ingest.dft_traffic import DFT_METRICS, read_dft_traffic
from citydash.ingest.errors import IngestError
from conftest import assert_extract_contract

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "transport"
COUNTS = FIXTURES / "traffic_counts.csv"
LOCATIONS = FIXTURES / "traffic_locations.json"
LONDON = Path(__file__).resolve().parents[2] / "shared" / "data" / "london"
REAL_COUNTS = LONDON / "transport" / "london_20002016_all_raw_8am.csv"
REAL_LOCATIONS = LONDON / "transport" / "london_dft_traffic_count_locations.json"
CATALOGUE_METRICS = {"pedal_cycles", "motorcycles", "cars", "buses", "lgvs", "hgvs"}


def _check_contract(extract) -> None:
    assert_extract_contract(extract, CATALOGUE_METRICS)


def _counts_for(extract, entity_id: str) -> dict[tuple[pd.Timestamp, str], float]:
    observations = extract.observations[extract.observations["entity_id"] == entity_id]
    return dict(zip(zip(observations["ts"], observations["metric"]), observations["value"]))


@pytest.fixture(scope="module")
def fixture_extract():
    return read_dft_traffic(COUNTS, LOCATIONS)


def test_fixture_follows_the_contract(fixture_extract):
    _check_contract(fixture_extract)


def test_metric_ids_are_the_catalogue_ones():
    assert set(DFT_METRICS.values()) == CATALOGUE_METRICS


def test_every_count_row_is_kept_or_rejected(fixture_extract):
    with COUNTS.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if any(field.strip() for field in row)][1:]
    rejected = fixture_extract.rejects[fixture_extract.rejects["source"] == COUNTS.name]
    kept = fixture_extract.observations.drop_duplicates(["entity_id", "ts"])
    assert len(rows) == len(kept) + len(rejected)
    assert len(kept) == 5
    # Kept rows give one observation per non-empty vehicle count: 6 + 6 + 5 + 6 + 6.
    assert len(fixture_extract.observations) == 29


def test_count_points_with_counts_become_entities(fixture_extract):
    entities = fixture_extract.entities.set_index("entity_id")
    assert sorted(entities.index) == ["6000", "6075", "8888", "990144"]
    assert entities.loc["6000", "name"] == "M1 (count point 6000)"
    assert entities.loc["990144", "name"] == "Count point 990144"
    assert entities.loc["6000", "kind"] == "Motorway (trunk)"
    assert entities.loc["6075", "kind"] == "Principal A road, urban"
    assert entities.loc["990144", "kind"] == "Unclassified road, urban"
    assert entities.loc["8888", "kind"] == "ZQ"
    assert (entities.loc["6075", "lat"], entities.loc["6075", "lon"]) == (51.5566, -0.1175)


def test_the_counted_hour_is_stored_in_utc(fixture_extract):
    # 27 March 2000 was the day after the clocks went forward: 08:00 BST is 07:00 UTC.
    summer = _counts_for(fixture_extract, "6000")
    assert summer[(pd.Timestamp("2000-03-27 07:00"), "cars")] == 2564
    # 20 March 2001 was before the clocks went forward: 08:00 GMT is 08:00 UTC.
    assert summer[(pd.Timestamp("2001-03-20 08:00"), "hgvs")] == 243
    # The clocks went back at 01:00 UTC on 31 October 2010, so 08:00 that day was GMT.
    autumn = _counts_for(fixture_extract, "990144")
    assert set(ts for ts, _ in autumn) == {pd.Timestamp("2010-10-31 08:00")}


def test_each_vehicle_column_becomes_its_metric_and_an_empty_count_is_absent(fixture_extract):
    counts = _counts_for(fixture_extract, "6075")
    ts = pd.Timestamp("2005-06-15 07:00")
    assert counts == {
        (ts, "pedal_cycles"): 12,
        (ts, "cars"): 900,
        (ts, "buses"): 40,
        (ts, "lgvs"): 200,
        (ts, "hgvs"): 50,
    }


def test_bad_count_rows_are_rejected_with_their_reason(fixture_extract):
    rejects = fixture_extract.rejects[fixture_extract.rejects["source"] == COUNTS.name]
    reasons = dict(zip(rejects["record"], rejects["reason"]))
    assert set(reasons) == {"4", "6", "7", "9", "10", "11", "14"}
    assert reasons["4"] == (
        "duplicate of an earlier line for the same count point and day: line 3 (count point 6000, 2001-03-20)"
    )
    assert reasons["6"] == "pc is not a number: 'x'"
    assert reasons["7"] == "car is negative: -3"
    assert reasons["9"] == "no such date: day 30 of month 2 in 2008"
    assert reasons["10"].startswith("no vehicle counts")
    assert reasons["11"] == "count point not in the locations file: 12345"
    assert reasons["14"] == "row has a different number of fields from the header (13): found 14"
    raw = dict(zip(rejects["record"], rejects["raw"]))
    assert raw["6"] == "6075,2006,x,1,1,1,1,1,6,15,8,E,W"


def test_bad_location_features_are_rejected_with_their_reason(fixture_extract):
    rejects = fixture_extract.rejects[fixture_extract.rejects["source"] == LOCATIONS.name]
    reasons = dict(zip(rejects["record"], rejects["reason"]))
    assert set(reasons) == {"5", "6"}
    assert reasons["5"] == "geometry is not a Point"
    assert reasons["6"] == "duplicate of an earlier feature for the same count point: feature 0 (count point 6000)"


def test_missing_count_columns_are_named(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text("cp,year,pc,2wmv,bus,lgv,hgv_total,min_month,min_dayofmonth\n6000,2000,0,51,14,318,155,3,27\n")
    with pytest.raises(IngestError, match=r"counts\.csv.*missing column\(s\): car, hour"):
        read_dft_traffic(counts, LOCATIONS)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"type": "FeatureCollection", "features": [', "not valid JSON"),
        ('[{"cp": 6000}]', "expected a GeoJSON FeatureCollection"),
        (
            '{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},'
            ' "features": []}',
            "EPSG::27700",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"cp": 6000, "road": "M1"},'
            ' "geometry": {"type": "Point", "coordinates": [-0.2, 51.5]}}]}',
            r"propert\(ies\): rcat",
        ),
    ],
)
def test_unreadable_locations_are_refused_naming_the_file(tmp_path, text, problem):
    locations = tmp_path / "locations.json"
    locations.write_text(text)
    with pytest.raises(IngestError, match=problem) as raised:
        read_dft_traffic(COUNTS, locations)
    assert str(locations) in str(raised.value)


def test_a_missing_counts_file_is_refused(tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        read_dft_traffic(tmp_path / "absent.csv", LOCATIONS)


# ---------------------------------------------------------------------------------
# The real sample

@pytest.fixture(scope="module")
def real_extract():
    if not LONDON.exists():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    return read_dft_traffic(REAL_COUNTS, REAL_LOCATIONS)


def test_real_sample_has_12763_counts_at_2548_count_points(real_extract):
    _check_contract(real_extract)
    assert real_extract.rejects.empty
    assert len(real_extract.entities) == 2548
    counted = real_extract.observations.drop_duplicates(["entity_id", "ts"])
    assert len(counted) == 12763
    assert len(real_extract.observations) == 12763 * 6


def test_real_sample_hours_follow_british_summer_time(real_extract):
    ts = real_extract.observations["ts"]
    assert set(ts.dt.hour) <= {7, 8}
    assert (ts[ts.dt.month.isin([5, 6, 7, 8, 9])].dt.hour == 7).all()
    assert (ts[ts.dt.month.isin([1, 2, 11, 12])].dt.hour == 8).all()


def test_real_sample_locations_are_the_geojson_points(real_extract):
    features = json.loads(REAL_LOCATIONS.read_text())["features"]
    published = {str(f["properties"]["cp"]): f["geometry"]["coordinates"] for f in features}
    entities = real_extract.entities.set_index("entity_id")
    lon = np.array([published[cp][0] for cp in entities.index])
    lat = np.array([published[cp][1] for cp in entities.index])
    assert np.array_equal(entities["lon"].to_numpy(), lon)
    assert np.array_equal(entities["lat"].to_numpy(), lat)
    assert not entities["kind"].str.fullmatch(r"[A-Z]{2}").any()
