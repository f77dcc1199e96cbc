"""Hostile text from data in a real browser (issue 10, hardening): a station named
`<img src=x onerror=alert(1)>` shows as text, and nothing in the data runs as script, becomes an
element, a link, bold text or mathematics.

One app is served for the module on a small demo pack in which every monitoring site, station,
dock, count point and street sensor has a name made of five hostile texts (conftest.HOSTILE_TEXTS:
an <img onerror>, a <script> setting window.__pwned, a javascript: markdown link, **bold** and $x$),
so whichever entity a page names (the busiest station, the largest dock, the highest sensor, a
borough's sites) is hostile. Every registered page is visited with traps set before the app's own
scripts run: a dialog handler, alert/confirm/prompt replaced by recorders, the window.__pwned flag,
a MutationObserver recording any <img src="x">, on* handler, data <script> or javascript: link ever
inserted (even if removed again), and a watch for the request an <img src=x> would make; and no
<strong>bold</strong>, "click" link or KaTeX made from a name is in the page. The pages that name
entities show every hostile text exactly as typed (page text, table cells, chart labels, the
sensor picker and its options); on the borough profile a deck.gl tooltip over a site does too, and
the CSV download of the borough's sites keeps the names as literal text.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from app_pages import PAGES, ConsoleWatch, main_text, open_expanders, page_id, path_of, served, settle
from citydash import sensors_view
from citydash import transport
from citydash.state import section_slug
from conftest import HOSTILE_TEXTS, REPO, save_artifact, write_hostile_extracts

VIEWPORT = {"width": 1280, "height": 2000}
# Pages that name entities (sites, stations, docks, count points, sensors) on screen.
NAMING_PAGES = {"environment", "transport", "sensors", "borough"}

TRAPS = """
(() => {
  window.__dialogs = [];
  window.__inserted = [];
  for (const name of ['alert', 'confirm', 'prompt']) {
    const original = window[name];
    window[name] = function (...args) {
      window.__dialogs.push(name + ': ' + String(args[0]));
      return original.apply(window, args);
    };
  }
  const suspicious = element => {
    const tag = element.tagName.toLowerCase();
    if (tag === 'img' && element.getAttribute('src') === 'x') return true;
    if ([...element.attributes].some(attribute => /^on/i.test(attribute.name)
                                     && /alert|__pwned/.test(attribute.value))) return true;
    if (tag === 'script' && (element.textContent || '').includes('__pwned')) return true;
    return tag === 'a' && /^\\s*javascript:/i.test(element.getAttribute('href') || '');
  };
  const check = node => {
    if (!(node instanceof Element)) return;
    for (const element of [node, ...node.querySelectorAll('*')]) {
      if (suspicious(element)) window.__inserted.push(element.outerHTML.slice(0, 300));
    }
  };
  new MutationObserver(records => {
    for (const record of records) {
      if (record.type === 'attributes') check(record.target);
      for (const node of record.addedNodes) check(node);
    }
  }).observe(document, {childList: true, subtree: true, attributes: true,
                        attributeFilter: ['src', 'href', 'onerror', 'onload']});
})();
"""

# What HTML or markdown would have made of the hostile texts, in the page as it is now.
RENDERED = """() => {
  const found = [];
  const app = document.querySelector('[data-testid="stApp"]') || document.body;
  const show = (what, element) => found.push(`${what}: ${(element.parentElement || element).outerHTML.slice(0, 300)}`);
  for (const element of app.querySelectorAll('strong, b')) {
    if (element.textContent.trim() === 'bold') show('bold', element);
  }
  for (const element of app.querySelectorAll('a')) {
    const href = element.getAttribute('href') || '';
    if (element.textContent.trim() === 'click' || /javascript:/i.test(href)) show('link', element);
  }
  for (const element of app.querySelectorAll('.katex, math')) show('math', element);
  for (const element of app.querySelectorAll('img[src="x"], [onerror]')) show('img', element);
  for (const element of document.querySelectorAll('script')) {
    if ((element.textContent || '').includes('__pwned')) show('script', element);
  }
  return found;
}"""

# Text a reader can see or a screen reader reads beyond the page's own text: the data grids' cells
# (drawn on a canvas, mirrored in an accessible table), chart labels (SVG) and map tooltips.
SHOWN_TEXT = """() => [
  document.querySelector('[data-testid="stMain"]').innerText,
  ...[...document.querySelectorAll('[data-testid="stDataFrame"] td')].map(cell => cell.textContent),
  ...[...document.querySelectorAll('.js-plotly-plot text')].map(label => label.textContent),
].join('\\n')"""


@pytest.fixture(scope="module")
def hostile_extracts(tmp_path_factory) -> Path:
    return write_hostile_extracts(tmp_path_factory.mktemp("hostile") / "extracts")


@pytest.fixture(scope="module")
def hostile_app(hostile_extracts, tmp_path_factory):
    log = tmp_path_factory.mktemp("hostile-server") / "server.log"
    with served(REPO, {"CITYDASH_EXTRACTS": str(hostile_extracts)}, log) as url:
        yield url


class Visit:
    """One browser page for the module, its traps set before any of the app's scripts run."""

    def __init__(self, browser, base_url: str):
        self.context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.add_init_script(TRAPS)
        self.dialogs: list[str] = []
        self.image_requests: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda request: self.image_requests.append(request.url)
                     if urlparse(request.url).path.rstrip("/").endswith("/x") else None)
        self.watch = ConsoleWatch(base_url).attach(self.page)
        self.base_url = base_url

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, registered) -> None:
        self.watch.errors.clear()
        self.page.goto(f"{self.base_url}/{path_of(registered)}")
        settle(self.page)
        if self.page.locator('[data-testid="stMain"] details:not([open])').count():
            open_expanders(self.page)

    def assert_nothing_ran(self, where: str) -> None:
        page = self.page
        assert self.dialogs == [], f"{where}: a dialog opened: {self.dialogs}"
        assert page.evaluate("() => window.__dialogs") == [], f"{where}: alert/confirm/prompt was called"
        assert page.evaluate("() => window.__pwned") is None, f"{where}: a <script> from data ran"
        inserted = page.evaluate("() => window.__inserted")
        assert inserted == [], f"{where}: data became elements: {inserted}"
        assert self.image_requests == [], f"{where}: an <img src=x> from data was loaded: {self.image_requests}"
        rendered = page.evaluate(RENDERED)
        assert rendered == [], f"{where}: data rendered as HTML or markdown:\n" + "\n".join(rendered)


