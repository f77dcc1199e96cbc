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

from citydash.catalog import load_catalog
from citydash.contract import Extract
from citydash.ingest.errors import IngestError


@dataclass(frozen=True)
class Source:
    help: str
    default_dataset: str
    read: Callable[[argparse.Namespace], Extract]


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


SOURCES: dict[str, Source] = {
    "laqn": Source("LondonAir (LAQN) API JSON, nested or RawAQData shape", "laqn", _read_laqn),
    "tfl-station-counts": Source("TfL station counts CSV + stations CSV (BNG WKT points)",
                                 "tfl_station_counts", _read_tfl_station_counts),
    "tfl-bikepoint": Source("TfL Unified API /BikePoint JSON", "tfl_bikepoint", _read_tfl_bikepoint),
    "dft-traffic": Source("DfT count CSV + count point locations GeoJSON", "dft_traffic", _read_dft_traffic),
}


def register_source(name: str, source: Source) -> None:
    SOURCES[name] = source


def command_ingest(args: argparse.Namespace) -> int:
    from citydash.ingest.publish import publish

    source = SOURCES[args.source]
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
            for reason, count in extract.rejects["reason"].str.split(":").str[0].value_counts().items():
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
    parser.set_defaults(handler=command_ingest)
