"""Read an officer's own spreadsheet export (CSV) into the data contract.

Spreadsheets saved as CSV arrive in every shape: Windows-1252 or UTF-8 with a BOM,
CRLF or old-Mac CR line endings, "2,580" and "45%" and "£1,200" for numbers, "x" or ".."
for suppressed figures, dates as "01/03/2026" or "Mar 2026" or "2019", one column per
year, locations as latitude/longitude, British National Grid eastings/northings, WKT
points, or just a borough name. `read_csv_import` understands all of these, keeps what it
can, rejects the rest row by row with a reason, and explains what it did in a report
(the CLI prints `report.to_text()` for --dry-run).

Rows that name only an area (no point) become observations of the area itself:
entity_id is the area code, lat/lon are NaN and borough_code is already set.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, Extract, empty_frame, rejects_frame
from citydash.ingest.boroughnames import AreaNames
from citydash.ingest.errors import IngestError

ToWgs84 = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
ProgressCallback = Callable[[int, int], None]

# Cell texts that mean "no figure here" (compared lower-case). The UK statistical
# shorthand ([x] not available, [c] confidential, [z] not applicable) and the spreadsheet
# habits (".", "-", "..", ":", "n/a") all mean the same thing for a dashboard: no row.
MISSING_MARKERS: frozenset[str] = frozenset(
    {
        "", ".", "..", "...", "-", "--", "–", "—", ":", "n/a", "na", "n.a.", "nan", "null", "none",
        "#n/a", "x", "[x]", "z", "[z]", "c", "[c]", "*", "[u]", "[w]", "[low]",
    }
)
# The markers that usually mean a figure exists but is withheld (small numbers, disclosure).
SUPPRESSION_MARKERS: frozenset[str] = frozenset({"x", "[x]", "c", "[c]", "*", "[low]"})

REJECT_RAW_LIMIT = 500

# Eastings/northings outside these (metres) cannot be on the British National Grid.
BNG_EASTING_RANGE = (0.0, 800_000.0)
BNG_NORTHING_RANGE = (0.0, 1_400_000.0)

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

_TIME = r"(?:[T\s]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?"
DATE_PATTERNS: dict[str, str] = {
    "year": r"^(?P<year>\d{4})$",
    "financial_year": r"^(?P<year>\d{4})\s*/\s*(?P<second_year>\d{2}|\d{4})$",
    "year_dash_two": r"^(?P<year>\d{4})-(?P<two>\d{2})$",
    "ymd": r"^(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})" + _TIME + r"$",
    "iso_with_offset": r"^\d{4}-\d{2}-\d{2}[T\s]\d{2}:\d{2}.*(?:Z|[+-]\d{2}:?\d{2})$",
    "numeric_dmy": r"^(?P<part1>\d{1,2})[-/.](?P<part2>\d{1,2})[-/.](?P<year>\d{4}|\d{2})" + _TIME + r"$",
    "named_month": (
        r"^(?:[A-Za-z]{3,9},?\s+)??(?:(?P<day>\d{1,2})(?:st|nd|rd|th)?[\s\-/.,]+)?"
        r"(?P<month_name>[A-Za-z]{3,9})\.?[\s\-/.,]+(?P<year>\d{4}|\d{2})" + _TIME + r"$"
    ),
    "named_month_first": (
        r"^(?P<month_name>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME + r"$"
    ),
    "month_slash_year": r"^(?P<month>\d{1,2})[/-](?P<year>\d{4})$",
    "excel_serial": r"^(?P<serial>[2-7]\d{4}(?:\.\d+)?)$",
}
DATE_KIND_NAMES: dict[str, str] = {
    "year": "a year on its own (read as 1 January)",
    "financial_year": "a financial year like 2019/20 (read as 1 April of the first year)",
    "year_month": "year-month like 2026-03 (read as the 1st of the month)",
    "ymd": "ISO year-month-day (2026-03-01, optionally with a time)",
    "iso_with_offset": "ISO date-time with a UTC offset (converted to UTC)",
    "numeric_dmy": "day/month/year (UK order)",
    "numeric_mdy": "month/day/year (US order)",
    "named_month": "dates with month names (1 March 2026, Mar 2026)",
    "named_month_first": "dates like 'March 1, 2026'",
    "month_slash_year": "month/year like 03/2026 (read as the 1st of the month)",
    "excel_serial": "Excel day numbers (days since 30 December 1899)",
}

NUMBER_WITH_UNIT = (
    r"^(?P<sign>[-+−]?)\s*(?P<currency>[£$€¥])?\s*"
    r"(?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(?P<unit>[^\d\s.,+\-].*)?$"
)
# Thousands grouped by commas ("2,580") or, in some exports, spaces ("1 204", also no-break/thin).
THOUSANDS_SEPARATOR = r"(?<=\d)[,\u00a0\u202f ](?=\d{3}(?!\d))"
WKT_POINT = (
    r"^\s*(?:SRID=(?P<srid>\d+);)?\s*POINT\s*(?:ZM|Z|M)?\s*\(\s*"
    r"(?P<x>[-+]?[\d.]+(?:[eE][-+]?\d+)?)[\s,]+(?P<y>[-+]?[\d.]+(?:[eE][-+]?\d+)?)(?:\s+[-+\d.eE]+)*\s*\)\s*$"
)
CLOCK_TIME = r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?$"

# Header spellings (lower case, letters and digits only) that name a coordinate.
LATITUDE_HEADERS = frozenset({"lat", "latitude", "latwgs84", "wgs84lat", "wgs84latitude", "ylat", "latdd"})
LONGITUDE_HEADERS = frozenset(
    {"lon", "long", "lng", "longitude", "lonwgs84", "longwgs84", "wgs84lon", "wgs84longitude", "xlon", "londd"}
)
EASTING_HEADERS = frozenset({"easting", "eastings", "east", "bngeasting", "osgbeasting", "bngx", "xbng"})
NORTHING_HEADERS = frozenset({"northing", "northings", "north", "bngnorthing", "osgbnorthing", "bngy", "ybng"})
X_HEADERS = frozenset({"x", "xcoord", "xcoordinate", "coordx", "pointx"})
Y_HEADERS = frozenset({"y", "ycoord", "ycoordinate", "coordy", "pointy"})
AREA_HEADER_WORDS = ("borough", "localauthority", "authority", "laname", "ladnm", "council", "district", "area")
DATE_HEADER_WORDS = ("date", "time", "year", "period", "month", "week", "day", "when")
VALUE_HEADERS = frozenset({"value", "values", "count", "counts", "amount", "reading", "result", "measurement", "total"})


@dataclass(frozen=True)
class ImportOptions:
    """How to read one officer's CSV. Everything but `dataset` is optional and auto-detected.

    Long tables (one value per row): `value_column` (default: the one numeric column left
    over), and the metric from `metric` (a fixed id), `metric_column` (a column naming it)
    or, with neither, the value column's header.
    Wide tables (`wide=True`): `wide_columns` (default: every column headed by a date or
    year, else every numeric column left over). Columns headed by dates give the time of
    each value (the metric is `metric` or `metric_column`); other columns are metrics.
    Metric names are made into ids (lower case, '_' for other characters) unless
    `metric_ids` maps them.
    Location columns are found by header and content; name them to override.
    `date` fixes the time of every row when the file has no date column ("2019").
    `date_format`: None (detect), "dayfirst", "monthfirst", or a strftime format.
    `timezone`: the zone naive times are written in (e.g. "Europe/London"); None = UTC.
    `skip_rows`: lines above the header (titles, notes); None = find the header by its
    field count. `delimiter`: None = whichever of , ; tab | splits the lines consistently.
    """

    dataset: str
    metric: str | None = None
    metric_column: str | None = None
    value_column: str | None = None
    wide: bool = False
    wide_columns: tuple[str, ...] | None = None
    metric_ids: Mapping[str, str] = field(default_factory=dict)
    entity_id_column: str | None = None
    name_column: str | None = None
    kind: str | None = None
    date_column: str | None = None
    time_column: str | None = None
    date: str | None = None
    date_format: str | None = None
    timezone: str | None = None
    lat_column: str | None = None
    lon_column: str | None = None
    easting_column: str | None = None
    northing_column: str | None = None
    wkt_column: str | None = None
    area_code_column: str | None = None
    area_name_column: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    skip_rows: int | None = None
    chunk_rows: int = 250_000


@dataclass
class ImportReport:
    """What the import understood, in numbers; `to_text()` says it in plain English."""

    source: str
    encoding: str
    line_ending: str
    delimiter: str
    rows_read: int = 0
    rows_kept: int = 0
    rows_rejected: int = 0
    blank_rows: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    reject_examples: list[str] = field(default_factory=list)
    missing_values: dict[str, int] = field(default_factory=dict)
    units_stripped: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    location: str = ""
    date_format: str = ""
    metrics: list[str] = field(default_factory=list)
    time_span: tuple[pd.Timestamp, pd.Timestamp] | None = None
    entities: int = 0
    observations: int = 0
    notes: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        lines = [
            f"Read {self.source}: {_count(self.rows_read, 'data row')} "
            f"({self.encoding}, {self.line_ending} line endings, {_delimiter_name(self.delimiter)}).",
        ]
        if self.blank_rows:
            lines.append(f"Skipped {_count(self.blank_rows, 'blank row')}.")
        metric_list = ", ".join(self.metrics) if self.metrics else "none"
        lines.append(
            f"Kept {_count(self.rows_kept, 'row')} as {_count(self.observations, 'observation')} of "
            f"{_count(len(self.metrics), 'metric')} ({metric_list}) for {_count(self.entities, 'entity')}."
        )
        if self.time_span is not None:
            start, end = self.time_span
            lines.append(f"Time span: {_format_time(start)} to {_format_time(end)}.")
        if self.location:
            lines.append(f"Locations: {self.location}.")
        if self.date_format:
            lines.append(f"Dates: {self.date_format}.")
        if self.reject_reasons:
            rejected_total = sum(self.reject_reasons.values())
            lines.append(
                f"Rejected {_count(rejected_total, 'record')} ({_count(self.rows_rejected, 'whole row')}); "
                "they are kept with their reasons for checking:"
            )
            lines.extend(f"  {count:,} × {reason}" for reason, count in self.reject_reasons.items())
            lines.extend(f"  e.g. {example}" for example in self.reject_examples)
        else:
            lines.append("No rows were rejected.")
        if self.missing_values:
            total = sum(self.missing_values.values())
            suppressed = sum(
                count for marker, count in self.missing_values.items() if marker.lower() in SUPPRESSION_MARKERS
            )
            detail = ", ".join(
                f"{_marker_name(marker)} {count:,}" for marker, count in self.missing_values.items()
            )
            lines.append(
                f"Missing values (no observation made): {total:,}, of which {suppressed:,} are marked as "
                f"suppressed; by marker: {detail}."
            )
        if self.units_stripped:
            detail = ", ".join(f"'{unit}' {count:,}" for unit, count in self.units_stripped.items())
            lines.append(f"Units and symbols removed from numbers: {detail}.")
        lines.append("Columns:")
        lines.extend(f"  {column!r}: {use}" for column, use in self.columns.items())
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass
class ImportResult:
    extract: Extract
    report: ImportReport


# ---------------------------------------------------------------------------------
# Bytes to text


def decode_bytes(raw: bytes, encoding: str | None) -> tuple[str, str]:
    """The text of the file and the name of its encoding: UTF-16 (by BOM), UTF-8 (with or
    without BOM), else Windows-1252, else Latin-1, which can decode anything."""
    if encoding is not None:
        return raw.decode(encoding), encoding
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16 with BOM"
    try:
        text = raw.decode("utf-8-sig")
        return text, "UTF-8 with BOM" if raw.startswith(b"\xef\xbb\xbf") else "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "Latin-1 (ISO-8859-1)"


def normalise_line_endings(text: str) -> tuple[str, str]:
    """The text with every line ending as LF, and which endings it had."""
    crlf = text.count("\r\n")
    lone_cr = text.count("\r") - crlf
    lone_lf = text.count("\n") - crlf
    kinds = [name for name, count in (("CRLF", crlf), ("CR (old Mac)", lone_cr), ("LF", lone_lf)) if count]
    if not kinds:
        kind = "no"
    elif len(kinds) == 1:
        kind = kinds[0]
    else:
        kind = "mixed " + "/".join(kinds)
    return text.replace("\r\n", "\n").replace("\r", "\n"), kind


def sniff_layout(lines: list[str], delimiter: str | None, skip_rows: int | None) -> tuple[str, int]:
    """(delimiter, lines above the header). The delimiter is the one giving the most fields on
    most lines. The header is the first line with as many filled fields as most lines have:
    title and note lines above it fill one cell ("Table 1: ...,,,")."""
    candidates = (delimiter,) if delimiter else (",", ";", "\t", "|")
    best_delimiter, best_count = candidates[0], 0
    for candidate in candidates:
        counts = [len(fields) for fields in csv.reader(lines, delimiter=candidate) if fields]
        modal = Counter(counts).most_common(1)[0][0] if counts else 1
        if modal > best_count:
            best_delimiter, best_count = candidate, modal
    if skip_rows is not None:
        return best_delimiter, skip_rows
    filled = [sum(bool(field.strip()) for field in fields) for fields in _split_each(lines, best_delimiter)]
    typical = Counter(count for count in filled if count).most_common(1)
    if not typical:
        return best_delimiter, 0
    header = next(index for index, count in enumerate(filled) if count >= typical[0][0])
    return best_delimiter, header


def _split_each(lines: list[str], delimiter: str) -> list[list[str]]:
    """The fields of each line on its own (a blank line has none)."""
    return [next(csv.reader([line], delimiter=delimiter), []) for line in lines]


def _delimiter_name(delimiter: str) -> str:
    names = {",": "comma-separated", ";": "semicolon-separated", "\t": "tab-separated", "|": "pipe-separated"}
    return names.get(delimiter, f"separated by {delimiter!r}")


def _count(number: int, noun: str) -> str:
    """'1 row', '2 rows', '1,204 entities'."""
    if number == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number:,} {plural}"


def _marker_name(marker: str) -> str:
    return "(blank)" if marker == "" else f"'{marker}'"


def _format_time(moment: pd.Timestamp) -> str:
    if moment.hour == 0 and moment.minute == 0 and moment.second == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------
# Reading the table


@dataclass
class RawTable:
    frame: pd.DataFrame
    line_numbers: np.ndarray | None  # file line of each row, None when quoted newlines break the count
    bad_lines: list[tuple[int, str]]  # (file line, reason) of rows pandas could not split
    lines: list[str]
    overlong: np.ndarray  # object per row: why a row wider than the header is rejected, else None


def read_table(
    text: str, source: str, delimiter: str, skip_rows: int, chunk_rows: int, on_progress: ProgressCallback | None
) -> RawTable:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) <= skip_rows:
        raise IngestError(f"{source}: the file is empty (no header row)")
    total_rows = max(len(lines) - skip_rows - 1, 0)
    header = next(csv.reader([lines[skip_rows]], delimiter=delimiter), [])
    # Room for rows wider than the header (Excel's trailing delimiters); empty extra columns are dropped below.
    sample = lines[skip_rows + 1 : skip_rows + 200]
    widest = max((len(fields) for fields in csv.reader(sample, delimiter=delimiter)), default=0)
    names = _clean_headers(header + [""] * max(widest - len(header), 0))
    chunks: list[pd.DataFrame] = []
    bad_lines: list[tuple[int, str]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            reader = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                on_bad_lines="warn",
                skiprows=skip_rows + 1,
                header=None,
                names=names,
                index_col=False,
                chunksize=chunk_rows,
                engine="c",
            )
            done = 0
            for chunk in reader:
                chunks.append(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, max(total_rows, done))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as error:
            raise IngestError(f"{source}: cannot be read as a table: {error}") from error
    for warning in caught:
        for line, expected, saw in re.findall(r"line (\d+): expected (\d+) fields?, saw (\d+)", str(warning.message)):
            bad_lines.append((int(line), f"has {saw} fields but the header has {expected}"))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=names, dtype=str)
    frame = frame.fillna("")
    extra = names[len(header) :]
    overlong = np.full(len(frame), None, dtype=object)
    fields = np.zeros(len(frame), dtype=np.int64)
    for position, name in enumerate(extra, start=len(header) + 1):
        filled = (frame[name].str.strip() != "").to_numpy()
        fields[filled] = position
    overlong[fields > 0] = [
        f"the line has {count} fields but the header has {len(header)}" for count in fields[fields > 0]
    ]
    frame = frame.drop(columns=extra)
    empty_unnamed = [
        name for name in frame.columns if name.startswith("column ") and not frame[name].str.strip().any()
    ]
    frame = frame.drop(columns=empty_unnamed)

    expected_lines = skip_rows + 1 + len(frame) + len(bad_lines)
    line_numbers = None
    if expected_lines == len(lines):
        bad = np.array(sorted(line for line, _ in bad_lines), dtype=np.int64)
        candidates = np.arange(skip_rows + 2, len(lines) + 1, dtype=np.int64)
        line_numbers = np.setdiff1d(candidates, bad, assume_unique=True)
    return RawTable(frame=frame, line_numbers=line_numbers, bad_lines=bad_lines, lines=lines, overlong=overlong)


def _clean_headers(names: Iterable[object]) -> list[str]:
    """Headers without surrounding spaces, blank ones named by position, repeats numbered."""
    cleaned: list[str] = []
    for position, name in enumerate(names):
        text = str(name).strip()
        if not text or text.startswith("Unnamed: "):
            text = f"column {position + 1}"
        while text in cleaned:
            text = f"{text} ({position + 1})"
        cleaned.append(text)
    return cleaned


def header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


def find_column(frame: pd.DataFrame, wanted: str, source: str) -> str:
    """The frame's column named `wanted` (exactly, else ignoring case and spacing)."""
    if wanted in frame.columns:
        return wanted
    matches = [name for name in frame.columns if header_key(name) == header_key(wanted)]
    if len(matches) == 1:
        return matches[0]
    columns = ", ".join(repr(name) for name in frame.columns)
    raise IngestError(f"{source}: there is no column {wanted!r}; the columns are {columns}")


