"""Overview: one metric across every borough, the selection against the city, and its trend."""

from pathlib import Path

import streamlit as st

from citydash import boroughs, charts, maps, narrative, state, ui
from citydash.data import QueryError
from citydash.geo import areas_geojson
from citydash.text import escape_markdown

catalog = ui.catalog()
filters = ui.filters()
metric = catalog.metric(filters.dataset_id, filters.metric_id)
dataset = catalog.datasets[metric.dataset]
area_label = catalog.city.area_label
period = f"{filters.start:%d %b %Y} to {filters.end:%d %b %Y}"

st.title(f"{catalog.city.name} at a glance")
st.markdown(f"**{metric.label}** by {area_label}, {period}. "
            f"{'Average of all readings' if metric.aggregation == 'mean' else 'Total' if metric.aggregation == 'sum' else 'Largest reading'} "
            f"in {metric.unit}.")

try:
    city_wide = ui.metric_params(metric, filters)
    selected = dict(city_wide, boroughs=list(filters.boroughs))
    (by_area, _), (summary, _), (daily, _) = ui.run_together(
        ("metric_by_borough", city_wide), ("metric_summary", selected), ("metric_daily", selected))
except QueryError as error:
    ui.query_failed(error)
    st.stop()

scopes = summary.set_index("scope")
selected_value = scopes["value"].get("selected")
city_value = scopes["value"].get("city")
all_selected = not filters.boroughs
comparison = narrative.compare_with_city(selected_value, city_value, metric, all_selected)
selection_label = (f"All {catalog.city.area_label_plural}" if all_selected else
                   ", ".join(by_area.set_index("borough_code").loc[list(filters.boroughs), "borough_name"])
                   if len(filters.boroughs) <= 3 else f"{len(filters.boroughs)} {catalog.city.area_label_plural}")

tiles = st.columns(3)
tiles[0].metric(f"Selection: {selection_label}", maps.format_value(selected_value, metric.unit),
                delta=comparison.delta_text, delta_color=comparison.delta_colour, border=True)
tiles[1].metric(f"{catalog.city.name} as a whole", maps.format_value(city_value, metric.unit), border=True)
tiles[2].metric("Reporting sites in the selection", f"{int(scopes['entities'].get('selected', 0)):,}",
                help="Monitoring sites, stations, docks, count points or sensors with at least one reading "
                     "in the period.", border=True)

if by_area["value"].isna().all():
    st.info(f"No {area_label} has data for {metric.label.lower()} between {period}. "
            "Choose a longer period or another metric.", icon=":material/info:")
    ui.source_note(catalog, dataset)
    st.stop()

sentence = narrative.ranking_sentence(by_area, metric, catalog.city.name, area_label, city_value)
st.header(f"{metric.label} by {area_label}: map and table")
map_column, table_column = st.columns([3, 2], gap="large")
with map_column:
    bins = maps.colour_bins(by_area["value"])
    deck = maps.choropleth(areas_geojson(catalog.city.boundaries), by_area, metric.unit,
                           catalog.city.map_view, bins, filters.boroughs)
    clicked = st.pydeck_chart(deck, height=460, key="overview_map", on_select="rerun", selection_mode="single-object")
    picked = boroughs.picked_area(clicked.selection)
    if picked:
        st.switch_page(Path(__file__).resolve().parent / "borough.py",
                       query_params={**state.filters_to_params(filters), "borough": state.area_to_param(picked)})
    st.html(maps.legend_html(f"{metric.label} ({metric.unit})", bins, metric.unit,
                             has_missing=bool(by_area["value"].isna().any())))
    st.caption(f"{escape_markdown(sentence)} Click a {area_label} for its profile.")
    ui.source_note(catalog, dataset)
with table_column:
    table = narrative.rank_table(by_area)
    st.dataframe(
        table[["rank", "value", "borough_name", "entities"]],
        hide_index=True, height=460, key="overview_table",
        column_config={
            "rank": st.column_config.NumberColumn("Rank", help="1 = highest value", format="%d", width=50),
            "borough_name": st.column_config.TextColumn(area_label.capitalize(), width="medium"),
            "value": st.column_config.NumberColumn(metric.unit, help=metric.label, format="%.1f", width=80),
            "entities": st.column_config.NumberColumn("Sites", help="Sites reporting in the period", format="%d",
                                                      width=50),
        },
    )
    ui.csv_download("Download this table (CSV)", table,
                    file_name=f"{metric.dataset}_{metric.id}_by_{area_label}_{filters.start}_{filters.end}.csv",
                    key="overview_download_table")

st.header(f"Ranking of the {catalog.city.area_label_plural}")
st.plotly_chart(charts.ranking_bar(by_area, metric, filters.boroughs, area_label),
                key="overview_ranking",
                config=ui.chart_config(f"{metric.dataset}_{metric.id}_ranking_{filters.start}_{filters.end}"))
ui.source_note(catalog, dataset)

st.header("Day by day")
labels = {"city": f"{catalog.city.name} (all {catalog.city.area_label_plural})", "selected": selection_label}
trend = daily if not all_selected else daily[daily["scope"] == "city"]
st.plotly_chart(charts.trend_lines(trend, metric, labels), key="overview_trend",
                config=ui.chart_config(f"{metric.dataset}_{metric.id}_daily_{filters.start}_{filters.end}"))
ui.csv_download("Download the daily figures (CSV)", trend,
                file_name=f"{metric.dataset}_{metric.id}_daily_{filters.start}_{filters.end}.csv",
                key="overview_download_daily")
ui.source_note(catalog, dataset)
