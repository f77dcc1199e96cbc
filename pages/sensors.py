"""Street sensors: the latest readings live (or replayed), sensor health, thresholds and trends."""

import time
from datetime import timedelta

import pandas as pd
import streamlit as st

from citydash import sensors_view as view
from citydash import ui
from citydash.data import QueryError
from citydash.geo import areas_geojson
from citydash.sensors import thresholds_for
from citydash.text import escape_markdown

catalog = ui.catalog()
filters = ui.filters()
tz = catalog.city.timezone
place = tz.split("/")[-1].replace("_", " ")
metrics = view.sensor_metrics(catalog, ui.database().available, ui.access_level())

st.title("Street sensors")
if not metrics:
    st.info("No street-sensor dataset has been published yet. Ingest one with "
            "`python -m citydash ingest sensors READINGS... --sensors SENSORS.csv --dataset ID`, or build the demo data.",
            icon=":material/sensors_off:")
    st.stop()

metric, stood_in = view.choose_metric(metrics, filters.metric)
dataset = catalog.datasets[metric.dataset]
rhythm = view.rhythm_of(dataset)
# The catalogue's thresholds with the local hours each applies to (catalog.d/sensors.toml).
thresholds = thresholds_for(metric, view.sensor_thresholds(catalog.pack_dir))
period_start, period_end = view.period_bounds(filters.start, filters.end, tz)
period = f"{filters.start:%d %b %Y} to {filters.end:%d %b %Y}"
boroughs = list(filters.boroughs)
area_text = (f"all {catalog.city.area_label_plural}" if not boroughs else
             f"{len(boroughs)} selected {catalog.city.area_label_plural if len(boroughs) > 1 else catalog.city.area_label}")

st.markdown(f"**{metric.label}** ({metric.unit}) from {dataset.title.lower()} in {area_text}. Sensors report every "
            f"{view.duration_text(rhythm.interval)}; one not heard from for over "
            f"{view.duration_text(rhythm.stale_after)} is marked as silent.")
if stood_in:
    st.info(f"The metric chosen in the sidebar is not measured by street sensors, so this page shows "
            f"{metric.label.lower()}. Choose one of "
            f"{', '.join(m.label.lower() for m in metrics)} in the sidebar to see it here.",
            icon=":material/swap_horiz:")

# Every section shows this dataset, even one with nothing to chart (a metric without thresholds),
# so the demo-data banner and the page's sources name it whichever section is open.
ui.record_shown(dataset.id)

# Each section runs its queries and draws its elements only while it is open: a filter change
# redraws one section, not the whole page. The open one is in the link (?section=trends).
latest_tab, health_tab, thresholds_tab, trends_tab = ui.sections("sensors_section", view.SECTION_LABELS)


