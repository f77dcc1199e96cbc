"""Build the London pack's tube network overlay from the npm package vega-datasets.

vega-datasets carries data/londonTubeLines.json: TopoJSON of the London Underground and DLR
lines derived from OpenStreetMap (as of February 2018, processed by oobrien/vis), 394 LineString
pieces each named by its line. This script decodes it to GeoJSON with one MultiLineString per
line, so a map draws a dozen features rather than hundreds. The output is committed, so nothing
here runs at install or run time; fetch the package with `npm pack vega-datasets@3.2.1` first.

    python tools/build_tube_lines.py PACKAGE_DIR OUT_GEOJSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ATTRIBUTION = ("Tube and DLR lines © OpenStreetMap contributors, Open Database License (ODbL) v1.0; "
               "as of February 2018, processed by oobrien/vis and packaged by vega-datasets.")
LICENCE_URL = "https://opendatacommons.org/licenses/odbl/"
# The lines TfL runs as light railway rather than Underground; every other line is Underground.
LIGHT_RAIL_LINES = {"DLR"}


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """TopoJSON arcs as lists of (lon, lat): quantised, delta-encoded positions undone."""
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


def line_from_arcs(arc_ids: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    line: list[tuple[float, float]] = []
    for arc_id in arc_ids:
        # A negative id ~i means arc i walked backwards; consecutive arcs share their end point.
        points = arcs[arc_id] if arc_id >= 0 else arcs[~arc_id][::-1]
        line.extend(points if not line else points[1:])
    return [list(point) for point in line]


def lines_of(geometry: dict, arcs) -> list[list[list[float]]]:
    if geometry["type"] == "LineString":
        return [line_from_arcs(geometry["arcs"], arcs)]
    if geometry["type"] == "MultiLineString":
        return [line_from_arcs(part, arcs) for part in geometry["arcs"]]
    raise ValueError(f"unexpected geometry type {geometry['type']} (expected LineString or MultiLineString)")


def build(package_dir: Path) -> dict:
    topology = json.loads((package_dir / "data" / "londonTubeLines.json").read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    by_line: dict[str, list[list[list[float]]]] = {}
    for geometry in topology["objects"]["line"]["geometries"]:
        name = geometry.get("id")
        if not name:
            raise ValueError("a tube line geometry has no id (the line's name)")
        by_line.setdefault(name, []).extend(part for part in lines_of(geometry, arcs) if len(part) >= 2)
    features = [{
        "type": "Feature",
        "properties": {"name": name, "kind": "Light railway" if name in LIGHT_RAIL_LINES else "Underground"},
        "geometry": {"type": "MultiLineString", "coordinates": parts},
    } for name, parts in sorted(by_line.items())]
    return {
        "type": "FeatureCollection",
        "attribution": ATTRIBUTION,
        "licence": LICENCE_URL,
        "features": features,
    }


if __name__ == "__main__":
    package, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build(package), separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
