"""The About page: its sources table and notes come from the catalogue, and it follows the metric filter."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from citydash import about
from conftest import REPO, make_tiny_pack

ENTRY = REPO / "tests" / "apptest" / "entry.py"


@pytest.fixture
def tiny(tmp_path):
    return make_tiny_pack(tmp_path / "pack")


def test_the_sources_table_has_one_row_per_dataset_with_its_publisher_licence_and_kind(tiny):
    table = about.sources_table(list(tiny.datasets.values()), {"air"}, lambda dataset: f"fresh {dataset.id}")
    assert list(table.columns) == list(about.SOURCE_COLUMNS)
    rows = table.set_index("dataset").to_dict("index")
    assert rows["Test air"] == {"subject": "Environment", "publisher": "Test publisher",
                                "licence": "Open Government Licence v3.0", "kind": "Real", "published": "Yes",
                                "refreshed": "fresh air", "source": None}
    assert rows["Test counts"]["kind"] == "Synthetic (demo)"
    assert rows["Test counts"]["published"] == "Not yet" and rows["Test counts"]["refreshed"] == ""


def test_the_sources_sentence_counts_datasets_published_and_synthetic(tiny):
    datasets = list(tiny.datasets.values())
    assert about.sources_sentence(about.sources_table(datasets, {"air"}, str)) == \
        "2 datasets in the catalogue, 1 with data on this server."
    assert about.sources_sentence(about.sources_table(datasets, {"air", "counts"}, str)) == \
        "2 datasets in the catalogue, 2 with data on this server, of which 1 is synthetic demo data."


def test_metric_notes_explain_aggregation_direction_and_synthetic_data(tiny):
    capacity = tiny.metric("counts", "capacity")
    notes = about.metric_notes(capacity, tiny.datasets["counts"], tiny)
    assert notes[0] == ("Capacity is measured in docks. Over a period, each site's readings are reduced to their "
                        "highest value; a borough's figure is the total of its sites' figures, and the whole of "
                        "Testville is worked out the same way.")
    assert any("does not judge" in note for note in notes)
    assert any("Test counts is synthetic demo data" in note for note in notes)
    assert notes[-1] == "Source: Test publisher. Licence: Open Government Licence v3.0."


def test_metric_notes_for_a_real_lower_is_better_metric(tiny):
    no2 = tiny.metric("air", "no2")
    notes = about.metric_notes(no2, tiny.datasets["air"], tiny)
    assert "Lower is better" in notes[2]
    assert not any("synthetic" in note for note in notes)


def test_the_general_limits_use_the_citys_own_words_for_its_areas(tiny):
    limits = " ".join(about.general_limits(tiny))
    assert "one borough's residents" in limits and "league table of boroughs" in limits


def test_the_about_page_lists_the_catalogue_and_follows_the_metric_filter(demo_extracts, monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.chdir(REPO)
    app = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    app.switch_page(str(REPO / "pages" / "about.py")).run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert app.title[0].value == "About this dashboard"
    sources = app.dataframe[0].value
    assert "Air quality monitoring (demo)" in set(sources["dataset"])
    assert set(sources.loc[sources["published"] == "Yes", "kind"]) == {"Synthetic (demo)"}
    assert any("Nitrogen dioxide" in header.value for header in app.header)
    app.sidebar.selectbox(key="filters_metric").set_value("stations.entries").run()
    assert not app.exception
    assert any("Station entries figures can tell you" in header.value for header in app.header)