def latest_section() -> None:
    st.header("Latest readings")
    # The page's controls come from the link when it brings them, so a shared link shows this view.
    link_notices = ui.widget_from_link(view.PARAM_FEED, "sensors_feed", view.feed_from_param)
    controls = st.columns([1.3, 2, 2.4], vertical_alignment="bottom")
    feed_mode = controls[0].segmented_control(
        "Feed", list(view.FEEDS), required=True, key="sensors_feed",
        format_func={"replay": "Replay", "live": "Live"}.get,
        help="Replay plays the stored readings forward as if they were arriving now (for demos, no network "
             "needed). Live shows what has been published up to the real time.")

    ui.widget_to_link(view.PARAM_FEED, feed_mode)

    if feed_mode == "replay":
        first_start = view.utc_to_local(period_start, tz).to_pydatetime()
        last_start = view.utc_to_local(period_end - rhythm.interval, tz).to_pydatetime()
        default_start = view.default_replay_start(period_start, period_end, tz)
        link_notices += ui.widget_from_link(
            view.PARAM_FROM, "sensors_replay_start",
            lambda text: view.start_from_param(text, first_start, last_start, default_start))
        link_notices += ui.widget_from_link(view.PARAM_SPEED, "sensors_speed", view.speed_from_param)
        chosen_start = st.session_state.get("sensors_replay_start")
        if chosen_start is None or not first_start <= chosen_start <= last_start:
            st.session_state["sensors_replay_start"] = default_start
        start_local = controls[1].datetime_input(
            f"Replay from ({place} time)", value=None, min_value=first_start, max_value=last_start,
            key="sensors_replay_start", step=timedelta(minutes=15), format="DD/MM/YYYY",
            help="The replay loops over the period chosen in the sidebar.")
        speed = controls[2].select_slider("Replay speed", options=list(view.SPEEDS),
                                          format_func=view.speed_label, key="sensors_speed")
        ui.widget_to_link(view.PARAM_FROM, view.start_to_param(start_local))
        ui.widget_to_link(view.PARAM_SPEED, view.speed_to_param(speed))
        settings = view.replay_settings(start_local, speed, period_start, period_end, tz, rhythm.interval)
        # The clock lives in the session, not in this section: it runs on while another section is
        # open, and picks up where the replay has got to when this one opens again.
        st.session_state["sensors_clock"] = view.replay_clock(
            st.session_state.get("sensors_clock"), st.session_state.get("sensors_clock_settings"), settings,
            time.monotonic())
        st.session_state["sensors_clock_settings"] = settings
        refresh = view.REPLAY_REFRESH_S if speed > 0 else None
    else:
        # The replay's start and speed stay in the link, for when the reader switches back.
        settings = None
        refresh = view.LIVE_REFRESH_S
    for notice in link_notices:
        st.info(notice, icon=":material/link:")

    # The table on screen, for the download button below the feed: a button inside the feed would be
    # registered again at every refresh, and a click could reach the server after its file had gone.
    shown_latest = st.session_state.setdefault("sensors_latest_shown", {})

    # Called only while this section is open: a full rerun that does not call it stops its timer,
    # so the feed never refreshes behind another section.
    @st.fragment(run_every=refresh)
    def latest_readings() -> None:
        if settings is not None:
            now = st.session_state["sensors_clock"].now(time.monotonic())
        else:
            now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        moment = view.feed_moment(now, rhythm.interval)
        try:
            latest = ui.run("sensor_latest", dataset=dataset.id, metric=metric.id, boroughs=boroughs,
                            since=moment - view.LATEST_LOOKBACK, now=moment)
        except QueryError as error:
            ui.query_failed(error)
            return
        feed = view.live_feed(latest, metric, moment, rhythm, thresholds, tz)
        if settings is not None:
            st.info(view.replay_notice(now, settings, tz), icon=":material/replay:")
        else:
            st.info(view.live_notice(now, feed.newest, tz), icon=":material/sensors:")

        tiles = st.columns(4)
        tiles[0].metric("Sensors reporting", f"{feed.reporting} of {feed.reporting + feed.silent}", border=True,
                        help=f"Heard from within the last {view.duration_text(rhythm.stale_after)}.")
        tiles[1].metric(feed.headline_label, feed.headline, border=True,
                        help=f"Of the latest {metric.label.lower()} readings from the sensors reporting. Counts of "
                             "people under the catalogue's disclosure threshold are shown as “<N”, never as the "
                             "number; “suppressed” is a value hidden so that a total shown beside it cannot reveal "
                             "such a count.")
        tiles[2].metric(feed.above_label, feed.above, border=True)
        tiles[3].metric("Readings up to", view.local_text(moment, tz).split(", ", 1)[-1], border=True,
                        help=f"{view.local_text(moment, tz)} ({place} time): the feed shows readings up to this time; "
                             f"sensors report every {view.duration_text(rhythm.interval)}.")

        sentence = view.live_sentence(feed, metric, area_text)
        map_column, table_column = st.columns([3, 2], gap="large")
        with map_column:
            st.subheader(f"Map: latest {metric.label.lower()}")
            deck = view.live_map(feed, areas_geojson(catalog.city.boundaries), catalog.city.map_view, metric, tz,
                                 boroughs)
            st.pydeck_chart(deck, height=480, key="sensors_map", alt=sentence)
            st.html(view.live_legend_html(feed, metric, rhythm, thresholds))
            st.caption(escape_markdown(sentence))
            ui.source_note(catalog, dataset)
        with table_column:
            st.subheader("Table: latest reading of each sensor")
            table = view.latest_table(feed, metric, tz)
            st.dataframe(table, hide_index=True, height=480, key="sensors_latest_table")
            shown_latest["table"] = table

    latest_readings()
    st.download_button("Download the latest readings, as in the table (CSV)",
                       lambda: view.csv_bytes(shown_latest.get("table", pd.DataFrame())),
                       file_name=f"{dataset.id}_{metric.id}_latest_readings.csv", mime="text/csv",
                       key="sensors_download_latest", on_click="ignore", icon=":material/download:")


