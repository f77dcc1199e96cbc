"""Environment: air quality by borough, with the UK Daily Air Quality Index and its health advice."""

import streamlit as st

from citydash import environment as env
from citydash import ui
from citydash.airquality import DEFAULT_MIN_COVERAGE, load_daqi
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

st.title(f"Air quality in {catalog.city.name}")

try:
    daqi = load_daqi(catalog.pack_dir / "catalog.toml")
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

by_id = {dataset.id: dataset for dataset in options}
first_choice = env.default_dataset(options, filters.dataset_id)
if len(options) > 1:
    dataset_column, pollutant_column = st.columns(2)
    dataset_id = dataset_column.radio(
        "Dataset", options=list(by_id), index=list(by_id).index(first_choice.id), horizontal=True,
        key="environment_dataset",
        format_func=lambda key: f"{by_id[key].title}{' (synthetic)' if by_id[key].synthetic else ''}",
        help="Real measurements are listed first; synthetic demo data is marked.")
else:
    pollutant_column = st.container()
    dataset_id = first_choice.id
dataset = by_id[dataset_id]
pollutants = {metric.id: metric for metric in env.daqi_pollutants(dataset, daqi)}
pollutant_id = pollutant_column.radio(
    "Pollutant for the charts", options=list(pollutants), horizontal=True, key="environment_pollutant",
    index=list(pollutants).index(filters.metric_id) if filters.metric_id in pollutants else 0,
    format_func=lambda key: pollutants[key].label)
