"""The transport page in a real browser: three drawn maps with legends, the overlay toggle, a
filter change, and nothing fetched from the internet."""

from __future__ import annotations

from conftest import distinct_colours, save_artifact, wait_for_app


def open_transport(page, served_app) -> None:
    """Through the navigation, as a user would: the frame sets up the shared filters first."""
    page.page.goto(served_app)
    wait_for_app(page.page)
    page.page.locator('[data-testid="stSidebarNav"] a', has_text="Transport").first.click()
    page.page.wait_for_function("() => document.querySelector('h1')?.innerText.includes('Transport in')",
                                timeout=60_000)
    wait_for_app(page.page)


def map_screenshots(page, name: str) -> list[bytes]:
    page.page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=30_000)
    shots = []
    for index, deck in enumerate(page.page.query_selector_all('[data-testid="stDeckGlJsonChart"]')):
        deck.scroll_into_view_if_needed()
        page.page.wait_for_timeout(1500)
        png = deck.screenshot()
        save_artifact(f"{name}-map{index}.png", png)
        shots.append(png)
    return shots


def test_transport_draws_three_maps_with_legends_charts_and_sources(page, served_app):
    open_transport(page, served_app)
    body = page.page.inner_text("body")
    assert "Transport in London" in body and "Demo data, not real measurements" in body
    for heading in ("Stations", "Cycle hire", "Road traffic", "By borough"):
        assert heading in body
    assert page.page.query_selector('[data-testid="stException"]') is None
    legends = [legend.inner_text() for legend in page.page.query_selector_all("figure.cd-legend")]
    assert any("Station mode" in legend and "Underground" in legend for legend in legends)
    assert any("Hires a day" in legend for legend in legends)
    assert any("Cycles as a share of cars and cycles" in legend for legend in legends)
    assert len(page.page.query_selector_all(".js-plotly-plot")) >= 7
    shots = map_screenshots(page, "transport")
    assert len(shots) == 3
    for png in shots:
        assert distinct_colours(png) > 5, "a map canvas is blank"
    save_artifact("transport-1280.png", page.page.screenshot(full_page=True))
    assert page.console_errors == []
    assert page.external_requests == []


def test_the_tube_overlay_shows_its_attribution_and_a_filter_change_updates_the_page(page, served_app):
    open_transport(page, served_app)
    assert "OpenStreetMap contributors" not in page.page.inner_text("body")
    page.page.get_by_text("Show Underground and DLR lines (2018)").click()
    page.page.wait_for_function(
        "() => document.body.innerText.includes('OpenStreetMap contributors')", timeout=30_000)
    wait_for_app(page.page)
    shots = map_screenshots(page, "transport-tube")
    assert all(distinct_colours(png) > 5 for png in shots)

    borough_input = page.page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] input')
    borough_input.click()
    borough_input.fill("Westminster")
    page.page.keyboard.press("Enter")
    page.page.keyboard.press("Escape")
    page.page.wait_for_function(
        "() => document.body.innerText.includes('stations in Westminster')", timeout=30_000)
    wait_for_app(page.page)
    assert "boroughs=E09000033" in page.page.url
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert "Busiest stations in Westminster" in page.page.inner_text("body")
    assert page.console_errors == []
    assert page.external_requests == []