# ---------------------------------------------------------------------------------
# Numbers


@dataclass
class ParsedNumbers:
    values: np.ndarray  # float64, NaN where missing or bad
    missing: np.ndarray  # bool: a missing marker, no observation
    bad: np.ndarray  # bool: text that is not a number
    markers: Counter
    units: Counter


def _factorize(texts: pd.Series) -> tuple[np.ndarray, pd.Series]:
    codes, uniques = pd.factorize(texts.astype(str))
    return codes, pd.Series(uniques, dtype=str)


def parse_numbers(texts: pd.Series) -> ParsedNumbers:
    """Numbers from cells as spreadsheets write them ("2,580", "45%", "£1,200", "12.5 µg/m³"),
    with missing markers told apart from text that is not a number."""
    codes, uniques = _factorize(texts)
    stripped = uniques.str.strip()
    is_missing = stripped.str.lower().isin(MISSING_MARKERS).to_numpy()
    numbers = np.array(pd.to_numeric(stripped.where(~is_missing, None), errors="coerce"), dtype="float64")
    unit_of_unique = np.full(len(uniques), None, dtype=object)

    needs_cleaning = np.isnan(numbers) & ~is_missing
    if needs_cleaning.any():
        cleaned = stripped[needs_cleaning].str.replace(THOUSANDS_SEPARATOR, "", regex=True)
        parts = cleaned.str.extract(NUMBER_WITH_UNIT)
        parsed = pd.to_numeric(parts["number"], errors="coerce").to_numpy(dtype="float64")
        negative = (parts["sign"].fillna("").isin(["-", "−"])).to_numpy()
        parsed = np.where(negative, -parsed, parsed)
        numbers[needs_cleaning] = parsed
        units = (parts["currency"].fillna("") + " " + parts["unit"].fillna("")).str.strip()
        unit_of_unique[needs_cleaning] = units.where(units != "", None).to_numpy(dtype=object)
    is_bad = ~is_missing & ~np.isfinite(numbers)
    numbers[~np.isfinite(numbers)] = np.nan

    counts = np.bincount(codes, minlength=len(uniques))
    markers = Counter({stripped[i]: int(counts[i]) for i in np.flatnonzero(is_missing)})
    units = Counter()
    for i in np.flatnonzero(pd.notna(unit_of_unique) & ~is_bad):
        units[unit_of_unique[i]] += int(counts[i])
    return ParsedNumbers(
        values=numbers[codes], missing=is_missing[codes], bad=is_bad[codes], markers=markers, units=units
    )


