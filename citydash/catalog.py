"""The city pack's catalogue: the city, its datasets, their metrics, sources and licences.

A pack is a folder: catalog.toml (hand-written), catalog.d/*.toml (one file per dataset added by
`citydash ingest csv`, so an import never rewrites the hand-written file), boundaries/ and
extracts/. Generated facts about an extract (refreshed, coverage, counts) live beside it in
extracts/<dataset>.manifest.json, written by publishing, never by hand.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
AGGREGATIONS = ("mean", "sum", "max")
ACCESS_LEVELS = ("public", "officer")
DOMAINS = ("environment", "transport", "sensors", "other")


class CatalogError(ValueError):
    """The catalogue is not valid; the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class Metric:
    id: str
    dataset: str
    label: str
    unit: str
    aggregation: str
    better: str
    area_aggregation: str = "mean"
    valid_range: tuple[float, float] | None = None
    expected_range: tuple[float, float] | None = None
    bands: str | None = None
    thresholds: tuple[float, ...] = ()
    disclosure: int | None = None

    def label_with_unit(self) -> str:
        return f"{self.label} ({self.unit})"


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    url: str


@dataclass(frozen=True)
class Dataset:
    id: str
    title: str
    domain: str
    publisher: str
    source_url: str
    licence: Licence
    attribution: str
    access: str
    synthetic: bool
    refresh_days: float
    description: str
    metrics: tuple[Metric, ...]
    expected_interval_minutes: float | None = None

    def metric(self, metric_id: str) -> Metric:
        for metric in self.metrics:
            if metric.id == metric_id:
                return metric
        raise KeyError(f"dataset {self.id!r} has no metric {metric_id!r}")


@dataclass(frozen=True)
class City:
    id: str
    name: str
    timezone: str
    area_label: str
    area_label_plural: str
    boundaries: Path
    boundaries_attribution: str
    map_view: dict
    groups: dict


@dataclass(frozen=True)
class Manifest:
    """Generated facts about a published extract."""

    refreshed: datetime
    observations: int
    entities: int
    start: datetime | None
    end: datetime | None
    areas: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        raw = json.loads(path.read_text())
        def stamp(value):
            return datetime.fromisoformat(value) if value else None
        return cls(
            refreshed=datetime.fromisoformat(raw["refreshed"]),
            observations=int(raw["observations"]),
            entities=int(raw["entities"]),
            start=stamp(raw.get("start")),
            end=stamp(raw.get("end")),
            areas=tuple(raw.get("areas", ())),
        )

    def to_json(self) -> str:
        def stamp(value):
            return value.isoformat() if value else None
        return json.dumps({
            "refreshed": self.refreshed.isoformat(),
            "observations": self.observations,
            "entities": self.entities,
            "start": stamp(self.start),
            "end": stamp(self.end),
            "areas": list(self.areas),
        }, indent=2)

    def age_days(self, now: datetime) -> float:
        return (now - self.refreshed).total_seconds() / 86_400


@dataclass(frozen=True)
class Catalog:
    pack_dir: Path
    city: City
    datasets: dict[str, Dataset]
    licences: dict[str, Licence]
    extracts_dir: Path
    indices: dict[str, dict] = field(default_factory=dict)

    @property
    def quarantine_dir(self) -> Path:
        return self.extracts_dir.parent / "quarantine"

    def visible(self, access: str) -> list[Dataset]:
        """Datasets a session at this access level may know exist."""
        allowed = ("public",) if access == "public" else ACCESS_LEVELS
        return [dataset for dataset in self.datasets.values() if dataset.access in allowed]

    def metrics(self, access: str, domain: str | None = None) -> list[Metric]:
        return [metric for dataset in self.visible(access) if domain in (None, dataset.domain)
                for metric in dataset.metrics]

    def metric(self, dataset_id: str, metric_id: str) -> Metric:
        return self.datasets[dataset_id].metric(metric_id)

    def extract_path(self, dataset_id: str, table: str = "") -> Path:
        suffix = f"_{table}" if table else ""
        return self.extracts_dir / f"{dataset_id}{suffix}.parquet"

    def manifest_path(self, dataset_id: str) -> Path:
        return self.extracts_dir / f"{dataset_id}.manifest.json"

    def manifest(self, dataset_id: str) -> Manifest | None:
        path = self.manifest_path(dataset_id)
        try:
            return Manifest.read(path)
        except (OSError, ValueError, KeyError):
            return None

    def is_stale(self, dataset_id: str, now: datetime | None = None) -> bool:
        manifest = self.manifest(dataset_id)
        if manifest is None:
            return True
        now = now or datetime.now(timezone.utc)
        return manifest.age_days(now) > self.datasets[dataset_id].refresh_days


def _require(table: dict, key: str, where: str):
    if key not in table:
        raise CatalogError(f"{where}: missing required field {key!r}")
    return table[key]


