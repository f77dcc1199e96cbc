"""Kiosk mode in Streamlit: the tour's current view with its caption, a pause button and a clock.

The frame (dashboard.py) calls `show` instead of drawing the sidebar filters and running the
page. The tour moves between pages with st.switch_page, so the address bar always names the
view (`?mode=kiosk&view=N`) and a screen that reloads comes back to it; a fragment ticking
once a second moves the tour on when the view's time is up. A view that raises is logged and
skipped: a room full of people never sees a traceback.
"""

from __future__ import annotations

import html
import logging
import os
import time
from datetime import timedelta

import pandas as pd
import streamlit as st
from streamlit.navigation.page import StreamlitPage

from citydash import kiosk, ui
from citydash.catalog import Catalog
from citydash.data import Database
from citydash.kiosk import Tour, TourError, TourState, View
from citydash.state import Filters, default_filters

STATE_KEY = "kiosk_state"
REPORTED_KEY = "kiosk_reported"
BODY_KEY = "kiosk_view"
TICK_SECONDS = 1.0
LOG = logging.getLogger("citydash.kiosk")


def requested() -> bool:
    return kiosk.requested(os.environ.get(kiosk.KIOSK_ENV), st.query_params.get(kiosk.MODE_PARAM))


def page_names(page: StreamlitPage) -> set[str]:
    """What a tour may call a page: its url path; the default page also by the path it was given,
    since Streamlit reports the default page's url path as "" (the site's root)."""
    return {page.url_path, str(getattr(page, "_url_path", page.url_path))}


def _pages_by_name(pages: list[StreamlitPage]) -> dict[str, StreamlitPage]:
    return {name: page for page in pages for name in page_names(page) if name}


def _fallback_tour(pages: list[StreamlitPage], seconds: float) -> Tour:
    """Every page in turn with the default filters: what a pack without a usable tour shows."""
    views = tuple(View(page=next(iter(sorted(name for name in page_names(page) if name)), ""), caption=page.title)
                  for page in pages if any(page_names(page)))
    return Tour(views=views, seconds_per_view=seconds)


def _report_once(problems: tuple[str, ...]) -> None:
    """Tour problems go to the server's log once per session: the operator reads them, not the room."""
    if problems and not st.session_state.get(REPORTED_KEY):
        for problem in problems:
            LOG.warning("Kiosk tour: %s", problem)
        st.session_state[REPORTED_KEY] = True


def _tour(cat: Catalog, pages: list[StreamlitPage], metric_keys: list[str], area_codes: list[str]) -> Tour:
    try:
        tour = kiosk.load_tour(kiosk.tour_path(cat.pack_dir, os.environ.get(kiosk.TOUR_ENV)))
    except TourError as error:
        _report_once((f"{error}; touring every page instead.",))
        return _fallback_tour(pages, kiosk.DEFAULT_SECONDS)
    usable, problems = kiosk.usable_views(tour, set(_pages_by_name(pages)), metric_keys, area_codes)
    _report_once(problems)
    return usable if usable.views else _fallback_tour(pages, tour.seconds_per_view)


def _view_filters(view: View, metric_keys: list[str], coverage: pd.DataFrame) -> Filters:
    first_day = pd.Timestamp(coverage["first_day"].iloc[0]).date()
    last_day = pd.Timestamp(coverage["last_day"].iloc[0]).date()
    defaults = default_filters(metric_keys, first_day, last_day)
    start = max(first_day, last_day - timedelta(days=view.days - 1)) if view.days else defaults.start
    return Filters(boroughs=view.boroughs, start=start, end=last_day, metric=kiosk.metric_for(view, defaults.metric))


def _go_to(state: TourState, tour: Tour, pages: dict[str, StreamlitPage]) -> None:
    st.session_state[STATE_KEY] = state
    view = tour.views[state.index]
    st.switch_page(pages[view.page], query_params=kiosk.link_params(state.index, view.section))


