"""Bring your own CSV: an officer's spreadsheet export becomes a published dataset with its
own catalogue entry, from the command line (`python -m citydash ingest csv`) or the catalogue page.

The steps are the same for both:
  preview_import()  reads the file (citydash.ingest.csvimport), builds the catalogue entry the
                    dataset would get, and runs publish's checks (points outside the city,
                    values the catalogue refuses) without writing anything: the dry run.
  run_import()      does the same, then publishes atomically (citydash.ingest.publish) and only
                    then moves the entry into place as <pack>/catalog.d/<dataset>.toml.

The entry is written to a temporary file in catalog.d before publishing, so a pack that
cannot take the entry (permissions, full disk) fails before any data moves; after a
successful publish one os.replace puts it in place. A failed publish removes the temporary
file and leaves the old entry, if any, as it was.

Metric specs map what the file calls a metric to a catalogue metric:
  [NAME=]ID[:LABEL[:UNIT[:AGGREGATION[:BETTER]]]]
NAME is a column header (the value column, or one column of a wide table) or a name in the
metric column; without NAME every value in the file is metric ID. Empty parts fall back to the
earlier import's entry, then to the defaults (label = NAME or ID, unit = the dataset's unit,
aggregation = mean, better = higher).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from citydash.catalog import (
    ACCESS_LEVELS,
    AGGREGATIONS,
    DOMAINS,
    IDENTIFIER,
    Catalog,
    CatalogError,
    Dataset,
    dataset_from_table,
)
from citydash.data import TABLES
from citydash.geo import areas_geojson
from citydash.ingest.boroughnames import AreaNames
from citydash.ingest.britishgrid import to_wgs84
from citydash.ingest.csvimport import ImportOptions, ImportResult, ProgressCallback, metric_id, read_csv_import
from citydash.ingest.errors import IngestError
from citydash.ingest.publish import PublishReport, check_entities, check_observations, publish

METRIC_SPEC_SYNTAX = "[NAME=]ID[:LABEL[:UNIT[:AGGREGATION[:BETTER]]]]"
DEFAULT_DOMAIN = "other"
# Officers' own files stay inside the council until someone decides to publish them.
DEFAULT_ACCESS = "officer"
DEFAULT_REFRESH_DAYS = 30
DEFAULT_AGGREGATION = "mean"
DEFAULT_BETTER = "higher"
BETTER_VALUES = ("higher", "lower")
# File suffixes of a dataset's tables: a dataset id ending in one of them would share a file name
# with another dataset's table.
TABLE_SUFFIXES = tuple(f"_{suffix}" for suffix in TABLES.values() if suffix)
ENTRY_HEADER = (
    "# Catalogue entry written by citydash's CSV import (python -m citydash ingest csv, or the\n"
    "# catalogue page). A re-import of the same dataset rewrites this file: change titles, labels\n"
    "# and units with the import's options, or edit here and keep them in the next import.\n"
)


@dataclass(frozen=True)
class MetricSpec:
    """One catalogue metric and what the file calls it (None: every value in the file)."""

    id: str
    source: str | None = None
    label: str | None = None
    unit: str | None = None
    aggregation: str | None = None
    better: str | None = None


def parse_metric_spec(text: str) -> MetricSpec:
    """A metric from "[NAME=]ID[:LABEL[:UNIT[:AGGREGATION[:BETTER]]]]" (see the module docstring)."""
    source, separator, rest = text.partition("=")
    if not separator:
        source, rest = None, text
    else:
        source = source.strip()
        if not source:
            raise IngestError(f"metric {text!r}: the name before '=' is empty")
    parts = [part.strip() for part in rest.split(":", 4)]
    parts += [""] * (5 - len(parts))
    metric, label, unit, aggregation, better = parts
    if not IDENTIFIER.match(metric):
        raise IngestError(f"metric {text!r}: {metric!r} is not a valid metric id (lowercase letters, digits "
                          f"and _, starting with a letter); write it as {METRIC_SPEC_SYNTAX}")
    if aggregation and aggregation not in AGGREGATIONS:
        raise IngestError(f"metric {text!r}: aggregation {aggregation!r} is not one of {', '.join(AGGREGATIONS)}")
    if better and better not in BETTER_VALUES:
        raise IngestError(f"metric {text!r}: better must be 'higher' or 'lower', not {better!r}")
    return MetricSpec(id=metric, source=source, label=label or None, unit=unit or None,
                      aggregation=aggregation or None, better=better or None)


@dataclass(frozen=True)
class ImportRequest:
    """What to import and the catalogue facts the file cannot tell: title, licence, units.

    Catalogue fields left None keep the value of an earlier import of the same dataset, else
    their default. `reading` holds further csvimport.ImportOptions fields (column names,
    encoding, wide, date, ...); the metric fields come from `metrics`.
    """

    path: Path
    dataset: str
    metrics: tuple[MetricSpec, ...] = ()
    title: str | None = None
    unit: str | None = None
    licence: str | None = None
    publisher: str | None = None
    attribution: str | None = None
    source_url: str | None = None
    domain: str | None = None
    access: str | None = None
    refresh_days: float | None = None
    description: str | None = None
    reading: Mapping[str, object] = field(default_factory=dict)


def import_options(request: ImportRequest) -> ImportOptions:
    """The csvimport options: the reading options plus what the metric specs say."""
    fixed = [spec for spec in request.metrics if spec.source is None]
    named = [spec for spec in request.metrics if spec.source is not None]
    if len(fixed) > 1:
        raise IngestError("give one metric for every value in the file (ID), or map names to metrics "
                          f"(NAME=ID), not several plain ids: {', '.join(spec.id for spec in fixed)}")
    if fixed and named:
        raise IngestError(f"metric {fixed[0].id!r} is given for every value in the file, so the mappings "
                          f"{', '.join(spec.source for spec in named)} would never apply; use one or the other")
    for key in ("dataset", "metric", "metric_ids"):
        if key in request.reading:
            raise IngestError(f"{key} comes from the request's dataset and metrics, not its reading options")
    try:
        return ImportOptions(dataset=request.dataset, metric=fixed[0].id if fixed else None,
                             metric_ids={spec.source: spec.id for spec in named}, **request.reading)
    except TypeError as error:
        raise IngestError(f"unknown reading option: {error}") from error


def area_names(catalog: Catalog) -> AreaNames:
    return AreaNames.from_boundaries(areas_geojson(catalog.city.boundaries), label=catalog.city.area_label)


def entry_path(catalog: Catalog, dataset_id: str) -> Path:
    return catalog.pack_dir / "catalog.d" / f"{dataset_id}.toml"


def imported_entry(catalog: Catalog, dataset_id: str) -> dict | None:
    """The [datasets.<id>] table of an earlier import of this dataset, if there was one."""
    path = entry_path(catalog, dataset_id)
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        content = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise IngestError(f"{path}: the earlier import's catalogue entry cannot be read ({error})") from error
    if not text.startswith(ENTRY_HEADER.splitlines()[0]):
        # Hand-written files in catalog.d (a connector's dataset, page settings) are never rewritten.
        raise IngestError(f"{path} is a hand-written catalogue file, not an earlier CSV import; "
                          "choose another dataset id")
    return content.get("datasets", {}).get(dataset_id)


def check_dataset_id(dataset_id: str, catalog: Catalog, imported_before: bool) -> None:
    """Refuse ids the catalogue would refuse, hand-written datasets and file-name clashes."""
    if not IDENTIFIER.match(dataset_id):
        raise IngestError(f"dataset id {dataset_id!r} is not valid: use lowercase letters, digits and _, "
                          "starting with a letter (e.g. library_visits)")
    if dataset_id in catalog.datasets and not imported_before:
        raise IngestError(f"dataset {dataset_id!r} is already in the catalogue and was not made by a CSV "
                          "import (it is defined in catalog.toml or another file); choose another dataset id")
    clashes = [other for other in catalog.datasets if other != dataset_id and any(
        dataset_id == other + suffix or other == dataset_id + suffix for suffix in TABLE_SUFFIXES)]
    if dataset_id.endswith(TABLE_SUFFIXES) or clashes:
        raise IngestError(f"dataset id {dataset_id!r} would share file names with "
                          f"{'dataset ' + repr(clashes[0]) if clashes else 'another dataset'}'s tables; "
                          f"choose an id that does not end in {', '.join(TABLE_SUFFIXES)}")


def _metric_tables(request: ImportRequest, result: ImportResult, options: ImportOptions,
                   existing: list[dict]) -> tuple[list[dict], list[str]]:
    """The entry's metrics (earlier ones kept, new ones added) and notes on specs that matched nothing."""
    observed = sorted(result.extract.observations["metric"].unique().tolist())
    spec_of = {spec.id: spec for spec in request.metrics}
    names = {metric_id(column, options.metric_ids): column for column in result.report.columns}
    tables = {table["id"]: dict(table) for table in existing}
    invalid = [metric for metric in observed if not IDENTIFIER.match(metric)]
    if invalid:
        raise IngestError(f"the file's metric names give ids the catalogue cannot take: "
                          f"{', '.join(repr(metric) for metric in invalid)}; map them to ids with "
                          f"{METRIC_SPEC_SYNTAX}, e.g. '{names.get(invalid[0], invalid[0])}=my_metric:Label:unit'")
    no_unit = []
    for metric in observed:
        spec = spec_of.get(metric, MetricSpec(id=metric))
        table = tables.setdefault(metric, {"id": metric})
        table["label"] = spec.label or table.get("label") or names.get(metric, metric)
        unit = spec.unit or table.get("unit") or request.unit
        if not unit:
            no_unit.append(metric)
        table["unit"] = unit or ""
        table["aggregation"] = spec.aggregation or table.get("aggregation") or DEFAULT_AGGREGATION
        table["better"] = spec.better or table.get("better") or DEFAULT_BETTER
    if no_unit:
        raise IngestError(f"metrics {', '.join(no_unit)} have no unit: give the dataset's unit, or each metric's "
                          f"as {METRIC_SPEC_SYNTAX} (e.g. '{no_unit[0]}:Label:people')")
    unmatched = [f"metric {spec.source + '=' if spec.source else ''}{spec.id} matched nothing in the file"
                 for spec in request.metrics if spec.id not in observed]
    return list(tables.values()), unmatched


