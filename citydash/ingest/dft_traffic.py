"""Department for Transport road traffic counts (one hour per count), with count point locations.

Counts CSV: cp, year, pc, 2wmv, car, bus, lgv, hgv_total, min_month, min_dayofmonth, hour,
min_idir, max_idir - one row per count point and count day, vehicles in the hour starting
at `hour` (local clock time), both directions together.
Locations GeoJSON (CRS84): Point features with properties cp, la_name, road, rcat, easting, northing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, REJECT_COLUMNS, Extract
from citydash.ingest.errors import IngestError
from citydash.ingest.records import RAW_TEXT_LIMIT, first_reason, line_rejects, read_csv_records, read_text


# Counts column -> observation metric id (ids shared with the road_traffic catalogue entry).
DFT_METRICS: dict[str, str] = {
    "pc": "pedal_cycles",
    "2wmv": "motorcycles",
    "car": "cars",
    "bus": "buses",
    "lgv": "lgvs",
    "hgv_total": "hgvs",
}
COUNT_COLUMNS: tuple[str, ...] = ("cp", "year", *DFT_METRICS, "min_month", "min_dayofmonth", "hour")
LOCATION_PROPERTIES: tuple[str, ...] = ("cp", "road", "rcat")

# DfT's road category code: who runs the road and what it is, then M(otorway), U(rban) or
# R(ural). The sample agrees: TM rows are M roads, PU/PR/TU rows A roads, the rest named streets.
ROAD_CATEGORIES: dict[str, str] = {
    "TM": "Motorway (trunk)",
    "PM": "Motorway (principal)",
    "TU": "Trunk A road, urban",
    "TR": "Trunk A road, rural",
    "PU": "Principal A road, urban",
    "PR": "Principal A road, rural",
    "BU": "B road, urban",
    "BR": "B road, rural",
    "CU": "C road, urban",
    "CR": "C road, rural",
    "UU": "Unclassified road, urban",
    "UR": "Unclassified road, rural",
}
CRS84_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"}


def read_dft_traffic(counts_path: Path, locations_path: Path, *, local_timezone: str = "Europe/London") -> Extract:
    """Count points (entities) and vehicles counted by type in the counted hour (observations).

    ts is the start of the counted hour in UTC. DfT writes it as local clock time (08:00) and
    counts run March to October, mostly under British Summer Time, so 08:00 BST becomes
    07:00 UTC and 08:00 GMT stays 08:00 UTC; the dashboard shows it back in local time. The
    change of clocks happens at 01:00 UTC, so a whole-hour count never falls in a gap or
    a repeat; one that did would be rejected rather than guessed.
    """
    counts_path, locations_path = Path(counts_path), Path(locations_path)
    locations, location_rejects = _read_locations(locations_path)
    counts = _read_counts(counts_path)
    counts = _validate_counts(counts, local_timezone)
    counts = _place_counts(counts, locations)
    counts = _reject_duplicate_days(counts)

    kept = counts[counts["reason"].isna()]
    long = kept.melt(
        id_vars=["cp", "ts", "line"],
        value_vars=[f"{column}_number" for column in DFT_METRICS],
        var_name="column",
        value_name="value",
    ).dropna(subset=["value"])
    observations = pd.DataFrame(
        {
            "entity_id": long["cp"].astype("object"),
            "ts": long["ts"].astype("datetime64[us]"),
            "metric": long["column"].str.removesuffix("_number").map(DFT_METRICS).astype("object"),
            "value": long["value"].astype("float64"),
        }
    ).sort_values(["metric", "ts", "entity_id"], kind="stable").reset_index(drop=True)

    used = locations[locations["cp"].isin(kept["cp"])]
    entities = pd.DataFrame(
        {
            "entity_id": used["cp"].astype("object"),
            "name": used["name"].astype("object"),
            "kind": used["kind"].astype("object"),
            "lat": used["lat"].astype("float64"),
            "lon": used["lon"].astype("float64"),
            "borough_code": pd.Series([None] * len(used), index=used.index, dtype="object"),
        }
    ).reset_index(drop=True)

    rejects = pd.concat(
        [location_rejects, line_rejects(counts[counts["reason"].notna()], counts_path.name)], ignore_index=True
    )
    return Extract(
        entities=entities[list(ENTITY_COLUMNS)],
        observations=observations[list(OBSERVATION_COLUMNS)],
        rejects=rejects[list(REJECT_COLUMNS)],
    )


def _read_counts(path: Path) -> pd.DataFrame:
    """One row per non-blank data line: line, raw, each column of COUNT_COLUMNS as stripped text, reason."""
    return read_csv_records(path, "Traffic counts file", list(COUNT_COLUMNS))


def _validate_counts(table: pd.DataFrame, local_timezone: str) -> pd.DataFrame:
    """Adds cp (canonical text), ts (UTC), <column>_number for each vehicle column, and reasons."""
    reason = table["reason"]
    cp = table["cp"].str.replace(r"\.0+$", "", regex=True)
    reason = first_reason(reason, ~cp.str.fullmatch(r"\d+"), "count point is not a number: '" + table["cp"] + "'")

    parts = {}
    for column, low, high in (("year", 1900, 2199), ("min_month", 1, 12), ("min_dayofmonth", 1, 31), ("hour", 0, 23)):
        number = pd.to_numeric(table[column], errors="coerce")
        whole = number.notna() & (number == number.round()) & number.between(low, high)
        problem = f"{column} is not a whole number from {low} to {high}: '"
        reason = first_reason(reason, ~whole, problem + table[column] + "'")
        parts[column] = number.where(whole)
    local = pd.to_datetime(
        pd.DataFrame(
            {"year": parts["year"], "month": parts["min_month"], "day": parts["min_dayofmonth"], "hour": parts["hour"]}
        ),
        errors="coerce",
    )
    no_such_day = local.isna() & reason.isna()
    reason = first_reason(
        reason,
        no_such_day,
        "no such date: day " + table["min_dayofmonth"] + " of month " + table["min_month"] + " in " + table["year"],
    )
    utc = local.dt.tz_localize(local_timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC").dt.tz_localize(None)
    reason = first_reason(
        reason,
        utc.isna() & local.notna(),
        f"hour is skipped or repeated when the clocks change in {local_timezone}: "
        + table["year"] + "-" + table["min_month"] + "-" + table["min_dayofmonth"] + " hour " + table["hour"],
    )

    numbers = {}
    for column in DFT_METRICS:
        text = table[column]
        number = pd.to_numeric(text.where(text != ""), errors="coerce")
        not_a_number = (text != "") & ~np.isfinite(number.fillna(np.inf))
        reason = first_reason(reason, not_a_number, f"{column} is not a number: '" + text + "'")
        reason = first_reason(reason, number < 0, f"{column} is negative: " + text)
        numbers[f"{column}_number"] = number.astype("float64")
    no_counts = pd.DataFrame(numbers).isna().all(axis=1)
    reason = first_reason(reason, no_counts, "no vehicle counts (" + ", ".join(DFT_METRICS) + " are all empty)")

    return table.assign(cp=cp, ts=utc.astype("datetime64[us]"), reason=reason, **numbers)


def _place_counts(counts: pd.DataFrame, locations: pd.DataFrame) -> pd.DataFrame:
    located = counts["cp"].isin(locations["cp"])
    reason = first_reason(
        counts["reason"], ~located, "count point not in the locations file: " + counts["cp"]
    )
    return counts.assign(reason=reason)


def _reject_duplicate_days(counts: pd.DataFrame) -> pd.DataFrame:
    """A second row for the same count point and hour repeats every metric: keep the first row only."""
    candidate = counts["reason"].isna()
    first_line = counts[candidate].groupby(["cp", "ts"])["line"].transform("first").reindex(counts.index)
    duplicate = candidate & (first_line != counts["line"])
    message = (
        "duplicate of an earlier line for the same count point and day: line "
        + first_line.astype("Int64").astype("str").fillna("")
        + " (count point "
        + counts["cp"]
        + ", "
        + counts["year"]
        + "-"
        + counts["min_month"].str.zfill(2)
        + "-"
        + counts["min_dayofmonth"].str.zfill(2)
        + ")"
    )
    return counts.assign(reason=first_reason(counts["reason"], duplicate, message))


def _read_locations(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Usable count points (cp, name, kind, lat, lon) and rejected features."""
    text = read_text(path, "Count point locations file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(
            f"Count point locations file {path}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        raise IngestError(f"Count point locations file {path}: expected a GeoJSON FeatureCollection with a features list")
    crs_name = ((document.get("crs") or {}).get("properties") or {}).get("name")
    if crs_name is not None and crs_name not in CRS84_NAMES:
        raise IngestError(
            f"Count point locations file {path}: coordinates are in {crs_name}; expected WGS84 longitude/latitude (CRS84)"
        )
    features = document["features"]
    properties = [feature.get("properties") if isinstance(feature, dict) else None for feature in features]
    present = {key for item in properties if isinstance(item, dict) for key in item}
    missing = [key for key in LOCATION_PROPERTIES if key not in present]
    if features and missing:
        raise IngestError(f"Count point locations file {path}: no feature has the propert(ies): {', '.join(missing)}")

    rows, reject_rows = [], []
    first_index_of_cp: dict[str, int] = {}
    for index, feature in enumerate(features):
        problem, row = _location(feature)
        if problem is None and row["cp"] in first_index_of_cp:
            problem = (
                "duplicate of an earlier feature for the same count point: "
                f"feature {first_index_of_cp[row['cp']]} (count point {row['cp']})"
            )
        if problem is not None:
            reject_rows.append({"source": path.name, "record": str(index), "reason": problem, "raw": _raw(feature)})
            continue
        first_index_of_cp[row["cp"]] = index
        rows.append(row)
    locations = pd.DataFrame(rows, columns=["cp", "name", "kind", "lat", "lon"])
    rejects = pd.DataFrame(reject_rows, columns=list(REJECT_COLUMNS)).astype("object")
    return locations, rejects


def _location(feature: object) -> tuple[str | None, dict]:
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        return "not a GeoJSON feature with properties", {}
    properties = feature["properties"]
    cp = str(properties.get("cp", "")).strip().removesuffix(".0")
    if not cp.isdigit():
        return f"count point is not a number: {properties.get('cp')!r}", {}
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return "geometry is not a Point", {}
    coordinates = geometry.get("coordinates")
    try:
        lon, lat = float(coordinates[0]), float(coordinates[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return f"Point coordinates are not numbers: {coordinates!r}", {}
    if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return f"Point coordinates are not a longitude and latitude: {coordinates!r}", {}
    road = str(properties.get("road") or "").strip()
    rcat = str(properties.get("rcat") or "").strip()
    return None, {
        "cp": cp,
        "name": f"{road} (count point {cp})" if road else f"Count point {cp}",
        "kind": ROAD_CATEGORIES.get(rcat.upper(), rcat or "Road (category not given)"),
        "lat": lat,
        "lon": lon,
    }


def _raw(record: object) -> str:
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(record)
    return text[:RAW_TEXT_LIMIT]

