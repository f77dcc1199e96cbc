"""TfL station entry/exit counts (with ORR National Rail usage), joined to a stations file.

Counts file: no header, every field quoted, one count per line:
    "0500","2014","in","9379"        station_id, year, metric, value
Stations file: CSV with header wkt_geom,id,name,nlc_id,nr_id,category, where wkt_geom is
a WKT POINT in British National Grid.

How a count's station_id finds its station (the counts mix four numbering schemes):
  "0500"  4 digits: TfL's zero-padded National Location Code; joins nlc_id (stored unpadded, 500).
  "NLT"   3 letters: a National Rail CRS code; joins a stations row whose id is that CRS, or its nr_id.
  "12"    1-3 digits: TfL's old station numbers (tube counts 2003-2013). The stations file has
          no column for them, so they cannot be placed: rejected with that reason.
  other   looked up in the stations id column. The sample's 4-letter codes (AGWP and ARDK,
          apparently the cable car terminals; DBNK, DCGT and DWHM, apparently the DLR
          platforms at Bank, Canning Town and West Ham) are not in its stations file.
A station's entity_id is the stations file's `id` (the NaPTAN stop area code TfL's own API
uses, 940GZZLUACT, or the CRS code for a National Rail station without one): many stations
are counted under both their NLC (TfL counts) and their CRS (ORR counts), so the id of the
stations row, not of the count, is what identifies one place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, REJECT_COLUMNS, Extract
from citydash.ingest.britishgrid import parse_wkt_points, to_wgs84
from citydash.ingest.errors import IngestError
from citydash.ingest.records import first_reason, line_rejects, read_csv_records, read_text


# Every metric the counts file uses. "typical day" counts are for an average single day of
# that kind in the year; "annual" counts are totals for the whole year. Never add the two.
_METRIC_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    # metric id, source code, label, unit, period
    ("weekday_entries", "in", "Entries, typical weekday", "entries", "typical day"),
    ("weekday_exits", "out", "Exits, typical weekday", "exits", "typical day"),
    ("weekday_early_entries", "early_in", "Entries, typical weekday, early morning", "entries", "typical day"),
    ("weekday_early_exits", "early_out", "Exits, typical weekday, early morning", "exits", "typical day"),
    ("weekday_am_entries", "am_in", "Entries, typical weekday, morning peak", "entries", "typical day"),
    ("weekday_am_exits", "am_out", "Exits, typical weekday, morning peak", "exits", "typical day"),
    ("weekday_mid_entries", "mid_in", "Entries, typical weekday, midday", "entries", "typical day"),
    ("weekday_mid_exits", "mid_out", "Exits, typical weekday, midday", "exits", "typical day"),
    ("weekday_pm_entries", "pm_in", "Entries, typical weekday, evening peak", "entries", "typical day"),
    ("weekday_pm_exits", "pm_out", "Exits, typical weekday, evening peak", "exits", "typical day"),
    ("weekday_late_entries", "late_in", "Entries, typical weekday, late evening", "entries", "typical day"),
    ("weekday_late_exits", "late_out", "Exits, typical weekday, late evening", "exits", "typical day"),
    ("saturday_entries", "sat_in", "Entries, typical Saturday", "entries", "typical day"),
    ("saturday_exits", "sat_out", "Exits, typical Saturday", "exits", "typical day"),
    ("sunday_entries", "sun_in", "Entries, typical Sunday", "entries", "typical day"),
    ("sunday_exits", "sun_out", "Exits, typical Sunday", "exits", "typical day"),
    ("annual_entries_exits", "tot_yr", "Entries and exits in the year", "entries and exits", "annual"),
    ("annual_nr_season", "s_yr", "National Rail entries and exits in the year, season tickets",
     "entries and exits", "annual"),
    ("annual_nr_reduced", "r_yr", "National Rail entries and exits in the year, reduced-fare tickets",
     "entries and exits", "annual"),
    ("annual_nr_full", "f_yr", "National Rail entries and exits in the year, full-fare tickets",
     "entries and exits", "annual"),
)
STATION_METRICS: dict[str, dict[str, str]] = {
    metric_id: {"source_code": code, "label": label, "unit": unit, "period": period}
    for metric_id, code, label, unit, period in _METRIC_ROWS
}
METRIC_ID_BY_SOURCE_CODE: dict[str, str] = {spec["source_code"]: metric_id for metric_id, spec in STATION_METRICS.items()}

# Mode of travel from the stations file's category; a category not listed here is kept as
# written ("Not in London" stays as a warning that publish will probably drop the station).
KIND_BY_CATEGORY: dict[str, str] = {
    "LU": "Underground",
    "Add DLR": "DLR",
    "Add OG": "Overground",
    "Add Trams": "Tram",
    "Other NR": "National Rail",
    "Other NR with ltd OG": "National Rail",
}

COUNT_FIELDS: tuple[str, ...] = ("station_id", "year", "metric", "value")
STATION_COLUMNS: tuple[str, ...] = ("wkt_geom", "id", "name", "nlc_id", "nr_id", "category")


def read_tfl_station_counts(counts_path: Path, stations_path: Path) -> Extract:
    """Stations (entities) and their entry/exit counts (observations, one per station, year, metric).

    ts is 1 January (00:00 UTC) of the count's year: an annual-period stamp for both the
    "typical day" and the "annual" metrics (see STATION_METRICS). Counts that cannot be
    placed or read come back as rejects, each with its reason.
    """
    counts_path, stations_path = Path(counts_path), Path(stations_path)
    stations, station_rejects = _read_stations(stations_path)
    counts = _read_count_lines(counts_path)
    counts = _validate_counts(counts)
    counts = _join_stations(counts, stations)
    counts = _reject_duplicate_counts(counts)

    kept = counts[counts["reason"].isna() & counts["number"].notna()]
    observations = pd.DataFrame(
        {
            "entity_id": kept["entity_id"].astype("object"),
            "ts": pd.to_datetime(kept["year"].astype("str") + "-01-01").astype("datetime64[us]"),
            "metric": kept["metric_id"].astype("object"),
            "value": kept["number"].astype("float64"),
        }
    )
    observations = observations.sort_values(["metric", "ts", "entity_id"], kind="stable").reset_index(drop=True)

    used = stations[stations["id"].isin(observations["entity_id"])]
    entities = pd.DataFrame(
        {
            "entity_id": used["id"].astype("object"),
            "name": used["name"].astype("object"),
            "kind": used["kind"].astype("object"),
            "lat": used["lat"].astype("float64"),
            "lon": used["lon"].astype("float64"),
            "borough_code": pd.Series([None] * len(used), index=used.index, dtype="object"),
        }
    ).reset_index(drop=True)

    count_rejects = line_rejects(counts[counts["reason"].notna()], counts_path.name)
    rejects = pd.concat([station_rejects, count_rejects], ignore_index=True)
    return Extract(
        entities=entities[list(ENTITY_COLUMNS)],
        observations=observations[list(OBSERVATION_COLUMNS)],
        rejects=rejects[list(REJECT_COLUMNS)],
    )


def station_join_summary(counts_path: Path, stations_path: Path) -> pd.DataFrame:
    """How many count lines and distinct station ids of each id scheme found a station.

    One row per scheme (nlc, crs, old_tfl_number, other): lines, lines_joined, station_ids,
    station_ids_joined. For reporting; read_tfl_station_counts does the real work.
    """
    stations, _ = _read_stations(Path(stations_path))
    counts = _join_stations(_validate_counts(_read_count_lines(Path(counts_path))), stations)
    counts = counts[counts["station_id"].notna()]
    counts = counts.assign(joined=counts["entity_id"].notna())
    by_line = counts.groupby("scheme").agg(lines=("joined", "size"), lines_joined=("joined", "sum"))
    ids = counts.groupby(["scheme", "station_id"])["joined"].any().groupby("scheme")
    by_id = pd.DataFrame({"station_ids": ids.size(), "station_ids_joined": ids.sum()})
    return by_line.join(by_id).reset_index()


def _lines(text: str) -> pd.Series:
    """The file's lines, indexed by line number (1-based), without line terminators."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return pd.Series(lines, index=pd.RangeIndex(1, len(lines) + 1), dtype="str")


