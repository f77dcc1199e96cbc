"""The Environment page: its builders on literal rows, its catalogue settings, the LondonAir ingest
command, and the page itself under AppTest on the demo, on the real LondonAir sample and with the
real ULEZ boundary."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from citydash import environment as env
from citydash.airquality import load_daqi
from citydash.catalog import CatalogError, load_catalog
from conftest import PACK, REPO, require_shared, section_opener

ENTRY = REPO / "tests" / "apptest" / "entry.py"
PAGE = REPO / "pages" / "environment.py"
CATALOG = load_catalog(PACK)
DAQI = load_daqi(PACK / "catalog.toml")
NO2 = CATALOG.metric("air_quality", "no2")
LAQN_FIXTURES = REPO / "tests" / "fixtures" / "laqn"
REAL_SAMPLE = ("air-quality", "laqn_api_2026-03-01_06.json")
ULEZ = ("zones", "london_ultralowemissionzone_ulez_2021.json")

# ---------------------------------------------------------------------------------
# Colours: the official DAQI scale is not distinguishable enough for colour-blind readers;
# the banded palette is. Simulation: Machado, Oliveira and Fernandes (2009), severity 1.

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
OFFICIAL_DAQI = ["#9CFF9C", "#31FF00", "#31CF00", "#FFFF00", "#FFCF00", "#FF9A00", "#FF6464", "#FF0000", "#990000",
                 "#CE30FF"]
DISTINGUISHABLE = 10.0  # CIEDE2000 units between any two index colours


def _lab(rgb: np.ndarray, vision: str) -> np.ndarray:
    channels = rgb / 255.0
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    if vision != "normal":
        linear = np.clip(linear @ np.array(MACHADO[vision]).T, 0, 1)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def _ciede2000(first: np.ndarray, second: np.ndarray) -> float:
    (l1, a1, b1), (l2, a2, b2) = first, second
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dh = h2p - h1p
    dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    dh = 0 if c1p * c2p == 0 else dh
    d_big_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_mean = (h1p + h2p + 360) / 2 if abs(h1p - h2p) > 180 else (h1p + h2p) / 2
    h_mean = h1p + h2p if c1p * c2p == 0 else h_mean
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    rotation = -np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2)))) * 2 * np.sqrt(
        cp_mean ** 7 / (cp_mean ** 7 + 25 ** 7))
    return float(np.sqrt(((l2 - l1) / s_l) ** 2 + ((c2p - c1p) / s_c) ** 2 + (d_big_h / s_h) ** 2
                         + rotation * ((c2p - c1p) / s_c) * (d_big_h / s_h)))


def smallest_difference(palette: list[tuple[int, int, int]]) -> float:
    """The smallest CIEDE2000 difference between two colours, over normal and three CVD visions."""
    smallest = float("inf")
    for vision in ("normal", *MACHADO):
        lab = _lab(np.array(palette, dtype=float), vision)
        for i in range(len(lab)):
            for j in range(i + 1, len(lab)):
                smallest = min(smallest, _ciede2000(lab[i], lab[j]))
    return smallest


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def test_the_ciede2000_helper_matches_a_published_pair():
    # Sharma, Wu and Dalal (2005), test pair 1: L*a*b* (50, 2.6772, -79.7751) vs (50, 0, -82.7485).
    assert _ciede2000(np.array([50, 2.6772, -79.7751]), np.array([50, 0, -82.7485])) == pytest.approx(2.0425, abs=1e-3)


def test_the_official_daqi_colours_are_not_distinguishable_enough_so_they_are_not_used():
    official = [_rgb(colour) for colour in OFFICIAL_DAQI]
    assert smallest_difference(official) < DISTINGUISHABLE
    assert not set(official) & set(env.INDEX_PALETTE)


def test_the_banded_palette_is_distinguishable_with_every_common_colour_vision_deficiency():
    assert len(env.INDEX_PALETTE) == 10
    assert smallest_difference(list(env.INDEX_PALETTE)) >= DISTINGUISHABLE


def test_every_index_number_is_printed_in_a_readable_colour():
    for colour in env.INDEX_PALETTE:
        assert env.contrast_ratio(colour, env.text_colour(colour)) >= 4.5


def test_bands_take_the_colour_of_an_index_inside_them():
    for band in DAQI.bands:
        assert env.band_colour(band) in env.INDEX_PALETTE[band.first - 1:band.last]


# ---------------------------------------------------------------------------------
# Site types


@pytest.mark.parametrize("kind, site_class, grade", [
    ("Roadside", env.ROADSIDE, env.REFERENCE_GRADE),
    ("Kerbside", env.ROADSIDE, env.REFERENCE_GRADE),
    ("Urban Background", env.BACKGROUND, env.REFERENCE_GRADE),
    ("Suburban", env.BACKGROUND, env.REFERENCE_GRADE),
    ("Industrial", env.OTHER, env.REFERENCE_GRADE),
    (None, env.OTHER, env.REFERENCE_GRADE),
    ("Roadside low-cost sensor", env.ROADSIDE, env.LOW_COST),
    ("Breathe London sensor", env.OTHER, env.LOW_COST),
    ("Low Cost background", env.BACKGROUND, env.LOW_COST),
])
def test_the_kind_text_decides_class_and_grade(kind, site_class, grade):
    assert env.site_class(kind) == site_class
    assert env.sensor_grade(kind) == grade


# ---------------------------------------------------------------------------------
# DAQI frames on literal rows

SITES = pd.DataFrame([
    {"entity_id": "R1", "name": "Camden Road", "kind": "Roadside", "lat": 51.539, "lon": -0.1426,
     "borough_code": "E09000007", "borough_name": "Camden"},
    {"entity_id": "B1", "name": "Camden Park", "kind": "Urban Background", "lat": 51.545, "lon": -0.150,
     "borough_code": "E09000007", "borough_name": "Camden"},
    {"entity_id": "S1", "name": "Bromley Town", "kind": "Suburban", "lat": 51.37, "lon": 0.05,
     "borough_code": "E09000006", "borough_name": "Bromley"},
    {"entity_id": "L1", "name": "Camden sensor", "kind": "Roadside low-cost sensor", "lat": 51.54, "lon": -0.14,
     "borough_code": "E09000007", "borough_name": "Camden"},
])
BOROUGHS = pd.DataFrame({"borough_code": ["E09000006", "E09000007"], "borough_name": ["Bromley", "Camden"]})


def daily_rows(*rows: tuple) -> pd.DataFrame:
    """air_site_daily_index rows from (entity_id, borough_code, "YYYY-MM-DD", metric, index, pollutant)."""
    return pd.DataFrame([{"entity_id": entity_id, "borough_code": borough, "day": pd.Timestamp(day), "metric": metric,
                          "daqi_index": index, "concentration": float(index * 10), "pollutant": pollutant}
                         for entity_id, borough, day, metric, index, pollutant in rows])


DAILY = daily_rows(
    ("R1", "E09000007", "2026-03-01", "daqi", 4, "no2"), ("R1", "E09000007", "2026-03-01", "no2", 4, "no2"),
    ("R1", "E09000007", "2026-03-02", "daqi", 7, "pm25"), ("R1", "E09000007", "2026-03-03", "daqi", 7, "o3"),
    ("B1", "E09000007", "2026-03-01", "daqi", 2, "o3"), ("B1", "E09000007", "2026-03-02", "daqi", 8, "pm10"),
    ("S1", "E09000006", "2026-03-01", "daqi", 1, "o3"), ("S1", "E09000006", "2026-03-02", "daqi", 10, "pm25"),
    ("S1", "E09000006", "2026-03-03", "daqi", 3, "no2"),
)


def test_site_period_index_takes_each_sites_highest_day_and_keeps_sites_without_one():
    frame = env.site_period_index(DAILY, SITES, DAQI).set_index("entity_id")
    assert list(frame.index) == ["S1", "B1", "R1", "L1"]
    assert frame.loc["R1", "max_index"] == 7 and frame.loc["R1", "band"] == "High"
    assert frame.loc["R1", "day"] == date(2026, 3, 2) and frame.loc["R1", "pollutant"] == "pm25"
    assert frame.loc["R1", "days_with_index"] == 3
    assert frame.loc["S1", "band"] == "Very High"
    assert pd.isna(frame.loc["L1", "max_index"]) and frame.loc["L1", "days_with_index"] == 0
    assert frame.loc["L1", "grade"] == env.LOW_COST and frame.loc["B1", "site_class"] == env.BACKGROUND


def test_band_days_count_each_boroughs_highest_site_per_day_in_every_band():
    frame = env.band_days(DAILY, BOROUGHS, DAQI)
    days = frame.set_index(["borough_name", "band"])["days"]
    # Camden: 1 Mar max(4, 2) = 4, 2 Mar max(7, 8) = 8, 3 Mar 7. Bromley: 1, 10, 3.
    assert days[("Camden", "Moderate")] == 1 and days[("Camden", "High")] == 2 and days[("Camden", "Low")] == 0
    assert days[("Bromley", "Low")] == 2 and days[("Bromley", "Very High")] == 1
    assert len(frame) == 2 * len(DAQI.bands)
    assert frame.groupby("borough_name")["share"].sum().round(9).eq(1).all()
    assert frame["borough_name"].iloc[0] == "Camden", "most days above Low first"
    assert env.band_days(DAILY.iloc[0:0], BOROUGHS, DAQI).empty


def test_index_summary_names_the_highest_site_and_counts_borough_days():
    site_index = env.site_period_index(DAILY, SITES, DAQI)
    summary = env.index_summary(site_index, env.band_days(DAILY, BOROUGHS, DAQI), DAQI)
    assert (summary.highest, summary.band.name, summary.site_name) == (10, "Very High", "Bromley Town")
    assert (summary.sites_with_index, summary.sites) == (3, 4)
    assert (summary.borough_days, summary.borough_days_above_low) == (6, 4)
    empty = env.index_summary(env.site_period_index(DAILY.iloc[0:0], SITES, DAQI),
                              env.band_days(DAILY.iloc[0:0], BOROUGHS, DAQI), DAQI)
    assert empty.highest is None and empty.sites == 4


def test_the_advice_table_has_both_texts_for_every_band():
    table = env.advice_table(DAQI)
    assert list(table["band"]) == ["Low", "Moderate", "High", "Very High"]
    assert list(table["indices"]) == ["1-3", "4-6", "7-9", "10"]
    assert table["advice_general"].str.len().gt(20).all() and table["advice_at_risk"].str.len().gt(20).all()
    assert "reliever inhaler" in table.set_index("band").loc["Very High", "advice_at_risk"]


def test_query_parameters_carry_the_catalogue_method():
    params = env.daqi_query_params(DAQI)
    assert params["averaging"] == ["no2=1", "o3=8", "pm25=24", "pm10=24"]
    assert params["upper_bounds"][0] == "no2=67,134,200,267,334,400,467,534,600"
    assert params["min_coverage"] == 0.75


# ---------------------------------------------------------------------------------
# Pollutant frames

BOROUGH_DAILY = pd.DataFrame([
    {"borough_code": code, "borough_name": name, "day": pd.Timestamp(day), "metric": "no2",
     "value": total / readings, "total": total, "readings": readings, "sites": sites}
    for code, name, day, total, readings, sites in [
        ("E09000007", "Camden", "2026-03-01", 400.0, 10, 1), ("E09000007", "Camden", "2026-03-02", 300.0, 10, 1),
        ("E09000006", "Bromley", "2026-03-01", 100.0, 20, 2), ("E09000006", "Bromley", "2026-03-02", 60.0, 20, 2),
    ]
])


def test_trend_lines_are_per_borough_until_there_are_too_many_then_one_weighted_line():
    per_borough = env.trend_by_scope(BOROUGH_DAILY, "no2", max_lines=2, everyone_label="All")
    assert set(per_borough["scope"]) == {"Camden", "Bromley"} and len(per_borough) == 4
    together = env.trend_by_scope(BOROUGH_DAILY, "no2", max_lines=1, everyone_label="All 2 selected")
    assert list(together["scope"].unique()) == ["All 2 selected"]
    assert together["value"].tolist() == pytest.approx([500 / 30, 360 / 30])
    assert env.trend_by_scope(BOROUGH_DAILY, "o3", 2, "All").empty


def test_period_means_weight_every_reading():
    means = env.period_means(BOROUGH_DAILY, "no2").set_index("borough_name")
    assert means.loc["Camden", "value"] == pytest.approx(35) and means.loc["Bromley", "value"] == pytest.approx(4)
    assert means.index[0] == "Camden"


SITE_TYPES = pd.DataFrame([
    {"kind": kind, "day": pd.Timestamp("2026-03-01"), "metric": "no2", "value": total / readings, "total": total,
     "readings": readings, "sites": sites}
    for kind, total, readings, sites in [("Roadside", 600.0, 10, 1), ("Kerbside", 900.0, 10, 1),
                                         ("Urban Background", 200.0, 10, 1), ("Suburban", 100.0, 10, 1),
                                         ("Industrial", 50.0, 1, 1)]
])


def test_site_classes_pool_kinds_and_the_sentence_compares_roadside_with_background():
    classes = env.class_daily(SITE_TYPES, "no2").set_index("site_class")
    assert classes.loc[env.ROADSIDE, "value"] == pytest.approx(75)
    assert classes.loc[env.BACKGROUND, "value"] == pytest.approx(15)
    assert classes.loc[env.OTHER, "value"] == pytest.approx(50)
    assert list(classes.index) == list(env.SITE_CLASSES)
    sentence = env.class_sentence(env.class_means(SITE_TYPES, "no2"), NO2)
    assert "75.0 µg/m³" in sentence and "15.0 µg/m³" in sentence and "+400%" in sentence


def test_weekday_hour_table_has_seven_days_by_24_hours():
    frame = pd.DataFrame({"weekday": [1, 7], "hour": [8, 23], "value": [40.0, 12.0], "readings": [2, 1]})
    table = env.weekday_hour_table(frame)
    assert table.shape == (7, 24)
    assert table.loc["Monday", 8] == 40 and table.loc["Sunday", 23] == 12 and np.isnan(table.loc["Tuesday", 0])
    assert "highest on Mondays at 08:00" in env.heatmap_sentence(table, NO2)
    figure = env.weekday_hour_heatmap(table, NO2)
    printed = dict(zip(zip(figure.data[1].x, figure.data[1].y), figure.data[1].text))
    assert printed == {("Mon", "08:00"): "40", ("Sun", "23:00"): "12"}


def test_hours_above_flags_sites_over_the_allowance():
    limit = env.HourlyLimit("no2", 200, 18, "test")
    frame = env.hours_above(pd.DataFrame({
        "entity_id": ["A", "B", "C"], "name": ["A", "B", "C"], "year": [2026] * 3,
        "hours_above": [19, 18, 0], "hours_measured": [8000] * 3, "highest": [400.0, 250.0, 150.0]}), 18)
    assert frame["over_allowance"].tolist() == [True, False, False]
    assert "2 sites had at least one hour above 200" in env.hours_above_sentence(frame, limit, "µg/m³")
    assert "1 site had more than the 18 hours" in env.hours_above_sentence(frame, limit, "µg/m³")
    figure = env.hours_above_chart(frame, limit, "µg/m³")
    assert list(figure.data[0].x) == [18, 19], "sites without an hour above are left to the table"
    assert figure.layout.shapes[0].x0 == 18
    quiet = env.hours_above(frame.assign(hours_above=0), 18)
    assert "No site had an hour above 200" in env.hours_above_sentence(quiet, limit, "µg/m³")


# ---------------------------------------------------------------------------------
# Zones


def test_zone_comparison_averages_site_means_inside_and_outside_by_class(tmp_path):
    square = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[-0.2, 51.5], [-0.1, 51.5], [-0.1, 51.6], [-0.2, 51.6], [-0.2, 51.5]]]}}]}
    path = tmp_path / "zone.geojson"
    path.write_text(json.dumps(square))
    zone = env.load_zone(path)
    means = SITES.assign(metric="no2", value=[60.0, 20.0, 10.0, 40.0], readings=10, days=1)
    assert env.zone_membership(means, zone).tolist() == [True, True, False, True]
    frame = env.zone_comparison(means, zone).set_index(["site_class", "zone"])
    assert frame.loc[(env.ROADSIDE, env.INSIDE), "value"] == pytest.approx(50)
    assert frame.loc[(env.ROADSIDE, env.INSIDE), "sites"] == 2
    assert frame.loc[(env.BACKGROUND, env.OUTSIDE), "value"] == pytest.approx(10)
    sentence = env.zone_sentence(env.zone_comparison(means, zone), NO2, "Test zone")
    assert "roadside or kerbside sites are all inside the zone (2 sites, 50.0 µg/m³)" in sentence
    assert "background sites averaged 20.0 µg/m³ inside (1 site) and 10.0 µg/m³ outside (1 site)" in sentence


def test_a_zone_file_without_polygons_is_refused_naming_it(tmp_path):
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "Point", "coordinates": [0, 51]}))
    with pytest.raises(ValueError, match="points.geojson: the zone file has no polygons"):
        env.load_zone(path)
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="broken.geojson: cannot read"):
        env.load_zone(broken)
    listed = tmp_path / "list.geojson"
    listed.write_text("[1, 2]")
    with pytest.raises(ValueError, match="list.geojson: the zone file is not a GeoJSON object"):
        env.load_zone(listed)
    bad_ring = tmp_path / "bad_ring.geojson"
    bad_ring.write_text(json.dumps({"type": "Polygon", "coordinates": [[[0, 51], "north"]]}))
    with pytest.raises(ValueError, match="bad_ring.geojson: a polygon in the zone file is not valid"):
        env.load_zone(bad_ring)


def test_the_real_ulez_boundary_holds_central_but_not_outer_london():
    zone = env.load_zone(require_shared().joinpath(*ULEZ))
    sites = pd.DataFrame({"lat": [51.5390, 51.5120, 51.3700, 51.4526], "lon": [-0.1426, -0.1400, 0.0500, 0.0708]})
    # Camden, Westminster, Bromley, Eltham (outside the 2021 zone, inside the South Circular's reach).
    assert env.zone_membership(sites, zone).tolist() == [True, True, False, False]
    assert isinstance(zone, shapely.MultiPolygon | shapely.Polygon)


# ---------------------------------------------------------------------------------
# Catalogue settings


def test_the_pack_names_the_reference_values_the_hourly_limit_and_the_ulez():
    settings = env.load_environment_settings(PACK, CATALOG.licences)
    values = {(reference.metric, reference.averaging, reference.label): reference.value
              for metric in ("no2", "pm25", "pm10", "o3") for reference in settings.references_for(metric)}
    assert values[("no2", "annual mean", "UK legal limit")] == 40
    assert values[("no2", "annual mean", "WHO 2021 guideline")] == 10
    assert values[("no2", "24-hour mean", "WHO 2021 guideline")] == 25
    assert values[("pm25", "annual mean", "WHO 2021 guideline")] == 5
    assert values[("pm25", "24-hour mean", "WHO 2021 guideline")] == 15
    assert values[("pm10", "annual mean", "WHO 2021 guideline")] == 15
    assert values[("pm10", "24-hour mean", "WHO 2021 guideline")] == 45
    assert values[("o3", "8-hour mean", "WHO 2021 guideline")] == 100
    assert 60 in [value for (metric, _, _), value in values.items() if metric == "o3"]
    assert settings.hourly_limit == env.HourlyLimit("no2", 200, 18, "Air Quality Standards Regulations 2010")
    ulez = settings.zones["ulez"]
    assert ulez.path == PACK / "zones" / "ulez.geojson" and ulez.licence.id == "tfl"
    assert "TfL" in ulez.attribution


def _pack_with(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "pack"
    (folder / "catalog.d").mkdir(parents=True)
    shutil.copy(PACK / "catalog.toml", folder / "catalog.toml")
    (folder / "catalog.d" / "extra.toml").write_text(extra, encoding="utf-8")
    return folder


@pytest.mark.parametrize("extra, problem", [
    ('[[air_references.no2]]\nlabel = "x"\naveraging = "annual mean"\nvalue = "forty"\n', "value must be a number"),
    ('[[air_references.no2]]\naveraging = "annual mean"\nvalue = 40\n', "missing required text field 'label'"),
    ('[air_hourly_limit]\nmetric = "no2"\nvalue = 200\nallowed_hours_per_year = -1\n', "allowed_hours_per_year"),
    ('[zones.ulez]\npath = "z.geojson"\ntitle = "Z"\nlicence = "nope"\n', "licence 'nope' is not defined"),
    ("[zones.ulez\n", "not valid TOML"),
])
def test_bad_settings_are_refused_naming_the_file_and_entry(tmp_path, extra, problem):
    folder = _pack_with(tmp_path, extra)
    with pytest.raises(CatalogError, match="extra.toml") as caught:
        env.load_environment_settings(folder, CATALOG.licences)
    assert problem in str(caught.value)


def test_zone_paths_are_relative_to_the_pack_unless_absolute(tmp_path):
    folder = _pack_with(tmp_path, '[zones.a]\npath = "zones/a.geojson"\ntitle = "A"\n'
                                  '[zones.b]\npath = "/somewhere/b.geojson"\ntitle = "B"\n')
    zones = env.load_environment_settings(folder, CATALOG.licences).zones
    assert zones["a"].path == folder / "zones" / "a.geojson" and not zones["a"].available()
    assert zones["b"].path == Path("/somewhere/b.geojson") and zones["b"].licence is None


def test_the_zones_section_is_there_only_when_the_pack_names_a_zone(tmp_path):
    london = env.load_environment_settings(PACK, CATALOG.licences)
    assert env.section_labels(london) == ["Monitoring sites", "Trends", "Time of day", "Zones"]
    assert not london.zones["ulez"].available(), "a named zone whose file is absent keeps its section"
    without_zones = env.load_environment_settings(_pack_with(tmp_path, ""), CATALOG.licences)
    assert env.section_labels(without_zones) == ["Monitoring sites", "Trends", "Time of day"]


def test_settings_are_read_again_when_a_pack_file_is_edited_added_or_removed(tmp_path):
    reference = '[[air_references.no2]]\nlabel = "Local target"\naveraging = "annual mean"\nvalue = {}\n'
    folder = _pack_with(tmp_path, reference.format(33))
    values = lambda: {ref.value for ref in env.load_environment_settings(folder, CATALOG.licences).references["no2"]}
    assert 33 in values() and values() == values()
    (folder / "catalog.d" / "extra.toml").write_text(reference.format(31.5), encoding="utf-8")
    assert 31.5 in values() and 33 not in values()
    (folder / "catalog.d" / "more.toml").write_text(reference.format(12), encoding="utf-8")
    assert {31.5, 12} <= values()
    (folder / "catalog.d" / "more.toml").unlink()
    assert 12 not in values()


# ---------------------------------------------------------------------------------
# Datasets and the map


def test_real_datasets_come_before_synthetic_ones_and_win_by_default():
    metrics = [metric for dataset_id in ("air_quality", "laqn", "stations")
               for metric in CATALOG.datasets[dataset_id].metrics]
    options = env.daqi_datasets(metrics, CATALOG.datasets)
    assert [dataset.id for dataset in options] == ["laqn", "air_quality"]
    assert env.default_dataset(options, "air_quality").id == "laqn"
    assert env.default_dataset(options[1:], "stations").id == "air_quality"
    pollutants = env.daqi_pollutants(CATALOG.datasets["laqn"], DAQI)
    assert [metric.id for metric in pollutants] == ["no2", "o3", "pm25", "pm10"]


def test_periods_overlap_only_when_they_share_a_day():
    assert env.overlaps(date(2026, 3, 1), date(2026, 3, 6), date(2026, 3, 6), date(2026, 4, 1))
    assert not env.overlaps(date(2026, 3, 1), date(2026, 3, 6), date(2026, 3, 7), date(2026, 4, 1))
    assert not env.overlaps(None, None, date(2026, 3, 1), date(2026, 3, 2))


def test_the_map_colours_each_site_by_its_index_prints_the_number_and_draws_sensors_as_rings():
    site_index = env.site_period_index(DAILY, SITES, DAQI)
    areas = {"type": "FeatureCollection", "features": []}
    deck = json.loads(env.site_map(site_index, CATALOG.city.map_view, DAQI, areas).to_json())
    layers = {layer["id"]: layer for layer in deck["layers"]}
    reference_rows = [row for layer_id, layer in layers.items() if layer_id.startswith("sites-reference")
                      for row in layer["data"]]
    assert {row["name"]: tuple(row["fill"][:3]) for row in reference_rows} == {
        "Camden Road": env.INDEX_PALETTE[6], "Camden Park": env.INDEX_PALETTE[7], "Bromley Town": env.INDEX_PALETTE[9]}
    ring_layers = [layer for layer_id, layer in layers.items() if layer_id.startswith("sites-low-cost")]
    assert len(ring_layers) == 1 and ring_layers[0]["lineWidthMinPixels"] == 3
    assert ring_layers[0]["data"][0]["index_text"] == "no index"
    sizes = {env.site_class(layer["data"][0]["kind"]): layer["radiusMinPixels"] for layer_id, layer in layers.items()
             if layer_id.startswith("sites-reference")}
    assert sizes[env.ROADSIDE] > sizes[env.BACKGROUND]
    name_at = {tuple(row["position"]): row["name"] for row in reference_rows}
    numbers = {name_at[tuple(row["position"])]: row["number"] for row in layers["site-numbers"]["data"]}
    assert numbers == {"Camden Road": "7", "Camden Park": "8", "Bromley Town": "10"}
    # Each layer carries what it draws and its tooltip says, no more: at 200M the whole record of every
    # site in every layer made this map 1,650 KB.
    assert all(set(row) == {"position", "number", "text_rgb"} for row in layers["site-numbers"]["data"])
    tooltip_fields = set(re.findall(r"{(\w+)}", env.SITE_TOOLTIP))
    assert all(set(row) == tooltip_fields | {"position", "fill"} for row in reference_rows)
    assert all(set(row) == tooltip_fields | {"position", "ring"} for row in ring_layers[0]["data"])
    tooltip = env.site_map(site_index, CATALOG.city.map_view, DAQI, areas)._tooltip
    assert "html" not in tooltip and "{index_text}" in tooltip["text"]


def test_the_map_legend_shows_every_index_colour_with_its_number_and_the_site_symbols():
    legend = env.site_map_legend_html(DAQI, has_missing=True)
    for index, colour in enumerate(env.INDEX_PALETTE, start=1):
        assert env.hex_colour(colour) in legend and f">{index}</span>" in legend
    for words in ("Low", "Very High", env.ROADSIDE, env.BACKGROUND, env.LOW_COST, "no index"):
        assert words in legend
    assert "<svg" not in legend, "st.html strips inline SVG"


def test_the_map_sentence_says_what_the_colours_show():
    site_index = env.site_period_index(DAILY, SITES, DAQI)
    sentence = env.site_map_sentence(site_index, DAQI, "boroughs")
    assert sentence.startswith("3 of 4 monitoring sites")
    assert "10 (Very High) at Bromley Town (Bromley) on 02 Mar 2026, set by PM25" in sentence
    assert "1 site had too few readings" in sentence


def test_the_map_shades_and_outlines_the_selected_areas_without_moving_its_view():
    site_index = env.site_period_index(DAILY, SITES, DAQI)
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    areas = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square, "properties": {"code": code}} for code in ("E09000007", "E09000006")]}
    views, shading = [], []
    for selected in ((), ("E09000006",)):
        deck = json.loads(env.site_map(site_index, CATALOG.city.map_view, DAQI, areas, selected).to_json())
        views.append(deck["initialViewState"])
        outlines = next(layer for layer in deck["layers"] if layer["id"] == "areas")["data"]["features"]
        shading.append([(feature["properties"]["fill"], feature["properties"]["width"]) for feature in outlines])
    assert views[0] == views[1]
    assert views[0]["latitude"] == CATALOG.city.map_view["latitude"]
    assert views[0]["zoom"] == CATALOG.city.map_view["zoom"]
    assert shading[0] == [(env.OTHER_AREA_FILL, 40)] * 2
    # The selected area comes last, so that its darker outline is drawn on top.
    assert shading[1] == [(env.OTHER_AREA_FILL, 40), (env.SELECTED_AREA_FILL, 500)]


@pytest.mark.parametrize(("text", "chosen", "noticed"), [
    (None, "no2", False), ("", "no2", False), ("pm25", "pm25", False), (" pm25 ", "pm25", False),
    ("so2", "no2", True), ("<script>alert(1)</script>", "no2", True), ("pm25' or '1'='1", "no2", True),
    ("x" * 5000, "no2", True),
])
def test_a_choice_in_a_link_is_taken_only_when_it_is_an_option(text, chosen, noticed):
    value, notices = env.choice_from_param(text, ["no2", "pm25"], "no2", "pollutant")
    assert value == chosen
    assert bool(notices) == noticed
    # The notice names the default and never repeats what the link carried.
    assert all("'no2'" in notice and "<" not in notice and "xxx" not in notice for notice in notices)
    labelled = env.choice_from_param(text, ["no2", "pm25"], "no2", "pollutant", "Nitrogen dioxide (NO₂)")[1]
    assert all(notice.endswith("so it shows Nitrogen dioxide (NO₂) instead.") for notice in labelled)


def test_reference_lines_are_drawn_at_the_catalogue_values_with_their_averaging_period():
    settings = env.load_environment_settings(PACK, CATALOG.licences)
    lines = env.trend_by_scope(BOROUGH_DAILY, "no2", 6, "All")
    figure = env.pollutant_trend(lines, NO2, settings.references_for("no2"))
    assert sorted(shape.y0 for shape in figure.layout.shapes) == [10, 25, 40]
    labels = [annotation.text for annotation in figure.layout.annotations]
    assert "UK legal limit, annual mean: 40" in labels and "WHO 2021 guideline, 24-hour mean: 25" in labels
    assert figure.layout.yaxis.range[1] > 40


def test_the_band_days_table_has_the_charts_rows_and_bands_with_each_boroughs_total():
    frame = env.band_days(DAILY, BOROUGHS, DAQI)
    table = env.band_days_table(frame, DAQI)
    assert list(table.columns) == ["borough_name", "Low (1-3)", "Moderate (4-6)", "High (7-9)", "Very High (10)",
                                   "days_with_index"]
    # Camden first, as in the chart: most days above Low.
    assert table.values.tolist() == [["Camden", 0, 1, 2, 0, 3], ["Bromley", 2, 0, 0, 1, 3]]
    assert env.band_days_table(frame.iloc[0:0], DAQI).empty


def test_band_days_chart_stacks_the_bands_with_the_days_printed():
    frame = env.band_days(DAILY, BOROUGHS, DAQI)
    figure = env.band_days_chart(frame, DAQI)
    assert [trace.name for trace in figure.data] == ["Low (1-3)", "Moderate (4-6)", "High (7-9)", "Very High (10)"]
    assert figure.layout.barmode == "stack"
    high = figure.data[2]
    assert dict(zip(high.y, high.text)) == {"Camden": "2", "Bromley": ""}


# ---------------------------------------------------------------------------------
# The LondonAir ingest command


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "citydash", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_ingesting_a_malformed_laqn_file_says_why_and_exits_2_writing_nothing(tmp_path):
    extracts = tmp_path / "extracts"
    result = run_cli("ingest", "laqn", str(LAQN_FIXTURES / "malformed.json"), "--extracts", str(extracts))
    assert result.returncode == 2
    assert "malformed.json: malformed JSON" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not extracts.exists() and not (tmp_path / "quarantine").exists()


def test_ingesting_a_json_file_of_another_shape_exits_2(tmp_path):
    result = run_cli("ingest", "laqn", str(LAQN_FIXTURES / "unrelated_object.json"), "--extracts",
                     str(tmp_path / "extracts"))
    assert result.returncode == 2 and "unrelated_object.json" in result.stderr


# ---------------------------------------------------------------------------------
# The page under AppTest


def page_text(app: AppTest) -> str:
    parts = [element.value for element in app.markdown] + [element.value for element in app.caption]
    parts += [element.value for element in app.title] + [element.value for element in app.header]
    parts += [element.value for element in app.subheader]
    parts += [element.value for element in app.info] + [element.value for element in app.warning]
    parts += [element.value for element in app.success]
    return "\n".join(str(part) for part in parts)


def open_page(extracts: Path, monkeypatch, pack: Path | None = None) -> AppTest:
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(extracts))
    if pack is not None:
        monkeypatch.setenv("CITYDASH_PACK", str(pack))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(ENTRY), default_timeout=120).run()
    app.switch_page(str(PAGE)).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


open_section = section_opener("environment")


def headers(app: AppTest) -> list[str]:
    return [header.value for header in app.header if header.value != "Filters"]


def download_keys(app: AppTest) -> set[str]:
    return {button.key for button in app.get("download_button")}


def site_table(app: AppTest) -> pd.DataFrame:
    return next(frame.value for frame in app.dataframe if "max_index" in frame.value.columns)


def pack_with_zone(tmp_path: Path, zone_path: Path) -> Path:
    """A copy of the London pack whose ULEZ entry points at `zone_path`."""
    folder = tmp_path / "pack"
    shutil.copytree(PACK, folder, ignore=shutil.ignore_patterns("extracts", "quarantine", "zones"))
    settings = folder / "catalog.d" / "environment.toml"
    text = settings.read_text(encoding="utf-8")
    assert 'path = "zones/ulez.geojson"' in text
    settings.write_text(text.replace('path = "zones/ulez.geojson"', f"path = {json.dumps(str(zone_path))}"),
                        encoding="utf-8")
    return folder


def test_the_page_shows_the_index_advice_map_table_and_charts_on_the_demo(demo_extracts, monkeypatch, tmp_path):
    app = open_page(demo_extracts, monkeypatch, pack_with_zone(tmp_path, tmp_path / "absent.geojson"))
    text = page_text(app)
    assert "Air quality in London" in text
    assert any("Demo data, not real measurements" in warning.value for warning in app.warning)
    assert "Highest daily index in the selection" in [metric.label for metric in app.metric]
    assert "Health advice for each DAQI band" in text
    assert any("At-risk individuals" in str(table.value.columns.tolist()) for table in app.table)
    sites = site_table(app)
    assert len(sites) > 10 and sites["max_index"].dropna().between(1, 10).all()
    assert "Days in each DAQI band by borough" in text
    assert "Synthetic demo data" in text and "Sources and licences" in text
    downloads = len(app.get("download_button"))

    trends = page_text(open_section(app, "Trends"))
    assert "Reference lines: UK legal limit, annual mean: 40" in trends and "Synthetic demo data" in trends
    downloads += len(app.get("download_button"))
    time_of_day = page_text(open_section(app, "Time of day"))
    assert "hours a year allowed" in time_of_day or "No site had an hour above" in time_of_day
    downloads += len(app.get("download_button"))
    zones = page_text(open_section(app, "Zones"))
    assert "does not ship" in zones and "absent.geojson" in zones
    assert downloads >= 7


def test_the_borough_filter_and_pollutant_choice_change_the_page(demo_extracts, monkeypatch):
    app = open_page(demo_extracts, monkeypatch)
    everywhere = site_table(app)
    app.sidebar.multiselect(key="filters_boroughs").set_value(["E09000007"]).run()
    assert not app.exception
    camden = site_table(app)
    assert set(camden["borough_name"]) == {"Camden"} and len(camden) < len(everywhere)
    open_section(app, "Trends")
    assert "1 selected borough" in page_text(app), "the borough filter holds in every section"
    app.radio(key="environment_pollutant").set_value("pm25").run()
    assert not app.exception
    assert any("Fine particles (PM2.5): daily mean" in header.value for header in app.header)
    assert "WHO 2021 guideline, 24-hour mean: 15" in page_text(app)
    # The pollutant and the filter are the page's, so the next section starts with them too.
    open_section(app, "Time of day")
    assert headers(app)[0] == "Fine particles (PM2.5) by day of the week and hour of the day"


def test_the_ulez_comparison_appears_when_the_boundary_file_is_there(demo_extracts, monkeypatch, tmp_path):
    ulez = require_shared().joinpath(*ULEZ)
    app = open_section(open_page(demo_extracts, monkeypatch, pack_with_zone(tmp_path, ulez)), "Zones")
    text = page_text(app)
    assert "Inside and outside the Ultra Low Emission Zone (as extended in 2021)" in text
    assert "does not ship" not in text
    assert "inside (" in text and "Powered by TfL Open Data" in text
    zone_table = next(frame.value for frame in app.dataframe if list(frame.value.columns) ==
                      ["site_class", "zone", "value", "sites"])
    assert set(zone_table["zone"]) <= {env.INSIDE, env.OUTSIDE} and (zone_table["sites"] > 0).all()
    assert "environment_download_zone_ulez" in {button.key for button in app.get("download_button")}


def test_the_real_laqn_sample_ingests_and_shows_27_sites_without_the_demo_banner(copy_of_demo, monkeypatch):
    sample = require_shared().joinpath(*REAL_SAMPLE)
    result = run_cli("ingest", "laqn", str(sample), "--extracts", str(copy_of_demo))
    assert result.returncode == 0, result.stderr
    assert "27 entities" in result.stdout
    app = open_page(copy_of_demo, monkeypatch)
    dataset_choice = app.radio(key="environment_dataset")
    assert dataset_choice.value == "laqn" and set(dataset_choice.options) == {
        "London Air Quality Network (LondonAir)", "Air quality monitoring (demo) (synthetic)"}
    # Over a period of demo data only, the page offers the sample's days.
    app.sidebar.date_input(key="filters_dates").set_value((date(2025, 11, 1), date(2025, 11, 30))).run()
    assert "has readings for 01 Mar 2026 to 06 Mar 2026" in page_text(app)
    app.button(key="environment_use_dataset_period").click().run()
    assert not app.exception, [exception.value for exception in app.exception]
    sites = site_table(app)
    assert len(sites) == 27
    assert set(sites["borough_name"]) == {"Camden", "Greenwich", "Tower Hamlets"}
    assert sites["max_index"].notna().sum() >= 10
    assert not any("Demo data" in warning.value for warning in app.warning)
    assert "London Air Quality Network (LondonAir) (real)" in page_text(app)
    app.radio(key="environment_dataset").set_value("air_quality").run()
    assert any("Demo data" in warning.value for warning in app.warning)


def test_every_chart_has_a_chart_tab_and_a_table_tab_with_its_csv(demo_extracts, monkeypatch):
    app = open_page(demo_extracts, monkeypatch)
    labels, columns, keys = [], [], set()
    for section in ("Monitoring sites", "Trends", "Time of day"):
        open_section(app, section)
        labels += [tab.label for tab in app.tabs]
        columns += [list(frame.value.columns) for frame in app.dataframe]
        keys |= download_keys(app)
    # Days per band, the trend's neighbours (roadside against background) and the week heatmap.
    assert labels.count("Chart") >= 3 and labels.count("Chart") == labels.count("Table")
    assert ["borough_name", "Low (1-3)", "Moderate (4-6)", "High (7-9)", "Very High (10)",
            "days_with_index"] in columns
    assert ["site_class", "day", "value", "readings", "sites"] in columns
    assert ["hour", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] in columns
    open_section(app, "Monitoring sites")
    band_table = next(frame.value for frame in app.dataframe if "Low (1-3)" in frame.value.columns)
    assert (band_table.iloc[:, 1:5].sum(axis=1) == band_table["days_with_index"]).all()
    assert {"environment_download_band_days", "environment_download_classes", "environment_download_week"} <= keys


def test_every_section_is_an_h2_under_the_h1_and_the_map_and_its_table_h3s_under_theirs(demo_extracts, monkeypatch):
    app = open_page(demo_extracts, monkeypatch)
    assert [title.value for title in app.title] == ["Air quality in London"]
    headers = [header.value for header in app.header]
    assert headers[:3] == ["Monitoring sites", "Days in each DAQI band by borough", "Health advice for each DAQI band"]
    assert [subheader.value for subheader in app.subheader] == [
        "Map: highest daily index at each monitoring site", "Table: sites by highest daily index"]


def test_the_map_keeps_its_view_when_the_borough_filter_changes(demo_extracts, monkeypatch):
    app = open_page(demo_extracts, monkeypatch)

    def deck() -> dict:
        [chart] = app.get("deck_gl_json_chart")
        return json.loads(chart.proto.json)

    before = deck()
    app.sidebar.multiselect(key="filters_boroughs").set_value(["E09000007"]).run()
    assert not app.exception
    after = deck()
    # Streamlit keeps the reader's pan and zoom while the initial view it is given is unchanged.
    assert after["initialViewState"] == before["initialViewState"]
    assert after["initialViewState"]["zoom"] == CATALOG.city.map_view["zoom"]
    areas = next(layer for layer in after["layers"] if layer["id"] == "areas")["data"]["features"]
    assert [feature["properties"]["fill"] for feature in areas].count(env.SELECTED_AREA_FILL) == 1
    assert "shaded darker" in page_text(app)


def open_link(extracts: Path, monkeypatch, params: dict[str, str]) -> AppTest:
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(extracts))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(ENTRY), default_timeout=120)
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page(str(PAGE)).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


def link_of(app: AppTest) -> dict[str, str]:
    """The address bar's parameters (AppTest may hold each as a one-item list)."""
    return {key: value[0] if isinstance(value, list) else value for key, value in app.query_params.items()}


