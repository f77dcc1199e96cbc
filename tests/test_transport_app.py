"""The transport page under AppTest: on the small demo pack, and end to end on the real TfL and
DfT samples ingested into a temporary pack. The page shows one section at a time (Stations by
default); a test opens the section it looks at with open_section."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from citydash.__main__ import main as citydash_main
from citydash.transport import SECTION_LABELS
from conftest import PACK, REPO, require_shared, section_opener

ENTRY = REPO / "tests" / "apptest" / "entry.py"
PAGE = str(REPO / "pages" / "transport.py")
# Camden, Hackney, Islington and Westminster; the demo has no docks in Westminster.
FOUR = ["E09000007", "E09000012", "E09000019", "E09000033"]
STATIONS, CYCLE_HIRE, ROAD_TRAFFIC, BY_BOROUGH = SECTION_LABELS
# Each section's map, by its point layer's id (the summary has none).
SECTION_MAPS = {STATIONS: {"stations"}, CYCLE_HIRE: {"docks"}, ROAD_TRAFFIC: {"count_points"}, BY_BOROUGH: set()}


open_section = section_opener("transport")


def texts(app: AppTest) -> str:
    parts = [element.value for element in app.markdown] + [element.value for element in app.caption]
    parts += [element.value for element in app.info] + [element.value for element in app.subheader]
    parts += [element.value for element in app.header]
    return "\n".join(str(part) for part in parts)


def decks(app: AppTest) -> dict[str, dict]:
    """Each map's deck spec by its point layer's id."""
    found = {}
    for element in app.get("deck_gl_json_chart"):
        spec = json.loads(element.proto.json)
        points = next(layer for layer in spec["layers"] if layer["@@type"] == "ScatterplotLayer")
        found[points["id"]] = spec
    return found


def points(spec: dict) -> list[dict]:
    return next(layer for layer in spec["layers"] if layer["@@type"] == "ScatterplotLayer")["data"]


def frame_with(app: AppTest, column: str) -> pd.DataFrame:
    return next(element.value for element in app.dataframe if column in element.value.columns)


def chart_titles(app: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in app.get("plotly_chart")]


def frames_with(app: AppTest, column: str) -> list[pd.DataFrame]:
    return [element.value for element in app.dataframe if column in element.value.columns]


@pytest.fixture
def app(demo_extracts, monkeypatch):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.chdir(REPO)
    test = AppTest.from_file(str(ENTRY), default_timeout=90)
    test.run()
    test.switch_page(PAGE).run()
    assert not test.exception, [exception.value for exception in test.exception]
    return test


def legends(app: AppTest) -> list[str]:
    return [element.proto.body for element in app.get("html") if "cd-legend" in element.proto.body
            and "figure" in element.proto.body]


def test_demo_page_has_three_maps_with_legends_tables_and_sources(app):
    charts = downloads = 0
    # Stations, the section a page without a link opens.
    page_text = texts(app)
    station_map = decks(app)["stations"]
    station_legend = next(legend for legend in legends(app) if "Station mode" in legend)
    for point in points(station_map):
        assert "rgb({r},{g},{b})".format(**point) in station_legend, "every point colour is in the legend"
    assert "The map shows" in page_text and "The busiest is" in page_text
    assert "has daily totals only" in page_text, "the demo has no time-of-day bands and says so"
    stations = frame_with(app, "weekend")
    for label, legend_title in ((STATIONS, "Station mode"), (CYCLE_HIRE, "Hires a day"),
                                (ROAD_TRAFFIC, "Cycles as a share of cars and cycles")):
        open_section(app, label)
        assert set(decks(app)) == SECTION_MAPS[label]
        assert any(legend_title in legend for legend in legends(app)), label
        assert any("Synthetic demo data" in caption.value for caption in app.caption), label
        charts += len(app.get("plotly_chart"))
        downloads += len(app.download_button)
    assert charts >= 7
    assert downloads >= 9
    open_section(app, BY_BOROUGH)
    summary = frame_with(app, "station_entries_exits_per_day")
    assert len(summary) == 33 and summary["stations"].fillna(0).sum() == len(stations)
    assert {"docks", "cycle_hires_per_day", "count_points", "cycle_percent"} <= set(summary.columns)
    assert len(app.download_button) == 1
    # The summary names its three sources, so the sidebar's list and the demo warning name them too.
    assert sum("Synthetic demo data" in caption.value for caption in app.caption) == 3


@pytest.mark.parametrize("label", SECTION_LABELS)
def test_each_section_renders_alone_on_the_demo_data(app, label):
    """Only the open section is drawn: its h2 and its map, none of the others', and only its sources
    are noted (a closed section runs none of its queries, so names none of its data)."""
    open_section(app, label)
    assert [text for level, text in headings(app) if level == 2] == [label]
    assert set(decks(app)) == SECTION_MAPS[label]
    assert [tab.label for tab in app.tabs if tab.label in SECTION_LABELS] == list(SECTION_LABELS), "all offered"
    noted = {title for title in ("Rail and tube station entries and exits (demo)", "Cycle hire docks (demo)",
                                 "Road traffic counts (demo)")
             if any(f", {title} ·" in caption.value for caption in app.caption)}
    expected = {STATIONS: {"Rail and tube station entries and exits (demo)"},
                CYCLE_HIRE: {"Cycle hire docks (demo)"}, ROAD_TRAFFIC: {"Road traffic counts (demo)"}}
    assert noted == expected.get(label, {"Rail and tube station entries and exits (demo)", "Cycle hire docks (demo)",
                                         "Road traffic counts (demo)"})


def test_maps_send_one_row_per_entity(app, demo_catalog):
    maps = {}
    for label in SECTION_LABELS[:3]:
        maps |= decks(open_section(app, label))
    entities = {dataset: len(pd.read_parquet(demo_catalog.extract_path(dataset, "entities")))
                for dataset in ("stations", "cycle_hire", "road_traffic")}
    assert len(points(maps["stations"])) == entities["stations"]
    assert len(points(maps["docks"])) == entities["cycle_hire"]
    assert len(points(maps["count_points"])) == entities["road_traffic"]
    for spec in maps.values():
        # No basemap: no provider, and pydeck's default-style sentinel rather than a style URL.
        assert spec.get("mapProvider") is None and "://" not in str(spec.get("mapStyle"))


def test_the_borough_filter_narrows_tables_and_fades_the_rest_of_the_map(app):
    app.sidebar.multiselect(key="filters_boroughs").set_value(["E09000007"]).run()
    assert not app.exception, [exception.value for exception in app.exception]
    mapped = frame_with(app, "weekend")
    stations = mapped[mapped["in_selection"]]
    assert len(stations) > 0 and set(stations["borough_name"]) == {"Camden"}
    assert "Camden" not in set(mapped.loc[~mapped["in_selection"], "borough_name"])
    station_points = points(decks(app)["stations"])
    assert len(station_points) == len(mapped), "the table lists every point on the map"
    assert sum(point["a"] == 225 for point in station_points) == len(stations)
    assert sum(point["a"] < 225 for point in station_points) > 0, "the other boroughs stay, faded"
    assert "in **Camden**" in texts(app)
    assert any(f"({len(stations)} in Camden)" in tab.label for tab in app.tabs)
    open_section(app, BY_BOROUGH)
    assert list(frame_with(app, "station_entries_exits_per_day")["borough_name"]) == ["Camden"]


def test_the_kept_station_table_follows_the_period(app):
    # The tables are cached on the queries that made them, not on their values: a new period must
    # rebuild them, and going back must give the first again.
    first = frame_with(app, "weekend").sort_values("name").reset_index(drop=True)
    start, end = app.sidebar.date_input(key="filters_dates").value
    app.sidebar.date_input(key="filters_dates").set_value((end - timedelta(days=6), end)).run()
    assert not app.exception, [exception.value for exception in app.exception]
    week = frame_with(app, "weekend").sort_values("name").reset_index(drop=True)
    assert not week["per_day"].equals(first["per_day"]), "a week's averages are not the quarter's"
    app.sidebar.date_input(key="filters_dates").set_value((start, end)).run()
    pd.testing.assert_frame_equal(frame_with(app, "weekend").sort_values("name").reset_index(drop=True), first)


def test_tube_lines_toggle_draws_the_overlay_with_its_attribution(app):
    assert not any("OpenStreetMap" in caption.value for caption in app.caption)
    app.checkbox(key="transport_show_tube").check().run()
    assert not app.exception
    for label in SECTION_LABELS[:3]:
        open_section(app, label)  # the toggles are above the sections: they hold for every one
        captions = [caption.value for caption in app.caption if "OpenStreetMap contributors" in caption.value]
        assert len(captions) == 1, f"{label}: the ODbL attribution is under the map that draws the lines"
        assert "Open Database License" in captions[0]
        (spec,) = decks(app).values()
        assert any(layer["id"] == "network_lines" for layer in spec["layers"])
        assert any(layer["id"] == "borough_outlines" for layer in spec["layers"])
    app.checkbox(key="transport_show_outlines").uncheck().run()
    for label in SECTION_LABELS[:3]:
        (spec,) = decks(open_section(app, label)).values()
        assert not any(layer["id"] == "borough_outlines" for layer in spec["layers"])
    assert app.checkbox(key="transport_show_tube").value is True


# ------------------------------------------------------------------------------------------------
# Headings: h1 the page, h2 its sections, h3 their parts, never a level skipped


def headings(app: AppTest) -> list[tuple[int, str]]:
    """Every heading in the page's main area in document order, as (level, text): st.title, st.header and
    st.subheader by the tag they render, and any markdown '#' or HTML <hN> heading."""
    found = []

    def walk(node) -> None:
        kind = getattr(node, "type", None)
        if kind in ("title", "header", "subheader"):
            found.append((int(node.proto.tag[1]), node.value))
        elif kind == "markdown":
            found.extend((len(match.group(1)), match.group(2))
                         for match in re.finditer(r"^(#{1,6})\s+(.*)$", node.value, flags=re.MULTILINE))
        elif kind == "html":
            found.extend((int(level), text) for level, text in re.findall(r"<h([1-6])[^>]*>(.*?)</h", node.proto.body))
        for _, child in sorted(getattr(node, "children", {}).items()):
            walk(child)

    walk(app.main)
    return found


def assert_no_skipped_level(found: list[tuple[int, str]]) -> None:
    assert found and found[0][0] == 1 and [level for level, _ in found].count(1) == 1, found[:3]
    for (before, before_text), (level, text) in zip(found, found[1:]):
        assert level <= before + 1, f"h{before} {before_text!r} is followed by h{level} {text!r}"


@pytest.mark.parametrize("chosen", [[], FOUR], ids=["all", "four"])
def test_headings_go_h1_h2_h3_without_skipping_a_level(app, chosen):
    if chosen:
        app.sidebar.multiselect(key="filters_boroughs").set_value(chosen).run()
    for label in SECTION_LABELS:
        found = headings(open_section(app, label))
        assert_no_skipped_level(found)
        assert found[0] == (1, "Transport in London")
        assert [text for level, text in found if level == 2] == [label], "one section's h2 at a time"
        # The summary is one table under its h2; the others have parts under h3s.
        assert {level for level, _ in found} == ({1, 2} if label == BY_BOROUGH else {1, 2, 3})


# ------------------------------------------------------------------------------------------------
# The real samples, end to end


def _outside(quarantine: pd.DataFrame) -> list[str]:
    return list(quarantine.loc[quarantine["reason"].str.startswith("outside the city"), "record"])


@pytest.fixture(scope="module")
def real_pack(tmp_path_factory):
    """A pack with the real TfL station counts, BikePoint snapshot and DfT counts ingested by the CLI."""
    london = require_shared()
    transport = london / "transport"
    pack = tmp_path_factory.mktemp("real_transport") / "pack"
    pack.mkdir()
    shutil.copy(PACK / "catalog.toml", pack / "catalog.toml")
    for folder in ("catalog.d", "boundaries", "overlays"):
        shutil.copytree(PACK / folder, pack / folder)
    ingests = {
        "tfl_station_counts": ["tfl-station-counts", transport / "station_entry_exit_counts.csv",
                               transport / "london_combinedstations_630.csv"],
        "tfl_bikepoint": ["tfl-bikepoint", transport / "tfl_bikepoint_2020-03-08.json"],
        "dft_traffic": ["dft-traffic", transport / "london_20002016_all_raw_8am.csv",
                        transport / "london_dft_traffic_count_locations.json"],
    }
    outside = {}
    for dataset, (source, *files) in ingests.items():
        assert citydash_main(["ingest", source, *map(str, files), "--pack", str(pack)]) == 0
        files = (pack / "quarantine").glob(f"{dataset}-*.csv")
        # A clean ingest writes no quarantine file.
        quarantine = pd.concat([pd.DataFrame(columns=["record", "reason"])]
                               + [pd.read_csv(path, dtype=str) for path in files])
        outside[dataset] = _outside(quarantine)
    return pack, outside, transport


@pytest.fixture(scope="module")
def real_app(real_pack):
    pack, _, _ = real_pack
    patch = pytest.MonkeyPatch()
    patch.setenv("CITYDASH_PACK", str(pack))
    patch.delenv("CITYDASH_EXTRACTS", raising=False)
    patch.chdir(REPO)
    test = AppTest.from_file(str(ENTRY), default_timeout=120)
    test.query_params["start"] = "2000-01-01"
    test.query_params["end"] = "2020-12-31"
    test.run()
    test.switch_page(PAGE).run()
    yield test
    patch.undo()


def test_the_39_stations_reported_outside_london_are_exactly_those_the_source_marks_not_in_london(real_pack):
    # The issue expected "at most a handful" outside London; the real sample reports 39. That figure is
    # the source's own: its stations file puts 39 stations in category "Not in London" (Dartford,
    # Brentwood, Potters Bar...), every one of them has counts, and point-in-polygon reports exactly
    # those: no station the file places in London is reported outside, and none it places outside is kept.
    _, outside, transport = real_pack
    with (transport / "london_combinedstations_630.csv").open(encoding="utf-8-sig", newline="") as handle:
        categories = {row["id"]: row["category"] for row in csv.DictReader(handle)}
    not_in_london = {station for station, category in categories.items() if category == "Not in London"}
    in_london = set(categories) - not_in_london
    reported = outside["tfl_station_counts"]
    assert len(categories) == 630 and len(not_in_london) == 39
    assert len(reported) == len(set(reported)) == 39
    assert set(reported) <= not_in_london, "every station reported outside is one the source marks Not in London"
    assert not set(reported) & in_london, "no station the source places in London is reported outside"
    assert set(reported) == not_in_london


def test_real_stations_render_and_only_stations_the_source_puts_outside_london_are_left_out(real_pack, real_app):
    _, outside, transport = real_pack
    assert not real_app.exception, [exception.value for exception in real_app.exception]
    open_section(real_app, STATIONS)
    with (transport / "london_combinedstations_630.csv").open(encoding="utf-8-sig", newline="") as handle:
        categories = {row["id"]: row["category"] for row in csv.DictReader(handle)}
    shown = frame_with(real_app, "weekend")
    assert len(shown) == len(points(decks(real_app)["stations"]))
    # The stations file lists 630 stations; 629 have counts. Every one reported outside the city is one the
    # file itself calls "Not in London" (Dartford, Brentwood...): none of London's stations is lost.
    assert len(shown) + len(outside["tfl_station_counts"]) == 629
    assert {categories[station] for station in outside["tfl_station_counts"]} == {"Not in London"}
    assert len(shown) == 590
    assert set(shown["mode"]) == {"Underground", "Overground", "DLR", "National Rail", "Tram"}
    top = shown.sort_values("per_day", ascending=False).iloc[0]
    assert top["name"] == "Waterloo" and 200_000 < top["per_day"] < 300_000
    page_text = texts(real_app)
    assert "has daily totals only" not in page_text
    bands = frame_with(real_app, "band")
    assert list(bands["band"]) == ["Early morning", "Morning peak", "Midday", "Evening peak", "Late evening"]
    assert bands["entries"].gt(0).all()
    trend = next(frame for frame in frames_with(real_app, "bucket") if "per_day" in frame.columns)
    assert "Entries + exits on an average day in all boroughs, year by year" in chart_titles(real_app)
    assert pd.Timestamp(trend["bucket"].min()) == pd.Timestamp("2010-01-01")
    assert "The number of stations counted changes" in page_text


def test_real_page_headings_skip_no_level(real_app):
    found = {label: headings(open_section(real_app, label)) for label in SECTION_LABELS}
    for section in found.values():
        assert_no_skipped_level(section)
    assert (3, "Time of day") in found[STATIONS] and (3, "Largest docks in all boroughs") in found[CYCLE_HIRE]


def test_real_docks_render_with_their_docking_points_and_occupancy(real_pack, real_app):
    pack, outside, _ = real_pack
    docks = frame_with(open_section(real_app, CYCLE_HIRE), "occupancy_percent")
    assert len(docks) == len(points(decks(real_app)["docks"]))
    entities = pd.read_parquet(pack / "extracts" / "tfl_bikepoint_entities.parquet")
    observations = pd.read_parquet(pack / "extracts" / "tfl_bikepoint.parquet")
    # 783 docks in the snapshot: each is on the map or reported as outside the city by the ingest.
    assert len(docks) + len(outside["tfl_bikepoint"]) == 783
    assert len(outside["tfl_bikepoint"]) <= 1
    assert len(docks) == len(entities)
    capacity = observations[observations["metric"] == "dock_capacity"]["value"].sum()
    assert docks["capacity"].sum() == capacity
    assert 20_800 < docks["capacity"].sum() <= 20_893
    assert docks["occupancy_percent"].between(0, 100).all()
    page_text = texts(real_app)
    assert "has no hire counts" in page_text
    legends = [element.proto.body for element in real_app.get("html")
               if "Docking points holding a bike" in element.proto.body]
    assert legends, "docks are coloured by the share of docking points holding a bike"


def test_real_count_points_render_year_by_year(real_pack, real_app):
    _, outside, _ = real_pack
    count_points = frame_with(open_section(real_app, ROAD_TRAFFIC), "cycle_percent")
    assert len(points(decks(real_app)["count_points"])) == len(count_points)
    assert len(count_points) + len(outside["dft_traffic"]) == 2_548
    assert len(outside["dft_traffic"]) <= 15
    trend = frame_with(real_app, "per_count")
    assert set(pd.to_datetime(trend["bucket"]).dt.year) == set(range(2000, 2017))
    assert set(pd.to_datetime(trend["bucket"]).dt.month) == {1}
    shares = frames_with(real_app, "cycle_percent")[-1]
    assert len(shares) == 33 and shares["cycle_percent"].between(0, 100).all()
    assert shares.sort_values("cycle_percent").iloc[-1]["borough_name"] in {"Islington", "Hackney", "City of London",
                                                                            "Southwark", "Camden", "Lambeth"}


def test_docks_and_count_points_on_the_river_get_a_borough_and_only_outer_edge_ones_are_left_out(real_pack):
    # The boundaries stop at the river bank; a point in the river between boroughs gets the nearest one
    # (geo.city_gaps), so the Claverton Street dock and 13 count points on bridges, embankments and the
    # Roding and Lea are placed, while every station the source calls "Not in London" stays outside
    # (test_real_stations_render...), Grange Hill at 6 m included.
    pack, outside, _ = real_pack
    assert outside["tfl_bikepoint"] == []
    docks = pd.read_parquet(pack / "extracts" / "tfl_bikepoint_entities.parquet").set_index("entity_id")
    assert docks.loc["BikePoints_291", "borough_code"] == "E09000033"  # Claverton Street, Westminster
    # The two left are at the outer edge, not in the river: 47097 (A409) lies 3 m outside the simplified
    # boundary (inside ONS's full-resolution one), 998028 (Cromwell Road) 229 m outside even that.
    assert sorted(outside["dft_traffic"]) == ["47097", "998028"]


# ------------------------------------------------------------------------------------------------
# Per borough: side by side for two to six, the pooled view and a per-borough table otherwise



def chart_spec(app: AppTest, key: str) -> dict:
    return next(json.loads(chart.proto.spec) for chart in app.get("plotly_chart")
                if chart.proto.id.endswith(key) or key in chart.proto.id)


def chart_keys(app: AppTest) -> list[str]:
    return [chart.proto.id for chart in app.get("plotly_chart")]


def numbers(field) -> np.ndarray:
    """A trace's numbers: plotly writes numpy arrays as base64 typed arrays, lists as they are."""
    if isinstance(field, dict) and "bdata" in field:
        array = np.frombuffer(base64.b64decode(field["bdata"]), dtype=np.dtype(field["dtype"]))
        shape = [int(part) for part in str(field.get("shape", len(array))).split(",")]
        return array.reshape(shape)
    return np.asarray(field, dtype=float)


