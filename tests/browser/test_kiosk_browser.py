"""Kiosk (demo) mode in a real browser: the city pack's own tour plays by itself in large type with
no sidebar, pauses and resumes from the keyboard, works with every request off the local server
blocked, and skips a view that raises without ever showing a traceback."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from app_pages import ConsoleWatch, axe_report, blocking, describe, run_axe, served, settle
from citydash import kiosk
from conftest import PACK, REPO, distinct_colours, save_artifact
from test_kiosk import copy_of_app_with_a_broken_page

PACE_S = 6
VIEWPORT = {"width": 1280, "height": 1000}
PROGRESS = ".cd-kiosk-progress"
CAPTION = ".cd-kiosk-caption"
LONDON_TOUR = kiosk.load_tour(PACK / "tour.toml")


def faster(tour_text: str, seconds: int) -> str:
    return re.sub(r"(?m)^seconds_per_view\s*=.*$", f"seconds_per_view = {seconds}", tour_text)


@pytest.fixture(scope="module")
def kiosk_app(demo_extracts, tmp_path_factory):
    """The real app with CITYDASH_KIOSK=1 (as `make demo` runs it) and the London tour at a test's pace."""
    folder = tmp_path_factory.mktemp("kiosk")
    tour = folder / "tour.toml"
    tour.write_text(faster((PACK / "tour.toml").read_text(encoding="utf-8"), PACE_S), encoding="utf-8")
    env = {"CITYDASH_EXTRACTS": str(demo_extracts), kiosk.KIOSK_ENV: "1", kiosk.TOUR_ENV: str(tour)}
    with served(REPO, env, folder / "server.log") as url:
        yield url


@pytest.fixture
def screen(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()


def progress(page) -> str:
    texts = page.locator(PROGRESS).all_inner_texts()
    return texts[0] if texts else ""


def wait_for_view(page, number: int, state: str = "playing", timeout_ms: int = 180_000) -> None:
    page.wait_for_function(f"() => (document.querySelector('{PROGRESS}') || {{}}).innerText"
                           f" === 'View {number} of {len(LONDON_TOUR.views)}, {state}'", timeout=timeout_ms, polling=200)


# Every state the screen passes through, as it happens: the tour bar's text (a DOM mutation) and the
# address (a same-page navigation: Streamlit's pushState and replaceState), each with its time.
# Recorded in the page rather than sampled from the test, so no state is missed or read half-way.
TIMELINE = f"""(() => {{
  const states = window.kioskTimeline = [];
  const record = () => {{
    const progress = document.querySelector('{PROGRESS}'), caption = document.querySelector('{CAPTION}');
    if (!progress || !caption) return;
    const state = {{progress: progress.textContent, caption: caption.textContent, path: location.pathname,
                   search: location.search}};
    const last = states[states.length - 1];
    if (!last || Object.keys(state).some(key => last[key] !== state[key])) states.push({{...state, ms: performance.now()}});
  }};
  new MutationObserver(record).observe(document, {{subtree: true, childList: true, characterData: true}});
  navigation.addEventListener('currententrychange', record);
}})();"""
ADDRESS_CATCHES_UP_MS = 5_000


def view_paths(number: int) -> list[str]:
    page = LONDON_TOUR.views[number - 1].page
    return [f"/{page}", *(["/"] if page == "overview" else [])]


def shown_number(state: dict) -> int:
    return int(re.match(r"View (\d+) of", state["progress"]).group(1))


def views_in_turn(timeline: list[dict]) -> list[int]:
    numbers = [shown_number(state) for state in timeline]
    return [number for index, number in enumerate(numbers) if index == 0 or numbers[index - 1] != number]


def agrees(state: dict) -> bool:
    """The address names the view on screen: its page, and ?view= its index."""
    number = shown_number(state)
    return (state["path"] in view_paths(number)
            and re.search(rf"[?&]view={number - 1}(&|$)", state["search"]) is not None)


def out_of_step(timeline: list[dict], now_ms: float) -> list[tuple[float, dict]]:
    """Each stretch in which the address and the view on screen disagreed, as (how long, its first state).
    Every switch makes one: st.switch_page sets the next view's query string, the next page's run sets
    its path (st.navigation), and only then does that run redraw the tour bar, so the address names the
    next view 0.1-0.4 s before the screen does. A check that read the screen and the address together
    every 200 ms, and then waited for the address to name the view on screen, read that moment now and
    then and waited for the page the tour had just left."""
    stretches, start = [], None
    for state in timeline:
        if agrees(state):
            if start is not None:
                stretches.append((state["ms"] - start["ms"], start))
            start = None
        elif start is None:
            start = state
    if start is not None:
        stretches.append((now_ms - start["ms"], start))
    return stretches


def test_the_tour_plays_by_itself_in_large_type_with_no_sidebar(screen, kiosk_app):
    page = screen.new_page()
    page.add_init_script(TIMELINE)
    watch = ConsoleWatch(kiosk_app).attach(page)
    page.goto(kiosk_app)
    wait_for_view(page, 1)
    assert page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)") >= 20
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('[data-testid="stHeader"]').is_visible()
    deadline = time.monotonic() + 300
    third_at = None
    while time.monotonic() < deadline:
        timeline, now_ms = page.evaluate("() => [window.kioskTimeline.slice(), performance.now()]")
        shown = views_in_turn(timeline)
        assert page.query_selector('[data-testid="stException"]') is None
        if len(shown) >= 3:
            # Stop once the third view's address has caught up with it, or has had its time to.
            third_at = third_at or time.monotonic()
            if any(agrees(state) for state in timeline if shown_number(state) == shown[2]) \
                    or time.monotonic() - third_at > ADDRESS_CATCHES_UP_MS / 1000:
                break
        page.wait_for_timeout(200)
    assert shown[:3] == [1, 2, 3], f"the tour did not move on by itself, in order: {shown}"
    fourth = [index for index, state in enumerate(timeline) if shown_number(state) not in shown[:3]]
    if fourth:
        timeline, now_ms = timeline[:fourth[0]], timeline[fourth[0]]["ms"]
    for state in timeline:
        assert state["caption"] == LONDON_TOUR.views[shown_number(state) - 1].caption, state
    for number in shown[:3]:
        assert any(agrees(state) for state in timeline if shown_number(state) == number), \
            f"the address bar never named view {number}: {[state for state in timeline if shown_number(state) == number]}"
    for lasted_ms, state in out_of_step(timeline, now_ms):
        assert lasted_ms < ADDRESS_CATCHES_UP_MS, \
            f"the address and the view on screen disagreed for {lasted_ms:.0f} ms from: {state}"
    save_artifact("kiosk-1280.png", page.screenshot())
    assert watch.unexpected_errors("") == []
    assert watch.external == []


