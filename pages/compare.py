"""Compare: two to four boroughs side by side on one metric, on the same scales, with the differences in words."""

from pathlib import Path

import streamlit as st

from citydash import boroughs, state, ui
from citydash.data import QueryError
from citydash.text import escape_markdown

MIN_COMPARED, MAX_COMPARED = 2, 4

catalog = ui.catalog()
filters = ui.filters()
city = catalog.city
area_label, area_labels = city.area_label, city.area_label_plural
metric = catalog.metric(filters.dataset_id, filters.metric_id)
dataset = catalog.datasets[metric.dataset]
period_text = boroughs.describe_period(filters.start, filters.end)
when = boroughs.during(filters.start, filters.end)
areas = ui.run("boroughs")
codes = areas["borough_code"].tolist()
names = dict(zip(areas["borough_code"], areas["borough_name"]))
by_name = sorted(codes, key=names.get)

try:
    by_area = ui.run("metric_by_borough", **ui.metric_params(metric, filters))
except QueryError as error:
    ui.query_failed(error)
    st.stop()

default = (filters.boroughs if MIN_COMPARED <= len(filters.boroughs) <= MAX_COMPARED
           else boroughs.default_compared(by_area))
# Choosing two to four boroughs in the sidebar's filter while here compares them.
shared_choice = list(filters.boroughs) if MIN_COMPARED <= len(filters.boroughs) <= MAX_COMPARED else None
if shared_choice and st.session_state.get("compare_shared_choice", shared_choice) != shared_choice:
    st.session_state["compare_boroughs"] = shared_choice
st.session_state["compare_shared_choice"] = shared_choice
notices = ui.widget_from_link(
    "compare", "compare_boroughs",
    lambda text: state.areas_from_param(text, codes, default, MIN_COMPARED, MAX_COMPARED))

st.title(f"Compare {area_labels}")
for notice in notices:
    st.info(notice, icon=":material/link:")
st.markdown(f"**{metric.label}** ({metric.unit}), {period_text}. Choose the metric and the dates in the sidebar.")
st.multiselect(f"{area_labels.capitalize()} to compare (two to four)", options=by_name, key="compare_boroughs",
               max_selections=MAX_COMPARED, format_func=names.get, placeholder=f"Pick {area_labels}")
chosen = list(st.session_state["compare_boroughs"])
ui.widget_to_link("compare", state.areas_to_param(chosen))

if len(chosen) < MIN_COMPARED:
    st.info(f"Pick at least two {area_labels} to compare.", icon=":material/info:")
else:
    try:
        daily = ui.run("compare_daily", **ui.metric_params(metric, filters), boroughs=chosen)
    except QueryError as error:
        ui.query_failed(error)
        st.stop()
    ranked = by_area.assign(rank=by_area["value"].rank(ascending=False, method="min").astype("Int64"))
    compared = ranked.set_index("borough_code").loc[chosen].reset_index()
    average = float(by_area["value"].mean()) if by_area["value"].notna().any() else None
    average_label = f"Average {city.name} {area_label}"
    file_stem = f"compare_{metric.dataset}_{metric.id}_{filters.start}_{filters.end}"

    st.header("In words")
    st.markdown("\n".join(f"- {escape_markdown(sentence)}"
                          for sentence in boroughs.compare_sentences(compared, metric, when)))
    ranked_count = int(by_area["value"].notna().sum())
    st.markdown("\n".join(
        f"- {escape_markdown(row['borough_name'])}: "
        f"{escape_markdown(boroughs.rank_phrase(row['rank'], ranked_count, len(by_area), False, area_labels))} "
        f"({boroughs.better_phrase(metric.better)})" for row in compared.to_dict("records")))

    st.header("Side by side")
    st.plotly_chart(boroughs.compare_bars(compared, metric, average, average_label), key="compare_bars",
                    config=ui.chart_config(f"{file_stem}_bars"))
    ui.source_note(catalog, dataset)
    table = compared[["borough_name", "borough_group", "value", "rank", "entities", "readings"]].assign(
        value=boroughs.suppress_small(compared["value"].astype("float64"), metric),
        shown=[boroughs.display_value(value, metric) for value in compared["value"]])
    st.dataframe(table[["borough_name", "shown", "rank", "entities"]], hide_index=True, key="compare_table",
                 column_config={
                     "borough_name": st.column_config.TextColumn(area_label.capitalize()),
                     "shown": st.column_config.TextColumn(metric.label, help=period_text),
                     "rank": st.column_config.NumberColumn("Rank", format="%d",
                                                           help=f"1 = highest of the {area_labels} with data"),
                     "entities": st.column_config.NumberColumn("Sites", format="%d",
                                                               help="Sites reporting in the period")})
    ui.csv_download("Download this table (CSV)", table.drop(columns="shown"),
                    file_name=f"{file_stem}.csv",
                    key="compare_download_table")

    st.header("Day by day")
    st.plotly_chart(boroughs.compare_lines(daily, metric, names, chosen), key="compare_lines",
                    config=ui.chart_config(f"{file_stem}_daily"))
    st.caption(escape_markdown(
        f"One chart per {area_label}, all on the same scale from zero, so the heights compare directly."))
    ui.source_note(catalog, dataset)
    daily_shown = daily.assign(borough_name=daily["borough_code"].map(names),
                               value=boroughs.suppress_small(daily["value"].astype("float64"), metric))
    ui.csv_download("Download the daily figures (CSV)", daily_shown,
                    file_name=f"{file_stem}_daily.csv",
                    key="compare_download_daily")
    st.page_link(Path(__file__).resolve().parent / "borough.py", label=f"Open the profile of {names[chosen[0]]}",
                 icon=":material/location_city:",
                 query_params={**state.filters_to_params(filters), "borough": state.area_to_param(chosen[0])})
