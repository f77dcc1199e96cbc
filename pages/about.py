"""About this dashboard: what it is, where its data comes from (the catalogue), and what the
numbers can and cannot tell you, for the metric chosen in the sidebar."""

import streamlit as st

from citydash import about, ui

catalog = ui.catalog()
database = ui.database()
filters = ui.filters()
city = catalog.city
metric = catalog.metric(filters.dataset_id, filters.metric_id)
dataset = catalog.datasets[metric.dataset]

st.title("About this dashboard")
st.markdown(f"This dashboard puts open data about {city.name}'s {city.area_label_plural} on maps, rankings and "
            f"trends for councillors, council officers and the public. Every figure says where it comes from, "
            f"under which licence, and how fresh it is; the page footer lists the sources of what is on screen.")

st.header("Where the data comes from")
sources = about.sources_table(catalog.visible(ui.access_level()), database.available,
                              lambda source: ui.freshness_text(catalog, source))
st.caption(about.sources_sentence(sources))
st.dataframe(sources, hide_index=True, key="about_sources", column_config={
    "dataset": st.column_config.TextColumn("Dataset", width="medium"),
    "subject": st.column_config.TextColumn("Subject"),
    "publisher": st.column_config.TextColumn("Publisher", width="medium"),
    "licence": st.column_config.TextColumn("Licence", width="medium"),
    "kind": st.column_config.TextColumn("Real or synthetic"),
    "published": st.column_config.TextColumn("Data on this server"),
    "refreshed": st.column_config.TextColumn("Refreshed", width="medium"),
    "source": st.column_config.LinkColumn("Source", display_text="publisher's page"),
})
ui.csv_download("Download the list of sources (CSV)", sources,
                file_name=f"{city.id}_dashboard_sources.csv",
                key="about_download_sources")
st.caption(f"{city.area_label_plural.capitalize()} boundaries: {city.boundaries_attribution}")

st.header(f"What the {metric.label} figures can tell you")
st.markdown(f"The metric chosen in the sidebar is **{metric.label} ({metric.unit})**. "
            "Choose another there to read about it.")
st.markdown("\n".join(f"- {note}" for note in about.metric_notes(metric, dataset, catalog)))

st.header("What no figure here can tell you")
st.markdown("\n".join(f"- {limit}" for limit in about.general_limits(catalog)))

st.header("Using this dashboard")
st.markdown(
    f"- **Without a mouse:** Tab moves through the sidebar's filters and the page; the first Tab offers a "
    f"link that skips straight to the content.\n"
    f"- **Without colour:** every map has a table beside it with the same figures, and a sentence saying "
    f"what it shows. The colours are chosen to be told apart with the common kinds of colour blindness.\n"
    f"- **Sharing:** the address in the browser records the filters, so a copied link opens the same view.\n"
    f"- **At an event:** add `?mode=kiosk` to the address for a large-type tour that plays by itself, "
    f"with a button to pause it.")