def dataset_entry(request: ImportRequest, catalog: Catalog, result: ImportResult,
                  options: ImportOptions) -> tuple[dict, list[str]]:
    """The [datasets.<id>] table to write, and notes for the report."""
    existing = imported_entry(catalog, request.dataset)
    check_dataset_id(request.dataset, catalog, existing is not None)
    base = existing or {}

    def pick(name: str, default=None):
        value = getattr(request, name)
        return value if value not in (None, "") else base.get(name, default)

    table = {
        "title": pick("title"),
        "domain": pick("domain", DEFAULT_DOMAIN),
        "publisher": pick("publisher"),
        "source_url": pick("source_url", ""),
        "licence": pick("licence"),
        "attribution": pick("attribution"),
        "access": pick("access", DEFAULT_ACCESS),
        "synthetic": False,
        "refresh_days": pick("refresh_days", DEFAULT_REFRESH_DAYS),
        "description": pick("description", f"Imported from {Path(request.path).name}."),
    }
    missing = [name for name in ("title", "publisher", "licence", "attribution") if not table[name]]
    if missing:
        raise IngestError(f"a new dataset needs a title, its publisher, its licence and the exact attribution "
                          f"text the licence asks for; missing: {', '.join(missing)}")
    if table["licence"] not in catalog.licences:
        known = ", ".join(f"{key} ({licence.title})" for key, licence in catalog.licences.items())
        raise IngestError(f"licence {table['licence']!r} is not one of the pack's licences: {known}. "
                          "Ask the pack's maintainer to add it to [licences] in catalog.toml first")
    if table["domain"] not in DOMAINS:
        raise IngestError(f"domain {table['domain']!r} is not one of {', '.join(DOMAINS)}")
    if table["access"] not in ACCESS_LEVELS:
        raise IngestError(f"access {table['access']!r} is not one of {', '.join(ACCESS_LEVELS)}")
    refresh_days = float(table["refresh_days"])
    if not math.isfinite(refresh_days) or refresh_days <= 0:
        raise IngestError(f"refresh days must be a positive number, not {table['refresh_days']!r}")
    table["refresh_days"] = int(refresh_days) if refresh_days.is_integer() else refresh_days
    kept = {key: value for key, value in base.items() if key not in table and key != "metrics"}
    table.update(kept)
    table["metrics"], notes = _metric_tables(request, result, options, base.get("metrics", []))
    return table, notes


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise IngestError(f"{value!r} cannot be written to the catalogue")
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string, except that TOML also refuses a raw DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
    raise IngestError(f"{value!r} cannot be written to the catalogue")


