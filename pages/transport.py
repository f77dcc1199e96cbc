"""Transport: stations, cycle hire docks and road traffic by borough, with maps, trends and tables, one
section at a time (only the open section runs its queries and draws its figures)."""

import pandas as pd
import streamlit as st

from citydash import maps, transport, ui
from citydash.data import QueryError
from citydash.geo import areas_geojson
from citydash.text import escape_markdown

catalog = ui.catalog()
filters = ui.filters()
database = ui.database()
city = catalog.city
view = city.map_view
boroughs = filters.boroughs
period = f"{filters.start:%d %b %Y} to {filters.end:%d %b %Y}"
span_days = (filters.end - filters.start).days + 1
window = {"start": filters.start, "end": filters.end}

areas = ui.run("boroughs")
names = dict(zip(areas["borough_code"], areas["borough_name"]))
# The chosen boroughs' names in the order chosen: the order of the side-by-side panels.
chosen_names = [names[code] for code in boroughs]
selection = (f"all {city.area_label_plural}" if not boroughs else ", ".join(names[code] for code in boroughs)
             if len(boroughs) <= 3 else f"{len(boroughs)} {city.area_label_plural}")

st.title(f"Transport in {city.name}")
st.markdown(f"Stations, cycle hire and road traffic in **{escape_markdown(selection)}**, {period}, one section at a "
            f"time: choose one below; the last puts each {city.area_label}'s figures side by side. Maps show every "
            f"{city.area_label}; points outside the selection are faded. The metric chosen in the sidebar does not "
            "apply here: each section uses its own measures, named in its headings.")

visible = [dataset for dataset in catalog.visible(ui.access_level()) if dataset.id in database.available]
sources = transport.transport_sources(visible)
candidate_ids = [dataset.id for members in sources.values() for dataset in members]
if not candidate_ids:
    st.info("No transport data has been published yet. Build the demo data (`python -m citydash demo`) or "
            "ingest TfL station counts, TfL BikePoint or DfT traffic counts.", icon=":material/info:")
    st.stop()

try:
    coverage = ui.run("transport_coverage", datasets=candidate_ids, **window)
except QueryError as error:
    ui.query_failed(error)
    st.stop()

overlays = transport.load_overlays(catalog)
tube = overlays.get("tube_lines")
toggles = st.columns(2)
link_notices = ui.widget_from_link(transport.OUTLINES_PARAM, "transport_show_outlines", lambda text: (
    transport.flag_from_param(text, True, f"{city.area_label} outlines")))
show_outlines = toggles[0].checkbox(f"Show {city.area_label} outlines", key="transport_show_outlines")
ui.widget_to_link(transport.OUTLINES_PARAM, transport.flag_to_param(show_outlines))
show_tube = False
if tube is not None:
    link_notices += ui.widget_from_link(transport.TUBE_PARAM, "transport_show_tube", lambda text: (
        transport.flag_from_param(text, False, tube.title)))
    show_tube = toggles[1].checkbox(f"Show {tube.title}", key="transport_show_tube",
                                    help=f"{tube.attribution} Licence: {tube.licence_title}.")
    ui.widget_to_link(transport.TUBE_PARAM, transport.flag_to_param(show_tube))
for notice in link_notices:
    st.info(notice, icon=":material/link:")
map_context = transport.MapContext(
    view=city.map_view, boroughs=boroughs,
    outlines=areas_geojson(city.boundaries) if show_outlines else None,
    lines=transport.read_geojson(tube.path) if show_tube else None,
    caption=transport.overlay_caption(tube) if show_tube else None)
in_selection_label = f"In {selection}" if boroughs else None
file_suffix = f"{filters.start}_{filters.end}"


