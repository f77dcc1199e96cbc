"""The Sensors page in a real browser: the live tiles and map refresh by themselves, the map keeps
the reader's pan and zoom through refreshes, and footfall downloads never hold a small count.
The page shows one section at a time (tabs): only the open one is drawn, it is in the link, and
the feed refreshes only while its section is open."""

from __future__ import annotations

import csv
import io
import re
import time

from PIL import Image, ImageChops

from citydash.sensors_view import SECTION_LABELS
from citydash.state import section_slug
from conftest import distinct_colours, save_artifact, wait_for_app

MAP = '[data-testid="stDeckGlJsonChart"]'
FEED_TILE = '[data-testid="stMetric"]'
SECTION_TABS = ".st-key-sensors_section"


def open_sensors(watch, served_app) -> None:
    """Through the navigation, as a reader would (a deep link makes Streamlit probe paths that 404)."""
    watch.page.goto(served_app)
    wait_for_app(watch.page)
    watch.page.get_by_role("link", name="Street sensors").click()
    watch.page.wait_for_selector("h1:has-text('Street sensors')", timeout=60_000)
    watch.page.wait_for_selector(f"{MAP} canvas", timeout=60_000)
    watch.page.wait_for_timeout(1500)


def open_section(page, label: str) -> None:
    """Click a section's tab, as a reader does, and wait until it has drawn."""
    page.locator(SECTION_TABS).get_by_role("tab", name=label, exact=True).click()
    page.wait_for_selector(f"[data-testid='stMain'] h2:has-text('{label}')", timeout=60_000)
    wait_for_app(page)


def visible_h2(page) -> list[str]:
    return page.eval_on_selector_all('[data-testid="stMain"] h2',
                                     "headings => headings.filter(heading => heading.offsetParent !== null)"
                                     ".map(heading => heading.innerText.trim())")


def tile_texts(page) -> list[str]:
    return page.eval_on_selector_all(FEED_TILE, "tiles => tiles.slice(0, 4).map(tile => tile.innerText)")


def mean_difference(first: bytes, second: bytes) -> float:
    one, two = (Image.open(io.BytesIO(png)).convert("L") for png in (first, second))
    histogram = ImageChops.difference(one, two).histogram()
    return sum(level * count for level, count in enumerate(histogram)) / (one.size[0] * one.size[1])


def test_live_tiles_change_while_the_map_keeps_its_pan_and_zoom(page, served_app):
    open_sensors(page, served_app)
    body = page.page.inner_text("body")
    assert "Replay, not live." in body and "simulated hour per second" in body
    assert page.page.query_selector('[data-testid="stException"]') is None
    chart = page.page.locator(MAP)
    initial = chart.screenshot()
    save_artifact("sensors-map.png", initial)
    assert distinct_colours(initial) > 5, "the map canvas is blank"
    page.page.evaluate(f"() => {{ window.sensorsCanvas = document.querySelector('{MAP} canvas'); }}")

    box = chart.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.page.mouse.move(x, y)
    page.page.mouse.down()
    page.page.mouse.move(x + 140, y + 80, steps=12)
    page.page.mouse.up()
    page.page.mouse.wheel(0, -300)
    page.page.wait_for_timeout(1000)
    panned = chart.screenshot()
    assert mean_difference(initial, panned) > 3, "the drag and zoom moved the map"

    before = tile_texts(page.page)
    page.page.wait_for_function(
        "(before) => { const now = [...document.querySelectorAll('[data-testid=\"stMetric\"]')].slice(0, 4)"
        ".map(tile => tile.innerText); return now.join('|') !== before.join('|'); }",
        arg=before, timeout=30_000)
    page.page.wait_for_timeout(2500)  # at least one more refresh
    after = tile_texts(page.page)
    assert after != before, "the live tiles refresh by themselves"
    assert re.search(r"\d\d:\d\d", after[3])
    refreshed = chart.screenshot()
    save_artifact("sensors-map-panned-after-refresh.png", refreshed)
    assert page.page.evaluate(
        f"() => window.sensorsCanvas.isConnected && window.sensorsCanvas === document.querySelector('{MAP} canvas')"), \
        "the map was updated in place, not drawn again"
    # The refreshed map is the panned view with new dot colours, not the initial view.
    assert mean_difference(panned, refreshed) * 3 < mean_difference(initial, refreshed)
    save_artifact("sensors-1280.png", page.page.screenshot(full_page=True))
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert page.console_errors == []
    assert page.external_requests == []


def choose_footfall(page) -> None:
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    picker.click()
    page.get_by_role("option", name=re.compile(r"^Footfall")).click()
    page.wait_for_function("() => document.body.innerText.includes('Footfall (people) from') "
                           "&& document.body.innerText.includes('Total now')", timeout=60_000)
    wait_for_app(page)