def _toggle_pause() -> None:
    st.session_state[STATE_KEY] = kiosk.toggle_pause(st.session_state[STATE_KEY], time.time())


def _caption_html(view: View, state: TourState, tour: Tour) -> str:
    return (f'<section class="cd-kiosk" aria-label="Guided tour">'
            f'<p class="cd-kiosk-caption" aria-live="polite">{html.escape(view.caption)}</p>'
            f'<p class="cd-kiosk-progress">{html.escape(kiosk.progress_text(state, tour))}</p></section>')


@st.fragment(run_every=TICK_SECONDS)
def _tour_bar(tour: Tour, pages: dict[str, StreamlitPage]) -> None:
    """The caption and the pause button; each tick moves the tour on when the view's time is up."""
    state = st.session_state[STATE_KEY]
    moved = kiosk.tick(state, tour, time.time())
    if moved != state:
        _go_to(moved, tour, pages)
    # A quarter of the width: at a sixth, "Pause the tour" was cut to "Pause the…" at 1280 px in
    # the kiosk's large type (style.css lets it wrap, rather than cut, on narrower screens).
    caption_column, button_column = st.columns([3, 1], vertical_alignment="center")
    caption_column.html(_caption_html(tour.views[state.index], state, tour))
    button_column.button("Resume the tour" if state.paused else "Pause the tour", key="kiosk_pause",
                         on_click=_toggle_pause, icon=":material/play_arrow:" if state.paused else ":material/pause:",
                         help="Stops the tour on this view, so you can read it; press again to carry on.")


def _veil() -> None:
    """Hides the view while it is drawn. Streamlit sends each element as soon as the page makes it,
    so without this a view that fails half-way would flash its first elements at the room. The
    trailing span keeps the HTML from being style-only, which Streamlit would move out of this
    placeholder and could then never take back."""
    st.html(f'<style>.st-key-{BODY_KEY} {{visibility: hidden}}</style><span hidden></span>')


def show(current: StreamlitPage, pages: list[StreamlitPage], cat: Catalog, db: Database,
         areas: pd.DataFrame) -> None:
    """The tour's current view: switch to its page if needed, set its filters, run the page."""
    metric_keys = list(ui.visible_metrics(cat, db))
    coverage = ui.run("data_coverage")
    if not metric_keys or coverage.empty or pd.isna(coverage["first_day"].iloc[0]):
        st.title(f"{cat.city.name} dashboard")
        st.info("There is no data to show yet.", icon=":material/database:")
        return
    tour = _tour(cat, pages, metric_keys, areas["borough_code"].tolist())
    by_name = _pages_by_name(pages)
    state = st.session_state.get(STATE_KEY)
    if state is None or state.index >= len(tour.views):
        state = kiosk.start(time.time(), kiosk.index_from_param(st.query_params.get(kiosk.VIEW_PARAM), len(tour.views)))
        st.session_state[STATE_KEY] = state
    view = tour.views[state.index]
    if by_name[view.page].url_path != current.url_path:
        _go_to(state, tour, by_name)
    wanted = kiosk.link_params(state.index, view.section)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[ui.FILTERS_KEY] = _view_filters(view, metric_keys, coverage)

    _tour_bar(tour, by_name)
    veil = st.empty()
    with veil:
        _veil()
    body = st.empty()
    try:
        with body.container(key=BODY_KEY):
            current.run()
    except Exception:  # a failing view must not stop the show: log it, clear it, move on
        LOG.exception("Kiosk view %d (%s) failed; showing the next view", state.index + 1, view.page)
        body.empty()
        failed = kiosk.view_failed(st.session_state[STATE_KEY], tour, time.time())
        st.session_state[STATE_KEY] = failed
        if kiosk.everything_failing(failed, tour):
            st.info("The tour has nothing it can show just now; it will try again shortly.",
                    icon=":material/hourglass_empty:")
            return
        _go_to(failed, tour, by_name)
    veil.empty()
    st.session_state[STATE_KEY] = kiosk.view_shown(st.session_state[STATE_KEY], time.time())
