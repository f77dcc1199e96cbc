"""The frame: page setup, navigation, shared filters, then the page, then the footer."""

from pathlib import Path

import streamlit as st

from citydash import kiosk_ui, ui
from citydash.catalog import CatalogError

st.set_page_config(page_title="City dashboard", layout="wide")
kiosk_mode = kiosk_ui.requested()

try:
    catalog = ui.catalog()
    database = ui.database()
except CatalogError as error:
    st.error(f"The city pack's catalogue is not valid: {error}", icon=":material/error:")
    st.stop()

PAGES_DIR = Path(__file__).resolve().parent / "pages"
pages = [
    st.Page(PAGES_DIR / "overview.py", title="Overview", url_path="overview", default=True),
    st.Page(PAGES_DIR / "environment.py", title="Environment", url_path="environment"),
    st.Page(PAGES_DIR / "transport.py", title="Transport", url_path="transport"),
    st.Page(PAGES_DIR / "sensors.py", title="Street sensors", url_path="sensors"),
    st.Page(PAGES_DIR / "borough.py", title="Borough profile", url_path="borough"),
    st.Page(PAGES_DIR / "compare.py", title="Compare boroughs", url_path="compare"),
    st.Page(PAGES_DIR / "catalogue.py", title="Data catalogue", url_path="catalogue"),
    st.Page(PAGES_DIR / "about.py", title="About this dashboard", url_path="about"),
]
# Pages that are useful before any data is published: the catalogue is where an officer adds the first.
WORKS_WITHOUT_DATA = {"catalogue", "about"}
page = st.navigation(pages, position="hidden" if kiosk_mode else "sidebar")
# The browser tab (and a screen reader's first words): the page, then the dashboard.
st.set_page_config(page_title=f"{page.title} · {catalog.city.name} dashboard",
                   initial_sidebar_state="collapsed" if kiosk_mode else "auto")
st.html(ui.STYLE_PATH)
st.session_state[ui.SHOWN_KEY] = []
banner = st.empty()
ui.show_problems(database)

areas = ui.run("boroughs")
if kiosk_mode:
    kiosk_ui.show(page, pages, catalog, database, areas)
else:
    has_data = ui.sidebar_filters(catalog, database, areas) is not None
    ui.account_controls()
    if has_data:
        for notice in ui.filters().notices:
            st.info(notice, icon=":material/link:")
        page.run()
    elif page.url_path in WORKS_WITHOUT_DATA:
        page.run()
    else:
        st.title(f"{catalog.city.name} dashboard")
        st.warning("There is no data to show yet. Build the demo data with `make run` (or "
                   "`python -m citydash demo`), ingest a dataset, or add your own on the data catalogue page.",
                   icon=":material/database:")
        st.page_link(pages[[candidate.url_path for candidate in pages].index("catalogue")],
                     label="Add data on the data catalogue page", icon=":material/upload_file:")
ui.synthetic_banner(catalog, banner)
ui.footer(catalog)
