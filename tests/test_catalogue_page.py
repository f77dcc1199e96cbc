"""The data catalogue page: its pure builders on literal rows, its queries on a tiny pack, and the
page under AppTest (provenance, freshness, broken extracts, and an officer's upload end to end)."""

from __future__ import annotations

import json
import shutil
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from citydash import catalogue_view as view
from citydash.catalog import Manifest
from citydash.ingest.errors import IngestError
from citydash.ingest.importer import MetricSpec
from conftest import BROMLEY, CAMDEN, PACK, REPO, entities, observations

ENTRY = REPO / "tests" / "apptest" / "entry.py"
PAGE = str(REPO / "pages" / "catalogue.py")
FIXTURES = REPO / "tests" / "fixtures" / "catalogue"
OFFICER_SECRETS = {"citydash": {"access": {"officer_emails": ["ana@council.gov.uk"]}}}
OFFICER = {"is_logged_in": True, "email": "ana@council.gov.uk", "email_verified": True}
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------
# Pure builders


def manifest(refreshed: datetime) -> Manifest:
    return Manifest(refreshed=refreshed, observations=1, entities=1, start=None, end=None)


def test_freshness_says_stale_in_words_against_the_datasets_own_interval(tiny_pack):
    air = tiny_pack.datasets["air"]  # refresh_days defaults to 30
    fresh = view.freshness(air, manifest(NOW - timedelta(days=3)), NOW, "Europe/London")
    stale = view.freshness(air, manifest(NOW - timedelta(days=41)), NOW, "Europe/London")
    never = view.freshness(air, None, NOW, "Europe/London")
    assert (fresh.stale, fresh.badge, fresh.expected) == (False, "Up to date", "every 30 days")
    assert (stale.stale, stale.badge) == (True, "Stale") and "(41 days ago)" in stale.refreshed
    assert (never.stale, never.refreshed) == (None, "never")
    # Manifests without a zone are UTC; the page shows the city's local time (BST in July).
    summer = view.freshness(air, manifest(datetime(2025, 7, 1, 9, 30)), datetime(2025, 7, 1, 12, tzinfo=timezone.utc),
                            "Europe/London")
    assert summer.refreshed == "01 Jul 2025 10:30 (today)"


def test_coverage_and_borough_texts():
    assert view.coverage_text(pd.Timestamp("2025-11-01"), pd.Timestamp("2026-02-28")) == "01 Nov 2025 to 28 Feb 2026"
    assert view.coverage_text(pd.Timestamp("2019-01-01"), pd.Timestamp("2019-01-01")) == "01 Jan 2019"
    assert view.coverage_text(None, pd.NaT) == "no readings"
    assert view.boroughs_text(["Camden", "Hackney"], 33, "boroughs") == "2 of 33 boroughs: Camden, Hackney"
    assert view.boroughs_text([f"B{i}" for i in range(10)], 33, "boroughs", shown=3) == \
        "10 of 33 boroughs: B0, B1, B2 and 7 more"
    assert view.boroughs_text(["x"] * 33, 33, "boroughs") == "all 33 boroughs"
    assert view.boroughs_text([], 33, "boroughs") == "none of the 33 boroughs"


def test_count_bins_and_legend_use_whole_numbers():
    bins = view.count_bins(pd.Series([1.0, 5.0, 9.0, None]))
    assert [(b.low, b.high) for b in bins] == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 9)]
    assert [(b.low, b.high) for b in view.count_bins(pd.Series([2.0, 2.0]))] == [(2, 2)]
    assert [(b.low, b.high) for b in view.count_bins(pd.Series([1.0, 2.0]))] == [(1, 1), (2, 2)]
    assert [(b.low, b.high) for b in view.count_bins(pd.Series([3.0, 100.0]))][0] == (3, 22)
    assert view.count_bins(pd.Series([], dtype=float)) == []
    legend = view.count_legend_html("Places <of> air", bins, "places", has_missing=True)
    assert "1 to 2 places" in legend and "9 places" in legend and "none" in legend
    assert "<of>" not in legend and "&lt;of&gt;" in legend
    assert view.count_text(1, "places") == "1 place" and view.count_text(1204, "places") == "1,204 places"