@pytest.fixture
def two_air_datasets(copy_of_demo) -> Path:
    """The demo extracts with the LondonAir fixture published beside them: two datasets to choose from."""
    result = run_cli("ingest", "laqn", str(LAQN_FIXTURES / "nested_clean.json"), "--extracts", str(copy_of_demo))
    assert result.returncode == 0, result.stderr
    return copy_of_demo


def test_a_link_reproduces_the_dataset_and_pollutant_and_the_page_writes_them_back(two_air_datasets, monkeypatch):
    app = open_link(two_air_datasets, monkeypatch,
                    {"air_dataset": "air_quality", "air_pollutant": "pm10", "section": "trends"})
    assert app.radio(key="environment_dataset").value == "air_quality"
    assert app.radio(key="environment_pollutant").value == "pm10"
    assert link_of(app)["air_dataset"] == "air_quality" and link_of(app)["air_pollutant"] == "pm10"
    assert not any("link" in info.value for info in app.info)

    # State -> link: a new choice goes into the address bar ...
    app.radio(key="environment_pollutant").set_value("o3").run()
    assert not app.exception
    shared = link_of(app)
    assert shared["air_pollutant"] == "o3" and shared["air_dataset"] == "air_quality"
    assert shared["section"] == "trends"
    # ... and link -> state: that address opened afresh shows the same view.
    reopened = open_link(two_air_datasets, monkeypatch, shared)
    assert reopened.radio(key="environment_dataset").value == "air_quality"
    assert reopened.radio(key="environment_pollutant").value == "o3"
    assert any(header.value.startswith("Ozone (O₃): daily mean") for header in reopened.header)
    assert link_of(reopened) == shared


