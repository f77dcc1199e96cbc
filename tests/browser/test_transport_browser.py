"""The transport page in a real browser: its sections opened by their tabs (one drawn at a time),
three drawn maps with legends, the overlay toggle, a filter change, and nothing fetched from the
internet."""

from __future__ import annotations

from app_pages import AXE_SCRIPT
from citydash.transport import SECTION_LABELS
from conftest import distinct_colours, save_artifact, wait_for_app

STATIONS, CYCLE_HIRE, ROAD_TRAFFIC, BY_BOROUGH = SECTION_LABELS
# The h2s a reader can see, in document order.
SECTION_HEADINGS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] h2'))
  .filter(heading => heading.getClientRects().length > 0).map(heading => heading.innerText.trim())"""


def open_transport(page, served_app) -> None:
    """Through the navigation, as a user would: the frame sets up the shared filters first."""
    page.page.goto(served_app)
    wait_for_app(page.page)
    page.page.locator('[data-testid="stSidebarNav"] a', has_text="Transport").first.click()
    page.page.wait_for_function("() => document.querySelector('h1')?.innerText.includes('Transport in')",
                                timeout=60_000)
    wait_for_app(page.page)


def open_section(page, label: str) -> None:
    """Click the section's tab, as a reader does: the page reruns and draws that section alone."""
    page.get_by_role("tab", name=label, exact=True).click()
    page.wait_for_function(f"() => ({SECTION_HEADINGS})().includes({label!r})", timeout=60_000)
    wait_for_app(page)


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
    for label in SECTION_LABELS:
        assert page.page.get_by_role("tab", name=label, exact=True).is_visible()
    charts = 0
    for label, legend_text, slug in ((STATIONS, "Station mode", "stations"), (CYCLE_HIRE, "Hires a day", "cycle-hire"),
                                     (ROAD_TRAFFIC, "Cycles as a share of cars and cycles", "road-traffic")):
        if label != STATIONS:  # the page opens on its first section
            open_section(page.page, label)
        assert page.page.evaluate(SECTION_HEADINGS) == [label], "one section drawn at a time"
        assert page.page.query_selector('[data-testid="stException"]') is None
        legends = [legend.inner_text() for legend in page.page.query_selector_all("figure.cd-legend")]
        assert any(legend_text in legend for legend in legends), label
        if label == STATIONS:
            assert any("Underground" in legend for legend in legends)
        charts += len(page.page.query_selector_all(".js-plotly-plot"))
        shots = map_screenshots(page, f"transport-{slug}")
        assert len(shots) == 1 and distinct_colours(shots[0]) > 5, f"{label}: the map canvas is blank"
        save_artifact(f"transport-{slug}-1280.png", page.page.screenshot(full_page=True))
    assert charts >= 7
    open_section(page.page, BY_BOROUGH)
    assert page.page.evaluate(SECTION_HEADINGS) == [BY_BOROUGH]
    assert page.page.query_selector_all('[data-testid="stDeckGlJsonChart"]') == []
    assert len(page.page.query_selector_all('[data-testid="stDataFrame"]')) == 1
    assert "section=by-borough" in page.page.url
    save_artifact("transport-by-borough-1280.png", page.page.screenshot(full_page=True))
    assert page.console_errors == []
    assert page.external_requests == []


def test_a_link_opens_its_section_and_a_tab_click_writes_the_section_into_the_link(page, served_app):
    page.page.goto(served_app)  # the root first: a server's first request for a page path skips the frame
    wait_for_app(page.page)
    page.page.goto(f"{served_app}/transport?section=road-traffic")
    wait_for_app(page.page)
    page.page.wait_for_function(f"() => ({SECTION_HEADINGS})().includes({ROAD_TRAFFIC!r})", timeout=60_000)
    assert page.page.evaluate(SECTION_HEADINGS) == [ROAD_TRAFFIC]
    assert page.page.get_by_role("tab", name=ROAD_TRAFFIC, exact=True).get_attribute("aria-selected") == "true"
    assert "Map: count points" in page.page.inner_text('[data-testid="stMain"]')
    assert "Busiest stations" not in page.page.inner_text('[data-testid="stMain"]'), "a closed section is not drawn"
    open_section(page.page, CYCLE_HIRE)
    page.page.wait_for_function("() => window.location.search.includes('section=cycle-hire')", timeout=30_000)
    open_section(page.page, STATIONS)
    page.page.wait_for_function("() => !window.location.search.includes('section=')", timeout=30_000)
    assert page.page.evaluate(SECTION_HEADINGS) == [STATIONS]
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert page.external_requests == []