def _unquote(field: pd.Series) -> pd.Series:
    field = field.str.strip()
    quoted = field.str.startswith('"') & field.str.endswith('"') & (field.str.len() >= 2)
    return field.where(~quoted, field.str.slice(1, -1)).str.strip()


def _read_count_lines(path: Path) -> pd.DataFrame:
    """One row per non-blank line: line, raw, the four fields as text, and a reason if the line is malformed.

    Fields are quoted ("0500") or bare (0500). None of them can hold a comma, so splitting on
    commas is exact, and much faster than a CSV parser that would need a Python loop to
    report malformed lines with their numbers.
    """
    lines = _lines(read_text(path, "Station counts file"))
    lines = lines[lines.str.strip() != ""]
    if lines.empty:
        raise IngestError(f"Station counts file {path}: file has no rows")
    field_count = lines.str.count(",") + 1
    if not (field_count == len(COUNT_FIELDS)).any():
        typical_fields = int(field_count.mode().iloc[0])
        missing = COUNT_FIELDS[typical_fields:]
        problem = f"missing column(s): {', '.join(missing)}" if missing else "no line has the expected fields"
        raise IngestError(
            f"Station counts file {path}: {problem} "
            f"(expected {len(COUNT_FIELDS)} comma-separated fields per line: {', '.join(COUNT_FIELDS)})"
        )
    parts = lines.str.split(",", n=len(COUNT_FIELDS) - 1, expand=True)
    frame = pd.DataFrame({"line": lines.index.to_numpy(), "raw": lines.to_numpy()})
    for position, name in enumerate(COUNT_FIELDS):
        frame[name] = _unquote(parts[position]).to_numpy()
    stray_quote = frame[list(COUNT_FIELDS)].apply(lambda field: field.str.contains('"', regex=False)).any(axis=1)
    reason = pd.Series(None, index=frame.index, dtype="object")
    reason = first_reason(
        reason,
        pd.Series(field_count.to_numpy() != len(COUNT_FIELDS)),
        "expected 4 comma-separated fields (station_id, year, metric, value): found "
        + pd.Series(field_count.to_numpy()).astype("str"),
    )
    frame["reason"] = first_reason(reason, stray_quote, "a field has unbalanced quotes")
    return frame


