"""The Environment page in a real browser: the site map draws, the page reacts to the filters, and
nothing is fetched from the internet."""

from __future__ import annotations

from conftest import distinct_colours, save_artifact, wait_for_app


def open_environment(page, served_app) -> None:
    # Through the navigation, as a reader would: a first request straight to /environment would
    # meet Streamlit's pages/ folder mode before st.navigation has run.
    page.goto(served_app)
    wait_for_app(page)
    page.get_by_role("link", name="Environment").first.click()
    page.wait_for_function("() => document.querySelector('h1') && "
                           "document.querySelector('h1').innerText.includes('Air quality in')", timeout=60_000)
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
    assert len(page.page.query_selector_all(".js-plotly-plot")) >= 4
    assert len(page.page.query_selector_all('[data-testid="stDataFrame"]')) >= 2
    deck = page.page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=30_000)
    page.page.wait_for_timeout(1500)
    map_png = deck.screenshot()
    save_artifact("environment-map.png", map_png)
    assert distinct_colours(map_png) > 5, "the map canvas is blank"
    save_artifact("environment-1280.png", page.page.screenshot(full_page=True))
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
    page.page.get_by_text("Fine particles (PM2.5)", exact=True).first.click()
    page.page.wait_for_function(
        "() => document.body.innerText.includes('Fine particles (PM2.5): daily mean by borough')", timeout=30_000)
    wait_for_app(page.page)
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert page.console_errors == []
    assert page.external_requests == []