def test_coverage_values_list_every_area_and_the_sentence_describes_the_map():
    areas = pd.DataFrame({"borough_code": ["A", "B", "C"], "borough_name": ["Ayr", "Bute", "Crail"]})
    coverage = pd.DataFrame({"dataset": ["d", "d", "other"], "borough_code": ["A", "C", "B"],
                             "borough_name": ["Ayr", "Crail", "Bute"], "entities": [2, 5, 1],
                             "observations": [20, 50, 10]})
    values = view.coverage_values(coverage, "d", areas)
    assert values["value"].tolist()[0] == 2 and pd.isna(values["value"].tolist()[1])
    assert values["observations"].tolist() == [20, 0, 50] and values["entities"].tolist() == [2, 0, 5]
    assert view.coverage_sentence(values, "Libraries", "boroughs") == (
        "Libraries has 7 places in 2 of the 3 boroughs; the most are in Crail (5). Boroughs in grey have none.")


def test_the_coverage_sentence_says_a_tie_as_a_tie_not_the_first_name_alphabetically():
    areas = pd.DataFrame({"borough_code": ["A", "B", "C", "D"], "borough_name": ["Ayr", "Bute", "Crail", "Dunoon"]})

    def sentence(counts):
        coverage = pd.DataFrame({"dataset": "d", "borough_code": list(counts), "entities": list(counts.values()),
                                 "observations": 10})
        return view.coverage_sentence(view.coverage_values(coverage, "d", areas), "Libraries", "boroughs")

    assert sentence({"A": 1, "B": 1, "C": 1, "D": 1}) == "Libraries has 4 places in 4 of the 4 boroughs; each has 1 place."
    assert sentence({"A": 2, "B": 2, "C": 1}) == (
        "Libraries has 5 places in 3 of the 4 boroughs; the most (2 each) are in Ayr and Bute. "
        "Boroughs in grey have none.")


def test_catalogue_text_cannot_become_markup_or_a_script_link():
    assert view.md("[click](javascript:alert(1))") == "\\[click\\]\\(javascript\\:alert\\(1\\)\\)"
    assert view.md(":red[alarm]").startswith("\\:red\\[")
    assert view.web_link("javascript:alert(1)") is None
    assert view.web_link("https://example.org/data") == "https://example.org/data"
    assert view.web_link("https://example.org/a b") is None


def test_only_officers_may_import():
    assert view.import_refusal("officer") is None
    assert "council officers" in view.import_refusal("public")


def form(**changes) -> view.ImportForm:
    fields = dict(dataset=" households ", title="Households", licence="ogl3", publisher="Camden Council",
                  attribution="OGL.", unit="households", metric="households", metric_label="Households")
    return view.ImportForm(**{**fields, **changes})


def test_the_form_becomes_the_same_request_as_the_cli_options():
    request = view.request_from_form(Path("/tmp/x.csv"), form(wide=True, date_column=" Year "), "Europe/London")
    assert request.dataset == "households" and request.unit == "households"
    assert request.metrics == (MetricSpec(id="households", label="Households", unit="households",
                                          aggregation="mean", better="higher"),)
    assert dict(request.reading) == {"timezone": "Europe/London", "date_column": "Year", "wide": True}
    mapped = view.request_from_form(Path("/tmp/x.csv"), form(metric="", mappings="NO2=no2:NO₂:µg/m³\n\nPM10=pm10\n"),
                                    "Europe/London")
    assert [(spec.source, spec.id) for spec in mapped.metrics] == [("NO2", "no2"), ("PM10", "pm10")]
    with pytest.raises(IngestError, match="not both"):
        view.request_from_form(Path("/tmp/x.csv"), form(mappings="NO2=no2"), "Europe/London")
    with pytest.raises(IngestError, match="not a valid metric id"):
        view.request_from_form(Path("/tmp/x.csv"), form(metric="Households"), "Europe/London")


# ---------------------------------------------------------------------------------
# Queries and entries on a tiny pack


