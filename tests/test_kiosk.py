"""Kiosk (demo) mode: the tour file, the state machine, the city pack's own tour, and the frame in
kiosk mode under AppTest (a view that raises is skipped, never shown as a traceback)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from citydash import kiosk
from citydash.catalog import load_catalog
from citydash.geo import areas_geojson
from citydash.kiosk import Tour, TourError, View
from conftest import PACK, REPO

FIXTURES = REPO / "tests" / "fixtures" / "kiosk"
ENTRY = REPO / "tests" / "apptest" / "entry.py"

TWO_VIEWS = """
seconds_per_view = 12

[[views]]
page = "overview"
metric = "air_quality.pm25"
boroughs = ["E09000007"]
days = 14
caption = "Fine particles in Camden."

[[views]]
page = "environment"
caption = "Every monitoring site."
"""


def tour_of(*pages: str, seconds: float = 10) -> Tour:
    return Tour(views=tuple(View(page=page, caption=f"Caption {page}") for page in pages), seconds_per_view=seconds)


# ---------------------------------------------------------------------------------
# The tour file


def test_a_tour_file_gives_its_views_in_order_with_their_settings():
    tour = kiosk.parse_tour(TWO_VIEWS, "tour.toml")
    assert tour.seconds_per_view == 12
    assert tour.views[0] == View(page="overview", caption="Fine particles in Camden.", metric="air_quality.pm25",
                                 boroughs=("E09000007",), days=14)
    assert tour.views[1] == View(page="environment", caption="Every monitoring site.")


@pytest.mark.parametrize("text, problem", [
    ("[[views]]\npage = 'overview'\n", "view 1: missing 'caption'"),
    ("[[views]]\ncaption = 'x'\n", "view 1: missing 'page'"),
    ("seconds_per_view = 1\n[[views]]\npage = 'a'\ncaption = 'b'\n", "seconds_per_view must be a number of at least 3"),
    ("seconds_per_view = 'fast'\n[[views]]\npage = 'a'\ncaption = 'b'\n", "seconds_per_view"),
    ("[[views]]\npage = 'a'\ncaption = 'b'\ndays = 0\n", "view 1: 'days' must be a positive whole number"),
    ("[[views]]\npage = 'a'\ncaption = 'b'\nmetric = 'no2'\n", "view 1: 'metric' must be \"<dataset>.<metric>\""),
    ("[[views]]\npage = 'a'\ncaption = 'b'\nboroughs = 'E09000007'\n", "view 1: 'boroughs' must be a list"),
    ("[[views]]\npage = 'a'\ncaption = 'b'\nsection = 'Cycle hire'\n", "view 1: 'section' must be a section's name"),
    ("[[views]]\npage = 'a'\ncaption = 'b'\nsection = 2\n", "view 1: 'section' must be a section's name"),
    ("[[views]]\npage = 'a'\ncaption = 'b'\n[[views]]\npage = 'c'\ncaption = '" + "x" * 301 + "'\n",
     "view 2: the caption is 301 characters"),
    ("seconds_per_view = 10\n", "the tour has no [[views]]"),
    ("[[views]\npage = 'a'", "not valid TOML"),
])
def test_a_bad_tour_file_is_refused_naming_the_file_the_view_and_the_problem(text, problem):
    with pytest.raises(TourError) as error:
        kiosk.parse_tour(text, "packs/x/tour.toml")
    assert str(error.value).startswith("packs/x/tour.toml")
    assert problem in str(error.value)


def test_a_missing_tour_file_is_a_tour_error_naming_it(tmp_path):
    with pytest.raises(TourError, match="nowhere.toml: cannot read the tour"):
        kiosk.load_tour(tmp_path / "nowhere.toml")


def test_the_tour_is_the_packs_unless_the_environment_names_another(tmp_path):
    assert kiosk.tour_path(tmp_path, None) == tmp_path / "tour.toml"
    assert kiosk.tour_path(tmp_path, "/srv/event.toml") == Path("/srv/event.toml")


def test_views_the_app_cannot_show_are_dropped_with_a_reason_each():
    tour = Tour(views=(
        View(page="overview", caption="kept", metric="air_quality.no2", boroughs=("E09000007",)),
        View(page="nowhere", caption="no such page"),
        View(page="overview", caption="no such metric", metric="air_quality.radon"),
        View(page="overview", caption="no such borough", boroughs=("E09000007", "X99")),
        View(page="environment", caption="kept too"),
    ), seconds_per_view=8)
    usable, problems = kiosk.usable_views(tour, {"overview", "environment"}, {"air_quality.no2"}, {"E09000007"})
    assert [view.caption for view in usable.views] == ["kept", "kept too"]
    assert usable.seconds_per_view == 8
    assert problems == (
        "View 2 names page 'nowhere', which is not in the app.",
        "View 3 names metric 'air_quality.radon', which has no published data.",
        "View 4 names unknown area code(s): X99.",
    )


def test_the_london_tour_names_only_pages_metrics_and_boroughs_that_exist():
    tour = kiosk.load_tour(PACK / "tour.toml")
    catalog = load_catalog(PACK)
    pages = {page.url_path for page in kiosk.registered_pages((REPO / "dashboard.py").read_text(encoding="utf-8"))}
    metric_keys = {f"{metric.dataset}.{metric.id}" for metric in catalog.metrics("officer")}
    codes = {feature["properties"]["code"] for feature in areas_geojson(catalog.city.boundaries)["features"]}
    usable, problems = kiosk.usable_views(tour, pages, metric_keys, codes)
    assert problems == ()
    assert len(usable.views) == len(tour.views) >= 3
    assert len({view.page for view in tour.views}) >= 3, "a tour should show more than one or two pages"


def test_the_pages_registered_by_the_frame_are_read_from_its_source():
    source = '''
import streamlit as st
pages = [
    st.Page(PAGES_DIR / "overview.py", title="Overview", url_path="overview", default=True),
    st.Page(PAGES_DIR / "air.py", title="Air"),
    st.Page("plain.py", title="Plain", url_path="plain"),
]
other = st.Page(some_function)
'''
    assert kiosk.registered_pages(source) == (
        kiosk.RegisteredPage(script="overview.py", title="Overview", url_path="overview", default=True),
        kiosk.RegisteredPage(script="air.py", title="Air", url_path="air"),
        kiosk.RegisteredPage(script="plain.py", title="Plain", url_path="plain"),
    )


def test_every_page_registered_in_the_frame_exists():
    for page in kiosk.registered_pages((REPO / "dashboard.py").read_text(encoding="utf-8")):
        assert (REPO / "pages" / page.script).is_file(), page


# ---------------------------------------------------------------------------------
# Turning kiosk mode on, and the link


@pytest.mark.parametrize("env_value, mode, expected", [
    ("1", None, True), ("true", None, True), ("YES", None, True), (None, "kiosk", True),
    (None, None, False), ("0", None, False), ("", "", False), (None, "Kiosk", False), ("0", "kiosk", True),
])
def test_kiosk_mode_is_on_for_the_server_or_for_one_link(env_value, mode, expected):
    assert kiosk.requested(env_value, mode) is expected


@pytest.mark.parametrize("text, expected", [("2", 2), (" 1 ", 1), ("3", 0), ("-1", 0), ("x", 0), (None, 0), ("", 0)])
def test_a_link_chooses_a_view_and_anything_else_starts_at_the_first(text, expected):
    assert kiosk.index_from_param(text, 3) == expected


def test_the_link_of_a_view_says_kiosk_which_view_and_which_section():
    assert kiosk.link_params(4) == {"mode": "kiosk", "view": "4", "section": ""}
    assert kiosk.link_params(4, "cycle-hire") == {"mode": "kiosk", "view": "4", "section": "cycle-hire"}


def test_a_view_may_name_a_section_of_its_page_as_its_links_do():
    tour = kiosk.parse_tour("[[views]]\npage = 'transport'\nsection = 'cycle-hire'\ncaption = 'Docks.'\n", "t")
    assert tour.views[0].section == "cycle-hire"
    assert kiosk.parse_tour(TWO_VIEWS, "t").views[1].section == ""


# ---------------------------------------------------------------------------------
# The state machine


def test_a_view_stays_until_its_time_is_up_then_the_next_one_comes():
    tour = tour_of("a", "b", "c", seconds=10)
    state = kiosk.start(now=100.0)
    assert kiosk.tick(state, tour, 109.9) == state
    moved = kiosk.tick(state, tour, 110.0)
    assert (moved.index, moved.shown_at) == (1, 110.0)


def test_after_the_last_view_the_tour_starts_again():
    tour = tour_of("a", "b", seconds=5)
    state = kiosk.start(now=0.0, index=1)
    assert kiosk.tick(state, tour, 5.0).index == 0


def test_a_paused_tour_stays_on_its_view_and_resumes_with_a_fresh_turn():
    tour = tour_of("a", "b", seconds=10)
    paused = kiosk.toggle_pause(kiosk.start(now=0.0), now=4.0)
    assert paused.paused
    assert kiosk.tick(paused, tour, 1000.0) == paused
    resumed = kiosk.toggle_pause(paused, now=1000.0)
    assert not resumed.paused and resumed.index == 0 and resumed.shown_at == 1000.0
    assert kiosk.tick(resumed, tour, 1009.0).index == 0
    assert kiosk.tick(resumed, tour, 1010.0).index == 1


def test_the_progress_says_which_view_and_whether_it_plays():
    tour = tour_of("a", "b", "c")
    assert kiosk.progress_text(kiosk.start(0.0, index=1), tour) == "View 2 of 3, playing"
    assert kiosk.progress_text(kiosk.toggle_pause(kiosk.start(0.0), 1.0), tour) == "View 1 of 3, paused"


def test_a_failed_view_is_skipped_at_once_and_counted():
    tour = tour_of("a", "b", "c", seconds=10)
    failed = kiosk.view_failed(kiosk.start(now=0.0), tour, now=1.0)
    assert (failed.index, failed.failures, failed.shown_at) == (1, 1, 1.0)
    assert not kiosk.everything_failing(failed, tour)
    shown = kiosk.view_shown(failed, now=3.0)
    assert (shown.index, shown.failures, shown.shown_at) == (1, 0, 3.0)


def test_when_every_view_fails_the_tour_rests_then_tries_again_without_skipping():
    tour = tour_of("a", "b", seconds=10)
    state = kiosk.start(now=0.0)
    state = kiosk.view_failed(state, tour, now=1.0)
    state = kiosk.view_failed(state, tour, now=2.0)
    assert kiosk.everything_failing(state, tour)
    assert state.index == 0
    assert kiosk.tick(state, tour, 5.0) == state, "rests for a whole turn, no spinning"
    retry = kiosk.tick(state, tour, 12.0)
    assert (retry.index, retry.shown_at) == (0, 12.0)


def test_a_view_that_finished_drawing_starts_its_turn_then():
    tour = tour_of("a", "b", seconds=10)
    state = kiosk.view_shown(kiosk.start(now=0.0), now=6.0)
    assert kiosk.tick(state, tour, 15.0).index == 0
    assert kiosk.tick(state, tour, 16.0).index == 1


# ---------------------------------------------------------------------------------
# The frame in kiosk mode, under AppTest


def write_tour(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tour.toml"
    path.write_text(text, encoding="utf-8")
    return path


def html_texts(app: AppTest) -> str:
    return "\n".join(str(element.proto.body) for element in app.get("html"))


@pytest.fixture
def kiosk_env(demo_extracts, monkeypatch, tmp_path):
    monkeypatch.setenv("CITYDASH_EXTRACTS", str(demo_extracts))
    monkeypatch.setenv(kiosk.KIOSK_ENV, "1")
    monkeypatch.setenv(kiosk.TOUR_ENV, str(write_tour(tmp_path / "tour", TWO_VIEWS)))
    monkeypatch.chdir(REPO)
    return tmp_path


def test_kiosk_mode_shows_the_first_view_with_its_caption_and_filters_and_no_sidebar_filters(kiosk_env):
    app = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert "Fine particles in Camden." in html_texts(app)
    assert "View 1 of 2, playing" in html_texts(app)
    assert len(app.sidebar.multiselect) == 0 and len(app.sidebar.selectbox) == 0
    assert app.query_params["mode"] in (["kiosk"], "kiosk") and app.query_params["view"] in (["0"], "0")
    assert app.session_state["filters"].metric == "air_quality.pm25"
    assert app.session_state["filters"].boroughs == ("E09000007",)
    assert "Camden" in app.metric[0].label


def test_the_pause_button_pauses_and_resumes_the_tour(kiosk_env):
    app = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    app.button(key="kiosk_pause").click().run()
    assert app.button(key="kiosk_pause").label == "Resume the tour"
    assert "View 1 of 2, paused" in html_texts(app)
    app.button(key="kiosk_pause").click().run()
    assert app.button(key="kiosk_pause").label == "Pause the tour"


def test_a_tour_naming_nothing_usable_falls_back_to_every_page(kiosk_env, monkeypatch):
    bad = write_tour(kiosk_env / "bad", "[[views]]\npage = 'nowhere'\ncaption = 'Gone.'\n")
    monkeypatch.setenv(kiosk.TOUR_ENV, str(bad))
    app = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert not app.exception
    pages = kiosk.registered_pages((REPO / "dashboard.py").read_text(encoding="utf-8"))
    assert f"View 1 of {len(pages)}, playing" in html_texts(app)


def test_each_view_of_the_london_tour_that_names_a_section_opens_it(kiosk_env, monkeypatch):
    from citydash.state import section_slug

    monkeypatch.setenv(kiosk.TOUR_ENV, str(PACK / "tour.toml"))
    tour = kiosk.load_tour(PACK / "tour.toml")
    sectioned = [(index, view) for index, view in enumerate(tour.views) if view.section]
    assert sectioned, "the London tour shows at least one section other than a page's first"
    for index, view in sectioned:
        app = AppTest.from_file(str(ENTRY), default_timeout=60)
        app.query_params["view"] = str(index)
        app.run()
        assert not app.exception, [exception.value for exception in app.exception]
        assert section_slug(app.session_state[f"{view.page}_section"]) == view.section, view
        assert not app.info or all("section" not in notice.value for notice in app.info), view


def copy_of_app_with_a_broken_page(target: Path, broken: str) -> Path:
    """The real frame, library and pages in a folder of their own, with one page replaced by a script
    that draws a little and then raises: a page with a bug, as a kiosk might meet one."""
    for folder in ("citydash", "pages", "queries", "tests/apptest"):
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "dashboard.py", target / "dashboard.py")
    shutil.copytree(REPO / ".streamlit", target / ".streamlit", ignore=shutil.ignore_patterns("secrets.toml"))
    shutil.copy(FIXTURES / "broken_page.py", target / "pages" / broken)
    return target


def test_a_view_that_raises_is_skipped_for_the_next_one_without_a_traceback(kiosk_env, monkeypatch):
    app_dir = copy_of_app_with_a_broken_page(kiosk_env / "app", "overview.py")
    monkeypatch.setenv("CITYDASH_PACK", str(PACK))
    monkeypatch.chdir(app_dir)
    app = AppTest.from_file(str(app_dir / "tests" / "apptest" / "entry.py"), default_timeout=60).run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert app.session_state[kiosk_state_key()].index == 1
    assert app.session_state[kiosk_state_key()].failures == 0
    assert "Every monitoring site." in html_texts(app)
    assert "This page has a bug" not in " ".join(title.value for title in app.title)
    assert any(title.value.startswith("Air quality in") for title in app.title)


def kiosk_state_key() -> str:
    from citydash.kiosk_ui import STATE_KEY
    return STATE_KEY
