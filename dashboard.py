"""The frame: page setup, navigation, shared filters, then the page, then the footer."""

from pathlib import Path

import streamlit as st

from citydash import ui
from citydash.catalog import CatalogError

st.set_page_config(page_title="City dashboard", layout="wide")

try:
    catalog = ui.catalog()
    database = ui.database()
except CatalogError as error:
    st.error(f"The city pack's catalogue is not valid: {error}", icon=":material/error:")
    st.stop()

PAGES_DIR = Path(__file__).resolve().parent / "pages"
pages = [
    st.Page(PAGES_DIR / "overview.py", title="Overview", url_path="overview", default=True),
]
page = st.navigation(pages)
st.html(ui.STYLE_PATH)
st.session_state[ui.SHOWN_KEY] = []
banner = st.empty()
ui.show_problems(database)

areas = ui.run("boroughs")
if ui.sidebar_filters(catalog, database, areas) is None:
    st.title(f"{catalog.city.name} dashboard")
    st.warning("There is no data to show yet. Build the demo data with `make run` (or "
               "`python -m citydash demo`), or ingest a dataset, then reload this page.", icon=":material/database:")
    st.stop()
ui.account_controls()
for notice in ui.filters().notices:
    st.info(notice, icon=":material/link:")

page.run()
ui.synthetic_banner(catalog, banner)
ui.footer(catalog)
