"""Helpers shared by the every-page, accessibility and kiosk browser tests (not a test module).

The pages under test are read from dashboard.py's st.Page list when the tests are collected, so a
page added there is covered by every check here without touching the tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from citydash.kiosk import RegisteredPage, registered_pages
from citydash.state import SECTION_PARAM, section_slug
from conftest import REPO, _free_port, _wait_until_healthy

AXE_SCRIPT = REPO / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")
PAGES: tuple[RegisteredPage, ...] = registered_pages((REPO / "dashboard.py").read_text(encoding="utf-8"))
FILTERS_IGNORED = re.compile(r"filters do not change this page", re.IGNORECASE)

SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelector('h1') !== null
    && !document.querySelector('[data-testid="stSkeleton"]')
    && !document.querySelector('[data-stale="true"]');
}"""

# Per map: the stretch of the page from the heading (h1/h2) above it to the next one. A map's table
# and its one-sentence summary must be in that stretch; a source note ("... Licence: ...") is not
# a summary.
MAP_SECTIONS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const marks = main.querySelectorAll('h1, h2, [data-testid="stDeckGlJsonChart"], [data-testid="stDataFrame"], '
                                      + '[data-testid="stCaptionContainer"]');
  const sections = [];
  let section = null;
  for (const element of marks) {
    if (element.matches('h1, h2') || section === null) {
      section = {heading: element.matches('h1, h2') ? element.innerText.trim() : '', maps: 0, tables: 0, summaries: []};
      sections.push(section);
      if (element.matches('h1, h2')) continue;
    }
    if (element.matches('[data-testid="stDeckGlJsonChart"]')) section.maps += 1;
    else if (element.matches('[data-testid="stDataFrame"]')) section.tables += 1;
    else {
      const text = element.innerText.trim();
      if (!text.includes('Licence:') && text.split(/\\s+/).length >= 6 && /[.!?]$/.test(text)) section.summaries.push(text);
    }
  }
  return sections.filter(candidate => candidate.maps > 0);
}"""

# Per Plotly chart (issue 6: a PNG of every chart): is it drawn, and does its mode bar offer the PNG
# download? The mode bar's buttons are in the page from the first draw (shown on hover), unless the
# chart's config hides the mode bar or removes the button, or makes the download another format.
PLOTLY_PNG = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).map((chart, index) => {
  const plot = chart.querySelector('.js-plotly-plot');
  const config = (plot && plot._context) || {};
  const title = plot && plot.querySelector('.gtitle');
  return {chart: index + 1, title: title ? title.textContent : '', drawn: plot !== null,
          mode_bar: config.displayModeBar === undefined ? 'hover' : config.displayModeBar,
          removed: (config.modeBarButtonsToRemove || []).filter(name => /toImage/i.test(name)),
          format: (config.toImageButtonOptions || {}).format || 'png',
          button: plot !== null && plot.querySelector('.modebar-btn[data-title*="png" i]') !== null};
})"""
PLOTLY_DRAWN = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
  .every(chart => chart.querySelector('.js-plotly-plot .modebar-container') !== null)"""


def path_of(registered: RegisteredPage) -> str:
    """The page's address below the app's root: the default page is the root itself."""
    return "" if registered.default else registered.url_path


# A page's own sections (ui.sections): the first tab list inside the tabs keyed "<page>_section";
# the charts' Chart/Table tabs are further down, inside the open section.
SECTION_LABELS = """key => {
  const list = document.querySelector(`.st-key-${key} [role="tablist"]`);
  return list ? Array.from(list.querySelectorAll('[role="tab"]')).map(tab => tab.innerText.trim()) : [];
}"""


def sections_after_the_first(page, registered: RegisteredPage) -> list[str]:
    """The link names (`cycle-hire`) of the sections the open page offers after its first, which
    opened with it; none for a page without sections."""
    return [section_slug(label) for label in page.evaluate(SECTION_LABELS, f"{registered.url_path}_section")[1:]]


def each_section(page, base: str, registered: RegisteredPage) -> Iterator[str]:
    """Open the page, then each of its other sections by its link; yields a name for what is open
    (the page's url path, then <path>-<section>), for messages and artefacts."""
    page.goto(f"{base}/{path_of(registered)}")
    settle(page)
    others = sections_after_the_first(page, registered)
    yield registered.url_path
    for slug in others:
        open_section(page, base, registered, slug)
        yield f"{registered.url_path}-{slug}"


def open_section(page, base: str, registered: RegisteredPage, slug: str) -> None:
    """Open one section by its link, as a shared link does, and check that it is the one open."""
    page.goto(f"{base}/{path_of(registered)}?{SECTION_PARAM}={slug}")
    settle(page)
    selected = page.evaluate("""key => Array.from(document.querySelectorAll(
        `.st-key-${key} [role="tablist"]`)[0].querySelectorAll('[role="tab"][aria-selected="true"]'))
        .map(tab => tab.innerText.trim())""", f"{registered.url_path}_section")
    assert [section_slug(label) for label in selected] == [slug], f"{registered.title}: {slug} did not open"


def page_id(registered: RegisteredPage) -> str:
    return registered.url_path


def settle(page, timeout_ms: int = 180_000) -> None:
    """Until the script has finished, every element has loaded and nothing is faded as stale."""
    page.wait_for_function(SETTLED, timeout=timeout_ms, polling=250)
    page.wait_for_timeout(700)
    page.wait_for_function(SETTLED, timeout=timeout_ms, polling=250)


def open_expanders(page) -> None:
    """Open every closed expander in the page, so what they hold is loaded and can be checked."""
    for summary in page.locator('[data-testid="stMain"] details:not([open]) > summary').all():
        summary.click()
    settle(page)


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


@dataclass
class ConsoleWatch:
    """Console errors with where they came from, and every request that left the local server."""

    base_url: str
    errors: list[tuple[str, str]] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def attach(self, page) -> "ConsoleWatch":
        page.on("console", lambda message: self.errors.append((message.text, message.location.get("url", "")))
                if message.type == "error" else None)
        page.on("request", lambda request: self.external.append(request.url)
                if not request.url.startswith((self.base_url, "data:", "blob:")) else None)
        return self

    def unexpected_errors(self, url_path: str) -> list[tuple[str, str]]:
        """Every console error except Streamlit's own probe of a page's folder for its server, which
        answers 404 when a page other than the root is opened directly (streamlit/streamlit#7074,
        open): the probe falls back to the root and the app is unaffected. Only those exact two
        addresses are let through."""
        probes = {f"{self.base_url}/{url_path}/_stcore/health", f"{self.base_url}/{url_path}/_stcore/host-config"}
        return [(text, url) for text, url in self.errors
                if not (url_path and url in probes and "404" in text)]


def run_axe(page) -> dict:
    page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: "
                         "['violations', 'incomplete']})", AXE_TAGS)