def mostly_numeric(texts: pd.Series, sample: int = 2000) -> bool:
    """True when most non-missing cells of the column read as numbers."""
    head = texts.iloc[:sample]
    parsed = parse_numbers(head)
    present = ~parsed.missing
    return bool(present.any() and (~parsed.bad[present]).mean() >= 0.5)


# ---------------------------------------------------------------------------------
# Dates


@dataclass
class ParsedDates:
    ts: np.ndarray  # datetime64[us], NaT where blank or not understood
    blank: np.ndarray  # bool
    description: str


def _two_digit_year(years: pd.Series) -> pd.Series:
    """Two-digit years the POSIX way: 69-99 are 19xx, 00-68 are 20xx."""
    century = pd.Series(np.where(years <= 68, 2000, 1900), index=years.index)
    return years.where(years >= 100, years + century)


def _from_parts(parts: pd.DataFrame) -> np.ndarray:
    frame = pd.DataFrame(
        {
            "year": _two_digit_year(pd.to_numeric(parts["year"], errors="coerce")),
            "month": pd.to_numeric(parts["month"], errors="coerce"),
            "day": pd.to_numeric(parts["day"], errors="coerce"),
            "hour": pd.to_numeric(parts.get("hour"), errors="coerce") if "hour" in parts else 0,
            "minute": pd.to_numeric(parts.get("minute"), errors="coerce") if "minute" in parts else 0,
            "second": pd.to_numeric(parts.get("second"), errors="coerce") if "second" in parts else 0,
        }
    ).fillna({"hour": 0, "minute": 0, "second": 0})
    complete = frame[["year", "month", "day"]].notna().all(axis=1)
    result = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[us]")
    if complete.any():
        result[complete.to_numpy()] = pd.to_datetime(frame[complete], errors="coerce").to_numpy(
            dtype="datetime64[us]"
        )
    return result


def _classify_dates(values: pd.Series) -> dict[str, pd.DataFrame]:
    """For each date pattern, the regex groups of the values it matches (by index)."""
    matched: dict[str, pd.DataFrame] = {}
    remaining = values
    for kind, pattern in DATE_PATTERNS.items():
        if remaining.empty:
            break
        parts = remaining.str.extract(pattern) if "?P<" in pattern else None
        hits = (
            remaining.str.match(pattern).fillna(False).to_numpy()
            if parts is None
            else parts.notna().any(axis=1).to_numpy()
        )
        if kind == "named_month" and hits.any():
            month_ok = parts["month_name"].str.lower().isin(MONTHS).fillna(False).to_numpy()
            hits = hits & month_ok
        if kind == "named_month_first" and hits.any():
            hits = hits & parts["month_name"].str.lower().isin(MONTHS).fillna(False).to_numpy()
        if hits.any():
            matched[kind] = parts[hits] if parts is not None else pd.DataFrame(index=remaining.index[hits])
            remaining = remaining[~hits]
    return matched