def table_with(app: AppTest, *columns: str) -> pd.DataFrame:
    """The one table with all these columns (read-only tables carry no key AppTest can see)."""
    found = [element.value for element in app.dataframe if set(columns) <= set(element.value.columns)]
    assert len(found) == 1, (columns, len(found))
    return found[0]


def test_two_to_six_boroughs_get_hires_and_vehicle_panels_side_by_side_on_one_scale(app, demo_database):
    app.sidebar.multiselect(key="filters_boroughs").set_value(FOUR).run()
    assert not app.exception, [exception.value for exception in app.exception]
    names = ["Camden", "Hackney", "Islington", "Westminster"]
    with_docks = names[:3]

    open_section(app, CYCLE_HIRE)
    hires = chart_spec(app, "transport_hires_by_borough_chart")
    heatmaps = [trace for trace in hires["data"] if trace["type"] == "heatmap"]
    assert [trace["name"] for trace in heatmaps] == names, "one panel per borough, in the order chosen"
    assert {trace["coloraxis"] for trace in heatmaps} == {"coloraxis"}, "every panel on one colour scale"
    panel_titles = [annotation["text"] for annotation in hires["layout"]["annotations"]]
    assert panel_titles == [*with_docks, "Westminster (no data)"], "a borough without docks says so"
    table = table_with(app, "borough_name", "average")
    assert set(table["borough_name"]) == set(with_docks) and len(table) == 3 * 7 * 24
    assert hires["layout"]["coloraxis"]["cmin"] == 0
    assert hires["layout"]["coloraxis"]["cmax"] == pytest.approx(table["average"].max())
    # Each panel holds its own borough's numbers: the table's Monday 08:00 is the panel's.
    for trace in heatmaps[:3]:
        monday_eight = table[(table["borough_name"] == trace["name"]) & (table["day"] == "Monday")
                             & (table["hour"] == "08:00")]["average"].iloc[0]
        assert numbers(trace["z"])[0, 8] == pytest.approx(monday_eight)
    assert "transport_hires_hours_chart" not in " ".join(chart_keys(app)), "no pooled heatmap beside the panels"
    assert any("transport_hires_by_borough_download" in button.proto.id for button in app.download_button)

    open_section(app, ROAD_TRAFFIC)
    traffic = chart_spec(app, "transport_traffic_by_borough_chart")
    bars = [trace for trace in traffic["data"] if trace["type"] == "bar"]
    assert len(bars) == 4 * 6, "six vehicle types stacked in each of four panels"
    assert [annotation["text"] for annotation in traffic["layout"]["annotations"]] == names
    y_axes = {name: axis for name, axis in traffic["layout"].items() if name.startswith("yaxis")}
    assert len(y_axes) == 4
    # Every panel's vehicle axis follows one of them: the same scale for all.
    shared = {axis["matches"] for axis in y_axes.values() if "matches" in axis}
    assert len(shared) == 1
    leader = "yaxis" + shared.pop()[1:]
    assert all(axis.get("matches") == leader.replace("axis", "") or name == leader for name, axis in y_axes.items())
    assert sum(trace.get("showlegend", True) for trace in bars) == 6, "the legend names each type once"
    by_type = table_with(app, "borough_name", "bucket", "cars")
    assert set(by_type["borough_name"]) == set(names)
    assert {"cars", "pedal_cycles", "count_points", "bucket"} <= set(by_type.columns)
    # The panel's bars are the table's numbers: Camden's cars, period by period.
    camden_cars = next(trace for trace in bars if trace["name"] == "Cars and taxis" and trace.get("showlegend", True))
    camden_rows = by_type[by_type["borough_name"] == "Camden"]
    assert list(numbers(camden_cars["y"])) == pytest.approx(list(camden_rows["cars"]))
    assert any("transport_traffic_by_borough_download" in button.proto.id for button in app.download_button)