def test_queries_and_entries_on_literal_rows(published, tiny_pack):
    database = published(
        "air",
        entities(("A1", "Camden Road", "Roadside", CAMDEN), ("A2", "Camden Town", "Roadside", CAMDEN),
                 ("A3", "Bromley", "Suburban", BROMLEY)),
        observations(("A1", "2026-03-01 10:00", "no2", 40), ("A1", "2026-03-01 11:00", "no2", 42),
                     ("A2", "2026-03-02 10:00", "no2", 30), ("A3", "2026-03-05 10:00", "no2", 10)))
    counts = database.run("catalogue_datasets")
    assert counts.to_dict("records") == [{"dataset": "air", "entities": 3, "observations": 4, "metrics": 1,
                                          "boroughs": 2, "first_day": pd.Timestamp("2026-03-01"),
                                          "last_day": pd.Timestamp("2026-03-05")}]
    coverage = database.run("catalogue_borough_coverage")
    assert list(zip(coverage["borough_name"], coverage["entities"], coverage["observations"])) == [
        ("Bromley", 1, 1), ("Camden", 2, 3)]
    metric_counts = database.run("catalogue_metrics")
    assert metric_counts[["metric", "entities", "observations"]].values.tolist() == [["no2", 3, 4]]

    public = view.catalogue_entries(tiny_pack, "public", database.available, database.unpublished, {},
                                    counts, coverage, metric_counts, NOW)
    assert [(entry.dataset.id, entry.status) for entry in public] == [("air", "Published")]
    air = public[0]
    assert (air.entities, air.observations, air.coverage) == (3, 4, "01 Mar 2026 to 05 Mar 2026")
    assert air.borough_names == ("Bromley", "Camden") and air.kind == "Real"
    assert air.freshness.badge == "Up to date"
    assert air.metric_lines == ("NO2 (µg/m³), mean over time: 4 observations at 3 places, 01 Mar 2026 to 05 Mar 2026",)

    officer_counts = database.run("catalogue_datasets", access="officer")
    officer = view.catalogue_entries(tiny_pack, "officer", database.available, database.unpublished,
                                     {}, officer_counts, coverage, metric_counts, NOW + timedelta(days=60))
    assert [(entry.dataset.id, entry.status) for entry in officer] == [("air", "Published"),
                                                                        ("counts", "Not ingested yet")]
    assert view.status_badge(officer[0])[0] == "Stale: older than expected"
    assert view.status_badge(officer[1])[0] == "Not ingested yet"
    table = view.summary_table(officer, 33)
    assert table[["Id", "Status", "Areas covered", "Data", "Access"]].values.tolist() == [
        ["air", "Published", "2 of 33", "Real", "public"],
        ["counts", "Not ingested yet", "", "Synthetic (demo)", "officer"]]
    assert table.loc[0, "Places"] == 3 and pd.isna(table.loc[1, "Places"])
    assert table.loc[0, "Attribution"] == "Test attribution."


def test_a_dataset_that_cannot_be_loaded_is_an_entry_with_its_reason(tiny_pack):
    empty = pd.DataFrame(columns=["dataset", "entities", "observations", "metrics", "boroughs", "first_day",
                                  "last_day"])
    entries = view.catalogue_entries(tiny_pack, "officer", set(), {"counts"}, {"air": "air: air.parquet is missing."},
                                     empty, pd.DataFrame(columns=["dataset", "borough_name"]),
                                     pd.DataFrame(columns=["dataset", "metric"]), NOW)
    assert [(entry.dataset.id, entry.status, entry.problem) for entry in entries] == [
        ("air", "Cannot be loaded", "air: air.parquet is missing."), ("counts", "Not ingested yet", None)]
    assert view.status_badge(entries[0])[:2] == ("Cannot be loaded", "red")


# ---------------------------------------------------------------------------------
# The page under AppTest


@pytest.fixture
def pack(tmp_path, copy_of_demo, monkeypatch) -> Path:
    """The London catalogue and boundaries in a writable pack, over a writable copy of the demo data."""
    folder = tmp_path / "pack"
    (folder / "boundaries").mkdir(parents=True)
    shutil.copy(PACK / "catalog.toml", folder)
    shutil.copy(PACK / "boundaries" / "london_boroughs.geojson", folder / "boundaries")
    monkeypatch.setenv("CITYDASH_PACK", str(folder))
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(copy_of_demo))
    monkeypatch.chdir(REPO)
    return folder


def catalogue_page(officer: bool = False) -> AppTest:
    app = AppTest.from_file(str(ENTRY), default_timeout=90)
    if officer:
        app.secrets = OFFICER_SECRETS
        app.user = OFFICER
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


def page_text(app: AppTest) -> str:
    parts = [element.value for element in app.markdown] + [element.value for element in app.caption]
    parts += [element.value for element in app.code] + [element.value for element in app.title]
    parts += [element.value for element in app.info] + [element.value for element in app.error]
    return "\n".join(str(part) for part in parts)