# Every station's, dock's and count point's table and its borough totals depend only on the
# period's query results, not on the borough selection: kept so that a change of selection does
# not rebuild them (a third of a rerun). Keyed on the queries that made the results (ui.run_keyed:
# data version, access level, parameters), so they never outlive their data or pass between
# access levels; the results themselves are not hashed (leading underscore: 10 ms a call at
# 6,000 entities), so `results` must be the keys of exactly the frames passed. Each call gets its
# own copy.
@st.cache_data(max_entries=8, ttl=600, show_spinner=False)
def station_tables(results: tuple[str, ...], _metrics: pd.DataFrame | None, _daytypes: pd.DataFrame | None,
                   _entities: pd.DataFrame | None, scheme: transport.StationScheme) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From transport_entity_metrics rows, or for a daily dataset from its day types and entities."""
    metrics = _metrics if _metrics is not None else transport.daily_station_metrics(_entities, _daytypes, scheme)
    stations = transport.station_table(metrics, _daytypes, scheme)
    return stations, transport.station_boroughs(stations)


@st.cache_data(max_entries=8, ttl=600, show_spinner=False)
def dock_tables(results: str, _metrics: pd.DataFrame,
                plan: transport.DockScheme) -> tuple[pd.DataFrame, pd.DataFrame]:
    docks = transport.dock_table(_metrics, plan)
    return docks, transport.dock_boroughs(docks)


@st.cache_data(max_entries=8, ttl=600, show_spinner=False)
def traffic_tables(results: str, _metrics: pd.DataFrame,
                   types: list[tuple[str, str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return transport.traffic_table(_metrics, types), transport.traffic_boroughs(_metrics, types)


def point_map(points: pd.DataFrame, chosen: pd.DataFrame, layer_id: str, unit: str, alt: str,
              context: transport.MapContext) -> None:
    """A point map with its overlays; `alt` is its one-sentence text alternative."""
    st.pydeck_chart(transport.point_deck(points, chosen, layer_id, unit, context), height=520,
                    key=f"transport_{layer_id}_map", alt=alt)
    if context.caption:
        st.caption(context.caption)


def linked_choice(param: str, key: str, options: list[str], default: str, what: str) -> None:
    """Before a choice is drawn: its value from the link, or kept, or the default; notices said here."""
    if st.session_state.get(key) not in (None, *options):
        del st.session_state[key]  # a value this run no longer offers (other data, other access)
    notices = ui.widget_from_link(param, key, lambda text: transport.choice_from_param(text, options, default, what))
    for notice in notices:
        st.info(notice, icon=":material/link:")


def choose_source(candidates: list, coverage: pd.DataFrame, role: str, what: str, offer_choice: bool = True):
    """The dataset a section shows: a choice when several can answer it, else the only one.

    Without `offer_choice` (the summary, which draws no choice of its own) it is the one chosen in
    the source's own section, or the link's, or the default: what that section would show."""
    if not candidates:
        return None
    default = transport.pick_source(candidates, coverage) or candidates[0]
    if len(candidates) == 1:
        return default
    by_id = {dataset.id: dataset for dataset in candidates}
    key, param = f"transport_{role}_source", transport.source_param(role)
    linked_choice(param, key, list(by_id), default.id, f"{what.lower()} data")
    if offer_choice:
        chosen = st.selectbox(f"{what} data", options=list(by_id),
                              format_func=lambda dataset_id: by_id[dataset_id].title, key=key)
    else:
        chosen = st.session_state[key]
    ui.widget_to_link(param, chosen)
    return by_id[chosen]


def has_data(dataset, coverage: pd.DataFrame, period: str) -> bool:
    """Says so, with what the dataset does cover, when it has nothing in the period."""
    if transport.has_period_data(coverage, dataset.id):
        return True
    st.info(f"No data between {period}: {transport.coverage_text(dataset, coverage)}. "
            "Change the dates in the sidebar to see it.", icon=":material/info:")
    return False


def column_config(label: str, number_format: str | None):
    if number_format == "yes/no":
        return st.column_config.CheckboxColumn(label)
    if number_format == "date":
        return st.column_config.DateColumn(label, format="D MMM YYYY")
    if number_format:
        return st.column_config.NumberColumn(label, format=number_format)
    return st.column_config.TextColumn(label)


def table_with_download(frame: pd.DataFrame, columns: dict, key: str, file_name: str, file_suffix: str,
                        in_selection_label: str | None = None, height: int | None = None) -> None:
    """The numbers behind a chart or map, on screen and as CSV (raw column names, full precision)."""
    if in_selection_label and "in_selection" in frame.columns:
        columns = {**columns, "in_selection": (in_selection_label, "yes/no")}
    config = {column: column_config(label, number_format) for column, (label, number_format) in columns.items()}
    st.dataframe(frame[list(columns)], hide_index=True, column_config=config, key=f"transport_{key}_table",
                 height=height or "auto", placeholder="–")
    ui.csv_download("Download this table (CSV)", frame,
                    file_name=f"{file_name}_{file_suffix}.csv",
                    key=f"transport_{key}_download")


def show_views(views: list[transport.ChartView], dataset_id: str, file_suffix: str) -> None:
    """Each view as a chart and its table in tabs, with its sentence; one without a chart is a table
    under its own title."""
    for view in views:
        if view.figure is None:
            st.markdown(f"**{view.title}**")
            table_with_download(view.table, view.columns, view.name, f"{dataset_id}_{view.file}", file_suffix)
            continue
        chart_tab, table_tab = st.tabs(["Chart", "Table"])
        with chart_tab:
            st.plotly_chart(view.figure, key=f"transport_{view.name}_chart", config={"displaylogo": False})
        with table_tab:
            table_with_download(view.table, view.columns, view.name, f"{dataset_id}_{view.file}", file_suffix)
        if view.sentence:
            st.caption(view.sentence)


area_column = (city.area_label.capitalize(), None)


def stations_section() -> None:
    st.header("Stations")
    station_source = choose_source(sources[transport.STATIONS], coverage, transport.STATIONS, "Station")
    if station_source is None:
        st.info("No station entry and exit counts are published.", icon=":material/info:")
    elif has_data(station_source, coverage, period):
        scheme = transport.station_scheme(station_source)
        try:
            counts = ui.run("transport_sampling", datasets=[station_source.id])
            bucket = transport.trend_bucket(span_days, *transport.sampling(counts, station_source.id))
            trend_call = ("transport_trend", dict(dataset=station_source.id, metrics=list(scheme.volume),
                                                  bucket=bucket, boroughs=list(boroughs), **window))
            # A daily dataset's figures per station come from its day types and its entities (the
            # same whatever the period): one query over the period rather than two.
            if scheme.yearly:
                (station_metrics, metrics_key), (station_trend_rows, _) = ui.run_together(
                    ("transport_entity_metrics", dict(dataset=station_source.id, metrics=scheme.metrics, **window)),
                    trend_call)
                stations, station_boroughs = station_tables((metrics_key,), station_metrics, None, None, scheme)
            else:
                (daytypes, daytypes_key), (station_trend_rows, _), (entities, entities_key) = ui.run_together(
                    ("transport_entity_daytypes", dict(dataset=station_source.id, metrics=list(scheme.volume),
                                                       **window)),
                    trend_call, ("transport_entities", dict(dataset=station_source.id)))
                station_metrics = None
                stations, station_boroughs = station_tables((daytypes_key, entities_key), None, daytypes, entities,
                                                            scheme)
        except QueryError as error:
            ui.query_failed(error)
            st.stop()
        chosen_stations = transport.in_selection(stations, boroughs)
        basis = ("annual counts averaged over the years in the period, divided by the days in a year"
                 if scheme.yearly else "daily counts averaged over the days with data")

        st.subheader("Map: stations by entries and exits on an average day, coloured by mode")
        colours = transport.mode_colours(stations["mode"])
        station_sentence = transport.stations_sentence(chosen_stations, selection)
        map_tab, table_tab = st.tabs(["Map", transport.map_table_title(len(stations), len(chosen_stations), "station",
                                                                       selection, boroughs)])
        with map_tab:
            points = transport.point_frame(stations, stations["per_day"], transport.radius_pixels(stations["per_day"]),
                                           transport.category_colours(stations["mode"], colours), boroughs,
                                           transport.station_labels)
            point_map(points, chosen_stations, "stations", "entries and exits a day", station_sentence, map_context)
            counts = stations["mode"].value_counts()
            st.html(transport.category_legend_html("Station mode", [(mode, colour, int(counts.get(mode, 0)))
                                                                    for mode, colour in colours.items()], "stations"))
            if not stations.empty:
                st.caption(escape_markdown(transport.size_note(
                    "entries and exits on an average day (" + basis + ")", stations["name"].iloc[0],
                    f"{stations['per_day'].iloc[0]:,.0f} a day", bool(boroughs))))
        with table_tab:
            table_with_download(
                transport.mapped_table(stations, boroughs),
                {"name": ("Station", None), "mode": ("Mode", None), "borough_name": area_column,
                 "per_day": ("Entries + exits a day", "%,.0f"), "weekday": ("Weekday", "%,.0f"),
                 "weekend": ("Weekend day", "%,.0f")},
                "stations", f"{station_source.id}_stations", file_suffix, in_selection_label)
        st.caption(escape_markdown(station_sentence))
        ui.source_note(catalog, station_source)

        st.subheader(f"Busiest stations in {escape_markdown(selection)}")
        top = chosen_stations.head(15)
        chart_tab, table_tab = st.tabs(["Chart", "Table"])
        with chart_tab:
            st.plotly_chart(transport.top_bar(top, "per_day", "The 15 busiest stations, coloured by mode",
                                              "entries + exits a day", colours, "mode"),
                            key="transport_busiest_chart", config={"displaylogo": False})
        with table_tab:
            table_with_download(top, {"name": ("Station", None), "mode": ("Mode", None), "borough_name": area_column,
                                      "per_day": ("Entries + exits a day", "%,.0f")},
                                "busiest", f"{station_source.id}_busiest_stations", file_suffix)
        ui.source_note(catalog, station_source)
        st.markdown(f"**The three busiest stations in each {city.area_label}**")
        table_with_download(transport.busiest_per_borough(chosen_stations),
                            {"borough_name": area_column, "rank": ("Rank", "%d"), "name": ("Station", None),
                             "mode": ("Mode", None), "per_day": ("Entries + exits a day", "%,.0f")},
                            "busiest_per_borough", f"{station_source.id}_busiest_per_{city.area_label}", file_suffix,
                            height=420)
        ui.source_note(catalog, station_source)

        st.subheader("Weekday and weekend")
        week = transport.in_selection(station_boroughs, boroughs).dropna(subset=["weekday", "weekend"])
        if week.empty:
            st.info("This data has no weekday and weekend counts for the period.", icon=":material/info:")
        else:
            share = week["weekend"].sum() / week["weekday"].sum()
            st.caption(f"A weekend day in {escape_markdown(selection)} sees {share:.0%} of a weekday's entries and "
                       f"exits ({week['weekend'].sum():,.0f} against {week['weekday'].sum():,.0f}).")
            chart_tab, table_tab = st.tabs(["Chart", "Table"])
            with chart_tab:
                st.plotly_chart(transport.paired_bars(week, ("weekday", "Weekday"), ("weekend", "Weekend day"),
                                                      f"Entries + exits on a weekday and a weekend day, "
                                                      f"by {city.area_label}", "entries + exits a day"),
                                key="transport_weekday_chart", config={"displaylogo": False})
            with table_tab:
                table_with_download(week.assign(weekend_percent=100 * week["weekend_share"]),
                                    {"borough_name": area_column, "stations": ("Stations", "%d"),
                                     "weekday": ("Weekday", "%,.0f"), "weekend": ("Weekend day", "%,.0f"),
                                     "weekend_percent": ("Weekend as % of weekday", "%.0f%%")},
                                    "weekday", f"{station_source.id}_weekday_weekend", file_suffix)
            ui.source_note(catalog, station_source)

        st.subheader("Over time")
        trend = transport.station_trend(station_trend_rows, scheme)
        step = transport.STEP_WORDS[bucket]
        coverage_moves = transport.counted_changes(trend["stations"])
        chart_tab, table_tab = st.tabs(["Chart", "Table"])
        with chart_tab:
            st.plotly_chart(transport.trend_line(trend, "per_day",
                                                 f"Entries + exits on an average day in {selection}, {step}",
                                                 "entries + exits a day", bucket,
                                                 ("stations", "Stations counted") if coverage_moves else None),
                            key="transport_station_trend", config={"displaylogo": False})
        with table_tab:
            table_with_download(trend, {"bucket": ("Period starting", "date"),
                                        "per_day": ("Entries + exits a day", "%,.0f"),
                                        "stations": ("Stations counted", "%d")},
                                "station_trend", f"{station_source.id}_trend_{bucket}", file_suffix)
        if coverage_moves:
            st.caption(f"The number of stations counted changes from {trend['stations'].min():,} to "
                       f"{trend['stations'].max():,} over the period, so the line partly shows which stations were "
                       "counted, not only how busy they were.")
        ui.source_note(catalog, station_source)

        st.subheader("Time of day")
        bands = transport.station_bands(station_metrics, scheme, boroughs)
        if bands.empty:
            st.info(f"{station_source.title} has daily totals only, so it cannot show when in the day people travel: "
                    "there is no time-of-day profile for it.", icon=":material/schedule:")
        else:
            chart_tab, table_tab = st.tabs(["Chart", "Table"])
            with chart_tab:
                st.plotly_chart(transport.band_bars(bands, f"A typical weekday in {selection}, by time of day"),
                                key="transport_bands_chart", config={"displaylogo": False})
            with table_tab:
                table_with_download(bands, {"band": ("Time of day", None), "entries": ("Entries", "%,.0f"),
                                            "exits": ("Exits", "%,.0f"), "stations": ("Stations", "%d")},
                                    "bands", f"{station_source.id}_time_of_day", file_suffix)
            st.caption(f"Summed over the {int(bands['stations'].max()):,} stations with time-of-day counts, "
                       "each averaged over the years in the period.")
            ui.source_note(catalog, station_source)


def cycle_hire_section() -> None:
    st.header("Cycle hire")
    dock_source = choose_source(sources[transport.DOCKS], coverage, transport.DOCKS, "Cycle hire")
    if dock_source is None:
        st.info("No cycle hire docks are published.", icon=":material/info:")
    elif has_data(dock_source, coverage, period):
        dock_plan = transport.dock_scheme(dock_source)
        try:
            calls = [("transport_entity_metrics", dict(dataset=dock_source.id, metrics=dock_plan.metrics, **window))]
            if dock_plan.hires:
                hires = dict(dataset=dock_source.id, metrics=[dock_plan.hires], boroughs=list(boroughs), **window)
                calls += [("transport_hour_week", hires), ("transport_hour_week_by_borough", hires)]
            (dock_metrics, dock_key), *hour_results = ui.run_together(*calls)
            hour_rows, borough_hour_rows = (hour_results[0][0], hour_results[1][0]) if hour_results else (None, None)
        except QueryError as error:
            ui.query_failed(error)
            st.stop()
        docks, _ = dock_tables(dock_key, dock_metrics, dock_plan)
        chosen_docks = transport.in_selection(docks, boroughs)

        options = [option for option, present in (("hires", dock_plan.hires), ("occupancy", dock_plan.bikes))
                   if present]
        if len(options) > 1:
            linked_choice(transport.DOCK_COLOUR_PARAM, "transport_dock_colour", options, options[0], "dock colours")
            colour_by = st.radio("Colour the docks by", options, horizontal=True, key="transport_dock_colour",
                                 format_func={"hires": "hires a day",
                                              "occupancy": "bikes docked (share of points)"}.get)
            ui.widget_to_link(transport.DOCK_COLOUR_PARAM, colour_by)
        else:
            colour_by = options[0] if options else "capacity"
        st.subheader({"hires": "Map: docks sized by docking points, coloured by hires a day",
                      "occupancy": "Map: docks sized by docking points, coloured by the share holding a bike",
                      "capacity": "Map: docks sized by docking points"}[colour_by])
        colour_values = {"hires": docks["hires_per_day"], "occupancy": 100 * docks["occupancy"],
                         "capacity": docks["capacity"]}[colour_by]
        legend_title, legend_unit = {"hires": ("Hires a day", "hires"),
                                     "occupancy": ("Docking points holding a bike", "%"),
                                     "capacity": ("Docking points", "docks")}[colour_by]
        bins = transport.robust_bins(colour_values)
        dock_sentence = transport.docks_sentence(chosen_docks, selection, colour_by)
        map_tab, table_tab = st.tabs(["Map", transport.map_table_title(len(docks), len(chosen_docks), "dock",
                                                                       selection, boroughs)])
        with map_tab:
            points = transport.point_frame(docks, docks["capacity"], transport.radius_pixels(docks["capacity"], 2, 9),
                                           transport.bin_colours(colour_values, bins), boroughs,
                                           transport.dock_labels)
            point_map(points, chosen_docks, "docks", "docking points", dock_sentence, map_context)
            st.html(maps.legend_html(f"{legend_title} ({legend_unit})", bins, legend_unit,
                                     has_missing=bool(colour_values.isna().any())))
            if not docks.empty:
                st.caption(escape_markdown(transport.size_note(
                    "docking points", docks["name"].iloc[0], f"{docks['capacity'].iloc[0]:,.0f} docking points",
                    bool(boroughs))))
        with table_tab:
            mapped_docks = transport.mapped_table(docks, boroughs)
            table_with_download(mapped_docks.assign(occupancy_percent=100 * mapped_docks["occupancy"]),
                                {"name": ("Dock", None), "borough_name": area_column,
                                 "capacity": ("Docking points", "%d"), "hires_per_day": ("Hires a day", "%,.1f"),
                                 "bikes": ("Bikes docked", "%,.1f"), "occupancy_percent": ("Holding a bike", "%.0f%%")},
                                "docks", f"{dock_source.id}_docks", file_suffix, in_selection_label)
        st.caption(escape_markdown(dock_sentence))
        ui.source_note(catalog, dock_source)

        st.subheader("Hires by hour and day of the week")
        if hour_rows is None:
            st.info(f"{dock_source.title} has no hire counts, only docks and the bikes in them, so there is no "
                    "pattern of hires by hour.", icon=":material/schedule:")
        elif hour_rows.empty:
            st.info(f"No hires were recorded in {escape_markdown(selection)} between {period}.", icon=":material/info:")
        else:
            show_views(transport.hires_views(hour_rows, borough_hour_rows, boroughs, chosen_names, selection,
                                             city.area_label, city.timezone), dock_source.id, file_suffix)
            ui.source_note(catalog, dock_source)

        if dock_plan.hires:
            st.subheader(f"Busiest docks in {escape_markdown(selection)}")
            busiest = (chosen_docks.dropna(subset=["hires_per_day"])
                       .sort_values("hires_per_day", ascending=False).head(15))
            ranked_by, ranked_unit = "hires_per_day", "hires a day"
        else:
            st.subheader(f"Largest docks in {escape_markdown(selection)}")
            st.caption("This data has no hire counts, so the docks are ranked by docking points.")
            busiest = chosen_docks.head(15)
            ranked_by, ranked_unit = "capacity", "docking points"
        chart_tab, table_tab = st.tabs(["Chart", "Table"])
        with chart_tab:
            st.plotly_chart(transport.top_bar(busiest, ranked_by,
                                              f"The {len(busiest)} docks with the most {ranked_unit}", ranked_unit),
                            key="transport_busiest_docks", config={"displaylogo": False})
        with table_tab:
            table_with_download(busiest, {"name": ("Dock", None), "borough_name": area_column,
                                          "capacity": ("Docking points", "%d"),
                                          "hires_per_day": ("Hires a day", "%,.1f"),
                                          "bikes": ("Bikes docked", "%,.1f")},
                                "busiest_docks", f"{dock_source.id}_busiest_docks", file_suffix)
        ui.source_note(catalog, dock_source)


def road_traffic_section() -> None:
    st.header("Road traffic")
    traffic_source = choose_source(sources[transport.TRAFFIC], coverage, transport.TRAFFIC, "Road traffic")
    if traffic_source is None:
        st.info("No road traffic counts are published.", icon=":material/info:")
    elif has_data(traffic_source, coverage, period):
        types = transport.vehicle_types(traffic_source)
        try:
            counts = ui.run("transport_sampling", datasets=[traffic_source.id])
            bucket = transport.trend_bucket(span_days, *transport.sampling(counts, traffic_source.id),
                                            daily_up_to=31)
            vehicle_metrics = [metric for metric, _ in types]
            trend_params = dict(dataset=traffic_source.id, metrics=vehicle_metrics, bucket=bucket,
                                boroughs=list(boroughs), **window)
            (traffic_metrics, traffic_key), (traffic_trend_rows, _), (borough_trend_rows, _) = ui.run_together(
                ("transport_entity_metrics", dict(dataset=traffic_source.id, metrics=vehicle_metrics, **window)),
                ("transport_trend", trend_params), ("transport_trend_by_borough", trend_params))
        except QueryError as error:
            ui.query_failed(error)
            st.stop()
        points_table, traffic_boroughs = traffic_tables(traffic_key, traffic_metrics, types)
        chosen_points = transport.in_selection(points_table, boroughs)
        st.caption(f"Counts are averaged per count: one reading at one count point. {traffic_source.description}")

        st.subheader("Vehicles by type over time")
        trend = transport.traffic_trend(traffic_trend_rows, types)
        show_views(transport.traffic_type_views(trend, borough_trend_rows, types, boroughs, chosen_names,
                                                selection, city.area_label, bucket), traffic_source.id, file_suffix)
        points_per_bucket = trend.groupby("bucket")["count_points"].max()
        if transport.counted_changes(points_per_bucket):
            st.caption(f"Between {points_per_bucket.min():,} and {points_per_bucket.max():,} count points were counted "
                       "in each period; averages per count keep periods comparable, but the places counted differ.")
        ui.source_note(catalog, traffic_source)

        st.subheader("Map: count points by motor vehicles, coloured by the share of cycles")
        shares = 100 * points_table["cycle_share"]
        bins = transport.robust_bins(shares)
        traffic_sentence = transport.traffic_sentence(chosen_points, selection, "count")
        map_tab, table_tab = st.tabs(["Map", transport.map_table_title(len(points_table), len(chosen_points),
                                                                       "count point", selection, boroughs)])
        with map_tab:
            points = transport.point_frame(points_table, points_table["motor_vehicles"],
                                           transport.radius_pixels(points_table["motor_vehicles"], 1.5, 8),
                                           transport.bin_colours(shares, bins), boroughs,
                                           transport.traffic_labels)
            point_map(points, chosen_points, "count_points", "motor vehicles per count", traffic_sentence, map_context)
            st.html(maps.legend_html("Cycles as a share of cars and cycles (%)", bins, "%",
                                     has_missing=bool(shares.isna().any())))
            if not points_table.empty:
                st.caption(escape_markdown(transport.size_note(
                    "motor vehicles per count", points_table["name"].iloc[0],
                    f"{points_table['motor_vehicles'].iloc[0]:,.0f} a count", bool(boroughs))))
        with table_tab:
            mapped_points = transport.mapped_table(points_table, boroughs)
            table_with_download(mapped_points.assign(cycle_percent=100 * mapped_points["cycle_share"]),
                                {"name": ("Count point", None), "road": ("Road", None), "borough_name": area_column,
                                 "counts": ("Counts", "%d"), "motor_vehicles": ("Motor vehicles per count", "%,.0f"),
                                 "pedal_cycles": ("Cycles per count", "%,.0f"),
                                 "cycle_percent": ("Cycles % of cars + cycles", "%.1f%%")},
                                "count_points", f"{traffic_source.id}_count_points", file_suffix, in_selection_label)
        st.caption(escape_markdown(traffic_sentence))
        ui.source_note(catalog, traffic_source)

        st.subheader(f"Cycles against cars by {city.area_label}")
        type_columns = {metric: (label, "%,.1f") for metric, label in types}
        chart_tab, table_tab = st.tabs(["Chart", "Table"])
        with chart_tab:
            st.plotly_chart(transport.share_bar(traffic_boroughs, f"Cycles as a share of cars and cycles, "
                                                                  f"by {city.area_label}", boroughs),
                            key="transport_cycle_share", config={"displaylogo": False})
        with table_tab:
            table_with_download(traffic_boroughs.assign(cycle_percent=100 * traffic_boroughs["cycle_share"]),
                                {"borough_name": area_column, "count_points": ("Count points", "%d"),
                                 **type_columns, "cycle_percent": ("Cycles % of cars + cycles", "%.1f%%")},
                                "traffic_boroughs", f"{traffic_source.id}_by_{city.area_label}", file_suffix)
        ui.source_note(catalog, traffic_source)


def summary_section() -> None:
    """Each area's figures from the three other sections side by side, from the same sources and
    period (the sections' entity queries, cached, so opening it after them costs no query). A
    source without data in the period is left out, as its section says."""
    st.header(f"By {city.area_label}")
    station_source = choose_source(sources[transport.STATIONS], coverage, transport.STATIONS, "Station",
                                   offer_choice=False)
    dock_source = choose_source(sources[transport.DOCKS], coverage, transport.DOCKS, "Cycle hire",
                                offer_choice=False)
    traffic_source = choose_source(sources[transport.TRAFFIC], coverage, transport.TRAFFIC, "Road traffic",
                                   offer_choice=False)
    station_scheme = transport.station_scheme(station_source) if station_source else None
    dock_plan = transport.dock_scheme(dock_source) if dock_source else None
    types = transport.vehicle_types(traffic_source) if traffic_source else []
    # Each source's entity query, as its own section asks it (weekday and weekend are not in the
    # summary, so the stations' day-type query is not needed), all at once.
    asked = {source.id: metrics for source, metrics in (
        (station_source, station_scheme.metrics if station_scheme else None),
        (dock_source, dock_plan.metrics if dock_plan else None),
        (traffic_source, [metric for metric, _ in types]))
        if source is not None and transport.has_period_data(coverage, source.id)}
    try:
        results = dict(zip(asked, ui.run_together(*(
            ("transport_entity_metrics", dict(dataset=dataset_id, metrics=metrics, **window))
            for dataset_id, metrics in asked.items()))))
    except QueryError as error:
        ui.query_failed(error)
        st.stop()
    per_area = {}
    if station_source is not None and station_source.id in results:
        metrics, key = results[station_source.id]
        per_area["stations"] = (station_source, station_tables((key,), metrics, None, None, station_scheme)[1])
    if dock_source is not None and dock_source.id in results:
        metrics, key = results[dock_source.id]
        per_area["docks"] = (dock_source, dock_tables(key, metrics, dock_plan)[1])
    if traffic_source is not None and traffic_source.id in results:
        metrics, key = results[traffic_source.id]
        per_area["traffic"] = (traffic_source, traffic_tables(key, metrics, types)[1])
    summary = transport.borough_summary(areas, *(per_area[part][1] if part in per_area else None
                                                 for part in ("stations", "docks", "traffic")))
    shown, columns = transport.summary_table(transport.in_selection(summary, boroughs), area_column)
    st.caption(f"Each {city.area_label}'s figures from the {transport.STATIONS_SECTION}, {transport.DOCKS_SECTION} "
               f"and {transport.TRAFFIC_SECTION} sections, side by side; empty where it has none.")
    table_with_download(shown, columns, "summary", f"transport_by_{city.area_label}", file_suffix)
    for source, _ in per_area.values():
        ui.source_note(catalog, source)


stations_tab, cycle_hire_tab, road_traffic_tab, summary_tab = ui.sections(
    "transport_section", transport.section_labels(city.area_label))
for tab, draw in ((stations_tab, stations_section), (cycle_hire_tab, cycle_hire_section),
                  (road_traffic_tab, road_traffic_section), (summary_tab, summary_section)):
    if tab.open:
        with tab:
            draw()
