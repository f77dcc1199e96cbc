"""The Environment page's builders: air quality by borough with the UK Daily Air Quality Index.

Pure functions, no Streamlit: query results in, tidy frames, plotly figures, a pydeck map,
HTML legends and plain-English sentences out. The DAQI itself (breakpoints, bands, advice)
comes from the catalogue through citydash.airquality; the reference values drawn on charts and
the optional zone boundaries come from the pack's `air_references`, `air_hourly_limit` and
`zones` tables (data/catalog.d/environment.toml), read by `load_environment_settings`.

Site type rules (the kind text of an entity decides, case-insensitively):
- class: "roadside" or "kerbside" -> Roadside; "background", "suburban" or "rural" ->
  Background; anything else (Industrial, unknown) -> Other;
- grade: "low-cost", "low cost", "lowcost" or "sensor" -> a low-cost sensor, drawn as a ring;
  anything else -> a reference monitor, drawn as a filled disc.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
import shapely
import shapely.errors
from shapely.geometry import shape

from citydash import charts
from citydash.airquality import DAQI_METRIC, DEFAULT_MIN_COVERAGE, Band, Daqi, daqi_band, load_daqi
from citydash.catalog import CatalogError, Dataset, Licence, Metric, pack_file_stamps
from citydash.maps import NO_DATA, SEQUENTIAL, Deck, format_value
from citydash.state import MAX_PARAM_LENGTH

# A colour-blind-safe banded DAQI palette (index 1..10): blues for Low, yellow to orange for
# Moderate, reds darkening for High, deep purple for Very High. Every pair of colours differs by
# at least 10 CIEDE2000 units with normal vision and under simulated protanopia, deuteranopia and
# tritanopia (tests/test_environment.py checks it); the official DAQI colours do not (two of them
# are 1.8 apart for deuteranopes), so they are not used. The index number is always printed too.
INDEX_PALETTE: tuple[tuple[int, int, int], ...] = (
    (232, 241, 250), (166, 206, 232), (52, 115, 180),
    (255, 241, 168), (253, 187, 85), (238, 127, 27),
    (211, 49, 31), (158, 15, 26), (94, 0, 16),
    (45, 0, 75),
)
DARK_TEXT = (31, 41, 51)
LIGHT_TEXT = (255, 255, 255)
OUTLINE = (31, 41, 51)
REFERENCE_DASHES = ("dash", "dot", "dashdot", "longdash")

ROADSIDE = "Roadside or kerbside"
BACKGROUND = "Background"
OTHER = "Other (e.g. industrial)"
SITE_CLASSES = (ROADSIDE, BACKGROUND, OTHER)
# Pixel radius of a site's disc by class: roadside biggest, background smallest.
CLASS_RADIUS_PIXELS = {ROADSIDE: 11, OTHER: 9, BACKGROUND: 7}
REFERENCE_GRADE = "Reference monitor"
LOW_COST = "Low-cost sensor"
LOW_COST_WORDS = ("low-cost", "low cost", "lowcost", "sensor")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
INSIDE = "Inside"
OUTSIDE = "Outside"


# ---------------------------------------------------------------------------------
# Catalogue: reference values, the hourly limit and zones


@dataclass(frozen=True)
class Reference:
    """A value to compare a pollutant with, e.g. the WHO 2021 24-hour guideline for NO2."""

    metric: str
    label: str
    averaging: str
    value: float
    source: str

    def text(self) -> str:
        return f"{self.label}, {self.averaging}: {self.value:g}"


@dataclass(frozen=True)
class HourlyLimit:
    metric: str
    value: float
    allowed_hours_per_year: int
    source: str


@dataclass(frozen=True)
class Zone:
    """An optional boundary named by the catalogue; the file may be absent (licence)."""

    id: str
    title: str
    path: Path
    publisher: str
    source_url: str
    licence: Licence | None
    attribution: str
    how_to_get: str

    def available(self) -> bool:
        return self.path.is_file()


@dataclass(frozen=True)
class EnvironmentSettings:
    references: Mapping[str, tuple[Reference, ...]]
    hourly_limit: HourlyLimit | None
    zones: Mapping[str, Zone]

    def references_for(self, metric_id: str) -> tuple[Reference, ...]:
        return self.references.get(metric_id, ())


def _number(raw: dict, key: str, where: str) -> float:
    value = raw.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise CatalogError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _text(raw: dict, key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: missing required text field {key!r}")
    return value


def _references(path: Path, table: object) -> dict[str, list[Reference]]:
    where = f"{path} [air_references]"
    if not isinstance(table, dict):
        raise CatalogError(f"{where}: must be a table of pollutants, each a list of [[air_references.<id>]]")
    found: dict[str, list[Reference]] = {}
    for metric_id, entries in table.items():
        if not isinstance(entries, list):
            raise CatalogError(f"{where}: {metric_id} must be a list of [[air_references.{metric_id}]] entries")
        for number, entry in enumerate(entries, start=1):
            entry_where = f"{where} {metric_id} #{number}"
            if not isinstance(entry, dict):
                raise CatalogError(f"{entry_where}: must be a table")
            found.setdefault(metric_id, []).append(Reference(
                metric=metric_id, label=_text(entry, "label", entry_where),
                averaging=_text(entry, "averaging", entry_where), value=_number(entry, "value", entry_where),
                source=str(entry.get("source", ""))))
    return found


def _hourly_limit(path: Path, raw: object) -> HourlyLimit:
    where = f"{path} [air_hourly_limit]"
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: must be a table")
    allowed = raw.get("allowed_hours_per_year")
    if not isinstance(allowed, int) or isinstance(allowed, bool) or allowed < 0:
        raise CatalogError(f"{where}: allowed_hours_per_year must be a whole number >= 0, got {allowed!r}")
    return HourlyLimit(metric=_text(raw, "metric", where), value=_number(raw, "value", where),
                       allowed_hours_per_year=allowed, source=str(raw.get("source", "")))


def _zone(path: Path, pack_dir: Path, zone_id: str, raw: object, licences: Mapping[str, Licence]) -> Zone:
    where = f"{path} [zones.{zone_id}]"
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: must be a table")
    licence_id = raw.get("licence")
    if licence_id is not None and licence_id not in licences:
        raise CatalogError(f"{where}: licence {licence_id!r} is not defined in [licences]")
    file_path = Path(_text(raw, "path", where))
    return Zone(
        id=zone_id, title=_text(raw, "title", where),
        path=file_path if file_path.is_absolute() else pack_dir / file_path,
        publisher=str(raw.get("publisher", "")), source_url=str(raw.get("source_url", "")),
        licence=licences.get(licence_id) if licence_id else None,
        attribution=str(raw.get("attribution", "")), how_to_get=str(raw.get("how_to_get", "")),
    )


def load_environment_settings(pack_dir: Path, licences: Mapping[str, Licence]) -> EnvironmentSettings:
    """Reference values, the hourly limit and zones from catalog.toml and catalog.d/*.toml.

    Raises CatalogError naming the file and the entry when a table is malformed, a zone's licence
    is unknown, or the hourly limit is given twice.
    """
    pack_dir = Path(pack_dir)
    # The page asks on every rerun; parsing seven TOML files each time was a few milliseconds of
    # it. The files' times and sizes are in the key, so an edited pack is read again.
    return _settings_from_files(pack_dir, pack_file_stamps(pack_dir), tuple(licences.items()))


@functools.lru_cache(maxsize=8)
def _settings_from_files(pack_dir: Path, stamps: tuple[tuple[str, int, int], ...],
                         licence_items: tuple[tuple[str, Licence], ...]) -> EnvironmentSettings:
    licences = dict(licence_items)
    references: dict[str, list[Reference]] = {}
    hourly_limit: HourlyLimit | None = None
    zones: dict[str, Zone] = {}
    for name, _, _ in stamps:
        path = Path(name)
        try:
            content = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise CatalogError(f"{path}: not valid TOML ({error})") from error
        for metric_id, found in _references(path, content.get("air_references", {})).items():
            references.setdefault(metric_id, []).extend(found)
        if "air_hourly_limit" in content:
            if hourly_limit is not None:
                raise CatalogError(f"{path}: [air_hourly_limit] is defined twice")
            hourly_limit = _hourly_limit(path, content["air_hourly_limit"])
        for zone_id, raw in content.get("zones", {}).items():
            if zone_id in zones:
                raise CatalogError(f"{path}: zone {zone_id!r} is defined twice")
            zones[zone_id] = _zone(path, pack_dir, zone_id, raw, licences)
    ordered = {metric_id: tuple(sorted(found, key=lambda reference: -reference.value))
               for metric_id, found in references.items()}
    # Read-only views: the same settings are handed to every rerun.
    return EnvironmentSettings(references=MappingProxyType(ordered), hourly_limit=hourly_limit,
                               zones=MappingProxyType(zones))


@functools.lru_cache(maxsize=4)
def _daqi_from_file(catalog_path: Path, modified_ns: int, size: int) -> Daqi:
    return load_daqi(catalog_path)


def load_daqi_cached(catalog_path: Path) -> Daqi:
    """`load_daqi`, parsed again only when the file changes (its time or size): the page asks on
    every rerun. Errors are raised as load_daqi raises them, every time."""
    catalog_path = Path(catalog_path)
    status = catalog_path.stat()
    return _daqi_from_file(catalog_path, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=4)
def _zone_geometry(path: str, modified_ns: int) -> shapely.Geometry:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{Path(path).name}: cannot read the zone boundary ({error})") from error
    # A user supplies this file (docs/environment.md): anything that is not GeoJSON polygons is
    # reported naming the file, never raised as a traceback onto the page.
    if not isinstance(document, dict):
        raise ValueError(f"{Path(path).name}: the zone file is not a GeoJSON object")
    if document.get("type") == "FeatureCollection":
        features = document.get("features")
        geometries = [feature.get("geometry") for feature in features if isinstance(feature, dict)] \
            if isinstance(features, list) else []
    elif document.get("type") == "Feature":
        geometries = [document.get("geometry")]
    else:
        geometries = [document]
    try:
        polygons = [shapely.make_valid(shape(geometry)) for geometry in geometries
                    if isinstance(geometry, dict) and geometry.get("type") in ("Polygon", "MultiPolygon")]
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, shapely.errors.ShapelyError) as error:
        raise ValueError(f"{Path(path).name}: a polygon in the zone file is not valid GeoJSON ({error})") from error
    if not polygons:
        raise ValueError(f"{Path(path).name}: the zone file has no polygons")
    zone = shapely.union_all(polygons)
    shapely.prepare(zone)
    return zone


def load_zone(path: Path) -> shapely.Geometry:
    """The union of a GeoJSON file's polygons (WGS84); ValueError naming the file if unreadable."""
    return _zone_geometry(str(path), Path(path).stat().st_mtime_ns)


# ---------------------------------------------------------------------------------
# Datasets, pollutants and query parameters


# The page's sections, one open at a time (citydash.ui.sections): the daily index with its map,
# band counts and advice; the chosen pollutant over the period; its pattern through the week and
# the hours above the hourly limit; and, when the pack names a zone, inside against outside it.
MONITORING_SITES = "Monitoring sites"
TRENDS = "Trends"
TIME_OF_DAY = "Time of day"
ZONES = "Zones"
SECTION_LABELS = (MONITORING_SITES, TRENDS, TIME_OF_DAY, ZONES)


def section_labels(settings: EnvironmentSettings) -> list[str]:
    """The sections this pack's page has: Zones only when the pack names a zone. A named zone whose
    file is absent keeps its section, which says how to add the file."""
    return [label for label in SECTION_LABELS if label != ZONES or settings.zones]


def daqi_datasets(metrics: Iterable[Metric], datasets: Mapping[str, Dataset]) -> list[Dataset]:
    """Datasets with at least one DAQI-banded metric: real data first, then synthetic."""
    ids = list(dict.fromkeys(metric.dataset for metric in metrics if metric.bands == "daqi"))
    return sorted((datasets[dataset_id] for dataset_id in ids), key=lambda dataset: dataset.synthetic)


def default_dataset(options: list[Dataset], shared_dataset_id: str) -> Dataset:
    """Real data before synthetic; among those, the shared metric's dataset, else the first."""
    candidates = [dataset for dataset in options if not dataset.synthetic] or options
    for dataset in candidates:
        if dataset.id == shared_dataset_id:
            return dataset
    return candidates[0]


def daqi_pollutants(dataset: Dataset, daqi: Daqi) -> list[Metric]:
    """The dataset's metrics that the DAQI bands, in the catalogue's pollutant order."""
    by_id = {metric.id: metric for metric in dataset.metrics if metric.bands == "daqi"}
    return [by_id[pollutant] for pollutant in daqi.pollutants if pollutant in by_id]


def daqi_query_params(daqi: Daqi, min_coverage: float = DEFAULT_MIN_COVERAGE) -> dict:
    """The catalogue's DAQI method as bound parameters of queries/air_site_daily_index.sql."""
    return {
        "averaging": [f"{pollutant}={hours}" for pollutant, hours in daqi.averaging_hours.items()],
        "upper_bounds": [f"{pollutant}=" + ",".join(f"{bound:g}" for bound in bounds)
                         for pollutant, bounds in daqi.upper_bounds.items()],
        "min_coverage": float(min_coverage),
    }


def choice_from_param(text: str | None, options: list[str], default: str, what: str,
                      default_label: str | None = None) -> tuple[str, tuple[str, ...]]:
    """One of `options` from a link's parameter; anything else (unknown, stale or injected text)
    gives `default`, with a notice. The notice names the default (by `default_label` if given),
    not the link's text, so nothing a link carries is echoed onto the page."""
    if text is None or not str(text).strip():
        return default, ()
    value = str(text)[:MAX_PARAM_LENGTH].strip()
    if value in options:
        return value, ()
    shown = default_label or repr(default)
    return default, (f"The link's {what} is not one this page offers, so it shows {shown} instead.",)


def overlaps(first_day: date | None, last_day: date | None, start: date, end: date) -> bool:
    return first_day is not None and last_day is not None and first_day <= end and last_day >= start


# ---------------------------------------------------------------------------------
# Site types


def site_class(kind: object) -> str:
    text = kind.lower() if isinstance(kind, str) else ""
    if "roadside" in text or "kerbside" in text:
        return ROADSIDE
    if "background" in text or "suburban" in text or "rural" in text:
        return BACKGROUND
    return OTHER


def sensor_grade(kind: object) -> str:
    text = kind.lower() if isinstance(kind, str) else ""
    return LOW_COST if any(word in text for word in LOW_COST_WORDS) else REFERENCE_GRADE


# ---------------------------------------------------------------------------------
# DAQI frames


def index_colour(index: object) -> tuple[int, int, int]:
    if index is None or pd.isna(index):
        return NO_DATA
    return INDEX_PALETTE[int(index) - 1]


def band_colour(band: Band) -> tuple[int, int, int]:
    return INDEX_PALETTE[(band.first + band.last) // 2 - 1]


def _luminance(colour: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""
    channels = [value / 255 for value in colour]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    """Dark or white text, whichever contrasts more with the fill."""
    return _text_colour(tuple(fill))


# Pure and asked for every site, cell and bar on every rerun, of a few dozen distinct fills.
@functools.lru_cache(maxsize=512)
def _text_colour(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    return max((DARK_TEXT, LIGHT_TEXT), key=lambda text: contrast_ratio(fill, text))


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def index_label(index: object, daqi: Daqi) -> str:
    if index is None or pd.isna(index):
        return "no index"
    return f"{int(index)} ({daqi_band(int(index), daqi).name})"


def one_row_per_site(sites: pd.DataFrame) -> pd.DataFrame:
    """The site columns of an air_sites result, once per site."""
    columns = ["entity_id", "name", "kind", "lat", "lon", "borough_code", "borough_name"]
    return sites[columns].drop_duplicates("entity_id").reset_index(drop=True)


SITE_INDEX_COLUMNS = ["entity_id", "name", "kind", "site_class", "grade", "borough_code", "borough_name",
                      "lat", "lon", "max_index", "band", "pollutant", "day", "days_with_index"]


def site_period_index(daily: pd.DataFrame, sites: pd.DataFrame, daqi: Daqi) -> pd.DataFrame:
    """Each site's highest daily DAQI in the period, the pollutant and first day that set it.

    `daily` is an air_site_daily_index result, `sites` one row per site (one_row_per_site). Every
    site is kept; one without an index in the period has max_index NA. Highest index first.
    """
    # Only the four columns used are sorted and carried: every column of a sort costs a take.
    overall = daily.loc[daily["metric"] == DAQI_METRIC, ["entity_id", "daqi_index", "pollutant", "day"]]
    top = (overall.sort_values(["entity_id", "daqi_index", "day"], ascending=[True, False, True], kind="stable")
           .drop_duplicates("entity_id").rename(columns={"daqi_index": "max_index"}))
    frame = sites.merge(top, on="entity_id", how="left")
    frame["max_index"] = frame["max_index"].astype("Int64")
    frame["days_with_index"] = frame["entity_id"].map(overall["entity_id"].value_counts()).fillna(0).astype("int64")
    frame["band"] = [daqi_band(int(value), daqi).name if pd.notna(value) else None for value in frame["max_index"]]
    frame["site_class"] = frame["kind"].map(site_class)
    frame["grade"] = frame["kind"].map(sensor_grade)
    frame["day"] = [pd.Timestamp(value).date() if pd.notna(value) else None for value in frame["day"]]
    ordered = frame.assign(_order=frame["max_index"].fillna(0)).sort_values(
        ["_order", "name"], ascending=[False, True], kind="stable")
    return ordered[SITE_INDEX_COLUMNS].reset_index(drop=True)


def borough_daily_index(daily: pd.DataFrame) -> pd.DataFrame:
    """A borough's index for a day: the highest of its sites' that day (as LondonAir reports it)."""
    overall = daily[daily["metric"] == DAQI_METRIC]
    return (overall.groupby(["borough_code", "day"], as_index=False)["daqi_index"].max()
            .sort_values(["borough_code", "day"]).reset_index(drop=True))


def band_days(daily: pd.DataFrame, borough_names: pd.DataFrame, daqi: Daqi) -> pd.DataFrame:
    """Days in each DAQI band per borough with an index in the period; every band listed, zeros too.

    Columns: borough_code, borough_name, band, indices (e.g. "4-6"), days, share (of the
    borough's days with an index). Boroughs ordered by their days at Moderate or above.
    """
    per_day = borough_daily_index(daily)
    columns = ["borough_code", "borough_name", "band", "indices", "days", "share"]
    if per_day.empty:
        return pd.DataFrame({column: pd.Series(dtype="float64" if column == "share" else
                                               "int64" if column == "days" else "object") for column in columns})
    # The band of each index that occurs, looked up once per index rather than once per borough-day.
    band_of_index = {index: daqi_band(int(index), daqi).name for index in per_day["daqi_index"].unique()}
    per_day["band"] = per_day["daqi_index"].map(band_of_index)
    band_names = [band.name for band in daqi.bands]
    counts = per_day.groupby(["borough_code", "band"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=band_names, fill_value=0)
    above_low = dict(zip(counts.index, counts.iloc[:, 1:].sum(axis=1)))
    order = sorted(counts.index, key=lambda code: (-above_low[code], code))
    names = borough_names.set_index("borough_code")["borough_name"]
    # One row per borough and band, built from whole arrays (a .loc per cell was most of the time).
    days = counts.loc[order].to_numpy(dtype="int64")
    shares = days / days.sum(axis=1, keepdims=True)
    indices = [f"{band.first}-{band.last}" if band.first != band.last else str(band.first) for band in daqi.bands]
    return pd.DataFrame({
        "borough_code": [code for code in order for _ in band_names],
        "borough_name": [name for name in (names.get(code, code) for code in order) for _ in band_names],
        "band": band_names * len(order),
        "indices": indices * len(order),
        "days": days.ravel(),
        "share": shares.ravel(),
    }, columns=columns)


def band_days_table(frame: pd.DataFrame, daqi: Daqi) -> pd.DataFrame:
    """The band-days chart as a table: one row per borough in the chart's order, the days in each
    band as columns headed like the chart's legend ("Low (1-3)"), then the days with an index."""
    headings = {band.name: f"{band.name} ({band.first}-{band.last})" if band.first != band.last
                else f"{band.name} ({band.first})" for band in daqi.bands}
    columns = ["borough_name", *headings.values(), "days_with_index"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    # groupby and unstack: what pivot_table does, without its extra passes.
    table = (frame.groupby(["borough_code", "borough_name", "band"], sort=False)["days"].sum().unstack("band")
             .reindex(columns=list(headings), fill_value=0))
    order = list(dict.fromkeys(zip(frame["borough_code"], frame["borough_name"])))
    table = table.reindex(order).fillna(0).astype("int64").rename(columns=headings)
    table["days_with_index"] = table.sum(axis=1)
    return table.reset_index()[columns]


@dataclass(frozen=True)
class IndexSummary:
    highest: int | None
    band: Band | None
    site_name: str | None
    borough_name: str | None
    day: date | None
    pollutant: str | None
    sites_with_index: int
    sites: int
    borough_days: int
    borough_days_above_low: int


def index_summary(site_index: pd.DataFrame, borough_days_frame: pd.DataFrame, daqi: Daqi) -> IndexSummary:
    """The headline figures: the highest daily index in the selection and where and when."""
    with_index = site_index.dropna(subset=["max_index"])
    low = daqi.bands[0].name
    borough_days = int(borough_days_frame["days"].sum()) if not borough_days_frame.empty else 0
    above_low = int(borough_days_frame.loc[borough_days_frame["band"] != low, "days"].sum()) \
        if not borough_days_frame.empty else 0
    if with_index.empty:
        return IndexSummary(None, None, None, None, None, None, 0, len(site_index), borough_days, above_low)
    top = with_index.iloc[0]
    highest = int(top["max_index"])
    return IndexSummary(highest, daqi_band(highest, daqi), top["name"], top["borough_name"], top["day"],
                        top["pollutant"], len(with_index), len(site_index), borough_days, above_low)


def advice_table(daqi: Daqi) -> pd.DataFrame:
    """Each band with its index range and the health advice for everyone and for people at risk."""
    return pd.DataFrame([{
        "band": band.name,
        "indices": f"{band.first}-{band.last}" if band.first != band.last else str(band.first),
        "advice_general": band.advice_general,
        "advice_at_risk": band.advice_at_risk,
    } for band in daqi.bands])


# ---------------------------------------------------------------------------------
# Pollutant frames


def trend_by_scope(borough_daily: pd.DataFrame, metric_id: str, max_lines: int, everyone_label: str) -> pd.DataFrame:
    """Daily means to draw: one line per borough when there are at most `max_lines` boroughs,
    otherwise one line for all of them together (every reading weighted equally).

    Columns: scope, day, value, readings, sites.
    """
    rows = borough_daily[borough_daily["metric"] == metric_id]
    columns = ["scope", "day", "value", "readings", "sites"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    if rows["borough_code"].nunique() <= max_lines:
        lines = rows.assign(scope=rows["borough_name"])[columns]
    else:
        lines = (rows.groupby("day", as_index=False).agg(total=("total", "sum"), readings=("readings", "sum"),
                                                         sites=("sites", "sum"))
                 .assign(scope=everyone_label))
        lines["value"] = lines["total"] / lines["readings"]
        lines = lines[columns]
    return lines.sort_values(["scope", "day"]).reset_index(drop=True)


def period_means(borough_daily: pd.DataFrame, metric_id: str) -> pd.DataFrame:
    """Each borough's mean over the period (every reading weighted equally), highest first."""
    rows = borough_daily[borough_daily["metric"] == metric_id]
    # Plain sums and one nunique: a named .agg mixing them cost twice as much in pandas.
    grouped = rows.groupby(["borough_code", "borough_name"])
    frame = grouped[["total", "readings"]].sum()
    frame["days"] = grouped["day"].nunique()
    frame = frame.reset_index()
    frame["value"] = frame["total"] / frame["readings"]
    return frame[["borough_code", "borough_name", "value", "readings", "days"]].sort_values(
        "value", ascending=False).reset_index(drop=True)


def class_daily(site_type_daily: pd.DataFrame, metric_id: str) -> pd.DataFrame:
    """Daily means by site class (roadside, background, other) from air_site_type_daily rows."""
    rows = site_type_daily[site_type_daily["metric"] == metric_id]
    columns = ["site_class", "day", "value", "readings", "sites"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(site_class=rows["kind"].map(site_class))
    frame = rows.groupby(["site_class", "day"], as_index=False)[["total", "readings", "sites"]].sum()
    frame["value"] = frame["total"] / frame["readings"]
    order = {name: position for position, name in enumerate(SITE_CLASSES)}
    return (frame.assign(_order=frame["site_class"].map(order)).sort_values(["_order", "day"])[columns]
            .reset_index(drop=True))


def class_means(site_type_daily: pd.DataFrame, metric_id: str) -> pd.DataFrame:
    """Each site class's mean over the period (every reading weighted equally)."""
    rows = site_type_daily[site_type_daily["metric"] == metric_id]
    rows = rows.assign(site_class=rows["kind"].map(site_class))
    frame = rows.groupby("site_class", as_index=False)[["total", "readings"]].sum()
    frame["value"] = frame["total"] / frame["readings"]
    return frame[["site_class", "value", "readings"]]


def weekday_hour_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A weekday (rows, Monday first) by hour (columns 0..23) table of means; NaN where no readings."""
    # groupby and unstack: what pivot_table does, without its extra passes.
    table = frame.groupby(["weekday", "hour"])["value"].first().unstack("hour")
    table = table.reindex(index=range(1, 8), columns=range(24))
    table.index = list(WEEKDAYS)
    table.index.name = "weekday"
    return table


def hours_above(frame: pd.DataFrame, allowed: int) -> pd.DataFrame:
    """Hours above the limit per site and calendar year, with whether the allowance was used up."""
    result = frame.copy()
    result["over_allowance"] = result["hours_above"] > allowed
    return result


def zone_membership(sites: pd.DataFrame, zone: shapely.Geometry) -> pd.Series:
    """True for each site inside the zone (a point on the boundary counts as inside)."""
    inside = shapely.intersects_xy(zone, sites["lon"].to_numpy(dtype="float64"),
                                   sites["lat"].to_numpy(dtype="float64"))
    return pd.Series(inside, index=sites.index, name="inside")


def zone_comparison(site_means: pd.DataFrame, zone: shapely.Geometry) -> pd.DataFrame:
    """Mean of site means inside and outside a zone, per pollutant and site class.

    `site_means` is an air_sites result (one row per site and metric). Each site counts once,
    whatever its number of readings, so a busy monitor does not outweigh a quiet one.
    Columns: metric, site_class, zone, value, sites.
    """
    rows = site_means.dropna(subset=["metric", "value"])
    columns = ["metric", "site_class", "zone", "value", "sites"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(site_class=rows["kind"].map(site_class),
                       zone=np.where(zone_membership(rows, zone), INSIDE, OUTSIDE))
    frame = rows.groupby(["metric", "site_class", "zone"], as_index=False).agg(
        value=("value", "mean"), sites=("entity_id", "nunique"))
    order = {name: position for position, name in enumerate(SITE_CLASSES)}
    return (frame.assign(_order=frame["site_class"].map(order))
            .sort_values(["metric", "_order", "zone"])[columns].reset_index(drop=True))


# ---------------------------------------------------------------------------------
# Map


def _map_rows(site_index: pd.DataFrame, daqi: Daqi) -> pd.DataFrame:
    rows = site_index.copy()
    fills = [index_colour(value) for value in rows["max_index"]]
    rows["fill"] = [list(colour) + [235] for colour in fills]
    rows["text_rgb"] = [list(text_colour(colour if grade == REFERENCE_GRADE else (255, 255, 255))) + [255]
                        for colour, grade in zip(fills, rows["grade"])]
    rows["ring"] = [list(colour) + [255] for colour in fills]
    rows["number"] = ["" if pd.isna(value) else str(int(value)) for value in rows["max_index"]]
    rows["index_text"] = [index_label(value, daqi) for value in rows["max_index"]]
    rows["when"] = [f"set by {pollutant.upper()} on {day:%d %b %Y}" if isinstance(day, date) else
                    "no day in the period had enough readings"
                    for pollutant, day in zip(rows["pollutant"], rows["day"])]
    # Five decimals of a degree are about a metre: the browser needs no more to place a site.
    rows["position"] = [[round(float(lon), 5), round(float(lat), 5)] for lon, lat in zip(rows["lon"], rows["lat"])]
    keep = ["name", "kind", "grade", "site_class", "borough_name", "position", "fill", "ring",
            "text_rgb", "number", "index_text", "when"]
    return rows[keep].astype({"name": "object", "kind": "object", "borough_name": "object"})


SELECTED_AREA_FILL = [203, 210, 217, 200]
SELECTED_AREA_LINE = [62, 76, 89, 255]
OTHER_AREA_FILL = [246, 247, 249, 120]
OTHER_AREA_LINE = [154, 165, 177, 255]


def _area_outlines(areas_geojson: dict, selected: tuple[str, ...]) -> pdk.Layer:
    """The city's areas as a faint backdrop (there is no basemap), the selected ones shaded and
    outlined darker: the map keeps the city's view whatever the selection (see site_map), so the
    selection is shown by shading, not by zooming to it."""
    features = [{
        "type": "Feature", "geometry": feature["geometry"],
        "properties": ({"fill": SELECTED_AREA_FILL, "line": SELECTED_AREA_LINE, "width": 500}
                       if feature["properties"]["code"] in selected else
                       {"fill": OTHER_AREA_FILL, "line": OTHER_AREA_LINE, "width": 40}),
    } for feature in areas_geojson["features"]]
    # Selected areas last, so that their darker outline is drawn over their neighbours' lighter one.
    features.sort(key=lambda feature: feature["properties"]["width"])
    return pdk.Layer(
        "GeoJsonLayer", {"type": "FeatureCollection", "features": features}, id="areas",
        pickable=False, stroked=True, filled=True, get_fill_color="properties.fill",
        # Widths in metres held between pixel bounds (about 2 px for a selected area at the city's
        # zoom): pydeck would turn a "pixels" units string into an accessor expression.
        get_line_color="properties.line", get_line_width="properties.width",
        line_width_min_pixels=1, line_width_max_pixels=3,
    )


SITE_TOOLTIP = "{name} ({borough_name})\n{kind}, {grade}\nHighest daily index: {index_text}\n{when}"
# Each layer's records carry only what it draws and what its tooltip says: every site's whole record
# in every layer (the numbers' layer included) made the map 1,650 KB at 200M, most of a page load
# over the 2 MB line.
SITE_TOOLTIP_FIELDS = tuple(re.findall(r"{(\w+)}", SITE_TOOLTIP))


def site_map(site_index: pd.DataFrame, view: dict, daqi: Daqi, areas_geojson: dict,
             selected: tuple[str, ...] = ()) -> pdk.Deck:
    """Monitoring sites coloured by their highest daily DAQI, the number printed on each.

    Size shows the site class (roadside biggest), a filled disc a reference monitor and a ring a
    low-cost sensor. One layer per class and grade, so that each has its own pixel size. The
    city's areas are drawn underneath so that the sites have a place, the `selected` ones shaded.

    Pass the same `view` on every rerun (the page passes the city's): Streamlit keeps a reader's
    pan and zoom only while the initial view it is given stays the same, and a view fitted to the
    selection would throw the reader's view away at every filter change.
    """
    rows = _map_rows(site_index.dropna(subset=["lat", "lon"]), daqi)
    # The rows as pydeck's records once, split in Python: pydeck turned each layer's frame into
    # records itself, seven conversions and fourteen frame filters a rerun.
    records = rows.to_dict(orient="records")
    layers = [_area_outlines(areas_geojson, selected)]
    # Biggest first, so that a small site next to a big one is drawn on top of it.
    by_size = sorted(SITE_CLASSES, key=lambda name: -CLASS_RADIUS_PIXELS[name])
    for grade in (REFERENCE_GRADE, LOW_COST):
        for name in by_size:
            reference = grade == REFERENCE_GRADE
            colour = "fill" if reference else "ring"
            chosen = [{**{field: record[field] for field in SITE_TOOLTIP_FIELDS}, "position": record["position"],
                       colour: record[colour]}
                      for record in records if record["site_class"] == name and record["grade"] == grade]
            if not chosen:
                continue
            radius = CLASS_RADIUS_PIXELS[name]
            layers.append(pdk.Layer(
                "ScatterplotLayer", chosen, id=f"sites-{'reference' if reference else 'low-cost'}-{radius}",
                pickable=True, filled=True, stroked=True, get_position="position",
                get_fill_color="fill" if reference else [255, 255, 255, 235],
                get_line_color=list(OUTLINE) if reference else "ring",
                # Radii and widths are tiny in metres and held at a pixel size by the bounds: pydeck
                # would turn a "pixels" units string into an accessor expression.
                get_radius=1, radius_min_pixels=radius, radius_max_pixels=radius,
                get_line_width=1, line_width_min_pixels=1 if reference else 3,
                line_width_max_pixels=1 if reference else 3,
                auto_highlight=True, highlight_color=[255, 128, 0, 200],
            ))
    if records:
        layers.append(pdk.Layer(
            "TextLayer", [{"position": record["position"], "number": record["number"], "text_rgb": record["text_rgb"]}
                          for record in records if record["number"] != ""], id="site-numbers",
            get_position="position", get_text="number", get_color="text_rgb", get_size=10, pickable=False,
        ))
    # Compact JSON (maps.Deck): pydeck's indented, key-sorted JSON took most of this map's time.
    return Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(latitude=view["latitude"], longitude=view["longitude"],
                                         zoom=view["zoom"], pitch=0, bearing=0),
        map_provider=None,
        tooltip={"text": SITE_TOOLTIP},
    )


def _circle_html(radius: int, fill: str, stroke: str, stroke_width: int) -> str:
    """A circle drawn with CSS (st.html strips inline SVG)."""
    size = 2 * radius
    return (f'<span aria-hidden="true" style="display:inline-block;width:{size}px;height:{size}px;'
            f'border-radius:50%;background:{fill};border:{stroke_width}px solid {stroke};'
            f'box-sizing:border-box;margin-right:0.4rem"></span>')


def _index_swatch(index: int) -> str:
    fill = index_colour(index)
    return (f'<span class="cd-swatch" style="background:{hex_colour(fill)};color:{hex_colour(text_colour(fill))};'
            f'width:1.4rem;margin-right:0.15rem;text-align:center;font-size:0.75rem;line-height:1.1rem">'
            f'{index}</span>')


def site_map_legend_html(daqi: Daqi, has_missing: bool) -> str:
    """The map's key: each band with its index colours and numbers, then the site symbols."""
    bands = [f'<li>{"".join(_index_swatch(index) for index in range(band.first, band.last + 1))}'
             f'<span style="margin-left:0.25rem">{html.escape(band.name)}</span></li>' for band in daqi.bands]
    if has_missing:
        bands.append(f'<li><span class="cd-swatch" style="background:{hex_colour(NO_DATA)}"></span>no index</li>')
    outline = hex_colour(OUTLINE)
    grey = "#9AA5B1"
    shapes = [f'<li>{_circle_html(CLASS_RADIUS_PIXELS[name], grey, outline, 1)}{html.escape(name)}</li>'
              for name in SITE_CLASSES]
    shapes.append(f'<li>{_circle_html(7, grey, outline, 1)}{html.escape(REFERENCE_GRADE)}: filled disc</li>')
    shapes.append(f'<li>{_circle_html(7, "#FFFFFF", grey, 3)}{html.escape(LOW_COST)}: ring</li>')
    return ('<figure class="cd-legend" aria-label="Map legend: Daily Air Quality Index and site types">'
            '<figcaption>Highest daily index in the period, printed on each site</figcaption>'
            f'<ul>{"".join(bands)}</ul>'
            '<figcaption style="margin-top:0.5rem">Site type: size, and disc or ring</figcaption>'
            f'<ul>{"".join(shapes)}</ul></figure>')


def site_map_sentence(site_index: pd.DataFrame, daqi: Daqi, area_label_plural: str) -> str:
    """The map's text alternative: how many sites, the highest and how many reached each band."""
    if site_index.empty:
        return f"There are no monitoring sites in the selected {area_label_plural}."
    with_index = site_index.dropna(subset=["max_index"])
    if with_index.empty:
        return (f"None of the {len(site_index)} monitoring sites had enough readings for a daily index "
                "in this period.")
    top = with_index.iloc[0]
    counts = with_index["band"].value_counts()
    by_band = ", ".join(f"{counts.get(band.name, 0)} {band.name.lower()}" for band in daqi.bands)
    missing = len(site_index) - len(with_index)
    sentence = (f"{len(with_index)} of {len(site_index)} monitoring sites had a daily index in the period; "
                f"the highest was {index_label(top['max_index'], daqi)} at {top['name']} "
                f"({top['borough_name']}) on {top['day']:%d %b %Y}, set by {str(top['pollutant']).upper()}. "
                f"Highest band reached per site: {by_band}.")
    if missing:
        sentence += f" {missing} site{'s' if missing != 1 else ''} had too few readings, or none, for an index."
    return sentence


# ---------------------------------------------------------------------------------
# Charts

# Each figure is built in one go from trace and layout dicts (charts.figure): plotly validates it
# once, where add_trace, add_hline and update_* each re-validated the whole figure.


def _day_axis(days: pd.Series) -> dict:
    """Dates on the x axis, one tick a day for short periods (plotly would tick every 12 hours)."""
    if len(days):
        as_dates = pd.to_datetime(days)
        span = (as_dates.max() - as_dates.min()).days
    else:
        span = 0
    if span <= 14:
        return dict(title_text=None, dtick=86_400_000, tickformat="%d %b")
    return dict(title_text=None)


def _reference_lines(references: Iterable[Reference]) -> dict:
    """Layout shapes and annotations for the catalogue's reference values, labelled with their text;
    nothing at all when there are none, as before."""
    references = list(references)
    if not references:
        return {}
    return charts.reference_lines([(reference.value, html.escape(reference.text())) for reference in references],
                                  orientation="h", dashes=REFERENCE_DASHES, annotation_position="top left")


def _daily_line(rows: pd.DataFrame, name: str, line: dict, metric: Metric) -> dict:
    return dict(type="scatter", x=rows["day"], y=rows["value"], mode="lines", name=name, line=line,
                hovertemplate="%{x|%d %b %Y}: %{y:,.1f} " + metric.unit + "<extra>%{fullData.name}</extra>")


def _lines_with_references(traces: list[dict], days: pd.Series, values: pd.Series, metric: Metric,
                           references: Iterable[Reference], height: int) -> go.Figure:
    """Daily lines under the reference values, the y axis from zero to a little above the highest of both."""
    references = list(references)
    highest = max([float(values.max()) if len(values) else 0.0] + [reference.value for reference in references])
    return charts.figure(traces, charts.layout(
        "", height=height, xaxis=_day_axis(days), yaxis=dict(title_text=metric.unit, range=[0, highest * 1.12]),
        **_reference_lines(references)))


def pollutant_trend(lines: pd.DataFrame, metric: Metric, references: Iterable[Reference]) -> go.Figure:
    """Daily means, one line per scope, with the catalogue's reference values as labelled lines."""
    traces = [_daily_line(rows, str(scope), dict(color=charts.CATEGORICAL[position % len(charts.CATEGORICAL)],
                                                 width=2), metric)
              for position, (scope, rows) in enumerate(lines.groupby("scope", sort=True))]
    return _lines_with_references(traces, lines["day"], lines["value"], metric, references, height=380)


def band_days_chart(frame: pd.DataFrame, daqi: Daqi) -> go.Figure:
    """Stacked horizontal bars: days in each DAQI band per borough, the count printed in each part."""
    boroughs = list(dict.fromkeys(frame["borough_name"]))[::-1]
    # One pivot instead of a filter and reindex per band; duplicate borough and band rows raise, as before.
    days = (frame.pivot(index="borough_name", columns="band", values="days")
            .reindex(index=boroughs, columns=[band.name for band in daqi.bands]))
    # The legend's index range is read from the chart's first (bottom) borough.
    first_rows = frame[frame["borough_name"] == boroughs[0]] if boroughs else frame.iloc[0:0]
    indices = dict(zip(first_rows["band"], first_rows["indices"]))
    traces = []
    for band in daqi.bands:
        colour = band_colour(band)
        days_in_band = days[band.name]
        traces.append(dict(
            type="bar", y=boroughs, x=days_in_band,
            name=f"{band.name} ({indices.get(band.name, float('nan')) if boroughs else ''})",
            orientation="h", marker=dict(color=hex_colour(colour), line=dict(color="#52606D", width=0.5)),
            text=[str(int(count)) if count else "" for count in days_in_band.fillna(0)],
            textposition="inside", insidetextanchor="middle",
            textfont=dict(color=hex_colour(text_colour(colour))),
            hovertemplate="%{y}: %{x} days " + html.escape(band.name) + "<extra></extra>",
        ))
    house = charts.layout("", height=max(240, 30 * len(boroughs) + 100), barmode="stack",
                          xaxis=dict(title_text="days"), yaxis=dict(title_text=None, tickfont=dict(size=12)))
    # Bands listed in the legend low to high, left to right, within the house legend's placement.
    house["legend"] = {**house["legend"], "traceorder": "normal"}
    return charts.figure(traces, house)


def class_chart(frame: pd.DataFrame, metric: Metric, references: Iterable[Reference]) -> go.Figure:
    """Daily means by site class: roadside against background (and other sites)."""
    colours = {ROADSIDE: charts.CATEGORICAL[5], BACKGROUND: charts.CATEGORICAL[0], OTHER: charts.CATEGORICAL[7]}
    dashes = {ROADSIDE: "solid", BACKGROUND: "solid", OTHER: "dot"}
    traces = [_daily_line(rows, str(name), dict(color=colours.get(name, charts.MUTED), width=2,
                                                dash=dashes.get(name, "solid")), metric)
              for name, rows in frame.groupby("site_class", sort=False)]
    return _lines_with_references(traces, frame["day"], frame["value"], metric, references, height=360)


def _colour_at(position: float, palette: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """The colour a plotly colourscale built from `palette` gives at position 0..1."""
    scaled = min(max(position, 0.0), 1.0) * (len(palette) - 1)
    low = min(int(scaled), len(palette) - 2)
    weight = scaled - low
    return tuple(round(a + (b - a) * weight) for a, b in zip(palette[low], palette[low + 1]))


def weekday_hour_heatmap(table: pd.DataFrame, metric: Metric) -> go.Figure:
    """Mean by day of the week (columns) and hour of the day (rows, local time), light low to dark high.

    Hours run down the page so that the seven columns keep their printed values readable on a
    phone. Each cell's value is printed in dark or white text, whichever reads on its colour.
    """
    values = table.to_numpy(dtype="float64").T
    palette = list(SEQUENTIAL)
    finite = values[~np.isnan(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = high - low or 1.0
    hours = [f"{hour:02d}:00" for hour in table.columns]
    days = [day[:3] for day in table.index]
    heatmap = dict(
        type="heatmap", z=values, x=days, y=hours, zmin=low, zmax=high,
        colorscale=[[position / (len(palette) - 1), "rgb({},{},{})".format(*colour)]
                    for position, colour in enumerate(palette)],
        colorbar=dict(title=dict(text=metric.unit), thickness=12), xgap=1, ygap=1,
        hovertemplate="%{x} %{y}: %{z:,.1f} " + metric.unit + "<extra></extra>",
    )
    cells = [(day, hour, value) for hour, row in zip(hours, values) for day, value in zip(days, row)
             if not math.isnan(value)]
    printed = dict(
        type="scatter", x=[day for day, _, _ in cells], y=[hour for _, hour, _ in cells], mode="text",
        text=[f"{value:.0f}" for _, _, value in cells], hoverinfo="skip", showlegend=False,
        textfont=dict(size=11, color=[hex_colour(text_colour(_colour_at((value - low) / span, palette)))
                                      for _, _, value in cells]),
    )
    return charts.figure([heatmap, printed], charts.layout(
        "", height=620, xaxis=dict(title_text=None, type="category", side="top", showgrid=False),
        yaxis=dict(title_text="hour starting (local time)", type="category", autorange="reversed",
                   showgrid=False, tickfont=dict(size=11))))


def hours_above_chart(frame: pd.DataFrame, limit: HourlyLimit, unit: str, top: int = 15) -> go.Figure:
    """Hours above the hourly limit per site and year (the sites with most), with the allowance line."""
    shown = (frame[frame["hours_above"] > 0].sort_values(["hours_above", "name"], ascending=[False, True])
             .head(top).iloc[::-1])
    labels = [f"{name} ({year})" for name, year in zip(shown["name"], shown["year"])]
    colours = [charts.CATEGORICAL[5] if over else charts.CATEGORICAL[0] for over in shown["over_allowance"]]
    bars = dict(
        type="bar", x=shown["hours_above"], y=labels, orientation="h", marker_color=colours,
        text=[str(int(hours)) for hours in shown["hours_above"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x} hours above " + f"{limit.value:g} {unit}" + "<extra></extra>",
    )
    allowance = charts.reference_lines([(limit.allowed_hours_per_year,
                                         f"{limit.allowed_hours_per_year} hours a year allowed")],
                                       orientation="v", dashes=("dash",), annotation_position="bottom left")
    # A slightly more opaque label background than the other reference lines': it sits over the bars.
    allowance["annotations"] = [{**note, "bgcolor": "rgba(255,255,255,0.85)"} for note in allowance["annotations"]]
    highest = max(float(shown["hours_above"].max()) if not shown.empty else 0.0, limit.allowed_hours_per_year)
    return charts.figure([bars], charts.layout(
        "", height=max(220, 26 * len(shown) + 100), xaxis=dict(title_text="hours", range=[0, highest * 1.12]),
        yaxis=dict(title_text=None, tickfont=dict(size=12)), **allowance))


def zone_chart(frame: pd.DataFrame, metric: Metric) -> go.Figure:
    """Inside against outside the zone by site class; the value and number of sites printed."""
    rows = frame[frame["metric"] == metric.id]
    traces = []
    for position, zone in enumerate((INSIDE, OUTSIDE)):
        part = rows[rows["zone"] == zone]
        traces.append(dict(
            type="bar", x=part["site_class"], y=part["value"], name=f"{zone} the zone",
            marker_color=charts.CATEGORICAL[position * 5], textposition="outside", cliponaxis=False,
            text=[f"{value:.1f} ({sites} site{'s' if sites != 1 else ''})"
                  for value, sites in zip(part["value"], part["sites"])],
            hovertemplate="%{x}: %{y:,.1f} " + metric.unit + "<extra>%{fullData.name}</extra>",
        ))
    top = float(rows["value"].max()) if not rows.empty else 1.0
    return charts.figure(traces, charts.layout(
        "", height=360, barmode="group", xaxis=dict(title_text=None),
        yaxis=dict(title_text=metric.unit, range=[0, top * 1.2])))


# ---------------------------------------------------------------------------------
# Sentences


def _sites_phrase(count: int) -> str:
    return f"{count} site{'s' if count != 1 else ''}"


def band_days_sentence(frame: pd.DataFrame, daqi: Daqi, area_label: str) -> str:
    if frame.empty:
        return f"No {area_label} had a daily index in this period."
    low = daqi.bands[0].name
    above = frame[frame["band"] != low].groupby("borough_name", sort=False)["days"].sum()
    totals = frame.groupby("borough_name", sort=False)["days"].sum()
    worst = above.idxmax()
    if above.max() == 0:
        return f"Every {area_label} stayed in the {low} band on every day with an index."
    return (f"{worst} had the most days above {low}: {int(above.max())} of {int(totals[worst])} days "
            f"with an index. {int((above > 0).sum())} of {len(totals)} {area_label}s had at least one such day.")


def class_sentence(means: pd.DataFrame, metric: Metric) -> str:
    by_class = means.set_index("site_class")["value"]
    if ROADSIDE in by_class and BACKGROUND in by_class and by_class[BACKGROUND] > 0:
        difference = 100 * (by_class[ROADSIDE] - by_class[BACKGROUND]) / by_class[BACKGROUND]
        return (f"Over the period, roadside and kerbside sites averaged "
                f"{format_value(by_class[ROADSIDE], metric.unit)} of {metric.label}, background sites "
                f"{format_value(by_class[BACKGROUND], metric.unit)} ({difference:+.0f}%).")
    present = ", ".join(f"{name}: {format_value(value, metric.unit)}" for name, value in by_class.items())
    return f"The selection does not have both roadside and background sites measuring {metric.label}. {present}."


def heatmap_sentence(table: pd.DataFrame, metric: Metric) -> str:
    stacked = table.stack().dropna()
    if stacked.empty:
        return f"No {metric.label} readings in this period."
    (high_day, high_hour), (low_day, low_hour) = stacked.idxmax(), stacked.idxmin()
    return (f"{metric.label} is highest on {high_day}s at {high_hour:02d}:00 "
            f"({format_value(stacked.max(), metric.unit)}) and lowest on {low_day}s at {low_hour:02d}:00 "
            f"({format_value(stacked.min(), metric.unit)}).")


def hours_above_sentence(frame: pd.DataFrame, limit: HourlyLimit, unit: str) -> str:
    if frame.empty:
        return "No site measured this pollutant in the period."
    over_limit = frame[frame["hours_above"] > 0]
    over_allowance = frame[frame["over_allowance"]]
    if over_limit.empty:
        highest = frame.loc[frame["highest"].idxmax()]
        return (f"No site had an hour above {limit.value:g} {unit} in the period; the highest hourly reading was "
                f"{format_value(highest['highest'], unit)} at {highest['name']}.")
    over = over_allowance["entity_id"].nunique()
    return (f"{_sites_phrase(over_limit['entity_id'].nunique())} had at least one hour above {limit.value:g} {unit}; "
            f"{_sites_phrase(over) if over else 'none'} had more than the {limit.allowed_hours_per_year} "
            "hours a year allowed. The allowance is per calendar year, so a period shorter than a year shows "
            "only part of it.")


def zone_sentence(frame: pd.DataFrame, metric: Metric, zone_title: str) -> str:
    rows = frame[frame["metric"] == metric.id]
    if rows.empty:
        return f"No site measured {metric.label} in this period."
    parts = []
    for name, part in rows.groupby("site_class", sort=False):
        values = part.set_index("zone")
        if INSIDE in values.index and OUTSIDE in values.index:
            parts.append(f"{name.lower()} sites averaged {format_value(values.loc[INSIDE, 'value'], metric.unit)} "
                         f"inside ({_sites_phrase(int(values.loc[INSIDE, 'sites']))}) and "
                         f"{format_value(values.loc[OUTSIDE, 'value'], metric.unit)} outside "
                         f"({_sites_phrase(int(values.loc[OUTSIDE, 'sites']))})")
        else:
            only = values.index[0]
            parts.append(f"{name.lower()} sites are all {only.lower()} the zone "
                         f"({_sites_phrase(int(values['sites'].iloc[0]))}, "
                         f"{format_value(values['value'].iloc[0], metric.unit)})")
    return f"{metric.label}, {zone_title}: " + "; ".join(parts) + "."


def coverage_days(coverage: pd.DataFrame) -> tuple[date | None, date | None]:
    """First and last day of an air_coverage result; None for a dataset without readings."""
    first, last = coverage["first_day"].iloc[0], coverage["last_day"].iloc[0]
    if pd.isna(first) or pd.isna(last):
        return None, None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()