def test_a_hostile_or_stale_link_falls_back_to_the_defaults_with_a_notice(two_air_datasets, monkeypatch):
    plain = open_link(two_air_datasets, monkeypatch, {})
    defaults = (plain.radio(key="environment_dataset").value, plain.radio(key="environment_pollutant").value)
    assert defaults[0] == "laqn", "real data is the default"
    hostile = open_link(two_air_datasets, monkeypatch, {
        "air_dataset": "<img src=x onerror=alert(1)>", "air_pollutant": "no2'; drop table observations; --"})
    assert (hostile.radio(key="environment_dataset").value,
            hostile.radio(key="environment_pollutant").value) == defaults
    notices = [info.value for info in hostile.info if "link's" in info.value]
    assert len(notices) == 2 and "dataset" in notices[0] and "pollutant" in notices[1]
    assert "onerror" not in page_text(hostile) and "drop table" not in page_text(hostile)
    # The address bar now holds the view shown, not what the link carried.
    assert link_of(hostile)["air_dataset"] == defaults[0] and link_of(hostile)["air_pollutant"] == defaults[1]
    # A pollutant the dataset does not measure (so2 is not in the DAQI) is stale, not an error.
    stale = open_link(two_air_datasets, monkeypatch, {"air_dataset": "air_quality", "air_pollutant": "so2"})
    assert stale.radio(key="environment_dataset").value == "air_quality"
    assert stale.radio(key="environment_pollutant").value in {"no2", "pm25", "pm10", "o3"}
    assert any("pollutant is not one this page offers" in info.value for info in stale.info)