@pytest.mark.parametrize("chosen", [[], ["E09000007", "E09000033", "E09000019", "E09000001", "E09000002",
                                        "E09000003", "E09000004"]], ids=["none", "seven"])
def test_none_or_many_boroughs_keep_the_pooled_view_with_a_per_borough_table(app, demo_catalog, demo_database,
                                                                             chosen):
    if chosen:
        app.sidebar.multiselect(key="filters_boroughs").set_value(chosen).run()
        assert not app.exception, [exception.value for exception in app.exception]
    names = demo_database.run("boroughs").set_index("borough_code")["borough_name"]
    docks = pd.read_parquet(demo_catalog.extract_path("cycle_hire", "entities"))
    with_docks = set(docks["borough_code"]) & set(chosen) if chosen else set(docks["borough_code"])

    open_section(app, CYCLE_HIRE)
    keys = " ".join(chart_keys(app))
    assert "transport_hires_hours_chart" in keys and "by_borough_chart" not in keys
    hires = table_with(app, "borough_name", "average")
    assert set(hires["borough_name"]) == {names[code] for code in with_docks}
    assert "**Hires by hour and day of the week in each borough**" in [element.value for element in app.markdown]

    open_section(app, ROAD_TRAFFIC)
    keys = " ".join(chart_keys(app))
    assert "transport_traffic_trend_chart" in keys and "by_borough_chart" not in keys
    traffic = table_with(app, "borough_name", "bucket", "cars")
    assert set(traffic["borough_name"]) == set(names[chosen] if chosen else names)
    assert any(element.value.startswith("**Vehicles per count by type in each borough") for element in app.markdown)


