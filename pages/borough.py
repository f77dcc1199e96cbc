"""Borough profile: one borough across every dataset in the catalogue, its rank, its change on the
previous period, the averages, its statistical neighbours, its trends and sites, and a printable brief,
one section at a time (only the open section runs its queries and draws its figures)."""

import functools
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import streamlit as st

from citydash import boroughs, brief, state, ui
from citydash.data import QueryError
from citydash.geo import areas_geojson
from citydash.text import escape_markdown

MAP_WIDTH_PX, MAP_HEIGHT_PX = boroughs.SITES_MAP_WIDTH_PX, boroughs.SITES_MAP_HEIGHT_PX
MAX_EXTRA_METRICS = 8
SITE_ROWS_BESIDE_MAP = MAP_HEIGHT_PX // 35 - 1  # st.dataframe rows are 35 px, the header row too

catalog = ui.catalog()
database = ui.database()
filters = ui.filters()
city = catalog.city
area_label, area_labels = city.area_label, city.area_label_plural
metrics = ui.visible_metrics(catalog, database)
areas = ui.run("boroughs")
codes = areas["borough_code"].tolist()
names = dict(zip(areas["borough_code"], areas["borough_name"]))
by_name = sorted(codes, key=names.get)
default_code = filters.boroughs[0] if filters.boroughs else by_name[0]
base_keys = boroughs.headline_metric_keys(metrics, [filters.metric])
extra_options = [key for key in metrics if key not in base_keys]

# Picking a borough in the sidebar's filter while here follows it, as a click on the map does.
shared_pick = filters.boroughs[0] if filters.boroughs else None
if shared_pick and st.session_state.get("borough_shared_pick", shared_pick) != shared_pick:
    st.session_state["borough_code"] = shared_pick
st.session_state["borough_shared_pick"] = shared_pick

# A click on another borough on this page's map (last run) picks it, before the selectbox is drawn.
map_pick = boroughs.picked_area((st.session_state.get("borough_map") or {}).get("selection"))
if map_pick in codes and map_pick != st.session_state.get("borough_map_last_pick"):
    st.session_state["borough_code"] = map_pick
st.session_state["borough_map_last_pick"] = map_pick

if "borough_extra_metrics" in st.session_state:
    # The sidebar metric joins the headline figures, so it leaves the extra metrics' options.
    st.session_state["borough_extra_metrics"] = [key for key in st.session_state["borough_extra_metrics"]
                                                 if key in extra_options]
notices = ui.widget_from_link("borough", "borough_code",
                              lambda text: state.area_from_param(text, codes, default_code))
notices += ui.widget_from_link("extra", "borough_extra_metrics",
                               lambda text: state.metric_keys_from_param(text, extra_options, MAX_EXTRA_METRICS))
code = st.session_state["borough_code"]
name = names[code]
st.title(f"{escape_markdown(name)}: {area_label} profile")
for notice in notices:
    st.info(notice, icon=":material/link:")

controls = st.columns([2, 3])
controls[0].selectbox(area_label.capitalize(), options=by_name, key="borough_code", format_func=names.get,
                      help=f"Or click a {area_label} on this page's map, or on the overview map.")
controls[1].multiselect(
    "More metrics for the headline figures", options=extra_options, key="borough_extra_metrics",
    max_selections=MAX_EXTRA_METRICS, placeholder="Add metrics",
    format_func=lambda key: f"{metrics[key].label} ({metrics[key].unit})",
    help="The headline figures are the first metric of each dataset and the metric chosen in the sidebar; "
         "add any other here.")
code = st.session_state["borough_code"]
name = names[code]
extra = list(st.session_state["borough_extra_metrics"])
ui.widget_to_link("borough", state.area_to_param(code))
ui.widget_to_link("extra", state.metric_keys_to_param(extra))

