"""The Environment page in a real browser: the site map draws and keeps the reader's pan when the
filters change, the page reacts to the filters and to a shared link, every chart has its table,
headings go down one level at a time, one section is drawn at a time and the open one is in the
link, and nothing is fetched from the internet."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from conftest import distinct_colours, save_artifact, wait_for_app
# Each section's h2s on the demo data, with NO2 (the sidebar's default metric) as the pollutant.
from test_environment import SECTION_HEADERS as SECTION_HEADINGS


def open_environment(page, served_app) -> None:
    # Through the navigation, as a reader would: a first request straight to /environment would
    # meet Streamlit's pages/ folder mode before st.navigation has run.
    page.goto(served_app)
    wait_for_app(page)
    page.get_by_role("link", name="Environment").first.click()
    page.wait_for_function("() => document.querySelector('h1') && "
                           "document.querySelector('h1').innerText.includes('Air quality in')", timeout=60_000)
    wait_for_app(page)


H2_TEXTS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] h2'))
  .map(heading => heading.innerText.trim())"""


def open_section(page, label: str) -> None:
    """Click a section's tab, as a reader does, and wait until that section is drawn."""
    page.get_by_role("tab", name=label, exact=True).click()
    first_heading = SECTION_HEADINGS[label][0]
    page.wait_for_function("text => Array.from(document.querySelectorAll('[data-testid=\"stMain\"] h2'))"
                           ".some(heading => heading.innerText.trim() === text)", arg=first_heading, timeout=60_000)
    wait_for_app(page)


def test_the_environment_page_draws_its_map_legend_charts_and_tables(page, served_app):
    open_environment(page.page, served_app)
    body = page.page.inner_text("body")
    assert "Air quality in London" in body
    assert "Highest daily index in the selection" in body
    assert "Demo data, not real measurements" in body
    assert page.page.query_selector('[data-testid="stException"]') is None
    legend = page.page.query_selector('figure.cd-legend')
    assert legend is not None and "Very High" in legend.inner_text() and "Roadside or kerbside" in legend.inner_text()
    # Monitoring sites: the days-per-band chart; the site table and the band table behind its tab.
    assert len(page.page.query_selector_all(".js-plotly-plot")) >= 1
    assert len(page.page.query_selector_all('[data-testid="stDataFrame"]')) >= 2
    deck = page.page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=30_000)
    page.page.wait_for_timeout(1500)
    map_png = deck.screenshot()
    save_artifact("environment-map.png", map_png)
    assert distinct_colours(map_png) > 5, "the map canvas is blank"
    save_artifact("environment-1280.png", page.page.screenshot(full_page=True))
    # The other sections' charts: the trend and roadside against background; the week heatmap.
    for label, charts in (("Trends", 2), ("Time of day", 1)):
        open_section(page.page, label)
        page.page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        assert len(page.page.query_selector_all(".js-plotly-plot")) >= charts, label
        assert page.page.query_selector('[data-testid="stException"]') is None
        save_artifact(f"environment-{label.lower().replace(' ', '-')}-1280.png", page.page.screenshot(full_page=True))
    open_section(page.page, "Zones")
    assert "does not ship" in page.page.inner_text('[data-testid="stMain"]')
    assert page.console_errors == []
    assert page.external_requests == []


def test_choosing_a_borough_and_a_pollutant_updates_the_page(page, served_app):
    open_environment(page.page, served_app)
    assert "all boroughs" in page.page.inner_text("body")
    borough_input = page.page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] input')
    borough_input.click()
    borough_input.fill("Camden")
    page.page.keyboard.press("Enter")
    page.page.keyboard.press("Escape")
    page.page.wait_for_function("() => document.body.innerText.includes('1 selected borough')", timeout=30_000)
    wait_for_app(page.page)
    assert "boroughs=E09000007" in page.page.url
    open_section(page.page, "Trends")
    assert "1 selected borough" in page.page.inner_text("body") and "boroughs=E09000007" in page.page.url
    page.page.get_by_text("Fine particles (PM2.5)", exact=True).first.click()
    page.page.wait_for_function(
        "() => document.body.innerText.includes('Fine particles (PM2.5): daily mean by borough')", timeout=30_000)
    wait_for_app(page.page)
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert "section=trends" in page.page.url and "air_pollutant=pm25" in page.page.url
    assert page.console_errors == []
    assert page.external_requests == []


def test_only_the_open_section_is_drawn_and_the_link_names_it(page, served_app):
    open_environment(page.page, served_app)
    assert page.page.get_by_role("tab", name="Monitoring sites", exact=True).get_attribute("aria-selected") == "true"
    assert page.page.evaluate(H2_TEXTS) == SECTION_HEADINGS["Monitoring sites"]
    assert "section=" not in page.page.url, "the first section is the default: its link names none"
    open_section(page.page, "Time of day")
    page.page.wait_for_url("**section=time-of-day**", timeout=30_000)
    # The closed sections are not drawn at all: no map, no site table, none of their headings.
    assert page.page.evaluate(H2_TEXTS) == SECTION_HEADINGS["Time of day"]
    assert page.page.query_selector('[data-testid="stDeckGlJsonChart"]') is None
    assert page.page.query_selector('[data-testid="stMetric"]') is None
    assert page.console_errors == []

    # The link opens the same section afresh, with the page's other choices. (Opened straight at
    # /environment, Streamlit's pages/ folder mode logs 404s before st.navigation runs: see
    # open_environment; the console is not checked from here on.)
    page.page.goto(page.page.url)
    wait_for_app(page.page)
    assert page.page.get_by_role("tab", name="Time of day", exact=True).get_attribute("aria-selected") == "true"
    assert page.page.evaluate(H2_TEXTS) == SECTION_HEADINGS["Time of day"]
    open_section(page.page, "Monitoring sites")
    page.page.wait_for_function("() => !location.search.includes('section=')", timeout=30_000)
    assert page.page.query_selector('[data-testid="stDeckGlJsonChart"]') is not None
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert page.external_requests == []


