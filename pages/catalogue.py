"""Data catalogue: every dataset this session may see, where it comes from, its licence and exact
attribution, how fresh and how complete it is; and, for officers, importing their own CSV."""

import hashlib
from datetime import datetime, timezone

import streamlit as st

from citydash import catalogue_view as view
from citydash import maps, ui
from citydash.data import QueryError
from citydash.geo import areas_geojson
from citydash.ingest.errors import IngestError
from citydash.ingest.importer import DEFAULT_REFRESH_DAYS, METRIC_SPEC_SYNTAX, preview_import, run_import

catalog = ui.catalog()
database = ui.database()
access = ui.access_level()
area_plural = catalog.city.area_label_plural
now = datetime.now(timezone.utc)

st.title("Data catalogue")
st.markdown(f"Every dataset this dashboard knows about, where it comes from, the licence it is used under "
            f"and the exact attribution to quote, how fresh it is and what it covers. You are viewing the "
            f"**{'officer' if access == 'officer' else 'public'}** dashboard"
            f"{'' if access == 'officer' else ', so officer-only datasets are not listed'}. "
            f"The sidebar's filters do not change this page.")

try:
    counts = ui.run("catalogue_datasets")
    coverage = ui.run("catalogue_borough_coverage")
    metric_counts = ui.run("catalogue_metrics")
    areas = ui.run("boroughs")
except QueryError as error:
    ui.query_failed(error)
    st.stop()

problems = {problem.dataset: problem.explain() for problem in database.problems}
entries = view.catalogue_entries(catalog, access, database.available, database.unpublished, problems,
                                 counts, coverage, metric_counts, now)
table = view.summary_table(entries, len(areas))
published = [entry for entry in entries if entry.status == view.PUBLISHED]
stale = [entry for entry in published if entry.freshness.stale]
broken = [entry for entry in entries if entry.status == view.CANNOT_LOAD]
waiting = [entry for entry in entries if entry.status == view.NOT_INGESTED]

tiles = st.columns(5)
tiles[0].metric("Datasets listed", f"{len(entries):,}", border=True)
tiles[1].metric("Published", f"{len(published):,}", border=True,
                help="Ingested and readable: the pages can show them.")
tiles[2].metric("Stale", f"{len(stale):,}", border=True,
                help="Published longer ago than the dataset's expected refresh interval.")
tiles[3].metric("Not ingested yet", f"{len(waiting):,}", border=True,
                help="In the catalogue, but no data has been ingested.")
tiles[4].metric("Cannot load", f"{len(broken):,}", border=True,
                help="Extract files missing or damaged: see the messages below.")

for entry in broken:
    st.error(f"**{view.md(entry.dataset.title)} cannot be loaded.** {view.md(entry.problem)} "
             "Every other dataset keeps working.", icon=":material/error:")

st.header("All datasets")
st.dataframe(
    table.drop(columns=["Attribution", "Source"]), hide_index=True, key="catalogue_table",
    column_config={
        "Dataset": st.column_config.TextColumn(width="medium"),
        "Places": st.column_config.NumberColumn(help="Sites, stations, docks, count points, sensors or areas",
                                                format="localized"),
        "Observations": st.column_config.NumberColumn(format="localized"),
        "Areas covered": st.column_config.TextColumn(f"{area_plural.capitalize()} covered"),
    },
)
ui.csv_download("Download the catalogue (CSV, with attribution and source links)", table,
                file_name="data_catalogue.csv",
                key="catalogue_download_table")

if published:
    st.header(f"Where each dataset has places, by {catalog.city.area_label}")
    by_id = {entry.dataset.id: entry for entry in published}
    if st.session_state.get("catalogue_coverage_dataset", next(iter(by_id))) not in by_id:
        del st.session_state["catalogue_coverage_dataset"]  # no longer published: the link decides again
    notices = ui.widget_from_link(view.COVERAGE_PARAM, "catalogue_coverage_dataset",
                                  lambda text: view.coverage_choice_from_param(text, list(by_id), next(iter(by_id))))
    for notice in notices:
        st.info(notice, icon=":material/link:")
    chosen = st.selectbox("Dataset", options=list(by_id), key="catalogue_coverage_dataset",
                          format_func=lambda key: by_id[key].dataset.title)
    ui.widget_to_link(view.COVERAGE_PARAM, chosen)
    dataset = by_id[chosen].dataset
    values = view.coverage_values(coverage, chosen, areas)
    bins = view.count_bins(values["value"])
    map_column, table_column = st.columns([3, 2], gap="large")
    with map_column:
        deck = view.label_counts(maps.choropleth(areas_geojson(catalog.city.boundaries), values, "places",
                                                 catalog.city.map_view, bins), values, "places")
        st.pydeck_chart(deck, height=420, key="catalogue_map")
        st.html(view.count_legend_html(f"Places of {dataset.title}", bins, "places",
                                       has_missing=bool(values["value"].isna().any())))
        st.caption(view.coverage_sentence(values, dataset.title, area_plural))
        ui.source_note(catalog, dataset)
    with table_column:
        shown = values.sort_values("borough_name")[["borough_name", "entities", "observations"]]
        st.dataframe(shown, hide_index=True, height=420, key="catalogue_coverage_table", column_config={
            "borough_name": st.column_config.TextColumn(catalog.city.area_label.capitalize()),
            "entities": st.column_config.NumberColumn("Places", format="localized"),
            "observations": st.column_config.NumberColumn("Observations", format="localized"),
        })
        ui.csv_download("Download this table (CSV)", shown,
                        file_name=f"{chosen}_places_by_{catalog.city.area_label}.csv",
                        key="catalogue_download_coverage")

