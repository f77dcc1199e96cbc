"""Environment: air quality by borough, with the UK Daily Air Quality Index and its health advice."""

import streamlit as st

from citydash import environment as env
from citydash import ui
from citydash.airquality import DEFAULT_MIN_COVERAGE
from citydash.catalog import CatalogError
from citydash.data import QueryError
from citydash.geo import areas_geojson
from citydash.text import escape_markdown

catalog = ui.catalog()
filters = ui.filters()
area_label = catalog.city.area_label
area_plural = catalog.city.area_label_plural
period = f"{filters.start:%d %b %Y} to {filters.end:%d %b %Y}"
MAX_TREND_LINES = 6

# ---------------------------------------------------------------------------------
# The sections. Each runs its own queries, and only when it is the open one (see the end of the
# page), so a filter change costs one section's work rather than the whole page's. They read the
# choices the page makes below them (dataset, pollutants, metric, settings, daqi) and the query
# parameters set just before the tabs (common, timezone).


def monitoring_sites_section() -> None:
    """The daily index: headline tiles and advice, the site map and table, days per band, advice per band."""
    try:
        # The sites' overall index only: the map, tiles and charts use nothing else, and the
        # pollutants' own rows (four times as many) are fetched only for the download below.
        (daily, _), (site_rows, _) = ui.run_together(
            ("air_site_daily_index", dict(common, tz=timezone, **env.daqi_query_params(daqi), pollutants=False)),
            ("air_sites", dict(common, metrics=list(pollutants))))
        areas = ui.run("boroughs")
    except QueryError as error:
        ui.query_failed(error)
        return

    sites = env.one_row_per_site(site_rows)
    site_index = env.site_period_index(daily, sites, daqi)
    band_days = env.band_days(daily, areas, daqi)
    summary = env.index_summary(site_index, band_days, daqi)

    tiles = st.columns(3)
    tiles[0].metric("Highest daily index in the selection",
                    f"{summary.highest} ({summary.band.name})" if summary.highest else "no index",
                    help="The highest daily DAQI at any site in the selection during the period.", border=True)
    tiles[1].metric(f"{area_label.capitalize()}-days above {daqi.bands[0].name}",
                    f"{summary.borough_days_above_low:,} of {summary.borough_days:,}",
                    help=f"Days on which a {area_label}'s highest site index was {daqi.bands[1].first} or more, "
                         f"counted per {area_label}.",
                    border=True)
    tiles[2].metric("Sites with a daily index", f"{summary.sites_with_index:,} of {summary.sites:,}",
                    help=f"Sites with enough readings ({DEFAULT_MIN_COVERAGE:.0%} of an averaging period) for an "
                         "index on at least one day.",
                    border=True)
    if summary.highest:
        advice = st.warning if summary.highest >= daqi.bands[1].first else st.success
        advice(f"**Highest band reached: {summary.band.name}** ({summary.band.first}-{summary.band.last}), at "
               f"{escape_markdown(summary.site_name)} ({escape_markdown(summary.borough_name)}) "
               f"on {summary.day:%d %b %Y}, set by "
               f"{str(summary.pollutant).upper()}. **Everyone:** {summary.band.advice_general} "
               f"**At-risk individuals:** {summary.band.advice_at_risk}", icon=":material/health_and_safety:")

    st.header("Monitoring sites")
    map_column, table_column = st.columns([3, 2], gap="large")
    with map_column:
        st.subheader("Map: highest daily index at each monitoring site")
        # Always the city's view: a view fitted to the selection would reset the reader's pan and
        # zoom at every filter change. The selected areas are shaded instead.
        st.pydeck_chart(env.site_map(site_index, catalog.city.map_view, daqi, areas_geojson(catalog.city.boundaries),
                                     filters.boroughs),
                        height=480, key="environment_map")
        st.html(env.site_map_legend_html(daqi, has_missing=bool(site_index["max_index"].isna().any())))
        st.caption(escape_markdown(env.site_map_sentence(site_index, daqi, area_plural)))
        if filters.boroughs:
            st.caption(f"The selected {area_plural if len(filters.boroughs) > 1 else area_label} "
                       f"{'are' if len(filters.boroughs) > 1 else 'is'} shaded darker. The map keeps its view "
                       "when the filters change: drag to pan and scroll or pinch to zoom.")
        ui.source_note(catalog, dataset)
    with table_column:
        st.subheader("Table: sites by highest daily index")
        site_table = site_index[["max_index", "band", "name", "borough_name", "kind", "grade", "pollutant", "day",
                                 "days_with_index", "entity_id", "lat", "lon"]]
        st.dataframe(site_table, hide_index=True, height=480, key="environment_site_table", column_config={
            "name": st.column_config.TextColumn("Site", width="medium"),
            "borough_name": st.column_config.TextColumn(area_label.capitalize()),
            "kind": st.column_config.TextColumn("Type"),
            "grade": st.column_config.TextColumn("Instrument"),
            "max_index": st.column_config.NumberColumn("Index", format="%d", help="Highest daily DAQI in the period"),
            "band": st.column_config.TextColumn("Band"),
            "pollutant": st.column_config.TextColumn("Set by"),
            "day": st.column_config.DateColumn("On", format="DD/MM/YYYY"),
            "days_with_index": st.column_config.NumberColumn("Days", format="%d", help="Days with an index"),
            "entity_id": st.column_config.TextColumn("Code"),
            "lat": None, "lon": None,
        })
        ui.csv_download("Download the sites table (CSV)", site_table,
                        file_name=f"{dataset.id}_daqi_sites_{filters.start}_{filters.end}.csv",
                        key="environment_download_sites")
        ui.query_csv_download("Download every site's daily index (CSV)", "air_site_daily_index",
                              {**common, "tz": timezone, **env.daqi_query_params(daqi), "pollutants": True},
                              file_name=f"{dataset.id}_daqi_daily_{filters.start}_{filters.end}.csv",
                              key="environment_download_daily_index")

    st.header(f"Days in each DAQI band by {area_label}")
    st.caption(f"A {area_label}'s index for a day is its highest site's that day.")
    if band_days.empty:
        st.info(f"No {area_label} has a daily index between {period}.", icon=":material/info:")
    else:
        chart_tab, table_tab = st.tabs(["Chart", "Table"])
        with chart_tab:
            st.plotly_chart(env.band_days_chart(band_days, daqi), key="environment_band_days",
                            config={"displaylogo": False})
        with table_tab:
            band_table = env.band_days_table(band_days, daqi)
            st.dataframe(band_table, hide_index=True, key="environment_band_days_table", column_config={
                "borough_name": st.column_config.TextColumn(area_label.capitalize()),
                **{heading: st.column_config.NumberColumn(heading, format="%d")
                   for heading in band_table.columns[1:-1]},
                "days_with_index": st.column_config.NumberColumn("Days with an index", format="%d")})
            ui.csv_download("Download days per band (CSV)", band_days,
                            file_name=f"{dataset.id}_daqi_band_days_{filters.start}_{filters.end}.csv",
                            key="environment_download_band_days")
        st.caption(env.band_days_sentence(band_days, daqi, area_label))
    ui.source_note(catalog, dataset)

    st.header("Health advice for each DAQI band")
    st.table(env.advice_table(daqi).rename(columns={
        "band": "Band", "indices": "Index", "advice_general": "Everyone",
        "advice_at_risk": "At-risk individuals (lung or heart problems, older people)"}).set_index("Band"))
    st.caption(catalog.indices.get("daqi", {}).get("attribution", ""))


