"""Accessibility (WCAG 2.2 AA) of every page registered in dashboard.py: an axe-core audit with no
serious or critical violation (the reports are saved as test-artifacts/axe-<page>.json), keyboard
use without a mouse, the skip link, and the theme's contrast and colour-blind-safe palettes.

axe-core comes from npm (package.json pins it; `make test` runs `npm ci`) and is injected into the
page by Playwright; nothing is fetched from the internet.
"""

from __future__ import annotations

import tomllib

import pytest

from app_pages import (AXE_SCRIPT, AXE_TAGS, PAGES, ConsoleWatch, axe_report, blocking, describe, each_section,
                       open_expanders, page_id, path_of, run_axe, settle, whole_page_screenshot)
from citydash import charts
from conftest import REPO, save_artifact

DESKTOP = {"width": 1280, "height": 1400}
PHONE = {"width": 390, "height": 2600}
OKABE_ITO = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}
MAX_TABS = 400

# Streamlit's status widget shows its Stop button only while a run has taken over half a second and
# takes it away when the run ends, so on a page that reruns by itself (the sensors' replay, every
# 2 s) it comes and goes between Tab presses: not a control the walk can be asked to reach.
CONTROLS = """() => Array.from(document.querySelectorAll(
    'a[href], button, input:not([type="hidden"]), select, textarea, summary, [role="spinbutton"], [role="tab"]'))
  .filter(element => !element.disabled && element.tabIndex >= 0 && !element.closest('[aria-hidden="true"]')
                     && !element.closest('[data-testid="stStatusWidget"]')
                     && element.getClientRects().length > 0 && getComputedStyle(element).visibility !== 'hidden')"""
# Whether the focused element shows a ring where the eye can see it. A table's data grid draws on a
# canvas that its frame clips, and keeps an accessible table of its cells as the canvas's fallback
# content, which is never drawn: for the canvas and those cells, what is seen is the frame.
SHOWS_RING = """element => {
    const style = getComputedStyle(element.closest('[data-testid="stDataFrameResizable"]') || element);
    return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
}"""


@pytest.fixture
def new_page(browser):
    opened = []

    def make(viewport: dict):
        context = browser.new_context(viewport=viewport)
        opened.append(context)
        return context.new_page()

    yield make
    for context in opened:
        context.close()


def audit(page, name: str) -> list[dict]:
    """Run axe; a run that catches Streamlit mid-update (elements fading as stale) is run again once
    the page has settled, and only what the settled page shows counts. Both reports are saved."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `npm ci` (make test does)")
    results = run_axe(page)
    save_artifact(f"axe-{name}.json", axe_report(results))
    if blocking(results):
        settle(page)
        results = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: "
                                "['violations', 'incomplete']})", AXE_TAGS)
        save_artifact(f"axe-{name}.json", axe_report(results))
    return blocking(results)


def no_violation_and_an_outline(page, name: str) -> None:
    open_expanders(page)
    violations = audit(page, name)
    assert violations == [], f"{name}: {describe(violations)}"
    # axe's 'heading-order' is only moderate, so not caught above, but a screen reader's list of
    # headings must read as an outline: no h1 followed by an h3, and so on.
    results = page.evaluate("() => axe.run(document, {runOnly: {type: 'rule', values: ['heading-order']}})")
    outline = page.evaluate("() => Array.from(document.querySelectorAll('[data-testid=\"stMain\"] h1, "
                            "[data-testid=\"stMain\"] h2, [data-testid=\"stMain\"] h3, [data-testid=\"stMain\"] h4'))"
                            ".map(heading => heading.tagName + ' ' + heading.innerText.trim().slice(0, 60))")
    assert results["violations"] == [], f"{name}: {describe(results['violations'])}\n" + "\n".join(outline)


@pytest.mark.parametrize("registered", PAGES, ids=page_id)
def test_axe_finds_no_serious_violation_and_headings_form_an_outline(new_page, served_app, registered):
    """Every section of the page, each opened by its link (axe-<page>[-<section>].json)."""
    page = new_page(DESKTOP)
    for name in each_section(page, served_app, registered):
        no_violation_and_an_outline(page, name)


def reflows_and_passes_axe(page, name: str) -> None:
    save_artifact(f"page-{name}-390.png", whole_page_screenshot(page))
    widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                      main: document.querySelector('[data-testid="stMain"]').scrollWidth,
                                      viewport: window.innerWidth})""")
    assert max(widths["page"], widths["main"]) <= widths["viewport"], (name, widths)
    violations = audit(page, f"{name}-390")
    assert violations == [], f"{name} at 390 px: {describe(violations)}"


@pytest.mark.parametrize("registered", PAGES, ids=page_id)
def test_at_phone_width_the_page_reflows_without_sideways_scrolling_and_passes_axe(new_page, served_app, registered):
    """WCAG 1.4.10 (reflow): at 390 px nothing but a wide table may scroll sideways, and that inside
    itself; in every section of the page."""
    page = new_page(PHONE)
    for name in each_section(page, served_app, registered):
        reflows_and_passes_axe(page, name)


