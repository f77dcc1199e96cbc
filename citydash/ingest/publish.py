"""Publishing an Extract into a city pack: the one way data enters the extracts folder.

publish() validates what a connector read, assigns each entity its area by point-in-polygon
(or the nearest area for a point in a gap between them: geo.assign_areas),
quarantines every rejected row with its reason, merges with what is already published (so
re-ingesting the same file changes nothing), derives the rollups and swaps the new files in.

Atomicity: every file is written and checked in a staging folder first. A journal file then
names the staging folder, the files are renamed into place (each rename is atomic), and the
journal is removed. A crash before the journal leaves the old extract untouched; a crash after
it is rolled forward by recover_interrupted() on the next start, so readers never see a
half-written file and a dataset never stays a mix of two versions.

Concurrency: one publish of a dataset at a time (an officer's upload while a scheduled ingest
runs): each holds the dataset's lock file from reading what is published to the swap, so neither
merges into a version the other is about to replace and rows are never lost between them.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from citydash import data
from citydash.catalog import Catalog, Dataset, Manifest
from citydash.contract import ENTITY_COLUMNS, OBSERVATION_COLUMNS, REJECT_COLUMNS, Extract, rejects_frame
from citydash.geo import assign_areas, load_areas
from citydash.ingest.errors import IngestError

JOURNAL_SUFFIX = ".publishing"
LOCK_WAIT_S = 600.0


@dataclass
class PublishReport:
    dataset: str
    observations_read: int
    observations_published: int
    observations_added: int
    entities_published: int
    rejected: Counter = field(default_factory=Counter)
    outside_city: list[str] = field(default_factory=list)
    quarantine_file: Path | None = None

    def to_text(self) -> str:
        lines = [
            f"{self.dataset}: read {self.observations_read:,} observations; "
            f"{self.observations_added:,} new, {self.observations_published:,} published in all, "
            f"{self.entities_published:,} entities.",
        ]
        if self.outside_city:
            shown = ", ".join(self.outside_city[:10]) + (" ..." if len(self.outside_city) > 10 else "")
            lines.append(f"{len(self.outside_city)} entities are outside the city and were not published: {shown}")
        if self.rejected:
            lines.append(f"{sum(self.rejected.values()):,} rows rejected:")
            lines += [f"  {count:>8,}  {reason}" for reason, count in self.rejected.most_common()]
            lines.append(f"Rejected rows and their reasons: {self.quarantine_file}")
        return "\n".join(lines)


# What varies from row to row inside a reason, masked before grouping: dates and times first (their
# colons would otherwise split the reason), then quoted values, then bare numbers. A number touching
# a bracket is kept: it is part of a stated range ("[0, 1000]"), the same for every row.
_VARYING = (
    re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"),
    re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"),
    re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b"),
    re.compile(r"'[^']*'|\"[^\"]*\""),
    re.compile(r"(?<![\w.\[])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.\]])"),
)
_MASKS = ("…", "…", "…", "'…'", "…")


def reason_group(reason: str) -> str:
    """The summary line a rejected row is counted under: its reason without what varies per row.

    A reason reads "what went wrong: the detail". Values, dates and times are masked so that rows
    differing only by them share a line ("2024-01-01 00:00: value -5 below range" and the same at
    01:00 both count under "value … below range"); then the first part that says something is kept.
    An unclosed bracket left by the cut (a nested reason) is dropped with what follows it.
    """
    masked = str(reason)
    for pattern, mask in zip(_VARYING, _MASKS):
        masked = pattern.sub(mask, masked)
    parts = [part.strip() for part in masked.split(":")]
    telling = [part for part in parts if part.strip(" …'\",;()[]")]
    if not telling:
        return masked.strip()
    first = telling[0]
    while first.count("(") > first.count(")"):
        first = first[:first.rfind("(")].rstrip()
    return first or telling[0]


def _reject_rows(frame: pd.DataFrame, mask: np.ndarray, source: str, reason_of) -> list[dict]:
    rows = []
    for record in frame.loc[mask].itertuples(index=False):
        rows.append({"source": source, "record": str(getattr(record, "entity_id", "")),
                     "reason": reason_of(record), "raw": str(tuple(record))[:500]})
    return rows


def check_entities(entities: pd.DataFrame, catalog: Catalog) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """Entities with their area assigned; those outside the city are rejected and listed."""
    entities = entities.copy()
    missing = [column for column in ENTITY_COLUMNS if column not in entities.columns]
    if missing:
        raise IngestError(f"entities lack columns {missing}")
    entities["entity_id"] = entities["entity_id"].astype(str)
    duplicate = entities["entity_id"].duplicated(keep="first").to_numpy()
    rejects = _reject_rows(entities, duplicate, "entities", lambda row: "duplicate entity id")
    entities = entities.loc[~duplicate]
    areas = load_areas(catalog.city.boundaries)
    lat = pd.to_numeric(entities["lat"], errors="coerce").to_numpy(dtype="float64")
    lon = pd.to_numeric(entities["lon"], errors="coerce").to_numpy(dtype="float64")
    assigned = assign_areas(lat, lon, areas)
    preset = entities["borough_code"].to_numpy(dtype=object)
    has_point = ~(np.isnan(lat) | np.isnan(lon))
    known_codes = set(areas["code"])
    # Without a point, an entity may stand for an area itself (a borough-level figure).
    area_level = ~has_point & pd.Series(preset).isin(known_codes).to_numpy()
    codes = np.where(has_point, assigned, np.where(area_level, preset, None))
    outside = has_point & pd.isna(pd.Series(codes)).to_numpy()
    no_location = ~has_point & ~area_level
    rejects += _reject_rows(entities, outside, "entities",
                            lambda row: f"outside the city: point ({row.lat:.5f}, {row.lon:.5f}) is in no "
                                        f"{catalog.city.area_label}")
    rejects += _reject_rows(entities, no_location, "entities",
                            lambda row: f"no location: neither a point nor a known {catalog.city.area_label} code")
    outside_names = [f"{row.name} ({row.entity_id})" for row in entities.loc[outside].itertuples()]
    kept = entities.assign(borough_code=codes).loc[~(outside | no_location)]
    kept = kept.astype({"entity_id": str, "name": str, "kind": str, "lat": "float64", "lon": "float64"})
    return kept[list(ENTITY_COLUMNS)].reset_index(drop=True), rejects, outside_names


def check_observations(observations: pd.DataFrame, dataset: Dataset,
                       entity_ids: set[str]) -> tuple[pd.DataFrame, list[dict]]:
    """Observations that fit the contract and the catalogue; the rest with reasons."""
    missing = [column for column in OBSERVATION_COLUMNS if column not in observations.columns]
    if missing:
        raise IngestError(f"observations lack columns {missing}")
    frame = observations[list(OBSERVATION_COLUMNS)].reset_index(drop=True)
    frame = frame.assign(entity_id=frame["entity_id"].astype(str), metric=frame["metric"].astype(str),
                         value=pd.to_numeric(frame["value"], errors="coerce").astype("float64"),
                         ts=pd.to_datetime(frame["ts"], errors="coerce").astype("datetime64[us]"))
    reasons = pd.Series(pd.NA, index=frame.index, dtype="object")

    def flag(mask, reason):
        mask = pd.Series(mask, index=frame.index) & reasons.isna()
        reasons[mask] = reason if isinstance(reason, str) else reason[mask]

    flag(~frame["entity_id"].isin(entity_ids), "unknown or rejected entity")
    known_metrics = {metric.id for metric in dataset.metrics}
    flag(~frame["metric"].isin(known_metrics),
         "metric not in the catalogue for dataset " + dataset.id + ": " + frame["metric"])
    flag(frame["ts"].isna(), "missing or unreadable timestamp")
    flag(frame["value"].isna(), "missing or non-numeric value")
    for metric in dataset.metrics:
        if metric.valid_range is None:
            continue
        low, high = metric.valid_range
        out = (frame["metric"] == metric.id) & ~frame["value"].between(low, high)
        flag(out & frame["value"].notna(), "value out of range for " + metric.id +
             f" [{low:g}, {high:g}]: " + frame["value"].astype(str))
    duplicate = frame.duplicated(["entity_id", "ts", "metric"], keep="first")
    flag(duplicate, "duplicate reading for the same entity, time and metric")
    bad = reasons.notna().to_numpy()
    rejected = frame.loc[bad]
    rejects = [{"source": "observations", "record": str(row.entity_id), "reason": reason,
                "raw": f"{row.entity_id},{row.ts},{row.metric},{row.value}"}
               for row, reason in zip(rejected.itertuples(index=False), reasons[bad])]
    return frame.loc[~bad].reset_index(drop=True), rejects


def _merge(new: pd.DataFrame, old_path: Path, key: list[str]) -> pd.DataFrame:
    """New rows win over published rows with the same key (a corrected reading replaces the old)."""
    if not old_path.is_file():
        return new
    old = data.read_table(old_path)[list(new.columns)]
    merged = pd.concat([new, old.astype(new.dtypes.to_dict())], ignore_index=True)
    return merged.drop_duplicates(key, keep="first").reset_index(drop=True)


def _write_quarantine(catalog: Catalog, dataset_id: str, rows: list[dict], stamp: str) -> Path | None:
    if not rows:
        return None
    catalog.quarantine_dir.mkdir(parents=True, exist_ok=True)
    path = catalog.quarantine_dir / f"{dataset_id}-{stamp}.csv"
    rejects_frame(rows)[list(REJECT_COLUMNS)].to_csv(path, index=False)
    return path


def _journal_path(catalog: Catalog, dataset_id: str) -> Path:
    return catalog.extracts_dir / f"{dataset_id}{JOURNAL_SUFFIX}"


def _swap_in(journal: Path, moves: list[tuple[Path, Path]]) -> None:
    for staged, final in moves:
        if staged.exists():
            os.replace(staged, final)
    journal.unlink()


def recover_interrupted(catalog: Catalog) -> list[str]:
    """Finish any publish that was interrupted after its files were staged; returns dataset ids."""
    finished = []
    for journal in sorted(catalog.extracts_dir.glob(f"*{JOURNAL_SUFFIX}")):
        moves = [(Path(staged), Path(final)) for staged, final in json.loads(journal.read_text())["moves"]]
        _swap_in(journal, moves)
        for staged, _ in moves:
            shutil.rmtree(staged.parent, ignore_errors=True)
        finished.append(journal.name.removesuffix(JOURNAL_SUFFIX))
    return finished


@contextmanager
def dataset_lock(catalog: Catalog, dataset_id: str, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the dataset's publishing lock; wait up to `wait_s` for another publish to finish."""
    locks = catalog.extracts_dir / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{dataset_id}.lock", "a+") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IngestError(f"another import of {dataset_id!r} has been running for over {wait_s:.0f} s; "
                                      "try again when it has finished") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(extract: Extract, dataset_id: str, catalog: Catalog, replace: bool = False,
            now: datetime | None = None, fail_after_staging: bool = False) -> PublishReport:
    """Validate, quarantine, merge and atomically publish an extract as `dataset_id`.

    replace=True drops what was published before (the demo generator); otherwise rows are merged.
    fail_after_staging exists for the crash test: it stops between the journal and the renames.
    """
    if dataset_id not in catalog.datasets:
        raise IngestError(f"dataset {dataset_id!r} is not in the catalogue {catalog.pack_dir / 'catalog.toml'}; "
                          "add an entry for it first")
    with dataset_lock(catalog, dataset_id):
        return _publish(extract, dataset_id, catalog, replace, now, fail_after_staging)