def trends_section() -> None:
    """The chosen pollutant's daily mean by area, then roadside against background sites."""
    try:
        pollutant_params = dict(common, metrics=list(pollutants))
        (borough_daily, _), (site_types, _) = ui.run_together(
            ("air_borough_daily", pollutant_params), ("air_site_type_daily", pollutant_params))
    except QueryError as error:
        ui.query_failed(error)
        return

    references = settings.references_for(metric.id)
    st.header(f"{metric.label}: daily mean by {area_label}")
    everyone = f"All {area_plural}" if not filters.boroughs else f"All {len(filters.boroughs)} selected {area_plural}"
    lines = env.trend_by_scope(borough_daily, metric.id, MAX_TREND_LINES, everyone)
    if lines.empty:
        st.info(f"No {metric.label} readings in the selection between {period}.", icon=":material/info:")
    else:
        st.plotly_chart(env.pollutant_trend(lines, metric, references),
                        key="environment_trend", config={"displaylogo": False})
        if references:
            st.caption("Reference lines: " + "; ".join(f"{reference.text()} {metric.unit} ({reference.source})"
                                                         for reference in references)
                       + ". A daily mean above an annual or 8-hour value is a yardstick, not a breach of it.")
        means = env.period_means(borough_daily, metric.id)
        st.dataframe(means[["borough_name", "value", "days", "readings"]], hide_index=True, key="environment_means",
                     column_config={
                         "borough_name": st.column_config.TextColumn(area_label.capitalize()),
                         "value": st.column_config.NumberColumn(f"Mean over the period ({metric.unit})", format="%.1f"),
                         "days": st.column_config.NumberColumn("Days", format="%d"),
                         "readings": st.column_config.NumberColumn("Hourly readings", format="%d")})
        ui.csv_download("Download the daily means (CSV)", lines,
                        file_name=f"{dataset.id}_{metric.id}_daily_{filters.start}_{filters.end}.csv",
                        key="environment_download_trend")
    ui.source_note(catalog, dataset)

    st.header(f"{metric.label}: roadside against background sites, daily mean")
    by_class = env.class_daily(site_types, metric.id)
    if by_class.empty:
        st.info(f"No {metric.label} readings in the selection between {period}.", icon=":material/info:")
    else:
        chart_tab, table_tab = st.tabs(["Chart", "Table"])
        with chart_tab:
            st.plotly_chart(env.class_chart(by_class, metric, references), key="environment_classes",
                            config={"displaylogo": False})
        with table_tab:
            st.dataframe(by_class, hide_index=True, key="environment_classes_table", column_config={
                "site_class": st.column_config.TextColumn("Site type"),
                "day": st.column_config.DateColumn("Day", format="DD/MM/YYYY"),
                "value": st.column_config.NumberColumn(f"Daily mean ({metric.unit})", format="%.1f"),
                "readings": st.column_config.NumberColumn("Hourly readings", format="%d"),
                "sites": st.column_config.NumberColumn("Sites", format="%d", help="Sites with readings that day")})
            ui.csv_download("Download the site-type means (CSV)", by_class,
                            file_name=f"{dataset.id}_{metric.id}_by_site_type_{filters.start}_{filters.end}.csv",
                            key="environment_download_classes")
        st.caption(env.class_sentence(env.class_means(site_types, metric.id), metric)
                   + " Roadside includes kerbside sites; background includes urban background and suburban sites.")
    ui.source_note(catalog, dataset)