def test_the_tube_overlay_shows_its_attribution_and_a_filter_change_updates_the_page(page, served_app):
    open_transport(page, served_app)
    assert "OpenStreetMap contributors" not in page.page.inner_text("body")
    page.page.get_by_text("Show Underground and DLR lines (2018)").click()
    page.page.wait_for_function(
        "() => document.body.innerText.includes('OpenStreetMap contributors')", timeout=30_000)
    wait_for_app(page.page)
    shots = map_screenshots(page, "transport-tube")
    assert len(shots) == 1 and distinct_colours(shots[0]) > 5
    # The toggle is above the sections: the next section's map draws the lines too.
    open_section(page.page, CYCLE_HIRE)
    assert "OpenStreetMap contributors" in page.page.inner_text('[data-testid="stMain"]')
    assert distinct_colours(map_screenshots(page, "transport-tube-docks")[0]) > 5
    open_section(page.page, STATIONS)

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


def heading_order_violations(page) -> list[dict]:
    """axe-core's heading-order rule alone (the full audit is tests/browser/test_accessibility.py)."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate("() => axe.run(document, {runOnly: {type: 'rule', values: ['heading-order']}})")
    return results["violations"]


# Streamlit asks <page path>/_stcore/... before the root when a page is opened by its URL
# (streamlit/streamlit#7074); those two 404s are its own probes, not the page's.
BASE_PATH_PROBES = ("/_stcore/health", "/_stcore/host-config")


def test_a_shared_link_with_four_boroughs_shows_panels_and_the_linked_overlays(page, served_app):
    # Visit the root first: a server whose first request is a page path runs it without the frame.
    page.page.goto(served_app)
    wait_for_app(page.page)
    failed: list[str] = []
    page.page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    boroughs = "E09000007,E09000012,E09000019,E09000033"
    page.page.goto(f"{served_app}/transport?boroughs={boroughs}&transport_tube=on&transport_outlines=off"
                   "&section=cycle-hire")
    wait_for_app(page.page)
    page.page.wait_for_function("() => document.body.innerText.includes('OpenStreetMap contributors')",
                                timeout=30_000)
    wait_for_app(page.page)
    assert page.page.get_by_role("checkbox", name="Show Underground and DLR lines (2018)").is_checked()
    assert not page.page.get_by_role("checkbox", name="Show borough outlines").is_checked()
    assert "transport_tube=on" in page.page.url and "transport_outlines=off" in page.page.url
    panels = page.page.locator(".js-plotly-plot", has_text="Average hires per hour in each borough")
    panels.scroll_into_view_if_needed()
    page.page.wait_for_timeout(1000)
    text = panels.inner_text()
    for name in ("Camden", "Hackney", "Islington", "Westminster (no data)"):
        assert name in text
    save_artifact("transport-hires-by-borough.png", panels.screenshot())
    assert heading_order_violations(page.page) == []
    open_section(page.page, ROAD_TRAFFIC)
    assert "section=road-traffic" in page.page.url and "transport_tube=on" in page.page.url
    traffic = page.page.locator(".js-plotly-plot", has_text="Vehicles per count in each borough")
    traffic.scroll_into_view_if_needed()
    page.page.wait_for_timeout(1000)
    save_artifact("transport-traffic-by-borough.png", traffic.screenshot())
    assert heading_order_violations(page.page) == []
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert [url for url in failed if not url.endswith(BASE_PATH_PROBES)] == []
    assert all(message.startswith("Failed to load resource") for message in page.console_errors)
    assert len(page.console_errors) <= len(failed)
    assert page.external_requests == []
