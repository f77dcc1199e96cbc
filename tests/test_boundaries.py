"""The shipped borough boundaries: complete, small, valid, and where the reference says."""

import geopandas as gpd

from citydash.geo import assign_areas, load_areas
from conftest import BOUNDARIES, BROMLEY, CAMDEN, PARIS, WESTMINSTER, require_shared


def test_all_33_boroughs_with_gss_codes_small_and_valid():
    areas = load_areas(BOUNDARIES)
    assert list(areas["code"]) == [f"E090000{n:02d}" for n in range(1, 34)]
    assert areas.geometry.is_valid.all()
    assert set(areas["group"]) == {"inner", "outer"}
    assert BOUNDARIES.stat().st_size < 300_000


def test_points_get_their_borough_and_outsiders_none():
    areas = load_areas(BOUNDARIES)
    codes = assign_areas([CAMDEN[0], BROMLEY[0], WESTMINSTER[0], PARIS[0], float("nan")],
                         [CAMDEN[1], BROMLEY[1], WESTMINSTER[1], PARIS[1], 0.0], areas)
    assert list(codes) == ["E09000007", "E09000006", "E09000033", None, None]


def test_each_reference_centroid_falls_inside_the_shipped_polygon():
    reference = gpd.read_file(require_shared() / "boundaries" / "London_Borough_Excluding_MHW.geojson")
    centroids = reference.to_crs(27700).geometry.centroid.to_crs(4326)
    codes = assign_areas(centroids.y.to_numpy(), centroids.x.to_numpy(), load_areas(BOUNDARIES))
    assert list(codes) == list(reference["GSS_CODE"])
    shipped = load_areas(BOUNDARIES).set_index("code")["name"]
    assert all(shipped[code] == name for code, name in zip(reference["GSS_CODE"], reference["NAME"]))