def time_of_day_section() -> None:
    """The chosen pollutant by weekday and hour, then the hours above the hourly limit."""
    st.header(f"{metric.label} by day of the week and hour of the day")
    try:
        hourly = ui.run("air_hour_by_weekday", **common, metric=metric.id)
    except QueryError as error:
        ui.query_failed(error)
    else:
        if hourly.empty:
            st.info(f"No {metric.label} readings in the selection between {period}.", icon=":material/info:")
        else:
            week_table = env.weekday_hour_table(hourly)
            chart_tab, table_tab = st.tabs(["Chart", "Table"])
            with chart_tab:
                st.plotly_chart(env.weekday_hour_heatmap(week_table, metric), key="environment_week",
                                config={"displaylogo": False})
            with table_tab:
                # Hours down the page as in the chart, one column a weekday.
                hours_by_day = week_table.T.rename_axis("hour").reset_index()
                hours_by_day["hour"] = [f"{hour:02d}:00" for hour in hours_by_day["hour"]]
                st.dataframe(hours_by_day, hide_index=True, key="environment_week_table", height=400,
                             column_config={"hour": st.column_config.TextColumn("Hour starting"),
                                            **{day: st.column_config.NumberColumn(day, format="%.1f")
                                               for day in week_table.index}})
                ui.csv_download("Download the hour-by-weekday means (CSV)", hourly,
                                file_name=f"{dataset.id}_{metric.id}_hour_weekday_{filters.start}_"
                                             f"{filters.end}.csv",
                                key="environment_download_week")
            st.caption(env.heatmap_sentence(week_table, metric) + f" Hours are {catalog.city.name} local time, "
                       f"means in {metric.unit}.")
    ui.source_note(catalog, dataset)

    limit = settings.hourly_limit
    if limit is not None and limit.metric in {candidate.id for candidate in dataset.metrics}:
        limit_metric = dataset.metric(limit.metric)
        st.header(f"Hours above the hourly {limit_metric.label} limit")
        st.markdown(f"An hourly mean above {limit.value:g} {limit_metric.unit} is allowed on at most "
                    f"{limit.allowed_hours_per_year} hours in a calendar year ({limit.source}).")
        try:
            above = env.hours_above(ui.run("air_hours_above_limit", **common, metric=limit.metric,
                                           limit=limit.value, tz=timezone), limit.allowed_hours_per_year)
        except QueryError as error:
            ui.query_failed(error)
        else:
            if above.empty:
                st.info(f"No {limit_metric.label} readings in the selection between {period}.", icon=":material/info:")
            else:
                if int(above["hours_above"].max()) > 0:
                    st.caption(f"The sites with most hours above {limit.value:g} {limit_metric.unit}, "
                               "per calendar year; the table lists every site.")
                    st.plotly_chart(env.hours_above_chart(above, limit, limit_metric.unit),
                                    key="environment_hours_above", config={"displaylogo": False})
                st.caption(escape_markdown(env.hours_above_sentence(above, limit, limit_metric.unit)))
                shown = above[["name", "borough_name", "kind", "year", "hours_above", "hours_measured", "highest",
                               "over_allowance", "entity_id"]]
                st.dataframe(shown, hide_index=True, key="environment_hours_above_table", height=260, column_config={
                    "name": st.column_config.TextColumn("Site", width="medium"),
                    "borough_name": st.column_config.TextColumn(area_label.capitalize()),
                    "kind": st.column_config.TextColumn("Type"),
                    "year": st.column_config.NumberColumn("Year", format="%d"),
                    "hours_above": st.column_config.NumberColumn(f"Hours above {limit.value:g}", format="%d"),
                    "hours_measured": st.column_config.NumberColumn("Hours measured", format="%d"),
                    "highest": st.column_config.NumberColumn(f"Highest hour ({limit_metric.unit})", format="%.1f"),
                    "over_allowance": st.column_config.CheckboxColumn(f"Over {limit.allowed_hours_per_year}"),
                    "entity_id": st.column_config.TextColumn("Code")})
                ui.csv_download("Download hours above the limit (CSV)", shown,
                                file_name=f"{dataset.id}_{limit.metric}_hours_above_{filters.start}_"
                                             f"{filters.end}.csv",
                                key="environment_download_hours_above")
        ui.source_note(catalog, dataset)


