"""LondonAir JSON connector: hand-written fixtures in both shapes, and the real sample."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from citydash.data import read_table
from citydash.ingest.errors import IngestError
from citydash.ingest.publish import reason_group
from citydash.ingest.laqn import SPECIES_TO_METRIC, read_laqn
from conftest import assert_extract_contract

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "laqn"
LONDON = Path(__file__).resolve().parents[2] / "shared" / "data" / "london"
REAL_SAMPLE = LONDON / "air-quality" / "laqn_api_2026-03-01_06.json"


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def _reasons(extract) -> dict[str, str]:
    return dict(zip(extract.rejects["record"], extract.rejects["reason"]))


def _check_contract(extract) -> None:
    assert_extract_contract(extract, set(SPECIES_TO_METRIC.values()))


def test_nested_shape_gives_sites_and_readings_with_values_only():
    extract = read_laqn([FIXTURES / "nested_clean.json"])
    _check_contract(extract)
    assert _rows(extract.entities) == [
        ("BL0", "Camden - Bloomsbury", "Urban Background", 51.522287, -0.125848, None),
        ("GN0", "Greenwich - A206 Burrage Grove", "Roadside", 51.490532, 0.074003, None),
    ]
    # Empty @Value means "no reading": no row and no reject (CO here has none at all).
    assert _rows(extract.observations) == [
        ("BL0", pd.Timestamp("2026-03-01 00:00"), "no2", 19.7),
        ("BL0", pd.Timestamp("2026-03-01 02:00"), "no2", 16.8),
        ("GN0", pd.Timestamp("2026-03-01 23:00"), "pm25", 8.0),
        ("GN0", pd.Timestamp("2026-03-02 00:00"), "pm25", 0.0),
    ]
    assert extract.rejects.empty


def test_each_bad_record_is_quarantined_with_its_reason():
    extract = read_laqn([FIXTURES / "nested_quarantine.json"])
    _check_contract(extract)
    assert list(extract.entities["entity_id"]) == ["TH4"]
    assert _rows(extract.observations) == [("TH4", pd.Timestamp("2026-03-01 00:00"), "no2", 41.2)]
    no2 = "boroughs.Tower Hamlets[0].pollutants_measured[0].measurements"
    nox = "boroughs.Tower Hamlets[0].pollutants_measured[1].measurements"
    th9 = "boroughs.Tower Hamlets[1]"
    assert _reasons(extract) == {
        "boroughs.Tower Hamlets[1]": "site TH9: latitude 'north' is not a number",
        "boroughs.Tower Hamlets[2]": "site TH8: longitude is missing",
        f"{no2}[1]": "value 'n/a' is not a number",
        f"{no2}[2]": "negative concentration -0.4",
        f"{no2}[3]": "timestamp '01/03/2026 03:00' is not a date and time 'YYYY-MM-DD HH:MM:SS'",
        f"{no2}[4]": "timestamp '2026-03-01 04:30:00' is not on the hour (LondonAir readings are hourly)",
        f"{no2}[5]": "duplicate reading for site TH4, NO2 at 2026-03-01 00:00:00: kept the first",
        f"{nox}[0]": "species NOX not in the catalogue",
        f"{th9}.pollutants_measured[0].measurements[0]":
            "site record rejected (site TH9: latitude 'north' is not a number)",
    }
    assert set(extract.rejects["source"]) == {"nested_quarantine.json"}
    duplicate = extract.rejects.set_index("record").loc[f"{no2}[5]", "raw"]
    assert json.loads(duplicate) == {
        "site_code": "TH4", "species_code": "NO2",
        "@MeasurementDateGMT": "2026-03-01 00:00:00", "@Value": "99",
    }
    site_raw = extract.rejects.set_index("record").loc["boroughs.Tower Hamlets[1]", "raw"]
    assert "pollutants_measured" not in site_raw and '"latitude": "north"' in site_raw


def test_raw_shape_joins_sites_listed_by_a_nested_file_in_the_same_call():
    extract = read_laqn([FIXTURES / "nested_clean.json", FIXTURES / "raw_bl0.json"])
    _check_contract(extract)
    assert list(extract.entities["entity_id"]) == ["BL0", "GN0"]
    bl0 = extract.observations[extract.observations["entity_id"] == "BL0"]
    assert _rows(bl0) == [
        ("BL0", pd.Timestamp("2026-03-01 00:00"), "no2", 19.7),
        ("BL0", pd.Timestamp("2026-03-01 02:00"), "no2", 16.8),
        ("BL0", pd.Timestamp("2026-03-01 03:00"), "no2", 15.1),
        ("BL0", pd.Timestamp("2026-03-01 03:00"), "o3", 52.4),
    ]
    # The raw file repeats BL0's 02:00 NO2 reading: the nested file came first and wins.
    assert _rows(extract.rejects[["source", "record", "reason"]]) == [
        ("raw_bl0.json", "RawAQData.Data[0]",
         "duplicate reading for site BL0, NO2 at 2026-03-01 02:00:00: kept the first"),
    ]


def test_the_first_file_named_wins_a_duplicate_whatever_its_shape():
    extract = read_laqn([FIXTURES / "raw_bl0.json", FIXTURES / "nested_clean.json"])
    assert list(extract.entities["entity_id"]) == ["BL0", "GN0"]
    assert _rows(extract.rejects[["source", "record"]]) == [
        ("nested_clean.json", "boroughs.Camden[0].pollutants_measured[0].measurements[2]"),
    ]
    assert len(extract.observations) == 6


def test_raw_shape_alone_has_no_site_details_so_its_readings_are_rejected():
    extract = read_laqn([FIXTURES / "raw_unlisted_site.json"])
    _check_contract(extract)
    assert extract.entities.empty
    assert extract.observations.empty
    assert len(extract.rejects) == 1  # the empty @Value is no reading, not a reject
    reason = extract.rejects["reason"].iloc[0]
    assert "'WM6' is unknown" in reason
    assert json.loads(extract.rejects["raw"].iloc[0])["@SiteCode"] == "WM6"


def test_raw_shape_with_a_single_reading_as_an_object():
    extract = read_laqn([FIXTURES / "raw_single_reading.json", FIXTURES / "nested_clean.json"])
    gn0 = extract.observations[extract.observations["metric"] == "pm10"]
    assert _rows(gn0) == [("GN0", pd.Timestamp("2026-03-02 00:00"), "pm10", 12.5)]


def test_no_files_gives_an_empty_extract():
    extract = read_laqn([])
    _check_contract(extract)
    assert extract.entities.empty and extract.observations.empty and extract.rejects.empty


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("malformed.json", "malformed JSON"),
        ("array.json", "the JSON is an array"),
        ("unrelated_object.json", "the object's keys are: features, type"),
        ("boroughs_not_lists.json", "'boroughs' must map each borough to a list of sites"),
    ],
)
def test_a_file_of_the_wrong_kind_raises_naming_the_file(name, expected):
    with pytest.raises(IngestError) as caught:
        read_laqn([FIXTURES / "nested_clean.json", FIXTURES / name])
    message = str(caught.value)
    assert name in message
    assert expected in message
    assert isinstance(caught.value, ValueError)


def test_a_missing_file_raises_naming_it(tmp_path):
    missing = tmp_path / "laqn_missing.json"
    with pytest.raises(IngestError, match="laqn_missing.json: file not found"):
        read_laqn([missing])


def test_a_file_that_is_not_utf8_raises_naming_it(tmp_path):
    latin = tmp_path / "latin1.json"
    latin.write_bytes('{"boroughs": {"Camden": [{"site_name": "Caf\u00e9"}]}}'.encode("latin-1"))
    with pytest.raises(IngestError, match="latin1.json: not UTF-8"):
        read_laqn([latin])


def test_files_are_read_not_written(tmp_path):
    copy = tmp_path / "nested_clean.json"
    shutil.copy(FIXTURES / "nested_clean.json", copy)
    read_laqn([copy])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nested_clean.json"]


@pytest.fixture(scope="module")
def real_sample():
    if not LONDON.is_dir():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    document = json.loads(REAL_SAMPLE.read_text(encoding="utf-8-sig"))
    return document, read_laqn([REAL_SAMPLE])


def _real_measurements(document: dict):
    for sites in document["boroughs"].values():
        for site in sites:
            for pollutant in site["pollutants_measured"]:
                for measurement in pollutant["measurements"]:
                    yield site, pollutant, measurement


def test_real_sample_sites(real_sample):
    document, extract = real_sample
    _check_contract(extract)
    listed = {site["site_code"] for sites in document["boroughs"].values() for site in sites}
    assert len(listed) == 27
    assert set(extract.entities["entity_id"]) == listed
    assert extract.entities["entity_id"].is_unique
    assert set(extract.entities["kind"]) == {
        "Roadside", "Urban Background", "Kerbside", "Suburban", "Industrial",
    }
    # Camden, Greenwich and Tower Hamlets all lie within these bounds.
    assert extract.entities["lat"].between(51.40, 51.56).all()
    assert extract.entities["lon"].between(-0.20, 0.12).all()


def test_real_sample_readings(real_sample):
    document, extract = real_sample
    observations = extract.observations
    with_values = [m for _, _, m in _real_measurements(document) if m["@Value"] != ""]
    negative = [m for m in with_values if float(m["@Value"]) < 0]
    assert 5000 < len(with_values) < 5400  # SOURCES.md: "about 5,300 have values"
    # Every reading with a value is either kept or quarantined, never silently dropped.
    assert len(observations) + len(extract.rejects) == len(with_values)
    assert observations["ts"].min() == pd.Timestamp("2026-03-01 00:00")
    assert observations["ts"].max() == pd.Timestamp("2026-03-06 23:00")
    assert set(observations["metric"]) <= {"no2", "pm25", "pm10", "o3", "so2", "co"}
    assert (observations["value"] >= 0).all()
    assert not observations.duplicated(["entity_id", "ts", "metric"]).any()
    reasons = extract.rejects["reason"]
    assert reasons.str.startswith("negative concentration").sum() == len(negative)
    # GR8 (Woolwich Flyover) lists PM10 twice with the same 144 hours.
    duplicates = extract.rejects[reasons.str.startswith("duplicate reading")]
    assert set(duplicates["reason"].str.extract(r"site (\w+), (\w+)", expand=True).itertuples(
        index=False, name=None)) == {("GR8", "PM10")}
    gr8_pm10 = [m for s, p, m in _real_measurements(document)
                if s["site_code"] == "GR8" and p["species_code"] == "PM10" and m["@Value"] != ""]
    assert len(duplicates) == len(gr8_pm10) // 2


# ---------------------------------------------------------------------------------
# The command: python -m citydash ingest laqn FILE... (run as a user runs it, in a subprocess)


def run_ingest(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "citydash", "ingest", "laqn", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def published(extracts: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The published observations and entities, in a fixed order so two publications compare equal."""
    observations = read_table(extracts / "laqn.parquet").sort_values(["entity_id", "metric", "ts"])
    entities = read_table(extracts / "laqn_entities.parquet").sort_values("entity_id")
    return observations.reset_index(drop=True), entities.reset_index(drop=True)