def test_the_table_tab_shows_the_numbers_behind_the_band_chart(page, served_app):
    open_environment(page.page, served_app)
    # The band chart's own Chart/Table tabs: the innermost tab list with a Table tab (the section
    # tabs hold it too), the only chart of Monitoring sites.
    section = page.page.locator('[data-testid="stMain"] [data-testid="stTabs"]').filter(
        has=page.page.get_by_role("tab", name="Table", exact=True)).last
    section.get_by_role("tab", name="Table").click()
    table = section.locator('[data-testid="stDataFrame"]')
    table.wait_for(state="visible", timeout=30_000)
    assert "Days with an index" in table.inner_text() or table.locator("canvas").count() > 0
    assert section.get_by_role("button", name="Download days per band (CSV)").is_visible()
    page.page.wait_for_timeout(500)
    save_artifact("environment-band-days-table.png", section.screenshot())
    section.get_by_role("tab", name="Chart").click()
    section.locator(".js-plotly-plot").wait_for(state="visible", timeout=30_000)
    assert page.console_errors == []


def test_a_shared_link_opens_on_its_pollutant_and_a_hostile_one_on_the_default(page, served_app):
    page.page.goto(f"{served_app}/environment?air_pollutant=pm25&section=trends")
    wait_for_app(page.page)
    assert page.page.get_by_role("tab", name="Trends", exact=True).get_attribute("aria-selected") == "true"
    assert page.page.get_by_role("radio", name="Fine particles (PM2.5)").is_checked()
    assert "Fine particles (PM2.5): daily mean by borough" in page.page.inner_text("body")
    page.page.get_by_text("Ozone (O₃)", exact=True).first.click()
    page.page.wait_for_url("**air_pollutant=o3**", timeout=30_000)
    wait_for_app(page.page)
    assert "Ozone (O₃): daily mean by borough" in page.page.inner_text("body") and "section=trends" in page.page.url

    page.page.goto(f"{served_app}/environment?air_pollutant=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    wait_for_app(page.page)
    body = page.page.inner_text("body")
    assert "The link's pollutant is not one this page offers" in body and "onerror" not in body
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert "air_pollutant=no2" in page.page.url
    assert page.external_requests == []


def _outline_pixels(png: bytes):
    """Where the canvas shows the areas' grey outlines: the same set for the same view."""
    import io

    import numpy as np
    from PIL import Image
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype="int16")
    return (np.abs(pixels - np.array([154, 165, 177])).sum(axis=2) < 45)


def _overlap(first, second) -> float:
    return float((first & second).sum() / max((first | second).sum(), 1))


def test_the_map_keeps_the_readers_pan_when_the_borough_filter_changes(page, served_app):
    open_environment(page.page, served_app)
    canvas = page.page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=30_000)
    canvas.scroll_into_view_if_needed()
    page.page.wait_for_timeout(1500)
    original = _outline_pixels(canvas.screenshot())
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.page.mouse.move(x, y)
    page.page.mouse.down()
    page.page.mouse.move(x + 140, y + 60, steps=12)
    page.page.mouse.up()
    page.page.wait_for_timeout(1000)
    panned = _outline_pixels(canvas.screenshot())
    assert _overlap(original, panned) < 0.2, "the drag did not pan the map"

    borough_input = page.page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] input')
    borough_input.click()
    borough_input.fill("Camden")
    page.page.keyboard.press("Enter")
    page.page.keyboard.press("Escape")
    page.page.wait_for_function("() => document.body.innerText.includes('1 selected borough')", timeout=30_000)
    wait_for_app(page.page)
    canvas = page.page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=30_000)
    canvas.scroll_into_view_if_needed()
    page.page.wait_for_timeout(1500)
    picture = canvas.screenshot()
    save_artifact("environment-map-panned-after-filter.png", picture)
    after = _outline_pixels(picture)
    assert _overlap(panned, after) > 0.5, "the filter change threw away the reader's pan"
    assert _overlap(panned, after) > 3 * _overlap(original, after)


def test_every_sites_daily_index_is_worked_out_when_its_download_is_pressed(page, served_app):
    """The page draws from each site's overall index alone; the file has every pollutant's rows too,
    worked out by the button (outside the page's rerun) for the chosen period and boroughs."""
    open_environment(page.page, served_app)
    with page.page.expect_download(timeout=60_000) as download:
        page.page.get_by_role("button", name="Download every site's daily index (CSV)").click()
    content = Path(download.value.path()).read_bytes()
    save_artifact("environment-daily-index.csv", content)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert rows and set(rows[0]) == {"entity_id", "borough_code", "day", "metric", "daqi_index", "concentration",
                                     "pollutant"}
    assert {"daqi", "no2", "pm25", "pm10", "o3"} <= {row["metric"] for row in rows}
    link = dict(parse_qsl(urlsplit(page.page.url).query))
    assert {row["day"][:10] for row in rows} <= {str(day) for day in pd.date_range(link["start"], link["end"]).date}
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert page.console_errors == []
