"""The overview in a real browser: it draws, it reacts, and it fetches nothing from the internet."""

from __future__ import annotations

from conftest import distinct_colours, save_artifact, wait_for_app


def test_overview_draws_map_legend_chart_table_banner_and_footer(page, served_app):
    page.page.goto(served_app)
    wait_for_app(page.page)
    body = page.page.inner_text("body")
    assert "London at a glance" in body
    assert "Demo data, not real measurements" in body
    assert "Sources and licences of the data on this page" in body
    assert page.page.query_selector('[data-testid="stException"]') is None
    legend = page.page.query_selector("figure.cd-legend")
    assert legend is not None and "µg/m³" in legend.inner_text()
    assert page.page.query_selector('[data-testid="stDataFrame"]') is not None
    page.page.wait_for_selector(".js-plotly-plot", timeout=30_000)
    deck = page.page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=30_000)
    page.page.wait_for_timeout(1500)
    map_png = deck.screenshot()
    save_artifact("overview-map.png", map_png)
    assert distinct_colours(map_png) > 5, "the map canvas is blank"
    save_artifact("overview-1280.png", page.page.screenshot(full_page=True))
    assert page.console_errors == []
    assert page.external_requests == []


def test_changing_the_borough_filter_updates_the_page_and_the_link(page, served_app):
    page.page.goto(served_app)
    wait_for_app(page.page)
    tile = page.page.locator('[data-testid="stMetric"]').first
    assert "All boroughs" in tile.inner_text()
    borough_input = page.page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] input')
    borough_input.click()
    borough_input.fill("Westminster")
    page.page.keyboard.press("Enter")
    page.page.keyboard.press("Escape")
    page.page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMetric\"]').innerText.includes('Westminster')",
        timeout=30_000)
    assert "boroughs=E09000033" in page.page.url
    assert page.page.query_selector('[data-testid="stException"]') is None


def test_a_shared_link_reproduces_the_view(page, served_app):
    page.page.goto(f"{served_app}/?metric=stations.entries&boroughs=E09000007&start=2025-11-05&end=2025-11-20")
    wait_for_app(page.page)
    body = page.page.inner_text("body")
    assert "Station entries" in body and "05 Nov 2025 to 20 Nov 2025" in body
    assert "Camden" in page.page.locator('[data-testid="stMetric"]').first.inner_text()


def test_a_hostile_link_falls_back_with_a_notice(page, served_app):
    page.page.goto(f"{served_app}/?metric=%3Cscript%3Ealert(1)%3C/script%3E&boroughs=E09000007,nope")
    wait_for_app(page.page)
    body = page.page.inner_text("body")
    assert "Ignored unknown metric" in body and "Ignored unknown area code" in body
    assert "<script>" not in page.page.content().split("<body")[1].split("</body>")[0].replace("&lt;", "")
