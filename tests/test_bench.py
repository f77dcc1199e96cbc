"""The bench and what it relies on: it runs end to end at a tiny scale and prints its tables; its
filter script really changes the filters to states not seen before; large extracts published in
parts equal the same extract published whole; a slow query is stopped and the page says so; remote
extracts without DuckDB's httpfs extension are explained, not a traceback."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from citydash import data
from citydash.__main__ import main
from citydash.bench import ensure_data, load_report, parse_scale, scale_label, settled_note, wait_for_quiet
from citydash.bench_browser import cpu_seconds
from citydash.bench_tasks import FILTER_KINDS, FilterState, filter_script, percentile
from citydash.catalog import load_catalog
from citydash.contract import Extract
from citydash.data import Database, QueryTimeout, read_table
from citydash.ingest.publish import publish, publish_parts
from citydash.transport import SECTION_LABELS
from conftest import BROMLEY, CAMDEN, PACK, PARIS, REPO, WESTMINSTER, entities, observations

ENTRY = REPO / "tests" / "apptest" / "entry.py"
TEST_QUERIES = Path(__file__).resolve().parent / "queries"


# ---------------------------------------------------------------------------------------------
# The bench end to end


def test_the_bench_waits_for_the_load_to_fall_after_a_build_but_no_longer_than_its_limit():
    readings = iter([(3.5, 2.0, 1.0), (2.0, 2.0, 1.0), (0.9, 1.9, 1.0)])
    slept = []
    assert wait_for_quiet(120, load=lambda: next(readings), sleep=slept.append) == 10
    assert slept == [5, 5]
    assert wait_for_quiet(12, load=lambda: (4.0, 4.0, 4.0), sleep=slept.append) == 12
    assert slept[2:] == [5, 5, 2], "the last wait is cut to the limit"
    assert wait_for_quiet(0, load=lambda: (4.0, 4.0, 4.0), sleep=slept.append) == 0
    assert settled_note(12) == " (after waiting 12 s for it to fall)" and settled_note(0) == ""


def test_the_bench_runs_end_to_end_at_a_tiny_scale_and_prints_its_tables(tmp_path, capsys):
    # Chromium's part (cold start, payload, served memory) is left out: minutes on a shared CI machine.
    arguments = ["bench", "--scale", "150k", "--days", "20", "--steps", "3", "--repeats", "1",
                 "--ratio-runs", "1", "--raw-calls", "1", "--skip-browser", "--settle", "0",
                 "--cache-dir", str(tmp_path / "cache")]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    results = json.loads((tmp_path / "cache" / "results" / "150k.json").read_text())
    registered = [page["title"] for page in results["app"]["pages"]]
    assert "Overview" in registered and len(registered) >= 1
    # A page with sections is measured section by section, each its own row.
    transport_sections = [page["section"] for page in results["app"]["pages"] if page["url_path"] == "transport"]
    assert transport_sections == list(SECTION_LABELS)
    assert "Transport · Cycle hire" in registered
    for title in registered:
        assert title in printed, f"page {title!r} registered in dashboard.py is missing from the table"
    for heading in ("Page rerun after a filter change", "Queries (median per call)",
                    "The overview's interactions", "Targets at 150k", "All targets"):
        assert heading in printed
    assert "metric_by_borough" in printed
    for page in results["app"]["pages"]:
        # Another page's exception is the bench's finding to print, not the bench failing.
        assert all(isinstance(error, str) and error for error in page["errors"])
        assert len([rerun for rerun in page["reruns"] if not rerun["cached_pass"]]) == 3
    overview = results["app"]["pages"][0]
    assert overview["errors"] == []
    assert [rerun["queries"] > 0 for rerun in overview["reruns"][:3]] == [True, True, True], \
        "every filter change on the overview must miss the cache"
    assert all(rerun["queries"] == 0 for rerun in overview["reruns"][3:]), \
        "the same changes again must all come from the cache"
    for way in ("ours", "pandas", "pandas_cache_data"):
        measured = results["comparison"][way]
        assert measured["peak_mb"] > measured["imports_mb"] > 0 and measured["interaction_s"] > 0, way
    assert "pandas kept by st.cache_data" in printed and "above imports" in printed
    # The data is built once and reused.
    built = next((tmp_path / "cache").glob("data-150k-*/built.json"))
    stamp = built.stat().st_mtime_ns
    extracts, facts = ensure_data(150_000, tmp_path / "cache", seed=42, days=20)
    assert built.stat().st_mtime_ns == stamp and extracts == built.parent / "extracts"
    assert facts["observations"] == results["data"]["observations"] > 50_000


def test_scales_read_as_numbers_of_observations():
    assert parse_scale("2M") == 2_000_000
    assert parse_scale("200m") == 200_000_000
    assert parse_scale("1.5M") == 1_500_000
    assert parse_scale("500k") == 500_000
    assert parse_scale("12345") == 12_345
    assert scale_label(20_000_000) == "20M" and scale_label(150_000) == "150k"
    with pytest.raises(Exception, match="not a number"):
        parse_scale("lots")


def test_every_scripted_filter_change_changes_one_filter_to_a_state_not_seen_before():
    codes = [f"E0900{number:04d}" for number in range(1, 34)]
    metrics = ["air_quality.no2", "air_quality.pm25", "stations.entries", "cycle_hire.hires"]
    initial = FilterState((), date(2025, 11, 1), date(2026, 10, 31), "air_quality.no2")
    script = filter_script(initial, codes, metrics, date(2025, 11, 1), date(2026, 10, 31), steps=12, offset=2)
    states = [initial] + [state for _, _, state in script]
    assert len(set(states)) == len(states)
    for (kind, _, state), before in zip(script, states):
        changed = {"boroughs": state.boroughs != before.boroughs,
                   "dates": (state.start, state.end) != (before.start, before.end),
                   "metric": state.metric != before.metric}
        assert [name for name, differs in changed.items() if differs] == [kind]
        assert date(2025, 11, 1) <= state.start <= state.end <= date(2026, 10, 31)
        assert set(state.boroughs) <= set(codes) and state.metric in metrics
    assert [kind for kind, _, _ in script[:3]] == list(FILTER_KINDS)


def test_the_scripted_borough_changes_include_the_whole_city_and_never_repeat_a_selection():
    # The whole city is what every page opens on and its largest answer: a script without it
    # measured only the cheaper reruns of a selection.
    codes = [f"E0900{number:04d}" for number in range(1, 34)]
    metrics = ["air_quality.no2", "stations.entries"]
    initial = FilterState((), date(2025, 11, 1), date(2026, 10, 31), "air_quality.no2")
    script = filter_script(initial, codes, metrics, date(2025, 11, 1), date(2026, 10, 31), steps=36, offset=5)
    selections = [value for kind, value, _ in script if kind == "boroughs"]
    assert [] in selections
    assert len(selections) == 12 and len({tuple(value) for value in selections[:8]}) == 8
    # A page that ignores the metric must miss the cache on every borough and date change.
    asked = [(state.boroughs, state.start, state.end) for kind, _, state in script if kind != "metric"]
    assert len(set(asked)) == len(asked) == 24
    assert filter_script(initial, [], metrics, date(2025, 11, 1), date(2026, 10, 31), steps=3, offset=0)[0][1] == []


def test_a_process_cpu_time_is_read_from_proc_and_grows_with_work():
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.2


def test_the_load_report_shows_the_servers_and_the_browsers_share_of_the_cpu():
    load = {"sessions": 20, "seconds": 300.4, "actions": 102, "think_s": 5, "update_p50_s": 1.5,
            "update_p95_s": 4.25, "error_count": 0, "console_error_count": 1, "baseline_mb": 282,
            "peak_mb": 784, "at_close_mb": 349, "settled_mb": 340, "settle_s": 60, "server_cores": 0.18,
            "browser_cores": 1.41, "browser_niceness": 10, "errors": [],
            "console_errors": ["session 3: Cannot send rerun backMessage"]}
    report = load_report(load)
    header, _, row = report.splitlines()[2:5]
    assert "server cores" in header and "browsers' cores" in header and "60 s later" in header
    assert row.split() == ["20", "300", "102", "1,500", "4,250", "0", "1", "282", "784", "349", "340", "0.18",
                           "1.41"]
    assert "at nice 10" in report and report.rstrip().endswith("session 3: Cannot send rerun backMessage")


def test_percentiles_are_nearest_rank():
    values = [float(number) for number in range(1, 21)]
    assert percentile(values, 0.95) == 19.0
    assert percentile(values, 0.5) == 10.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([], 0.95) is None


# ---------------------------------------------------------------------------------------------
# Publishing in parts


SITES = entities(("A1", "Camden Road", "Roadside", CAMDEN), ("A3", "Bromley Town", "Suburban", BROMLEY),
                 ("W1", "Westminster", "Roadside", WESTMINSTER), ("P1", "Paris", "Roadside", PARIS))
READINGS = observations(
    ("A1", "2026-03-01 10:00", "no2", 40),
    ("A1", "2026-03-01 10:00", "no2", 41),      # duplicate key
    ("A1", "2026-03-01 11:00", "no2", -5),      # below the valid range
    ("A1", "2026-03-01 23:30", "no2", 30),      # late evening: still 1 March in London (GMT)
    ("A1", "2026-03-01 12:00", "pm10", 5),      # metric not in the catalogue
    ("A3", "2026-03-01 10:00", "no2", 10),
    ("A3", "2026-03-02 10:00", "no2", 12),
    ("W1", "2026-03-01 09:00", "no2", 55),
    ("P1", "2026-03-01 10:00", "no2", 99),      # entity outside the city
    ("ZZ", "2026-03-01 10:00", "no2", 1),       # unknown entity
)


def _split(extract_entities: pd.DataFrame, readings: pd.DataFrame, first: set[str]) -> list[Extract]:
    in_first = extract_entities["entity_id"].isin(first)
    reading_first = readings["entity_id"].isin(first | {"ZZ"})
    return [Extract(extract_entities[in_first], readings[reading_first]),
            Extract(extract_entities[~in_first], readings[~reading_first])]


def _published(catalog, dataset: str) -> dict[str, pd.DataFrame]:
    return {suffix or "observations": read_table(catalog.extract_path(dataset, suffix))
            for suffix in ("", "entities", "entity_daily", "borough_daily", "borough_hourly")}


def test_an_extract_published_in_parts_equals_the_same_extract_published_whole(tmp_path):
    from conftest import make_tiny_pack

    whole_pack = make_tiny_pack(tmp_path / "whole")
    parts_pack = make_tiny_pack(tmp_path / "parts")
    now = datetime(2026, 3, 10, 12, 0)
    whole = publish(Extract(SITES, READINGS), "air", whole_pack, replace=True, now=now)
    in_parts = publish_parts(_split(SITES, READINGS, {"A1", "P1"}), "air", parts_pack, now=now)
    expected, got = _published(whole_pack, "air"), _published(parts_pack, "air")
    for table, frame in expected.items():
        pd.testing.assert_frame_equal(got[table], frame, check_dtype=False, obj=table)
    assert sorted(zip(got["observations"]["entity_id"], got["observations"]["value"])) == \
        [("A1", 30.0), ("A1", 40.0), ("A3", 10.0), ("A3", 12.0), ("W1", 55.0)]
    assert in_parts.observations_published == whole.observations_published == 5
    assert in_parts.observations_read == len(READINGS)
    assert in_parts.rejected == whole.rejected
    assert in_parts.outside_city == whole.outside_city == ["Paris (P1)"]
    quarantined = pd.read_csv(in_parts.quarantine_file)
    assert sorted(quarantined["reason"]) == sorted(pd.read_csv(whole.quarantine_file)["reason"])
    assert (parts_pack.manifest("air").observations, parts_pack.manifest("air").entities) == (5, 3)
    staging = parts_pack.extracts_dir / ".staging"
    assert not staging.exists() or not any(staging.iterdir()), "the parts are cleaned up"


def test_an_entity_in_two_parts_is_published_once_and_the_repeat_rejected(tmp_path):
    from conftest import make_tiny_pack

    pack = make_tiny_pack(tmp_path / "pack")
    site = entities(("A1", "Camden Road", "Roadside", CAMDEN))
    parts = [Extract(site, observations(("A1", "2026-03-01 10:00", "no2", 40))),
             Extract(site, observations(("A1", "2026-03-01 10:00", "no2", 41)))]
    report = publish_parts(parts, "air", pack)
    kept = read_table(pack.extract_path("air"))
    assert kept["value"].tolist() == [40.0]
    assert report.rejected["duplicate entity id"] == 1
    assert report.rejected["unknown or rejected entity"] == 1


def test_demo_tiles_have_their_own_ids_and_add_up(tmp_path):
    from citydash import demo

    catalog = load_catalog(PACK, extracts_dir=tmp_path / "extracts")
    tiles = list(demo.generate_parts(catalog, "road_traffic", scale=0.5, days=3, part_scale=0.2))
    assert len(tiles) == 3
    ids = [set(tile.entities["entity_id"]) for tile in tiles]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])
    for tile, tile_ids in zip(tiles, ids):
        assert set(tile.observations["entity_id"].astype(str)) <= tile_ids
    one = list(demo.generate_parts(catalog, "road_traffic", scale=0.2, days=3, part_scale=1.0))
    whole = demo.generate(catalog, "road_traffic", scale=0.2, days=3)
    pd.testing.assert_frame_equal(one[0].observations, whole.observations)


# ---------------------------------------------------------------------------------------------
# The query time limit


def test_a_slow_query_is_stopped_at_the_time_limit(demo_catalog):
    database = Database(demo_catalog, timeout_s=0.5, queries_dir=TEST_QUERIES)
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="took longer than 0.5 s and was stopped"):
            database.run("slow_count", modulus=7)
        assert time.monotonic() - started < 10
        # The connection is still usable after the interrupt.
        assert len(database.run("demo_plausibility_groups")) == 2
    finally:
        database.close()


def test_a_page_whose_query_is_too_slow_says_so_instead_of_hanging(copy_of_demo, tmp_path, monkeypatch):
    queries = tmp_path / "queries"
    shutil.copytree(data.QUERIES_DIR, queries)
    shutil.copy(TEST_QUERIES / "slow_metric_by_borough.sql", queries / "metric_by_borough.sql")
    monkeypatch.setattr(data, "QUERIES_DIR", queries)
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(copy_of_demo))
    monkeypatch.setenv("CITYDASH_QUERY_TIMEOUT_S", "1")
    monkeypatch.chdir(REPO)
    started = time.monotonic()
    app = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert time.monotonic() - started < 45
    assert not app.exception, [exception.value for exception in app.exception]
    message = " ".join(error.value for error in app.error)
    assert "took longer than 1 s and was stopped" in message
    assert "Try a shorter date range" in message


# ---------------------------------------------------------------------------------------------
# Remote extracts


def test_remote_locations_are_recognised_even_after_path_folded_them():
    assert data.remote_url(Path("https://data.example.org/city/extracts")) == "https://data.example.org/city/extracts"
    assert data.remote_url("s3://bucket/extracts") == "s3://bucket/extracts"
    assert data.remote_url(Path("/srv/extracts")) is None
    assert data.remote_url(Path("data/extracts")) is None


def test_remote_extracts_without_httpfs_are_explained_not_a_traceback(monkeypatch):
    catalog = load_catalog(PACK, extracts_dir=Path("https://data.example.org/london/extracts"))
    database = Database(catalog)
    try:
        if "httpfs" in database.loaded_extensions():
            pytest.skip("DuckDB's httpfs extension is installed here: the message is for machines without it")
        messages = [problem.explain() for problem in database.problems]
        assert len(messages) == 1
        assert "https://data.example.org/london/extracts needs DuckDB's httpfs extension" in messages[0]
        assert "INSTALL httpfs" in messages[0]
        assert database.available == set()
    finally:
        database.close()
    monkeypatch.setenv("CITYDASH_EXTRACTS", "https://data.example.org/london/extracts")
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert any("needs DuckDB's httpfs extension" in error.value for error in app.error)


def test_the_browser_bench_opens_a_section_by_its_link():
    from citydash.bench_browser import page_url

    assert page_url("http://127.0.0.1:8501", "overview", True) == "http://127.0.0.1:8501/"
    assert page_url("http://127.0.0.1:8501", "transport", False) == "http://127.0.0.1:8501/transport"
    assert page_url("http://127.0.0.1:8501", "transport", False, "Cycle hire") == \
        "http://127.0.0.1:8501/transport?section=cycle-hire"