def test_the_pause_button_stops_and_restarts_the_tour_from_the_keyboard(screen, kiosk_app):
    page = screen.new_page()
    page.goto(kiosk_app)
    wait_for_view(page, 1)
    pause = page.get_by_role("button", name="Pause the tour")
    # The label is read from across a room: shown whole (wrapped if need be), never cut to "Pause the…".
    label_is_whole = "button => { const label = button.querySelector('[data-testid=\"stMarkdownContainer\"]'); " \
                     "return label.innerText.trim() + '|' + (label.scrollWidth <= label.clientWidth + 1); }"
    pause.wait_for(timeout=60_000)
    assert pause.evaluate(label_is_whole) == "Pause the tour|true"
    # A press that lands just as the tour switches page belongs to the page being left and can be
    # lost; a presenter would press again on the new view, and so does this (at most three times).
    for _ in range(3):
        page.wait_for_function(f"() => /, playing$/.test((document.querySelector('{PROGRESS}') || {{}}).innerText || '')",
                               timeout=180_000, polling=200)
        for _ in range(20):
            page.keyboard.press("Tab")
            if pause.evaluate("button => button === document.activeElement"):
                break
        assert pause.evaluate("button => button === document.activeElement"), "Tab never reached the pause button"
        page.keyboard.press("Enter")
        try:
            page.wait_for_function(f"() => /, paused$/.test((document.querySelector('{PROGRESS}') || {{}}).innerText || '')",
                                   timeout=20_000, polling=200)
            break
        except PlaywrightTimeout:
            continue
    paused = progress(page)
    assert paused.endswith(", paused"), f"the tour did not pause: {paused!r}"
    number = int(re.match(r"View (\d+) of", paused).group(1))
    assert page.get_by_role("button", name="Resume the tour").is_visible()
    page.wait_for_timeout(2 * PACE_S * 1000)
    assert progress(page) == paused, "a paused tour moved on"
    resume = page.get_by_role("button", name="Resume the tour")
    assert resume.evaluate(label_is_whole) == "Resume the tour|true"
    resume.focus()
    page.keyboard.press("Space")
    wait_for_view(page, number % len(LONDON_TOUR.views) + 1)


@pytest.fixture(scope="module")
def slow_kiosk_app(demo_extracts, tmp_path_factory):
    """Kiosk mode with a pace slower than any check, so each view can be examined where it stands."""
    folder = tmp_path_factory.mktemp("kiosk-slow")
    tour = folder / "tour.toml"
    tour.write_text(faster((PACK / "tour.toml").read_text(encoding="utf-8"), 600), encoding="utf-8")
    env = {"CITYDASH_EXTRACTS": str(demo_extracts), kiosk.KIOSK_ENV: "1", kiosk.TOUR_ENV: str(tour)}
    with served(REPO, env, folder / "server.log") as url:
        yield url


