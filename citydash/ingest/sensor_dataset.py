"""`python -m citydash ingest sensors FILE... --sensors SENSORS.csv --dataset ID`: real sensor
readings into a real dataset, with its catalogue entry.

The demo's `street_sensors` is synthetic: it is shown under the demo banner and rebuilt (wiped)
by `citydash demo`. Real readings must never land there, so the sensors source has no default
dataset: --dataset is required, and a dataset the catalogue marks `synthetic = true` is refused.

A dataset not yet in the catalogue gets an entry, as `ingest csv` gives one
(citydash.ingest.importer): written to <pack>/catalog.d/<dataset>.toml, staged before publishing
and moved into place only after the data is published. Its metrics are copied from the
catalogue's sensor metrics of the same id (the demo's noise_db, footfall, ... with their ranges,
thresholds and disclosure threshold: a real footfall count is protected as the demo's is), or
described with --metric for a metric the catalogue does not know. A later import into the same
dataset adds new metrics to its entry and keeps everything else, so hand edits survive. A
dataset defined by hand (catalog.toml or a hand-written catalog.d file) is published into as it
is; its entry is never rewritten.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pandas as pd

from citydash.catalog import ACCESS_LEVELS, IDENTIFIER, Catalog, CatalogError, dataset_from_table, load_catalog
from citydash.contract import Extract
from citydash.ingest.errors import IngestError

DOMAIN = "sensors"
# Sensor data identifies places people pass; it stays inside the council until someone decides.
DEFAULT_ACCESS = "officer"
DEFAULT_REFRESH_DAYS = 1
DEFAULT_INTERVAL_MINUTES = 15
ENTRY_HEADER = (
    "# Catalogue entry written by citydash's sensor import (python -m citydash ingest sensors).\n"
    "# A later import into this dataset adds new metrics and keeps everything else: edit titles,\n"
    "# labels, thresholds and the disclosure threshold here.\n"
)
# Options of the csv source that mean nothing for sensor files.
NOT_FOR_SENSORS = ("encoding", "delimiter", "skip_rows", "wide", "wide_column", "date", "date_column",
                   "time_column", "date_format", "timezone", "value_column", "metric_column", "id_column",
                   "name_column", "kind", "lat", "lon", "easting", "northing", "wkt", "area_column", "domain",
                   "unit")


def entry_path(catalog: Catalog, dataset_id: str) -> Path:
    return catalog.pack_dir / "catalog.d" / f"{dataset_id}.toml"


def earlier_entry(catalog: Catalog, dataset_id: str) -> dict | None:
    """The [datasets.<id>] table an earlier sensor import wrote, if it wrote one."""
    path = entry_path(catalog, dataset_id)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if not text.startswith(ENTRY_HEADER.splitlines()[0]):
        return None
    return tomllib.loads(text).get("datasets", {}).get(dataset_id)


def check_target(dataset_id: str | None, catalog: Catalog) -> None:
    """Refuse a missing dataset id, an invalid one and the synthetic demo datasets."""
    if not dataset_id:
        synthetic = sorted(dataset.id for dataset in catalog.datasets.values()
                           if dataset.domain == DOMAIN and dataset.synthetic)
        raise IngestError("sensors needs --dataset ID: the real dataset the readings go to (e.g. camden_sensors)"
                          + (f"; {', '.join(synthetic)} is the synthetic demo and cannot take real readings"
                             if synthetic else ""))
    if not IDENTIFIER.match(dataset_id):
        raise IngestError(f"dataset id {dataset_id!r} is not valid: use lowercase letters, digits and _, "
                          "starting with a letter (e.g. camden_sensors)")
    dataset = catalog.datasets.get(dataset_id)
    if dataset is not None and dataset.synthetic:
        raise IngestError(f"dataset {dataset_id!r} is marked synthetic (invented demo data): real readings "
                          "would be shown under the demo banner and wiped by the next demo rebuild. Choose "
                          "another --dataset; a new one gets its own catalogue entry")
    if dataset is not None and dataset.domain != DOMAIN:
        raise IngestError(f"dataset {dataset_id!r} is a {dataset.domain} dataset, not a sensors one; "
                          "choose another --dataset")


def metric_templates(catalog: Catalog) -> dict[str, dict]:
    """metric id -> its catalogue table (without the dataset) from every sensors dataset, first wins."""
    templates: dict[str, dict] = {}
    for dataset in catalog.datasets.values():
        if dataset.domain != DOMAIN:
            continue
        for metric in dataset.metrics:
            if metric.id in templates:
                continue
            table = {"id": metric.id, "label": metric.label, "unit": metric.unit,
                     "aggregation": metric.aggregation, "better": metric.better}
            if metric.valid_range is not None:
                table["valid_range"] = list(metric.valid_range)
            if metric.expected_range is not None:
                table["expected_range"] = list(metric.expected_range)
            if metric.thresholds:
                table["thresholds"] = [int(value) if float(value).is_integer() else value
                                       for value in metric.thresholds]
            if metric.disclosure is not None:
                table["disclosure"] = metric.disclosure
            templates[metric.id] = table
    return templates


def interval_minutes(observations: pd.DataFrame) -> int:
    """The typical time between a sensor's readings of a metric, in whole minutes (15 without any)."""
    ordered = observations.sort_values(["entity_id", "metric", "ts"])
    same = ordered["entity_id"].eq(ordered["entity_id"].shift()) & ordered["metric"].eq(ordered["metric"].shift())
    steps = (ordered["ts"] - ordered["ts"].shift())[same].dt.total_seconds() / 60
    steps = steps[steps.gt(0)]
    return DEFAULT_INTERVAL_MINUTES if steps.empty else max(1, int(round(float(steps.median()))))