def test_the_public_catalogue_lists_provenance_and_freshness_but_no_upload(pack):
    app = catalogue_page()
    text = page_text(app)
    assert "Data catalogue" in text
    for dataset in ("air_quality", "stations", "cycle_hire", "road_traffic", "street_sensors"):
        assert f"id `{dataset}`" in text
    assert "Synthetic demo data generated by citydash; not real measurements." in [code.value for code in app.code]
    assert text.count(":green-badge[:material/check_circle: Up to date]") == 5
    assert "**Time coverage:** 01 Nov 2025 to 15 Dec 2025" in text
    assert "**Boroughs covered:**" in text and "Synthetic \\(demo\\)" in text
    assert len(app.get("file_uploader")) == 0
    assert any("Importing data is for council officers" in info.value for info in app.info)
    table = app.dataframe[0].value
    assert sorted(table["Id"]) == ["air_quality", "cycle_hire", "road_traffic", "stations", "street_sensors"]
    assert (table["Observations"] > 0).all()


def test_a_corrupt_extract_is_reported_on_the_page_and_the_rest_is_listed(pack, copy_of_demo):
    damaged = copy_of_demo / "stations.parquet"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 3])
    app = catalogue_page()
    text = page_text(app)
    assert "stations.parquet cannot be read as parquet" in text
    assert ":red-badge[:material/error: Cannot be loaded]" in text
    assert text.count(":green-badge[:material/check_circle: Up to date]") == 4
    statuses = app.dataframe[0].value.set_index("Id")["Status"]
    assert statuses["stations"] == "Cannot be loaded" and statuses["air_quality"] == "Published"


def test_a_stale_dataset_carries_a_stale_badge_in_words(pack, copy_of_demo):
    path = copy_of_demo / "air_quality.manifest.json"
    raw = json.loads(path.read_text())
    raw["refreshed"] = "2025-12-01T08:00:00+00:00"
    path.write_text(json.dumps(raw))
    app = catalogue_page()
    text = page_text(app)
    assert ":orange-badge[:material/schedule: Stale: older than expected]" in text
    assert "refreshed 01 Dec 2025 08\\:00" in text
    assert [metric.value for metric in app.metric if metric.label == "Stale"] == ["1"]


def test_the_coverage_map_follows_the_chosen_dataset(pack):
    app = catalogue_page()
    assert len(app.get("deck_gl_json_chart")) == 1
    app.selectbox(key="catalogue_coverage_dataset").set_value("cycle_hire").run()
    assert not app.exception
    table = app.dataframe[1].value
    assert 0 < (table["entities"] > 0).sum() < 33, "demo cycle hire is in inner London only"
    assert any("Cycle hire docks (demo) has" in caption.value for caption in app.caption)


def test_the_coverage_choice_round_trips_through_the_link(pack):
    app = catalogue_page()
    assert app.query_params["coverage"] in ("air_quality", ["air_quality"]), "the default is in the link too"
    app.selectbox(key="catalogue_coverage_dataset").set_value("cycle_hire").run()
    assert app.query_params["coverage"] in ("cycle_hire", ["cycle_hire"])
    assert "coverage=cycle_hire" in app.sidebar.code[0].value, "the link to share carries the choice"

    opened = AppTest.from_file(str(ENTRY), default_timeout=90)
    opened.query_params["coverage"] = "cycle_hire"
    opened.switch_page(PAGE).run()
    assert not opened.exception, [exception.value for exception in opened.exception]
    assert opened.selectbox(key="catalogue_coverage_dataset").value == "cycle_hire"
    assert any("Cycle hire docks (demo) has" in caption.value for caption in opened.caption)
    assert not any("in the link" in info.value for info in opened.info)


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "laqn", "x" * 5000, "air_quality'--"])
def test_a_hostile_or_unpublished_coverage_choice_in_a_link_falls_back_with_a_notice(pack, hostile):
    app = AppTest.from_file(str(ENTRY), default_timeout=90)
    app.query_params["coverage"] = hostile
    app.switch_page(PAGE).run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert app.selectbox(key="catalogue_coverage_dataset").value == "air_quality"
    notices = [info.value for info in app.info if "in the link" in info.value]
    assert len(notices) == 1 and "no published dataset has that id" in notices[0]
    assert "<script>" not in notices[0] and len(notices[0]) < 200
    assert app.query_params["coverage"] in ("air_quality", ["air_quality"])


