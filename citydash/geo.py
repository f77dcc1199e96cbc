"""Area boundaries and point-in-polygon assignment."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

AREA_COLUMNS = ["code", "name", "group", "area_ha"]


@lru_cache(maxsize=4)
def load_areas(path: Path) -> gpd.GeoDataFrame:
    """The city's areas (boroughs): code, name, group, area_ha and geometry, WGS84."""
    areas = gpd.read_file(path)
    missing = [column for column in AREA_COLUMNS if column not in areas.columns]
    if missing:
        raise ValueError(f"{path}: boundary features lack properties {missing}")
    return areas[AREA_COLUMNS + ["geometry"]].sort_values("code").reset_index(drop=True)


@lru_cache(maxsize=4)
def areas_geojson(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def assign_areas(lat: np.ndarray, lon: np.ndarray, areas: gpd.GeoDataFrame) -> np.ndarray:
    """The code of the area each point falls in, or None outside every area (or without a point)."""
    lat = np.asarray(lat, dtype="float64")
    lon = np.asarray(lon, dtype="float64")
    codes = np.full(len(lat), None, dtype=object)
    has_point = ~(np.isnan(lat) | np.isnan(lon))
    points = shapely.points(lon[has_point], lat[has_point])
    tree = shapely.STRtree(areas.geometry.values)
    point_index, area_index = tree.query(points, predicate="intersects")
    # A point on a shared border touches two areas; the first (lowest code) wins, deterministically.
    order = np.lexsort((area_index, point_index))
    point_index, area_index = point_index[order], area_index[order]
    first = np.unique(point_index, return_index=True)[1]
    located = np.flatnonzero(has_point)
    codes[located[point_index[first]]] = areas["code"].to_numpy()[area_index[first]]
    return codes


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