keys = boroughs.headline_metric_keys(metrics, [filters.metric, *extra])
datasets = list(dict.fromkeys(metrics[key].dataset for key in keys))
previous_start, previous_end = boroughs.previous_period(filters.start, filters.end)
period_text = boroughs.describe_period(filters.start, filters.end)
when = boroughs.during(filters.start, filters.end)
previous_text = (f"the previous {boroughs.days_in(filters.start, filters.end)} days "
                 f"({boroughs.describe_period(previous_start, previous_end)})")
bucket_days = boroughs.bucket_days_for(filters.start, filters.end)
step_text = f"{boroughs.step_label(bucket_days)} by {boroughs.step_label(bucket_days)}"
group_labels = {**{group: group for group in areas["borough_group"].dropna().unique()}, **city.groups}
own_area = areas.set_index("borough_code").loc[code]
group_label = group_labels.get(own_area["borough_group"], own_area["borough_group"])

file_stem = f"{code}_{filters.start}_{filters.end}"
# The profile is about the borough across these datasets in every section (the brief quotes them
# all), so the demo-data banner and the sources footer name them whichever section is open.
for dataset_id in datasets:
    ui.record_shown(dataset_id)

# The period applies to every section (the sites' readings, the neighbours' figures, the brief), and
# costs no query: it stays above them.
st.markdown(f"**{escape_markdown(name)}** is in {escape_markdown(group_label)} and covers "
            f"{own_area['area_ha']:,.0f} hectares. Period: **{period_text}**, compared with {previous_text}.")


# Each section asks only for what it shows (ui.run: cached by query, parameters and access level).
def borough_figures(run=ui.run) -> pd.DataFrame:
    """Every metric's figure for every borough over the period and the one before (one query for all boroughs)."""
    rows = run("borough_metrics", start=filters.start, end=filters.end, previous_start=previous_start,
               previous_end=previous_end, summed_peaks=boroughs.summed_peak_keys(metrics))
    return boroughs.borough_values(rows, metrics, areas)


def borough_trends(run=ui.run) -> pd.DataFrame:
    charted = {key: metrics[key] for key in keys}
    trend_rows = run("borough_trends", borough=code, metrics=keys, summed_peaks=boroughs.summed_peak_keys(charted),
                     start=filters.start, end=filters.end, bucket_days=bucket_days)
    return boroughs.trend_series(trend_rows, charted, bucket_days)


def borough_sites(run=ui.run) -> pd.DataFrame:
    return run("borough_entities", borough=code, start=filters.start, end=filters.end)