def maps_drawn(page, timeout_s: float = 60) -> list[int]:
    """Distinct colours of each map canvas once every one has drawn (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        canvases = page.locator('[data-testid="stDeckGlJsonChart"] canvas').all()
        counts = []
        for canvas in canvases:
            canvas.scroll_into_view_if_needed()
            counts.append(distinct_colours(canvas.screenshot()))
        if all(count > 5 for count in counts) or time.monotonic() > deadline:
            return counts
        page.wait_for_timeout(1000)


def test_every_view_of_the_tour_works_with_no_network_at_all(screen, slow_kiosk_app):
    """Every request that is not to the local server is refused, as at a venue with no internet:
    nothing may even be attempted, and every view must draw (its map too) without an exception.
    Each view is opened by its own link (as a screen that reloads would), so no view is missed."""
    attempted: list[str] = []

    def local_only(route):
        if route.request.url.startswith((slow_kiosk_app, "data:", "blob:")):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    screen.route("**/*", local_only)
    page = screen.new_page()
    watch = ConsoleWatch(slow_kiosk_app).attach(page)
    for number, view in enumerate(LONDON_TOUR.views, start=1):
        page.goto(f"{slow_kiosk_app}/?mode=kiosk&view={number - 1}")
        wait_for_view(page, number)
        page.wait_for_function("""() => document.querySelector('h1') !== null
                                  && !document.querySelector('[data-testid="stSkeleton"]')""", timeout=120_000)
        assert page.locator(CAPTION).inner_text() == view.caption
        assert page.locator("h1").count() == 1, f"view {number}"
        colours = maps_drawn(page)
        assert all(count > 5 for count in colours), f"view {number}: a map is blank offline ({colours})"
        assert page.query_selector('[data-testid="stException"]') is None, f"view {number}"
        save_artifact(f"kiosk-offline-view-{number}.png", page.screenshot())
        if number == 1:
            results = run_axe(page)
            save_artifact("axe-kiosk.json", axe_report(results))
            assert blocking(results) == [], describe(blocking(results))
    assert attempted == [], "requests off the local server were attempted"
    assert watch.unexpected_errors("") == []


def test_a_link_with_mode_kiosk_starts_the_tour_for_that_visitor(screen, served_app):
    page = screen.new_page()
    page.goto(f"{served_app}/?mode=kiosk")
    page.wait_for_selector(CAPTION, timeout=180_000)
    settle(page)
    assert page.locator(CAPTION).inner_text() == LONDON_TOUR.views[0].caption
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert "view=0" in page.url


def test_a_view_that_raises_is_skipped_and_no_traceback_is_ever_shown(screen, demo_extracts, tmp_path):
    app_dir = copy_of_app_with_a_broken_page(tmp_path / "app", "transport.py")
    tour = tmp_path / "tour.toml"
    tour.write_text("""
seconds_per_view = 5
[[views]]
page = "overview"
caption = "First: the overview."
[[views]]
page = "transport"
caption = "Second: a page with a bug."
[[views]]
page = "environment"
caption = "Third: air quality."
""", encoding="utf-8")
    env = {"CITYDASH_EXTRACTS": str(demo_extracts), "CITYDASH_PACK": str(PACK), kiosk.KIOSK_ENV: "1",
           kiosk.TOUR_ENV: str(tour)}
    log = tmp_path / "server.log"
    with served(app_dir, env, log) as url:
        page = screen.new_page()
        page.goto(url)
        observed: list[dict] = []
        tracebacks = 0
        deadline = time.monotonic() + 240
        def third_drawn() -> bool:
            return any(seen["caption"] == "Third: air quality." and seen["h1"].startswith("Air quality in")
                       for seen in observed)

        while not third_drawn() and time.monotonic() < deadline:
            seen = page.evaluate(f"""() => {{
                const visibleText = (element) => element && element.checkVisibility({{visibilityProperty: true}})
                    ? element.innerText : '';
                return {{caption: (document.querySelector('{CAPTION}') || {{}}).innerText,
                h1: visibleText(document.querySelector('h1')), url: location.href,
                tracebacks: document.querySelectorAll('[data-testid="stException"]').length}};
            }}""")
            tracebacks += seen["tracebacks"]
            if seen["caption"] and (not observed or observed[-1]["caption"] != seen["caption"]
                                    or observed[-1]["h1"] != seen["h1"]):
                observed.append(seen)
            page.wait_for_timeout(200)
        captions = [seen["caption"] for seen in observed]
        assert captions[0] == "First: the overview."
        assert "Third: air quality." in captions, captions
        assert tracebacks == 0
        assert third_drawn(), observed
        third = [seen for seen in observed if seen["caption"] == "Third: air quality."]
        assert "/environment?" in third[-1]["url"] and "view=2" in third[-1]["url"]
        assert not any(seen["h1"] == "This page has a bug" for seen in observed), "the failed view was left on screen"
    assert "Kiosk view 2 (transport) failed" in log.read_text()