def _publish(extract: Extract, dataset_id: str, catalog: Catalog, replace: bool, now: datetime | None,
             fail_after_staging: bool) -> PublishReport:
    dataset = catalog.datasets[dataset_id]
    now = now or datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    entities, entity_rejects, outside = check_entities(extract.entities, catalog)
    observations, observation_rejects = check_observations(extract.observations, dataset,
                                                           set(entities["entity_id"]))
    all_rejects = rejects_frame(list(extract.rejects.to_dict("records")) + entity_rejects + observation_rejects)
    reject_rows = all_rejects.to_dict("records")

    catalog.extracts_dir.mkdir(parents=True, exist_ok=True)
    finals = {table: catalog.extract_path(dataset_id, suffix) for table, suffix in data.TABLES.items()}
    if not replace:
        entities = _merge(entities, finals["entities"], ["entity_id"])
        before = 0 if not finals["observations"].is_file() else len(data.read_table(finals["observations"]))
        observations = _merge(observations, finals["observations"], ["entity_id", "ts", "metric"])
    else:
        before = 0
    staging_dir = catalog.extracts_dir / ".staging" / f"{dataset_id}-{stamp}"
    staging_dir.mkdir(parents=True)
    try:
        staged = {table: staging_dir / final.name for table, final in finals.items()}
        data.write_table(entities, staged["entities"], ENTITY_COLUMNS, ["entity_id"])
        data.write_table(observations, staged["observations"], OBSERVATION_COLUMNS, ["metric", "ts", "entity_id"])
        quarantine = _finish(catalog, dataset_id, staging_dir, staged, finals, (len(observations), len(entities)),
                             now, lambda: _write_quarantine(catalog, dataset_id, reject_rows, stamp),
                             fail_after_staging)
    except BaseException:
        if not _journal_path(catalog, dataset_id).exists():
            shutil.rmtree(staging_dir, ignore_errors=True)
        raise
    shutil.rmtree(staging_dir, ignore_errors=True)
    return PublishReport(
        dataset=dataset_id, observations_read=len(extract.observations),
        observations_published=len(observations), observations_added=len(observations) - before,
        entities_published=len(entities), rejected=Counter(reason_group(row["reason"]) for row in reject_rows),
        outside_city=outside, quarantine_file=quarantine,
    )