# ---------------------------------------------------------------------------------
# One section at a time

SECTION_HEADERS = {
    "Monitoring sites": ["Monitoring sites", "Days in each DAQI band by borough", "Health advice for each DAQI band"],
    "Trends": ["Nitrogen dioxide (NO₂): daily mean by borough",
               "Nitrogen dioxide (NO₂): roadside against background sites, daily mean"],
    "Time of day": ["Nitrogen dioxide (NO₂) by day of the week and hour of the day",
                    "Hours above the hourly Nitrogen dioxide (NO₂) limit"],
    "Zones": ["Inside and outside the Ultra Low Emission Zone (as extended in 2021)"],
}
SECTION_DOWNLOADS = {
    "Monitoring sites": {"environment_download_sites", "environment_download_daily_index",
                         "environment_download_band_days"},
    "Trends": {"environment_download_trend", "environment_download_classes"},
    "Time of day": {"environment_download_week", "environment_download_hours_above"},
    "Zones": set(),  # the London pack names the ULEZ but does not ship its file
}


def test_the_section_labels_cover_every_section_tested():
    assert list(SECTION_HEADERS) == list(env.SECTION_LABELS) == list(SECTION_DOWNLOADS)


@pytest.mark.parametrize("section", env.SECTION_LABELS)
def test_each_section_draws_only_its_own_headings_maps_and_downloads(demo_extracts, monkeypatch, section):
    app = open_page(demo_extracts, monkeypatch)
    assert [tab.label for tab in app.tabs][:1] == ["Monitoring sites"]
    open_section(app, section)
    # The page-wide part is drawn whichever section is open.
    assert [title.value for title in app.title] == ["Air quality in London"]
    assert app.radio(key="environment_pollutant").value == "no2"
    assert "The UK Daily Air Quality Index (DAQI) runs from 1" in page_text(app)
    assert headers(app) == SECTION_HEADERS[section]
    assert download_keys(app) == SECTION_DOWNLOADS[section]
    # The map, its tiles and the site table belong to Monitoring sites alone.
    assert bool(app.get("deck_gl_json_chart")) == (section == "Monitoring sites")
    assert bool(app.metric) == (section == "Monitoring sites")
    # The intro names the synthetic dataset in every section, so every section carries the banner.
    assert any("Demo data, not real measurements" in warning.value for warning in app.warning)