# ------------------------------------------------------------------------------------------------
# The page's own controls in the link


def link_of(app: AppTest) -> dict[str, str]:
    return {key: value[0] if isinstance(value, list) else value for key, value in app.query_params.items()}


def open_link(monkeypatch, extracts: Path, pack: Path = PACK, **params) -> AppTest:
    """The transport page opened from a link with these parameters."""
    monkeypatch.setenv("CITYDASH_PACK", str(pack))
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(extracts))
    monkeypatch.chdir(REPO)
    test = AppTest.from_file(str(ENTRY), default_timeout=90)
    for key, value in params.items():
        test.query_params[key] = value
    test.switch_page(PAGE)
    test.run()
    assert not test.exception, [exception.value for exception in test.exception]
    return test


def layer_ids(app: AppTest) -> set[str]:
    return {layer["id"] for spec in decks(app).values() for layer in spec["layers"]}


def test_the_overlay_toggles_go_into_the_link_and_the_link_brings_them_back(app, demo_extracts, monkeypatch):
    link = link_of(app)
    assert (link["transport_outlines"], link["transport_tube"]) == ("on", "off")
    app.checkbox(key="transport_show_tube").check().run()
    app.checkbox(key="transport_show_outlines").uncheck().run()
    assert not app.exception
    link = link_of(app)
    assert (link["transport_tube"], link["transport_outlines"]) == ("on", "off")
    assert "transport_tube=on" in app.sidebar.code[0].value, "the copyable link carries them"

    shared = open_link(monkeypatch, demo_extracts, **link)
    assert shared.checkbox(key="transport_show_tube").value is True
    assert shared.checkbox(key="transport_show_outlines").value is False
    assert "network_lines" in layer_ids(shared) and "borough_outlines" not in layer_ids(shared)
    assert not [element for element in shared.info if "Ignored" in element.value]
    assert (link_of(shared)["transport_tube"], link_of(shared)["transport_outlines"]) == ("on", "off")