@pytest.fixture(scope="module")
def visit(browser, hostile_app):
    visiting = Visit(browser, hostile_app)
    yield visiting
    visiting.context.close()


def not_literal(text: str) -> list[str]:
    return [hostile for hostile in HOSTILE_TEXTS if hostile not in text]


def test_every_entity_name_published_is_hostile(hostile_extracts):
    for entities in hostile_extracts.glob("*_entities.parquet"):
        names = pd.read_parquet(entities)["name"]
        assert len(names) and all(hostile in name for name in names for hostile in HOSTILE_TEXTS), entities.name


@pytest.mark.parametrize("registered", PAGES, ids=page_id)
def test_every_page_shows_hostile_names_as_typed_and_runs_nothing(visit, registered):
    visit.open(registered)
    page, where = visit.page, registered.title
    assert page.query_selector('[data-testid="stException"]') is None, main_text(page)[:2000]
    visit.assert_nothing_ran(where)
    if registered.url_path == "borough":
        # The profile opens on its headline figures: its sites are named in its Sites section.
        page.goto(f"{visit.base_url}/borough?section=sites")
        settle(page)
        assert page.query_selector('[data-testid="stException"]') is None, main_text(page)[:2000]
        visit.assert_nothing_ran(f"{where}, Sites")
    if registered.url_path in NAMING_PAGES:
        # A table's cells are drawn by its grid after the script has finished, later on a loaded
        # machine (once, in a fresh-clone run, the Sites table had none of them yet): wait for the
        # names, then check.
        try:
            page.wait_for_function(f"() => {{ const shown = ({SHOWN_TEXT})(); "
                                   f"return {json.dumps(HOSTILE_TEXTS)}.every(text => shown.includes(text)); }}",
                                   timeout=30_000, polling=250)
        except PlaywrightTimeout:
            pass
        assert not_literal(page.evaluate(SHOWN_TEXT)) == [], f"{where}: hostile names not shown as typed"
    if registered.url_path == "borough":
        tooltip_over_a_site_shows_its_name_as_typed(visit)
        sites_download_keeps_the_names_as_typed(visit)
    assert visit.watch.unexpected_errors(registered.url_path) == []