def entry_toml(dataset_id: str, table: dict) -> str:
    """The catalog.d file for one dataset; checked to read back as the same table."""
    lines = [ENTRY_HEADER, f"[datasets.{dataset_id}]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in table.items() if key != "metrics"]
    for metric in table["metrics"]:
        lines += ["", f"[[datasets.{dataset_id}.metrics]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in metric.items()]
    text = "\n".join(lines) + "\n"
    if tomllib.loads(text)["datasets"][dataset_id] != table:
        raise IngestError(f"the catalogue entry for {dataset_id!r} does not read back as written")
    return text


@dataclass
class ImportPreview:
    """Everything a dry run shows; run_import publishes exactly this."""

    request: ImportRequest
    result: ImportResult
    dataset: Dataset
    catalog: Catalog
    entry_text: str
    entry_path: Path
    updates_earlier_import: bool
    outside_city: list[str]
    outside_observations: int
    publish_rejects: Counter
    publishable_observations: int
    publishable_entities: int
    notes: list[str]

    def to_text(self) -> str:
        lines = [self.result.report.to_text(), "", "Checks before publishing (boundaries and catalogue):"]
        if self.outside_city:
            shown = ", ".join(self.outside_city[:10]) + (" ..." if len(self.outside_city) > 10 else "")
            places = "1 place is" if len(self.outside_city) == 1 else f"{len(self.outside_city):,} places are"
            lines.append(f"  {places} outside the city, so their {self.outside_observations:,} observations "
                         f"will not be published: {shown}")
        for reason, count in self.publish_rejects.most_common():
            lines.append(f"  {count:,} × {reason}")
        lines.append(f"  {self.publishable_observations:,} observations of {self.publishable_entities:,} "
                     f"places can be published as dataset '{self.dataset.id}'.")
        lines += [f"  Note: {note}" for note in self.notes]
        state = "updates the entry of an earlier import" if self.updates_earlier_import else "a new entry"
        lines += ["", f"Catalogue entry ({state}), written to {self.entry_path} after publishing:", "",
                  self.entry_text.removeprefix(ENTRY_HEADER).strip()]
        return "\n".join(lines)


def preview_import(request: ImportRequest, catalog: Catalog,
                   on_progress: ProgressCallback | None = None) -> ImportPreview:
    """Read the file and check everything publishing would check; writes nothing."""
    options = import_options(request)
    existing = imported_entry(catalog, request.dataset)
    check_dataset_id(request.dataset, catalog, existing is not None)
    result = read_csv_import(Path(request.path), options, area_names(catalog), to_wgs84, on_progress)
    table, notes = dataset_entry(request, catalog, result, options)
    text = entry_toml(request.dataset, table)
    try:
        dataset = dataset_from_table(request.dataset, table, catalog.licences, catalog.indices,
                                     str(entry_path(catalog, request.dataset)))
    except CatalogError as error:
        raise IngestError(str(error)) from error
    with_entry = replace(catalog, datasets={**catalog.datasets, request.dataset: dataset})
    entities, entity_rejects, outside = check_entities(result.extract.entities, with_entry)
    observations, observation_rejects = check_observations(result.extract.observations, dataset,
                                                           set(entities["entity_id"]))
    outside_ids = set(result.extract.entities["entity_id"].astype(str)) - set(entities["entity_id"])
    of_outside = [row for row in observation_rejects if row["record"] in outside_ids]
    reasons = Counter(row["reason"].split(":")[0] for row in entity_rejects + observation_rejects
                      if not row["reason"].startswith("outside the city") and row not in of_outside)
    return ImportPreview(
        request=request, result=result, dataset=dataset, catalog=with_entry, entry_text=text,
        entry_path=entry_path(catalog, request.dataset), updates_earlier_import=existing is not None,
        outside_city=outside, outside_observations=len(of_outside), publish_rejects=reasons, publishable_observations=len(observations),
        publishable_entities=int(observations["entity_id"].nunique()), notes=notes,
    )


@dataclass
class ImportOutcome:
    preview: ImportPreview
    publish_report: PublishReport
    entry_path: Path

    def to_text(self) -> str:
        return "\n".join([self.preview.result.report.to_text(), "", self.publish_report.to_text(),
                          f"Catalogue entry: {self.entry_path}"])


def _stage_entry(final: Path, text: str) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    # Not *.toml, so the catalogue never reads a half-written entry.
    staged = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
    with staged.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return staged


def run_import(request: ImportRequest, catalog: Catalog, on_progress: ProgressCallback | None = None,
               now: datetime | None = None, fail_after_staging: bool = False) -> ImportOutcome:
    """Read, check, publish atomically, then put the catalogue entry in place.

    fail_after_staging is publish's crash hook, for the tests of an interrupted import.
    """
    preview = preview_import(request, catalog, on_progress)
    if preview.publishable_observations == 0:
        raise IngestError(f"{Path(request.path).name}: nothing to publish: no row survived the checks "
                          "(see the dry run's report)")
    try:
        staged = _stage_entry(preview.entry_path, preview.entry_text)
    except OSError as error:
        raise IngestError(f"cannot write the catalogue entry {preview.entry_path} ({error.strerror}); "
                          "nothing was published") from error
    try:
        report = publish(preview.result.extract, request.dataset, preview.catalog, now=now,
                         fail_after_staging=fail_after_staging)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, preview.entry_path)
    return ImportOutcome(preview=preview, publish_report=report, entry_path=preview.entry_path)