def parse_dates(texts: pd.Series, date_format: str | None = None) -> ParsedDates:
    """Timestamps from a date column in whichever common format it uses; ambiguous
    day/month order (every part 12 or less) is read day-first, the UK order."""
    codes, uniques = _factorize(texts)
    stripped = uniques.str.strip()
    blank = stripped.str.lower().isin(MISSING_MARKERS).to_numpy()
    result = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[us]")
    present = stripped[~blank]

    if date_format is not None and "%" in date_format:
        parsed = pd.to_datetime(present, format=date_format, errors="coerce")
        result[~blank] = parsed.to_numpy(dtype="datetime64[us]")
        description = f"read with the given format {date_format!r}"
        return ParsedDates(ts=result[codes], blank=blank[codes], description=description)

    kinds_seen: Counter = Counter()
    notes: list[str] = []
    for kind, parts in _classify_dates(present).items():
        positions = stripped.index.get_indexer(parts.index)
        if kind == "year":
            frame = pd.DataFrame({"year": parts["year"], "month": 1, "day": 1})
            values = _from_parts(frame)
        elif kind == "financial_year":
            first = pd.to_numeric(parts["year"])
            second = pd.to_numeric(parts["second_year"])
            follows = (second == (first + 1) % 100) | (second == first + 1)
            values = _from_parts(pd.DataFrame({"year": first.where(follows), "month": 4, "day": 1}))
        elif kind == "year_dash_two":
            first = pd.to_numeric(parts["year"])
            two = pd.to_numeric(parts["two"])
            all_months = bool(two.between(1, 12).all())
            if all_months:
                kind = "year_month"
                values = _from_parts(pd.DataFrame({"year": first, "month": two, "day": 1}))
            else:
                kind = "financial_year"
                follows = two == (first + 1) % 100
                values = _from_parts(pd.DataFrame({"year": first.where(follows), "month": 4, "day": 1}))
        elif kind == "ymd":
            values = _from_parts(parts)
        elif kind == "iso_with_offset":
            parsed = pd.to_datetime(present.loc[parts.index], format="ISO8601", utc=True, errors="coerce")
            values = parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")
        elif kind == "numeric_dmy":
            first = pd.to_numeric(parts["part1"])
            second = pd.to_numeric(parts["part2"])
            month_first = _month_first(first, second, date_format, notes)
            if month_first:
                kind = "numeric_mdy"
            day, month = (second, first) if month_first else (first, second)
            frame = parts.drop(columns=["part1", "part2"]).assign(day=day, month=month)
            values = _from_parts(frame)
            if any(len(year) == 2 for year in parts["year"].dropna().head(50)):
                notes.append("two-digit years read as 1969-2068")
        elif kind in ("named_month", "named_month_first"):
            months = parts["month_name"].str.lower().map(MONTHS)
            days = pd.to_numeric(parts["day"], errors="coerce")
            if days.isna().any():
                notes.append("month-and-year dates read as the 1st of the month")
            frame = parts.drop(columns=["month_name"]).assign(month=months, day=days.fillna(1))
            values = _from_parts(frame)
        elif kind == "month_slash_year":
            values = _from_parts(parts.assign(day=1))
        else:  # excel_serial: a date cell that lost its formatting on export
            days = pd.to_numeric(parts["serial"])
            values = pd.to_datetime(days, unit="D", origin="1899-12-30").to_numpy(dtype="datetime64[us]")
        result[positions] = values
        kinds_seen[kind] += int(np.count_nonzero(~np.isnat(values)))

    description = "; ".join(DATE_KIND_NAMES[kind] for kind, count in kinds_seen.most_common() if count)
    description = description or "no dates understood"
    if notes:
        description += " (" + "; ".join(dict.fromkeys(notes)) + ")"
    return ParsedDates(ts=result[codes], blank=blank[codes], description=description)


def _month_first(first: pd.Series, second: pd.Series, date_format: str | None, notes: list[str]) -> bool:
    """Whether numeric dates are month/day/year: only when told so, or when some second
    part is above 12 and no first part is. Otherwise UK day-first."""
    if date_format == "monthfirst":
        notes.append("month-first order as requested")
        return True
    if date_format == "dayfirst":
        notes.append("day-first order as requested")
        return False
    first_over_12 = bool((first > 12).any())
    second_over_12 = bool((second > 12).any())
    if second_over_12 and not first_over_12:
        notes.append("month-first because some middle numbers are above 12")
        return True
    if first_over_12:
        notes.append("day-first because some first numbers are above 12")
    else:
        notes.append("no day was above 12, so the order is ambiguous: read day-first, the UK order")
    return False