def _finish(catalog: Catalog, dataset_id: str, staging_dir: Path, staged: dict[str, Path],
            finals: dict[str, Path], expected: tuple[int, int], now: datetime,
            write_quarantine: Callable[[], Path | None], fail_after_staging: bool) -> Path | None:
    """Rollups, read-back check and manifest of staged files, then the journal and the swap."""
    data.write_rollups(catalog, dataset_id, staged)
    summary = data.summarise_extract(staged["observations"], staged["entities"])
    if (summary["observations"], summary["entities"]) != expected:
        raise IngestError(f"{dataset_id}: staged files do not read back whole; nothing was published")
    manifest = Manifest(refreshed=now, observations=summary["observations"], entities=summary["entities"],
                        start=summary["start"], end=summary["end"], areas=tuple(summary["areas"]))
    staged_manifest = staging_dir / catalog.manifest_path(dataset_id).name
    staged_manifest.write_text(manifest.to_json())
    moves = [(staged[table], finals[table]) for table in finals]
    moves.append((staged_manifest, catalog.manifest_path(dataset_id)))
    quarantine = write_quarantine()
    journal = _journal_path(catalog, dataset_id)
    journal_tmp = journal.with_suffix(".tmp")
    journal_tmp.write_text(json.dumps({"moves": [[str(a), str(b)] for a, b in moves]}))
    os.replace(journal_tmp, journal)
    if fail_after_staging:
        raise RuntimeError("publish interrupted on purpose after staging (test hook)")
    _swap_in(journal, moves)
    return quarantine


