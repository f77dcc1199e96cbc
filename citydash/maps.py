"""Map builders: data frames in, pydeck Decks and HTML legends out. No Streamlit here.

No basemap is used: the borough polygons are the map, so nothing is fetched from the internet
and a demo works offline. Tooltips use pydeck's text mode, which never interprets data as HTML.
"""

from __future__ import annotations

import functools
import html
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pydeck as pdk
import pydeck.bindings.deck
from pydeck.bindings.json_tools import default_serialize

# Cividis, light (low) to dark (high): readable with the common colour-vision deficiencies and
# monotonic in lightness, so the order survives greyscale printing and projectors.
SEQUENTIAL = [
    (253, 234, 69), (214, 192, 85), (160, 146, 108), (108, 104, 114), (55, 66, 108), (0, 34, 78)]
NO_DATA = (220, 220, 220)
OUTLINE = (255, 255, 255)


# pydeck asks five times per Deck whether its Jupyter widget can be imported. Python does not
# remember a failed import, so each ask searches sys.path again: about 7 ms per map. The answer
# cannot change while the server runs.
pydeck.bindings.deck.has_jupyter_extra = functools.cache(pydeck.bindings.deck.has_jupyter_extra)


class Deck(pdk.Deck):
    """A pydeck Deck whose JSON is compact: pydeck indents by two spaces and sorts every key,
    which for a map of polygons or thousands of points is a third of the bytes sent to the
    browser and most of the time spent serialising. The JSON means the same to deck.gl."""

    def to_json(self) -> str:
        return json.dumps(self, default=default_serialize, separators=(",", ":"))


@dataclass(frozen=True)
class ColourBin:
    low: float
    high: float
    colour: tuple[int, int, int]


def format_value(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    magnitude = abs(value)
    text = f"{value:,.0f}" if magnitude >= 100 else f"{value:,.1f}" if magnitude >= 10 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def colour_bins(values: pd.Series, count: int = 5) -> list[ColourBin]:
    """Equal-interval bins over the values' range, with the palette spread across them.

    Equal intervals (not quantiles) so that a colour means the same amount everywhere on the
    legend; the bin edges are rounded for reading.
    """
    finite = values.dropna()
    if finite.empty:
        return []
    low, high = float(finite.min()), float(finite.max())
    if math.isclose(low, high):
        return [ColourBin(low, high, SEQUENTIAL[len(SEQUENTIAL) // 2])]
    edges = np.linspace(low, high, count + 1)
    palette = [SEQUENTIAL[round(index * (len(SEQUENTIAL) - 1) / (count - 1))] for index in range(count)]
    return [ColourBin(float(edges[index]), float(edges[index + 1]), palette[index]) for index in range(count)]


def colour_for(value: float | None, bins: list[ColourBin]) -> tuple[int, int, int]:
    if value is None or (isinstance(value, float) and math.isnan(value)) or not bins:
        return NO_DATA
    for colour_bin in bins:
        if value <= colour_bin.high:
            return colour_bin.colour
    return bins[-1].colour


def legend_html(title: str, bins: list[ColourBin], unit: str, has_missing: bool) -> str:
    """An HTML legend whose swatches are the map's exact colours, each with its range in words."""
    rows = []
    for colour_bin in bins:
        swatch = "rgb({},{},{})".format(*colour_bin.colour)
        label = f"{format_value(colour_bin.low)} to {format_value(colour_bin.high, unit)}"
        rows.append(f'<li><span class="cd-swatch" style="background:{swatch}"></span>{html.escape(label)}</li>')
    if has_missing:
        rows.append('<li><span class="cd-swatch" style="background:rgb({},{},{})"></span>no data</li>'.format(*NO_DATA))
    return (f'<figure class="cd-legend" aria-label="Map legend: {html.escape(title)}">'
            f'<figcaption>{html.escape(title)}</figcaption><ul>{"".join(rows)}</ul></figure>')


def choropleth(areas_geojson: dict, values: pd.DataFrame, unit: str, view: dict,
               bins: list[ColourBin], selected: tuple[str, ...] = ()) -> pdk.Deck:
    """Areas filled by value. `values` has borough_code, borough_name, value."""
    by_code = values.set_index("borough_code")
    features = []
    for feature in areas_geojson["features"]:
        code = feature["properties"]["code"]
        value = by_code["value"].get(code) if code in by_code.index else None
        value = None if value is None or pd.isna(value) else float(value)
        is_selected = not selected or code in selected
        features.append({
            "type": "Feature",
            "geometry": feature["geometry"],
            "properties": {
                "code": code,
                "name": feature["properties"]["name"],
                "label": format_value(value, unit),
                "fill": list(colour_for(value, bins)) + [235 if is_selected else 90],
                "line_width": 150 if selected and code in selected else 40,
            },
        })
    layer = pdk.Layer(
        "GeoJsonLayer",
        {"type": "FeatureCollection", "features": features},
        id="areas",
        pickable=True,
        stroked=True,
        filled=True,
        get_fill_color="properties.fill",
        get_line_color=list(OUTLINE),
        # Widths in metres with pixel bounds: pydeck would turn a "pixels" units string into an
        # accessor expression, so line_width_units cannot be set from Python.
        get_line_width="properties.line_width",
        line_width_min_pixels=1,
        line_width_max_pixels=4,
        auto_highlight=True,
        highlight_color=[255, 128, 0, 200],
    )
    return Deck(
        layers=[layer],
        initial_view_state=pdk.ViewState(latitude=view["latitude"], longitude=view["longitude"],
                                         zoom=view["zoom"], pitch=0, bearing=0),
        # No basemap provider and pydeck's default-style sentinel: Streamlit then draws no
        # basemap at all (map_style=None would make it fetch a Carto style from the internet).
        map_provider=None,
        tooltip={"text": "{name}\n{label}"},
    )
