"""Connector for generic IoT street sensors: a sensor list plus reading files.

Sensors file: CSV with columns sensor_id, type, lat, lon and optionally name.
Reading files: CSV with columns sensor_id, timestamp, metric, value, or JSON lines (one
object per line with those keys); the format is told from the content, not the extension.
Column names in CSV headers are matched ignoring case and surrounding spaces; JSON keys
must be spelt exactly.

Timestamps are ISO 8601. Those with an offset ("Z", "+01:00") are converted to UTC; naive
ones are local times in the time zone `tz`. In the autumn hour that happens twice the earlier
(summer time) instant is taken; spring-forward times that never happened are rejected.

Large files are parsed by pandas' C CSV reader or Arrow's JSON reader. When a file has rows
those fast readers refuse (a bad JSON line, a row with too many fields, quoted line breaks),
it is re-read line by line so that each bad row is rejected on its own with its line number.
"""

from __future__ import annotations

import csv
import io
import json
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json

from citydash.contract import OBSERVATION_COLUMNS, REJECT_COLUMNS, Extract, empty_frame
from citydash.ingest.errors import IngestError

READING_FIELDS = ("sensor_id", "timestamp", "metric", "value")
SENSOR_FIELDS = ("sensor_id", "type", "lat", "lon")
OPTIONAL_SENSOR_FIELDS = ("name",)
RAW_LIMIT = 500
# Lines per chunk when a file has rows the fast readers refuse; only refused chunks go slowly.
CHUNK_LINES = 10_000
# Characters a parser treats as blank on an otherwise empty line.
BLANK = " \t\r"
OFFSET_PATTERN = r"\d[Tt ]\d.*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def read_sensors(reading_paths: list[Path], sensors_path: Path, tz: str = "Europe/London") -> Extract:
    """Read a sensor list and reading files into the data contract.

    Readings of one sensor, time and metric seen more than once keep the first (in the order
    of `reading_paths`, then line order); the others are rejected, as "duplicate reading" when
    the value is the same and "conflicting reading" when it differs. Readings out of time order
    are accepted. Raises IngestError for a file that cannot be read as a whole, and ValueError
    for an unknown time zone.
    """
    zone = _time_zone(tz)
    sensors_path = Path(sensors_path)
    entities, sensor_rejects = _read_sensor_list(sensors_path)
    known_ids = pd.Index(entities["entity_id"])
    files, readings, reject_parts = [], [], [sensor_rejects]
    for path in map(Path, reading_paths):
        text_file = _TextFile.read(path)
        records = _read_records(text_file, READING_FIELDS, allow_json=True)
        good, reasons = _validate_readings(records, known_ids, sensors_path.name, zone)
        readings.append(good.assign(file=len(files)))
        reject_parts.append(_rejects(text_file, records.loc[reasons.index], reasons))
        files.append(text_file)
    observations, duplicates = _drop_duplicate_readings(readings, files)
    return Extract(entities=entities, observations=observations, rejects=_concat_rejects(reject_parts + [duplicates]))


def _time_zone(tz: str) -> str:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {tz!r}") from error
    return tz