def _range_frame(dataset: Dataset) -> pd.DataFrame:
    """Each metric of a dataset with its valid range and the start of its out-of-range reason."""
    rows = []
    for metric in dataset.metrics:
        low, high = metric.valid_range if metric.valid_range else (None, None)
        label = (f"value out of range for {metric.id} [{low:g}, {high:g}]: " if metric.valid_range else None)
        rows.append({"metric": metric.id, "low": low, "high": high, "label": label})
    return pd.DataFrame(rows, columns=["metric", "low", "high", "label"]).astype(
        {"metric": "object", "low": "float64", "high": "float64", "label": "object"})


def publish_parts(parts: Iterable[Extract], dataset_id: str, catalog: Catalog, now: datetime | None = None,
                  memory_limit: str = "3GB") -> PublishReport:
    """Publish, replacing what was there, an extract too large for memory, given as parts.

    The same rules as publish(): each part's entities are checked in pandas (they are few), its
    observations are validated by DuckDB and written as a parquet part, and the parts are merged
    and sorted out of core under `memory_limit`. Entities must not repeat across parts (a repeat
    is rejected as a duplicate entity id), so duplicate readings can only occur within a part.
    """
    if dataset_id not in catalog.datasets:
        raise IngestError(f"dataset {dataset_id!r} is not in the catalogue {catalog.pack_dir / 'catalog.toml'}; "
                          "add an entry for it first")
    with dataset_lock(catalog, dataset_id):
        return _publish_parts(parts, dataset_id, catalog, now, memory_limit)


