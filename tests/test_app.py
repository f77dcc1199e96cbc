"""The app under Streamlit's AppTest: every page runs without an exception, and a filter change
re-runs it with the new selection."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO

ENTRY = REPO / "tests" / "apptest" / "entry.py"
PAGES = sorted(path.name for path in (REPO / "pages").glob("*.py"))


@pytest.fixture
def app(demo_extracts, monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(ENTRY), default_timeout=60)


def texts(app: AppTest) -> str:
    parts = [element.value for element in app.markdown] + [element.value for element in app.caption]
    parts += [element.value for element in app.title] + [element.value for element in app.subheader]
    return "\n".join(str(part) for part in parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_and_reruns_after_a_filter_change(app, page):
    app.run()
    if page != "overview.py":
        app.switch_page(str(REPO / "pages" / page)).run()
    assert not app.exception, [exception.value for exception in app.exception]
    app.sidebar.multiselect(key="filters_boroughs").set_value(["E09000007"]).run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert app.query_params["boroughs"] in (["E09000007"], "E09000007")


def test_overview_shows_map_legend_table_banner_and_footer(app):
    app.run()
    assert not app.exception
    page_text = texts(app)
    assert "London at a glance" in page_text
    assert any("Demo data, not real measurements" in warning.value for warning in app.warning)
    assert "Sources and licences" in page_text and "Open Government Licence" in page_text
    assert "Synthetic demo data" in page_text
    assert len(app.dataframe) >= 1 and len(app.dataframe[0].value) == 33
    assert any("highest in" in caption.value for caption in app.caption)


def test_overview_kpis_follow_the_borough_filter(app):
    app.run()
    before = [metric.value for metric in app.metric]
    app.sidebar.multiselect(key="filters_boroughs").set_value(["E09000033"]).run()
    after = [metric.value for metric in app.metric]
    assert before[1] == after[1], "the city figure does not depend on the selection"
    assert before[0] != after[0]
    assert "Westminster" in app.metric[0].label


def test_metric_change_changes_the_units_shown(app):
    app.run()
    app.sidebar.selectbox(key="filters_metric").set_value("stations.entries").run()
    assert not app.exception
    assert "people" in app.metric[1].value


def test_a_missing_extract_is_explained_not_a_traceback(copy_of_demo, monkeypatch):
    (copy_of_demo / "air_quality.parquet").unlink()
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(copy_of_demo))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert not app.exception
    message = " ".join(error.value for error in app.error)
    assert "air_quality.parquet is missing" in message and "python -m citydash demo" in message


def test_no_data_at_all_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(tmp_path / "empty"))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert not app.exception
    assert any("make run" in warning.value for warning in app.warning)


def test_with_no_data_the_catalogue_still_opens_so_an_officer_can_add_the_first_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(tmp_path / "empty"))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(ENTRY), default_timeout=60)
    app.secrets = {"citydash": {"access": {"officer_emails": ["ana@council.gov.uk"]}}}
    app.user = {"is_logged_in": True, "email": "ana@council.gov.uk", "email_verified": True}
    app.run()
    assert any("make run" in warning.value for warning in app.warning)
    app.switch_page(str(REPO / "pages" / "catalogue.py")).run()
    assert not app.exception, [error.value for error in app.exception]
    assert [title.value for title in app.title] == ["Data catalogue"]
    assert not any("make run" in warning.value for warning in app.warning)
    assert len(app.get("file_uploader")) == 1


@pytest.mark.parametrize("text, limit", [(None, "512MB"), ("2GB", "2GB"), (" 700 MB ", "700 MB"), ("1.5GiB", "1.5GiB"),
                                         ("lots", "512MB"), ("-1GB", "512MB"), ("512MB; drop table x", "512MB")])
def test_the_duckdb_memory_limit_comes_from_the_environment_or_is_the_default(text, limit):
    from citydash.ui import duckdb_memory

    assert duckdb_memory(text) == limit


def test_the_server_database_keeps_to_its_memory_limit(copy_of_demo, monkeypatch):
    from citydash import ui

    monkeypatch.setenv(ui.DUCKDB_MEMORY_ENV, "300MB")
    config = ui.settings()
    # The function st.cache_resource wraps, so this test opens its own database.
    database = ui._database.__wrapped__(config.pack_dir, config.extracts_dir, config.query_timeout_s,
                                        config.duckdb_memory)
    try:
        # DuckDB reports 300 MB (10^6 bytes) in MiB.
        assert database.cursor().execute("select current_setting('memory_limit')").fetchone()[0] == "286.1 MiB"
    finally:
        database.close()


def queries_run_together(calls: list) -> None:
    """An app script: the calls through ui.run_together, then each through ui.run_keyed."""
    import threading

    import streamlit as st

    from citydash import data, ui

    threads = []
    plain_run = data.Database.run
    # Each query waits until all have started: they can only all start if they run at once. Without
    # it, a worker that finished its query before the next was handed out could take that one too,
    # and on a busy machine all three ran on one thread.
    all_started = threading.Barrier(len(calls), timeout=20)

    def noting_thread(self, query, access="public", **params):
        threads.append(threading.current_thread().name)
        all_started.wait()
        return plain_run(self, query, access, **params)

    ui._cached_run.clear()  # every call is then a miss that runs its query, here or in another test
    data.Database.run = noting_thread
    try:
        st.session_state["together"] = ui.run_together(*calls)
    finally:
        data.Database.run = plain_run
    st.session_state["threads"] = threads
    st.session_state["script_thread"] = threading.current_thread().name
    st.session_state["one_at_a_time"] = [ui.run_keyed(query, **params) for query, params in calls]


def test_queries_run_together_answer_as_each_alone_and_each_on_its_own_thread(demo_extracts, demo_database,
                                                                              monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.chdir(REPO)
    first, last = demo_database.run("data_coverage").iloc[0][["first_day", "last_day"]]
    period = {"start": first.date(), "end": last.date()}
    calls = [("metric_by_borough", dict(dataset="air_quality", metric="no2", aggregation="mean",
                                        area_aggregation="mean", **period)),
             ("transport_entity_metrics", dict(dataset="stations", metrics=["entries", "exits"], **period)),
             ("boroughs", {})]
    app = AppTest.from_function(queries_run_together, args=(calls,), default_timeout=60).run()
    assert not app.exception, [exception.value for exception in app.exception]
    together, alone = app.session_state["together"], app.session_state["one_at_a_time"]
    assert [key for _, key in together] == [key for _, key in alone]
    for (query, params), (frame, _) in zip(calls, together):
        assert len(frame) > 0, query
        pd.testing.assert_frame_equal(frame, demo_database.run(query, **params))
    # Each query on its own worker thread, none on the script's.
    threads = app.session_state["threads"]
    assert len(threads) == 3 and len(set(threads)) == 3
    assert all(name.startswith("citydash-query") for name in threads)
    assert app.session_state["script_thread"] not in threads
