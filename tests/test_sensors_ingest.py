"""The IoT sensors connector on hand-written fixtures in tests/fixtures/sensors/.

There is no real IoT sample in ../shared/data/london, so every file here is hand-written in
the formats the connector reads (CSV and JSON lines readings, a CSV sensor list).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, REJECT_COLUMNS
from citydash.ingest.errors import IngestError
from citydash.ingest.sensors import CHUNK_LINES, read_sensors

FIXTURES = Path(__file__).parent / "fixtures" / "sensors"
SENSORS = FIXTURES / "sensors.csv"


def observation_rows(extract) -> set[tuple]:
    frame = extract.observations
    return {
        (row.entity_id, row.ts, row.metric, row.value)
        for row in frame.itertuples(index=False)
    }


def reasons_by_record(extract, source: str) -> dict[str, str]:
    rejects = extract.rejects[extract.rejects["source"] == source]
    return dict(zip(rejects["record"], rejects["reason"]))


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_csv_readings_become_observations_in_naive_utc():
    extract = read_sensors([FIXTURES / "readings.csv"], SENSORS)
    assert observation_rows(extract) == {
        ("NS-001", ts("2026-03-01 10:00"), "noise_db", 55.2),  # Z
        ("NS-001", ts("2026-03-01 10:15"), "noise_db", 56.0),  # +00:00
        ("NS-002", ts("2026-03-01 10:00"), "noise_db", 61.5),  # naive, London in winter = UTC
        ("FF-001", ts("2026-07-01 09:00"), "footfall", 120.0),  # naive, London in summer = UTC+1
        ("CL-001", ts("2026-03-01 10:00"), "temperature", 8.5),  # space separator, no seconds
        ("NS-001", ts("2026-03-01 09:45"), "noise_db", 54.9),  # out of order: accepted
    }


def test_extract_follows_the_contract():
    extract = read_sensors([FIXTURES / "readings.csv", FIXTURES / "clean.jsonl"], SENSORS)
    assert list(extract.observations.columns) == list(OBSERVATION_COLUMNS)
    assert str(extract.observations["ts"].dtype) == "datetime64[us]"
    assert extract.observations["value"].dtype == "float64"
    assert not extract.observations["value"].isna().any()
    assert list(extract.entities.columns) == list(ENTITY_COLUMNS)
    assert extract.entities["lat"].dtype == "float64" and extract.entities["lon"].dtype == "float64"
    assert list(extract.rejects.columns) == list(REJECT_COLUMNS)
    assert all(isinstance(value, str) for value in extract.rejects["record"])


def test_sensor_list_becomes_entities_and_bad_sensors_are_rejected():
    extract = read_sensors([], SENSORS)
    entities = extract.entities.set_index("entity_id")
    assert list(entities.index) == ["NS-001", "NS-002", "FF-001", "CL-001"]
    assert entities.loc["NS-001", "name"] == "Camden High St noise"
    assert entities.loc["NS-002", "name"] == "NS-002"  # no name given: the id stands in
    assert entities.loc["FF-001", "kind"] == "footfall"
    assert entities.loc["CL-001", "lat"] == 51.4826 and entities.loc["CL-001", "lon"] == 0.0077
    assert entities.loc["NS-001", "lat"] == 51.5390  # the first listing wins
    assert entities["borough_code"].isna().all()
    reasons = reasons_by_record(extract, "sensors.csv")
    assert reasons == {
        "6": "lat 95.1 is outside -90..90",
        "7": "sensor id is missing",
        "8": "sensor id 'NS-001' is already listed at line 2",
    }


def test_bad_rows_are_rejected_with_reasons_and_raw_text():
    extract = read_sensors([FIXTURES / "readings.csv"], SENSORS)
    reasons = reasons_by_record(extract, "readings.csv")
    assert reasons["9"] == "timestamp 'yesterday' is not an ISO 8601 date and time"
    assert reasons["10"] == "value 'loud' is not a number"
    assert reasons["11"] == "sensor id 'XX-999' is not in sensors.csv"
    assert reasons["12"] == "metric is missing"
    assert reasons["16"] == "value is missing"  # after a blank line: numbering still follows the file
    raw = dict(zip(extract.rejects["record"], extract.rejects["raw"]))
    assert raw["10"] == "NS-002,2026-03-01T10:15:00Z,noise_db,loud"


def test_duplicate_readings_keep_the_first_and_reject_the_rest():
    extract = read_sensors([FIXTURES / "readings.csv"], SENSORS)
    reasons = reasons_by_record(extract, "readings.csv")
    # line 13 repeats line 2 exactly ("55.20" is the same number)
    assert reasons["13"].startswith("duplicate reading")
    assert "line 2 of readings.csv" in reasons["13"]
    # line 14 is 10:00 UTC written as 11:00+01:00, with another value
    assert reasons["14"].startswith("conflicting reading")
    assert "57" in reasons["14"] and "55.2" in reasons["14"] and "kept the first" in reasons["14"]
    # line 6 says 10:00+01:00 for the naive 10:00 (summer time) of line 5
    assert reasons["6"].startswith("conflicting reading") and "line 5 of readings.csv" in reasons["6"]
    values = extract.observations.set_index(["entity_id", "ts", "metric"])["value"]
    assert values[("NS-001", ts("2026-03-01 10:00"), "noise_db")] == 55.2
    assert values[("FF-001", ts("2026-07-01 09:00"), "footfall")] == 120.0
    assert not extract.observations.duplicated(["entity_id", "ts", "metric"]).any()


def test_duplicates_across_files_are_found(tmp_path):
    copy = tmp_path / "again.csv"
    copy.write_text((FIXTURES / "readings.csv").read_text())
    once = read_sensors([FIXTURES / "readings.csv"], SENSORS)
    twice = read_sensors([FIXTURES / "readings.csv", copy], SENSORS)
    pd.testing.assert_frame_equal(once.observations, twice.observations)
    second = twice.rejects[twice.rejects["source"] == "again.csv"]
    duplicates = second[second["reason"].str.startswith("duplicate reading")]
    # every accepted line of the copy, and its line 13 which repeats line 2
    assert set(duplicates["record"]) == {"2", "3", "4", "5", "7", "8", "13"}
    assert all("of readings.csv" in reason for reason in duplicates["reason"])
    conflicting = second[second["reason"].str.startswith("conflicting reading")]
    assert set(conflicting["record"]) == {"6", "14"}


def test_json_lines_with_bad_lines():
    extract = read_sensors([FIXTURES / "readings.jsonl"], SENSORS)
    assert observation_rows(extract) == {
        ("NS-001", ts("2026-03-01 12:00"), "noise_db", 58.5),
        ("FF-001", ts("2026-03-01 12:00"), "footfall", 42.0),  # value given as the string "42"
        ("CL-001", ts("2026-03-01 12:00"), "humidity", 81.0),
    }
    reasons = reasons_by_record(extract, "readings.jsonl")
    assert reasons["3"] == "line is a JSON list, not an object"
    assert reasons["4"] == "value 'true' is not a number"
    assert reasons["5"].startswith("line is not valid JSON")
    assert set(reasons) == {"3", "4", "5"}


def test_clean_json_lines_with_blank_lines_extra_keys_and_nulls():
    extract = read_sensors([FIXTURES / "clean.jsonl"], SENSORS)
    assert observation_rows(extract) == {
        ("NS-001", ts("2026-03-01 12:00"), "noise_db", 58.5),
        ("FF-001", ts("2026-03-01 12:00"), "footfall", 42.0),
        ("CL-001", ts("2026-03-01 11:00"), "temperature", 9.25),  # +01:00, keys in another order
    }
    assert reasons_by_record(extract, "clean.jsonl") == {"5": "value is missing"}


def test_format_is_told_from_content_not_extension(tmp_path):
    json_named_csv = tmp_path / "readings.csv"
    json_named_csv.write_text((FIXTURES / "clean.jsonl").read_text())
    csv_named_json = tmp_path / "readings.json"
    csv_named_json.write_text((FIXTURES / "windows_header.csv").read_bytes().decode())
    assert observation_rows(read_sensors([json_named_csv], SENSORS)) == observation_rows(
        read_sensors([FIXTURES / "clean.jsonl"], SENSORS)
    )
    assert observation_rows(read_sensors([csv_named_json], SENSORS)) == {
        ("NS-001", ts("2026-03-01 10:00"), "noise_db", 55.2)
    }


def test_header_case_spaces_crlf_and_extra_columns():
    extract = read_sensors([FIXTURES / "windows_header.csv"], SENSORS)
    assert observation_rows(extract) == {("NS-001", ts("2026-03-01 10:00"), "noise_db", 55.2)}
    assert reasons_by_record(extract, "windows_header.csv") == {}


def test_clock_changes_in_london():
    extract = read_sensors([FIXTURES / "clock_changes.csv"], SENSORS)
    by_value = dict(zip(extract.observations["value"], extract.observations["ts"]))
    assert by_value == {
        40.0: ts("2026-03-29 00:30"),  # before the spring change: GMT
        42.0: ts("2026-03-29 01:30"),  # 02:30 BST
        43.0: ts("2026-10-24 23:30"),  # 00:30 BST
        44.0: ts("2026-10-25 00:30"),  # 01:30 happens twice: the earlier (BST) one
        45.0: ts("2026-10-25 02:30"),  # after the autumn change: GMT
    }
    reason = reasons_by_record(extract, "clock_changes.csv")["3"]
    assert "2026-03-29T01:30:00" in reason and "does not exist in Europe/London" in reason


def test_time_zone_parameter():
    utc = read_sensors([FIXTURES / "clock_changes.csv"], SENSORS, tz="UTC")
    assert sorted(utc.observations["ts"]) == [
        ts("2026-03-29 00:30"), ts("2026-03-29 01:30"), ts("2026-03-29 02:30"),
        ts("2026-10-25 00:30"), ts("2026-10-25 01:30"), ts("2026-10-25 02:30"),
    ]
    new_york = read_sensors([FIXTURES / "windows_header.csv"], SENSORS, tz="America/New_York")
    assert list(new_york.observations["ts"]) == [ts("2026-03-01 10:00")]  # has an offset: tz not used
    naive_new_york = read_sensors([FIXTURES / "clock_changes.csv"], SENSORS, tz="America/New_York")
    assert ts("2026-03-29 04:30") in set(naive_new_york.observations["ts"])  # 00:30 EDT
    with pytest.raises(ValueError, match="unknown time zone"):
        read_sensors([FIXTURES / "readings.csv"], SENSORS, tz="Europe/Nowhere")


def test_ragged_rows_and_quoted_line_breaks():
    extract = read_sensors([FIXTURES / "ragged.csv"], SENSORS)
    reasons = reasons_by_record(extract, "ragged.csv")
    assert reasons == {"3": "row has 5 fields but the header has 4", "6": "value is missing"}
    assert ("FF-001", ts("2026-03-01 10:00"), "footfall", 12.0) in observation_rows(extract)
    assert ("NS-002", ts("2026-03-01 10:00"), "noise\ndb", 61.5) in observation_rows(extract)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing_column.csv", "missing column(s) metric"),
        ("array.json", "is a JSON array"),
        ("no_objects.jsonl", "no line is a JSON object"),
        ("no_value.jsonl", "no line has a 'value' field"),
        ("blank.csv", "the file is empty"),
        ("not_there.csv", "cannot be read"),
    ],
)
def test_unreadable_reading_files_raise_ingest_error_naming_the_file(name, message):
    with pytest.raises(IngestError) as error:
        read_sensors([FIXTURES / name], SENSORS)
    assert name in str(error.value)
    assert message in str(error.value)


def test_unreadable_sensor_lists_raise_ingest_error():
    with pytest.raises(IngestError, match=r"sensors_no_lat\.csv: missing column\(s\) lat"):
        read_sensors([], FIXTURES / "sensors_no_lat.csv")
    with pytest.raises(IngestError, match=r"clean\.jsonl: is JSON"):
        read_sensors([], FIXTURES / "clean.jsonl")


def test_not_utf8_is_an_ingest_error(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("sensor_id,timestamp,metric,value\nNS-001,2026-03-01T10:00:00Z,bruit_é,1\n".encode("latin-1"))
    with pytest.raises(IngestError, match="latin.csv: is not UTF-8"):
        read_sensors([latin], SENSORS)


def generated_lines(count: int) -> list[str]:
    start = pd.Timestamp("2026-03-01")
    return [
        json.dumps({
            "sensor_id": ("NS-001", "NS-002", "FF-001")[n % 3],
            "timestamp": (start + pd.Timedelta(minutes=15 * (n // 3))).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "metric": "noise_db",
            "value": 40 + (n % 37) / 4,
        })
        for n in range(count)
    ]


def test_a_bad_line_in_a_big_json_file_costs_only_that_line(tmp_path):
    lines = generated_lines(CHUNK_LINES * 2 + 500)
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(lines) + "\n")
    bad_at = CHUNK_LINES + 7  # 0-based, in the second chunk
    messy_lines = lines[:bad_at] + ['{"sensor_id": "NS-001", "value": 1'] + lines[bad_at:]
    messy_lines[5] = messy_lines[5].replace('"value": ', '"value": "x').replace("}", '"}')
    messy = tmp_path / "messy.jsonl"
    messy.write_text("\n".join(messy_lines) + "\n")

    from_clean = read_sensors([clean], SENSORS)
    from_messy = read_sensors([messy], SENSORS)
    assert len(from_clean.observations) == len(lines)
    assert reasons_by_record(from_messy, "messy.jsonl").keys() == {"6", str(bad_at + 1)}
    assert reasons_by_record(from_messy, "messy.jsonl")["6"].startswith("value 'x")
    # line 6 was the reading of FF-001 at 00:15
    expected = from_clean.observations.drop(index=from_clean.observations.index[
        (from_clean.observations["entity_id"] == "FF-001")
        & (from_clean.observations["ts"] == pd.Timestamp("2026-03-01 00:15"))
    ])
    pd.testing.assert_frame_equal(from_messy.observations, expected.reset_index(drop=True))


def test_a_ragged_row_in_a_big_csv_file_costs_only_that_row(tmp_path):
    start = pd.Timestamp("2026-03-01")
    rows = [
        f"NS-00{1 + n % 2},{(start + pd.Timedelta(minutes=15 * (n // 2))).isoformat()}Z,noise_db,{40 + n % 11}"
        for n in range(CHUNK_LINES * 2 + 30)
    ]
    rows[CHUNK_LINES + 3] += ",oops"
    path = tmp_path / "big.csv"
    path.write_text("sensor_id,timestamp,metric,value\n" + "\n".join(rows) + "\n")
    extract = read_sensors([path], SENSORS)
    assert reasons_by_record(extract, "big.csv") == {str(CHUNK_LINES + 5): "row has 5 fields but the header has 4"}
    assert len(extract.observations) == len(rows) - 1
    assert extract.observations["value"].sum() == sum(40 + n % 11 for n in range(len(rows))) - (40 + (CHUNK_LINES + 3) % 11)


def test_old_mac_line_endings_and_header_only_files():
    old_mac = read_sensors([FIXTURES / "old_mac.csv"], SENSORS)
    assert observation_rows(old_mac) == {
        ("NS-001", ts("2026-03-01 10:00"), "noise_db", 55.2),
        ("NS-002", ts("2026-03-01 10:00"), "noise_db", 48.0),
    }
    header_only = read_sensors([FIXTURES / "header_only.csv"], SENSORS)
    assert header_only.observations.empty
    assert reasons_by_record(header_only, "header_only.csv") == {}
