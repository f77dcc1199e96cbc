"""TfL Unified API /BikePoint response (Santander Cycles docking stations), one snapshot.

The file is a JSON array of places: id ("BikePoints_1"), commonName, lat, lon and
additionalProperties, a list of {key, value, modified} with every value a string
(NbBikes "11", Locked "false"). Each property carries the time TfL last updated it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, REJECT_COLUMNS, Extract, rejects_frame
from citydash.ingest.errors import IngestError
from citydash.ingest.records import RAW_TEXT_LIMIT

# Observation metric id -> additionalProperties key.
BIKEPOINT_METRICS: dict[str, str] = {
    "dock_capacity": "NbDocks",
    "bikes_available": "NbBikes",
    "empty_docks": "NbEmptyDocks",
}
DOCK_FIELDS: tuple[str, ...] = ("id", "commonName", "lat", "lon", "additionalProperties")
DOCK_KIND = "Docking station"


def read_tfl_bikepoint(path: Path, *, snapshot_ts: datetime | str | pd.Timestamp | None = None) -> Extract:
    """Docking stations (entities) and their capacity, bikes and empty docks (observations).

    Each dock's observations are stamped with the newest `modified` time among its
    additionalProperties (when TfL last updated the dock). Pass snapshot_ts to stamp every
    dock with one time instead (naive = UTC); it is required when the file has no
    `modified` times. Docks that are locked, temporary or not installed keep their place
    and say so in kind: "Docking station (locked, temporary)".
    """
    path = Path(path)
    docks = _load_docks(path)
    fixed_ts = _parse_snapshot_ts(snapshot_ts) if snapshot_ts is not None else None
    if fixed_ts is None and docks and all(_newest_modified(dock) is None for dock in docks if isinstance(dock, dict)):
        raise IngestError(
            f"BikePoint file {path}: no dock has a readable 'modified' time in its additionalProperties; "
            "pass snapshot_ts (when the snapshot was taken, UTC) to read it"
        )

    entity_rows: list[dict] = []
    observation_rows: list[dict] = []
    reject_rows: list[dict] = []
    first_index_of_id: dict[str, int] = {}
    for index, dock in enumerate(docks):
        problem, entity, readings, ts = _read_dock(dock, fixed_ts)
        if problem is None and entity["entity_id"] in first_index_of_id:
            problem = (
                "duplicate of an earlier record with the same id: "
                f"record {first_index_of_id[entity['entity_id']]} ({entity['entity_id']})"
            )
        if problem is not None:
            reject_rows.append({"source": path.name, "record": str(index), "reason": problem, "raw": _raw(dock)})
            continue
        first_index_of_id[entity["entity_id"]] = index
        entity_rows.append(entity)
        observation_rows.extend(
            {"entity_id": entity["entity_id"], "ts": ts, "metric": metric, "value": value}
            for metric, value in readings.items()
        )

    return Extract(
        entities=_frame(entity_rows, ENTITY_COLUMNS),
        observations=_frame(observation_rows, OBSERVATION_COLUMNS)
        .sort_values(["metric", "ts", "entity_id"], kind="stable")
        .reset_index(drop=True),
        rejects=rejects_frame(reject_rows)[list(REJECT_COLUMNS)],
    )


def _load_docks(path: Path) -> list:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise IngestError(f"BikePoint file {path}: file not found") from None
    except UnicodeDecodeError as error:
        raise IngestError(f"BikePoint file {path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise IngestError(f"BikePoint file {path}: cannot be read ({error.strerror})") from None
    if not text.strip():
        raise IngestError(f"BikePoint file {path}: file is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise IngestError(f"BikePoint file {path}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    # /BikePoint/{id} answers with one place rather than a list of them.
    if isinstance(document, dict) and "additionalProperties" in document:
        document = [document]
    if not isinstance(document, list):
        raise IngestError(f"BikePoint file {path}: expected a JSON array of docking stations, found a {type(document).__name__}")
    objects = [dock for dock in document if isinstance(dock, dict)]
    if document and not objects:
        raise IngestError(f"BikePoint file {path}: expected a JSON array of docking station objects, found none")
    if objects:
        missing = [field for field in DOCK_FIELDS if not any(field in dock for dock in objects)]
        if missing:
            raise IngestError(f"BikePoint file {path}: no docking station has the field(s): {', '.join(missing)}")
    return document


def _read_dock(dock: object, fixed_ts: pd.Timestamp | None) -> tuple[str | None, dict, dict[str, float], pd.Timestamp | None]:
    """(problem, entity row, metric -> value, ts); problem is None when the dock is usable."""
    if not isinstance(dock, dict):
        return f"not a JSON object: a {type(dock).__name__}", {}, {}, None
    missing = [field for field in DOCK_FIELDS if dock.get(field) in (None, "")]
    if missing:
        return f"missing field(s): {', '.join(missing)}", {}, {}, None
    properties = dock["additionalProperties"]
    if not isinstance(properties, list):
        return "additionalProperties is not a list", {}, {}, None
    lat, lon = _coordinate(dock["lat"]), _coordinate(dock["lon"])
    if lat is None or not -90 <= lat <= 90:
        return f"lat is not a latitude: {dock['lat']!r}", {}, {}, None
    if lon is None or not -180 <= lon <= 180:
        return f"lon is not a longitude: {dock['lon']!r}", {}, {}, None

    values = _property_values(properties)
    readings: dict[str, float] = {}
    for metric, key in BIKEPOINT_METRICS.items():
        text = values.get(key, "").strip()
        if text == "":
            continue  # a missing reading is an absent observation, not an error
        number = _count(text)
        if number is None:
            return f"{key} is not a count (a whole number of 0 or more): {text!r}", {}, {}, None
        readings[metric] = number

    ts = fixed_ts if fixed_ts is not None else _newest_modified(dock)
    if ts is None:
        return "no readable 'modified' time among additionalProperties; pass snapshot_ts", {}, {}, None
    entity = {
        "entity_id": str(dock["id"]),
        "name": str(dock["commonName"]).strip(),
        "kind": _kind(values),
        "lat": lat,
        "lon": lon,
        "borough_code": None,
    }
    return None, entity, readings, ts


def _property_values(properties: list) -> dict[str, str]:
    return {
        str(item["key"]): "" if item.get("value") is None else str(item["value"])
        for item in properties
        if isinstance(item, dict) and "key" in item
    }


def _kind(values: dict[str, str]) -> str:
    """The dock's kind, with the states a rider cares about: not installed, locked, temporary."""
    states = [
        state
        for state, flagged in (
            ("not installed", values.get("Installed", "").strip().lower() == "false"),
            ("locked", values.get("Locked", "").strip().lower() == "true"),
            ("temporary", values.get("Temporary", "").strip().lower() == "true"),
        )
        if flagged
    ]
    return f"{DOCK_KIND} ({', '.join(states)})" if states else DOCK_KIND