def _publish_parts(parts: Iterable[Extract], dataset_id: str, catalog: Catalog, now: datetime | None,
                   memory_limit: str) -> PublishReport:
    dataset = catalog.datasets[dataset_id]
    now = now or datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    catalog.extracts_dir.mkdir(parents=True, exist_ok=True)
    finals = {table: catalog.extract_path(dataset_id, suffix) for table, suffix in data.TABLES.items()}
    staging_dir = catalog.extracts_dir / ".staging" / f"{dataset_id}-{stamp}"
    parts_dir = staging_dir / "parts"
    parts_dir.mkdir(parents=True)
    ranges = _range_frame(dataset)
    seen: set[str] = set()
    kept_entities: list[pd.DataFrame] = []
    entity_rejects: list[dict] = []
    outside: list[str] = []
    valid_parts: list[Path] = []
    reject_parts: list[Path] = []
    read = 0
    try:
        for index, part in enumerate(parts):
            missing = [column for column in OBSERVATION_COLUMNS if column not in part.observations.columns]
            if missing:
                raise IngestError(f"observations lack columns {missing}")
            entities, rejects, outside_names = check_entities(part.entities, catalog)
            repeated = entities["entity_id"].isin(seen).to_numpy()
            rejects += _reject_rows(entities, repeated, "entities", lambda row: "duplicate entity id")
            entities = entities.loc[~repeated]
            seen.update(entities["entity_id"])
            kept_entities.append(entities)
            entity_rejects += list(part.rejects.to_dict("records")) + rejects
            outside += outside_names
            valid_parts.append(parts_dir / f"observations-{index:05d}.parquet")
            reject_parts.append(parts_dir / f"rejects-{index:05d}.parquet")
            data.check_observation_part(part.observations[list(OBSERVATION_COLUMNS)], dataset_id,
                                        entities["entity_id"], ranges, valid_parts[-1], reject_parts[-1])
            read += len(part.observations)
        if not kept_entities:
            raise IngestError(f"{dataset_id}: no parts to publish")
        entities = pd.concat(kept_entities, ignore_index=True)
        staged = {table: staging_dir / final.name for table, final in finals.items()}
        data.write_table(entities, staged["entities"], ENTITY_COLUMNS, ["entity_id"])
        published = data.merge_parts(valid_parts, staged["observations"], ["metric", "ts", "entity_id"],
                                     parts_dir, memory_limit)
        rejected = Counter(data.reject_counts(reject_parts))
        rejected.update(reason_group(row["reason"]) for row in entity_rejects)

        def quarantine() -> Path | None:
            if not sum(rejected.values()):
                return None
            catalog.quarantine_dir.mkdir(parents=True, exist_ok=True)
            path = catalog.quarantine_dir / f"{dataset_id}-{stamp}.csv"
            data.write_rejects_csv(reject_parts, rejects_frame(entity_rejects)[list(REJECT_COLUMNS)], path)
            return path

        quarantine_file = _finish(catalog, dataset_id, staging_dir, staged, finals, (published, len(entities)),
                                  now, quarantine, fail_after_staging=False)
    except BaseException:
        if not _journal_path(catalog, dataset_id).exists():
            shutil.rmtree(staging_dir, ignore_errors=True)
        raise
    shutil.rmtree(staging_dir, ignore_errors=True)
    return PublishReport(
        dataset=dataset_id, observations_read=read, observations_published=published,
        observations_added=published, entities_published=len(entities), rejected=rejected,
        outside_city=outside, quarantine_file=quarantine_file,
    )