def test_a_link_opens_its_section_and_a_switch_of_section_is_written_into_the_link(demo_extracts, monkeypatch):
    shared = open_link(monkeypatch, demo_extracts, section="road-traffic", transport_tube="on")
    assert [text for level, text in headings(shared) if level == 2] == [ROAD_TRAFFIC]
    assert set(decks(shared)) == {"count_points"}
    assert "network_lines" in layer_ids(shared), "the page-wide toggles come from the same link"
    assert link_of(shared)["section"] == "road-traffic"
    assert not [element for element in shared.info if "Ignored" in element.value]
    open_section(shared, BY_BOROUGH)
    assert link_of(shared)["section"] == "by-borough"
    open_section(shared, CYCLE_HIRE)
    assert link_of(shared)["section"] == "cycle-hire"
    open_section(shared, STATIONS)
    assert "section" not in link_of(shared), "the first section is the default: its link names none"
    assert link_of(shared)["transport_tube"] == "on"


def test_a_hostile_section_in_a_link_opens_the_first_with_a_notice(demo_extracts, monkeypatch):
    shared = open_link(monkeypatch, demo_extracts, section="<img src=x onerror=alert(1)>")
    assert [text for level, text in headings(shared) if level == 2] == [STATIONS]
    notices = [element.value for element in shared.info if "Ignored the link's section" in element.value]
    assert len(notices) == 1 and "onerror" not in notices[0] and "Cycle hire" in notices[0]
    assert "section" not in link_of(shared)