@dataclass(frozen=True)
class _TextFile:
    """A UTF-8 text file's bytes, its text, and where each line starts and ends (byte offsets)."""

    path: Path
    data: bytes
    text: str
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def read(cls, path: Path) -> "_TextFile":
        try:
            data = path.read_bytes()
        except OSError as error:
            raise IngestError(f"{path}: cannot be read ({error.strerror or error})") from error
        data = data.removeprefix(b"\xef\xbb\xbf")
        if b"\n" not in data:
            # Old Mac line endings (CR only): make them lines like any other.
            data = data.replace(b"\r", b"\n")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise IngestError(f"{path}: is not UTF-8 text (bad byte at offset {error.start})") from error
        if not text.strip():
            raise IngestError(f"{path}: the file is empty")
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
        starts = np.concatenate([[0], newlines + 1])
        ends = np.concatenate([newlines, [len(data)]])
        return cls(path, data, text, starts, ends)

    def content_lines(self) -> np.ndarray:
        """1-based numbers of the lines that are not blank, as parsers skip blank lines."""
        bytes_ = np.frombuffer(self.data, dtype=np.uint8)
        non_empty = self.starts < self.ends
        first_bytes = np.full(len(self.starts), ord(" "), dtype=np.uint8)
        first_bytes[non_empty] = bytes_[self.starts[non_empty]]
        # Only lines that begin with a blank character can be blank: check those one by one.
        suspects = np.flatnonzero(np.isin(first_bytes, list(BLANK.encode())))
        blank = np.zeros(len(self.starts), dtype=bool)
        blank[suspects] = [not self.data[self.starts[i] : self.ends[i]].strip(BLANK.encode()) for i in suspects]
        return np.flatnonzero(~blank) + 1

    def chunk(self, first_line: int, last_line: int) -> bytes:
        """The bytes of lines first_line..last_line (1-based, inclusive)."""
        return self.data[self.starts[first_line - 1] : self.ends[last_line - 1]]

    def line(self, number: int) -> str:
        return self.chunk(number, number).decode("utf-8")

    def raw(self, first_lines: pd.Series, last_lines: pd.Series) -> list[str]:
        """The text of records spanning the given lines, cut to RAW_LIMIT characters."""
        texts = []
        for first, last in zip(first_lines.to_numpy(), last_lines.to_numpy()):
            chunk = self.data[self.starts[first - 1] : self.ends[last - 1]]
            texts.append(chunk[: RAW_LIMIT * 4].decode("utf-8", errors="ignore").replace("\r\n", "\n").rstrip("\r")[:RAW_LIMIT])
        return texts


# ---------------------------------------------------------------------------------------
# Records: one row per input record with its fields as text (or numbers where Arrow's JSON
# reader already typed them), the lines it spans, and any problem that stops its fields
# being read at all.


def _read_records(text_file: _TextFile, fields: tuple[str, ...], allow_json: bool, optional: tuple[str, ...] = ()) -> pd.DataFrame:
    path = text_file.path
    first = text_file.text.lstrip()[:1]
    if first == "[":
        raise IngestError(f"{path}: is a JSON array; expected CSV or JSON lines (one object per line)")
    if first == "{":
        if not allow_json:
            raise IngestError(f"{path}: is JSON; expected a CSV file with columns {', '.join(fields)}")
        return _json_line_records(text_file, fields)
    return _csv_records(text_file, fields, optional)