def _validate_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds year (int), metric_id, number (float, NaN = missing reading) and reasons for bad fields."""
    reason = frame["reason"]
    station_id, year, metric, value = (frame[name].fillna("") for name in COUNT_FIELDS)

    reason = first_reason(reason, station_id == "", "station id is empty")
    is_year = year.str.fullmatch(r"[12]\d{3}")
    reason = first_reason(reason, ~is_year, "year is not a four-digit year: '" + year + "'")
    metric_id = metric.map(METRIC_ID_BY_SOURCE_CODE)
    known = ", ".join(METRIC_ID_BY_SOURCE_CODE)
    reason = first_reason(reason, metric_id.isna(), "metric is not one of " + known + ": '" + metric + "'")
    number = pd.to_numeric(value.where(value != ""), errors="coerce")
    not_a_number = (value != "") & ~np.isfinite(number.fillna(np.inf))
    reason = first_reason(reason, not_a_number, "value is not a number: '" + value + "'")
    reason = first_reason(reason, number < 0, "value is negative: " + value)

    return frame.assign(
        reason=reason,
        year=pd.to_numeric(year.where(is_year), errors="coerce").astype("Int64"),
        metric_id=metric_id,
        number=number.astype("float64"),
    )


def _station_scheme(station_id: pd.Series) -> pd.Series:
    scheme = pd.Series("other", index=station_id.index, dtype="object")
    scheme = scheme.mask(station_id.str.fullmatch(r"\d{4}").fillna(False), "nlc")
    scheme = scheme.mask(station_id.str.fullmatch(r"\d{1,3}").fillna(False), "old_tfl_number")
    return scheme.mask(station_id.str.fullmatch(r"[A-Z]{3}").fillna(False), "crs")


def _join_stations(counts: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """Adds scheme, entity_id (the stations id, NaN when not found) and reasons for unplaced counts."""
    station_id = counts["station_id"].fillna("")
    scheme = _station_scheme(station_id)
    join_key = pd.Series(np.nan, index=counts.index, dtype="object")
    join_key = join_key.mask(scheme == "nlc", "nlc:" + station_id.str.lstrip("0").replace("", "0"))
    join_key = join_key.mask(scheme == "crs", "crs:" + station_id)
    join_key = join_key.mask(scheme == "other", "id:" + station_id)

    lookup = _station_lookup(stations)
    entity_id = join_key.map(lookup)
    unplaced = entity_id.isna()
    reason = counts["reason"]
    reason = first_reason(
        reason,
        unplaced & (scheme == "old_tfl_number"),
        "old TfL station number, which the stations file has no column for: '" + station_id + "'",
    )
    reason = first_reason(
        reason, unplaced & (scheme == "nlc"), "NLC not in the stations file (nlc_id): '" + station_id + "'"
    )
    reason = first_reason(
        reason,
        unplaced & (scheme == "crs"),
        "CRS code not in the stations file (id or nr_id; National Rail counts cover all of Great Britain, "
        "the stations file only the London area): '" + station_id + "'",
    )
    reason = first_reason(
        reason, unplaced & (scheme == "other"), "station code not in the stations file (id): '" + station_id + "'"
    )
    return counts.assign(scheme=scheme, entity_id=entity_id, reason=reason)


def _station_lookup(stations: pd.DataFrame) -> pd.Series:
    """Join key ("nlc:500", "crs:NLT", "id:940GZZLUACT") -> stations id."""
    nlc = stations["nlc_id"].str.lstrip("0").replace("", "0").where(stations["nlc_id"] != "")
    crs_from_id = stations["id"].where(stations["id"].str.fullmatch(r"[A-Z]{3}"))
    crs_from_nr = stations["nr_id"].where(stations["nr_id"] != "")
    keys = pd.concat(
        [
            pd.Series(stations["id"].to_numpy(), index="nlc:" + nlc).loc[lambda s: s.index.notna()],
            pd.Series(stations["id"].to_numpy(), index="crs:" + crs_from_id).loc[lambda s: s.index.notna()],
            pd.Series(stations["id"].to_numpy(), index="crs:" + crs_from_nr).loc[lambda s: s.index.notna()],
            pd.Series(stations["id"].to_numpy(), index="id:" + stations["id"]),
        ]
    )
    # A station whose CRS is both its id and its nr_id lists the same key twice; harmless.
    return keys[~keys.index.duplicated(keep="first")]


def _reject_duplicate_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Second and later counts for the same station, year and metric are rejected; the first is kept."""
    # A line with an empty value is a missing reading, not a count: it cannot duplicate one.
    candidate = counts["reason"].isna() & counts["number"].notna()
    keys = ["entity_id", "year", "metric_id"]
    groups = counts[candidate].groupby(keys)
    first_line = groups["line"].transform("first").reindex(counts.index)
    first_value = groups["value"].transform("first").reindex(counts.index)
    duplicate = candidate & (first_line != counts["line"])
    message = (
        "duplicate of an earlier line for the same station, year and metric: line "
        + first_line.astype("Int64").astype("str").fillna("")
        + " (station "
        + counts["entity_id"].fillna("")
        + ", "
        + counts["metric"].fillna("")
        + ", "
        + counts["year"].astype("str")
        + ", kept value "
        + first_value.fillna("")
        + ")"
    )
    return counts.assign(reason=first_reason(counts["reason"], duplicate, message))


