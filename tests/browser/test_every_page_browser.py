"""Every page registered in dashboard.py, in a real browser: it loads without an exception or a console
error, fetches nothing from the internet, has a meaningful title and one h1, each map draws and has
a table and a one-sentence summary beside it, each Plotly chart offers its PNG download in its mode
bar (issue 6), and a filter change updates it. (Phone width and accessibility: test_accessibility.py.)

The pages come from dashboard.py's st.Page list (app_pages.PAGES), checked against the links in the
app's own navigation, so a new page is covered as soon as it is registered.
"""

from __future__ import annotations

import pytest

from app_pages import (FILTERS_IGNORED, MAP_SECTIONS, PAGES, PLOTLY_DRAWN, PLOTLY_PNG, ConsoleWatch, each_section,
                       main_text, open_expanders, page_id, path_of, reveal, served, settle, whole_page_screenshot)
from conftest import REPO, distinct_colours, save_artifact

DESKTOP = {"width": 1280, "height": 2600}


def metric_in_link(page) -> str:
    return page.evaluate("() => new URLSearchParams(location.search).get('metric')")


@pytest.fixture
def context_at(browser):
    """A fresh browser context at a given viewport; closed after the test."""
    opened = []

    def make(viewport: dict):
        context = browser.new_context(viewport=viewport)
        opened.append(context)
        return context.new_page()

    yield make
    for context in opened:
        context.close()


def test_the_navigation_lists_exactly_the_registered_pages(context_at, served_app):
    page = context_at(DESKTOP)
    page.goto(served_app)
    settle(page)
    links = page.locator('[data-testid="stSidebarNav"] a[data-testid="stSidebarNavLink"]')
    assert [link.inner_text().strip() for link in links.all()] == [registered.title for registered in PAGES]


def maps_drawn_with_tables_and_summaries_and_png_charts(page, title: str, name: str) -> None:
    assert page.query_selector('[data-testid="stException"]') is None, main_text(page)[:2000]
    assert page.title().startswith(title), page.title()
    assert page.locator("h1").count() == 1, [heading.inner_text() for heading in page.locator("h1").all()]

    open_expanders(page)
    maps = page.locator('[data-testid="stDeckGlJsonChart"]')
    for index in range(maps.count()):
        deck = maps.nth(index)
        reveal(page, deck)
        deck.scroll_into_view_if_needed()
        canvas = deck.locator("canvas").first
        canvas.wait_for(state="visible", timeout=30_000)
        page.wait_for_timeout(1500)
        picture = canvas.screenshot()
        save_artifact(f"map-{name}-{index + 1}.png", picture)
        assert distinct_colours(picture) > 5, f"map {index + 1} on {name} is blank"
    for section in page.evaluate(MAP_SECTIONS):
        where = f"{name}, section {section['heading']!r}"
        assert section["tables"] >= 1, f"{where}: a map without a table of its values beside it"
        assert section["summaries"], f"{where}: a map without a one-sentence summary"

    page.wait_for_function(PLOTLY_DRAWN, timeout=30_000, polling=250)
    for chart in page.evaluate(PLOTLY_PNG):
        where = f"{name}, chart {chart['chart']} {chart['title']!r}"
        assert chart["mode_bar"] is not False and not chart["removed"], f"{where}: the PNG download is switched off"
        assert chart["format"] == "png" and chart["button"], f"{where}: no 'Download plot as a PNG' in the mode bar"
    save_artifact(f"page-{name}-1280.png", whole_page_screenshot(page))


@pytest.mark.parametrize("registered", PAGES, ids=page_id)
def test_page_loads_with_its_title_one_h1_its_maps_drawn_their_text_alternatives_and_png_charts(
        context_at, served_app, registered):
    """The page as it opens, then each of its other sections opened by its link."""
    page = context_at(DESKTOP)
    watch = ConsoleWatch(served_app).attach(page)
    for name in each_section(page, served_app, registered):
        maps_drawn_with_tables_and_summaries_and_png_charts(page, registered.title, name)
    assert watch.unexpected_errors(registered.url_path) == []
    assert watch.external == []


@pytest.mark.parametrize("registered", PAGES, ids=page_id)
def test_a_filter_change_updates_the_page(context_at, served_app, registered):
    """The borough filter first; if the page does not depend on it, the metric. A page that depends
    on neither must say so, or readers wonder why nothing changed."""
    page = context_at(DESKTOP)
    page.goto(f"{served_app}/{path_of(registered)}")
    settle(page)
    before = main_text(page)

    boroughs = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] input')
    boroughs.click()
    boroughs.fill("Westminster")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_url("**boroughs=E09000033**", timeout=30_000)
    settle(page)
    after = main_text(page)
    if after == before:
        chosen = metric_in_link(page)
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
        page.locator('[role="listbox"] [role="option"][aria-selected="false"]').first.click()
        page.wait_for_function("chosen => new URLSearchParams(location.search).get('metric') !== chosen", arg=chosen,
                               timeout=30_000)
        settle(page)
        after = main_text(page)
    assert page.query_selector('[data-testid="stException"]') is None, after[:2000]
    assert after != before or FILTERS_IGNORED.search(after), \
        f"{registered.title}: neither the borough nor the metric filter changed the page, and it does not say why"


def test_a_link_to_a_page_as_the_first_visit_after_a_start_shows_the_page_in_its_frame(browser, demo_extracts,
                                                                                       tmp_path):
    deep = next(registered for registered in reversed(PAGES) if not registered.default)
    with served(REPO, {"CITYDASH_EXTRACTS": str(demo_extracts)}, tmp_path / "server.log") as url:
        context = browser.new_context(viewport=DESKTOP)
        try:
            page = context.new_page()
            page.goto(f"{url}/{path_of(deep)}")
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
            page.wait_for_timeout(3000)
            assert page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').count() == 1, \
                "the page ran without the frame: no shared filters"
            assert page.title().startswith(deep.title)
        finally:
            context.close()
