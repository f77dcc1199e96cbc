"""`python -m citydash ingest SOURCE FILE...`: read with a connector, then publish.

Each source names its connector, the files it needs and the catalogue dataset it publishes to
by default. Connectors only read; publish() validates, quarantines and swaps files in.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from citydash.catalog import load_catalog
from citydash.contract import Extract
from citydash.ingest.errors import IngestError

if TYPE_CHECKING:
    from citydash.ingest.importer import ImportRequest


@dataclass(frozen=True)
class Source:
    help: str
    default_dataset: str
    read: Callable[[argparse.Namespace], Extract]
    # A source that does more than read then publish (the CSV import also writes its catalogue entry).
    command: Callable[[argparse.Namespace], int] | None = None


def _read_laqn(args) -> Extract:
    from citydash.ingest.laqn import read_laqn
    return read_laqn(args.files)


def _read_tfl_station_counts(args) -> Extract:
    from citydash.ingest.tfl_stations import read_tfl_station_counts
    if len(args.files) != 2:
        raise IngestError("tfl-station-counts takes two files: the counts CSV, then the stations CSV")
    return read_tfl_station_counts(args.files[0], args.files[1])


def _read_tfl_bikepoint(args) -> Extract:
    from citydash.ingest.tfl_bikepoint import read_tfl_bikepoint
    if len(args.files) != 1:
        raise IngestError("tfl-bikepoint takes one file: a /BikePoint JSON response")
    return read_tfl_bikepoint(args.files[0])


def _read_dft_traffic(args) -> Extract:
    from citydash.ingest.dft_traffic import read_dft_traffic
    if len(args.files) != 2:
        raise IngestError("dft-traffic takes two files: the counts CSV, then the count point locations GeoJSON")
    return read_dft_traffic(args.files[0], args.files[1])


# Options only the csv source takes: argparse dest -> the csvimport.ImportOptions field it sets.
CSV_READING_OPTIONS = {
    "encoding": "encoding", "delimiter": "delimiter", "skip_rows": "skip_rows", "wide": "wide",
    "wide_column": "wide_columns", "date": "date", "date_column": "date_column", "time_column": "time_column",
    "date_format": "date_format", "timezone": "timezone", "value_column": "value_column",
    "metric_column": "metric_column", "id_column": "entity_id_column", "name_column": "name_column",
    "kind": "kind", "lat": "lat_column", "lon": "lon_column", "easting": "easting_column",
    "northing": "northing_column", "wkt": "wkt_column", "area_column": "area_name_column",
}
CSV_CATALOGUE_OPTIONS = ("metric", "title", "unit", "licence", "source_url", "publisher", "attribution",
                         "description", "domain", "access", "refresh_days")
# Files smaller than this read in a moment; a progress bar would only flicker.
PROGRESS_MIN_BYTES = 1_000_000


def csv_request(args: argparse.Namespace, timezone: str) -> ImportRequest:
    """The import request the csv source's options describe."""
    from citydash.ingest.importer import ImportRequest, parse_metric_spec

    if len(args.files) != 1:
        raise IngestError("csv takes one file: the CSV export to import")
    if not args.dataset:
        raise IngestError("csv needs --dataset ID: the catalogue id the file becomes (e.g. library_visits)")
    reading = {field: getattr(args, dest) for dest, field in CSV_READING_OPTIONS.items()
               if getattr(args, dest) not in (None, False)}
    if "wide_columns" in reading:
        reading["wide_columns"] = tuple(reading["wide_columns"])
    # Officers write local times; --timezone UTC keeps times as written.
    reading.setdefault("timezone", timezone)
    if reading["timezone"].upper() == "UTC":
        reading["timezone"] = None
    return ImportRequest(
        path=args.files[0], dataset=args.dataset,
        metrics=tuple(parse_metric_spec(text) for text in args.metric or ()),
        title=args.title, unit=args.unit, licence=args.licence, publisher=args.publisher,
        attribution=args.attribution, source_url=args.source_url, domain=args.domain, access=args.access,
        refresh_days=args.refresh_days, description=args.description, reading=reading,
    )


class RowProgress:
    """A tqdm bar on stderr over the rows of a large file; nothing for a small one."""

    def __init__(self, path: Path, min_bytes: int = PROGRESS_MIN_BYTES):
        self.show = path.stat().st_size >= min_bytes
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if not self.show:
            return
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc="Reading", unit=" rows", unit_scale=True, file=sys.stderr)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def command_ingest_csv(args: argparse.Namespace) -> int:
    from citydash.ingest.importer import preview_import, run_import

    catalog = load_catalog(args.pack, extracts_dir=args.extracts)
    if not Path(args.files[0]).is_file():
        print(f"ingest csv: file not found: {args.files[0]}", file=sys.stderr)
        return 2
    progress = RowProgress(Path(args.files[0]))
    try:
        request = csv_request(args, catalog.city.timezone)
        if args.dry_run:
            text = preview_import(request, catalog, progress).to_text() + "\n\nDry run: nothing was written."
        else:
            text = run_import(request, catalog, progress).to_text()
    except IngestError as error:
        print(f"ingest csv: {error}", file=sys.stderr)
        return 2
    finally:
        progress.close()
    print(text)
    return 0