def zones_section() -> None:
    """Inside against outside each zone the pack names, or how to add a zone's missing file."""
    for zone in settings.zones.values():
        st.header(f"Inside and outside the {zone.title}")
        if not zone.available():
            st.info(f"This comparison needs the zone's boundary, which this app does not ship "
                    f"({zone.licence.title if zone.licence else 'its licence'}). {zone.how_to_get} "
                    f"Expected file: `{zone.path}`. Reload the page once it is there.", icon=":material/map:")
            continue
        try:
            boundary = env.load_zone(zone.path)
        except ValueError as error:
            st.error(str(error), icon=":material/error:")
            continue
        try:
            # Asked only once a zone's file is there (one cached result serves every zone).
            site_rows = ui.run("air_sites", **common, metrics=list(pollutants))
        except QueryError as error:
            ui.query_failed(error)
            return
        compared = env.zone_comparison(site_rows, boundary)
        if compared[compared["metric"] == metric.id].empty:
            st.info(f"No site in the selection measured {metric.label} between {period}.", icon=":material/info:")
            continue
        chart_tab, table_tab = st.tabs(["Chart", "Table"])
        with chart_tab:
            st.plotly_chart(env.zone_chart(compared, metric), key=f"environment_zone_{zone.id}",
                            config={"displaylogo": False})
        with table_tab:
            st.dataframe(compared[compared["metric"] == metric.id][["site_class", "zone", "value", "sites"]],
                         hide_index=True, key=f"environment_zone_{zone.id}_table", column_config={
                             "site_class": st.column_config.TextColumn("Site type"),
                             "zone": st.column_config.TextColumn("Inside or outside"),
                             "value": st.column_config.NumberColumn(f"Mean of site means ({metric.unit})",
                                                                    format="%.1f"),
                             "sites": st.column_config.NumberColumn("Sites", format="%d")})
            # The file has every pollutant, so one download serves whichever is chosen above.
            ui.csv_download("Download the zone comparison, every pollutant (CSV)", compared,
                            file_name=f"{dataset.id}_{zone.id}_comparison_{filters.start}_{filters.end}.csv",
                            key=f"environment_download_zone_{zone.id}")
        st.caption(env.zone_sentence(compared, metric, zone.title) + " Bars are the mean of the site means: each "
                   "site counts once. This compares places, "
                   "not before and after the zone; roadside and background sites are kept apart because "
                   "their levels differ for reasons other than the zone.")
        ui.source_note(catalog, dataset)
        licence = f" · Licence: {zone.licence.title}" if zone.licence else ""
        st.caption(f"Zone boundary: {zone.publisher}, {zone.title}{licence} · {zone.attribution}")