def test_a_link_opens_its_section_and_switching_writes_it_into_the_link(demo_extracts, monkeypatch):
    app = open_link(demo_extracts, monkeypatch, {"section": "time-of-day"})
    assert headers(app) == SECTION_HEADERS["Time of day"]
    assert link_of(app)["section"] == "time-of-day"
    open_section(app, "Trends")
    assert link_of(app)["section"] == "trends"
    reopened = open_link(demo_extracts, monkeypatch, link_of(app))
    assert headers(reopened) == SECTION_HEADERS["Trends"] and link_of(reopened) == link_of(app)
    # The first section is the page's default: its link names none.
    open_section(app, "Monitoring sites")
    assert "section" not in link_of(app)
    assert headers(app) == SECTION_HEADERS["Monitoring sites"]


def test_a_hostile_section_in_a_link_opens_the_first_with_a_notice(demo_extracts, monkeypatch):
    app = open_link(demo_extracts, monkeypatch, {"section": "<script>alert(1)</script>"})
    assert headers(app) == SECTION_HEADERS["Monitoring sites"]
    notices = [info.value for info in app.info if "link's section" in info.value]
    assert len(notices) == 1 and "Monitoring sites, Trends, Time of day, Zones" in notices[0]
    assert "alert" not in page_text(app) and "section" not in link_of(app)


def test_a_pack_without_zones_has_no_zones_section(demo_extracts, monkeypatch, tmp_path):
    folder = tmp_path / "pack"
    shutil.copytree(PACK, folder, ignore=shutil.ignore_patterns("extracts", "quarantine", "zones"))
    settings = folder / "catalog.d" / "environment.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text[:text.index("[zones.ulez]")], encoding="utf-8")
    app = open_page(demo_extracts, monkeypatch, folder)
    assert [tab.label for tab in app.tabs if tab.label not in {"Chart", "Table"}] == [
        "Monitoring sites", "Trends", "Time of day"]
