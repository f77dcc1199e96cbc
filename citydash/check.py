"""`python -m citydash check`: is the pack whole? The catalogue, the boundaries and every extract."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from citydash.catalog import Catalog, CatalogError, load_catalog
from citydash.data import TABLES, Database
from citydash.geo import load_areas
from citydash.sensors import load_sensor_thresholds


@dataclass
class CheckReport:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Worth a look but not wrong: stale data, rejected rows waiting in quarantine, leftovers.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_text(self) -> str:
        verdict = "OK: the pack is whole." if self.ok else f"{len(self.problems)} problem(s) found:"
        notes = [f"{len(self.warnings)} warning(s):"] + [f"  - {warning}" for warning in self.warnings] \
            if self.warnings else []
        return "\n".join(self.lines + notes + [verdict] + [f"  - {problem}" for problem in self.problems])


def _dataset_of_extract(path: Path) -> str:
    """The dataset id an extract file belongs to (stations_entities.parquet -> stations)."""
    stem = path.name.removesuffix(".parquet")
    for suffix in TABLES.values():
        if suffix and stem.endswith(f"_{suffix}"):
            return stem.removesuffix(f"_{suffix}")
    return stem


def check_leftovers(catalog: Catalog, report: CheckReport) -> None:
    """Files an interrupted or half-finished import leaves behind, and extracts nobody catalogued."""
    entries = catalog.pack_dir / "catalog.d"
    files = sorted(path.name for path in entries.glob("*.toml"))
    if files:
        report.lines.append(f"Catalogue files in {entries}: {', '.join(files)}.")
    for staged in sorted(entries.glob(".*.tmp")):
        report.warnings.append(f"{staged}: an unfinished catalogue entry from an interrupted import; "
                               "delete it, then re-run the import")
    orphans = sorted({_dataset_of_extract(path) for path in catalog.extracts_dir.glob("*.parquet")}
                     - set(catalog.datasets))
    for dataset_id in orphans:
        report.warnings.append(f"{dataset_id}: extracts in {catalog.extracts_dir} but no catalogue entry, so the "
                               "dashboard ignores them (an import stopped before writing its entry?); re-run "
                               "the import or delete the files")
    staging = catalog.extracts_dir / ".staging"
    leftovers = sorted(path.name for path in staging.iterdir()) if staging.is_dir() else []
    if leftovers:
        report.warnings.append(f"{staging}: staged files of publishes that did not finish ({', '.join(leftovers)}); "
                               "safe to delete when no import is running")


def check_quarantine(catalog: Catalog, report: CheckReport) -> None:
    """Rejected rows waiting for someone to look at them, per dataset (the latest file counts)."""
    files: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(catalog.quarantine_dir.glob("*.csv")):
        files[path.name.rsplit("-", 2)[0]].append(path)
    for dataset_id, paths in sorted(files.items()):
        latest = max(paths, key=lambda path: path.stat().st_mtime_ns)
        try:
            rows = len(pd.read_csv(latest, dtype=str))
        except (OSError, ValueError) as error:
            report.warnings.append(f"{latest}: quarantine file cannot be read ({error})")
            continue
        report.warnings.append(f"{dataset_id}: {rows:,} rejected rows in the latest quarantine file {latest.name} "
                               f"({len(paths)} file(s) in {catalog.quarantine_dir}); check their reasons")


def check_freshness(catalog: Catalog, dataset_ids: list[str], report: CheckReport, now: datetime) -> None:
    for dataset_id in dataset_ids:
        manifest = catalog.manifest(dataset_id)
        if manifest is None:
            continue
        refreshed = manifest.refreshed if manifest.refreshed.tzinfo else manifest.refreshed.replace(tzinfo=timezone.utc)
        age = (now - refreshed).total_seconds() / 86_400
        expected = catalog.datasets[dataset_id].refresh_days
        if age > expected:
            report.warnings.append(f"{dataset_id}: stale, refreshed {age:.0f} days ago but expected every "
                                   f"{expected:g} days")


def check_pack(pack_dir: Path, extracts_dir: Path | None = None, now: datetime | None = None) -> CheckReport:
    report = CheckReport()
    try:
        catalog = load_catalog(pack_dir, extracts_dir)
    except CatalogError as error:
        report.problems.append(str(error))
        return report
    report.lines.append(f"Catalogue {pack_dir / 'catalog.toml'}: {len(catalog.datasets)} datasets.")
    try:
        thresholds = load_sensor_thresholds(pack_dir)
        if thresholds:
            report.lines.append(f"Sensor thresholds: {', '.join(sorted(thresholds))}.")
    except CatalogError as error:
        report.problems.append(str(error))
    try:
        areas = load_areas(catalog.city.boundaries)
        report.lines.append(f"Boundaries {catalog.city.boundaries.name}: {len(areas)} {catalog.city.area_label_plural}.")
        if areas["code"].duplicated().any():
            report.problems.append(f"{catalog.city.boundaries}: area codes repeat")
    except (OSError, ValueError) as error:
        report.problems.append(f"{catalog.city.boundaries}: cannot read the boundaries ({error})")
        return report
    journals = sorted(catalog.extracts_dir.glob("*.publishing"))
    for journal in journals:
        report.problems.append(f"{journal.name}: a publish was interrupted; starting the app finishes it")
    database = Database(catalog)
    try:
        for problem in database.problems:
            report.problems.append(problem.explain())
        for dataset_id in sorted(database.available):
            manifest = catalog.manifest(dataset_id)
            if manifest is None:
                report.problems.append(f"{dataset_id}: manifest {catalog.manifest_path(dataset_id).name} is missing or unreadable")
                continue
            report.lines.append(f"{dataset_id}: {manifest.observations:,} observations, {manifest.entities:,} entities, "
                                f"{manifest.start} to {manifest.end}, refreshed {manifest.refreshed:%Y-%m-%d %H:%M}.")
            counts = database.run("extract_counts", access="officer", dataset=dataset_id)
            observed = int(counts["observations"].iloc[0])
            if observed != manifest.observations:
                report.problems.append(f"{dataset_id}: manifest says {manifest.observations:,} observations, "
                                       f"the extract has {observed:,}")
            known = {metric.id for metric in catalog.datasets[dataset_id].metrics}
            strays = sorted(set(counts["metrics"].iloc[0]) - known)
            if strays:
                report.problems.append(f"{dataset_id}: metrics not in the catalogue: {strays}")
        for dataset_id in sorted(database.unpublished):
            report.lines.append(f"{dataset_id}: in the catalogue, nothing ingested yet.")
        check_freshness(catalog, sorted(database.available), report, now or datetime.now(timezone.utc))
    finally:
        database.close()
    check_leftovers(catalog, report)
    check_quarantine(catalog, report)
    return report