def _read_csv(args) -> Extract:
    from citydash.ingest.britishgrid import to_wgs84
    from citydash.ingest.csvimport import read_csv_import
    from citydash.ingest.importer import area_names, import_options

    catalog = load_catalog(args.pack, extracts_dir=args.extracts)
    request = csv_request(args, catalog.city.timezone)
    return read_csv_import(request.path, import_options(request), area_names(catalog), to_wgs84).extract


def _read_sensors(args) -> Extract:
    from citydash.ingest.sensors import read_sensors
    if args.sensors is None:
        raise IngestError("sensors needs --sensors SENSORS.csv: the sensor list (sensor_id, type, lat, lon, name)")
    # Readings without an offset are in the city's local time.
    timezone = load_catalog(args.pack, extracts_dir=args.extracts).city.timezone
    return read_sensors(args.files, args.sensors, tz=timezone)


def _ingest_sensors(args) -> int:
    from citydash.ingest.sensor_dataset import command_ingest_sensors
    return command_ingest_sensors(args)


SOURCES: dict[str, Source] = {
    "laqn": Source("LondonAir (LAQN) API JSON, nested or RawAQData shape", "laqn", _read_laqn),
    "tfl-station-counts": Source("TfL station counts CSV + stations CSV (BNG WKT points)",
                                 "tfl_station_counts", _read_tfl_station_counts),
    "tfl-bikepoint": Source("TfL Unified API /BikePoint JSON", "tfl_bikepoint", _read_tfl_bikepoint),
    "dft-traffic": Source("DfT count CSV + count point locations GeoJSON", "dft_traffic", _read_dft_traffic),
    # No default dataset: the catalogue's sensor dataset is the synthetic demo (see sensor_dataset).
    "sensors": Source("IoT sensor readings (CSV or JSON lines) + --sensors SENSORS.csv + --dataset ID (a real, "
                      "non-synthetic dataset; a new one gets its entry in <pack>/catalog.d/<dataset>.toml)", "",
                      _read_sensors, command=_ingest_sensors),
    "csv": Source("an officer's own CSV export (see the csv options below); also writes its catalogue entry "
                  "to <pack>/catalog.d/<dataset>.toml", "", _read_csv, command=command_ingest_csv),
}


def register_source(name: str, source: Source) -> None:
    SOURCES[name] = source