st.header("Each dataset")
for entry in entries:
    dataset = entry.dataset
    with st.container(border=True, key=f"catalogue_dataset_{dataset.id}"):
        st.markdown(f"### {view.md(dataset.title)}")
        text, colour, icon = view.status_badge(entry)
        st.markdown(f":{colour}-badge[{icon} {text}] :blue-badge[{view.md(entry.kind)}] "
                    f":gray-badge[Access: {dataset.access}] :gray-badge[{view.md(dataset.domain.capitalize())}]")
        if dataset.description:
            st.caption(view.md(dataset.description))
        left, right = st.columns(2, gap="large")
        source = view.web_link(dataset.source_url)
        licence_link = view.web_link(dataset.licence.url)
        left.markdown("\n".join([
            f"- **Publisher:** {view.md(dataset.publisher)}",
            f"- **Source:** {f'[{view.md(source)}]({source})' if source else 'not given'}",
            "- **Licence:** " + (f"[{view.md(dataset.licence.title)}]({licence_link})" if licence_link
                                  else view.md(dataset.licence.title)),
            f"- **Data:** {view.md(entry.kind)}; access: {dataset.access}; id `{dataset.id}`",
        ]))
        if entry.status == view.PUBLISHED:
            right.markdown("\n".join([
                f"- **Freshness:** {entry.freshness.badge}: refreshed {view.md(entry.freshness.refreshed)}, "
                f"expected {view.md(entry.freshness.expected)}",
                f"- **Time coverage:** {view.md(entry.coverage)}",
                f"- **Places:** {entry.entities:,}; **observations:** {entry.observations:,}",
                f"- **{area_plural.capitalize()} covered:** "
                f"{view.md(view.boroughs_text(list(entry.borough_names), len(areas), area_plural))}",
            ]))
        elif entry.status == view.NOT_INGESTED:
            right.info("In the catalogue, but nothing has been ingested yet, so no page shows it.",
                       icon=":material/hourglass_empty:")
        else:
            right.error(view.md(entry.problem), icon=":material/error:")
        st.markdown("**Attribution** (quote it exactly wherever this data is shown):")
        st.code(dataset.attribution, language=None, wrap_lines=True)
        if entry.metric_lines:
            st.markdown("**Metrics:**\n" + "\n".join(f"- {view.md(line)}" for line in entry.metric_lines))

st.header("Import a spreadsheet (CSV)", anchor="import")
imported = st.session_state.pop("catalogue_imported", None)
if imported:
    st.toast(f"Published {view.md(imported['title'])}", icon=":material/check_circle:")
    st.success(f"Imported and published **{view.md(imported['title'])}**: it is listed above with the other "
               "datasets, and its metrics are in the sidebar.", icon=":material/check_circle:")
    st.code(imported["text"], language=None, wrap_lines=True)
refusal = view.import_refusal(access)
if refusal:
    st.info(refusal, icon=":material/lock:")
