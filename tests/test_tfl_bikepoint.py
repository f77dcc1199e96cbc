"""TfL BikePoint snapshot: hand-written fixtures in the real API shape, and the real sample."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from citydash.ingest.errors import IngestError
from citydash.ingest.tfl_bikepoint import read_tfl_bikepoint
from conftest import assert_extract_contract

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "transport"
BIKEPOINT = FIXTURES / "bikepoint.json"
NO_TIMES = FIXTURES / "bikepoint_no_times.json"
LONDON = Path(__file__).resolve().parents[2] / "shared" / "data" / "london"
REAL_SAMPLE = LONDON / "transport" / "tfl_bikepoint_2020-03-08.json"


def _check_contract(extract) -> None:
    assert_extract_contract(extract, {"dock_capacity", "bikes_available", "empty_docks"})


def _readings(extract) -> dict[tuple[str, str], float]:
    observations = extract.observations
    return dict(zip(zip(observations["entity_id"], observations["metric"]), observations["value"]))


@pytest.fixture(scope="module")
def fixture_extract():
    return read_tfl_bikepoint(BIKEPOINT)


def test_fixture_follows_the_contract(fixture_extract):
    _check_contract(fixture_extract)


def test_every_dock_record_is_kept_or_rejected(fixture_extract):
    records = json.loads(BIKEPOINT.read_text())
    assert len(records) == len(fixture_extract.entities) + len(fixture_extract.rejects)


def test_docks_become_entities_with_their_state_in_kind(fixture_extract):
    entities = fixture_extract.entities.set_index("entity_id")
    assert list(entities.index) == ["BikePoints_1", "BikePoints_2", "BikePoints_4"]
    assert entities.loc["BikePoints_1", "name"] == "River Street , Clerkenwell"
    assert entities.loc["BikePoints_1", "kind"] == "Docking station"
    assert entities.loc["BikePoints_2", "kind"] == "Docking station (locked, temporary)"
    assert entities.loc["BikePoints_1", "lat"] == 51.529163
    assert entities.loc["BikePoints_1", "lon"] == -0.10997


def test_counts_become_observations_and_an_empty_count_is_absent(fixture_extract):
    assert _readings(fixture_extract) == {
        ("BikePoints_1", "dock_capacity"): 19,
        ("BikePoints_1", "bikes_available"): 11,
        ("BikePoints_1", "empty_docks"): 8,
        ("BikePoints_2", "dock_capacity"): 37,
        ("BikePoints_2", "bikes_available"): 0,
        ("BikePoints_2", "empty_docks"): 30,
        ("BikePoints_4", "dock_capacity"): 23,
        ("BikePoints_4", "bikes_available"): 5,
    }


def test_each_dock_is_stamped_with_its_newest_modified_time(fixture_extract):
    stamps = fixture_extract.observations.groupby("entity_id")["ts"].agg(["min", "max"])
    assert (stamps["min"] == stamps["max"]).all()
    assert stamps.loc["BikePoints_1", "min"] == pd.Timestamp("2020-03-08 18:31:02.500")
    assert stamps.loc["BikePoints_4", "min"] == pd.Timestamp("2020-03-08 17:45:10.100")


def test_bad_dock_records_are_rejected_with_their_reason(fixture_extract):
    reasons = dict(zip(fixture_extract.rejects["record"], fixture_extract.rejects["reason"]))
    assert set(reasons) == {"2", "4", "5", "6"}
    assert reasons["2"] == "NbBikes is not a count (a whole number of 0 or more): 'abc'"
    assert reasons["4"] == "missing field(s): lat"
    assert reasons["5"] == "duplicate of an earlier record with the same id: record 0 (BikePoints_1)"
    assert reasons["6"] == "NbDocks is not a count (a whole number of 0 or more): '-1'"
    raw = dict(zip(fixture_extract.rejects["record"], fixture_extract.rejects["raw"]))
    assert '"id":"BikePoints_3"' in raw["2"]
    assert all(len(text) <= 500 for text in raw.values())


def test_snapshot_ts_stamps_every_dock_in_utc():
    taken = datetime(2020, 3, 8, 21, 0, tzinfo=timezone(timedelta(hours=1)))
    extract = read_tfl_bikepoint(BIKEPOINT, snapshot_ts=taken)
    assert set(extract.observations["ts"]) == {pd.Timestamp("2020-03-08 20:00")}


def test_a_file_without_modified_times_needs_snapshot_ts():
    with pytest.raises(IngestError, match="snapshot_ts"):
        read_tfl_bikepoint(NO_TIMES)
    extract = read_tfl_bikepoint(NO_TIMES, snapshot_ts="2024-05-01T12:00:00")
    assert _readings(extract) == {
        ("BikePoints_10", "dock_capacity"): 18,
        ("BikePoints_10", "bikes_available"): 9,
        ("BikePoints_10", "empty_docks"): 9,
    }
    assert set(extract.observations["ts"]) == {pd.Timestamp("2024-05-01 12:00")}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[{"id": "BikePoints_1", ', "not valid JSON"),
        ('{"places": []}', "expected a JSON array"),
        ("[1, 2, 3]", "docking station objects"),
        ('[{"id": "BikePoints_1", "commonName": "x", "lon": 0.1, "additionalProperties": []}]', "field\\(s\\): lat"),
        ("", "file is empty"),
    ],
)
def test_unreadable_files_are_refused_naming_the_file(tmp_path, text, problem):
    path = tmp_path / "bikepoint.json"
    path.write_text(text)
    with pytest.raises(IngestError, match=problem) as raised:
        read_tfl_bikepoint(path)
    assert str(path) in str(raised.value)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        read_tfl_bikepoint(tmp_path / "absent.json")


# ---------------------------------------------------------------------------------
# The real sample

@pytest.fixture(scope="module")
def real_extract():
    if not LONDON.exists():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    return read_tfl_bikepoint(REAL_SAMPLE)


def test_real_sample_has_783_docks_and_20893_docking_points(real_extract):
    _check_contract(real_extract)
    assert len(real_extract.entities) == 783
    assert real_extract.rejects.empty
    capacity = real_extract.observations[real_extract.observations["metric"] == "dock_capacity"]
    assert len(capacity) == 783
    assert capacity["value"].sum() == 20893


def test_real_sample_is_stamped_on_the_snapshot_day(real_extract):
    stamps = real_extract.observations["ts"]
    assert (stamps.dt.date == pd.Timestamp("2020-03-08").date()).all()


def test_real_sample_docks_are_in_london_and_two_are_temporary(real_extract):
    entities = real_extract.entities
    assert entities["lat"].between(51.4, 51.6).all()
    assert entities["lon"].between(-0.3, 0.0).all()
    assert sorted(entities.loc[entities["kind"] != "Docking station", "kind"]) == ["Docking station (temporary)"] * 2