def dataset_entry(args: argparse.Namespace, catalog: Catalog, extract: Extract,
                  base: dict | None) -> dict:
    """The [datasets.<id>] table to write: the earlier one (if any) with new metrics added."""
    from citydash.ingest.importer import parse_metric_spec

    specs = {spec.id: spec for spec in (parse_metric_spec(text) for text in args.metric or ())}
    table = dict(base) if base else {
        "title": args.title, "domain": DOMAIN, "publisher": args.publisher, "source_url": args.source_url or "",
        "licence": args.licence, "attribution": args.attribution, "access": args.access or DEFAULT_ACCESS,
        "synthetic": False, "refresh_days": args.refresh_days or DEFAULT_REFRESH_DAYS,
        "expected_interval_minutes": interval_minutes(extract.observations),
        "description": args.description or "Readings from street sensors, imported with citydash's sensor import.",
    }
    if base is None:
        missing = [name for name in ("title", "publisher", "licence", "attribution") if not table[name]]
        if missing:
            raise IngestError(f"a new dataset needs a title, its publisher, its licence and the exact attribution "
                              f"text the licence asks for; missing: {', '.join('--' + name for name in missing)}")
        if table["licence"] not in catalog.licences:
            known = ", ".join(f"{key} ({licence.title})" for key, licence in catalog.licences.items())
            raise IngestError(f"licence {table['licence']!r} is not one of the pack's licences: {known}")
        if table["access"] not in ACCESS_LEVELS:
            raise IngestError(f"access {table['access']!r} is not one of {', '.join(ACCESS_LEVELS)}")
        refresh = float(table["refresh_days"])
        if not math.isfinite(refresh) or refresh <= 0:
            raise IngestError(f"refresh days must be a positive number, not {table['refresh_days']!r}")
    templates = metric_templates(catalog)
    metrics = [dict(metric) for metric in table.get("metrics", [])]
    known = {metric["id"] for metric in metrics}
    unknown = []
    for metric_id in sorted(extract.observations["metric"].dropna().unique()):
        if metric_id in known:
            continue
        spec = specs.get(metric_id)
        if spec is not None and spec.unit:
            metrics.append({"id": metric_id, "label": spec.label or metric_id, "unit": spec.unit,
                            "aggregation": spec.aggregation or "mean", "better": spec.better or "higher"})
        elif metric_id in templates:
            metrics.append(dict(templates[metric_id]))
        else:
            unknown.append(metric_id)
    if unknown:
        raise IngestError(f"the readings have metrics the catalogue does not know: {', '.join(unknown)}. "
                          f"Describe each with --metric ID:LABEL:UNIT[:AGGREGATION[:BETTER]] (e.g. "
                          f"'{unknown[0]}:{unknown[0].replace('_', ' ').capitalize()}:ppm:mean:lower'); "
                          f"known sensor metrics: {', '.join(sorted(templates)) or 'none'}")
    table["metrics"] = metrics
    return table


