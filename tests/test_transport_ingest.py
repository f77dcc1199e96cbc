"""Re-ingest is idempotent for each transport connector: the same files through
`python -m citydash ingest SOURCE FILE...` twice publish exactly what the first run did."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from citydash.__main__ import main
from citydash.catalog import load_catalog
from citydash.data import TABLES, read_table
from conftest import PACK

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "transport"
SOURCES = {
    "tfl-station-counts": ("tfl_station_counts", ["station_counts.csv", "stations.csv"]),
    "tfl-bikepoint": ("tfl_bikepoint", ["bikepoint.json"]),
    "dft-traffic": ("dft_traffic", ["traffic_counts.csv", "traffic_locations.json"]),
}


@pytest.fixture
def pack(tmp_path) -> Path:
    """The London pack's catalogue and boundaries, with nothing published yet."""
    folder = tmp_path / "pack"
    folder.mkdir()
    shutil.copy(PACK / "catalog.toml", folder)
    for part in ("catalog.d", "boundaries"):
        shutil.copytree(PACK / part, folder / part)
    return folder


def published(pack: Path, dataset: str) -> dict[str, pd.DataFrame]:
    """Every published table of the dataset, in a stable row order so two runs compare row by row."""
    catalog = load_catalog(pack)
    tables = {}
    for table, suffix in TABLES.items():
        frame = read_table(catalog.extract_path(dataset, suffix))
        tables[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return tables


@pytest.mark.parametrize("source", list(SOURCES))
def test_ingesting_the_same_files_twice_adds_nothing(pack, capsys, source):
    dataset, names = SOURCES[source]
    command = ["ingest", source, *(str(FIXTURES / name) for name in names), "--pack", str(pack)]

    assert main(command) == 0
    first_report = capsys.readouterr().out
    first = published(pack, dataset)
    assert len(first["observations"]) > 0 and len(first["entities"]) > 0
    assert f"{len(first['observations']):,} new, {len(first['observations']):,} published in all" in first_report

    assert main(command) == 0
    second_report = capsys.readouterr().out
    second = published(pack, dataset)

    # The CLI's own account: the second run read the same rows and found none of them new.
    read = first_report.split("read ")[1].split(" observations")[0]
    assert f"read {read} observations; 0 new, {len(first['observations']):,} published in all, " \
           f"{len(first['entities']):,} entities." in second_report
    # And what is published is the same, table by table, row by row, value by value.
    for table in TABLES:
        assert len(second[table]) == len(first[table]), table
        pd.testing.assert_frame_equal(second[table], first[table], obj=table)