def nearest_boroughs(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The statistical neighbours, their table beside this borough's figures, and the sentences."""
    indicators = boroughs.neighbour_indicators(areas, values, metrics, boroughs.headline_metric_keys(metrics))
    neighbours = boroughs.statistical_neighbours(indicators, code)
    neighbour_rows = boroughs.neighbour_table(code, neighbours, values, areas, keys)
    return neighbours, neighbour_rows, boroughs.neighbour_sentences(neighbour_rows, metrics, keys)


def sources_caption(dataset_ids) -> None:
    st.caption(boroughs.sources_caption([
        (dataset.publisher, dataset.title, dataset.licence.title, ui.freshness_text(catalog, dataset),
         dataset.synthetic)
        for dataset in (catalog.datasets[dataset_id] for dataset_id in dataset_ids)]))


def headline_section() -> None:
    try:
        values = borough_figures()
    except QueryError as error:
        ui.query_failed(error)
        st.stop()
    table = boroughs.standings(values, code, metrics, keys)
    sentences = [boroughs.standing_sentence(row, metrics[row["metric_key"]], name, city.name, when,
                                            previous_text, area_label, area_labels)
                 for row in table.to_dict("records")]
    st.markdown(escape_markdown(boroughs.overall_sentence(table, name, when)))
    st.header("Headline figures", anchor="headline")
    with_data = table[table["value"].notna()]
    tiles = st.columns(3)
    for index, row in enumerate(with_data.to_dict("records")):
        metric = metrics[row["metric_key"]]
        delta = boroughs.delta_text(row["change_pct"], boroughs.days_in(filters.start, filters.end))
        with tiles[index % 3].container(border=True):
            steady = delta is not None and delta.startswith("about")
            st.metric(f"{metric.label} ({metric.unit})", boroughs.display_number(row["value"], metric), delta=delta,
                      delta_color="off" if steady else "inverse" if metric.better == "lower" else "normal",
                      delta_arrow="off" if steady else "auto",
                      help=f"{metric.label} in {metric.unit}; {boroughs.better_phrase(metric.better)}.")
            rank = boroughs.rank_phrase(row["rank"], row["ranked"], row["areas"], row["tied"], area_labels)
            st.caption(escape_markdown(
                f"{rank.capitalize()}"
                f" · average {city.name} {area_label}: {boroughs.display_value(row['average_all'], metric)}"))
    st.markdown("\n".join(f"- {escape_markdown(sentence)}" for sentence in sentences))

    group_columns = [column for column in table.columns if column.startswith("average_") and column != "average_all"]
    st.dataframe(
        boroughs.standings_display(table, metrics, area_labels), hide_index=True, key="borough_headline_table",
        column_config={
            "label": st.column_config.TextColumn("Metric", width="medium"),
            "figure": st.column_config.TextColumn(name, help=period_text),
            "before": st.column_config.TextColumn("Previous period", help=previous_text),
            "change": st.column_config.TextColumn("Change"),
            "position": st.column_config.TextColumn("Rank",
                                                    help=f"1 = highest value among the {area_labels} with data"),
            "average_all": st.column_config.TextColumn(f"Average {city.name} {area_label}",
                                                       help=f"Each {area_label} with data counts once"),
            **{column: st.column_config.TextColumn(f"Average {group_labels.get(group, group)} {area_label}")
               for column in group_columns for group in [column.removeprefix("average_")]},
        })
    ui.csv_download("Download the headline figures (CSV)", boroughs.standings_export(table, metrics),
                    file_name=f"{file_stem}_headline.csv",
                    key="borough_download_headline")
    sources_caption(datasets)


def trends_section() -> None:
    try:
        series = borough_trends()
    except QueryError as error:
        ui.query_failed(error)
        st.stop()
    st.header("Trends", anchor="trends")
    labels = {"borough": name, "average": f"Average {city.name} {area_label}"}
    if series.empty:
        st.info(f"No {area_label} has data for these metrics {when}.", icon=":material/info:")
    else:
        st.caption(escape_markdown(f"{step_text.capitalize()}: {name} solid, the average {city.name} {area_label} "
                                   "dotted; each chart from zero on its own scale."))
        charted = boroughs.charted_keys(series, keys)
        # Each metric's rows picked out once, for its chart and its sentence.
        series_of = dict(tuple(series.groupby("metric_key", sort=False)))
        for index, key in enumerate(charted):
            # A row of three per line, so a phone stacks them in the same order.
            if index % 3 == 0:
                trend_columns = st.columns(3)
            with trend_columns[index % 3]:
                st.plotly_chart(boroughs.small_chart(series_of[key], metrics[key], labels, bucket_days),
                                key=f"borough_trend_{key}", config=ui.chart_config(f"{file_stem}_{key}_trend"))
        trend_words = [boroughs.trend_sentence(series_of[key], metrics[key], name, bucket_days)
                       for key in keys if key in series_of]
        st.markdown("\n".join(f"- {escape_markdown(sentence)}" for sentence in trend_words))
        ui.csv_download("Download the trend figures (CSV)", series.assign(scope=series["scope"].map(labels)),
                        file_name=f"{file_stem}_trends.csv",
                        key="borough_download_trends")
    sources_caption(datasets)


def sites_section() -> None:
    try:
        sites = borough_sites()
    except QueryError as error:
        ui.query_failed(error)
        st.stop()
    st.header(f"Sites in {escape_markdown(name)}", anchor="sites")
    titles = {dataset_id: dataset.title for dataset_id, dataset in catalog.datasets.items()}
    colours = boroughs.dataset_colours(sorted(database.available))
    geojson = areas_geojson(city.boundaries)
    view = boroughs.fit_view(boroughs.borough_bounds(geojson, code), MAP_WIDTH_PX, MAP_HEIGHT_PX)
    sites_text = boroughs.sites_sentence(name, sites, titles)
    map_column, list_column = st.columns([3, 2], gap="large")
    with map_column:
        # A click on another borough picks it above the sections, on the rerun it starts.
        st.pydeck_chart(boroughs.sites_map(geojson, code, sites, titles, colours, view), height=MAP_HEIGHT_PX,
                        key="borough_map", on_select="rerun", selection_mode="single-object", alt=sites_text)
        counts = sites.groupby("dataset", sort=True).size()
        st.html(boroughs.sites_legend_html([(titles.get(dataset_id, dataset_id), colours[dataset_id], int(count))
                                            for dataset_id, count in counts.items() if dataset_id in colours]))
        st.caption(escape_markdown(sites_text) + f" Click another {area_label} to see its profile.")
    with list_column:
        site_table = sites.assign(dataset=sites["dataset"].map(titles))
        # As tall as the map, unless it has fewer rows than that holds (no blank rows under a short list).
        st.dataframe(site_table[["name", "dataset", "kind", "readings"]], hide_index=True,
                     height=MAP_HEIGHT_PX if len(site_table) > SITE_ROWS_BESIDE_MAP else "auto",
                     key="borough_sites_table",
                     column_config={"name": st.column_config.TextColumn("Site", width="medium"),
                                    "dataset": st.column_config.TextColumn("Dataset"),
                                    "kind": st.column_config.TextColumn("Kind"),
                                    "readings": st.column_config.NumberColumn("Readings", format="%d",
                                                                              help=f"Readings in {period_text}")})
        ui.csv_download("Download the sites (CSV)", site_table,
                        file_name=f"{file_stem}_sites.csv",
                        key="borough_download_sites")
    for dataset_id in counts.index:
        ui.record_shown(dataset_id)
    sources_caption(counts.index)


def neighbours_section() -> None:
    try:
        values = borough_figures()
    except QueryError as error:
        ui.query_failed(error)
        st.stop()
    neighbours, neighbour_rows, neighbour_words = nearest_boroughs(values)
    st.header("Statistical neighbours", anchor="neighbours")
    method = boroughs.neighbour_method(name, len(neighbours), area_labels, list(city.groups.values()),
                                      [metrics[key].label for key in boroughs.headline_metric_keys(metrics)])
    st.markdown("\n".join(f"- {escape_markdown(sentence)}" for sentence in neighbour_words))
    with st.expander("How the neighbours are chosen"):
        st.markdown(escape_markdown(method))
    neighbour_shown = neighbour_rows.assign(
        borough_group=neighbour_rows["borough_group"].map(group_labels),
        **{key: [boroughs.display_value(value, metrics[key]) for value in neighbour_rows[key]] for key in keys})
    st.dataframe(neighbour_shown, hide_index=True, key="borough_neighbours_table",
                 column_config={"borough_code": None,
                                "borough_name": st.column_config.TextColumn(area_label.capitalize()),
                                "borough_group": st.column_config.TextColumn("Group"),
                                "distance": st.column_config.NumberColumn("Distance", format="%.2f",
                                                                          help="0 = identical on every indicator"),
                                **{key: st.column_config.TextColumn(metrics[key].label) for key in keys}})
    ui.csv_download("Download the neighbours table (CSV)", boroughs.neighbours_export(neighbour_rows, metrics, keys),
                    file_name=f"{file_stem}_neighbours.csv",
                    key="borough_download_neighbours")
    # Its figures are the headline datasets': their sources, as under the Summary.
    sources_caption(datasets)
    st.page_link(Path(__file__).resolve().parent / "compare.py",
                 label=f"Compare {name} with its three nearest neighbours", icon=":material/compare_arrows:",
                 query_params={**state.filters_to_params(filters),
                               "compare": state.areas_to_param([code, *neighbours["borough_code"].head(3)])})


def brief_file(access: str, link: str, snapshot: str, generated: str) -> bytes:
    """The printable brief, worked out when someone asks for the file: it quotes every other section,
    so making it on each rerun of this section cost their queries and figures. This runs outside the
    page's rerun, where Streamlit calls are ignored: the queries go to the database directly, at the
    session's access level (a download is rare, so nothing is cached for it)."""
    run = functools.partial(database.run, access=access)
    try:
        values, series, sites = borough_figures(run), borough_trends(run), borough_sites(run)
    except QueryError as error:
        return brief.render_failure(name, area_label, period_text, str(error)).encode("utf-8")
    table = boroughs.standings(values, code, metrics, keys)
    neighbours, neighbour_rows, neighbour_words = nearest_boroughs(values)
    titles = {dataset_id: dataset.title for dataset_id, dataset in catalog.datasets.items()}
    sources = [brief.Source(title=dataset.title, publisher=dataset.publisher, licence=dataset.licence.title,
                            licence_url=dataset.licence.url, attribution=dataset.attribution,
                            source_url=dataset.source_url, synthetic=dataset.synthetic,
                            refreshed=ui.freshness_text(catalog, dataset))
               for dataset in (catalog.datasets[dataset_id] for dataset_id in datasets)]
    contents = brief.Brief(
        city_name=city.name, area_label=area_label, area_label_plural=area_labels, borough_name=name,
        group_label=group_label, area_ha=float(own_area["area_ha"]), period_text=period_text,
        previous_text=previous_text, snapshot=snapshot, generated=generated,
        overall=boroughs.overall_sentence(table, name, when), standings=table,
        sentences=brief.brief_sentences(table, metrics, when, previous_text, area_labels),
        metrics=metrics, group_labels=group_labels, trends=series, trend_step=boroughs.step_label(bucket_days),
        neighbours=neighbour_rows, neighbour_sentences=neighbour_words[1:], neighbour_method=boroughs.neighbour_method(
            name, len(neighbours), area_labels, list(city.groups.values()), [], short=True),
        sites_sentence=boroughs.sites_sentence(name, sites, titles), sources=sources,
        boundaries_attribution=city.boundaries_attribution, link=link)
    return brief.render_brief(contents).encode("utf-8")


def brief_section() -> None:
    st.header("Printable brief", anchor="brief")
    st.markdown(f"One page for {escape_markdown(name)}: the headline figures with small trend lines, the neighbours, "
                "the sites, and the sources and licences. Open the file in a browser and print it (A4).")
    # What depends on the session is taken now; the rest when the button is pressed. The brief's
    # "this view online" opens the profile at its figures, not at this section again.
    link = boroughs.without_param(ui.view_link(catalog, database), state.SECTION_PARAM)
    made = functools.partial(brief_file, ui.access_level(), link, ui.snapshot(catalog, database),
                             f"{datetime.now(timezone.utc):%d %b %Y %H:%M} UTC")
    st.download_button(f"Download the {area_label} brief (HTML, printable)", made,
                       file_name=f"{file_stem}_brief.html", mime="text/html", key="borough_download_brief",
                       on_click="ignore", icon=":material/print:")


# Each section runs its queries and draws its elements only while it is open: a filter change
# redraws one section, not the whole profile. The open one is in the link (?section=sites).
headline_tab, trends_tab, sites_tab, neighbours_tab, brief_tab = ui.sections(
    "borough_section", list(boroughs.SECTION_LABELS))
for tab, draw in ((headline_tab, headline_section), (trends_tab, trends_section), (sites_tab, sites_section),
                  (neighbours_tab, neighbours_section), (brief_tab, brief_section)):
    if tab.open:
        with tab:
            draw()