@pytest.mark.parametrize("sample", ["fixture", "real sample"])
def test_ingesting_the_same_file_again_through_the_command_adds_nothing(sample, tmp_path):
    if sample == "real sample" and not LONDON.is_dir():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    path = FIXTURES / "nested_clean.json" if sample == "fixture" else REAL_SAMPLE
    extracts = tmp_path / "extracts"
    first = run_ingest(path, "--extracts", extracts)
    assert first.returncode == 0, first.stderr
    observations, entities = published(extracts)
    assert len(observations) > 0
    assert f"{len(observations):,} new" in first.stdout

    again = run_ingest(path, "--extracts", extracts)
    assert again.returncode == 0, again.stderr
    assert f"0 new, {len(observations):,} published in all, {len(entities)} entities" in again.stdout
    observations_after, entities_after = published(extracts)
    pd.testing.assert_frame_equal(observations_after, observations)
    pd.testing.assert_frame_equal(entities_after, entities)


def file_with_bad_rows(folder: Path) -> Path:
    """The clean fixture with bad readings at several hours, and a site in Paris (outside the city)."""
    document = json.loads((FIXTURES / "nested_clean.json").read_text(encoding="utf-8"))
    no2 = document["boroughs"]["Camden"][0]["pollutants_measured"][0]["measurements"]
    no2 += [{"@MeasurementDateGMT": stamp, "@Value": value} for stamp, value in [
        ("2026-03-01 03:00:00", "-5"), ("2026-03-01 04:00:00", "-7.5"),
        ("2026-03-01 05:30:00", "30"), ("2026-03-01 06:15:00", "31"), ("2026-03-01 07:45:00", "32"),
        ("2026-03-01 08:00:00", "n/a"), ("2026-03-01 09:00:00", "x")]]
    paris = copy.deepcopy(document["boroughs"]["Camden"][0])
    paris.update(site_code="ZZ1", site_name="Paris - Chatelet", latitude="48.8566", longitude="2.3522",
                 pollutants_measured=[{"species_code": "NO2", "measurements": [
                     {"@MeasurementDateGMT": "2026-03-01 00:00:00", "@Value": "40"}]}])
    document["boroughs"]["Camden"].append(paris)
    path = folder / "laqn_with_bad_rows.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_the_command_quarantines_each_bad_row_with_its_reason_and_groups_the_summary(tmp_path):
    extracts = tmp_path / "pack" / "extracts"
    result = run_ingest(file_with_bad_rows(tmp_path), "--extracts", extracts)
    assert result.returncode == 0, result.stderr
    # The good rows are published: the clean fixture's four readings at its two sites.
    observations, entities = published(extracts)
    assert len(observations) == 4 and list(entities["entity_id"]) == ["BL0", "GN0"]

    named = re.search(r"Rejected rows and their reasons: (\S+)", result.stdout)
    assert named, result.stdout
    quarantine = Path(named.group(1))
    assert quarantine.parent == tmp_path / "pack" / "quarantine"
    assert re.fullmatch(r"laqn-\d{8}T\d{6}-[0-9a-f]+\.csv", quarantine.name)
    rows = pd.read_csv(quarantine, dtype=str, keep_default_na=False)
    assert list(rows.columns) == ["source", "record", "reason", "raw"]
    measurement = "boroughs.Camden[0].pollutants_measured[0].measurements"
    # One row per bad row: seven bad readings, the Paris site, and its reading (of a rejected site).
    assert sorted(zip(rows["record"], rows["reason"])) == sorted([
        (f"{measurement}[3]", "negative concentration -5"),
        (f"{measurement}[4]", "negative concentration -7.5"),
        (f"{measurement}[5]", "timestamp '2026-03-01 05:30:00' is not on the hour (LondonAir readings are hourly)"),
        (f"{measurement}[6]", "timestamp '2026-03-01 06:15:00' is not on the hour (LondonAir readings are hourly)"),
        (f"{measurement}[7]", "timestamp '2026-03-01 07:45:00' is not on the hour (LondonAir readings are hourly)"),
        (f"{measurement}[8]", "value 'n/a' is not a number"),
        (f"{measurement}[9]", "value 'x' is not a number"),
        ("ZZ1", "outside the city: point (48.85660, 2.35220) is in no borough"),
        ("ZZ1", "unknown or rejected entity"),
    ])
    assert (rows["raw"] != "").all()

    # The summary counts rows under their reason, whatever hour or value each one quotes.
    summary = [line.split(maxsplit=1) for line in result.stdout.splitlines() if line.startswith("  ")]
    assert sorted((reason, int(count)) for count, reason in summary) == sorted([
        ("timestamp '…' is not on the hour (LondonAir readings are hourly)", 3),
        ("negative concentration …", 2),
        ("value '…' is not a number", 2),
        ("outside the city", 1),
        ("unknown or rejected entity", 1),
    ])
    assert "9 rows rejected" in result.stdout