def entry_toml(dataset_id: str, table: dict) -> str:
    from citydash.ingest.importer import entry_toml as csv_entry_toml
    from citydash.ingest.importer import ENTRY_HEADER as CSV_HEADER

    return ENTRY_HEADER + csv_entry_toml(dataset_id, table).removeprefix(CSV_HEADER)


def command_ingest_sensors(args: argparse.Namespace) -> int:
    """The `ingest sensors` command: read, check the target, publish, then put the entry in place."""
    from citydash.ingest.importer import _stage_entry, check_dataset_id
    from citydash.ingest.publish import publish
    from citydash.ingest.sensors import read_sensors

    given = [f"--{name.replace('_', '-')}" for name in NOT_FOR_SENSORS if getattr(args, name, None) not in (None, False)]
    if given:
        print(f"ingest sensors: {', '.join(given)} only apply to the csv source", file=sys.stderr)
        return 2
    missing = [str(path) for path in args.files if not Path(path).is_file()]
    if missing:
        print(f"ingest sensors: file not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        catalog = load_catalog(args.pack, extracts_dir=args.extracts)
        check_target(args.dataset, catalog)
        if args.sensors is None:
            raise IngestError("sensors needs --sensors SENSORS.csv: the sensor list (sensor_id, type, lat, lon, name)")
        # Readings without an offset are in the city's local time.
        extract = read_sensors(args.files, args.sensors, tz=catalog.city.timezone)
        hand_written = args.dataset in catalog.datasets and earlier_entry(catalog, args.dataset) is None
        entry_text = None
        if not hand_written:
            base = earlier_entry(catalog, args.dataset)
            if base is None:
                check_dataset_id(args.dataset, catalog, imported_before=False)
            table = dataset_entry(args, catalog, extract, base)
            entry_text = entry_toml(args.dataset, table)
            try:
                dataset = dataset_from_table(args.dataset, table, catalog.licences, catalog.indices,
                                             str(entry_path(catalog, args.dataset)))
            except CatalogError as error:
                raise IngestError(str(error)) from error
            catalog = replace(catalog, datasets={**catalog.datasets, args.dataset: dataset})
        if args.dry_run:
            print(f"Dry run, nothing written. sensors read {len(extract.entities):,} entities, "
                  f"{len(extract.observations):,} observations, {len(extract.rejects):,} rejected rows.")
            for reason, count in extract.rejects["reason"].str.split(":").str[0].value_counts().items():
                print(f"  {count:>8,}  {reason}")
            if entry_text is not None:
                print(f"\nCatalogue entry, written to {entry_path(catalog, args.dataset)} after publishing:\n")
                print(entry_text.removeprefix(ENTRY_HEADER).strip())
            return 0
        staged = None
        if entry_text is not None:
            try:
                staged = _stage_entry(entry_path(catalog, args.dataset), entry_text)
            except OSError as error:
                raise IngestError(f"cannot write the catalogue entry {entry_path(catalog, args.dataset)} "
                                  f"({error.strerror}); nothing was published") from error
        try:
            report = publish(extract, args.dataset, catalog)
        except BaseException:
            if staged is not None:
                staged.unlink(missing_ok=True)
            raise
        if staged is not None:
            os.replace(staged, entry_path(catalog, args.dataset))
    except IngestError as error:
        print(f"ingest sensors: {error}", file=sys.stderr)
        return 2
    print(report.to_text())
    if entry_text is not None:
        print(f"Catalogue entry: {entry_path(catalog, args.dataset)}")
    return 0