def parse_clock_times(texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (timedelta64[us]) from "HH:MM[:SS]" texts ("24:00" is the end of the day) and a blank mask."""
    codes, uniques = _factorize(texts)
    stripped = uniques.str.strip()
    blank = stripped.str.lower().isin(MISSING_MARKERS).to_numpy()
    parts = stripped.str.extract(CLOCK_TIME)
    hours = pd.to_numeric(parts["hour"], errors="coerce")
    minutes = pd.to_numeric(parts["minute"], errors="coerce")
    seconds = pd.to_numeric(parts["second"], errors="coerce").fillna(0)
    valid = hours.between(0, 24) & minutes.between(0, 59) & seconds.between(0, 59)
    valid &= ~((hours == 24) & ((minutes > 0) | (seconds > 0)))
    offsets = pd.to_timedelta(hours * 3600 + minutes * 60 + seconds, unit="s").where(valid)
    return offsets.to_numpy(dtype="timedelta64[us]")[codes], blank[codes]


def mostly_dates(texts: pd.Series, sample: int = 2000) -> bool:
    head = texts.iloc[:sample]
    parsed = parse_dates(head)
    present = ~parsed.blank
    return bool(present.any() and (~np.isnat(parsed.ts[present])).mean() >= 0.8)


def _to_utc(ts: np.ndarray, timezone: str) -> np.ndarray:
    local = pd.Series(ts).dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


# ---------------------------------------------------------------------------------
# Locations


@dataclass
class Locations:
    """Per row: the place (a point, or an area code) and, for rows without one, why not."""

    lat: np.ndarray
    lon: np.ndarray
    area_code: np.ndarray  # object: area code for area-only rows, else None
    reasons: np.ndarray  # object: None where the location is fine
    description: str
    is_area: bool


def shown_texts(texts: pd.Series, rows: np.ndarray, width: int = 40) -> list[str]:
    """The cells of `rows` as quoted in reasons, cut to `width` characters."""
    if len(rows) == 0:
        return []
    return texts.iloc[rows].astype(str).str.strip().str.slice(0, width).tolist()


def _numbers_or_reasons(texts: pd.Series, label: str) -> tuple[np.ndarray, np.ndarray]:
    parsed = parse_numbers(texts)
    reasons = np.full(len(texts), None, dtype=object)
    reasons[parsed.missing] = f"{label} is missing"
    bad_rows = np.flatnonzero(parsed.bad)
    reasons[bad_rows] = [f"{label} '{shown}' is not a number" for shown in shown_texts(texts, bad_rows)]
    return parsed.values, reasons


def _first_reason(*reason_arrays: np.ndarray) -> np.ndarray:
    result = reason_arrays[0].copy()
    for reasons in reason_arrays[1:]:
        empty = pd.isna(result)
        result[empty] = reasons[empty]
    return result


def _out_of_range(values: np.ndarray, low: float, high: float, label: str) -> np.ndarray:
    reasons = np.full(len(values), None, dtype=object)
    outside = np.flatnonzero(np.isfinite(values) & ((values < low) | (values > high)))
    reasons[outside] = [f"{label} {values[i]:.10g} is out of range" for i in outside]
    return reasons


def _convert_grid(
    easting: np.ndarray, northing: np.ndarray, ok: np.ndarray, to_wgs84: ToWgs84 | None, source: str
) -> tuple[np.ndarray, np.ndarray]:
    if to_wgs84 is None:
        raise IngestError(
            f"{source}: the coordinates are British National Grid (EPSG:27700) eastings/northings, "
            "but no converter to latitude/longitude was given"
        )
    lat = np.full(len(easting), np.nan)
    lon = np.full(len(easting), np.nan)
    if ok.any():
        converted_lat, converted_lon = to_wgs84(easting[ok], northing[ok])
        lat[ok] = np.asarray(converted_lat, dtype="float64")
        lon[ok] = np.asarray(converted_lon, dtype="float64")
    return lat, lon


def _looks_like_degrees(x: np.ndarray, y: np.ndarray) -> bool:
    """x/y pairs are longitude/latitude when most fit in degrees; otherwise grid metres."""
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return True
    in_degrees = (np.abs(x[finite]) <= 180) & (np.abs(y[finite]) <= 90)
    return bool(in_degrees.mean() >= 0.5)


def points_from_xy(
    x: np.ndarray,
    y: np.ndarray,
    reasons: np.ndarray,
    degrees: bool,
    to_wgs84: ToWgs84 | None,
    source: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, reasons) from x/y in degrees (x = longitude) or British National Grid metres."""
    if degrees:
        reasons = _first_reason(
            reasons, _out_of_range(y, -90, 90, "latitude"), _out_of_range(x, -180, 180, "longitude")
        )
        return y, x, reasons
    reasons = _first_reason(
        reasons,
        _out_of_range(x, *BNG_EASTING_RANGE, "easting"),
        _out_of_range(y, *BNG_NORTHING_RANGE, "northing"),
    )
    ok = pd.isna(reasons) & np.isfinite(x) & np.isfinite(y)
    lat, lon = _convert_grid(x, y, ok, to_wgs84, source)
    return lat, lon, reasons


def parse_wkt_points(
    texts: pd.Series, to_wgs84: ToWgs84 | None, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(lat, lon, reasons, description) from WKT "POINT (x y)" cells, WGS84 or British
    National Grid by SRID when given, else by the size of the numbers."""
    codes, uniques = _factorize(texts)
    parts = uniques.str.extract(WKT_POINT, flags=re.IGNORECASE)
    x = pd.to_numeric(parts["x"], errors="coerce").to_numpy(dtype="float64")[codes]
    y = pd.to_numeric(parts["y"], errors="coerce").to_numpy(dtype="float64")[codes]
    srid = parts["srid"].to_numpy(dtype=object)[codes]
    blank = uniques.str.strip().str.lower().isin(MISSING_MARKERS).to_numpy()[codes]
    reasons = np.full(len(texts), None, dtype=object)
    unreadable = ~(np.isfinite(x) & np.isfinite(y))
    reasons[unreadable & blank] = "location is missing"
    bad_rows = np.flatnonzero(unreadable & ~blank)
    reasons[bad_rows] = [f"location '{shown}' is not a WKT POINT" for shown in shown_texts(texts, bad_rows, 60)]

    named_srids = set(pd.Series(srid).dropna().unique())
    if named_srids == {"4326"}:
        degrees = True
    elif named_srids == {"27700"}:
        degrees = False
    else:
        degrees = _looks_like_degrees(x, y)
    lat, lon, reasons = points_from_xy(x, y, reasons, degrees, to_wgs84, source)
    crs = "WGS84 longitude/latitude" if degrees else "British National Grid (EPSG:27700), converted to WGS84"
    return lat, lon, reasons, f"WKT points in {crs}"


def parse_areas(texts: pd.Series, areas: AreaNames) -> tuple[np.ndarray, np.ndarray]:
    """(area code or None, reason or None) per row; unknown names get the nearest valid names."""
    codes, uniques = _factorize(texts)
    stripped = uniques.str.strip()
    found, unknown = areas.resolve_many(stripped.tolist())
    blank = stripped.str.lower().isin(MISSING_MARKERS).to_numpy()
    code_of_unique = np.array([found.get(text) for text in stripped], dtype=object)
    reason_of_unique = np.array(
        [
            f"{areas.label} is missing" if is_blank else (str(unknown[text]) if text in unknown else None)
            for text, is_blank in zip(stripped, blank)
        ],
        dtype=object,
    )
    return code_of_unique[codes], reason_of_unique[codes]


# ---------------------------------------------------------------------------------
# Column roles


@dataclass
class Roles:
    lat: str | None = None
    lon: str | None = None
    easting: str | None = None
    northing: str | None = None
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    area_code: str | None = None
    area_name: str | None = None
    entity_id: str | None = None
    name: str | None = None
    date: str | None = None
    time: str | None = None
    metric: str | None = None
    value: str | None = None
    wide: list[str] = field(default_factory=list)
    wide_by_time: bool = False
    uses: dict[str, str] = field(default_factory=dict)

    def taken(self) -> set[str]:
        return set(self.uses)


def _header_match(frame: pd.DataFrame, headers: frozenset[str], taken: set[str]) -> str | None:
    for name in frame.columns:
        if name not in taken and header_key(name) in headers:
            return name
    return None


def _sample_uniques(texts: pd.Series, limit: int = 5000) -> list[str]:
    values = texts.iloc[:limit].astype(str).str.strip()
    return [value for value in values.unique().tolist() if value.lower() not in MISSING_MARKERS]


def _area_share(texts: pd.Series, areas: AreaNames, codes_only: bool) -> float:
    values = _sample_uniques(texts)
    if not values:
        return 0.0
    if codes_only:
        return sum(areas.code_of(value) is not None for value in values) / len(values)
    return sum(areas.find(value) is not None for value in values) / len(values)


def _is_wkt(texts: pd.Series) -> bool:
    """True when most sampled cells are WKT points (a few other shapes are rejected later)."""
    values = _sample_uniques(texts, 200)[:50]
    points = sum(re.match(WKT_POINT, value, flags=re.IGNORECASE) is not None for value in values)
    return bool(values) and points / len(values) >= 0.5


def detect_location_columns(
    frame: pd.DataFrame, options: ImportOptions, areas: AreaNames, roles: Roles, source: str
) -> None:
    """Fill the location roles: named columns first, then headers and contents."""
    named = {
        "lat": options.lat_column,
        "lon": options.lon_column,
        "easting": options.easting_column,
        "northing": options.northing_column,
        "wkt": options.wkt_column,
        "area_code": options.area_code_column,
        "area_name": options.area_name_column,
    }
    for role, wanted in named.items():
        if wanted is not None:
            setattr(roles, role, find_column(frame, wanted, source))
    if any(value is not None for value in named.values()):
        if (roles.lat is None) != (roles.lon is None):
            raise IngestError(f"{source}: name both the latitude and the longitude columns")
        if (roles.easting is None) != (roles.northing is None):
            raise IngestError(f"{source}: name both the easting and the northing columns")
        return

    taken = roles.taken()
    lat = _header_match(frame, LATITUDE_HEADERS, taken)
    lon = _header_match(frame, LONGITUDE_HEADERS, taken)
    if lat and lon:
        roles.lat, roles.lon = lat, lon
        return
    easting = _header_match(frame, EASTING_HEADERS, taken)
    northing = _header_match(frame, NORTHING_HEADERS, taken)
    if easting and northing:
        roles.easting, roles.northing = easting, northing
        return
    x = _header_match(frame, X_HEADERS, taken)
    y = _header_match(frame, Y_HEADERS, taken)
    if x and y:
        roles.x, roles.y = x, y
        return
    for name in frame.columns:
        if name not in taken and _is_wkt(frame[name]):
            roles.wkt = name
            return
    for name in frame.columns:
        if name not in taken and _area_share(frame[name], areas, codes_only=True) >= 0.5:
            roles.area_code = name
            return
    best_name, best_share = None, 0.0
    for name in frame.columns:
        if name in taken or mostly_numeric(frame[name]):
            continue
        share = _area_share(frame[name], areas, codes_only=False)
        if share > best_share:
            best_name, best_share = name, share
    if best_name is not None and best_share >= 0.5:
        roles.area_name = best_name
        return
    hinted = [
        name
        for name in frame.columns
        if name not in taken and any(word in header_key(name) for word in (*AREA_HEADER_WORDS, header_key(areas.label)))
    ]
    if hinted:
        roles.area_name = hinted[0]


def detect_roles(frame: pd.DataFrame, options: ImportOptions, areas: AreaNames, source: str) -> Roles:
    roles = Roles()
    for role, wanted in (
        ("entity_id", options.entity_id_column),
        ("name", options.name_column),
        ("metric", options.metric_column),
        ("value", options.value_column),
        ("date", options.date_column),
        ("time", options.time_column),
    ):
        if wanted is not None:
            setattr(roles, role, find_column(frame, wanted, source))
    _record_uses(roles, areas.label)

    detect_location_columns(frame, options, areas, roles, source)
    _record_uses(roles, areas.label)
    if not any((roles.lat, roles.easting, roles.x, roles.wkt, roles.area_code, roles.area_name)):
        columns = ", ".join(repr(name) for name in frame.columns)
        raise IngestError(
            f"{source}: no location column found among {columns}. Expected latitude/longitude, "
            f"easting/northing (British National Grid), a WKT POINT column, or {areas.label} codes or names"
        )

    if options.wide_columns is not None:
        roles.wide = [find_column(frame, wanted, source) for wanted in options.wide_columns]
    elif options.wide:
        roles.wide = [
            name for name in frame.columns if name not in roles.taken() and _header_is_date(name)
        ]
    roles.wide_by_time = bool(roles.wide) and all(_header_is_date(name) for name in roles.wide)

    if roles.date is None and options.date is None and not roles.wide_by_time:
        roles.date = _detect_date_column(frame, roles.taken() | set(roles.wide))
    if roles.date is not None and roles.time is None:
        roles.time = _detect_time_column(frame, roles.taken() | {roles.date} | set(roles.wide))
    _record_uses(roles, areas.label)

    if options.wide and not roles.wide:
        roles.wide = [name for name in frame.columns if name not in roles.taken() and mostly_numeric(frame[name])]
        roles.wide_by_time = False
        if not roles.wide:
            raise IngestError(f"{source}: wide=True but no column of years, dates or numbers was found to unpivot")
    if not options.wide and roles.value is None:
        roles.value = _detect_value_column(frame, roles.taken(), source)
    _record_uses(roles, areas.label)
    return roles


def _header_is_date(name: str) -> bool:
    parsed = parse_dates(pd.Series([name], dtype=str))
    return not np.isnat(parsed.ts[0])


def _detect_date_column(frame: pd.DataFrame, taken: set[str]) -> str | None:
    free = [name for name in frame.columns if name not in taken]
    hinted = [name for name in free if any(word in header_key(name) for word in DATE_HEADER_WORDS)]
    for name in hinted + [name for name in free if name not in hinted]:
        values = frame[name]
        if name not in hinted and mostly_numeric(values):
            continue  # a column of plain numbers is a year column only when its header says so
        if mostly_dates(values):
            return name
    return None


def _detect_time_column(frame: pd.DataFrame, taken: set[str]) -> str | None:
    for name in frame.columns:
        if name in taken or not any(word in header_key(name) for word in ("time", "hour")):
            continue
        sample = frame[name].iloc[:2000].astype(str).str.strip()
        sample = sample[~sample.str.lower().isin(MISSING_MARKERS)]
        if len(sample) and sample.str.match(CLOCK_TIME).mean() >= 0.8:
            return name
    return None


def _detect_value_column(frame: pd.DataFrame, taken: set[str], source: str) -> str:
    numeric = [name for name in frame.columns if name not in taken and mostly_numeric(frame[name])]
    if len(numeric) == 1:
        return numeric[0]
    preferred = [name for name in numeric if header_key(name) in VALUE_HEADERS]
    if len(preferred) == 1:
        return preferred[0]
    if not numeric:
        raise IngestError(f"{source}: no column of numbers found for the values; name it with value_column")
    names = ", ".join(repr(name) for name in numeric)
    raise IngestError(
        f"{source}: several columns could hold the values ({names}); name one with value_column, "
        "or read the file as a wide table (wide=True) to keep them all"
    )


def _record_uses(roles: Roles, area_label: str) -> None:
    descriptions = {
        "lat": "latitude (WGS84)",
        "lon": "longitude (WGS84)",
        "easting": "easting (British National Grid)",
        "northing": "northing (British National Grid)",
        "x": "x coordinate",
        "y": "y coordinate",
        "wkt": "location (WKT point)",
        "area_code": f"{area_label} code",
        "area_name": f"{area_label} name",
        "entity_id": "entity id",
        "name": "entity name",
        "date": "date",
        "time": "time of day",
        "metric": "metric name",
        "value": "value",
    }
    for role, description in descriptions.items():
        column = getattr(roles, role)
        if column is not None and column not in roles.uses:
            roles.uses[column] = description


# ---------------------------------------------------------------------------------
# The import


def metric_id(name: str, metric_ids: Mapping[str, str]) -> str:
    """The catalogue id for a metric name: mapped if the options say so, else lower snake case."""
    if name in metric_ids:
        return metric_ids[name]
    return re.sub(r"[^a-z0-9]+", "_", name.strip().casefold()).strip("_") or "value"


def _locate(
    frame: pd.DataFrame, roles: Roles, areas: AreaNames, to_wgs84: ToWgs84 | None, source: str
) -> Locations:
    rows = len(frame)
    no_area = np.full(rows, None, dtype=object)
    if roles.lat is not None:
        lat, lat_reasons = _numbers_or_reasons(frame[roles.lat], "latitude")
        lon, lon_reasons = _numbers_or_reasons(frame[roles.lon], "longitude")
        lat, lon, reasons = points_from_xy(lon, lat, _first_reason(lat_reasons, lon_reasons), True, None, source)
        description = f"points from latitude/longitude in '{roles.lat}'/'{roles.lon}'"
        return Locations(lat, lon, no_area, reasons, description, False)
    if roles.easting is not None or roles.x is not None:
        x_column, y_column = (roles.easting, roles.northing) if roles.easting is not None else (roles.x, roles.y)
        x, x_reasons = _numbers_or_reasons(frame[x_column], "easting" if roles.easting else "x")
        y, y_reasons = _numbers_or_reasons(frame[y_column], "northing" if roles.northing else "y")
        degrees = roles.easting is None and _looks_like_degrees(x, y)
        lat, lon, reasons = points_from_xy(x, y, _first_reason(x_reasons, y_reasons), degrees, to_wgs84, source)
        crs = "longitude/latitude" if degrees else "British National Grid (EPSG:27700), converted to WGS84"
        return Locations(lat, lon, no_area, reasons, f"points from '{x_column}'/'{y_column}' in {crs}", False)
    if roles.wkt is not None:
        lat, lon, reasons, description = parse_wkt_points(frame[roles.wkt], to_wgs84, source)
        return Locations(lat, lon, no_area, reasons, f"{description} in '{roles.wkt}'", False)
    column = roles.area_code or roles.area_name
    area_codes, reasons = parse_areas(frame[column], areas)
    nan = np.full(rows, np.nan)
    description = (
        f"no points: each row is placed by the {areas.label} in '{column}' and, without an entity id column, "
        f"the {areas.label} itself is the entity (entity_id = its code, no latitude/longitude, borough_code set)"
    )
    return Locations(nan, nan.copy(), area_codes, reasons, description, True)


def _point_ids(lat: np.ndarray, lon: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """A stable id per point: its WGS84 position to 5 decimals (about a metre)."""
    ids = np.full(len(lat), None, dtype=object)
    if not ok.any():
        return ids
    positions = pd.MultiIndex.from_arrays([np.round(lat[ok], 5), np.round(lon[ok], 5)])
    codes, uniques = pd.factorize(positions)
    labels = np.array([f"{a:.5f},{b:.5f}" for a, b in uniques], dtype=object)
    ids[ok] = labels[codes]
    return ids


def _dates_for_rows(
    frame: pd.DataFrame, roles: Roles, options: ImportOptions, source: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """(ts, reasons, description) for every row; NaT where the row has no usable date."""
    rows = len(frame)
    reasons = np.full(rows, None, dtype=object)
    if roles.date is None:
        if roles.wide_by_time:
            headers = parse_dates(pd.Series(roles.wide, dtype=str), options.date_format)
            description = f"taken from the column headers, which hold {headers.description}"
            return np.full(rows, np.datetime64("NaT"), dtype="datetime64[us]"), reasons, description
        if options.date is None:
            raise IngestError(
                f"{source}: no date column found; name it with date_column, or give the date "
                "every row is for (date='2019')"
            )
        fixed = parse_dates(pd.Series([options.date], dtype=str), options.date_format)
        if np.isnat(fixed.ts[0]):
            raise IngestError(f"{source}: the date given for every row, {options.date!r}, is not a date")
        ts = np.full(rows, fixed.ts[0], dtype="datetime64[us]")
        return ts, reasons, f"every row is for {options.date} (no date column)"

    parsed = parse_dates(frame[roles.date], options.date_format)
    ts = parsed.ts
    reasons[parsed.blank] = "date is missing"
    bad = np.flatnonzero(np.isnat(ts) & ~parsed.blank)
    reasons[bad] = [
        f"date '{shown}' is not a date this import understands" for shown in shown_texts(frame[roles.date], bad)
    ]
    description = f"column '{roles.date}' holds {parsed.description}"

    if roles.time is not None:
        offsets, time_blank = parse_clock_times(frame[roles.time])
        bad_time = np.flatnonzero(np.isnat(offsets) & ~time_blank & pd.isna(reasons))
        reasons[bad_time] = [
            f"time '{shown}' is not a time of day" for shown in shown_texts(frame[roles.time], bad_time, 20)
        ]
        ts = ts + np.where(np.isnat(offsets), np.timedelta64(0, "us"), offsets)
        description += f", with the time of day from '{roles.time}'"

    if options.timezone is not None:
        had_date = ~np.isnat(ts)
        local_ts = ts
        ts = _to_utc(ts, options.timezone)
        gap = np.flatnonzero(had_date & np.isnat(ts))
        reasons[gap] = [
            f"local time {moment} does not exist or is ambiguous at a clock change in {options.timezone}"
            for moment in pd.Series(local_ts[gap]).astype(str)
        ]
        description += f"; local times in {options.timezone} converted to UTC"
    elif not parsed.description.startswith("ISO date-time with a UTC offset"):
        description += "; times taken as UTC"
    return ts, reasons, description


def _text_column(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    if column is None:
        return None
    codes, uniques = _factorize(frame[column])
    return uniques.str.strip().to_numpy(dtype=object)[codes]


def _all_failed(reasons: np.ndarray, blank_rows: np.ndarray) -> bool:
    considered = ~blank_rows
    return bool(considered.any() and pd.notna(reasons[considered]).all())


def read_csv_import(
    path: Path,
    options: ImportOptions,
    areas: AreaNames,
    to_wgs84: ToWgs84 | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportResult:
    """Read an officer's CSV into an Extract, with a report of everything it understood."""
    path = Path(path)
    source = path.name
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise IngestError(f"{source}: cannot be opened: {error.strerror}") from error
    try:
        text, encoding = decode_bytes(raw, options.encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise IngestError(f"{source}: cannot be decoded as {options.encoding}: {error}") from error
    text, line_ending = normalise_line_endings(text)
    first_lines = text.split("\n", 40)[:40]
    if not text.strip():
        raise IngestError(f"{source}: the file is empty")
    delimiter, skip_rows = sniff_layout(first_lines, options.delimiter, options.skip_rows)
    table = read_table(text, source, delimiter, skip_rows, options.chunk_rows, on_progress)
    frame = table.frame
    report = ImportReport(source=source, encoding=encoding, line_ending=line_ending, delimiter=delimiter)
    if skip_rows:
        report.notes.append(f"skipped {_count(skip_rows, 'line')} above the header (titles or notes)")

    blank_rows = np.ones(len(frame), dtype=bool)
    for column in frame.columns:
        codes, uniques = _factorize(frame[column])
        blank_rows &= (uniques.str.strip() == "").to_numpy()[codes]
    report.blank_rows = int(blank_rows.sum())
    report.rows_read = int((~blank_rows).sum()) + len(table.bad_lines)
    if not (~blank_rows).any():
        if table.bad_lines:
            line, problem = table.bad_lines[0]
            raise IngestError(
                f"{source}: no line matches the header (line {line} {problem}); "
                "is the header row or the delimiter wrong?"
            )
        raise IngestError(f"{source}: the file has a header but no data rows")

    roles = detect_roles(frame, options, areas, source)
    locations = _locate(frame, roles, areas, to_wgs84, source)
    location_column = roles.lat or roles.easting or roles.x or roles.wkt or roles.area_code or roles.area_name
    if _all_failed(locations.reasons, blank_rows):
        first = locations.reasons[np.flatnonzero(~blank_rows)[0]]
        raise IngestError(
            f"{source}: no row has a location that can be read from column '{location_column}' "
            f"(is it the right column?): {first}"
        )
    report.location = locations.description

    ts, date_reasons, report.date_format = _dates_for_rows(frame, roles, options, source)
    if roles.date is not None and _all_failed(date_reasons, blank_rows):
        first = date_reasons[np.flatnonzero(~blank_rows)[0]]
        raise IngestError(f"{source}: no row has a date that can be read from column '{roles.date}': {first}")

    ids = _text_column(frame, roles.entity_id)
    id_reasons = np.full(len(frame), None, dtype=object)
    if ids is not None:
        id_reasons[ids == ""] = "entity id is blank"
    row_reasons = _first_reason(table.overlong, locations.reasons, date_reasons, id_reasons)

    if ids is None:
        ok = pd.isna(row_reasons)
        ids = locations.area_code.copy() if locations.is_area else _point_ids(locations.lat, locations.lon, ok)

    observations, cell_rejects = _observations(frame, roles, options, ids, ts, row_reasons, blank_rows, report, source)
    entities = _entities(frame, roles, options, areas, locations, ids, pd.isna(row_reasons) & ~blank_rows, report)

    reject_rows = _reject_records(table, frame, delimiter, row_reasons, blank_rows, cell_rejects, source)
    report.rows_kept = int(observations.pop("_row").nunique())
    report.rows_rejected = int((pd.notna(row_reasons) & ~blank_rows).sum()) + len(table.bad_lines)
    _finish_report(report, reject_rows, observations, entities, frame.columns, roles)
    if locations.is_area and roles.entity_id is None:
        report.notes.append(
            f"rows without a point are observations of the {areas.label} itself: entity_id is the "
            f"{areas.label} code, latitude/longitude are empty and borough_code is set"
        )
    observations = observations.sort_values(["metric", "ts", "entity_id"], kind="stable").reset_index(drop=True)
    rejects = rejects_frame(reject_rows)
    return ImportResult(extract=Extract(entities=entities, observations=observations, rejects=rejects), report=report)


def _observations(
    frame: pd.DataFrame,
    roles: Roles,
    options: ImportOptions,
    ids: np.ndarray,
    ts: np.ndarray,
    row_reasons: np.ndarray,
    blank_rows: np.ndarray,
    report: ImportReport,
    source: str,
) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Observations with the row each came from ("_row"), and (row, reason) of cells rejected
    on their own. Rows already rejected add nothing; `row_reasons` gains value failures in long tables."""
    usable = pd.isna(row_reasons) & ~blank_rows
    metric_names = _text_column(frame, roles.metric)
    pieces: list[pd.DataFrame] = []
    cell_rejects: list[tuple[int, str]] = []
    markers: Counter = Counter()
    units: Counter = Counter()

    if roles.wide:
        value_columns = roles.wide
    else:
        value_columns = [roles.value]
    if roles.wide_by_time and options.metric is None and metric_names is None:
        raise IngestError(
            f"{source}: the columns are dates or years, so name the metric they measure (metric='...') "
            "or the column that names it (metric_column)"
        )
    header_dates = (
        parse_dates(pd.Series(value_columns, dtype=str), options.date_format).ts if roles.wide_by_time else None
    )

    any_number = False
    for position, column in enumerate(value_columns):
        parsed = parse_numbers(frame[column])
        any_number = any_number or bool((~parsed.bad & ~parsed.missing & usable).any())
        markers.update(_count_on_rows(frame[column], parsed.missing & usable))
        units.update(parsed.units)
        bad_rows = np.flatnonzero(parsed.bad & usable)
        shown = shown_texts(frame[column], bad_rows)
        if roles.wide:
            cell_rejects.extend(
                (int(i), f"column '{column}': value '{text}' is not a number") for i, text in zip(bad_rows, shown)
            )
        else:
            row_reasons[bad_rows] = [f"value '{text}' is not a number" for text in shown]
        keep = usable & ~parsed.missing & ~parsed.bad
        if metric_names is not None:
            no_metric = keep & (metric_names == "")
            for i in np.flatnonzero(no_metric):
                if roles.wide:
                    cell_rejects.append((int(i), "metric is blank"))
                else:
                    row_reasons[i] = "metric is blank"
            keep &= ~no_metric
        rows = np.flatnonzero(keep)
        if roles.wide_by_time:
            metric = (
                metric_id(options.metric, options.metric_ids)
                if options.metric is not None
                else _metric_ids_of(metric_names[rows], options.metric_ids)
            )
            when = np.full(len(rows), header_dates[position], dtype="datetime64[us]")
        else:
            if roles.wide:
                metric = metric_id(column, options.metric_ids)
            elif options.metric is not None:
                metric = metric_id(options.metric, options.metric_ids)
            elif metric_names is not None:
                metric = _metric_ids_of(metric_names[rows], options.metric_ids)
            else:
                metric = metric_id(column, options.metric_ids)
            when = ts[rows]
        pieces.append(
            pd.DataFrame(
                {
                    "entity_id": pd.Series(ids[rows], dtype=object),
                    "ts": pd.Series(when, dtype="datetime64[us]"),
                    "metric": pd.Series(np.broadcast_to(np.asarray(metric, dtype=object), len(rows)), dtype=object),
                    "value": pd.Series(parsed.values[rows], dtype="float64"),
                    "_row": rows,
                }
            )
        )
    if usable.any() and not any_number and not markers:
        columns = ", ".join(repr(column) for column in value_columns)
        raise IngestError(f"{source}: no number could be read from {columns}: is it the right column?")
    for column in value_columns:
        roles.uses[column] = _value_use(column, roles, options)

    report.missing_values = dict(markers.most_common())
    report.units_stripped = dict(units.most_common())
    observations = pd.concat(pieces, ignore_index=True) if pieces else empty_frame(OBSERVATION_COLUMNS)
    return observations, cell_rejects


def _metric_ids_of(names: np.ndarray, metric_ids: Mapping[str, str]) -> np.ndarray:
    codes, uniques = pd.factorize(pd.Series(names, dtype=object))
    mapped = np.array([metric_id(str(name), metric_ids) for name in uniques], dtype=object)
    return mapped[codes] if len(codes) else np.array([], dtype=object)


def _value_use(column: str, roles: Roles, options: ImportOptions) -> str:
    if roles.wide_by_time:
        metric = f"metric '{metric_id(options.metric, options.metric_ids)}'" if options.metric else "the row's metric"
        return f"values of {metric} for the date {column!r}"
    if roles.wide:
        return f"values of metric '{metric_id(column, options.metric_ids)}'"
    if options.metric is not None:
        return f"values of metric '{metric_id(options.metric, options.metric_ids)}'"
    if roles.metric is not None:
        return f"values of the metric named in '{roles.metric}'"
    return f"values of metric '{metric_id(column, options.metric_ids)}' (named after the column)"


def _count_on_rows(texts: pd.Series, mask: np.ndarray) -> Counter:
    if not mask.any():
        return Counter()
    return Counter(texts[mask].astype(str).str.strip().value_counts().to_dict())


def _entities(
    frame: pd.DataFrame,
    roles: Roles,
    options: ImportOptions,
    areas: AreaNames,
    locations: Locations,
    ids: np.ndarray,
    ok: np.ndarray,
    report: ImportReport,
) -> pd.DataFrame:
    rows = np.flatnonzero(ok)
    if len(rows) == 0:
        return empty_frame(ENTITY_COLUMNS)
    names = _text_column(frame, roles.name)
    if names is None:
        if locations.is_area and roles.entity_id is None:
            names = np.array([areas.name_of(code) if code else None for code in locations.area_code], dtype=object)
        else:
            names = ids
    kind = options.kind or (areas.label if locations.is_area and roles.entity_id is None else "site")
    candidates = pd.DataFrame(
        {
            "entity_id": pd.Series(ids[rows], dtype=object),
            "name": pd.Series(names[rows], dtype=object),
            "kind": pd.Series([kind] * len(rows), dtype=object),
            "lat": pd.Series(locations.lat[rows], dtype="float64"),
            "lon": pd.Series(locations.lon[rows], dtype="float64"),
            "borough_code": pd.Series(locations.area_code[rows], dtype=object),
        }
    )
    candidates["name"] = candidates["name"].where(candidates["name"] != "", candidates["entity_id"])
    if roles.entity_id is not None:
        places = candidates[["entity_id", "lat", "lon", "borough_code"]].assign(
            lat=candidates["lat"].round(5), lon=candidates["lon"].round(5)
        )
        moving = places.drop_duplicates().groupby("entity_id").size()
        moved = int((moving > 1).sum())
        if moved:
            report.notes.append(
                f"{moved:,} entity ids appear with more than one location; the first location of each was used"
            )
    entities = candidates.drop_duplicates("entity_id", keep="first").reset_index(drop=True)
    return entities[list(ENTITY_COLUMNS)]


def _reject_records(
    table: RawTable,
    frame: pd.DataFrame,
    delimiter: str,
    row_reasons: np.ndarray,
    blank_rows: np.ndarray,
    cell_rejects: list[tuple[int, str]],
    source: str,
) -> list[dict]:
    """One dict per rejected record, in file order: whole rows, single cells, unsplittable lines."""
    rejected = [(int(i), str(row_reasons[i])) for i in np.flatnonzero(pd.notna(row_reasons) & ~blank_rows)]
    rejected.extend(cell_rejects)
    records: list[tuple[int, dict]] = []
    for row, reason in rejected:
        if table.line_numbers is not None:
            line = int(table.line_numbers[row])
            record, raw = f"line {line}", table.lines[line - 1]
        else:
            line = row
            record, raw = f"row {row + 1}", delimiter.join(frame.iloc[row].astype(str).tolist())
        records.append((line, _reject(source, record, reason, raw)))
    for line, reason in table.bad_lines:
        raw = table.lines[line - 1] if line - 1 < len(table.lines) else ""
        records.append((line, _reject(source, f"line {line}", f"the line {reason}", raw)))
    records.sort(key=lambda item: item[0])
    return [record for _, record in records]


def _reject(source: str, record: str, reason: str, raw: str) -> dict:
    return {"source": source, "record": record, "reason": reason, "raw": raw[:REJECT_RAW_LIMIT]}


def _reason_category(reason: str) -> str:
    """The reason without its specifics, for counting ("value 'abc' is not a number" -> "value '…' ...")."""
    general = re.sub(r"'[^']*'", "'…'", reason)
    general = re.sub(r"; nearest:.*$", "", general)
    general = re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "N", general)
    return re.sub(r"\s+", " ", general).strip()


def _finish_report(
    report: ImportReport,
    records: list[dict],
    observations: pd.DataFrame,
    entities: pd.DataFrame,
    columns: Iterable[str],
    roles: Roles,
) -> None:
    """Counts of what was kept and rejected, reasons with one example each, and column uses."""
    categories = Counter(_reason_category(record["reason"]) for record in records)
    report.reject_reasons = dict(categories.most_common())
    examples: dict[str, str] = {}
    for record in records:
        examples.setdefault(_reason_category(record["reason"]), f"{record['record']}: {record['reason']}")
    report.reject_examples = list(examples.values())[:5]
    report.observations = len(observations)
    report.entities = len(entities)
    report.metrics = sorted(observations["metric"].unique().tolist())
    if len(observations):
        report.time_span = (observations["ts"].min(), observations["ts"].max())
    report.columns = {column: roles.uses.get(column, "not used") for column in columns}