def _identifier(value: str, where: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise CatalogError(f"{where}: {value!r} is not a valid id (lowercase letters, digits and _, "
                           "starting with a letter)")
    return value


def _range(value, name: str, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if len(value) != 2 or value[0] >= value[1]:
        raise CatalogError(f"{where}: {name} must be [low, high] with low < high")
    return float(value[0]), float(value[1])


def _metric(raw: dict, dataset_id: str, indices: dict, where: str) -> Metric:
    metric_id = _identifier(_require(raw, "id", where), where)
    where = f"{where} metric {metric_id!r}"
    aggregation = _require(raw, "aggregation", where)
    if aggregation not in AGGREGATIONS:
        raise CatalogError(f"{where}: aggregation {aggregation!r} is not one of {AGGREGATIONS}")
    better = raw.get("better", "higher")
    if better not in ("lower", "higher"):
        raise CatalogError(f"{where}: better must be 'lower' or 'higher', not {better!r}")
    area_aggregation = raw.get("area_aggregation", aggregation)
    if area_aggregation not in AGGREGATIONS:
        raise CatalogError(f"{where}: area_aggregation {area_aggregation!r} is not one of {AGGREGATIONS}")
    bands = raw.get("bands")
    if bands is not None and bands not in indices:
        raise CatalogError(f"{where}: bands {bands!r} is not an index in [indices]")
    valid_range = _range(raw.get("valid_range"), "valid_range", where)
    expected_range = _range(raw.get("expected_range"), "expected_range", where)
    disclosure = raw.get("disclosure")
    if disclosure is not None and (not isinstance(disclosure, int) or disclosure < 1):
        raise CatalogError(f"{where}: disclosure must be a positive whole number")
    return Metric(
        id=metric_id, dataset=dataset_id, label=_require(raw, "label", where),
        unit=_require(raw, "unit", where), aggregation=aggregation, better=better,
        area_aggregation=area_aggregation,
        valid_range=valid_range, expected_range=expected_range, bands=bands,
        thresholds=tuple(float(value) for value in raw.get("thresholds", ())),
        disclosure=disclosure,
    )


def dataset_from_table(dataset_id: str, raw: dict, licences: dict, indices: dict, where: str) -> Dataset:
    """A validated Dataset from one [datasets.<id>] table; CatalogError names what is wrong."""
    _identifier(dataset_id, where)
    where = f"{where} dataset {dataset_id!r}"
    licence_id = _require(raw, "licence", where)
    if licence_id not in licences:
        raise CatalogError(f"{where}: licence {licence_id!r} is not defined in [licences]")
    access = raw.get("access", "public")
    if access not in ACCESS_LEVELS:
        raise CatalogError(f"{where}: access must be one of {ACCESS_LEVELS}, not {access!r}")
    domain = _require(raw, "domain", where)
    if domain not in DOMAINS:
        raise CatalogError(f"{where}: domain must be one of {DOMAINS}, not {domain!r}")
    metrics = tuple(_metric(metric, dataset_id, indices, where) for metric in _require(raw, "metrics", where))
    ids = [metric.id for metric in metrics]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"{where}: metric ids repeat: {ids}")
    return Dataset(
        id=dataset_id, title=_require(raw, "title", where), domain=domain,
        publisher=_require(raw, "publisher", where), source_url=raw.get("source_url", ""),
        licence=licences[licence_id], attribution=_require(raw, "attribution", where),
        access=access, synthetic=bool(raw.get("synthetic", False)),
        refresh_days=float(raw.get("refresh_days", 30)), description=raw.get("description", ""),
        metrics=metrics, expected_interval_minutes=raw.get("expected_interval_minutes"),
    )


def pack_files(pack_dir: Path) -> list[Path]:
    """catalog.toml, then catalog.d/*.toml in name order: the files pages read their own tables
    from (overlays, references, thresholds); only regular files, as a folder may match the glob."""
    pack_dir = Path(pack_dir)
    return [path for path in [pack_dir / "catalog.toml", *sorted((pack_dir / "catalog.d").glob("*.toml"))]
            if path.is_file()]


def pack_file_stamps(pack_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Each of pack_files with its modification time and size: a cache key for what pages parse
    from the pack on every rerun, which changes when a file is edited, added or removed."""
    stamps = []
    for path in pack_files(pack_dir):
        try:
            status = path.stat()
        except OSError:
            continue
        stamps.append((str(path), status.st_mtime_ns, status.st_size))
    return tuple(stamps)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogError(f"{path}: cannot read the catalogue ({error.strerror})") from error
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path}: not valid TOML ({error})") from error


def load_catalog(pack_dir: Path, extracts_dir: Path | None = None) -> Catalog:
    """Read and validate a pack's catalogue; extracts default to <pack>/extracts."""
    pack_dir = Path(pack_dir)
    main_file = pack_dir / "catalog.toml"
    raw = _read_toml(main_file)
    city_raw = _require(raw, "city", str(main_file))
    where = f"{main_file} [city]"
    city = City(
        id=_identifier(_require(city_raw, "id", where), where), name=_require(city_raw, "name", where),
        timezone=_require(city_raw, "timezone", where),
        area_label=city_raw.get("area_label", "area"),
        area_label_plural=city_raw.get("area_label_plural", "areas"),
        boundaries=pack_dir / _require(city_raw, "boundaries", where),
        boundaries_attribution=_require(city_raw, "boundaries_attribution", where),
        map_view=dict(_require(city_raw, "map_view", where)),
        groups=dict(city_raw.get("groups", {})),
    )
    licences = {key: Licence(id=key, title=value["title"], url=value.get("url", ""))
                for key, value in raw.get("licences", {}).items()}
    indices = dict(raw.get("indices", {}))
    datasets: dict[str, Dataset] = {}
    sources = [(main_file, raw)] + [(path, _read_toml(path)) for path in sorted((pack_dir / "catalog.d").glob("*.toml"))]
    for path, content in sources:
        for dataset_id, dataset_raw in content.get("datasets", {}).items():
            if dataset_id in datasets:
                raise CatalogError(f"{path}: dataset {dataset_id!r} is defined twice")
            datasets[dataset_id] = dataset_from_table(dataset_id, dataset_raw, licences, indices, str(path))
    return Catalog(pack_dir=pack_dir, city=city, datasets=datasets, licences=licences,
                   extracts_dir=Path(extracts_dir) if extracts_dir else pack_dir / "extracts", indices=indices)