def blocking(results: dict) -> list[dict]:
    return [violation for violation in results["violations"] if violation["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"[{violation['impact']}] {violation['id']}: {violation['help']} -> "
                     + "; ".join(f"{node['target']} {node['html'][:120]}" for node in violation["nodes"][:5])
                     for violation in violations)


def summary_of(results: dict) -> dict:
    """What the saved report leads with: violations counted by impact, then the full results."""
    counts: dict[str, int] = {}
    for violation in results["violations"]:
        counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
    return {"violations_by_impact": counts, "rules_violated": sorted(v["id"] for v in results["violations"]),
            "url": results.get("url"), "axe_version": results.get("testEngine", {}).get("version"), **results}


def axe_report(results: dict) -> bytes:
    return json.dumps(summary_of(results), indent=2, ensure_ascii=False).encode("utf-8")


@contextmanager
def served(app_dir: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run dashboard.py` from `app_dir` on a free local port with extra environment; the
    URL while it runs. For apps the session-wide `served_app` cannot be (kiosk for every visitor)."""
    port = _free_port()
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=app_dir, env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def reveal(page, element) -> None:
    """Make an element visible: if it sits in a tab that is not selected, select that tab."""
    if element.is_visible():
        return
    tabs = element.locator("xpath=ancestor::*[@data-testid='stTabs'][1]//*[@role='tab']")
    for tab in tabs.all():
        tab.click()
        page.wait_for_timeout(300)
        if element.is_visible():
            settle(page)
            return


# Streamlit scrolls inside its own panel ([data-testid="stMain"], or stAppViewContainer around it),
# not the document, so Playwright's full_page screenshot stops at the window's height. The height the
# page needs is the tallest scroll height among the document and those panels, and the sidebar's when
# it is open (collapsed at phone width, its squeezed content is thousands of pixels tall, unseen).
PAGE_HEIGHT = """() => Math.max(document.documentElement.scrollHeight,
  ...['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]', '[data-testid="stAppScrollToBottomContainer"]',
      '[data-testid="stSidebar"][aria-expanded="true"] [data-testid="stSidebarContent"]']
     .map(selector => document.querySelector(selector))
     .filter(element => element !== null).map(element => element.scrollHeight))"""
MAX_SCREENSHOT_PX = 16_000  # Chromium cannot capture much more than 16,384 px in one image


def whole_page_screenshot(page) -> bytes:
    """A PNG of the whole page, however long: the window is made as tall as the page's content
    (until that height stops changing, as charts re-lay themselves out), captured, then restored."""
    viewport = page.viewport_size
    height = viewport["height"]
    try:
        for _ in range(4):
            needed = min(MAX_SCREENSHOT_PX, max(viewport["height"], page.evaluate(PAGE_HEIGHT)))
            if needed == height:
                break
            height = needed
            page.set_viewport_size({"width": viewport["width"], "height": height})
            page.wait_for_timeout(800)
        page.evaluate("""() => ['stMain', 'stAppViewContainer'].forEach(id => {
            const element = document.querySelector(`[data-testid="${id}"]`);
            if (element) element.scrollTop = 0; })""")
        page.wait_for_timeout(300)
        return page.screenshot(full_page=True)
    finally:
        page.set_viewport_size(viewport)