def command_ingest(args: argparse.Namespace) -> int:
    from citydash.ingest.publish import publish, reason_group

    source = SOURCES[args.source]
    if source.command is not None:
        return source.command(args)
    given = [f"--{name.replace('_', '-')}" for name in (*CSV_READING_OPTIONS, *CSV_CATALOGUE_OPTIONS)
             if getattr(args, name) not in (None, False)]
    if given:
        print(f"ingest {args.source}: {', '.join(given)} only apply to the csv source", file=sys.stderr)
        return 2
    if args.sensors is not None:
        print(f"ingest {args.source}: --sensors only applies to the sensors source", file=sys.stderr)
        return 2
    catalog = load_catalog(args.pack, extracts_dir=args.extracts)
    dataset_id = args.dataset or source.default_dataset
    missing = [str(path) for path in args.files if not Path(path).is_file()]
    if missing:
        print(f"ingest {args.source}: file not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        extract = source.read(args)
        if args.dry_run:
            print(f"Dry run, nothing written. {args.source} read {len(extract.entities):,} entities, "
                  f"{len(extract.observations):,} observations, {len(extract.rejects):,} rejected rows.")
            for reason, count in extract.rejects["reason"].map(reason_group).value_counts().items():
                print(f"  {count:>8,}  {reason}")
            return 0
        report = publish(extract, dataset_id, catalog)
    except IngestError as error:
        print(f"ingest {args.source}: {error}", file=sys.stderr)
        return 2
    print(report.to_text())
    return 0


def add_ingest_parser(commands, pack_arguments) -> None:
    parser = commands.add_parser("ingest", help="read a source file and publish it into the pack")
    parser.add_argument("source", choices=sorted(SOURCES), help="; ".join(
        f"{name}: {source.help}" for name, source in sorted(SOURCES.items())))
    parser.add_argument("files", nargs="+", type=Path)
    pack_arguments(parser)
    parser.add_argument("--extracts", type=Path, help="extracts folder (default: <pack>/extracts)")
    parser.add_argument("--dataset", help="catalogue dataset to publish into (default: the source's own)")
    parser.add_argument("--dry-run", action="store_true", help="read and report, write nothing")
    parser.add_argument("--sensors", type=Path, metavar="SENSORS.csv",
                        help="sensors: the sensor list (sensor_id, type, lat, lon and optionally name)")
    _csv_arguments(parser)
    parser.set_defaults(handler=command_ingest)


def _csv_arguments(parser: argparse.ArgumentParser) -> None:
    from citydash.ingest.importer import (DEFAULT_ACCESS, DEFAULT_AGGREGATION, DEFAULT_BETTER, DEFAULT_DOMAIN,
                                          DEFAULT_REFRESH_DAYS, METRIC_SPEC_SYNTAX)

    catalogue = parser.add_argument_group(
        "csv: the catalogue entry",
        "Only for the csv source. The file becomes dataset --dataset (required) and its catalogue entry is "
        "written to <pack>/catalog.d/<dataset>.toml after the data is published. Re-importing the same "
        "dataset merges the rows (the same file twice changes nothing) and keeps what an option does not "
        "change. Example: python -m citydash ingest csv visits.csv --dataset library_visits "
        "--title 'Library visits' --publisher 'Camden Council' --licence ogl3 --attribution 'Contains "
        "public sector information licensed under the Open Government Licence v3.0.' "
        "--metric 'Visits=visits:Library visits:visits:sum'")
    catalogue.add_argument("--metric", action="append", metavar="SPEC", help=(
        f"a metric, repeatable: {METRIC_SPEC_SYNTAX}. NAME is a column header (the value column, or a "
        "column of a wide table) or a name in --metric-column, mapped to the catalogue metric ID; without "
        "NAME= every value in the file is metric ID. Examples: 'households:Households:households' "
        "(a table of years), 'NO2 (ug/m3)=no2:Nitrogen dioxide:µg/m³', 'Visits=visits::visits:sum'. "
        f"Defaults: LABEL = NAME or ID, UNIT = --unit, AGGREGATION over time = {DEFAULT_AGGREGATION} "
        f"(mean, sum or max), BETTER = {DEFAULT_BETTER} (higher or lower). Without --metric, ids come "
        "from the column headers"))
    catalogue.add_argument("--title", help="the dataset's title")
    catalogue.add_argument("--unit", help="the unit of every metric that does not give its own")
    catalogue.add_argument("--licence", help="a licence id from [licences] in catalog.toml (e.g. ogl3)")
    catalogue.add_argument("--publisher", help="who publishes the data (e.g. 'Camden Council')")
    catalogue.add_argument("--attribution", help="the exact attribution text the licence asks for")
    catalogue.add_argument("--source-url", help="where the data comes from")
    catalogue.add_argument("--description", help="one sentence on what the data is")
    catalogue.add_argument("--domain", help=f"environment, transport, sensors or other (default: {DEFAULT_DOMAIN})")
    catalogue.add_argument("--access", help=f"public or officer: who may see it (default: {DEFAULT_ACCESS})")
    catalogue.add_argument("--refresh-days", type=float,
                           help=f"how often it should be refreshed; older is shown as stale (default: "
                                f"{DEFAULT_REFRESH_DAYS})")

    reading = parser.add_argument_group(
        "csv: reading the file",
        "Everything is detected (encoding, separator, title rows, location, date and value columns); "
        "name a column when detection picks the wrong one. --dry-run shows what was understood.")
    reading.add_argument("--encoding", help="e.g. cp1252, utf-8, utf-16 (default: detected)")
    reading.add_argument("--delimiter", help="the field separator (default: detected among , ; tab |)")
    reading.add_argument("--skip-rows", type=int, help="lines above the header (default: detected)")
    reading.add_argument("--wide", action="store_true",
                         help="one column per year/date or per metric: every such column is read")
    reading.add_argument("--wide-column", action="append", metavar="COLUMN",
                         help="with --wide: a column to read (repeatable; default: every year/date column, "
                              "else every numeric column)")
    reading.add_argument("--date", help="the date of every row when the file has no date column (e.g. 2019)")
    reading.add_argument("--date-column", help="the column of dates")
    reading.add_argument("--time-column", help="a separate column of times of day (HH:MM)")
    reading.add_argument("--date-format", help="dayfirst, monthfirst or a strftime format (default: detected, "
                                               "UK day-first when ambiguous)")
    reading.add_argument("--timezone", help="the zone the file's times are written in (default: the city's; "
                                            "UTC to keep them as written)")
    reading.add_argument("--value-column", help="the column of values (long tables)")
    reading.add_argument("--metric-column", help="a column naming each row's metric")
    reading.add_argument("--id-column", help="a column of site/entity ids")
    reading.add_argument("--name-column", help="a column of site/entity names")
    reading.add_argument("--kind", help="what the entities are (default: site, or the area label)")
    reading.add_argument("--lat", help="the latitude column (WGS84), with --lon")
    reading.add_argument("--lon", help="the longitude column (WGS84), with --lat")
    reading.add_argument("--easting", help="the easting column (British National Grid), with --northing")
    reading.add_argument("--northing", help="the northing column (British National Grid), with --easting")
    reading.add_argument("--wkt", help="a column of WKT POINTs (WGS84 or British National Grid)")
    reading.add_argument("--area-column", help="a column of area (borough) names or codes")
