"""British National Grid (EPSG:27700) to WGS84 (EPSG:4326), and WKT point parsing.

pyproj picks the most accurate transformation it has. Without the OSTN15 grid file
(uk_os_OSTN15_NTv2_OSGBtoETRS.tif, not shipped with pyproj's wheels) that is a
Helmert transformation good to a few metres, well inside what a borough map needs;
installing the grid makes the same call exact to OSTN15 without any code change.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pyproj import Transformer

BRITISH_NATIONAL_GRID = "EPSG:27700"
WGS84 = "EPSG:4326"

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# "POINT (x y)", any case, optional Z/M/ZM coordinates after x and y (ignored).
WKT_POINT_PATTERN = re.compile(
    rf"^\s*POINT\s*(?:ZM|Z|M)?\s*\(\s*(?P<x>{_NUMBER})\s+(?P<y>{_NUMBER})(?:\s+{_NUMBER}){{0,2}}\s*\)\s*$",
    re.IGNORECASE,
)


@cache
def _grid_to_wgs84() -> Transformer:
    # always_xy: take (easting, northing) and give (lon, lat) whatever the CRS axis order says.
    return Transformer.from_crs(BRITISH_NATIONAL_GRID, WGS84, always_xy=True)


def to_wgs84(easting: ArrayLike, northing: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(latitude, longitude) in WGS84 for British National Grid eastings and northings.

    Vectorised: takes scalars or arrays of the same shape and returns float64 arrays.
    A point that cannot be converted (NaN input, far outside the grid) gives NaN, never inf.
    """
    x = np.asarray(easting, dtype="float64")
    y = np.asarray(northing, dtype="float64")
    if x.shape != y.shape:
        raise ValueError(f"easting has shape {x.shape} but northing has shape {y.shape}")
    lon, lat = _grid_to_wgs84().transform(x, y)
    lat = np.asarray(lat, dtype="float64")
    lon = np.asarray(lon, dtype="float64")
    # PROJ reports failures as inf (HUGE_VAL); the contract wants missing as NaN.
    unconverted = ~(np.isfinite(lat) & np.isfinite(lon))
    return np.where(unconverted, np.nan, lat), np.where(unconverted, np.nan, lon)


def parse_wkt_point(text: str | None) -> tuple[float, float] | None:
    """(x, y) of a WKT POINT such as "Point (519483.6 179598.0)", or None if it is not one."""
    if not isinstance(text, str):
        return None
    match = WKT_POINT_PATTERN.match(text)
    if match is None:
        return None
    return float(match["x"]), float(match["y"])


def parse_wkt_points(texts: pd.Series) -> pd.DataFrame:
    """Columns x and y (float64) for a column of WKT POINT texts; NaN where a text is not a point."""
    parts = texts.astype("str").str.extract(WKT_POINT_PATTERN.pattern, flags=WKT_POINT_PATTERN.flags)
    return pd.DataFrame(
        {
            "x": pd.to_numeric(parts["x"], errors="coerce").astype("float64"),
            "y": pd.to_numeric(parts["y"], errors="coerce").astype("float64"),
        },
        index=texts.index,
    )
