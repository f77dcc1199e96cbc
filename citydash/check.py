"""`python -m citydash check`: is the pack whole? The catalogue, the boundaries and every extract."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from citydash.catalog import CatalogError, load_catalog
from citydash.data import Database
from citydash.geo import load_areas


@dataclass
class CheckReport:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_text(self) -> str:
        verdict = "OK: the pack is whole." if self.ok else f"{len(self.problems)} problem(s) found:"
        return "\n".join(self.lines + [verdict] + [f"  - {problem}" for problem in self.problems])


def check_pack(pack_dir: Path, extracts_dir: Path | None = None) -> CheckReport:
    report = CheckReport()
    try:
        catalog = load_catalog(pack_dir, extracts_dir)
    except CatalogError as error:
        report.problems.append(str(error))
        return report
    report.lines.append(f"Catalogue {pack_dir / 'catalog.toml'}: {len(catalog.datasets)} datasets.")
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
    finally:
        database.close()
    return report