def test_hostile_overlay_settings_in_a_link_fall_back_to_the_defaults_with_a_notice(demo_extracts, monkeypatch):
    shared = open_link(monkeypatch, demo_extracts, transport_tube="<script>alert(1)</script>",
                       transport_outlines="off'; drop table observations; --")
    assert shared.checkbox(key="transport_show_tube").value is False
    assert shared.checkbox(key="transport_show_outlines").value is True
    assert "network_lines" not in layer_ids(shared) and "borough_outlines" in layer_ids(shared)
    notices = [element.value for element in shared.info if "Ignored the link's" in element.value]
    assert len(notices) == 2
    assert not any("script" in notice or "drop" in notice for notice in notices), "injected text is not echoed"
    assert (link_of(shared)["transport_tube"], link_of(shared)["transport_outlines"]) == ("off", "on")


BIKE_SHARE = """
[datasets.bike_share]
title = "Test bike share with hires and bikes docked"
domain = "transport"
publisher = "Test publisher"
licence = "ogl3"
attribution = "Test attribution."
access = "public"
synthetic = false

[[datasets.bike_share.metrics]]
id = "hires"
label = "Hires"
unit = "hires"
aggregation = "sum"

[[datasets.bike_share.metrics]]
id = "dock_capacity"
label = "Docking points"
unit = "docks"
aggregation = "max"
area_aggregation = "sum"

[[datasets.bike_share.metrics]]
id = "bikes_available"
label = "Bikes docked"
unit = "bikes"
aggregation = "mean"
area_aggregation = "sum"
"""


