"""Kiosk (demo) mode for live events: the tour script and its state machine. No Streamlit here.

A tour is a list of views read from the city pack (`tour.toml`): which page, which metric,
which boroughs, how many days, and the caption a passer-by reads. The state machine decides
which view is on screen: it moves on when a view has been shown for the tour's pace, stays
put while paused, and skips a view that failed, so a screen at an event never shows a traceback
and never stops. Time is passed in (seconds), so every transition is testable.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

from citydash.state import SECTION_PARAM, section_slug

KIOSK_ENV = "CITYDASH_KIOSK"
TOUR_ENV = "CITYDASH_TOUR"
MODE_PARAM = "mode"
MODE_VALUE = "kiosk"
VIEW_PARAM = "view"
TOUR_FILE = "tour.toml"
MIN_SECONDS = 3.0
DEFAULT_SECONDS = 20.0
MAX_CAPTION = 300


class TourError(ValueError):
    """The tour file cannot be used; the message names the file, the view and the problem."""


@dataclass(frozen=True)
class View:
    page: str                      # url path of a page in the app's navigation
    caption: str
    metric: str | None = None      # "<dataset>.<metric>"; None keeps the default metric
    boroughs: tuple[str, ...] = ()  # area codes; empty means the whole city
    days: int | None = None        # the latest N days of data; None keeps the default period
    section: str = ""              # a section of the page, as in its links ("cycle-hire"); "" is the first


@dataclass(frozen=True)
class Tour:
    views: tuple[View, ...]
    seconds_per_view: float = DEFAULT_SECONDS


@dataclass(frozen=True)
class TourState:
    index: int = 0
    paused: bool = False
    shown_at: float = 0.0      # when the current view's time started (seconds)
    failures: int = 0          # views that failed in a row; reset when one is shown


def requested(env_value: str | None, mode_param: str | None) -> bool:
    """Kiosk mode for every visitor (the server's environment) or for one link (?mode=kiosk)."""
    return (env_value or "").strip().lower() in ("1", "true", "yes") or (mode_param or "") == MODE_VALUE


def tour_path(pack_dir: Path, env_value: str | None) -> Path:
    return Path(env_value) if env_value else Path(pack_dir) / TOUR_FILE


def _view(raw: object, where: str) -> View:
    if not isinstance(raw, dict):
        raise TourError(f"{where}: each [[views]] entry must be a table")
    page = raw.get("page")
    caption = raw.get("caption")
    if not isinstance(page, str) or not page.strip():
        raise TourError(f"{where}: missing 'page' (the url path of a page, e.g. \"overview\")")
    if not isinstance(caption, str) or not caption.strip():
        raise TourError(f"{where}: missing 'caption' (the sentence shown with the view)")
    if len(caption) > MAX_CAPTION:
        raise TourError(f"{where}: the caption is {len(caption)} characters; keep it under {MAX_CAPTION}")
    metric = raw.get("metric")
    if metric is not None and (not isinstance(metric, str) or "." not in metric):
        raise TourError(f"{where}: 'metric' must be \"<dataset>.<metric>\", not {metric!r}")
    boroughs = raw.get("boroughs", [])
    if not isinstance(boroughs, list) or not all(isinstance(code, str) for code in boroughs):
        raise TourError(f"{where}: 'boroughs' must be a list of area codes")
    days = raw.get("days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
        raise TourError(f"{where}: 'days' must be a positive whole number")
    section = raw.get("section", "")
    if not isinstance(section, str) or section != section_slug(section):
        raise TourError(f"{where}: 'section' must be a section's name as in the page's links, e.g. \"cycle-hire\"")
    return View(page=page.strip(), caption=caption.strip(), metric=metric, boroughs=tuple(boroughs), days=days,
                section=section)


def parse_tour(text: str, source: str) -> Tour:
    """A tour from the text of a tour file; `source` names the file in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TourError(f"{source}: not valid TOML ({error})") from error
    seconds = raw.get("seconds_per_view", DEFAULT_SECONDS)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < MIN_SECONDS:
        raise TourError(f"{source}: seconds_per_view must be a number of at least {MIN_SECONDS:g}")
    entries = raw.get("views")
    if not isinstance(entries, list) or not entries:
        raise TourError(f"{source}: the tour has no [[views]]")
    views = tuple(_view(entry, f"{source} view {number}") for number, entry in enumerate(entries, start=1))
    return Tour(views=views, seconds_per_view=float(seconds))


def load_tour(path: Path) -> Tour:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise TourError(f"{path}: cannot read the tour ({error.strerror})") from error
    return parse_tour(text, str(path))


def usable_views(tour: Tour, page_paths: Collection[str], metric_keys: Collection[str],
                 area_codes: Collection[str]) -> tuple[Tour, tuple[str, ...]]:
    """The tour without the views this app cannot show, and a sentence for each view dropped.

    A view is dropped when it names a page that is not registered, a metric that is not
    published (or not visible), or an area the city does not have: the show goes on with
    the rest rather than showing an error to a room.
    """
    kept: list[View] = []
    problems: list[str] = []
    for number, view in enumerate(tour.views, start=1):
        unknown_areas = [code for code in view.boroughs if code not in area_codes]
        if view.page not in page_paths:
            problems.append(f"View {number} names page {view.page!r}, which is not in the app.")
        elif view.metric is not None and view.metric not in metric_keys:
            problems.append(f"View {number} names metric {view.metric!r}, which has no published data.")
        elif unknown_areas:
            problems.append(f"View {number} names unknown area code(s): {', '.join(unknown_areas)}.")
        else:
            kept.append(view)
    return replace(tour, views=tuple(kept)), tuple(problems)


def index_from_param(text: str | None, count: int) -> int:
    """The view a link asks for (?view=N, counted from 0), or the first when it is not one."""
    if count < 1 or text is None or not str(text).strip().isdigit():
        return 0
    number = int(str(text).strip())
    return number if number < count else 0


def start(now: float, index: int = 0) -> TourState:
    return TourState(index=index, paused=False, shown_at=now, failures=0)


def next_index(index: int, count: int) -> int:
    return (index + 1) % count if count else 0


def due(state: TourState, tour: Tour, now: float) -> bool:
    """Whether the current view has had its time and the tour should move on."""
    return not state.paused and now - state.shown_at >= tour.seconds_per_view


def advance(state: TourState, tour: Tour, now: float) -> TourState:
    return replace(state, index=next_index(state.index, len(tour.views)), shown_at=now)


def tick(state: TourState, tour: Tour, now: float) -> TourState:
    """The state after time has passed: unchanged until the view is due, then the next view; after
    every view failed in a row, the one the failures stopped at is tried again (no spinning)."""
    if not due(state, tour, now):
        return state
    if everything_failing(state, tour):
        return replace(state, shown_at=now)
    return advance(state, tour, now)


def toggle_pause(state: TourState, now: float) -> TourState:
    """Pause, or resume with the current view's time started afresh (a visitor was reading it)."""
    if state.paused:
        return replace(state, paused=False, shown_at=now)
    return replace(state, paused=True)


def view_failed(state: TourState, tour: Tour, now: float) -> TourState:
    """Skip a view that could not be shown; count it, so a tour where nothing works can rest."""
    return replace(advance(state, tour, now), failures=state.failures + 1)


def view_shown(state: TourState, now: float) -> TourState:
    """A view has finished drawing: its time starts now (a slow page does not eat its own turn)."""
    return replace(state, failures=0, shown_at=now)


def everything_failing(state: TourState, tour: Tour) -> bool:
    """Every view failed in a row: stop skipping and wait for the next turn instead of spinning."""
    return state.failures >= len(tour.views)


def link_params(index: int, section: str = "") -> dict[str, str]:
    """The query string of a kiosk view, so a screen that reloads comes back to the same view. The
    section is always named, empty for the page's first, so that a page seen earlier in the tour
    opens the view's section rather than the one it showed then."""
    return {MODE_PARAM: MODE_VALUE, VIEW_PARAM: str(index), SECTION_PARAM: section}


def progress_text(state: TourState, tour: Tour) -> str:
    status = "paused" if state.paused else "playing"
    return f"View {state.index + 1} of {len(tour.views)}, {status}"


def metric_for(view: View, default_metric: str) -> str:
    return view.metric or default_metric


@dataclass(frozen=True)
class RegisteredPage:
    script: str      # the page script's file name, e.g. "overview.py"
    title: str
    url_path: str
    default: bool = False


def _literal(call: ast.Call, name: str, default: object) -> object:
    for keyword in call.keywords:
        if keyword.arg == name:
            try:
                return ast.literal_eval(keyword.value)
            except ValueError:
                return default
    return default


def registered_pages(frame_source: str) -> tuple[RegisteredPage, ...]:
    """The pages the frame registers, read from its source without running it: every
    `st.Page(<...> / "<file>.py", title=..., url_path=...)` call, in order.

    For checking a tour against the app (and for tests that must cover every page) without
    starting Streamlit.
    """
    pages = []
    for node in ast.walk(ast.parse(frame_source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Page"):
            continue
        target = node.args[0] if node.args else None
        script = target.right.value if isinstance(target, ast.BinOp) and isinstance(target.right, ast.Constant) \
            else target.value if isinstance(target, ast.Constant) else None
        if not isinstance(script, str):
            continue
        stem = Path(script).stem
        pages.append(((node.lineno, node.col_offset), RegisteredPage(
            script=Path(script).name, title=str(_literal(node, "title", stem)),
            url_path=str(_literal(node, "url_path", stem)), default=bool(_literal(node, "default", False)))))
    return tuple(page for _, page in sorted(pages, key=lambda item: item[0]))