else:
    limit_mb = st.get_option("server.maxUploadSize")
    st.markdown("Upload a CSV exported from a spreadsheet. Locations can be latitude/longitude, British "
                f"National Grid eastings/northings, WKT points or {catalog.city.area_label} names or codes; "
                "dates in any common form; one column per year or per metric (tick *wide*). Check the "
                "file first: nothing is published until you confirm.")
    uploaded = st.file_uploader(f"CSV file (up to {limit_mb} MB)", type=["csv", "txt", "tsv"],
                                key="catalogue_upload")
    licences = list(catalog.licences)
    with st.form("catalogue_import_form"):
        first, second = st.columns(2)
        dataset_id = first.text_input("Dataset id", key="catalogue_import_dataset", placeholder="library_visits",
                                      help="Lowercase letters, digits and _; the same id again adds to that dataset.")
        title = second.text_input("Title", key="catalogue_import_title", placeholder="Library visits")
        first, second, third = st.columns(3)
        metric = first.text_input("Metric id", key="catalogue_import_metric", placeholder="visits",
                                  help="Every value in the file is this metric. For several metrics, use the "
                                       "column mappings under 'How to read the file'.")
        metric_label = second.text_input("Metric label", key="catalogue_import_metric_label",
                                         placeholder="Library visits")
        unit = third.text_input("Unit", key="catalogue_import_unit", placeholder="visits")
        first, second, third = st.columns(3)
        aggregation = first.selectbox("Over time, combine readings by", ["mean", "sum", "max"],
                                      key="catalogue_import_aggregation")
        better = second.selectbox("Better when", ["higher", "lower"], key="catalogue_import_better")
        licence = third.selectbox("Licence", licences, key="catalogue_import_licence",
                                  format_func=lambda key: catalog.licences[key].title)
        first, second = st.columns(2)
        publisher = first.text_input("Publisher", key="catalogue_import_publisher", placeholder="Camden Council")
        source_url = second.text_input("Source link (optional)", key="catalogue_import_source_url")
        attribution = st.text_area("Attribution (the exact text the licence asks for)",
                                   key="catalogue_import_attribution", height=80)
        first, second, third = st.columns(3)
        domain = first.selectbox("Domain", ["other", "environment", "transport", "sensors"],
                                 key="catalogue_import_domain")
        access_choice = second.selectbox("Who may see it", ["officer", "public"], key="catalogue_import_access",
                                         format_func={"officer": "Officers only", "public": "Everyone"}.get)
        refresh_days = third.number_input("Expected refresh (days)", min_value=1, value=DEFAULT_REFRESH_DAYS,
                                          key="catalogue_import_refresh_days")
        with st.expander("How to read the file (optional: everything is detected)"):
            mappings = st.text_area(f"Column mappings, one per line: {view.md(METRIC_SPEC_SYNTAX)}",
                                    key="catalogue_import_mappings", height=80,
                                    placeholder="NO2=no2:Nitrogen dioxide:µg/m³\nPM10=pm10:Particles (PM10):µg/m³",
                                    help="Instead of the metric id above: map each value column (or each name "
                                         "in a metric column) to a metric.")
            wide = st.checkbox("Wide table: one column per year, date or metric", key="catalogue_import_wide")
            first, second = st.columns(2)
            fixed_date = first.text_input("Date of every row (when there is no date column)",
                                          key="catalogue_import_date", placeholder="2025")
            date_column = second.text_input("Date column", key="catalogue_import_date_column")
            value_column = first.text_input("Value column", key="catalogue_import_value_column")
            name_column = second.text_input("Column of place names", key="catalogue_import_name_column")
            encoding = first.text_input("Encoding", key="catalogue_import_encoding", placeholder="detected")
        checked = st.form_submit_button("Check the file (dry run)", icon=":material/fact_check:",
                                        key="catalogue_import_check")

    form = view.ImportForm(
        dataset=dataset_id, title=title, licence=licence, publisher=publisher, attribution=attribution, unit=unit,
        metric=metric, metric_label=metric_label, aggregation=aggregation, better=better, mappings=mappings,
        source_url=source_url, domain=domain, access=access_choice, refresh_days=float(refresh_days),
        wide=wide, date=fixed_date, date_column=date_column, value_column=value_column, name_column=name_column,
        encoding=encoding)
    fingerprint = (hashlib.sha256(uploaded.getvalue()).hexdigest() + repr(form)) if uploaded else None

    if checked and uploaded is None:
        st.warning("Choose a CSV file to check first.", icon=":material/upload_file:")
    elif checked:
        progress = st.progress(0.0, text="Reading the file")
        try:
            with view.saved_upload(uploaded.name, uploaded.getvalue()) as path:
                preview = preview_import(view.request_from_form(path, form, catalog.city.timezone), catalog,
                                         lambda done, total: progress.progress(min(done / max(total, 1), 1.0),
                                                                               text=f"Read {done:,} rows"))
            st.session_state["catalogue_preview"] = {
                "fingerprint": fingerprint, "text": preview.to_text(),
                "publishable": preview.publishable_observations > 0}
        except IngestError as error:
            st.session_state["catalogue_preview"] = {"fingerprint": fingerprint, "error": str(error)}
        progress.empty()

    checked_preview = st.session_state.get("catalogue_preview")
    if checked_preview and checked_preview["fingerprint"] != fingerprint:
        st.info("The file or the form has changed since the last check: check the file again.",
                icon=":material/refresh:")
    elif checked_preview and "error" in checked_preview:
        st.error(f"The file cannot be imported as it is. {checked_preview['error']}", icon=":material/error:")
    elif checked_preview:
        st.subheader("What the import understood (dry run: nothing written yet)")
        st.code(checked_preview["text"], language=None, wrap_lines=True)
        if not checked_preview["publishable"]:
            st.warning("No row can be published: see the reasons above.", icon=":material/block:")
        elif st.button("Publish this dataset", key="catalogue_publish", type="primary", icon=":material/publish:"):
            try:
                with view.saved_upload(uploaded.name, uploaded.getvalue()) as path:
                    outcome = run_import(view.request_from_form(path, form, catalog.city.timezone), catalog)
            except IngestError as error:
                st.error(f"Nothing was published. {error}", icon=":material/error:")
            else:
                ui.reload_data()
                st.session_state.pop("catalogue_preview", None)
                st.session_state["catalogue_imported"] = {"title": outcome.preview.dataset.title,
                                                          "text": outcome.publish_report.to_text()}
                st.rerun()
