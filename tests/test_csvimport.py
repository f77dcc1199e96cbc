"""The "bring your own CSV" import: one hand-written fixture per spreadsheet quirk, and the real samples."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, REJECT_COLUMNS
from citydash.ingest.boroughnames import AreaNames
from citydash.ingest.britishgrid import to_wgs84
from citydash.ingest.csvimport import (
    ImportOptions,
    ImportResult,
    decode_bytes,
    normalise_line_endings,
    parse_dates,
    parse_numbers,
    read_csv_import,
)
from citydash.ingest.errors import IngestError

from tests.test_boroughnames import LONDON_BOROUGHS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "csvimport"
LONDON = Path(__file__).resolve().parents[2] / "shared" / "data" / "london"

CAMDEN, HACKNEY = "E09000007", "E09000012"


@pytest.fixture(scope="module")
def areas() -> AreaNames:
    return AreaNames.from_pairs(LONDON_BOROUGHS, label="borough")


def read(name: str, areas: AreaNames, **options) -> ImportResult:
    return read_csv_import(FIXTURES / name, ImportOptions(dataset="officer_upload", **options), areas, to_wgs84)


def observed(result: ImportResult) -> list[tuple[str, str, str, float]]:
    """(entity_id, ts as text, metric, value), sorted, for comparing with literal rows."""
    frame = result.extract.observations
    rows = zip(frame["entity_id"], frame["ts"].dt.strftime("%Y-%m-%d %H:%M"), frame["metric"], frame["value"])
    return sorted(rows)


def reasons(result: ImportResult) -> dict[str, str]:
    rejects = result.extract.rejects
    return dict(zip(rejects["record"], rejects["reason"]))


def check_contract(result: ImportResult) -> None:
    extract = result.extract
    assert list(extract.entities.columns) == list(ENTITY_COLUMNS)
    assert list(extract.observations.columns) == list(OBSERVATION_COLUMNS)
    assert list(extract.rejects.columns) == list(REJECT_COLUMNS)
    assert extract.observations["ts"].dtype == "datetime64[us]"
    assert extract.observations["value"].dtype == "float64"
    assert not extract.observations["value"].isna().any()
    assert extract.entities["lat"].dtype == "float64"
    assert extract.entities["entity_id"].is_unique
    assert set(extract.observations["entity_id"]) <= set(extract.entities["entity_id"])


# ---------------------------------------------------------------------------------
# Encodings and line endings


def test_fixture_bytes_carry_their_quirks() -> None:
    """Guards the fixtures themselves: a checkout that rewrote line endings would make the tests below meaningless."""
    assert (FIXTURES / "bom_crlf.csv").read_bytes().startswith(b"\xef\xbb\xbfLatitude,")
    assert b"\r\n" in (FIXTURES / "bom_crlf.csv").read_bytes()
    oldmac = (FIXTURES / "oldmac_cr.csv").read_bytes()
    assert b"\r" in oldmac and b"\n" not in oldmac
    assert b"\xa3" in (FIXTURES / "latin1_rents.csv").read_bytes()
    assert b"King\x92s Cross" in (FIXTURES / "cp1252_sites.csv").read_bytes()


def test_bom_and_crlf(areas: AreaNames) -> None:
    result = read("bom_crlf.csv", areas)
    check_contract(result)
    assert result.report.encoding == "UTF-8 with BOM"
    assert result.report.line_ending == "CRLF"
    # The BOM must not stick to the first header, or the latitude column would go unrecognised.
    assert result.report.columns["Latitude"] == "latitude (WGS84)"
    assert observed(result) == [
        ("51.50000,-0.10000", "2026-03-01 00:00", "count", 2580.0),
        ("51.50000,-0.10000", "2026-03-02 00:00", "count", 1200.0),
    ]


def test_old_mac_cr_line_endings(areas: AreaNames) -> None:
    result = read("oldmac_cr.csv", areas)
    check_contract(result)
    assert result.report.line_ending == "CR (old Mac)"
    assert result.report.rows_read == 3
    assert observed(result) == [
        ("E09000003", "2020-01-01 00:00", "households", 152000.0),
        (CAMDEN, "2019-01-01 00:00", "households", 101500.0),
    ]
    assert result.report.missing_values == {"x": 1}


def test_latin1_file_with_pound_signs_and_ampersands(areas: AreaNames) -> None:
    result = read("latin1_rents.csv", areas)
    check_contract(result)
    # Latin-1 and Windows-1252 agree on every byte here, so the superset is what gets reported.
    assert result.report.encoding == "Windows-1252"
    assert observed(result) == [
        ("E09000002", "2026-03-01 00:00", "average_rent", 1200.0),
        ("E09000013", "2026-03-01 00:00", "average_rent", 1950.0),
        ("E09000020", "2026-03-01 00:00", "average_rent", 2400.0),
        ("E09000021", "2026-03-01 00:00", "average_rent", 1450.0),
        ("E09000033", "2026-03-01 00:00", "average_rent", 2650.0),
    ]
    entities = result.extract.entities.set_index("entity_id")
    assert entities.loc["E09000013", "name"] == "Hammersmith and Fulham"
    assert result.report.units_stripped == {"£": 5}


def test_windows_1252_curly_quotes_and_en_dash_marker(areas: AreaNames) -> None:
    result = read("cp1252_sites.csv", areas, name_column="Site name")
    check_contract(result)
    assert result.report.encoding == "Windows-1252"
    names = set(result.extract.entities["name"])
    assert names == {"King’s Cross", "Saint Pancras – East"}
    assert observed(result) == [
        ("51.53080,-0.12380", "2026-03-01 00:00", "footfall", 12400.0),
        ("51.53160,-0.12620", "2026-03-01 00:00", "footfall", 9800.0),
    ]
    assert result.report.missing_values == {"–": 1}


def test_bytes_that_are_not_windows_1252_fall_back_to_latin1(tmp_path: Path, areas: AreaNames) -> None:
    # 0x81 is undefined in Windows-1252; Latin-1 decodes every byte.
    path = tmp_path / "latin1_only.csv"
    path.write_bytes(b"Borough,Year,Note,Count\nCamden,2020,\x81,7\n")
    result = read_csv_import(path, ImportOptions(dataset="d"), areas)
    assert result.report.encoding == "Latin-1 (ISO-8859-1)"
    assert observed(result) == [(CAMDEN, "2020-01-01 00:00", "count", 7.0)]


def test_utf16_tab_separated_excel_unicode_text(tmp_path: Path, areas: AreaNames) -> None:
    path = tmp_path / "unicode_text.txt"
    path.write_bytes("Borough\tYear\tCount\r\nHackney\t2021\t12\r\n".encode("utf-16"))
    result = read_csv_import(path, ImportOptions(dataset="d"), areas)
    assert result.report.encoding == "UTF-16 with BOM"
    assert result.report.delimiter == "\t"
    assert observed(result) == [(HACKNEY, "2021-01-01 00:00", "count", 12.0)]


def test_decode_and_line_ending_helpers() -> None:
    assert decode_bytes("£5".encode("utf-8"), None) == ("£5", "UTF-8")
    assert decode_bytes(b"\xa35", None) == ("£5", "Windows-1252")
    assert decode_bytes(b"\xef\xbb\xbfa", None) == ("a", "UTF-8 with BOM")
    assert normalise_line_endings("a\r\nb\rc\n") == ("a\nb\nc\n", "mixed CRLF/CR (old Mac)/LF")
    assert normalise_line_endings("a\r\nb\r\n") == ("a\nb\n", "CRLF")


def test_a_named_encoding_that_does_not_fit_names_the_file(areas: AreaNames) -> None:
    with pytest.raises(IngestError, match="cp1252_sites.csv: cannot be decoded as utf-8"):
        read("cp1252_sites.csv", areas, encoding="utf-8")


# ---------------------------------------------------------------------------------
# Values


def test_values_with_separators_units_and_missing_markers(areas: AreaNames) -> None:
    result = read("values_quirks.csv", areas, metric_column="Measure")
    check_contract(result)
    values = {metric: value for _, _, metric, value in observed(result)}
    assert values == {
        "thousands": 2580.0,
        "percent": 45.0,
        "concentration": 12.5,
        "money": 1200.0,
        "negative": -3.5,
        "large": 1234567.5,
    }
    assert result.report.missing_values == {
        ".": 1, "-": 1, "n/a": 1, "N/A": 1, "": 1, "NaN": 1, "..": 1, ":": 1, "x": 1, "z": 1, "[x]": 1, "[c]": 1,
    }
    assert reasons(result) == {
        "line 19": "value 'abc' is not a number",
        "line 20": "value '1,5' is not a number",
    }
    assert result.extract.rejects.loc[0, "raw"] == "E09000018,2019,text,abc"
    assert result.report.units_stripped == {"%": 1, "µg/m³": 1, "£": 1}


def test_parse_numbers_directly() -> None:
    parsed = parse_numbers(pd.Series(["1 204", "−7", "3e2", "12,34", "5 (provisional)", "inf", "[z]"], dtype=str))
    assert parsed.values[:3].tolist() == [1204.0, -7.0, 300.0]
    assert parsed.bad.tolist() == [False, False, False, True, False, True, False]
    assert parsed.values[4] == 5.0
    assert parsed.missing.tolist() == [False] * 6 + [True]


# ---------------------------------------------------------------------------------
# Dates


def test_iso_dates_with_times_and_offsets(areas: AreaNames) -> None:
    result = read("latlon_iso.csv", areas, name_column="Site")
    check_contract(result)
    assert observed(result) == [
        ("51.52254,-0.15459", "2026-03-01 10:00", "no2", 45.5),
        ("51.54421,-0.17527", "2026-03-01 00:00", "no2", 38.0),
        ("51.54421,-0.17527", "2026-03-01 11:00", "no2", 40.0),  # 12:00+01:00 is 11:00 UTC
    ]
    assert reasons(result) == {"line 5": "value 'abc' is not a number"}
    entities = result.extract.entities.set_index("entity_id")
    assert entities.loc["51.52254,-0.15459", "name"] == "Marylebone Road"
    assert entities.loc["51.52254,-0.15459", ["lat", "lon"]].tolist() == [51.52254, -0.15459]
    assert entities["borough_code"].isna().all()


def test_day_first_uk_dates(areas: AreaNames) -> None:
    result = read("dates_dayfirst.csv", areas)
    check_contract(result)
    assert [(ts, value) for _, ts, _, value in observed(result)] == [
        ("2026-03-01 00:00", 10.0),
        ("2026-03-01 00:00", 11.0),  # 1/3/26
        ("2026-03-01 14:30", 13.0),
        ("2026-03-13 00:00", 12.0),
    ]
    assert reasons(result) == {"line 6": "date '31/02/2026' is not a date this import understands"}
    assert "day/month/year (UK order)" in result.report.date_format


def test_ambiguous_day_month_is_read_day_first_and_said_so(areas: AreaNames) -> None:
    result = read("dates_ambiguous.csv", areas)
    assert [ts for _, ts, _, _ in observed(result)] == ["2026-03-01 00:00", "2026-03-02 00:00", "2026-11-12 00:00"]
    assert "ambiguous" in result.report.date_format
    assert "day-first" in result.report.to_text()


def test_us_order_is_recognised_when_the_middle_number_is_above_12(areas: AreaNames) -> None:
    result = read("dates_us.csv", areas)
    assert [(ts, value) for _, ts, _, value in observed(result)] == [
        ("2026-03-01 00:00", 11.0),
        ("2026-03-13 00:00", 10.0),
    ]
    assert "month/day/year (US order)" in result.report.date_format


def test_a_date_format_hint_overrides_detection(areas: AreaNames) -> None:
    month_first = read("dates_ambiguous.csv", areas, date_format="monthfirst")
    assert [ts for _, ts, _, _ in observed(month_first)] == ["2026-01-03 00:00", "2026-02-03 00:00", "2026-12-11 00:00"]
    explicit = read("dates_ambiguous.csv", areas, date_format="%m/%d/%Y")
    assert observed(explicit) == observed(month_first)


def test_dates_with_month_names(areas: AreaNames) -> None:
    result = read("dates_monthnames.csv", areas)
    assert [(ts, value) for _, ts, _, value in observed(result)] == [
        ("2026-03-01 00:00", 10.0),
        ("2026-03-01 00:00", 11.0),
        ("2026-03-01 00:00", 12.0),
        ("2026-03-01 00:00", 14.0),
        ("2026-04-01 00:00", 13.0),
    ]
    assert reasons(result) == {"line 7": "date 'Smarch 2026' is not a date this import understands"}
    assert "1st of the month" in result.report.date_format


def test_parse_dates_other_forms() -> None:
    parsed = parse_dates(pd.Series(["2019/20", "2020/21", ""], dtype=str))
    assert pd.Series(parsed.ts[:2]).dt.strftime("%Y-%m-%d").tolist() == ["2019-04-01", "2020-04-01"]
    assert parsed.blank.tolist() == [False, False, True]
    months = parse_dates(pd.Series(["2026-03", "2026-11"], dtype=str))
    assert pd.Series(months.ts).dt.strftime("%Y-%m-%d").tolist() == ["2026-03-01", "2026-11-01"]
    slash = parse_dates(pd.Series(["2026/03/05", "March 5, 2026", "03/2026"], dtype=str))
    assert pd.Series(slash.ts).dt.strftime("%Y-%m-%d").tolist() == ["2026-03-05", "2026-03-05", "2026-03-01"]
    # 46082 is what a date cell becomes when Excel exports it without its format.
    serial = parse_dates(pd.Series(["46082", "46082.5"], dtype=str))
    assert pd.Series(serial.ts).dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2026-03-01 00:00", "2026-03-01 12:00"]
    two_digit = parse_dates(pd.Series(["1/3/99", "1/3/05"], dtype=str))
    assert pd.Series(two_digit.ts).dt.strftime("%Y-%m-%d").tolist() == ["1999-03-01", "2005-03-01"]
    assert "two-digit years read as 1969-2068" in two_digit.description


def test_separate_time_column_and_local_time_zone(areas: AreaNames) -> None:
    result = read("date_time_columns.csv", areas, timezone="Europe/London")
    check_contract(result)
    # British Summer Time: 10:00 local is 09:00 UTC; 24:00 is the end of the day.
    assert [(ts, value) for _, ts, _, value in observed(result)] == [
        ("2026-07-01 09:00", 5.0),
        ("2026-07-01 23:00", 6.0),
    ]
    assert reasons(result) == {"line 4": "time '25:00' is not a time of day"}
    assert "Europe/London converted to UTC" in result.report.date_format


def test_a_local_time_skipped_by_the_clock_change_is_rejected(tmp_path: Path, areas: AreaNames) -> None:
    path = tmp_path / "spring_forward.csv"
    path.write_text("Borough,Date,Visits\nCamden,2026-03-29 00:30,1\nCamden,2026-03-29 01:30,2\n")
    result = read_csv_import(path, ImportOptions(dataset="d", timezone="Europe/London"), areas)
    assert observed(result) == [(CAMDEN, "2026-03-29 00:30", "visits", 1.0)]
    assert "does not exist or is ambiguous at a clock change" in reasons(result)["line 3"]


def test_no_date_column_needs_a_fixed_date(areas: AreaNames) -> None:
    with pytest.raises(IngestError, match="borough_spellings.csv: no date column found"):
        read("borough_spellings.csv", areas)
    with pytest.raises(IngestError, match="the date given for every row, 'someday', is not a date"):
        read("borough_spellings.csv", areas, date="someday")


# ---------------------------------------------------------------------------------
# Locations


def test_british_national_grid_eastings_and_northings(areas: AreaNames) -> None:
    result = read("bng_eastnorth.csv", areas, name_column="Site")
    check_contract(result)
    entity = result.extract.entities.iloc[0]
    assert entity["name"] == "Trafalgar Square"
    # Trafalgar Square is at about 51.508 N, 0.128 W.
    assert entity["lat"] == pytest.approx(51.508, abs=0.002)
    assert entity["lon"] == pytest.approx(-0.128, abs=0.002)
    assert reasons(result) == {
        "line 3": "easting 'oops' is not a number",
        "line 4": "easting 9999999 is out of range",
    }
    assert "British National Grid" in result.report.location


def test_grid_coordinates_without_a_converter_are_a_clear_error(areas: AreaNames) -> None:
    with pytest.raises(IngestError, match="British National Grid"):
        read_csv_import(FIXTURES / "bng_eastnorth.csv", ImportOptions(dataset="d"), areas, to_wgs84=None)


def test_wkt_points_in_wgs84(areas: AreaNames) -> None:
    result = read("wkt_wgs84.csv", areas, entity_id_column="id")
    check_contract(result)
    entities = result.extract.entities.set_index("entity_id")
    assert entities.loc["A", ["lat", "lon"]].tolist() == [51.5072, -0.1276]
    assert entities.loc["B", ["lat", "lon"]].tolist() == [51.5081, -0.0759]
    assert reasons(result) == {"line 4": "location 'LINESTRING (0 0, 1 1)' is not a WKT POINT"}
    assert "WGS84" in result.report.location


def test_wkt_points_in_british_national_grid_decided_by_magnitude(areas: AreaNames) -> None:
    result = read("wkt_bng.csv", areas, entity_id_column="id", name_column="name")
    check_contract(result)
    entities = result.extract.entities.set_index("entity_id")
    expected_lat, expected_lon = to_wgs84(np.array([530047.0, 533100.0]), np.array([180422.0, 181100.0]))
    assert entities.loc[["S1", "S2"], "lat"].tolist() == pytest.approx(expected_lat.tolist())
    assert entities.loc[["S1", "S2"], "lon"].tolist() == pytest.approx(expected_lon.tolist())
    assert observed(result) == [
        ("S1", "2016-01-01 00:00", "entries", 100.0),
        ("S2", "2016-01-01 00:00", "entries", 2000.0),
    ]


def test_borough_names_written_many_ways(areas: AreaNames) -> None:
    result = read("borough_spellings.csv", areas, date="2024")
    check_contract(result)
    by_value = {value: entity for entity, _, _, value in observed(result)}
    assert by_value == {
        1.0: CAMDEN,
        2.0: "E09000011",
        3.0: "E09000033",
        4.0: "E09000001",
        5.0: "E09000001",
        6.0: "E09000021",
        7.0: "E09000027",
        8.0: "E09000013",
        9.0: "E09000002",
        10.0: "E09000020",
        11.0: "E09000033",
        12.0: "E09000030",
        13.0: "E09000014",
    }
    assert reasons(result) == {
        "line 15": "'Hackny' is not a known borough name; nearest: 'Hackney', 'Haringey', 'Havering'"
    }


def test_borough_only_rows_make_the_borough_the_entity(areas: AreaNames) -> None:
    result = read("oldmac_cr.csv", areas)
    entities = result.extract.entities.set_index("entity_id")
    assert sorted(entities.index) == ["E09000003", CAMDEN, HACKNEY]
    assert entities.loc[CAMDEN, "borough_code"] == CAMDEN
    assert entities.loc[CAMDEN, "name"] == "Camden"
    assert entities.loc[CAMDEN, "kind"] == "borough"
    assert entities[["lat", "lon"]].isna().all().all()
    assert "borough itself" in result.report.to_text()


def test_borough_rows_with_an_entity_id_keep_the_id_and_preset_the_borough(tmp_path: Path, areas: AreaNames) -> None:
    path = tmp_path / "libraries.csv"
    path.write_text("Library,Borough,Year,Loans\nSwiss Cottage,Camden,2024,900\nDalston CLR James,Hackney,2024,700\n")
    result = read_csv_import(path, ImportOptions(dataset="d", entity_id_column="Library"), areas)
    entities = result.extract.entities.set_index("entity_id")
    assert entities.loc["Swiss Cottage", "borough_code"] == CAMDEN
    assert entities.loc["Dalston CLR James", "borough_code"] == HACKNEY
    assert entities.loc["Swiss Cottage", "name"] == "Swiss Cottage"


def test_a_column_of_wrong_names_is_a_whole_file_error_with_nearest_names(areas: AreaNames) -> None:
    with pytest.raises(IngestError) as caught:
        read("wrong_column.csv", areas, date="2024")
    message = str(caught.value)
    assert message.startswith("wrong_column.csv: no row has a location that can be read from column 'Borough'")
    assert "'Holborn and Covent Garden' is not a known borough name; nearest:" in message


def test_a_named_location_column_that_holds_no_locations(areas: AreaNames) -> None:
    with pytest.raises(IngestError, match="column 'Visits'"):
        read("dates_dayfirst.csv", areas, area_name_column="Visits", value_column="Visits")


def test_a_file_with_no_location_at_all(tmp_path: Path, areas: AreaNames) -> None:
    path = tmp_path / "no_place.csv"
    path.write_text("Date,Visits\n2026-03-01,5\n")
    with pytest.raises(IngestError, match="no_place.csv: no location column found among 'Date', 'Visits'"):
        read_csv_import(path, ImportOptions(dataset="d"), areas)


# ---------------------------------------------------------------------------------
# Wide tables


def test_wide_table_with_one_column_per_year(areas: AreaNames) -> None:
    result = read("wide_years.csv", areas, wide=True, metric="population")
    check_contract(result)
    assert observed(result) == [
        (CAMDEN, "2019-01-01 00:00", "population", 1001.0),
        (CAMDEN, "2020-01-01 00:00", "population", 1050.0),
        (CAMDEN, "2022-01-01 00:00", "population", 1120.0),
        (HACKNEY, "2019-01-01 00:00", "population", 950.0),
        (HACKNEY, "2021-01-01 00:00", "population", 990.0),
    ]
    assert reasons(result) == {
        "line 3": "column '2022': value 'abc' is not a number",
        "line 4": "'Hackny' is not a known borough name; nearest: 'Hackney', 'Haringey', 'Havering'",
    }
    assert result.report.missing_values == {"[x]": 1, "..": 1}
    assert result.report.rows_kept == 2
    assert result.report.rows_rejected == 1


def test_wide_years_need_a_metric(areas: AreaNames) -> None:
    with pytest.raises(IngestError, match="name the metric"):
        read("wide_years.csv", areas, wide=True)


def test_wide_table_with_one_column_per_metric(areas: AreaNames) -> None:
    result = read("wide_metrics.csv", areas, wide=True, metric_ids={"PM2.5": "pm25"})
    check_contract(result)
    site = "51.52250,-0.15460"
    assert observed(result) == [
        (site, "2026-03-01 00:00", "no2", 45.0),
        (site, "2026-03-01 00:00", "pm10", 22.0),
        (site, "2026-03-02 00:00", "no2", 41.0),
        (site, "2026-03-02 00:00", "pm25", 12.5),
    ]
    assert result.report.metrics == ["no2", "pm10", "pm25"]


def test_wide_columns_can_be_named(areas: AreaNames) -> None:
    result = read("wide_years.csv", areas, wide=True, wide_columns=("2019", "2020"), metric="population")
    assert sorted({ts for _, ts, _, _ in observed(result)}) == ["2019-01-01 00:00", "2020-01-01 00:00"]


# ---------------------------------------------------------------------------------
# Layout problems


def test_lines_with_too_many_fields_and_blank_rows(areas: AreaNames) -> None:
    result = read("bad_lines.csv", areas)
    check_contract(result)
    assert observed(result) == [
        (CAMDEN, "2026-03-01 00:00", "visits", 1.0),
        (HACKNEY, "2026-03-01 00:00", "visits", 1000.0),
    ]
    assert reasons(result) == {
        "line 3": "the line has 4 fields but the header has 3",
        "line 7": "value 'oops' is not a number",
    }
    assert result.extract.rejects.set_index("record").loc["line 3", "raw"] == "Camden,2026-03-02,2,extra"
    assert result.report.blank_rows == 2
    assert result.report.rows_read == 4


def test_quoted_newlines_number_rejects_by_row(areas: AreaNames) -> None:
    result = read("embedded_newline.csv", areas)
    assert observed(result) == [(CAMDEN, "2026-03-01 00:00", "visits", 1.0)]
    assert reasons(result) == {"row 2": "value 'bad' is not a number"}


def test_title_rows_and_semicolons_are_found(areas: AreaNames) -> None:
    result = read("semicolon_title_rows.csv", areas)
    assert result.report.delimiter == ";"
    assert observed(result) == [
        (CAMDEN, "2026-03-01 00:00", "visits", 1204.0),
        ("E09000019", "2026-03-01 00:00", "visits", 998.0),
    ]
    assert "skipped 3 lines above the header" in result.report.to_text()


def test_empty_and_header_only_files(tmp_path: Path, areas: AreaNames) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty.csv: the file is empty"):
        read_csv_import(empty, ImportOptions(dataset="d"), areas)
    header_only = tmp_path / "header.csv"
    header_only.write_text("Borough,Year,Count\n")
    with pytest.raises(IngestError, match="header.csv: the file has a header but no data rows"):
        read_csv_import(header_only, ImportOptions(dataset="d"), areas)


def test_a_named_column_that_does_not_exist(areas: AreaNames) -> None:
    with pytest.raises(IngestError, match="there is no column 'Station'; the columns are 'Borough'"):
        read("oldmac_cr.csv", areas, entity_id_column="Station")


def test_several_candidate_value_columns_ask_which(tmp_path: Path, areas: AreaNames) -> None:
    path = tmp_path / "two_numbers.csv"
    path.write_text("Borough,Year,Adults,Children\nCamden,2024,5,6\n")
    with pytest.raises(IngestError, match="several columns could hold the values \\('Adults', 'Children'\\)"):
        read_csv_import(path, ImportOptions(dataset="d"), areas)
    chosen = read_csv_import(path, ImportOptions(dataset="d", value_column="children", metric="kids"), areas)
    assert observed(chosen) == [(CAMDEN, "2024-01-01 00:00", "kids", 6.0)]


def test_an_id_seen_at_two_places_keeps_the_first_and_says_so(tmp_path: Path, areas: AreaNames) -> None:
    path = tmp_path / "moving.csv"
    path.write_text("id,lat,lon,date,count\nA,51.5,-0.1,2026-01-01,1\nA,51.6,-0.1,2026-01-02,2\n")
    result = read_csv_import(path, ImportOptions(dataset="d", entity_id_column="id"), areas)
    assert result.extract.entities[["entity_id", "lat"]].values.tolist() == [["A", 51.5]]
    assert "1 entity ids appear with more than one location" in result.report.to_text()


# ---------------------------------------------------------------------------------
# The report


def test_report_text_for_a_dry_run(areas: AreaNames) -> None:
    text = read("wide_years.csv", areas, wide=True, metric="population").report.to_text()
    lines = text.splitlines()
    assert lines[0] == "Read wide_years.csv: 3 data rows (UTF-8, LF line endings, comma-separated)."
    assert lines[1] == "Kept 2 rows as 5 observations of 1 metric (population) for 2 entities."
    assert "Time span: 2019-01-01 to 2022-01-01." in lines
    assert "Rejected 2 records (1 whole row); they are kept with their reasons for checking:" in lines
    assert "  e.g. line 3: column '2022': value 'abc' is not a number" in lines
    assert (
        "Missing values (no observation made): 2, of which 1 are marked as suppressed; by marker: '[x]' 1, '..' 1."
        in lines
    )
    assert "  'Borough': borough name" in lines
    assert "  '2019': values of metric 'population' for the date '2019'" in lines
    assert any(line.startswith("Dates: taken from the column headers, which hold a year on its own") for line in lines)


def test_report_names_every_column_and_its_use(areas: AreaNames) -> None:
    report = read("latlon_iso.csv", areas, name_column="Site").report
    assert report.columns == {
        "Site": "entity name",
        "Lat": "latitude (WGS84)",
        "LONG": "longitude (WGS84)",
        "Date": "date",
        "NO2": "values of metric 'no2' (named after the column)",
    }
    assert report.time_span == (pd.Timestamp("2026-03-01 00:00"), pd.Timestamp("2026-03-01 11:00"))


# ---------------------------------------------------------------------------------
# Size


def test_a_million_rows_in_seconds_with_progress(tmp_path: Path, areas: AreaNames) -> None:
    rows = 1_000_000
    sites = np.arange(rows) % 100
    hours = pd.date_range("2025-01-01", periods=rows // 100, freq="h").strftime("%d/%m/%Y %H:%M").to_numpy()
    values = (np.arange(rows) % 97).astype(str)
    values[::50] = "x"
    frame = pd.DataFrame(
        {
            "Site": "S" + pd.Series(sites).astype(str),
            "Lat": 51.3 + sites / 300,
            "Lon": -0.4 + sites / 200,
            "Date": np.repeat(hours, 100),
            "NO2": values,
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    progress: list[tuple[int, int]] = []

    started = time.perf_counter()
    result = read_csv_import(
        path,
        ImportOptions(dataset="d", entity_id_column="Site", chunk_rows=200_000),
        areas,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    elapsed = time.perf_counter() - started

    assert elapsed < 30, f"a million rows took {elapsed:.1f} s"
    assert len(result.extract.observations) == rows - rows // 50
    assert len(result.extract.entities) == 100
    assert progress[0] == (200_000, rows)
    assert progress[-1] == (rows, rows)
    assert result.report.missing_values == {"x": rows // 50}


# ---------------------------------------------------------------------------------
# Real samples


def require_samples() -> None:
    if not LONDON.exists():
        pytest.skip("../shared/data/london not present: real-sample test needs it")


def test_real_laei_borough_no2(areas: AreaNames) -> None:
    require_samples()
    path = LONDON / "air-quality" / "laei2019_borough_no2.csv"
    with path.open(newline="") as handle:
        expected = {row["LADCD"]: float(row["NO2"]) for row in csv.DictReader(handle)}
    result = read_csv_import(path, ImportOptions(dataset="laei", metric="no2", date="2019"), areas)
    check_contract(result)
    got = dict(zip(result.extract.observations["entity_id"], result.extract.observations["value"]))
    assert got == expected
    assert len(got) == 33
    assert (result.extract.observations["ts"] == pd.Timestamp("2019-01-01")).all()
    assert result.extract.entities["borough_code"].tolist() == result.extract.entities["entity_id"].tolist()
    assert result.report.columns == {"LADCD": "borough code", "NO2": "values of metric 'no2'"}


def test_real_tfl_stations_wkt_in_british_national_grid(areas: AreaNames) -> None:
    require_samples()
    path = LONDON / "transport" / "london_combinedstations_630.csv"
    result = read_csv_import(
        path,
        ImportOptions(dataset="stations", entity_id_column="id", name_column="name", value_column="nlc_id",
                      metric="nlc", date="2016"),
        areas,
        to_wgs84,
    )
    check_contract(result)
    entities = result.extract.entities.set_index("entity_id")
    assert len(entities) == 630
    # Acton Town station is at about 51.503 N, 0.280 W.
    assert entities.loc["940GZZLUACT", "name"] == "Acton Town"
    assert entities.loc["940GZZLUACT", "lat"] == pytest.approx(51.503, abs=0.002)
    assert entities.loc["940GZZLUACT", "lon"] == pytest.approx(-0.280, abs=0.002)
    assert entities["lat"].between(51.0, 52.5).all() and entities["lon"].between(-1.5, 0.8).all()
    assert "British National Grid" in result.report.location


def test_real_dft_count_points_by_borough_name_and_grid(tmp_path: Path, areas: AreaNames) -> None:
    """The DfT count point file as an officer would export it to CSV: borough name, easting, northing."""
    require_samples()
    collection = json.loads((LONDON / "transport" / "london_dft_traffic_count_locations.json").read_text())
    properties = [feature["properties"] for feature in collection["features"]]
    path = tmp_path / "count_points.csv"
    pd.DataFrame(properties)[["cp", "la_name", "road", "easting", "northing"]].assign(year=2016, counts=1).to_csv(
        path, index=False
    )

    grid_options = ImportOptions(dataset="d", entity_id_column="cp", value_column="counts")
    by_grid = read_csv_import(path, grid_options, areas, to_wgs84)
    entities = by_grid.extract.entities.set_index("entity_id")
    assert len(entities) == 2548
    published = {str(f["properties"]["cp"]): f["geometry"]["coordinates"] for f in collection["features"]}
    lon_lat = np.array([published[cp] for cp in entities.index])
    assert np.abs(entities["lon"].to_numpy() - lon_lat[:, 0]).max() < 1e-4
    assert np.abs(entities["lat"].to_numpy() - lon_lat[:, 1]).max() < 1e-4

    by_name = read_csv_import(
        path, ImportOptions(dataset="d", area_name_column="la_name", value_column="counts"), areas
    )
    assert by_name.extract.rejects.empty
    assert sorted(by_name.extract.entities["entity_id"]) == [code for code, _ in LONDON_BOROUGHS]
    assert len(by_name.extract.observations) == 2548


def test_trailing_delimiters_and_padded_title_rows(tmp_path: Path, areas: AreaNames) -> None:
    # Excel pads every row to the used width, title rows included; data rows may carry an empty last cell.
    padded = tmp_path / "padded.csv"
    padded.write_text("Library visits 2026,,\n,,\nBorough,Date,Visits\nCamden,2026-03-01,4\n")
    result = read_csv_import(padded, ImportOptions(dataset="d"), areas)
    assert observed(result) == [(CAMDEN, "2026-03-01 00:00", "visits", 4.0)]
    assert "skipped 2 lines above the header" in result.report.to_text()
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("Borough,Year,Visits\nCamden,2024,4,\nHackney,2024,5,\n")
    result = read_csv_import(trailing, ImportOptions(dataset="d"), areas)
    assert observed(result) == [
        (CAMDEN, "2024-01-01 00:00", "visits", 4.0),
        (HACKNEY, "2024-01-01 00:00", "visits", 5.0),
    ]


def test_repeated_headers_are_told_apart(tmp_path: Path, areas: AreaNames) -> None:
    path = tmp_path / "repeated.csv"
    path.write_text("Borough,Year,Visits,Visits \nCamden,2024,4,5\n")
    result = read_csv_import(path, ImportOptions(dataset="d", value_column="Visits (4)"), areas)
    assert observed(result) == [(CAMDEN, "2024-01-01 00:00", "visits_4", 5.0)]