@pytest.fixture(scope="module")
def two_sources(demo_extracts, tmp_path_factory):
    """The demo pack plus a second source for stations (the hand-written TfL counts, through the CLI) and
    for docks (literal docks with hires and bikes docked, so the docks can be coloured either way)."""
    from citydash.catalog import load_catalog
    from citydash.contract import Extract
    from citydash.ingest.publish import publish
    from conftest import CAMDEN, WESTMINSTER, entities, observations

    pack = tmp_path_factory.mktemp("two_sources") / "pack"
    pack.mkdir()
    shutil.copy(PACK / "catalog.toml", pack / "catalog.toml")
    for folder in ("catalog.d", "boundaries", "overlays"):
        shutil.copytree(PACK / folder, pack / folder)
    (pack / "catalog.d" / "bike_share.toml").write_text(BIKE_SHARE, encoding="utf-8")
    extracts = pack / "extracts"
    shutil.copytree(demo_extracts, extracts)
    fixtures = REPO / "tests" / "fixtures" / "transport"
    assert citydash_main(["ingest", "tfl-station-counts", str(fixtures / "station_counts.csv"),
                          str(fixtures / "stations.csv"), "--pack", str(pack)]) == 0
    catalog = load_catalog(pack)
    last = pd.read_parquet(catalog.extract_path("cycle_hire"))["ts"].max().floor("D")
    day = f"{last:%Y-%m-%d}"
    publish(Extract(entities(("B1", "Camden Lock", "Docking station", CAMDEN),
                             ("B2", "Soho Square", "Docking station", WESTMINSTER)),
                    observations(("B1", f"{day} 08:00", "hires", 12), ("B1", f"{day} 08:00", "dock_capacity", 20),
                                 ("B1", f"{day} 08:00", "bikes_available", 5),
                                 ("B2", f"{day} 09:00", "hires", 3), ("B2", f"{day} 09:00", "dock_capacity", 10),
                                 ("B2", f"{day} 09:00", "bikes_available", 10))),
            "bike_share", catalog)
    return pack, extracts