def _records_frame(columns: dict[str, pd.Series], first_lines: np.ndarray, last_lines: np.ndarray | None = None, problems: list | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({name: column.reset_index(drop=True) for name, column in columns.items()})
    frame["line"] = np.asarray(first_lines, dtype="int64")
    frame["last_line"] = frame["line"] if last_lines is None else np.asarray(last_lines, dtype="int64")
    frame["problem"] = pd.Series(problems if problems is not None else [None] * len(frame), dtype=object)
    return frame


def _concat_records(parts: list[pd.DataFrame], fields: list[str]) -> pd.DataFrame:
    """Chunks read by different readers; a field typed as numbers in some and text in others becomes text."""
    for field in fields:
        if len({pd.api.types.is_float_dtype(part[field]) for part in parts}) > 1:
            parts = [part.assign(**{field: _as_text(part[field])}) for part in parts]
    return pd.concat(parts, ignore_index=True)


def _as_text(column: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(column):
        return column.map(_number_text, na_action="ignore").astype("str")
    return column


def _chunks(numbers: np.ndarray) -> list[np.ndarray]:
    return [numbers[start : start + CHUNK_LINES] for start in range(0, len(numbers), CHUNK_LINES)]


def _header_columns(path: Path, header: list[str], fields: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    missing = [field for field in fields if field not in names]
    if missing:
        raise IngestError(f"{path}: missing column(s) {', '.join(missing)}; the header has {', '.join(names)}")
    repeated = sorted({name for name in names if names.count(name) > 1 and name in fields + optional})
    if repeated:
        raise IngestError(f"{path}: column(s) {', '.join(repeated)} appear more than once in the header")
    return {name: names.index(name) for name in fields + optional if name in names}


def _csv_records(text_file: _TextFile, fields: tuple[str, ...], optional: tuple[str, ...]) -> pd.DataFrame:
    """Whole file by pandas; if it refuses, chunk by chunk, reading refused chunks row by row."""
    numbers = text_file.content_lines()
    header_line, body = numbers[0], numbers[1:]
    try:
        header = next(csv.reader([text_file.line(header_line)], strict=True))
    except csv.Error as error:
        raise IngestError(f"{text_file.path}: line {header_line}: the header cannot be read ({error})") from error
    positions = _header_columns(text_file.path, header, fields, optional)
    width = len(header)
    table = _csv_fast(text_file, body, width)
    if table is None:
        parts = []
        for chunk in _chunks(body):
            part = _csv_fast(text_file, chunk, width)
            parts.append(part if part is not None else _csv_one_by_one(text_file, chunk, width))
        if any(part is None for part in parts):
            # A quoted line break across a chunk boundary: only the whole body can be read then.
            table = _csv_one_by_one(text_file, body, width, strict=True)
        else:
            table = pd.concat(parts, ignore_index=True)
    columns = {name: table[position] for name, position in positions.items()}
    return _records_frame(columns, table["line"], table["last_line"], table["problem"].tolist())


def _csv_fast(text_file: _TextFile, numbers: np.ndarray, width: int) -> pd.DataFrame | None:
    """pandas' C reader over these lines; None when a row has too many fields or lines and rows differ."""
    if len(numbers) == 0:
        return _csv_frame([], numbers, numbers, [], width)
    try:
        table = pd.read_csv(io.BytesIO(text_file.chunk(numbers[0], numbers[-1])), header=None, dtype=str, keep_default_na=False, engine="c")
    except pd.errors.ParserError:
        return None
    if len(table) != len(numbers) or table.shape[1] > width:
        return None
    for position in range(table.shape[1], width):
        table[position] = ""
    table["line"] = numbers
    table["last_line"] = numbers
    table["problem"] = None
    return table


def _csv_one_by_one(text_file: _TextFile, numbers: np.ndarray, width: int, strict: bool = False) -> pd.DataFrame | None:
    """Python's csv reader over these lines; None (or IngestError when strict) for a quote left open."""
    offset = int(numbers[0]) - 1 if len(numbers) else 0
    text = text_file.chunk(numbers[0], numbers[-1]).decode("utf-8") if len(numbers) else ""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, first_lines, last_lines = [], [], []
    previous_end = 0
    try:
        for row in reader:
            first, previous_end = previous_end + 1, reader.line_num
            if row and not (len(row) == 1 and not row[0].strip(BLANK)):
                rows.append(row)
                first_lines.append(offset + first)
                last_lines.append(offset + reader.line_num)
    except csv.Error as error:
        if strict:
            raise IngestError(f"{text_file.path}: line {offset + reader.line_num}: {error}") from error
        return None
    problems = [None if len(row) <= width else f"row has {len(row)} fields but the header has {width}" for row in rows]
    return _csv_frame(rows, np.array(first_lines, dtype="int64"), np.array(last_lines, dtype="int64"), problems, width)


def _csv_frame(rows: list[list[str]], first_lines: np.ndarray, last_lines: np.ndarray, problems: list, width: int) -> pd.DataFrame:
    padded = [row[:width] + [""] * (width - len(row)) for row in rows]
    table = pd.DataFrame({position: pd.Series([row[position] for row in padded], dtype="str") for position in range(width)})
    table["line"] = first_lines
    table["last_line"] = last_lines
    table["problem"] = pd.Series(problems, dtype=object)
    return table


def _json_line_records(text_file: _TextFile, fields: tuple[str, ...]) -> pd.DataFrame:
    """Whole file by Arrow; if it refuses, chunk by chunk, reading refused chunks line by line."""
    numbers = text_file.content_lines()
    frame = _json_fast(text_file, numbers, fields)
    if frame is None:
        parts = []
        for chunk in _chunks(numbers):
            part = _json_fast(text_file, chunk, fields)
            parts.append(part if part is not None else _json_one_by_one(text_file, chunk, fields))
        frame = _concat_records(parts, list(fields))
    readable = frame[frame["problem"].isna()]
    if readable.empty:
        raise IngestError(f"{text_file.path}: no line is a JSON object (expected JSON lines: one object per line)")
    for field in fields:
        if readable[field].isna().all():
            raise IngestError(f"{text_file.path}: no line has a {field!r} field")
    return frame


def _json_fast(text_file: _TextFile, numbers: np.ndarray, fields: tuple[str, ...]) -> pd.DataFrame | None:
    """Arrow's reader over these lines; None when they need reading one by one."""
    schema = pa.schema([(field, pa.string()) for field in fields if field != "value"])
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    try:
        table = pa_json.read_json(io.BytesIO(text_file.chunk(numbers[0], numbers[-1])), parse_options=options)
    except pa.ArrowException:
        return None
    if table.num_rows != len(numbers):
        return None
    columns: dict[str, pd.Series] = {}
    for field in fields:
        column = table.column(field) if field in table.column_names else pa.nulls(table.num_rows)
        if pa.types.is_null(column.type):
            columns[field] = pd.Series([None] * table.num_rows, dtype="str")
        elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            columns[field] = column.to_pandas().astype("float64")
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            columns[field] = column.to_pandas().astype("str")
        else:
            return None
    return _records_frame(columns, numbers)


def _json_field_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, dict, list)):
        return json.dumps(value)
    return _number_text(value) if isinstance(value, float) else str(value)


def _json_one_by_one(text_file: _TextFile, numbers: np.ndarray, fields: tuple[str, ...]) -> pd.DataFrame:
    values: dict[str, list] = {field: [] for field in fields}
    problems: list[str | None] = []
    for number in numbers:
        try:
            item = json.loads(text_file.line(number))
        except ValueError as error:
            item, problem = None, f"line is not valid JSON ({error.msg} at column {error.colno})"
        else:
            problem = None if isinstance(item, dict) else f"line is a JSON {type(item).__name__}, not an object"
        problems.append(problem)
        for field in fields:
            values[field].append(_json_field_text(item.get(field)) if problem is None else None)
    columns = {field: pd.Series(column, dtype="str") for field, column in values.items()}
    return _records_frame(columns, numbers, problems=problems)


# ---------------------------------------------------------------------------------------
# Validation: masks over whole columns, reasons built only for the rows that fail.


def _text(column: pd.Series) -> pd.Series:
    return column.astype("str").fillna("").str.strip()


# A check is a mask of failing rows and a function that describes the failure for given
# row labels; descriptions are only built for failing rows, which keeps big files fast.
Check = tuple[pd.Series, Callable[[pd.Index], "pd.Series | str"]]


def _reasons(checks: list[Check], index: pd.Index) -> pd.Series:
    """Plain-English reasons, "; "-joined, for rows failing any check; "" for the others."""
    reasons = pd.Series("", index=index, dtype=object)
    failing = np.zeros(len(index), dtype=bool)
    for mask, _ in checks:
        failing |= mask.to_numpy(dtype=bool)
    rows = index[failing]
    if rows.empty:
        return reasons
    joined = pd.Series("", index=rows, dtype=object)
    for mask, describe in checks:
        hits = mask.loc[rows]
        if not hits.any():
            continue
        labels = hits.index[hits.to_numpy(dtype=bool)]
        part = pd.Series(describe(labels), index=labels, dtype=object)
        current = joined.loc[labels]
        joined.loc[labels] = current.where(current.eq(""), current + "; ") + part
    reasons.loc[rows] = joined
    return reasons


def _number_checks(column: pd.Series, label: str) -> tuple[pd.Series, list[Check]]:
    """Floats, and checks that each entry is a finite number."""
    if pd.api.types.is_float_dtype(column):
        numbers = column.astype("float64")
        missing = numbers.isna()
        not_number = pd.Series(False, index=column.index)

        def text(rows: pd.Index) -> pd.Series:
            return numbers.loc[rows].map(str)
    else:
        texts = _text(column)
        numbers = pd.to_numeric(texts, errors="coerce").astype("float64")
        missing = texts.eq("")
        not_number = numbers.isna() & ~missing

        def text(rows: pd.Index) -> pd.Series:
            return texts.loc[rows].str.slice(0, 40)
    not_finite = pd.Series(np.isinf(numbers.to_numpy()), index=column.index)
    checks: list[Check] = [
        (missing, lambda rows: f"{label} is missing"),
        (not_number, lambda rows: f"{label} '" + text(rows) + "' is not a number"),
        (not_finite, lambda rows: f"{label} '" + text(rows) + "' is not a finite number"),
    ]
    return numbers, checks


def _timestamp_checks(texts: pd.Series, tz: str) -> tuple[pd.Series, list[Check]]:
    """Naive UTC timestamps, and checks that each text gives one."""
    has_offset = texts.str.contains(OFFSET_PATTERN, regex=True)
    stamps = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[us]")
    aware = pd.to_datetime(texts[has_offset], format="ISO8601", utc=True, errors="coerce")
    stamps[has_offset] = aware.dt.tz_localize(None).astype("datetime64[us]")
    local = pd.to_datetime(texts[~has_offset], format="ISO8601", errors="coerce")
    # ambiguous=True picks summer time, the earlier of the two instants a repeated hour names.
    localised = local.dt.tz_localize(tz, ambiguous=np.ones(len(local), dtype=bool), nonexistent="NaT")
    stamps[~has_offset] = localised.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    nonexistent = pd.Series(False, index=texts.index)
    nonexistent[~has_offset] = local.notna() & localised.isna()
    missing = texts.eq("")
    unreadable = stamps.isna() & ~missing & ~nonexistent

    def quoted(rows: pd.Index) -> pd.Series:
        return "'" + texts.loc[rows].str.slice(0, 40) + "'"

    checks: list[Check] = [
        (missing, lambda rows: "timestamp is missing"),
        (unreadable, lambda rows: "timestamp " + quoted(rows) + " is not an ISO 8601 date and time"),
        (nonexistent, lambda rows: "local time " + quoted(rows) + f" does not exist in {tz} (the clocks went forward)"),
    ]
    return stamps, checks


def _readable_only(checks: list[Check], problems: pd.Series) -> list[Check]:
    """A record whose fields could not be read fails with its problem alone."""
    readable = problems.isna()
    return [(problems.notna(), lambda rows: problems.loc[rows])] + [(mask & readable, describe) for mask, describe in checks]


def _rejects(text_file: _TextFile, records: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({
        "source": pd.Series([text_file.path.name] * len(records), dtype=object),
        "record": pd.Series(records["line"].astype(str).tolist(), dtype=object),
        "reason": pd.Series(reasons.tolist(), dtype=object),
        "raw": pd.Series(text_file.raw(records["line"], records["last_line"]), dtype=object),
    })


def _validate_readings(records: pd.DataFrame, known_ids: pd.Index, sensors_name: str, tz: str) -> tuple[pd.DataFrame, pd.Series]:
    """Readings that pass every check, and the reasons of those that fail (indexed by record)."""
    sensor_ids = _text(records["sensor_id"])
    metrics = _text(records["metric"])
    stamps, stamp_checks = _timestamp_checks(_text(records["timestamp"]), tz)
    values, value_checks = _number_checks(records["value"], "value")
    no_sensor = sensor_ids.eq("")
    checks: list[Check] = [
        (no_sensor, lambda rows: "sensor id is missing"),
        (
            ~no_sensor & ~sensor_ids.isin(known_ids),
            lambda rows: "sensor id '" + sensor_ids.loc[rows].str.slice(0, 40) + f"' is not in {sensors_name}",
        ),
        (metrics.eq(""), lambda rows: "metric is missing"),
        *stamp_checks,
        *value_checks,
    ]
    reasons = _reasons(_readable_only(checks, records["problem"]), records.index)
    good = reasons.eq("")
    readings = pd.DataFrame({
        "entity_id": sensor_ids[good],
        "ts": stamps[good],
        "metric": metrics[good],
        "value": values[good],
        "line": records["line"][good],
        "last_line": records["last_line"][good],
    })
    return readings, reasons[~good]


def _drop_duplicate_readings(parts: list[pd.DataFrame], files: list[_TextFile]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Observations keeping the first reading of each sensor, time and metric; rejects for the rest."""
    columns = {"entity_id": "object", "ts": "datetime64[us]", "metric": "object", "value": "float64"}
    if not parts:
        return empty_frame(OBSERVATION_COLUMNS), empty_frame(REJECT_COLUMNS)
    readings = pd.concat(parts, ignore_index=True)
    key = ["entity_id", "ts", "metric"]
    repeated = readings.duplicated(key, keep="first")
    rejects = [empty_frame(REJECT_COLUMNS)]
    if repeated.any():
        involved = readings[readings.duplicated(key, keep=False)]
        first = involved.groupby(key, sort=False)[["value", "file", "line"]].transform("first")
        later = readings[repeated]
        kept = first.loc[later.index]
        kept_source = kept["file"].map(lambda index: files[index].path.name)
        where = " line " + kept["line"].astype(str) + " of " + kept_source
        reasons = pd.Series(
            np.where(
                later["value"].eq(kept["value"]),
                "duplicate reading: same sensor, time, metric and value as" + where,
                "conflicting reading: value " + later["value"].map(_number_text) + " differs from "
                + kept["value"].map(_number_text) + " already read for this sensor, time and metric at"
                + where + "; kept the first",
            ),
            index=later.index,
        )
        for index, rows in later.groupby("file"):
            rejects.append(_rejects(files[index], rows, reasons.loc[rows.index]))
        readings = readings[~repeated]
    observations = readings[list(columns)].astype(columns)
    observations = observations.sort_values(["metric", "ts", "entity_id"], kind="stable").reset_index(drop=True)
    return observations, _concat_rejects(rejects)


def _number_text(value: float) -> str:
    return f"{value:.15g}"


def _concat_rejects(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [part for part in parts if not part.empty]
    if not parts:
        return empty_frame(REJECT_COLUMNS)
    frame = pd.concat(parts, ignore_index=True).astype("object")
    return frame.where(frame.notna(), None)


# ---------------------------------------------------------------------------------------
# The sensor list.


def _read_sensor_list(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    text_file = _TextFile.read(path)
    records = _read_records(text_file, SENSOR_FIELDS, allow_json=False, optional=OPTIONAL_SENSOR_FIELDS)
    ids = _text(records["sensor_id"])
    names = _text(records["name"]) if "name" in records else pd.Series("", index=records.index, dtype="str")
    kinds = _text(records["type"])
    lat, lat_checks = _number_checks(records["lat"], "lat")
    lon, lon_checks = _number_checks(records["lon"], "lon")
    checks: list[Check] = [
        (ids.eq(""), lambda rows: "sensor id is missing"),
        *lat_checks,
        *lon_checks,
        (lat.abs().gt(90) & ~np.isinf(lat), lambda rows: "lat " + lat.loc[rows].map(_number_text) + " is outside -90..90"),
        (lon.abs().gt(180) & ~np.isinf(lon), lambda rows: "lon " + lon.loc[rows].map(_number_text) + " is outside -180..180"),
    ]
    reasons = _reasons(_readable_only(checks, records["problem"]), records.index)
    # A second listing of a sensor is compared with the first usable one.
    usable_ids = ids.where(reasons.eq(""))
    first_line = records["line"].groupby(usable_ids).transform("first")
    repeated = usable_ids.notna() & usable_ids.duplicated(keep="first")
    reasons = reasons.where(
        ~repeated,
        "sensor id '" + ids.str.slice(0, 40) + "' is already listed at line " + first_line.astype("Int64").astype(str),
    )
    good = reasons.eq("")
    entities = pd.DataFrame({
        "entity_id": ids[good],
        "name": names[good].where(names[good].ne(""), ids[good]),
        "kind": kinds[good].astype(object).where(kinds[good].ne(""), None),
        "lat": lat[good],
        "lon": lon[good],
        "borough_code": None,
    }).astype({"entity_id": "object", "name": "object", "kind": "object", "borough_code": "object"})
    entities = entities.reset_index(drop=True)
    bad = reasons.index[~good]
    return entities, _rejects(text_file, records.loc[bad], reasons.loc[bad])