def health_section() -> None:
    st.header("Sensor health")
    health_now = view.feed_moment(min(period_end, pd.Timestamp.now(tz="UTC").tz_localize(None)), rhythm.interval)
    judged_from = view.health_start(period_start, health_now, tz)
    try:
        health_rows = ui.run("sensor_health",
                             **view.health_params(dataset, boroughs, health_now, judged_from, period_end))
    except QueryError as error:
        ui.query_failed(error)
        return
    health = view.health_from_query(health_rows, health_now, rhythm.interval, view.disclosure_of(dataset))
    summary = view.health_summary(health)
    shares = view.borough_health(health)
    over = (period if judged_from == period_start else
            f"over the last {view.HEALTH_SPAN_DAYS} days of the period, from {view.local_text(judged_from, tz)}")
    st.markdown(f"Every sensor of {dataset.title.lower()} in {area_text}, {over}, as at "
                f"{view.local_text(health_now, tz)}: uptime is the share of {view.duration_text(rhythm.interval)} "
                f"slots with a reading; a sensor needs attention when it is silent, stuck on one value for over "
                f"6 hours, sends values outside the expected range or has under {view.MIN_UPTIME_PCT:.0f}% uptime, "
                f"and is dead after {view.duration_text(rhythm.dead_after)} of silence.")
    tiles = st.columns(4)
    tiles[0].metric("Healthy", f"{summary.ok} of {summary.sensors}", border=True)
    tiles[1].metric("Need attention", f"{summary.attention}", border=True)
    tiles[2].metric("Dead", f"{summary.dead}", border=True)
    tiles[3].metric("Median uptime", "no data" if summary.median_uptime is None else f"{summary.median_uptime:.1f}%",
                    border=True)

    st.subheader("Sensors needing attention, worst first")
    attention = view.attention_table(health, tz)
    if attention.empty:
        st.success("Every sensor in the selection is healthy.", icon=":material/check_circle:")
    else:
        st.dataframe(attention, hide_index=True, height=min(420, 35 * len(attention) + 40),
                     key="sensors_attention_table",
                     column_config={
                         "Rank": st.column_config.NumberColumn("Rank", format="%d", width=50),
                         "Problems": st.column_config.TextColumn("Problems", width="large"),
                         "Uptime (%)": st.column_config.NumberColumn("Uptime (%)", format="%.1f", width=80),
                         "Score": st.column_config.NumberColumn(
                             "Score", format="%.1f", width=60,
                             help="200 if dead, 40 if silent, 30 if stuck, 20 (+1 per reading, up to 10) if out of "
                                  "range, 0.5 per point of uptime under 100%."),
                     })
    ui.csv_download("Download this list (CSV)", attention,
                    file_name=f"{dataset.id}_attention_{filters.start}_{filters.end}.csv",
                    key="sensors_download_attention")
    ui.source_note(catalog, dataset)

    st.subheader(f"Healthy sensors by {catalog.city.area_label}")
    st.plotly_chart(view.borough_health_figure(shares), key="sensors_health_by_borough",
                    config={"displaylogo": False})
    st.caption(view.health_sentence(summary, shares, period))
    ui.csv_download(f"Download health by {catalog.city.area_label} (CSV)", view.borough_health_table(shares),
                    file_name=f"{dataset.id}_health_by_borough_{filters.start}_{filters.end}.csv",
                    key="sensors_download_health_boroughs")
    ui.source_note(catalog, dataset)


def thresholds_section() -> None:
    st.header("Thresholds")
    if not thresholds:
        st.info(f"The catalogue sets no thresholds for {metric.label.lower()}. Noise, footfall and temperature "
                "have them.", icon=":material/info:")
        return
    try:
        query, asked = view.exceedance_query(ui.run("sensor_threshold_specs", dataset=dataset.id), metric.id,
                                             thresholds, tz)
        exceedances = ui.run(query, dataset=dataset.id, metric=metric.id, boroughs=boroughs,
                             start=filters.start, end=filters.end, **asked)
    except QueryError as error:
        ui.query_failed(error)
        return
    days = view.exceedance_days(exceedances, metric, thresholds)
    by_borough = view.exceedance_by_borough(days, metric, thresholds)
    st.markdown(f"How often readings went above the catalogue's thresholds for {metric.label.lower()}, {period}. "
                f"Each reading is compared with the threshold for its time of day ({place} time) and covers "
                f"{view.duration_text(rhythm.interval)}; a share is of the readings taken while that threshold "
                f"applied.")
    st.caption("Thresholds: " + view.thresholds_sentence(thresholds, metric.unit) + ".")
    if days.empty:
        st.info(f"No {metric.label.lower()} readings in this selection.", icon=":material/info:")
        return
    top = max(threshold.level for threshold in thresholds)
    top_text = view.level_text(thresholds, top, metric.unit)
    st.plotly_chart(view.exceedance_heatmap(days, metric, thresholds), key="sensors_exceedance_heatmap",
                    config={"displaylogo": False})
    st.caption(f"Darker means more of the day's readings were above {top_text}; a blank cell is a "
               "day without readings then. Hover for the counts, or download them.")
    ui.source_note(catalog, dataset)
    ui.csv_download("Download readings above thresholds by borough and day (CSV)", days,
                    file_name=f"{dataset.id}_{metric.id}_above_thresholds_daily_{filters.start}_{filters.end}.csv",
                    key="sensors_download_exceedance_days")
    st.subheader(f"Readings above the thresholds by {catalog.city.area_label}")
    st.dataframe(by_borough, hide_index=True, key="sensors_exceedance_table")
    st.caption(view.exceedance_sentence(by_borough, metric, thresholds))
    ui.csv_download("Download this table (CSV)", by_borough,
                    file_name=f"{dataset.id}_{metric.id}_above_thresholds_{filters.start}_{filters.end}.csv",
                    key="sensors_download_exceedance_boroughs")
    ui.source_note(catalog, dataset)