def _read_stations(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Usable stations (id, name, category, kind, nlc_id, nr_id, lat, lon) and rejected rows."""
    table = read_csv_records(path, "Stations file", list(STATION_COLUMNS))

    points = parse_wkt_points(table["wkt_geom"])
    lat, lon = to_wgs84(points["x"].to_numpy(), points["y"].to_numpy())
    table["lat"], table["lon"] = lat, lon

    reason = first_reason(table["reason"], table["id"] == "", "station id is empty")
    reason = first_reason(reason, points["x"].isna(), "wkt_geom is not a WKT POINT: '" + table["wkt_geom"] + "'")
    reason = first_reason(
        reason, table["lat"].isna(), "wkt_geom is not a British National Grid point: '" + table["wkt_geom"] + "'"
    )
    reason = first_reason(
        reason,
        (table["nlc_id"] != "") & ~table["nlc_id"].str.fullmatch(r"\d+"),
        "nlc_id is not a number: '" + table["nlc_id"] + "'",
    )
    nlc = table["nlc_id"].str.lstrip("0").where(table["nlc_id"] != "")
    for column, values in (("id", table["id"]), ("nlc_id", nlc), ("nr_id", table["nr_id"].where(table["nr_id"] != ""))):
        first_line = table["line"].groupby(values).transform("first")
        repeated = values.notna() & (first_line != table["line"])
        reason = first_reason(
            reason,
            repeated,
            column
            + " repeats an earlier station: '"
            + table[column]
            + "' is on line "
            + first_line.astype("Int64").astype("str").fillna(""),
        )

    table["kind"] = table["category"].map(KIND_BY_CATEGORY).fillna(table["category"]).replace("", "Station")
    good = table[reason.isna()]
    bad = table[reason.notna()].assign(reason=reason[reason.notna()])
    return good.reset_index(drop=True), line_rejects(bad, path.name)