def test_the_coverage_choice_from_a_link_on_literal_values():
    ids = ["air", "bikes"]
    assert view.coverage_choice_from_param(None, ids, "air") == ("air", ())
    assert view.coverage_choice_from_param(" bikes ", ids, "air") == ("bikes", ())
    choice, notices = view.coverage_choice_from_param("[x](javascript:1)", ids, "air")
    assert choice == "air" and notices == ("Ignored the dataset '?x??javascript:1?' in the link: no published "
                                           "dataset has that id.",)


def fill_upload_form(app: AppTest, name: str, content: bytes, **fields) -> AppTest:
    app.get("file_uploader")[0].set_value((name, content, "text/csv"))
    for key, value in fields.items():
        if isinstance(value, bool):
            app.checkbox(key=f"catalogue_import_{key}").set_value(value)
        else:
            app.text_input(key=f"catalogue_import_{key}").input(value)
    return app


HOUSEHOLDS = dict(dataset="households", title="Households by borough", metric="households",
                  metric_label="Households", unit="households", publisher="Camden Council",
                  wide=True)


def test_an_officer_uploads_checks_and_publishes_a_csv(pack):
    app = catalogue_page(officer=True)
    fill_upload_form(app, "households_wide_years.csv", (FIXTURES / "households_wide_years.csv").read_bytes(),
                     **HOUSEHOLDS)
    app.text_area(key="catalogue_import_attribution").input("Contains public sector information.")
    app.button(key="catalogue_import_check").click().run()
    assert not app.exception, [exception.value for exception in app.exception]
    report = "\n".join(code.value for code in app.code)
    assert "Read households_wide_years.csv: 3 data rows" in report
    assert "Kept 3 rows as 6 observations of 1 metric (households)" in report
    assert "'[x]' 1" in report and "Catalogue entry (a new entry)" in report
    assert not (pack / "catalog.d").exists(), "the check writes nothing"

    app.button(key="catalogue_publish").click().run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert any("Imported and published" in success.value for success in app.success)
    written = tomllib.loads((pack / "catalog.d" / "households.toml").read_text(encoding="utf-8"))
    assert written["datasets"]["households"]["title"] == "Households by borough"
    assert written["datasets"]["households"]["access"] == "officer"
    assert "id `households`" in page_text(app)
    assert "households" in app.dataframe[0].value["Id"].tolist()
    options = app.sidebar.selectbox(key="filters_metric").options
    assert any("Households" in option for option in options), "the data layer sees the new dataset"


def test_a_file_that_cannot_be_imported_shows_why_and_offers_no_publish(pack):
    app = catalogue_page(officer=True)
    fill_upload_form(app, "unknown_boroughs.csv", (FIXTURES / "unknown_boroughs.csv").read_bytes(),
                     dataset="visits", title="Visits", unit="visits", publisher="Camden Council")
    app.text_area(key="catalogue_import_attribution").input("OGL.")
    app.button(key="catalogue_import_check").click().run()
    assert not app.exception
    message = " ".join(error.value for error in app.error)
    assert "'Hackny' is not a known borough name; nearest: 'Hackney'" in message
    assert not any(button.key == "catalogue_publish" for button in app.button)


def test_changing_the_form_after_the_check_asks_for_a_new_check(pack):
    app = catalogue_page(officer=True)
    fill_upload_form(app, "households_wide_years.csv", (FIXTURES / "households_wide_years.csv").read_bytes(),
                     **HOUSEHOLDS)
    app.text_area(key="catalogue_import_attribution").input("OGL.")
    app.button(key="catalogue_import_check").click().run()
    assert any(button.key == "catalogue_publish" for button in app.button)
    app.text_input(key="catalogue_import_title").input("Another title")
    app.button(key="catalogue_import_check").click().run()
    app.get("file_uploader")[0].set_value(("other.csv", b"Borough,Year,N\nCamden,2020,1\n", "text/csv")).run()
    assert any("changed since the last check" in info.value for info in app.info)
    assert not any(button.key == "catalogue_publish" for button in app.button)


def test_every_chart_on_the_overview_carries_its_source_note(pack):
    app = AppTest.from_file(str(ENTRY), default_timeout=90).run()
    notes = [caption.value for caption in app.caption if "Source:" in caption.value and "Licence:" in caption.value]
    assert len(notes) >= 3, "map, ranking and trend each carry a source note"