@pytest.mark.parametrize("slug", [section_slug(label) for label in transport.SECTION_LABELS[1:]])
def test_every_transport_section_shows_hostile_names_as_typed_and_runs_nothing(visit, slug):
    """The Transport page draws one section at a time (the test above sees its first): docks and count
    points are named in their own sections, opened here by their links."""
    visit.watch.errors.clear()
    visit.page.goto(f"{visit.base_url}/transport?section={slug}")
    settle(visit.page)
    page, where = visit.page, f"Transport, {slug}"
    assert page.query_selector('[data-testid="stException"]') is None, main_text(page)[:2000]
    visit.assert_nothing_ran(where)
    if slug != section_slug(transport.SECTION_LABELS[-1]):  # the summary names boroughs, not entities
        assert not_literal(page.evaluate(SHOWN_TEXT)) == [], f"{where}: hostile names not shown as typed"
    assert visit.watch.unexpected_errors("transport") == []


@pytest.mark.parametrize("label", sensors_view.SECTION_LABELS[1:])
def test_every_sensors_section_shows_hostile_names_as_typed_and_runs_nothing(visit, label):
    """The Sensors page draws one section at a time (the test above sees its first, the latest
    readings): the attention list names sensors in Sensor health, the picker in Trends."""
    visit.watch.errors.clear()
    visit.page.goto(f"{visit.base_url}/sensors?section={section_slug(label)}")
    settle(visit.page)
    page, where = visit.page, f"Street sensors, {label}"
    assert page.query_selector('[data-testid="stException"]') is None, main_text(page)[:2000]
    visit.assert_nothing_ran(where)
    if label == "Sensor health":
        assert not_literal(page.evaluate(SHOWN_TEXT)) == [], f"{where}: hostile names not shown as typed"
    if label == "Trends":
        picker = page.get_by_role("combobox", name="Sensor")
        assert not_literal(picker.input_value()) == [], picker.input_value()
        options = page.get_by_role("option")
        for _ in range(4):  # a rerun can close the list as it opens
            page.locator('[data-testid="stSelectbox"]').filter(has=picker).get_by_role("button", name="Open").click()
            try:
                options.first.wait_for(timeout=3_000)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
        assert all(not_literal(option) == [] for option in options.all_inner_texts()), options.all_inner_texts()
        page.keyboard.press("Escape")
        visit.assert_nothing_ran(f"{where}, sensor picker")
    assert visit.watch.unexpected_errors("sensors") == []


def site_points(canvas) -> list[tuple[int, int]]:
    """Where the borough map's site circles are: strongly coloured pixels (the areas are pale or
    grey), one per 12-pixel cell, in the canvas's own pixels."""
    image = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for y in range(0, image.height, 2):
        for x in range(0, image.width, 2):
            red, green, blue = image.getpixel((x, y))
            if max(red, green, blue) - min(red, green, blue) > 110:
                found.setdefault((x // 12, y // 12), (x, y))
    return list(found.values())


def tooltip_over_a_site_shows_its_name_as_typed(visit: Visit) -> None:
    """Hover the borough map's site circles until one's deck.gl tooltip shows (the areas have
    tooltips too, so the site's is the one with a hostile name)."""
    page = visit.page
    deck = page.locator('[data-testid="stDeckGlJsonChart"]').first
    deck.scroll_into_view_if_needed()
    canvas = deck.locator("canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(1500)
    box = canvas.bounding_box()
    tooltip = page.locator(".deck-tooltip")
    shown = ""
    for x, y in site_points(canvas)[:40]:
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(60)
        if tooltip.count() and tooltip.first.is_visible():
            shown = tooltip.first.inner_text()
            if "bold" in shown:
                break
    save_artifact("hostile-borough-tooltip.png", deck.screenshot())
    assert "bold" in shown, f"no site's tooltip found on the borough map (last tooltip: {shown!r})"
    assert not_literal(shown) == [], f"tooltip: {shown!r}"
    assert tooltip.first.locator("img, script, a, strong, .katex").count() == 0
    visit.assert_nothing_ran("Borough profile, map tooltip")


def sites_download_keeps_the_names_as_typed(visit: Visit) -> None:
    page = visit.page
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download the sites (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows, "the sites download is empty"
    assert all(not_literal(row["name"]) == [] for row in rows), [row["name"] for row in rows]
    visit.assert_nothing_ran("Borough profile, sites download")