def test_data_source_and_dock_colour_choices_go_into_the_link_and_come_back(two_sources, monkeypatch):
    pack, extracts = two_sources
    first = open_link(monkeypatch, extracts, pack)
    # The defaults: the first source with data in the period (the TfL fixture's years are long past).
    assert first.selectbox(key="transport_stations_source").options == [
        "Station entries and exits (TfL and ORR)", "Rail and tube station entries and exits (demo)"]
    assert link_of(first)["transport_stations_data"] == "stations"
    open_section(first, CYCLE_HIRE)
    assert first.selectbox(key="transport_docks_source").value == "bike_share"
    link = link_of(first)
    assert (link["transport_stations_data"], link["transport_docks_data"], link["transport_dock_colour"]) == (
        "stations", "bike_share", "hires")
    first.radio(key="transport_dock_colour").set_value("occupancy").run()
    assert not first.exception, [exception.value for exception in first.exception]
    open_section(first, STATIONS)
    first.selectbox(key="transport_stations_source").set_value("tfl_station_counts").run()
    # Back in the closed section, its choices are still the ones made there.
    open_section(first, CYCLE_HIRE)
    assert first.radio(key="transport_dock_colour").value == "occupancy"
    link = link_of(first)
    assert (link["transport_stations_data"], link["transport_docks_data"], link["transport_dock_colour"],
            link["section"]) == ("tfl_station_counts", "bike_share", "occupancy", "cycle-hire")

    shared = open_link(monkeypatch, extracts, pack, **link)
    assert shared.selectbox(key="transport_docks_source").value == "bike_share"
    assert shared.radio(key="transport_dock_colour").value == "occupancy"
    assert any("Docking points holding a bike" in element.proto.body for element in shared.get("html"))
    assert not [element for element in shared.info if "Ignored" in element.value]
    open_section(shared, STATIONS)
    assert shared.selectbox(key="transport_stations_source").value == "tfl_station_counts"
    assert not [element for element in shared.info if "Ignored" in element.value]


def test_the_summary_uses_each_sections_chosen_source_and_leaves_out_one_without_data(two_sources, monkeypatch):
    pack, extracts = two_sources
    # The demo's stations have data in the period: the summary has their columns.
    shared = open_link(monkeypatch, extracts, pack, section="by-borough")
    summary = frame_with(shared, "borough_name")
    assert {"stations", "docks", "count_points"} <= set(summary.columns)
    assert summary["docking_points"].sum() == 30, "the bike share's two docks, its default source"
    assert [text for level, text in headings(shared) if level == 2] == [BY_BOROUGH]
    assert [element.key for element in shared.selectbox if element.key.startswith("transport_")] == [], \
        "the summary offers no choice of source: it follows the sections'"
    # The TfL fixture's station counts are long past: chosen in the Stations section, that section says
    # so, and the summary leaves the stations out rather than show them empty.
    open_section(shared, STATIONS)
    shared.selectbox(key="transport_stations_source").set_value("tfl_station_counts").run()
    assert any("No data between" in element.value for element in shared.info)
    open_section(shared, BY_BOROUGH)
    summary = frame_with(shared, "borough_name")
    assert "stations" not in summary.columns and "station_entries_exits_per_day" not in summary.columns
    assert {"docks", "count_points", "cycle_percent"} <= set(summary.columns)
    assert len(summary) == 33
    assert not any("No data between" in element.value for element in shared.info), "said in its own section"
    assert link_of(shared)["transport_stations_data"] == "tfl_station_counts"


def test_a_hostile_data_source_or_dock_colour_in_a_link_falls_back_with_a_notice(two_sources, monkeypatch):
    pack, extracts = two_sources
    hostile = open_link(monkeypatch, extracts, pack, transport_stations_data="air_quality",
                        transport_docks_data="../../etc/passwd", transport_dock_colour="<b>occupancy</b>")
    # The defaults, as a link without them gives (see above); each notice in the section that reads it.
    assert hostile.selectbox(key="transport_stations_source").value == "stations", "air_quality has no stations"
    notices = [element.value for element in hostile.info if "Ignored the link's" in element.value]
    open_section(hostile, CYCLE_HIRE)
    assert hostile.selectbox(key="transport_docks_source").value == "bike_share"
    assert hostile.radio(key="transport_dock_colour").value == "hires"
    notices += [element.value for element in hostile.info if "Ignored the link's" in element.value]
    assert len(notices) == 3
    assert [notice for notice in notices if "station data" in notice or "cycle hire data" in notice
            or "dock colours" in notice] == notices
    assert not any("passwd" in notice or "<b>" in notice for notice in notices), "injected text is not echoed"
    link = link_of(hostile)
    assert (link["transport_stations_data"], link["transport_docks_data"], link["transport_dock_colour"]) == (
        "stations", "bike_share", "hires")