@pytest.mark.parametrize("registered", PAGES, ids=page_id)
def test_every_control_is_reached_with_the_tab_key_and_shows_where_focus_is(new_page, served_app, registered):
    page = new_page(DESKTOP)
    page.goto(f"{served_app}/{path_of(registered)}")
    settle(page)
    page.evaluate(f"""() => document.addEventListener('focusin', event =>
        event.target.setAttribute('data-cd-focus', ({SHOWS_RING})(event.target) ? 'ring' : 'none'), true)""")
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
    unreached = page.evaluate(f"() => ({CONTROLS})().filter(element => !element.hasAttribute('data-cd-focus'))"
                              ".map(element => element.outerHTML.slice(0, 160))")
    no_ring = page.evaluate("() => Array.from(document.querySelectorAll('[data-cd-focus=\"none\"]'))"
                            ".map(element => element.outerHTML.slice(0, 160))")
    assert unreached == [], f"controls the Tab key never reached on {registered.title}"
    assert no_ring == [], f"controls with no visible focus indicator on {registered.title}"


def test_a_table_redrawn_under_the_keyboard_keeps_a_visible_focus_ring(new_page, served_app):
    """The street sensors' replay redraws its table every 2 s, and the data grid then moves focus from
    its canvas to a cell of the canvas's fallback table, which is never drawn: the ring must stay."""
    page = new_page(DESKTOP)
    page.goto(f"{served_app}/sensors")
    settle(page)
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.matches('[data-testid=\"stDataFrame\"] canvas')"):
            break
    else:
        pytest.fail("the Tab key never reached the latest readings table")
    page.wait_for_function("() => document.activeElement.closest('[data-testid=\"stDataFrame\"] canvas') !== null"
                           " && document.activeElement.tagName !== 'CANVAS'", timeout=20_000)
    assert page.evaluate(f"() => ({SHOWS_RING})(document.activeElement)"), \
        "a table cell has the keyboard's focus and nothing on screen shows it"


def test_the_skip_link_moves_focus_to_the_main_content(new_page, served_app):
    page = new_page(DESKTOP)
    page.goto(served_app)
    settle(page)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.innerText.trim()") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.closest('[data-testid=\"stMain\"]') !== null"), \
        "after the skip link, focus is not in the main content"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('[data-testid=\"stMain\"]') !== null"
                         " && document.activeElement.closest('[data-testid=\"stSidebar\"]') === null"), \
        "the Tab after the skip link went back to the sidebar"


def test_the_borough_filter_is_changed_with_the_keyboard_alone(new_page, served_app):
    page = new_page(DESKTOP)
    watch = ConsoleWatch(served_app).attach(page)
    page.goto(served_app)
    settle(page)
    visited = []
    for _ in range(60):
        page.keyboard.press("Tab")
        label = page.evaluate("() => document.activeElement.getAttribute('aria-label') || document.activeElement.innerText")
        visited.append(label)
        if label == "Boroughs":
            break
    assert visited[-1] == "Boroughs", f"Tab never reached the borough filter: {visited}"
    assert "Metric" in visited, "Tab reaches the metric filter on the way"
    page.keyboard.type("Westminster")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_url("**boroughs=E09000033**", timeout=30_000)
    settle(page)
    assert "Westminster" in page.locator('[data-testid="stMetric"]').first.inner_text()
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('[data-testid=\"stSidebar\"]') !== null"), \
        "Tab after the borough filter carries on to the next filter"
    assert watch.unexpected_errors("") == []


# ---------------------------------------------------------------------------------
# The theme (no browser needed)


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[index:index + 2], 16) / 255 for index in (0, 2, 4)]
    linear = [value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4 for value in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def faded(colour: str, background: str, opacity: float) -> str:
    """A colour drawn at an opacity over a background, as Streamlit draws secondary text."""
    mix = [round(opacity * int(colour[index:index + 2], 16) + (1 - opacity) * int(background[index:index + 2], 16))
           for index in (1, 3, 5)]
    return "#" + "".join(f"{value:02x}" for value in mix)


def theme() -> dict:
    return tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["theme"]


def test_the_theme_meets_aa_contrast_for_text_secondary_text_links_and_buttons():
    colours = theme()
    for background in (colours["backgroundColor"], colours["secondaryBackgroundColor"]):
        assert contrast(colours["textColor"], background) >= 7
        assert contrast(faded(colours["textColor"], background, 0.6), background) >= 4.5, \
            "Streamlit's 60% secondary text would fall below 4.5:1"
        assert contrast(colours["linkColor"], background) >= 4.5
        assert contrast(colours["primaryColor"], background) >= 4.5
    assert contrast("#FFFFFF", colours["primaryColor"]) >= 4.5, "white text on a primary button"
    assert colours["linkUnderline"] is True, "links are told from text by more than colour"


def test_chart_colours_are_the_colour_blind_safe_okabe_ito_set_in_the_theme_and_the_charts():
    assert set(charts.CATEGORICAL) == OKABE_ITO
    assert theme()["chartCategoricalColors"] == charts.CATEGORICAL