# ---------------------------------------------------------------------------------
# The page: title, dataset and pollutant, the period covered, then the sections.

st.title(f"Air quality in {catalog.city.name}")

try:
    # Both parsed again only when a catalogue file changes, not on every rerun.
    daqi = env.load_daqi_cached(catalog.pack_dir / "catalog.toml")
    settings = env.load_environment_settings(catalog.pack_dir, catalog.licences)
except (CatalogError, ValueError) as error:
    st.error(f"The city pack's air-quality settings are not valid: {error}", icon=":material/error:")
    st.stop()

options = env.daqi_datasets(ui.visible_metrics(catalog, ui.database()).values(), catalog.datasets)
if not options:
    st.info("No air-quality dataset with Daily Air Quality Index pollutants is available. Build the demo data "
            "(`python -m citydash demo`) or ingest LondonAir data (`python -m citydash ingest laqn FILE`).",
            icon=":material/info:")
    st.stop()

# The page's own choices are in the link (air_dataset, air_pollutant) beside the shared filters, so a
# shared link opens on the same dataset and pollutant; a value that is not an option falls back to
# the default with a notice. The widgets take their value from session state, never an index.
by_id = {dataset.id: dataset for dataset in options}
first_choice = env.default_dataset(options, filters.dataset_id)
notices: tuple[str, ...] = ()
if len(options) > 1:
    notices += ui.widget_from_link("air_dataset", "environment_dataset",
                                   lambda text: env.choice_from_param(text, list(by_id), first_choice.id, "dataset",
                                                                      first_choice.title))
    if st.session_state.get("environment_dataset") not in by_id:
        # A dataset chosen earlier in the session that is no longer published.
        st.session_state["environment_dataset"] = first_choice.id
    dataset_column, pollutant_column = st.columns(2)
    dataset_id = dataset_column.radio(
        "Dataset", options=list(by_id), horizontal=True, key="environment_dataset",
        format_func=lambda key: f"{by_id[key].title}{' (synthetic)' if by_id[key].synthetic else ''}",
        help="Real measurements are listed first; synthetic demo data is marked.")
    ui.widget_to_link("air_dataset", dataset_id)
