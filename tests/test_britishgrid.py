"""British National Grid -> WGS84 and WKT point parsing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citydash.ingest.britishgrid import parse_wkt_point, parse_wkt_points, to_wgs84

LONDON = Path(__file__).resolve().parents[2] / "shared" / "data" / "london"
DFT_LOCATIONS = LONDON / "transport" / "london_dft_traffic_count_locations.json"
ABOUT_TEN_METRES = 1e-4  # degrees of latitude; a little more than ten metres of longitude here


def test_a_published_grid_reference_converts_to_its_published_latitude_and_longitude():
    # DfT count point 6000 on the M1: easting 522170, northing 189100 published with the
    # GeoJSON point (-0.237934843298487, 51.58746727011841).
    lat, lon = to_wgs84(522170, 189100)
    assert float(lat) == pytest.approx(51.58746727011841, abs=ABOUT_TEN_METRES)
    assert float(lon) == pytest.approx(-0.237934843298487, abs=ABOUT_TEN_METRES)


def test_conversion_is_vectorised_and_keeps_the_order():
    eastings = np.array([522170.0, 530600.0, 551000.0])
    northings = np.array([189100.0, 185870.0, 188000.0])
    lat, lon = to_wgs84(eastings, northings)
    assert lat.shape == lon.shape == (3,)
    assert lat.dtype == lon.dtype == np.float64
    # Further east is a larger longitude; the order of the inputs is kept.
    assert lon[0] < lon[1] < lon[2]
    single = [to_wgs84(e, n) for e, n in zip(eastings, northings)]
    assert np.allclose(lat, [float(point[0]) for point in single])
    assert np.allclose(lon, [float(point[1]) for point in single])


def test_points_that_cannot_be_converted_become_nan():
    lat, lon = to_wgs84([522170.0, np.nan, 1e12], [189100.0, 189100.0, 1e12])
    assert np.isfinite(lat[0]) and np.isfinite(lon[0])
    assert np.isnan(lat[1:]).all() and np.isnan(lon[1:]).all()


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="shape"):
        to_wgs84([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("Point (519483.61075180512852967 179598.01440079271560535)", (519483.61075180512852967, 179598.01440079271560535)),
        ("POINT(530000 180000)", (530000.0, 180000.0)),
        ("  point ( -1.5e2 +2.25 ) ", (-150.0, 2.25)),
        ("POINT Z (1 2 3)", (1.0, 2.0)),
        ("POINT EMPTY", None),
        ("LINESTRING (0 0, 1 1)", None),
        ("Point (1)", None),
        ("", None),
        (None, None),
    ],
)
def test_wkt_points_are_parsed_and_anything_else_is_none(text, point):
    assert parse_wkt_point(text) == point


def test_a_column_of_wkt_points_is_parsed_at_once():
    texts = pd.Series(["Point (1 2)", "not a point", None, "POINT (3.5 -4)"], index=[10, 11, 12, 13])
    parsed = parse_wkt_points(texts)
    assert list(parsed.index) == [10, 11, 12, 13]
    assert parsed.loc[10].tolist() == [1.0, 2.0]
    assert parsed.loc[[11, 12]].isna().all().all()
    assert parsed.loc[13].tolist() == [3.5, -4.0]


def test_real_dft_grid_references_agree_with_their_published_coordinates():
    if not LONDON.exists():
        pytest.skip("../shared/data/london not present: real-sample test needs it")
    features = json.loads(DFT_LOCATIONS.read_text())["features"]
    eastings = np.array([f["properties"]["easting"] for f in features], dtype=float)
    northings = np.array([f["properties"]["northing"] for f in features], dtype=float)
    published = np.array([f["geometry"]["coordinates"] for f in features])
    lat, lon = to_wgs84(eastings, northings)
    assert len(features) == 2548
    assert np.abs(lat - published[:, 1]).max() < ABOUT_TEN_METRES
    assert np.abs(lon - published[:, 0]).max() < ABOUT_TEN_METRES
