"""Publishing: validation, quarantine, boroughs by point-in-polygon, idempotence, atomicity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd
import pytest

from citydash.catalog import load_catalog
from citydash.contract import Extract
from citydash.data import Database, read_table
from citydash.ingest.errors import IngestError
from citydash.ingest.publish import dataset_lock, publish, recover_interrupted
from conftest import BROMLEY, CAMDEN, PARIS, REPO, entities, make_tiny_pack, observations

SITES = entities(("A1", "Camden Road", "Roadside", CAMDEN), ("A3", "Bromley Town", "Suburban", BROMLEY),
                 ("P1", "Paris", "Roadside", PARIS))
READINGS = observations(
    ("A1", "2026-03-01 10:00", "no2", 40),
    ("A1", "2026-03-01 10:00", "no2", 41),      # duplicate key
    ("A1", "2026-03-01 11:00", "no2", -5),      # below the valid range
    ("A1", "2026-03-01 12:00", "pm10", 5),      # metric not in the catalogue
    ("A3", "2026-03-01 10:00", "no2", 10),
    ("P1", "2026-03-01 10:00", "no2", 99),      # entity outside the city
    ("ZZ", "2026-03-01 10:00", "no2", 1),       # unknown entity
)


def test_boroughs_come_from_the_point_and_outsiders_are_reported(tiny_pack):
    report = publish(Extract(SITES, READINGS), "air", tiny_pack)
    published = read_table(tiny_pack.extract_path("air", "entities")).set_index("entity_id")
    assert published["borough_code"].to_dict() == {"A1": "E09000007", "A3": "E09000006"}
    assert report.outside_city == ["Paris (P1)"]
    assert "outside the city" in report.to_text()


def test_bad_rows_are_quarantined_with_reasons_and_good_rows_kept(tiny_pack):
    report = publish(Extract(SITES, READINGS), "air", tiny_pack)
    kept = read_table(tiny_pack.extract_path("air"))
    assert sorted(zip(kept["entity_id"], kept["value"])) == [("A1", 40.0), ("A3", 10.0)]
    quarantine = pd.read_csv(report.quarantine_file)
    reasons = " | ".join(quarantine["reason"])
    for expected in ("duplicate reading", "value out of range for no2", "metric not in the catalogue",
                     "unknown or rejected entity", "outside the city"):
        assert expected in reasons
    # Every input row is either published or quarantined with a reason: nothing silently lost.
    observation_rejects = quarantine[quarantine["source"] == "observations"]
    assert len(kept) + len(observation_rejects) == len(READINGS)


def test_reingesting_the_same_file_adds_nothing(tiny_pack):
    first = publish(Extract(SITES, READINGS), "air", tiny_pack)
    before = {path.name: path.read_bytes() for path in tiny_pack.extracts_dir.glob("*.parquet")}
    second = publish(Extract(SITES, READINGS), "air", tiny_pack)
    after = {path.name: path.read_bytes() for path in tiny_pack.extracts_dir.glob("*.parquet")}
    assert first.observations_added == 2
    assert second.observations_added == 0
    assert second.observations_published == 2
    assert before == after


def test_new_readings_merge_with_published_ones_and_corrections_win(tiny_pack):
    publish(Extract(SITES, READINGS), "air", tiny_pack)
    corrected = observations(("A1", "2026-03-01 10:00", "no2", 42), ("A3", "2026-03-02 10:00", "no2", 12))
    report = publish(Extract(SITES.iloc[:2], corrected), "air", tiny_pack)
    kept = read_table(tiny_pack.extract_path("air")).sort_values(["entity_id", "ts"])
    assert list(kept["value"]) == [42.0, 10.0, 12.0]
    assert report.observations_added == 1


def test_imports_of_one_dataset_at_the_same_time_both_land(tiny_pack):
    """Two officers import different days into the same dataset at once: neither import may merge
    into a version the other is replacing, so every reading of both is published."""
    days = [f"2026-03-{day:02d} 10:00" for day in range(1, 13)]
    batches = [observations(*[("A1", ts, "no2", 20 + n) for n, ts in enumerate(days[half::2])])
               for half in (0, 1)]
    errors: list[BaseException] = []

    def run(batch):
        try:
            publish(Extract(SITES.iloc[:2], batch), "air", tiny_pack)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    for _ in range(3):
        threads = [threading.Thread(target=run, args=(batch,)) for batch in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    kept = read_table(tiny_pack.extract_path("air"))
    assert len(kept) == len(days)


def test_an_import_waits_for_the_one_already_publishing(tiny_pack):
    publish(Extract(SITES, READINGS), "air", tiny_pack)
    later = observations(("A3", "2026-03-05 10:00", "no2", 11))
    with dataset_lock(tiny_pack, "air"):
        waiting = threading.Thread(target=publish, args=(Extract(SITES.iloc[:2], later), "air", tiny_pack))
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive(), "the second import did not wait for the lock"
        assert len(read_table(tiny_pack.extract_path("air"))) == 2
    waiting.join(timeout=60)
    assert not waiting.is_alive()
    assert len(read_table(tiny_pack.extract_path("air"))) == 3


def test_an_import_that_cannot_get_the_lock_says_why(tiny_pack):
    with dataset_lock(tiny_pack, "air"), pytest.raises(IngestError, match="another import of 'air'"):
        with dataset_lock(tiny_pack, "air", wait_s=0.2):
            pass


def test_a_dataset_missing_from_the_catalogue_is_refused(tiny_pack):
    with pytest.raises(IngestError, match="not in the catalogue"):
        publish(Extract(SITES, READINGS), "nope", tiny_pack)


def test_failure_after_staging_is_rolled_forward_and_before_it_leaves_the_old_extract(tiny_pack):
    publish(Extract(SITES, READINGS), "air", tiny_pack)
    newer = observations(("A3", "2026-03-05 10:00", "no2", 15))
    with pytest.raises(RuntimeError, match="on purpose"):
        publish(Extract(SITES.iloc[:2], newer), "air", tiny_pack, fail_after_staging=True)
    # The journal is there; the published files are still the old, whole version.
    assert (tiny_pack.extracts_dir / "air.publishing").exists()
    assert len(read_table(tiny_pack.extract_path("air"))) == 2
    assert recover_interrupted(tiny_pack) == ["air"]
    assert len(read_table(tiny_pack.extract_path("air"))) == 3
    assert not (tiny_pack.extracts_dir / "air.publishing").exists()
    Database(tiny_pack).close()


@pytest.mark.parametrize("kill_after_s", [1.0, 2.5])
def test_killing_a_publish_mid_write_never_leaves_a_broken_extract(tmp_path, kill_after_s):
    pack = make_tiny_pack(tmp_path / "pack")
    publish(Extract(SITES, READINGS), "air", pack)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy as np, pandas as pd
        from citydash.catalog import load_catalog
        from citydash.contract import Extract
        from citydash.ingest.publish import publish
        pack = load_catalog({str(pack.pack_dir)!r})
        n = 3_000_000
        rows = pd.DataFrame({{"entity_id": "A1", "metric": "no2", "value": np.arange(n) % 500.0,
                              "ts": pd.date_range("2020-01-01", periods=n, freq="min", unit="us")}})
        sites = pd.DataFrame([{{"entity_id": "A1", "name": "x", "kind": "k", "lat": 51.539, "lon": -0.1426,
                               "borough_code": None}}])
        print("writing", flush=True)
        publish(Extract(sites, rows), "air", pack)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    time.sleep(kill_after_s)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    recover_interrupted(pack)
    database = Database(load_catalog(pack.pack_dir))
    try:
        assert [problem for problem in database.problems if problem.dataset == "air"] == []
        count = len(read_table(pack.extract_path("air")))
        assert count in (2, 2 + 3_000_000), f"a mixed or partial extract: {count} rows"
    finally:
        database.close()


def test_a_corrupt_extract_is_reported_and_the_rest_keeps_working(copy_of_demo):
    damaged = copy_of_demo / "stations.parquet"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    catalog = load_catalog(REPO / "data", extracts_dir=copy_of_demo)
    database = Database(catalog)
    try:
        assert [problem.dataset for problem in database.problems] == ["stations"]
        assert "stations.parquet" in database.problems[0].explain()
        assert "python -m citydash demo" in database.problems[0].explain()
        assert "air_quality" in database.available
        assert database.run("data_coverage")["datasets"].iloc[0] == 4
    finally:
        database.close()


def test_a_catalogued_dataset_never_ingested_is_not_a_problem(tiny_pack):
    publish(Extract(SITES, READINGS), "air", tiny_pack)
    database = Database(tiny_pack)
    try:
        assert database.problems == []
        assert database.unpublished == {"counts"}
        assert database.available == {"air"}
    finally:
        database.close()


def test_a_partly_published_dataset_is_a_problem(tiny_pack):
    publish(Extract(SITES, READINGS), "air", tiny_pack)
    tiny_pack.extract_path("air", "entity_daily").unlink()
    database = Database(tiny_pack)
    try:
        assert [(p.dataset, p.message) for p in database.problems] == [("air", "is missing")]
    finally:
        database.close()