else:
    pollutant_column = st.container()
    dataset_id = first_choice.id
    # With one dataset there is nothing to choose: a dataset named by an older link is dropped.
    ui.widget_to_link("air_dataset", "")
dataset = by_id[dataset_id]
pollutants = {metric.id: metric for metric in env.daqi_pollutants(dataset, daqi)}
first_pollutant = filters.metric_id if filters.metric_id in pollutants else next(iter(pollutants))
notices += ui.widget_from_link("air_pollutant", "environment_pollutant",
                               lambda text: env.choice_from_param(text, list(pollutants), first_pollutant, "pollutant",
                                                                  pollutants[first_pollutant].label))
if st.session_state.get("environment_pollutant") not in pollutants:
    # The dataset just chosen does not measure the pollutant chosen before it.
    st.session_state["environment_pollutant"] = first_pollutant
pollutant_id = pollutant_column.radio(
    "Pollutant for the charts", options=list(pollutants), horizontal=True, key="environment_pollutant",
    format_func=lambda key: pollutants[key].label)
ui.widget_to_link("air_pollutant", pollutant_id)
metric = pollutants[pollutant_id]
for notice in notices:
    st.info(notice, icon=":material/link:")
if filters.dataset_id not in by_id or filters.metric_id not in pollutants:
    st.caption(f"The sidebar's metric is not one of this page's air pollutants, so the charts start with "
               f"{next(iter(pollutants.values())).label}; choose another pollutant above.")

selection_label = (f"all {area_plural}" if not filters.boroughs else
                   f"{len(filters.boroughs)} selected {area_label if len(filters.boroughs) == 1 else area_plural}")
st.markdown(f"**{dataset.title}**, {selection_label}, {period}. The UK Daily Air Quality Index (DAQI) runs "
            "from 1 (low) to 10 (very high); each site's index for a day is the highest across NO₂ (hourly "
            "mean), O₃ (running 8-hour mean) and PM2.5 and PM10 (running 24-hour means).")

try:
    coverage = ui.run("air_coverage", dataset=dataset.id, metrics=list(pollutants))
except QueryError as error:
    ui.query_failed(error)
    st.stop()
first_day, last_day = env.coverage_days(coverage)
if not env.overlaps(first_day, last_day, filters.start, filters.end):
    covered = f"{first_day:%d %b %Y} to {last_day:%d %b %Y}" if first_day else "no days yet"
    st.info(f"{dataset.title} has readings for {covered}, outside the dates chosen ({period}).",
            icon=":material/date_range:")
    if first_day:
        def _use_dataset_period(first, last):
            st.session_state["filters_dates"] = (first, last)
        st.button(f"Show {first_day:%d %b %Y} to {last_day:%d %b %Y}", key="environment_use_dataset_period",
                  on_click=_use_dataset_period, args=(first_day, last_day), icon=":material/date_range:")
    ui.source_note(catalog, dataset)
else:
    # st.stop() would also skip the frame's banner and footer, so the page's body sits in this branch.
    common = {"dataset": dataset.id, "boroughs": list(filters.boroughs), "start": filters.start, "end": filters.end}
    timezone = catalog.city.timezone
    # The intro above names the dataset whichever section is open, and a section may show none of
    # its readings (a zone without its file): the demo banner and the footer's sources list it anyway.
    ui.record_shown(dataset.id)
    # One section at a time: only the open one runs its queries and builds its figures.
    sites_tab, trends_tab, time_tab, *zone_tabs = ui.sections("environment_section", env.section_labels(settings))
    if sites_tab.open:
        with sites_tab:
            monitoring_sites_section()
    if trends_tab.open:
        with trends_tab:
            trends_section()
    if time_tab.open:
        with time_tab:
            time_of_day_section()
    for zone_tab in zone_tabs:  # none when the pack names no zone
        if zone_tab.open:
            with zone_tab:
                zones_section()
