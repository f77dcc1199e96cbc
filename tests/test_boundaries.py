"""The shipped borough boundaries: complete, small, valid, and where the reference says."""


import geopandas as gpd
import numpy as np
import pyproj
import shapely

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


# Boundaries clipped to a river bank: the river between areas is inside the city, outside it is not.
# Literal squares built in metres (UTM 30N, near London) and turned into WGS84, as boundaries ship.
UTM30N = "EPSG:32630"
X0, Y0 = 690_000, 5_700_000


def _square_areas() -> gpd.GeoDataFrame:
    """West (A) and east (B), 5 km x 10 km, with a 300 m wide river between them open at both ends.
    A has a lake (200 m, enclosed) and a shallow notch in its outer edge (400 m wide, 300 m deep);
    B has an enclave that is not part of the city (2 km across)."""
    def box(x1, y1, x2, y2):
        return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)
    west = box(0, 0, 5000, 10_000).difference(box(2000, 2000, 2200, 2200)).difference(box(0, 4800, 300, 5200))
    east = box(5300, 0, 10_300, 10_000).difference(box(7000, 4000, 9000, 6000))
    frame = gpd.GeoDataFrame({"code": ["A", "B"], "name": ["West", "East"], "group": ["x", "x"],
                              "area_ha": [0.0, 0.0]}, geometry=[west, east], crs=UTM30N)
    return frame.to_crs(4326)


def _assign(points_m: list[tuple[float, float]], **options) -> list:
    lon, lat = pyproj.Transformer.from_crs(UTM30N, 4326, always_xy=True).transform(
        [X0 + x for x, _ in points_m], [Y0 + y for _, y in points_m])
    return list(assign_areas(np.array(lat), np.array(lon), _square_areas(), **options))


def test_a_point_in_the_river_between_two_areas_gets_the_nearer_one():
    assert _assign([(5100, 5000), (5250, 5000), (5150, 200), (5150, 9800)]) == ["A", "B", "A", "A"]
    assert _assign([(5100, 5000), (5250, 5000)], fill_gaps=False) == [None, None]


def test_an_enclosed_lake_is_inside_but_an_enclave_is_not():
    assert _assign([(2100, 2100), (8000, 5000), (7100, 5000)]) == ["A", None, None]


def test_nothing_beyond_the_outer_boundary_is_admitted():
    # Beyond the river's mouths, off the outer edges, and in a shallow notch of the outer edge
    # (the closed outline covers it, but it is a bay of the outside, not a river between areas).
    outside = [(5150, -300), (5150, 10_300), (5150, -50), (-100, 5000), (10_400, 5000), (150, 5000)]
    assert _assign(outside) == [None] * len(outside)


def test_the_shipped_boundaries_place_the_river_and_leave_the_outside_out():
    areas = load_areas(BOUNDARIES)
    points = {
        "mid-river at Westminster Bridge": (51.5008, -0.1219),
        "the river at Erith, London on both banks": (51.4870, 0.1800),
        "the river at the Dartford crossing, outside London": (51.4650, 0.2600),
        "Grange Hill station, 6 m outside the outer edge": (51.61317, 0.09249),
        "Roding Valley station, 88 m outside": (51.61716, 0.04386),
    }
    lat, lon = np.array(list(points.values())).T
    assert list(assign_areas(lat, lon, areas, fill_gaps=False)) == [None] * 5
    codes = list(assign_areas(lat, lon, areas))
    assert codes[0] in {"E09000033", "E09000022"}  # Westminster or Lambeth, whichever bank is nearer
    assert codes[1:] == ["E09000004", None, None, None]  # Bexley


def test_filling_gaps_only_places_points_that_were_in_no_area():
    areas = load_areas(BOUNDARIES)
    min_x, min_y, max_x, max_y = areas.total_bounds
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(min_x, max_x, 200_000), rng.uniform(min_y, max_y, 200_000)
    strict = assign_areas(lat, lon, areas, fill_gaps=False)
    filled = assign_areas(lat, lon, areas)
    inside = strict != None  # noqa: E711
    assert (filled[inside] == strict[inside]).all()
    newly_placed = (filled != None) & ~inside  # noqa: E711
    # The river and the other gaps are a sliver of the city, which fills ~60% of its bounding box.
    assert 0 < newly_placed.mean() < 0.01 and 0.55 < inside.mean() < 0.65


def test_geojson_boundaries_read_without_gdal_equal_what_gdal_reads(tmp_path):
    ours = load_areas(BOUNDARIES)
    gdal = gpd.read_file(BOUNDARIES)[ours.columns].sort_values("code").reset_index(drop=True)
    assert ours.crs == gdal.crs == "EPSG:4326"
    assert ours.drop(columns="geometry").equals(gdal.drop(columns="geometry"))
    assert ours.geometry.geom_equals_exact(gdal.geometry, 0).all()
    # Any other format still goes through GDAL.
    packed = tmp_path / "areas.gpkg"
    gdal.to_file(packed, driver="GPKG")
    assert load_areas(packed).drop(columns="geometry").equals(ours.drop(columns="geometry"))