def _coordinate(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _count(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if not np.isfinite(number) or number < 0 or number != int(number):
        return None
    return number


def _newest_modified(dock: dict) -> pd.Timestamp | None:
    """The newest readable `modified` time among the dock's properties, naive UTC."""
    properties = dock.get("additionalProperties")
    if not isinstance(properties, list):
        return None
    stamps = [_utc(item.get("modified")) for item in properties if isinstance(item, dict)]
    readable = [stamp for stamp in stamps if stamp is not None]
    return pd.Timestamp(max(readable)).as_unit("us") if readable else None


def _utc(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    # TfL writes UTC with a trailing Z; a stamp without a zone is taken to be UTC too.
    return stamp.astimezone(timezone.utc).replace(tzinfo=None) if stamp.tzinfo else stamp


def _parse_snapshot_ts(value: datetime | str | pd.Timestamp) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"snapshot_ts {value!r} is not a date and time") from None
    if pd.isna(ts):
        raise ValueError(f"snapshot_ts {value!r} is not a date and time")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("us")


def _raw(dock: object) -> str:
    try:
        text = json.dumps(dock, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(dock)
    return text[:RAW_TEXT_LIMIT]


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    dtypes = {"VARCHAR": "object", "DOUBLE": "float64", "TIMESTAMP": "datetime64[us]"}
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame.astype({name: dtypes[kind] for name, kind in columns.items()})