metric = pollutants[pollutant_id]
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
    try:
        daily = ui.run("air_site_daily_index", **common, tz=timezone, **env.daqi_query_params(daqi))
        site_rows = ui.run("air_sites", **common, metrics=list(pollutants))
        borough_daily = ui.run("air_borough_daily", **common, metrics=list(pollutants))
        site_types = ui.run("air_site_type_daily", **common, metrics=list(pollutants))
        areas = ui.run("boroughs")
    except QueryError as error:
        ui.query_failed(error)
        st.stop()

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

    map_column, table_column = st.columns([3, 2], gap="large")
    with map_column:
        st.subheader("Map: highest daily index at each monitoring site")
        view = env.site_view(sites, catalog.city.map_view)
        st.pydeck_chart(env.site_map(site_index, view, daqi, areas_geojson(catalog.city.boundaries), filters.boroughs),
                        height=480, key="environment_map")
        st.html(env.site_map_legend_html(daqi, has_missing=bool(site_index["max_index"].isna().any())))
        st.caption(escape_markdown(env.site_map_sentence(site_index, daqi, area_plural)))
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
        st.download_button("Download the sites table (CSV)", site_table.to_csv(index=False).encode("utf-8"),
                           file_name=f"{dataset.id}_daqi_sites_{filters.start}_{filters.end}.csv", mime="text/csv",
                           key="environment_download_sites", icon=":material/download:")
        st.download_button("Download every site's daily index (CSV)", daily.to_csv(index=False).encode("utf-8"),
                           file_name=f"{dataset.id}_daqi_daily_{filters.start}_{filters.end}.csv", mime="text/csv",
                           key="environment_download_daily_index", icon=":material/download:")

    st.subheader(f"Days in each DAQI band by {area_label}")
    st.caption(f"A {area_label}'s index for a day is its highest site's that day.")
    if band_days.empty:
        st.info(f"No {area_label} has a daily index between {period}.", icon=":material/info:")
    else:
        st.plotly_chart(env.band_days_chart(band_days, daqi), key="environment_band_days",
                        config={"displaylogo": False})
        st.caption(env.band_days_sentence(band_days, daqi, area_label))
        st.download_button("Download days per band (CSV)", band_days.to_csv(index=False).encode("utf-8"),
                           file_name=f"{dataset.id}_daqi_band_days_{filters.start}_{filters.end}.csv", mime="text/csv",
                           key="environment_download_band_days", icon=":material/download:")
    ui.source_note(catalog, dataset)

    st.subheader("Health advice for each DAQI band")
    st.table(env.advice_table(daqi).rename(columns={
        "band": "Band", "indices": "Index", "advice_general": "Everyone",
        "advice_at_risk": "At-risk individuals (lung or heart problems, older people)"}).set_index("Band"))
    st.caption(catalog.indices.get("daqi", {}).get("attribution", ""))

    references = settings.references_for(metric.id)
    st.subheader(f"{metric.label}: daily mean by {area_label}")
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
        st.download_button("Download the daily means (CSV)", lines.to_csv(index=False).encode("utf-8"),
                           file_name=f"{dataset.id}_{metric.id}_daily_{filters.start}_{filters.end}.csv",
                           mime="text/csv", key="environment_download_trend", icon=":material/download:")
    ui.source_note(catalog, dataset)

    st.subheader(f"{metric.label}: roadside against background sites, daily mean")
    by_class = env.class_daily(site_types, metric.id)
    if by_class.empty:
        st.info(f"No {metric.label} readings in the selection between {period}.", icon=":material/info:")
    else:
        st.plotly_chart(env.class_chart(by_class, metric, references), key="environment_classes",
                        config={"displaylogo": False})
        st.caption(env.class_sentence(env.class_means(site_types, metric.id), metric)
                   + " Roadside includes kerbside sites; background includes urban background and suburban sites.")
        st.download_button("Download the site-type means (CSV)", by_class.to_csv(index=False).encode("utf-8"),
                           file_name=f"{dataset.id}_{metric.id}_by_site_type_{filters.start}_{filters.end}.csv",
                           mime="text/csv", key="environment_download_classes", icon=":material/download:")
    ui.source_note(catalog, dataset)

    st.subheader(f"{metric.label} by day of the week and hour of the day")
    try:
        hourly = ui.run("air_hour_by_weekday", **common, metric=metric.id, tz=timezone)
    except QueryError as error:
        ui.query_failed(error)
    else:
        if hourly.empty:
            st.info(f"No {metric.label} readings in the selection between {period}.", icon=":material/info:")
        else:
            week_table = env.weekday_hour_table(hourly)
            st.plotly_chart(env.weekday_hour_heatmap(week_table, metric), key="environment_week",
                            config={"displaylogo": False})
            st.caption(env.heatmap_sentence(week_table, metric) + f" Hours are {catalog.city.name} local time.")
            st.download_button("Download the hour-by-weekday means (CSV)", hourly.to_csv(index=False).encode("utf-8"),
                               file_name=f"{dataset.id}_{metric.id}_hour_weekday_{filters.start}_{filters.end}.csv",
                               mime="text/csv", key="environment_download_week", icon=":material/download:")
    ui.source_note(catalog, dataset)

    limit = settings.hourly_limit
    if limit is not None and limit.metric in {candidate.id for candidate in dataset.metrics}:
        limit_metric = dataset.metric(limit.metric)
        st.subheader(f"Hours above the hourly {limit_metric.label} limit")
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
                st.download_button("Download hours above the limit (CSV)", shown.to_csv(index=False).encode("utf-8"),
                                   file_name=f"{dataset.id}_{limit.metric}_hours_above_{filters.start}_"
                                             f"{filters.end}.csv",
                                   mime="text/csv", key="environment_download_hours_above", icon=":material/download:")
        ui.source_note(catalog, dataset)

    for zone in settings.zones.values():
        st.subheader(f"Inside and outside the {zone.title}")
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
        compared = env.zone_comparison(site_rows, boundary)
        if compared[compared["metric"] == metric.id].empty:
            st.info(f"No site in the selection measured {metric.label} between {period}.", icon=":material/info:")
            continue
        st.plotly_chart(env.zone_chart(compared, metric), key=f"environment_zone_{zone.id}",
                        config={"displaylogo": False})
        st.caption(env.zone_sentence(compared, metric, zone.title) + " Bars are the mean of the site means: each "
                   "site counts once. This compares places, "
                   "not before and after the zone; roadside and background sites are kept apart because "
                   "their levels differ for reasons other than the zone.")
        st.download_button("Download the zone comparison (CSV)", compared.to_csv(index=False).encode("utf-8"),
                           file_name=f"{dataset.id}_{zone.id}_comparison_{filters.start}_{filters.end}.csv",
                           mime="text/csv", key=f"environment_download_zone_{zone.id}", icon=":material/download:")
        ui.source_note(catalog, dataset)
        licence = f" · Licence: {zone.licence.title}" if zone.licence else ""
        st.caption(f"Zone boundary: {zone.publisher}, {zone.title}{licence} · {zone.attribution}")
