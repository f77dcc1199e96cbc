"""The compare page under AppTest: a shared link reproduces the comparison, hostile links fall back
with a notice, the differences are stated in words that agree with the overview's query, and every
chart offers its data as CSV and itself as PNG."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO

ENTRY = REPO / "tests" / "apptest" / "entry.py"
COMPARE = str(REPO / "pages" / "compare.py")


@pytest.fixture
def app(demo_extracts, monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(ENTRY), default_timeout=90)


def open_link(app: AppTest, **params) -> AppTest:
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page(COMPARE)
    return app.run()


def words(app: AppTest) -> str:
    return " ".join(element.value for element in app.markdown).replace("\\", "")


def test_a_shared_link_reproduces_the_comparison(app):
    open_link(app, compare="E09000007,E09000019,E09000033", metric="air_quality.no2", start="2025-11-10",
              end="2025-11-30")
    assert not app.exception, [exception.value for exception in app.exception]
    assert app.multiselect(key="compare_boroughs").value == ["E09000007", "E09000019", "E09000033"]
    assert app.sidebar.selectbox(key="filters_metric").value == "air_quality.no2"
    assert app.sidebar.date_input(key="filters_dates").value == (date(2025, 11, 10), date(2025, 11, 30))
    assert app.query_params["compare"] in ("E09000007,E09000019,E09000033", ["E09000007,E09000019,E09000033"])
    assert len(app.dataframe) == 1 and len(app.dataframe[0].value) == 3
    assert "compare=E09000007,E09000019,E09000033" in app.sidebar.code[0].value


def test_the_differences_in_words_agree_with_the_overview_query(app, demo_database):
    open_link(app, compare="E09000007,E09000019", metric="air_quality.no2", start="2025-11-10", end="2025-11-30")
    values = demo_database.run("metric_by_borough", dataset="air_quality", metric="no2", aggregation="mean",
                               area_aggregation="mean", start=date(2025, 11, 10),
                               end=date(2025, 11, 30)).set_index("borough_code")["value"]
    camden, islington = values["E09000007"], values["E09000019"]
    high, low = ("Camden", "Islington") if camden > islington else ("Islington", "Camden")
    ratio = max(camden, islington) / min(camden, islington)
    expected = (f"{ratio:.1f} times as high as" if ratio >= 2 else f"{100 * (ratio - 1):.0f}% higher than"
                if ratio - 1 >= 0.005 else "about the same as")
    sentence = next(line for line in words(app).split("\n") if "Nitrogen dioxide" in line and "was" in line)
    assert f"{high} was {expected} {low}" in sentence
    assert "from 10 to 30 Nov 2025" in sentence
    assert re.search(r"\d+(th|st|nd|rd) highest of 33 boroughs|the (highest|lowest) of 33 boroughs", words(app))


def test_a_hostile_link_falls_back_to_the_highest_and_lowest_with_a_notice(app, demo_database):
    open_link(app, compare="E09000007,<script>alert(1)</script>", metric="stations.entries",
              start="2025-11-10", end="2025-11-30")
    assert not app.exception
    notices = " ".join(info.value for info in app.info)
    assert "Ignored unknown area code" in notices and "fewer than 2 known areas" in notices
    assert "<script>" not in notices
    values = demo_database.run("metric_by_borough", dataset="stations", metric="entries", aggregation="sum",
                               area_aggregation="sum", start=date(2025, 11, 10), end=date(2025, 11, 30))
    ranked = values.dropna(subset=["value"]).sort_values("value", ascending=False)["borough_code"].tolist()
    assert app.multiselect(key="compare_boroughs").value == [ranked[0], ranked[-1]]


def test_one_borough_is_not_a_comparison(app):
    open_link(app, compare="E09000007,E09000019")
    app.multiselect(key="compare_boroughs").set_value(["E09000007"]).run()
    assert not app.exception
    assert any("at least two" in info.value for info in app.info)
    assert app.query_params["compare"] in ("E09000007", ["E09000007"])


def test_every_chart_has_its_csv_and_a_png_button(app):
    open_link(app, compare="E09000007,E09000019")
    keys = {button.key for button in app.get("download_button")}
    assert {"compare_download_table", "compare_download_daily"} <= keys
    charts = app.get("plotly_chart")
    assert len(charts) == 2
    for chart in charts:
        config = json.loads(chart.proto.config)
        assert config["toImageButtonOptions"]["format"] == "png"
        assert config.get("displayModeBar") is not False
        figure = json.loads(chart.proto.spec)
        assert figure["layout"]["yaxis"]["rangemode"] == "tozero"


def test_choosing_boroughs_in_the_sidebar_filter_compares_them(app):
    open_link(app, compare="E09000007,E09000019")
    app.sidebar.multiselect(key="filters_boroughs").set_value(["E09000033", "E09000001", "E09000007"]).run()
    assert not app.exception
    assert app.multiselect(key="compare_boroughs").value == ["E09000033", "E09000001", "E09000007"]
    app.sidebar.multiselect(key="filters_boroughs").set_value(["E09000033"]).run()
    assert app.multiselect(key="compare_boroughs").value == ["E09000033", "E09000001", "E09000007"], \
        "one borough in the filter is not a comparison: the chosen ones stay"
