"""Area boundaries and point-in-polygon assignment."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

AREA_COLUMNS = ["code", "name", "group", "area_ha"]


@lru_cache(maxsize=4)
def load_areas(path: Path) -> gpd.GeoDataFrame:
    """The city's areas (boroughs): code, name, group, area_ha and geometry, WGS84."""
    if Path(path).suffix.lower() in (".geojson", ".json"):
        # GeoJSON is WGS84 by definition (RFC 7946). Read without GDAL's reader, which costs the
        # app ~30 MB of memory for a file of a few dozen shapes.
        areas = gpd.GeoDataFrame.from_features(areas_geojson(path)["features"], crs="EPSG:4326")
    else:
        areas = gpd.read_file(path)
    missing = [column for column in AREA_COLUMNS if column not in areas.columns]
    if missing:
        raise ValueError(f"{path}: boundary features lack properties {missing}")
    return areas[AREA_COLUMNS + ["geometry"]].sort_values("code").reset_index(drop=True)


@lru_cache(maxsize=4)
def areas_geojson(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# Boundaries clipped to a river bank leave the river in no area, though it lies inside the city.
# Gaps between areas up to GAP_WIDTH_M wide count as inside: a point there gets the nearest area.
GAP_WIDTH_M = 1000.0
# A gap open to the outside (an estuary, or a bay in the outer edge) counts only when it runs at
# least this many times as deep as its mouth is wide (area >= ratio * mouth length squared): a
# river reaching into the city, not a notch in its outer boundary.
INLET_DEPTH_RATIO = 4.0


@dataclass(frozen=True)
class _AreaIndex:
    codes: np.ndarray
    tree: shapely.STRtree                 # the areas, WGS84
    gaps: shapely.Geometry | None         # the gaps between areas that count as inside, WGS84
    metric_tree: shapely.STRtree | None   # the areas in a local metric CRS, for nearest-area
    to_metric: pyproj.Transformer | None


_INDEXES: OrderedDict[tuple, _AreaIndex] = OrderedDict()


def _index_key(areas: gpd.GeoDataFrame) -> tuple:
    digest = hashlib.blake2b(digest_size=16)
    for wkb in shapely.to_wkb(areas.geometry.values):
        digest.update(wkb)
    return tuple(areas["code"]), str(areas.crs), digest.hexdigest()


def _area_index(areas: gpd.GeoDataFrame, with_gaps: bool) -> _AreaIndex:
    """The areas' search trees and gaps, built once per distinct areas frame (by content)."""
    key = _index_key(areas)
    index = _INDEXES.get(key)
    if index is None:
        index = _AreaIndex(areas["code"].to_numpy(), shapely.STRtree(areas.geometry.values), None, None, None)
    if with_gaps and index.metric_tree is None:
        index = _with_gaps(areas, index)
    _INDEXES[key] = index
    _INDEXES.move_to_end(key)
    while len(_INDEXES) > 8:
        _INDEXES.popitem(last=False)
    return index


def _with_gaps(areas: gpd.GeoDataFrame, index: _AreaIndex) -> _AreaIndex:
    areas = areas if areas.crs is not None else areas.set_crs(4326)
    metric_crs = areas.estimate_utm_crs()
    metric = areas.geometry.to_crs(metric_crs).values
    gaps = city_gaps(metric)
    to_wgs84 = pyproj.Transformer.from_crs(metric_crs, areas.crs, always_xy=True)
    gaps = shapely.transform(gaps, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    shapely.prepare(gaps)
    return _AreaIndex(index.codes, index.tree, gaps, shapely.STRtree(metric),
                      pyproj.Transformer.from_crs(areas.crs, metric_crs, always_xy=True))


def city_gaps(areas: np.ndarray, gap_width: float = GAP_WIDTH_M,
              depth_ratio: float = INLET_DEPTH_RATIO) -> shapely.Geometry:
    """The parts of the city's closed outline that no area covers, for areas in a metric CRS.

    The outline is the union of the areas closed morphologically (grown by half the gap width,
    then shrunk back): that fills gaps and holes up to `gap_width` across, but also the notches of
    the outer boundary. Of what it adds, a piece counts when it is enclosed by areas (a hole) or a
    long inlet (area at least `depth_ratio` times its mouth length squared); shallow notches, and
    open water where only one bank belongs to the city, stay outside.
    """
    union = shapely.union_all(areas)
    if union.is_empty:
        return shapely.Polygon()
    radius = gap_width / 2
    outline = shapely.buffer(shapely.buffer(union, radius, quad_segs=8), -radius, quad_segs=8)
    pieces = shapely.get_parts(shapely.difference(outline, union))
    pieces = pieces[shapely.area(pieces) > 0]
    # The mouth: the part of a piece's edge that is no area's edge.
    banks = shapely.buffer(shapely.boundary(union), 0.01)
    mouths = shapely.length(shapely.difference(shapely.boundary(pieces), banks))
    enclosed = shapely.area(pieces) >= depth_ratio * mouths ** 2
    return shapely.union_all(pieces[enclosed])


def assign_areas(lat: np.ndarray, lon: np.ndarray, areas: gpd.GeoDataFrame,
                 fill_gaps: bool = True) -> np.ndarray:
    """The code of the area each point falls in, or None outside the city (or without a point).

    A point in no area but in a gap between areas (see city_gaps: a river the boundaries are
    clipped to, up to GAP_WIDTH_M wide) gets the nearest area, unless `fill_gaps` is False.
    """
    lat = np.asarray(lat, dtype="float64")
    lon = np.asarray(lon, dtype="float64")
    codes = np.full(len(lat), None, dtype=object)
    has_point = ~(np.isnan(lat) | np.isnan(lon))
    index = _area_index(areas, with_gaps=False)
    points = shapely.points(lon[has_point], lat[has_point])
    point_index, area_index = index.tree.query(points, predicate="intersects")
    # A point on a shared border touches two areas; the first (lowest code) wins, deterministically.
    order = np.lexsort((area_index, point_index))
    point_index, area_index = point_index[order], area_index[order]
    first = np.unique(point_index, return_index=True)[1]
    located = np.flatnonzero(has_point)
    codes[located[point_index[first]]] = index.codes[area_index[first]]
    unplaced = located[np.setdiff1d(np.arange(len(located)), point_index, assume_unique=True)]
    if fill_gaps and len(unplaced):
        _assign_gap_points(codes, lat, lon, unplaced, _area_index(areas, with_gaps=True))
    return codes


def _assign_gap_points(codes: np.ndarray, lat: np.ndarray, lon: np.ndarray, unplaced: np.ndarray,
                       index: _AreaIndex) -> None:
    in_gap = unplaced[shapely.contains_xy(index.gaps, lon[unplaced], lat[unplaced])]
    if not len(in_gap):
        return
    x, y = index.to_metric.transform(lon[in_gap], lat[in_gap])
    point_index, area_index = index.metric_tree.query_nearest(shapely.points(x, y))
    # Equally near areas: the first (lowest code) wins, as on a shared border.
    order = np.lexsort((area_index, point_index))
    point_index, area_index = point_index[order], area_index[order]
    first = np.unique(point_index, return_index=True)[1]
    codes[in_gap[point_index[first]]] = index.codes[area_index[first]]


def random_points_in(polygon: shapely.Geometry, count: int, rng: np.random.Generator,
                     towards: tuple[float, float] | None = None, pull: float = 0.0) -> np.ndarray:
    """`count` random (lon, lat) points inside the polygon.

    With `towards` and `pull` > 0, points nearer that (lon, lat) are more likely: candidates are
    drawn uniformly and then picked with weight exp(-pull * distance_km / 5).
    """
    min_x, min_y, max_x, max_y = polygon.bounds
    shapely.prepare(polygon)
    wanted = count * (8 if pull > 0 else 1)
    found: list[np.ndarray] = []
    total = 0
    while total < wanted:
        xs = rng.uniform(min_x, max_x, wanted * 2)
        ys = rng.uniform(min_y, max_y, wanted * 2)
        inside = shapely.contains_xy(polygon, xs, ys)
        found.append(np.column_stack([xs[inside], ys[inside]]))
        total += int(inside.sum())
    candidates = np.concatenate(found)[:wanted]
    if towards is None or pull <= 0:
        return candidates
    distance_km = np.hypot((candidates[:, 0] - towards[0]) * 69.4, (candidates[:, 1] - towards[1]) * 111.2)
    weights = np.exp(-pull * distance_km / 5)
    chosen = rng.choice(len(candidates), size=count, replace=False, p=weights / weights.sum())
    return candidates[np.sort(chosen)]
