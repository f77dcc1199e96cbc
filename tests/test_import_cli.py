"""`python -m citydash ingest csv`: an officer's file through the CLI, publish and the catalogue entry,
one hand-written file per spreadsheet quirk; the dry run, refusals, idempotence, an interrupted
import, and `python -m citydash check`. (The parser's quirks themselves: tests/test_csvimport.py.)"""

from __future__ import annotations

import csv
import json
import shutil
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citydash.__main__ import main
from citydash.catalog import load_catalog
from citydash.check import check_pack
from citydash.data import Database, read_table
from citydash.ingest.errors import IngestError
from citydash.ingest.importer import ImportRequest, MetricSpec, parse_metric_spec, run_import
from citydash.ingest.publish import recover_interrupted
from conftest import PACK, require_shared

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "catalogue"
OGL = "Contains public sector information licensed under the Open Government Licence v3.0."
ABOUT = ["--publisher", "Camden Council", "--licence", "ogl3", "--attribution", OGL]
CAMDEN, BROMLEY, GREENWICH, WESTMINSTER = "E09000007", "E09000006", "E09000011", "E09000033"


@pytest.fixture
def pack(tmp_path) -> Path:
    """The London pack's catalogue and boundaries in a folder of its own; nothing imported yet."""
    folder = tmp_path / "pack"
    (folder / "boundaries").mkdir(parents=True)
    shutil.copy(PACK / "catalog.toml", folder)
    shutil.copy(PACK / "boundaries" / "london_boroughs.geojson", folder / "boundaries")
    return folder


