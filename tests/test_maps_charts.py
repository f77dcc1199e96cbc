"""Map and chart builders: the legend tells the truth about the map's colours."""

import json

import pandas as pd

from citydash import charts, maps
from citydash.catalog import load_catalog
from citydash.geo import areas_geojson
from conftest import PACK

CATALOG = load_catalog(PACK)
NO2 = CATALOG.metric("air_quality", "no2")


def values_for_every_area(values):
    geojson = areas_geojson(CATALOG.city.boundaries)
    codes = [feature["properties"]["code"] for feature in geojson["features"]]
    names = [feature["properties"]["name"] for feature in geojson["features"]]
    return geojson, pd.DataFrame({"borough_code": codes, "borough_name": names, "value": values(len(codes))})


def test_each_area_is_filled_with_the_legend_colour_of_its_value():
    geojson, values = values_for_every_area(lambda n: [float(i) for i in range(n)])
    values.loc[3, "value"] = None
    bins = maps.colour_bins(values["value"])
    deck = json.loads(maps.choropleth(geojson, values, "µg/m³", CATALOG.city.map_view, bins).to_json())
    features = deck["layers"][0]["data"]["features"]
    by_code = values.set_index("borough_code")["value"]
    for feature in features:
        value = by_code[feature["properties"]["code"]]
        fill = tuple(feature["properties"]["fill"][:3])
        if pd.isna(value):
            assert fill == maps.NO_DATA and feature["properties"]["label"] == "no data"
            continue
        legend_bin = next(b for b in bins if b.low <= value <= b.high)
        assert fill == legend_bin.colour
    legend = maps.legend_html("NO2", bins, "µg/m³", has_missing=True)
    for colour_bin in bins:
        assert "rgb({},{},{})".format(*colour_bin.colour) in legend
    assert "no data" in legend


def test_bins_cover_the_range_and_the_palette_gets_darker():
    bins = maps.colour_bins(pd.Series([2.0, 10.0, 50.0]))
    assert bins[0].low == 2.0 and bins[-1].high == 50.0
    lightness = [sum(b.colour) for b in bins]
    assert lightness == sorted(lightness, reverse=True)


def test_tooltips_are_text_so_data_cannot_inject_html():
    geojson, values = values_for_every_area(lambda n: [1.0] * n)
    geojson = json.loads(json.dumps(geojson))
    geojson["features"][0]["properties"]["name"] = "<img src=x onerror=alert(1)>"
    deck = maps.choropleth(geojson, values, "u", CATALOG.city.map_view, maps.colour_bins(values["value"]))
    assert "html" not in deck._tooltip and "text" in deck._tooltip
    legend = maps.legend_html("<b>x</b>", maps.colour_bins(values["value"]), "<i>", has_missing=False)
    assert "<b>" not in legend and "&lt;b&gt;" in legend


def test_no_basemap_is_fetched():
    _, values = values_for_every_area(lambda n: [1.0] * n)
    deck = json.loads(maps.choropleth(areas_geojson(CATALOG.city.boundaries), values, "u", CATALOG.city.map_view,
                                      maps.colour_bins(values["value"])).to_json())
    assert deck.get("mapStyle") == "__MAP_STYLE__" and "mapProvider" not in deck


def test_ranking_bar_prints_values_and_marks_the_selection():
    _, values = values_for_every_area(lambda n: [float(i) for i in range(n)])
    figure = charts.ranking_bar(values, NO2, ("E09000007",), "borough")
    bar = figure.data[0]
    assert list(bar.x) == sorted(bar.x)
    assert len(set(bar.marker.color)) == 2
    assert all(text for text in bar.text)


def test_a_single_trend_line_keeps_its_legend_entry_and_dates_read_day_month():
    daily = pd.DataFrame({"scope": ["city"] * 3, "day": pd.date_range("2026-03-01", periods=3),
                          "value": [1.0, 2.0, 3.0]})
    metric = CATALOG.metric("air_quality", "no2")
    figure = charts.trend_lines(daily, metric, {"city": "London (all boroughs)"})
    assert figure.layout.showlegend is True and figure.data[0].name == "London (all boroughs)"
    assert figure.layout.xaxis.tickformat == "%d %b"


def test_footer_sentences_keep_month_names_as_written():
    from citydash.ui import sentence_case
    assert sentence_case("refreshed 25 Nov 2026 (3 days ago)") == "Refreshed 25 Nov 2026 (3 days ago)"
    assert sentence_case("") == ""


def test_reference_lines_sit_where_plotlys_own_hline_and_vline_put_them():
    import plotly.graph_objects as go
    stepwise = go.Figure(go.Scatter(x=[0, 30], y=[0, 50]))
    stepwise.add_hline(40, annotation_text="UK limit", annotation_position="top left")
    stepwise.add_vline(18, annotation_text="allowed", annotation_position="bottom left")
    lines = charts.reference_lines([(40, "UK limit")])
    allowance = charts.reference_lines([(18, "allowed")], "v", annotation_position="bottom left")
    at_once = charts.figure([dict(type="scatter", x=[0, 30], y=[0, 50])], charts.layout(
        shapes=lines["shapes"] + allowance["shapes"], annotations=lines["annotations"] + allowance["annotations"]))
    placement = ("type", "xref", "yref", "x0", "x1", "y0", "y1")
    assert [{key: shape[key] for key in placement} for shape in at_once.layout.shapes] == \
           [{key: shape[key] for key in placement} for shape in stepwise.layout.shapes]
    anchor = ("text", "x", "y", "xref", "yref", "xanchor", "yanchor", "showarrow")
    assert [{key: note[key] for key in anchor} for note in at_once.layout.annotations] == \
           [{key: note[key] for key in anchor} for note in stepwise.layout.annotations]


def test_the_house_layout_keeps_the_grid_style_under_axis_settings():
    built = charts.figure([], charts.layout("Title", 300, yaxis=dict(title_text="µg/m³", range=[0, 10])))
    assert built.layout.yaxis.gridcolor == charts.GRID["gridcolor"] and built.layout.yaxis.title.text == "µg/m³"
    assert list(built.layout.yaxis.range) == [0, 10] and built.layout.height == 300


def test_a_map_sends_the_same_json_as_pydeck_without_its_indentation():
    import pydeck as pdk
    geojson, values = values_for_every_area(lambda n: [float(i) for i in range(n)])
    deck = maps.choropleth(geojson, values, "µg/m³", {"latitude": 51.5, "longitude": -0.1, "zoom": 9},
                           maps.colour_bins(values["value"]))
    compact, indented = deck.to_json(), pdk.Deck.to_json(deck)
    assert json.loads(compact) == json.loads(indented)
    assert "\n" not in compact and len(compact) < len(indented) / 2
