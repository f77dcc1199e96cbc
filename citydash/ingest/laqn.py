"""London Air Quality Network (LondonAir API) JSON -> Extract.

Two shapes are read:
- the nested collection: {"metadata": ..., "boroughs": {"<borough>": [site, ...]}} where each
  site has site_code, site_name, site_type, latitude, longitude (strings) and
  pollutants_measured[] -> {species_code, measurements[] -> {@MeasurementDateGMT, @Value}};
- the raw API response for one site: {"RawAQData": {"@SiteCode": ..., "Data": [{"@SpeciesCode",
  "@MeasurementDateGMT", "@Value"}, ...]}}.

The raw shape has no site details (name, type, position). Its readings are kept only when a
nested-shape file in the same call lists the site; otherwise each reading is rejected with a
reason naming the unknown site, because an entity without a position cannot be placed in a
borough and a reading without an entity cannot be shown.

The borough names in the nested shape are ignored on purpose: publish assigns boroughs from
the site's coordinates. Sites with a bad position are rejected, and so are their readings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, Extract, empty_frame, rejects_frame
from citydash.ingest.errors import IngestError

# LondonAir species codes -> catalogue metric ids.
SPECIES_TO_METRIC: dict[str, str] = {
    "NO2": "no2",
    "PM25": "pm25",
    "PM10": "pm10",
    "O3": "o3",
    "SO2": "so2",
    "CO": "co",
}

# LondonAir stamps readings in GMT all year round (it does not shift to BST), and GMT is UTC,
# so the text is already naive UTC as the contract wants.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
RAW_LIMIT = 500
EXPECTED_SHAPE = (
    "a LondonAir JSON object with 'boroughs' (a collection of site lists) "
    "or 'RawAQData' (one site's raw API data)"
)


@dataclass(frozen=True)
class _Site:
    code: str
    name: str
    kind: str | None
    lat: float
    lon: float


@dataclass
class _Readings:
    """Readings flattened column by column, with what is needed to explain a reject."""

    source: list[str] = field(default_factory=list)
    record: list[str] = field(default_factory=list)
    site: list[str | None] = field(default_factory=list)
    species: list[str] = field(default_factory=list)
    ts_text: list[object] = field(default_factory=list)
    value: list[object] = field(default_factory=list)
    raw: list[dict] = field(default_factory=list)
    # Why the reading is rejected whatever it says (its site record was rejected), or None.
    site_problem: list[str | None] = field(default_factory=list)

    def add(self, source: str, record: str, site: str | None, measurement: dict,
            species: str, raw: dict, site_problem: str | None) -> None:
        self.source.append(source)
        self.record.append(record)
        self.site.append(site)
        self.species.append(species)
        self.ts_text.append(measurement.get("@MeasurementDateGMT"))
        self.value.append(measurement.get("@Value"))
        self.raw.append(raw)
        self.site_problem.append(site_problem)


def _raw_text(record: object) -> str:
    return json.dumps(record, ensure_ascii=False, default=str)[:RAW_LIMIT]


def _reject(source: str, record: str, reason: str, raw: object) -> dict:
    return {"source": source, "record": record, "reason": reason, "raw": _raw_text(raw)}


def _load(path: Path) -> object:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IngestError(f"{path}: file not found (expected {EXPECTED_SHAPE})") from None
    except OSError as error:
        raise IngestError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        # The LondonAir API prefixes its JSON with a byte-order mark.
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise IngestError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); "
                          f"expected {EXPECTED_SHAPE}") from None
    except json.JSONDecodeError as error:
        raise IngestError(f"{path}: malformed JSON ({error.msg} at line {error.lineno} column "
                          f"{error.colno}); expected {EXPECTED_SHAPE}") from None


def _shape(path: Path, document: object) -> str:
    """'nested' or 'raw'; IngestError for anything else."""
    if not isinstance(document, dict):
        kind = "an array" if isinstance(document, list) else f"a {type(document).__name__}"
        raise IngestError(f"{path}: the JSON is {kind}; expected {EXPECTED_SHAPE}")
    if "boroughs" in document:
        boroughs = document["boroughs"]
        if not isinstance(boroughs, dict) or not all(isinstance(v, list) for v in boroughs.values()):
            raise IngestError(f"{path}: 'boroughs' must map each borough to a list of sites")
        return "nested"
    if "RawAQData" in document:
        raw = document["RawAQData"]
        if not isinstance(raw, dict) or not isinstance(raw.get("@SiteCode"), str):
            raise IngestError(f"{path}: 'RawAQData' must be an object with an '@SiteCode' string")
        if not isinstance(raw.get("Data", []), (list, dict, type(None))):
            raise IngestError(f"{path}: 'RawAQData.Data' must be a list of readings")
        return "raw"
    keys = ", ".join(sorted(map(str, document))[:8]) or "none"
    raise IngestError(f"{path}: expected {EXPECTED_SHAPE}; the object's keys are: {keys}")


def _coordinate(site: dict, key: str, limit: float) -> tuple[float | None, str | None]:
    text = site.get(key)
    if text is None or (isinstance(text, str) and not text.strip()):
        return None, f"{key} is missing"
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None, f"{key} {text!r} is not a number"
    if not math.isfinite(number) or abs(number) > limit:
        return None, f"{key} {text!r} is out of range"
    return number, None


def _site_from(record: dict) -> tuple[_Site | None, str | None]:
    code = record.get("site_code")
    if not isinstance(code, str) or not code.strip():
        return None, "site record has no site_code"
    lat, lat_problem = _coordinate(record, "latitude", 90)
    lon, lon_problem = _coordinate(record, "longitude", 180)
    if lat_problem or lon_problem:
        return None, f"site {code}: {lat_problem or lon_problem}"
    name = record.get("site_name")
    kind = record.get("site_type")
    return _Site(
        code=code.strip(),
        name=name.strip() if isinstance(name, str) and name.strip() else code.strip(),
        kind=kind.strip() if isinstance(kind, str) and kind.strip() else None,
        lat=lat,
        lon=lon,
    ), None


def _read_nested(source: str, document: dict, sites: dict[str, _Site],
                 readings: _Readings, rejects: list[dict]) -> None:
    for borough, site_records in document["boroughs"].items():
        for site_number, site_record in enumerate(site_records):
            site_id = f"boroughs.{borough}[{site_number}]"
            if not isinstance(site_record, dict):
                rejects.append(_reject(source, site_id, "site record is not a JSON object", site_record))
                continue
            details = {k: v for k, v in site_record.items() if k != "pollutants_measured"}
            site, problem = _site_from(site_record)
            if problem:
                rejects.append(_reject(source, site_id, problem, details))
            elif site.code not in sites:
                sites[site.code] = site
            elif sites[site.code] != site:
                rejects.append(_reject(source, site_id, f"site {site.code} is listed again with "
                                       "different details; kept the first listing", details))
            code = site.code if site else site_record.get("site_code")
            site_problem = f"site record rejected ({problem})" if problem else None
            pollutants = site_record.get("pollutants_measured", [])
            if not isinstance(pollutants, list):
                rejects.append(_reject(source, f"{site_id}.pollutants_measured",
                                       "pollutants_measured is not a list", pollutants))
                continue
            for pollutant_number, pollutant in enumerate(pollutants):
                pollutant_id = f"{site_id}.pollutants_measured[{pollutant_number}]"
                _read_pollutant(source, pollutant_id, code, pollutant, site_problem, readings, rejects)


def _read_pollutant(source: str, pollutant_id: str, code: object, pollutant: object,
                    site_problem: str | None, readings: _Readings, rejects: list[dict]) -> None:
    if not isinstance(pollutant, dict) or not isinstance(pollutant.get("species_code"), str):
        summary = ({k: v for k, v in pollutant.items() if k != "measurements"}
                   if isinstance(pollutant, dict) else pollutant)
        rejects.append(_reject(source, pollutant_id, "pollutant record has no species_code", summary))
        return
    species = pollutant["species_code"]
    measurements = pollutant.get("measurements", [])
    if not isinstance(measurements, list):
        rejects.append(_reject(source, f"{pollutant_id}.measurements",
                               f"measurements of {species} is not a list", measurements))
        return
    for number, measurement in enumerate(measurements):
        record_id = f"{pollutant_id}.measurements[{number}]"
        context = {"site_code": code, "species_code": species}
        if not isinstance(measurement, dict):
            rejects.append(_reject(source, record_id, "measurement is not a JSON object",
                                   {**context, "measurement": measurement}))
            continue
        readings.add(source, record_id, code if isinstance(code, str) else None, measurement,
                     species, {**context, **measurement}, site_problem)


def _read_raw(source: str, document: dict, readings: _Readings, rejects: list[dict]) -> None:
    raw = document["RawAQData"]
    code = raw["@SiteCode"].strip()
    data = raw.get("Data") or []
    # The API turns a single reading into an object rather than a one-element list.
    records = [data] if isinstance(data, dict) else data
    for number, measurement in enumerate(records):
        record_id = f"RawAQData.Data[{number}]"
        if not isinstance(measurement, dict):
            rejects.append(_reject(source, record_id, "reading is not a JSON object",
                                   {"@SiteCode": code, "reading": measurement}))
            continue
        species = measurement.get("@SpeciesCode")
        readings.add(source, record_id, code, measurement,
                     species if isinstance(species, str) else "", {"@SiteCode": code, **measurement},
                     None)


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _reading_reason(readings: _Readings, i: int, check: str, number: float) -> str:
    if check == "site_rejected":
        return readings.site_problem[i]
    if check == "site_unknown":
        return (f"site {readings.site[i]!r} is unknown: raw API data has no site details and no "
                "nested-shape file in this call lists the site")
    if check == "species":
        return f"species {readings.species[i] or '(none)'} not in the catalogue"
    if check == "not_a_number":
        return f"value {readings.value[i]!r} is not a number"
    if check == "negative":
        return f"negative concentration {number:g}"
    if check == "bad_timestamp":
        return f"timestamp {readings.ts_text[i]!r} is not a date and time 'YYYY-MM-DD HH:MM:SS'"
    if check == "off_the_hour":
        return f"timestamp {readings.ts_text[i]!r} is not on the hour (LondonAir readings are hourly)"
    return (f"duplicate reading for site {readings.site[i]}, {readings.species[i]} at "
            f"{readings.ts_text[i]}: kept the first")


def _texts(values: list[object]) -> pd.Series:
    """Strings as they are, anything else (numbers included) as NaN."""
    return pd.Series([v.strip() if isinstance(v, str) else None for v in values], dtype="object")


def _numbers(values: list[object]) -> np.ndarray:
    """Values as floats; JSON numbers are accepted too, anything unreadable becomes NaN."""
    text = pd.Series(
        [v.strip() if isinstance(v, str)
         else (str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None)
         for v in values],
        dtype="object",
    )
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")


def _validate(readings: _Readings, sites: dict[str, _Site]) -> tuple[pd.DataFrame, list[dict]]:
    """Observations from readings with a value, and one reject per reading that fails a check."""
    has_value = np.array([not _is_empty(v) for v in readings.value], dtype=bool)
    numbers = _numbers(readings.value)
    stamps = pd.to_datetime(_texts(readings.ts_text), format=TIMESTAMP_FORMAT, errors="coerce")
    stamps = stamps.astype("datetime64[us]")
    metric = pd.Series(readings.species, dtype="object").map(SPECIES_TO_METRIC)

    # Checks in the order they are reported: a reading gets the first that fails.
    checks = [
        ("site_rejected", np.array([p is not None for p in readings.site_problem], dtype=bool)),
        ("site_unknown", np.array([s not in sites for s in readings.site], dtype=bool)),
        ("species", metric.isna().to_numpy()),
        ("not_a_number", ~np.isfinite(numbers)),
        ("negative", numbers < 0),
        ("bad_timestamp", stamps.isna().to_numpy()),
        ("off_the_hour", (stamps != stamps.dt.floor("h")).to_numpy() & stamps.notna().to_numpy()),
    ]
    failed = np.select([mask for _, mask in checks], [name for name, _ in checks], default="")
    failed[~has_value] = ""
    candidate = has_value & (failed == "")
    keys = pd.DataFrame({"site": readings.site, "ts": stamps, "metric": metric})[candidate]
    duplicated = keys.duplicated(keep="first")
    failed[keys.index[duplicated].to_numpy()] = "duplicate"
    kept = keys.index[~duplicated].to_numpy()

    observations = pd.DataFrame({
        "entity_id": pd.Series(np.asarray(readings.site, dtype=object)[kept], dtype="object"),
        "ts": stamps.to_numpy()[kept],
        "metric": pd.Series(metric.to_numpy()[kept], dtype="object"),
        "value": numbers[kept],
    })
    rejects = [
        _reject(readings.source[i], readings.record[i],
                _reading_reason(readings, i, failed[i], numbers[i]), readings.raw[i])
        for i in np.flatnonzero(failed != "")
    ]
    return observations, rejects


def _entities(sites: dict[str, _Site]) -> pd.DataFrame:
    if not sites:
        return empty_frame(ENTITY_COLUMNS)
    return pd.DataFrame({
        "entity_id": pd.Series([s.code for s in sites.values()], dtype="object"),
        "name": pd.Series([s.name for s in sites.values()], dtype="object"),
        "kind": pd.Series([s.kind for s in sites.values()], dtype="object"),
        "lat": pd.Series([s.lat for s in sites.values()], dtype="float64"),
        "lon": pd.Series([s.lon for s in sites.values()], dtype="float64"),
        "borough_code": pd.Series([None] * len(sites), dtype="object"),
    })


def read_laqn(paths: list[Path]) -> Extract:
    """Read LondonAir JSON files (nested collection or raw API shape) into an Extract.

    Entities are the monitoring sites listed in nested-shape files (entity_id = site code,
    kind = site type, borough_code None). Observations are readings with a value; an empty
    @Value means no reading and gives no row. Readings are rejected, one reject each, for:
    a rejected or unknown site, a species not in SPECIES_TO_METRIC, a value that is not a
    number or is negative, a bad or off-the-hour timestamp, and a (site, ts, metric) already
    read earlier in the same call (the first is kept).

    Raises IngestError naming the file for a missing or unreadable file, malformed JSON, or
    JSON of another shape.
    """
    paths = [Path(p) for p in paths]
    documents = [(path, _load(path)) for path in paths]
    shapes = [_shape(path, document) for path, document in documents]

    sites: dict[str, _Site] = {}
    readings = _Readings()
    rejects: list[dict] = []
    for (path, document), shape in zip(documents, shapes):
        if shape == "nested":
            _read_nested(path.name, document, sites, readings, rejects)
        else:
            _read_raw(path.name, document, readings, rejects)
    # Readings are checked once every file's sites are known, so a raw file may name a site
    # that a later nested file lists.

    observations, reading_rejects = _validate(readings, sites)
    if observations.empty:
        observations = empty_frame(OBSERVATION_COLUMNS)
    return Extract(
        entities=_entities(sites),
        observations=observations,
        rejects=rejects_frame(rejects + reading_rejects),
    )