def trends_section() -> None:
    st.header("Trends")
    try:
        chosen = dict(dataset=dataset.id, metric=metric.id, boroughs=boroughs, start=filters.start, end=filters.end)
        (daily, _), (profile_rows, _), (sensor_list, _) = ui.run_together(
            ("sensor_daily_by_borough", dict(chosen, aggregation=metric.aggregation)),
            ("sensor_daily_profile", chosen), ("sensor_list", chosen))
    except QueryError as error:
        ui.query_failed(error)
        return

    series = view.borough_series(daily, metric)
    st.plotly_chart(view.borough_series_figure(series, metric, thresholds), key="sensors_borough_series",
                    config={"displaylogo": False})
    if len(boroughs) == 0 or len(boroughs) > view.MAX_BOROUGH_LINES:
        st.caption(f"One line per {catalog.city.area_label} when up to {view.MAX_BOROUGH_LINES} are selected in "
                   "the sidebar.")
    ui.csv_download("Download the daily figures (CSV)", view.series_table(series, metric),
                    file_name=f"{dataset.id}_{metric.id}_daily_by_borough_{filters.start}_{filters.end}.csv",
                    key="sensors_download_borough_series")
    ui.source_note(catalog, dataset)

    profile = view.daily_profile(profile_rows, metric)
    st.plotly_chart(view.profile_figure(profile, metric, rhythm.interval, thresholds), key="sensors_profile",
                    config={"displaylogo": False})
    st.caption(view.profile_sentence(profile, metric))
    ui.csv_download("Download the daily profile (CSV)", view.profile_table(profile, metric),
                    file_name=f"{dataset.id}_{metric.id}_profile_{filters.start}_{filters.end}.csv",
                    key="sensors_download_profile")
    ui.source_note(catalog, dataset)

    if sensor_list.empty:
        st.info(f"No sensor reported {metric.label.lower()} in this selection.", icon=":material/info:")
        return
    names = dict(zip(sensor_list["entity_id"],
                     sensor_list["name"] + " (" + sensor_list["borough_name"].fillna("") + ")"))
    first_sensor = sensor_list["entity_id"].iloc[0]
    sensor_notices = ui.widget_from_link(view.PARAM_SENSOR, "sensors_sensor",
                                         lambda text: view.sensor_from_param(text, list(names), first_sensor))
    if st.session_state.get("sensors_sensor") not in names:
        st.session_state["sensors_sensor"] = first_sensor
    for notice in sensor_notices:
        st.info(notice, icon=":material/link:")
    picker, _ = st.columns([2, 3])
    entity_id = picker.selectbox("Sensor", options=list(names), format_func=names.get, key="sensors_sensor")
    ui.widget_to_link(view.PARAM_SENSOR, entity_id)
    from_ts = max(period_start, period_end - view.SERIES_SPAN)
    try:
        readings = ui.run("sensor_readings", dataset=dataset.id, metric=metric.id, entity=entity_id,
                          from_ts=from_ts, to_ts=period_end, tz=tz)
    except QueryError as error:
        ui.query_failed(error)
        return
    sensor_name = sensor_list.set_index("entity_id").loc[entity_id, "name"]
    readings_shown = view.sensor_series(readings, metric)
    st.plotly_chart(view.sensor_series_figure(readings_shown, metric, sensor_name, thresholds),
                    key="sensors_sensor_series",
                    config={"displaylogo": False})
    st.caption(f"Every reading from {view.local_text(from_ts, tz)} to the end of the period"
               f"{' (its last 31 days)' if from_ts > period_start else ''}.")
    ui.csv_download("Download this sensor's readings (CSV)", view.sensor_series_table(readings_shown, metric),
                    file_name=f"{dataset.id}_{metric.id}_{entity_id}_{filters.start}_{filters.end}.csv",
                    key="sensors_download_sensor_series")
    ui.source_note(catalog, dataset)


for tab, draw in ((latest_tab, latest_section), (health_tab, health_section),
                  (thresholds_tab, thresholds_section), (trends_tab, trends_section)):
    if tab.open:
        with tab:
            draw()