def ingest(capsys, pack: Path, file: Path, *options: str) -> tuple[int, str, str]:
    code = main(["ingest", "csv", str(file), "--pack", str(pack), *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def entry(pack: Path, dataset: str) -> dict:
    return tomllib.loads((pack / "catalog.d" / f"{dataset}.toml").read_text(encoding="utf-8"))["datasets"][dataset]


def published(pack: Path, dataset: str) -> pd.DataFrame:
    """Observations joined with their entities, as published."""
    catalog = load_catalog(pack)
    observations = read_table(catalog.extract_path(dataset))
    entities = read_table(catalog.extract_path(dataset, "entities"))
    return observations.merge(entities, on="entity_id")


def quarantined(pack: Path, dataset: str) -> str:
    files = sorted((pack / "quarantine").glob(f"{dataset}-*.csv"))
    return "\n".join(" | ".join(row) for row in csv.reader(files[-1].open(encoding="utf-8")))


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


VISITS = ["--dataset", "library_visits", "--title", "Library visits", *ABOUT, "--name-column", "Library",
          "--metric", "Visits=visits:Library visits:visits:sum"]


# ---------------------------------------------------------------------------------
# Metric specs


def test_metric_specs_map_names_to_catalogue_metrics():
    assert parse_metric_spec("households") == MetricSpec(id="households")
    assert parse_metric_spec("NO2 (µg/m³)=no2:Nitrogen dioxide:µg/m³:mean:lower") == MetricSpec(
        id="no2", source="NO2 (µg/m³)", label="Nitrogen dioxide", unit="µg/m³", aggregation="mean", better="lower")
    assert parse_metric_spec("Visits=visits::visits:sum") == MetricSpec(
        id="visits", source="Visits", unit="visits", aggregation="sum")
    for bad, message in (("Visits=Visits", "not a valid metric id"), ("=visits", "empty"),
                         ("visits:Visits:n:median", "aggregation"), ("v:V:n:sum:worse", "better")):
        with pytest.raises(IngestError, match=message):
            parse_metric_spec(bad)


def test_help_documents_the_metric_syntax(capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    text = capsys.readouterr().out
    assert "[NAME=]ID[:LABEL[:UNIT[:AGGREGATION[:BETTER]]]]" in text
    for option in ("--metric", "--title", "--licence", "--attribution", "--wide", "--easting", "--area-column"):
        assert option in text


# ---------------------------------------------------------------------------------
# One file per quirk, end to end


def test_utf8_bom_crlf_lat_lon_file_is_published_with_its_catalogue_entry(capsys, pack):
    raw = (FIXTURES / "visits_utf8_bom_crlf.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfLibrary,") and b"\r\n" in raw, "the fixture lost its BOM or CRLF"
    code, out, err = ingest(capsys, pack, FIXTURES / "visits_utf8_bom_crlf.csv", *VISITS)
    assert code == 0, err

    written = entry(pack, "library_visits")
    assert written["title"] == "Library visits" and written["licence"] == "ogl3"
    assert written["attribution"] == OGL and written["publisher"] == "Camden Council"
    assert written["access"] == "officer" and written["synthetic"] is False
    assert written["metrics"] == [{"id": "visits", "label": "Library visits", "unit": "visits",
                                   "aggregation": "sum", "better": "higher"}]
    rows = published(pack, "library_visits")
    assert sorted(zip(rows["name"], rows["value"])) == [
        ("Bromley Central Library", 2580.0), ("Swiss Cottage Library", 998.0), ("Swiss Cottage Library", 1204.0)]
    assert dict(zip(rows["name"], rows["borough_code"])) == {"Swiss Cottage Library": CAMDEN,
                                                             "Bromley Central Library": BROMLEY}
    assert "Manchester Central Library" in out and "outside the city" in out
    reasons = quarantined(pack, "library_visits")
    assert "value 'closed' is not a number" in reasons and "outside the city" in reasons

    catalog = load_catalog(pack)
    database = Database(catalog)
    try:
        assert "library_visits" in database.available and not database.problems
        counts = database.run("catalogue_datasets", access="officer").set_index("dataset")
        assert counts.loc["library_visits", "observations"] == 3
        assert database.run("catalogue_datasets", access="public")["dataset"].tolist() == []
    finally:
        database.close()


def test_windows_1252_file_with_pound_signs_borough_names_and_a_suppressed_cell(capsys, pack):
    raw = (FIXTURES / "rents_cp1252.csv").read_bytes()
    assert b"Renters\x92 median rent" in raw and b"\xa31,950" in raw
    code, out, err = ingest(capsys, pack, FIXTURES / "rents_cp1252.csv", "--dataset", "rents", "--title", "Rents",
                            *ABOUT, "--metric", "Renters’ median rent=median_rent:Median monthly rent:£")
    assert code == 0, err
    assert "Windows-1252" in out
    rows = published(pack, "rents")
    assert sorted(zip(rows["borough_code"], rows["value"])) == [
        ("E09000013", 1950.0), ("E09000020", 2400.0), (WESTMINSTER, 2650.0)]
    assert CAMDEN not in set(rows["borough_code"]), "'[c]' is a suppressed figure: no observation"
    assert "'Hackny' is not a known borough name; nearest: 'Hackney'" in quarantined(pack, "rents")
    assert entry(pack, "rents")["metrics"][0] == {"id": "median_rent", "label": "Median monthly rent", "unit": "£",
                                                 "aggregation": "mean", "better": "higher"}


def test_a_named_encoding_is_used_and_a_wrong_one_is_a_clear_error(capsys, pack):
    options = ["--dataset", "rents", "--title", "Rents", *ABOUT, "--unit", "£",
               "--metric", "Renters’ median rent=median_rent"]
    code, out, err = ingest(capsys, pack, FIXTURES / "rents_cp1252.csv", *options, "--encoding", "cp1252",
                            "--dry-run")
    assert code == 0, err
    assert "Read rents_cp1252.csv: 5 data rows (cp1252," in out
    code, out, err = ingest(capsys, pack, FIXTURES / "rents_cp1252.csv", *options, "--encoding", "utf-8")
    assert code == 2
    assert "rents_cp1252.csv" in err and "utf-8" in err
    assert not (pack / "catalog.d").exists() and not (pack / "extracts").exists()


def test_utf16_tab_separated_excel_unicode_text(capsys, pack, tmp_path):
    path = tmp_path / "visits_unicode.txt"
    path.write_text("Borough\tYear\tVisits\nCamden\t2024\t1 204\nSouthwark\t2024\t980\n", encoding="utf-16")
    code, out, err = ingest(capsys, pack, path, "--dataset", "visits", "--title", "Visits", *ABOUT,
                            "--metric", "Visits=visits::visits:sum")
    assert code == 0, err
    assert "UTF-16" in out and "tab-separated" in out
    rows = published(pack, "visits")
    assert sorted(zip(rows["borough_code"], rows["value"])) == [(CAMDEN, 1204.0), ("E09000028", 980.0)]
    assert set(rows["ts"]) == {pd.Timestamp("2024-01-01")}


def test_british_national_grid_points_are_converted_placed_and_outsiders_reported(capsys, pack):
    code, out, err = ingest(capsys, pack, FIXTURES / "sites_bng.csv", "--dataset", "noise", "--title", "Noise",
                            *ABOUT, "--unit", "dB(A)", "--id-column", "Site ID", "--name-column", "Site",
                            "--metric", "Noise (dB)=noise:Noise level")
    assert code == 0, err
    sites = read_table(load_catalog(pack).extract_path("noise", "entities")).set_index("entity_id")
    assert sites.loc["N1", "lat"] == pytest.approx(51.508, abs=0.002)
    assert sites.loc["N1", "lon"] == pytest.approx(-0.128, abs=0.002)
    assert sites["borough_code"].to_dict() == {"N1": WESTMINSTER, "N2": GREENWICH}
    assert "Birmingham New Street (N3)" in out and "outside the city" in out
    assert entry(pack, "noise")["metrics"][0]["unit"] == "dB(A)"


def test_an_unknown_borough_name_is_rejected_with_the_nearest_names(capsys, pack):
    code, out, err = ingest(capsys, pack, FIXTURES / "rents_cp1252.csv", "--dataset", "rents", "--title", "Rents",
                            *ABOUT, "--unit", "£", "--metric", "Renters’ median rent=median_rent", "--dry-run")
    assert code == 0
    assert "line 5: 'Hackny' is not a known borough name; nearest: 'Hackney', 'Haringey', 'Havering'" in out


def test_a_file_of_only_unknown_borough_names_is_refused_listing_the_nearest(capsys, pack):
    code, out, err = ingest(capsys, pack, FIXTURES / "unknown_boroughs.csv", "--dataset", "visits",
                            "--title", "Visits", *ABOUT, "--unit", "visits")
    assert code == 2
    assert "unknown_boroughs.csv" in err and "'Hackny' is not a known borough name; nearest: 'Hackney'" in err
    assert not (pack / "catalog.d").exists() and not (pack / "extracts").exists()


def test_a_wide_table_of_years_with_missing_markers(capsys, pack):
    code, out, err = ingest(capsys, pack, FIXTURES / "households_wide_years.csv", "--dataset", "households",
                            "--title", "Households", *ABOUT, "--wide", "--metric", "households:Households:households")
    assert code == 0, err
    rows = published(pack, "households")
    assert sorted(zip(rows["borough_code"], rows["ts"].dt.year, rows["value"])) == [
        (CAMDEN, 2019, 101500.0), (CAMDEN, 2020, 102300.0), ("E09000012", 2019, 110200.0),
        ("E09000012", 2021, 112050.0), (WESTMINSTER, 2020, 121000.0), (WESTMINSTER, 2021, 122400.0)]
    assert "'..' 1" in out and "'[x]' 1" in out and "'-' 1" in out
    assert not list((pack / "quarantine").glob("households-*.csv")), "missing markers are not rejects"


def test_a_wide_table_of_metrics_mapped_to_catalogue_ids(capsys, pack):
    code, out, err = ingest(capsys, pack, FIXTURES / "air_wide_metrics.csv", "--dataset", "officer_air",
                            "--title", "Officer air", *ABOUT, "--wide", "--wide-column", "NO2", "--wide-column", "PM10",
                            "--name-column", "Site",
                            "--metric", "NO2=no2:Nitrogen dioxide:µg/m³:mean:lower",
                            "--metric", "PM10=pm10:Particles (PM10):µg/m³:mean:lower")
    assert code == 0, err
    assert [(m["id"], m["label"], m["unit"]) for m in entry(pack, "officer_air")["metrics"]] == [
        ("no2", "Nitrogen dioxide", "µg/m³"), ("pm10", "Particles (PM10)", "µg/m³")]
    rows = published(pack, "officer_air")
    assert sorted(zip(rows["name"], rows["ts"].dt.hour, rows["metric"], rows["value"])) == [
        ("Camden Kerbside", 10, "no2", 38.0), ("Marylebone Road", 10, "no2", 45.5),
        ("Marylebone Road", 10, "pm10", 22.0), ("Marylebone Road", 11, "pm10", 21.0)]


def test_local_times_become_utc_unless_told_otherwise(capsys, pack, tmp_path):
    path = tmp_path / "summer.csv"
    path.write_text("Borough,Date,Time,Visits\nCamden,2025-07-01,09:00,5\n", encoding="utf-8")
    options = ["--title", "Summer", *ABOUT, "--metric", "Visits=visits::visits"]
    assert ingest(capsys, pack, path, "--dataset", "summer_local", *options)[0] == 0
    assert ingest(capsys, pack, path, "--dataset", "summer_utc", *options, "--timezone", "UTC")[0] == 0
    assert published(pack, "summer_local")["ts"].tolist() == [pd.Timestamp("2025-07-01 08:00")]
    assert published(pack, "summer_utc")["ts"].tolist() == [pd.Timestamp("2025-07-01 09:00")]


# ---------------------------------------------------------------------------------
# The dry run and refusals


def test_the_dry_run_reports_everything_and_writes_nothing(capsys, pack):
    before = files_in(pack)
    code, out, err = ingest(capsys, pack, FIXTURES / "visits_utf8_bom_crlf.csv", *VISITS, "--dry-run")
    assert code == 0, err
    assert files_in(pack) == before
    for expected in ("Read visits_utf8_bom_crlf.csv: 5 data rows (UTF-8 with BOM, CRLF line endings",
                     "Rejected 1 record", "line 5: value 'closed' is not a number",
                     "'Library': entity name", "'Visits': values of metric 'visits'",
                     "1 place is outside the city", "Manchester Central Library",
                     "3 observations of 2 places can be published", "Catalogue entry (a new entry)",
                     'attribution = "' + OGL + '"', "Dry run: nothing was written."):
        assert expected in out


@pytest.mark.parametrize(("options", "message"), [
    (["--licence", "cc-by-4"], "licence 'cc-by-4' is not one of the pack's licences: ogl3"),
    (["--title", ""], "missing: title"),
    (["--dataset", "Library Visits"], "dataset id 'Library Visits' is not valid"),
    (["--dataset", "air_quality"], "already in the catalogue and was not made by a CSV import"),
    (["--dataset", "stations_entities"], "would share file names with dataset 'stations'"),
    (["--metric", "Visits=visits"], "metrics visits have no unit"),
    (["--access", "everyone"], "access 'everyone' is not one of public, officer"),
    (["--metric", "visits:V:visits", "--metric", "Visits=visits"], "use one or the other"),
])
def test_refusals_name_the_problem_and_write_nothing(capsys, pack, options, message):
    before = files_in(pack)
    code, out, err = ingest(capsys, pack, FIXTURES / "visits_utf8_bom_crlf.csv", *VISITS, *options)
    assert code == 2
    assert message in err
    assert files_in(pack) == before


def test_a_header_that_cannot_be_a_metric_id_asks_for_a_mapping(capsys, pack, tmp_path):
    path = tmp_path / "one_year.csv"
    path.write_text("Borough,2019\nCamden,5\n", encoding="utf-8")
    code, out, err = ingest(capsys, pack, path, "--dataset", "one_year", "--title", "One year", *ABOUT,
                            "--unit", "n", "--date", "2019")
    assert code == 2
    assert "'2019'" in err and "NAME=" in err


def test_wide_years_need_a_metric(capsys, pack):
    code, out, err = ingest(capsys, pack, FIXTURES / "households_wide_years.csv", "--dataset", "households",
                            "--title", "Households", *ABOUT, "--unit", "households", "--wide")
    assert code == 2 and "name the metric" in err


def test_a_hand_written_catalogue_file_is_never_rewritten(capsys, pack):
    (pack / "catalog.d").mkdir()
    (pack / "catalog.d" / "visits.toml").write_text("# Written by hand.\n", encoding="utf-8")
    code, out, err = ingest(capsys, pack, FIXTURES / "visits_utf8_bom_crlf.csv", *VISITS, "--dataset", "visits")
    assert code == 2 and "hand-written catalogue file" in err
    assert (pack / "catalog.d" / "visits.toml").read_text(encoding="utf-8") == "# Written by hand.\n"


def test_csv_options_with_another_source_are_refused(capsys, pack):
    code = main(["ingest", "laqn", str(FIXTURES / "sites_bng.csv"), "--pack", str(pack), "--title", "x"])
    assert code == 2 and "--title only apply to the csv source" in capsys.readouterr().err


def test_a_sensor_list_with_another_source_is_refused_not_ignored(capsys, pack):
    code = main(["ingest", "laqn", str(FIXTURES / "sites_bng.csv"), "--pack", str(pack),
                 "--sensors", str(FIXTURES / "sites_bng.csv")])
    assert code == 2 and "--sensors only applies to the sensors source" in capsys.readouterr().err


# ---------------------------------------------------------------------------------
# Re-imports, an interrupted import, progress


def test_reimporting_the_same_file_changes_nothing(capsys, pack):
    assert ingest(capsys, pack, FIXTURES / "visits_utf8_bom_crlf.csv", *VISITS)[0] == 0
    extracts = {name: data for name, data in files_in(pack / "extracts").items() if name.endswith(".parquet")}
    toml = (pack / "catalog.d" / "library_visits.toml").read_bytes()
    code, out, err = ingest(capsys, pack, FIXTURES / "visits_utf8_bom_crlf.csv", *VISITS)
    assert code == 0, err
    assert "0 new, 3 published in all" in out
    assert {name: data for name, data in files_in(pack / "extracts").items() if name.endswith(".parquet")} == extracts
    assert (pack / "catalog.d" / "library_visits.toml").read_bytes() == toml


def test_a_later_file_adds_rows_and_keeps_the_entry(capsys, pack, tmp_path):
    assert ingest(capsys, pack, FIXTURES / "visits_utf8_bom_crlf.csv", *VISITS)[0] == 0
    later = tmp_path / "visits_march.csv"
    later.write_text("Library,Latitude,Longitude,Date,Visits,Loans\n"
                     "Swiss Cottage Library,51.5432,-0.1746,03/03/2026,1010,88\n", encoding="utf-8")
    code, out, err = ingest(capsys, pack, later, "--dataset", "library_visits", "--wide", "--name-column", "Library",
                            "--metric", "Visits=visits", "--metric", "Loans=loans:Books lent:books:sum")
    assert code == 0, err
    assert "2 new, 5 published in all" in out
    written = entry(pack, "library_visits")
    assert written["title"] == "Library visits" and written["attribution"] == OGL
    assert [(m["id"], m["label"], m["unit"], m["aggregation"]) for m in written["metrics"]] == [
        ("visits", "Library visits", "visits", "sum"), ("loans", "Books lent", "books", "sum")]
    assert len(published(pack, "library_visits")) == 5


def request(path: Path, title: str = "Library visits") -> ImportRequest:
    return ImportRequest(path=path, dataset="library_visits", title=title, publisher="Camden Council",
                         licence="ogl3", attribution=OGL, metrics=(MetricSpec(id="visits", source="Visits",
                                                                               unit="visits", aggregation="sum"),),
                         reading={"name_column": "Library", "timezone": "Europe/London"})


def test_an_import_interrupted_while_publishing_leaves_no_catalogue_entry(pack):
    catalog = load_catalog(pack)
    with pytest.raises(RuntimeError, match="on purpose"):
        run_import(request(FIXTURES / "visits_utf8_bom_crlf.csv"), catalog, fail_after_staging=True)
    assert not (pack / "catalog.d" / "library_visits.toml").exists()
    assert list((pack / "catalog.d").iterdir()) == [], "the staged entry is removed"
    assert "library_visits" not in load_catalog(pack).datasets
    # Starting the app finishes the publish; without an entry the dashboard ignores it and check says why.
    assert recover_interrupted(catalog) == ["library_visits"]
    report = check_pack(pack)
    assert report.ok and any("library_visits: extracts" in warning and "no catalogue entry" in warning
                             for warning in report.warnings)
    run_import(request(FIXTURES / "visits_utf8_bom_crlf.csv"), load_catalog(pack))
    assert "library_visits" in load_catalog(pack).datasets
    assert not any("no catalogue entry" in warning for warning in check_pack(pack).warnings)


def test_an_interrupted_reimport_keeps_the_old_data_and_the_old_entry(pack, tmp_path):
    run_import(request(FIXTURES / "visits_utf8_bom_crlf.csv"), load_catalog(pack))
    toml = (pack / "catalog.d" / "library_visits.toml").read_bytes()
    later = tmp_path / "later.csv"
    later.write_text("Library,Latitude,Longitude,Date,Visits\nSwiss Cottage Library,51.5432,-0.1746,09/03/2026,7\n",
                     encoding="utf-8")
    with pytest.raises(RuntimeError, match="on purpose"):
        run_import(request(later, title="Renamed"), load_catalog(pack), fail_after_staging=True)
    assert (pack / "catalog.d" / "library_visits.toml").read_bytes() == toml
    assert len(read_table(load_catalog(pack).extract_path("library_visits"))) == 3
    assert [path.name for path in (pack / "catalog.d").iterdir()] == ["library_visits.toml"]


def test_a_large_file_shows_a_progress_bar_on_stderr(capsys, pack, tmp_path):
    days = pd.date_range("2000-01-01", periods=3100, freq="D").strftime("%Y-%m-%d")
    boroughs = ["Camden", "Hackney", "Islington", "Lambeth", "Southwark", "Barnet", "Bexley", "Brent",
                "Bromley", "Croydon", "Ealing", "Enfield", "Greenwich", "Harrow", "Havering"]
    frame = pd.DataFrame({"Borough": np.repeat(boroughs, len(days)), "Date": np.tile(days, len(boroughs)),
                          "Visits": np.arange(len(boroughs) * len(days)) % 997})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size > 1_000_000
    code, out, err = ingest(capsys, pack, path, "--dataset", "big", "--title", "Big", *ABOUT,
                            "--metric", "Visits=visits::visits", "--dry-run")
    assert code == 0
    assert "Reading" in err and "100%" in err and f"{len(frame) / 1000:.1f}k" in err
    assert f"Read big.csv: {len(frame):,} data rows" in out
    code, out, err = ingest(capsys, pack, FIXTURES / "visits_utf8_bom_crlf.csv", *VISITS, "--dry-run")
    assert "Reading" not in err, "a small file reads in a moment: no bar"


# ---------------------------------------------------------------------------------
# python -m citydash check


def test_check_reports_imports_quarantine_stale_data_and_corrupt_extracts(capsys, pack):
    old = datetime(2025, 1, 1, tzinfo=timezone.utc)
    run_import(request(FIXTURES / "visits_utf8_bom_crlf.csv"), load_catalog(pack), now=old)
    assert main(["check", "--pack", str(pack)]) == 0
    text = capsys.readouterr().out
    assert "library_visits.toml" in text
    assert "library_visits: stale, refreshed" in text and "expected every 30 days" in text
    assert "library_visits: 3 rejected rows in the latest quarantine file" in text
    assert "OK: the pack is whole." in text

    damaged = pack / "extracts" / "library_visits_entities.parquet"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    assert main(["check", "--pack", str(pack)]) == 1
    text = capsys.readouterr().out
    assert "1 problem(s) found" in text
    assert "library_visits: library_visits_entities.parquet cannot be read as parquet" in text


def test_check_reports_a_malformed_sensor_threshold_table(capsys, pack):
    (pack / "catalog.d").mkdir(exist_ok=True)
    (pack / "catalog.d" / "thresholds.toml").write_text(
        '[[sensor_thresholds.noise_db]]\nvalue = "loud"\nlevel = 1\nsource = "ours"\n', encoding="utf-8")
    assert main(["check", "--pack", str(pack)]) == 1
    text = capsys.readouterr().out
    assert "thresholds.toml [[sensor_thresholds.noise_db]] #1: value must be a number" in text


def test_real_laei_borough_no2_becomes_a_dataset(capsys, pack):
    source = require_shared() / "air-quality" / "laei2019_borough_no2.csv"
    code, out, err = ingest(capsys, pack, source, "--dataset", "laei_no2", "--title", "Annual mean NO₂ by borough (LAEI 2019)",
                            "--publisher", "Greater London Authority", "--licence", "ogl3", "--attribution", OGL,
                            "--access", "public", "--refresh-days", "1461", "--date", "2019",
                            "--metric", "NO2=no2:Annual mean nitrogen dioxide (NO₂):µg/m³:mean:lower")
    assert code == 0, err
    with source.open(encoding="utf-8") as handle:
        expected = {row["LADCD"]: float(row["NO2"]) for row in csv.DictReader(handle)}
    rows = published(pack, "laei_no2")
    assert len(expected) == 33 and dict(zip(rows["borough_code"], rows["value"])) == expected
    assert entry(pack, "laei_no2")["access"] == "public"
    manifest = json.loads((pack / "extracts" / "laei_no2.manifest.json").read_text())
    assert manifest["observations"] == 33 and len(manifest["areas"]) == 33
