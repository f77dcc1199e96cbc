"""The demo generator: deterministic, complete, and shaped like the real thing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from citydash import demo
from citydash.__main__ import main
from citydash.catalog import load_catalog
from citydash.data import TABLES, read_table
from citydash.geo import load_areas
from citydash.data import Database
from conftest import PACK

TEST_QUERIES = Path(__file__).resolve().parent / "queries"


@pytest.fixture(scope="module")
def plausibility(demo_catalog):
    """The demo pack with the test-only plausibility queries in tests/queries/."""
    database = Database(demo_catalog, queries_dir=TEST_QUERIES)
    yield database
    database.close()


def _digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.parquet"))}


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path):
    for name, seed in (("first", 3), ("second", 3), ("third", 4)):
        assert main(["demo", "--out", str(tmp_path / name), "--scale", "0.1", "--days", "5", "--seed", str(seed)]) == 0
    first, second, third = (_digests(tmp_path / name) for name in ("first", "second", "third"))
    assert len(first) == len(TABLES) * len(demo.DEMO_DATASETS)
    assert first == second
    assert first != third


def test_demo_into_a_folder_with_data_asks_for_force(tmp_path, capsys):
    out = tmp_path / "extracts"
    assert main(["demo", "--out", str(out), "--scale", "0.1", "--days", "2"]) == 0
    assert main(["demo", "--out", str(out), "--scale", "0.1", "--days", "2"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["demo", "--out", str(out), "--scale", "0.1", "--days", "2", "--if-empty"]) == 0
    assert main(["demo", "--out", str(out), "--scale", "0.1", "--days", "3", "--force"]) == 0


def test_every_demo_dataset_is_marked_synthetic_in_the_catalogue():
    catalog = load_catalog(PACK)
    for dataset_id in demo.DEMO_DATASETS:
        assert catalog.datasets[dataset_id].synthetic, dataset_id


def test_all_boroughs_have_air_quality_sites_inside_their_polygons(demo_catalog):
    sites = read_table(demo_catalog.extract_path("air_quality", "entities"))
    assert set(sites["borough_code"]) == set(load_areas(demo_catalog.city.boundaries)["code"])
    assert sites["borough_code"].notna().all()


def test_air_quality_is_plausible(plausibility):
    frame = plausibility.run("demo_plausibility_air")
    by_kind = frame.set_index("kind")["no2"]
    assert by_kind["Roadside"] > by_kind["Urban Background"] > by_kind["Suburban"]
    groups = plausibility.run("demo_plausibility_groups").set_index("borough_group")["no2"]
    assert groups["inner"] > groups["outer"]


def test_stations_are_busier_on_weekdays(plausibility):
    frame = plausibility.run("demo_plausibility_weekdays").set_index("weekend")["entries"]
    assert frame[False] > 1.3 * frame[True]


def test_sensors_have_gaps_and_footfall_follows_the_day(demo_catalog):
    readings = read_table(demo_catalog.extract_path("street_sensors"))
    footfall = readings[readings["metric"] == "footfall"]
    hour = footfall["ts"].dt.hour
    assert footfall[hour.between(11, 14)]["value"].mean() > 5 * footfall[hour.between(1, 4)]["value"].mean()
    per_series = readings.groupby(["entity_id", "metric"]).size()
    slots_per_series = 45 * 96
    assert (per_series < slots_per_series).any(), "some sensors must have outages"
    assert (per_series > 0.5 * slots_per_series).all(), "outages must be the exception"


@pytest.mark.parametrize("dataset_id", demo.DEMO_DATASETS)
def test_demo_observations_fit_the_contract(demo_catalog, dataset_id):
    frame = read_table(demo_catalog.extract_path(dataset_id))
    assert list(frame.columns) == ["entity_id", "ts", "metric", "value"]
    assert frame["value"].notna().all()
    assert pd.api.types.is_datetime64_any_dtype(frame["ts"])
    assert frame.sort_values(["metric", "ts"], kind="stable")["metric"].tolist() == frame["metric"].tolist()