def test_a_metric_change_updates_the_page_and_footfall_downloads_hide_small_counts(page, served_app):
    open_sensors(page, served_app)
    assert "Noise level (dB(A)) from" in page.page.inner_text("body")
    choose_footfall(page.page)
    page.page.wait_for_timeout(1500)
    with page.page.expect_download(timeout=30_000) as download_info:
        page.page.get_by_role("button", name="Download the latest readings, as in the table (CSV)").click()
    content = download_info.value.path().read_bytes()
    save_artifact("sensors-footfall-latest.csv", content)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert rows and "Reading (people)" in rows[0]
    readings = [row["Reading (people)"] for row in rows]
    for reading in readings:
        assert reading in ("", "<10", "0") or float(reading.replace(",", "")) >= 10, reading
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert page.console_errors == []
    assert page.external_requests == []


def download(page, button: str) -> bytes:
    with page.expect_download(timeout=30_000) as download_info:
        page.get_by_role("button", name=button).click()
    return download_info.value.path().read_bytes()


def test_the_daily_footfall_download_holds_no_count_under_ten(page, served_app):
    open_sensors(page, served_app)
    choose_footfall(page.page)
    open_section(page.page, "Trends")
    page.page.wait_for_timeout(1500)
    content = download(page.page, "Download the daily figures (CSV)")
    save_artifact("sensors-footfall-daily-by-borough.csv", content)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert rows and "Footfall (people)" in rows[0] and "Note" in rows[0]
    for row in rows:
        shown = row["Footfall (people)"]
        if shown == "<10":
            assert row["Note"] == "under 10: not shown"
        elif shown == "suppressed":
            assert "total" in row["Note"], row
        else:
            assert float(shown.replace(",", "")) == 0 or float(shown.replace(",", "")) >= 10, row
    profile = download(page.page, "Download the daily profile (CSV)")
    for row in csv.DictReader(io.StringIO(profile.decode("utf-8"))):
        shown = row["Average reading (people)"]
        assert shown in ("<10", "suppressed", "no data") or float(shown.replace(",", "")) == 0 \
            or float(shown.replace(",", "")) >= 10, row
    assert page.page.query_selector('[data-testid="stException"]') is None
    assert page.console_errors == []


def test_one_section_at_a_time_in_the_link_and_the_feed_refreshes_only_while_open(page, served_app):
    # Every message the browser sends the server: the feed's refreshes are among them.
    sent: list[float] = []
    page.page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(time.monotonic())))
    open_sensors(page, served_app)
    assert visible_h2(page.page) == ["Latest readings"]
    assert "section=" not in page.page.url, "the first section leaves the link clean"
    before = len(sent)
    page.page.wait_for_timeout(6500)
    assert len(sent) - before >= 2, "the replay refreshes the feed every 2 s while its section is open"
    for label in SECTION_LABELS[1:]:
        open_section(page.page, label)
        assert visible_h2(page.page) == [label], "a closed section draws nothing"
        assert f"section={section_slug(label)}" in page.page.url
        assert page.page.query_selector(MAP) is None and "Replay, not live." not in page.page.inner_text("body")
        assert page.page.query_selector('[data-testid="stException"]') is None
        if label == SECTION_LABELS[1]:
            # Every other section closes the feed the same way (its fragment is not started): one wait.
            before = len(sent)
            page.page.wait_for_timeout(5000)
            assert len(sent) == before, f"{label}: the closed feed still asks the server for refreshes"
        save_artifact(f"sensors-section-{section_slug(label)}.png", page.page.screenshot(full_page=True))
    open_section(page.page, "Latest readings")
    page.page.wait_for_selector(f"{MAP} canvas", timeout=60_000)
    assert "section=" not in page.page.url
    before = len(sent)
    page.page.wait_for_timeout(6500)
    assert len(sent) - before >= 2, "the feed refreshes again once its section is open again"
    assert page.console_errors == []
    assert page.external_requests == []


def test_a_link_with_a_section_opens_it(page, served_app):
    open_sensors(page, served_app)
    page.page.goto(f"{page.page.url.split('?')[0]}?section=thresholds")
    page.page.wait_for_selector("[data-testid='stMain'] h2:has-text('Thresholds')", timeout=60_000)
    wait_for_app(page.page)
    assert visible_h2(page.page) == ["Thresholds"]
    selected = page.page.locator(SECTION_TABS).get_by_role("tab", selected=True).all_inner_texts()
    assert [text.strip() for text in selected] == ["Thresholds"]
    assert page.page.query_selector('[data-testid="stException"]') is None