def test_the_dry_run_groups_reasons_the_same_way_and_writes_nothing(tmp_path):
    extracts = tmp_path / "pack" / "extracts"
    result = run_ingest(file_with_bad_rows(tmp_path), "--extracts", extracts, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\n +3  timestamp '…' is not on the hour", result.stdout)
    assert re.search(r"\n +2  negative concentration …", result.stdout)
    assert not (tmp_path / "pack").exists()


@pytest.mark.parametrize(("reason", "group"), [
    # A reason that starts with a timestamp is grouped by what it says, not by the hour.
    ("2024-01-01 00:00: value -5 below range", "value … below range"),
    ("2024-01-01 01:00: value -7.5 below range", "value … below range"),
    ("duplicate reading for site GR8, PM10 at 2026-03-01 00:00:00: kept the first",
     "duplicate reading for site GR8, PM10 at …"),
    ("timestamp '01/03/2026 03:00' is not a date and time 'YYYY-MM-DD HH:MM:SS'",
     "timestamp '…' is not a date and time '…'"),
    ("negative concentration -0.4", "negative concentration …"),
    # The stated range is the same for every row and stays; the value after the colon goes.
    ("value out of range for no2 [0, 1000]: 1500.0", "value out of range for no2 [0, 1000]"),
    ("site record rejected (site TH9: latitude 'north' is not a number)", "site record rejected"),
    ("outside the city: point (48.85660, 2.35220) is in no borough", "outside the city"),
    ("unknown or rejected entity", "unknown or rejected entity"),
])
def test_rejected_rows_are_summarised_by_reason_without_what_varies_per_row(reason, group):
    assert reason_group(reason) == group
