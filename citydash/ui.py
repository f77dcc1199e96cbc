"""Streamlit glue shared by the frame and the pages: cached data access, the shared filters,
provenance notes, the synthetic-data banner and the footer.

Pages stay flat scripts: they call these helpers, the pure builders in charts/maps, and st.*.
"""

from __future__ import annotations

import functools
import html
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from streamlit.errors import StreamlitSecretNotFoundError
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from citydash.access import login_configured, policy_from_secrets, role_for
from citydash.catalog import Catalog, Dataset, Metric, load_catalog
from citydash.data import Database, QueryError
from citydash.ingest.publish import recover_interrupted
from citydash.state import (SECTION_PARAM, Filters, filters_from_params, filters_to_params, merged_params,
                            section_from_param, section_to_param, snapshot_notice, snapshot_token)
from citydash.text import escape_markdown

REPO_DIR = Path(__file__).resolve().parent.parent
STYLE_PATH = Path(__file__).resolve().parent / "assets" / "style.css"
PACK_ENV = "CITYDASH_PACK"
EXTRACTS_ENV = "CITYDASH_EXTRACTS"
QUERY_TIMEOUT_ENV = "CITYDASH_QUERY_TIMEOUT_S"
DUCKDB_MEMORY_ENV = "CITYDASH_DUCKDB_MEMORY"
# DuckDB keeps what it reads up to its limit and spills beyond it: the limit bounds the server's
# memory (at 200M observations a 2 GB limit let the app reach 2.3 GB).
DEFAULT_DUCKDB_MEMORY = "512MB"
MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)\s*$", re.IGNORECASE)
SHOWN_KEY = "shown_datasets"
FILTERS_KEY = "filters"


@dataclass(frozen=True)
class Settings:
    pack_dir: str
    extracts_dir: str | None
    query_timeout_s: float
    duckdb_memory: str = DEFAULT_DUCKDB_MEMORY


def duckdb_memory(text: str | None) -> str:
    """DuckDB's memory limit from the environment ("512MB", "2GB"); anything else is the default."""
    return text.strip() if text and MEMORY_SIZE.match(text) else DEFAULT_DUCKDB_MEMORY


def settings() -> Settings:
    return Settings(
        pack_dir=os.environ.get(PACK_ENV, str(REPO_DIR / "data")),
        extracts_dir=os.environ.get(EXTRACTS_ENV) or None,
        query_timeout_s=float(os.environ.get(QUERY_TIMEOUT_ENV, "10")),
        duckdb_memory=duckdb_memory(os.environ.get(DUCKDB_MEMORY_ENV)),
    )


@st.cache_resource(max_entries=4)
def _catalog(pack_dir: str, extracts_dir: str | None) -> Catalog:
    return load_catalog(Path(pack_dir), Path(extracts_dir) if extracts_dir else None)


@st.cache_resource(max_entries=4)
def _database(pack_dir: str, extracts_dir: str | None, query_timeout_s: float, memory_limit: str) -> Database:
    catalog = _catalog(pack_dir, extracts_dir)
    recover_interrupted(catalog)
    return Database(catalog, memory_limit=memory_limit, timeout_s=query_timeout_s)


def reload_data() -> None:
    """Forget the cached catalogue and database: a dataset imported in the app appears for every session."""
    _catalog.clear()
    _database.clear()


def _leave_legacy_pages_mode() -> None:
    """Run every request through the frame, including the first one a new server gets.

    Until a script has called st.navigation, Streamlit treats an app with a pages/ folder as a
    legacy multipage app: a first request for /environment would run pages/environment.py
    alone, without the frame's filters, banner and footer. dashboard.py calls st.navigation;
    switching the legacy mode off here and rerunning sends the request through it.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def catalog() -> Catalog:
    _leave_legacy_pages_mode()
    config = settings()
    return _catalog(config.pack_dir, config.extracts_dir)


def database() -> Database:
    _leave_legacy_pages_mode()
    config = settings()
    return _database(config.pack_dir, config.extracts_dir, config.query_timeout_s, config.duckdb_memory)


def _secrets() -> dict:
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return {}


def access_level() -> str:
    """The session's access level: officer only for a logged-in identity the policy names."""
    return role_for(st.user.to_dict(), policy_from_secrets(_secrets()))


def account_controls() -> None:
    """Sign-in for officers, or a plain statement that this server is public-only."""
    with st.sidebar:
        if not login_configured(_secrets()):
            st.caption("Public data only. Officer sign-in is not configured on this server.")
            return
        if st.user.is_logged_in:
            level = access_level()
            st.caption(f"Signed in as {escape_markdown(str(st.user.get('email', '')))} "
                       f"({'officer: officer-only datasets shown' if level == 'officer' else 'public data only'}).")
            st.button("Sign out", on_click=st.logout, key="account_logout")
        else:
            st.caption("Showing public data. Council officers can sign in to see officer-only datasets.")
            st.button("Officer sign-in", on_click=st.login, key="account_login")


def _data_version(db: Database) -> tuple:
    """Changes whenever an extract is republished, so cached results never outlive their data."""
    stamps = []
    for dataset_id in sorted(db.available):
        path = db.catalog.manifest_path(dataset_id)
        stamps.append((dataset_id, path.stat().st_mtime_ns if path.exists() else 0))
    return tuple(stamps)


def _call_key(call: tuple) -> str:
    """A query call's cache key: the repr of (settings, data version, access level, query,
    parameters), whose parts are plain values with exact reprs. st.cache_data hashes a string in
    one step; hashing the tuple walked the Settings and every parameter, about a millisecond on
    each of a rerun's dozen calls."""
    return repr(call)


@st.cache_data(ttl=600, max_entries=512, show_spinner=False)
def _cached_run(key: str, _call: tuple) -> pd.DataFrame:
    """The result of `_call`, kept under `key`, which must be _call_key(_call): only the key is hashed."""
    config, _, access, query, params = _call
    db = _database(config.pack_dir, config.extracts_dir, config.query_timeout_s, config.duckdb_memory)
    return db.run(query, access=access, **{name: list(value) if isinstance(value, tuple) else value
                                          for name, value in params})


def run(query: str, **params) -> pd.DataFrame:
    """Run a query for this session; cached by query, parameters, access level and data version."""
    return run_keyed(query, **params)[0]


def run_keyed(query: str, **params) -> tuple[pd.DataFrame, str]:
    """`run`, and what identifies its result (settings, data version, access level, query and
    parameters, as one string): a cheap cache key for tables built from the result, where hashing
    the result itself cost 10 ms a call for 6,000 entities."""
    return run_together((query, params))[0]


def _session_key() -> tuple:
    """What a result depends on beyond its query: settings, data version (a stat per extract) and
    access level."""
    return settings(), _data_version(database()), access_level()


def _hashable(params: dict) -> tuple:
    return tuple(sorted((name, tuple(value) if isinstance(value, list) else value) for name, value in params.items()))


def run_together(*calls: tuple[str, dict]) -> list[tuple[pd.DataFrame, str]]:
    """Independent queries at once, each on its own cursor: a rerun waits for the slowest of them
    rather than for their sum. Each call is (query, parameters); the answer is run_keyed's for
    each, in order. The first query to fail raises, after all have finished.

    A section's queries are small and each spends much of its time in work DuckDB does on one
    thread (planning, reading file footers, handing rows to pandas), so two cores overlap them.
    """
    session = _session_key()
    whole_calls = [(*session, query, _hashable(params)) for query, params in calls]
    keyed = [(_call_key(call), call) for call in whole_calls]
    if len(keyed) < 2:
        return [(_cached_run(key, call), key) for key, call in keyed]
    context = get_script_run_ctx()

    def fetch(key: str, call: tuple) -> pd.DataFrame:
        # st.cache_data reads the session from the thread; each worker works for this script run.
        add_script_run_ctx(threading.current_thread(), context)
        return _cached_run(key, call)

    with ThreadPoolExecutor(max_workers=len(keyed), thread_name_prefix="citydash-query") as pool:
        futures = [pool.submit(fetch, key, call) for key, call in keyed]
    return [(future.result(), key) for future, (key, _call) in zip(futures, keyed)]


def metric_params(metric: Metric, filters: Filters) -> dict:
    return {"dataset": metric.dataset, "metric": metric.id, "aggregation": metric.aggregation,
            "area_aggregation": metric.area_aggregation, "start": filters.start, "end": filters.end}


def metric_key(metric: Metric) -> str:
    return f"{metric.dataset}.{metric.id}"


def visible_metrics(cat: Catalog, db: Database) -> dict[str, Metric]:
    return {metric_key(metric): metric for metric in cat.metrics(access_level())
            if metric.dataset in db.available}


def _metric_option_label(cat: Catalog, key: str) -> str:
    dataset_id, metric_id = key.split(".", 1)
    dataset = cat.datasets[dataset_id]
    metric = dataset.metric(metric_id)
    return f"{metric.label} ({metric.unit}) · {dataset.domain}"


def sidebar_filters(cat: Catalog, db: Database, areas: pd.DataFrame) -> Filters | None:
    """The shared filters, mirrored in the URL. None when there is no data to filter."""
    metrics = visible_metrics(cat, db)
    coverage = run("data_coverage")
    if not metrics or coverage.empty or pd.isna(coverage["first_day"].iloc[0]):
        return None
    first_day = pd.Timestamp(coverage["first_day"].iloc[0]).date()
    last_day = pd.Timestamp(coverage["last_day"].iloc[0]).date()
    codes = areas["borough_code"].tolist()
    names = dict(zip(areas["borough_code"], areas["borough_name"]))

    if "filters_boroughs" not in st.session_state:
        from_link = filters_from_params(st.query_params.to_dict(), list(metrics), codes, first_day, last_day)
        st.session_state["filters_boroughs"] = list(from_link.boroughs)
        st.session_state["filters_dates"] = (from_link.start, from_link.end)
        st.session_state["filters_metric"] = from_link.metric
        arrived_with = snapshot_notice(st.query_params.get("snapshot"), snapshot(cat, db))
        st.session_state["filters_notices"] = from_link.notices + ((arrived_with,) if arrived_with else ())

    with st.sidebar:
        st.header("Filters")
        st.selectbox("Metric", options=list(metrics), key="filters_metric",
                     format_func=lambda key: _metric_option_label(cat, key))
        st.multiselect(cat.city.area_label_plural.capitalize(), options=codes, key="filters_boroughs",
                       format_func=names.get, placeholder=f"All {cat.city.area_label_plural}",
                       help=f"Leave empty to include every {cat.city.area_label} of {cat.city.name}.")
        picked = st.date_input("Dates", key="filters_dates", min_value=first_day, max_value=last_day,
                               format="DD/MM/YYYY", help=f"Data covers {first_day:%d %b %Y} to {last_day:%d %b %Y}.")
    start, end = _date_pair(picked, first_day, last_day)
    filters = Filters(boroughs=tuple(st.session_state["filters_boroughs"]), start=start, end=end,
                      metric=st.session_state["filters_metric"],
                      notices=tuple(st.session_state.pop("filters_notices", ())))
    current = st.query_params.to_dict()
    wanted = merged_params(current, filters_to_params(filters))
    if current != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[FILTERS_KEY] = filters
    return filters


def _date_pair(picked, first_day: date, last_day: date) -> tuple[date, date]:
    """A date_input mid-selection holds one date; treat it as a one-day period until the second."""
    if isinstance(picked, (tuple, list)):
        if len(picked) == 2:
            return picked[0], picked[1]
        if len(picked) == 1:
            return picked[0], picked[0]
        return first_day, last_day
    return picked, picked


def filters() -> Filters:
    _leave_legacy_pages_mode()
    return st.session_state[FILTERS_KEY]


def snapshot(cat: Catalog, db: Database) -> str:
    """The data snapshot: a short hash of every published dataset's refresh stamp."""
    stamps = {dataset_id: manifest.refreshed for dataset_id in db.available
              if (manifest := cat.manifest(dataset_id)) is not None}
    return snapshot_token(stamps)


def widget_from_link(param: str, key: str, parse: Callable[[str | None], tuple[object, tuple[str, ...]]],
                     memory: str | None = None) -> tuple[str, ...]:
    """Before a page draws the widget `key`: give it the link's value when the link brings a new one.

    A new value arrives with a shared link or a page switch (a map click on another page);
    otherwise the widget keeps its own value, or the one this session last chose on the page.
    `parse` turns the link's text (None for none) into a valid value and notices about what it
    ignored, which are returned for the page to show. `memory` names what is remembered when
    several pages share one parameter (each page's section); by default, the parameter.
    """
    memory = memory or param
    linked = st.query_params.get(param)
    remembered = st.session_state.get(f"link_remembered_{memory}")
    if linked is not None and linked != st.session_state.get(f"link_seen_{memory}"):
        value, notices = parse(linked)
    elif key in st.session_state:
        return ()
    else:
        value, notices = parse(remembered)
    st.session_state[key] = list(value) if isinstance(value, tuple) else value
    return tuple(notices)


def widget_to_link(param: str, text: str, memory: str | None = None) -> None:
    """After the widget: put its value in the link, and remember it for this session's next visit."""
    memory = memory or param
    if not text:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != text:
        st.query_params[param] = text
    st.session_state[f"link_seen_{memory}"] = text
    st.session_state[f"link_remembered_{memory}"] = text


def sections(key: str, labels: list[str]):
    """A page's sections as tabs of which only the open one runs (`if tab.open:`), so that a filter
    change redraws one section's queries and figures rather than the whole page's. The open
    section is in the link (`?section=cycle-hire`), so a shared link opens the same one."""
    if st.session_state.get(key) not in (None, *labels):
        del st.session_state[key]  # a section this page no longer offers (other data, other access)
    notices = widget_from_link(SECTION_PARAM, key, lambda text: section_from_param(text, labels), memory=key)
    for notice in notices:
        st.info(notice, icon=":material/link:")
    tabs = st.tabs(labels, key=key, on_change="rerun")
    widget_to_link(SECTION_PARAM, section_to_param(st.session_state[key], labels), memory=key)
    # What the page offers, for tools that open each section in turn (the benchmark).
    st.session_state[sections_offered_key(key)] = tuple(labels)
    return tabs


def sections_offered_key(key: str) -> str:
    return f"{key}_offered"


def view_link(cat: Catalog, db: Database) -> str:
    """The full address of this page with its filters and selections, pinned to the data snapshot."""
    params = {**st.query_params.to_dict(), "snapshot": snapshot(cat, db)}
    return f"{st.context.url or ''}?{urlencode(params, safe=',')}"


def share_link(cat: Catalog, db: Database) -> None:
    """The link to this exact view, pinned to the data snapshot, with a copy button (st.code's)."""
    link = view_link(cat, db)
    with st.sidebar:
        st.caption("**Link to this view.** Copy it with the button at its right. It records the "
                   "filters, the selections and the data snapshot: if the data is refreshed before someone "
                   "opens it, they are told the figures may differ.")
        st.code(link, language=None, wrap_lines=True)


def csv_download(label: str, frame: pd.DataFrame, file_name: str, key: str) -> None:
    """A CSV download of a table, written only when someone presses the button: building every
    page's CSVs on every rerun cost a large share of a rerun, and a file made on click never expires
    between the page drawing and the press (no "file not found" after another rerun)."""
    shown = frame.copy()
    st.download_button(label, data=lambda: shown.to_csv(index=False).encode("utf-8"), file_name=file_name,
                       mime="text/csv", key=key, on_click="ignore", icon=":material/download:")


def query_csv_download(label: str, query: str, params: dict, file_name: str, key: str) -> None:
    """A CSV of a query's whole result, run when someone presses the button rather than on every
    rerun: for a table much larger than what the page draws from (every site's daily index). It
    runs outside the page's rerun, so it asks the database directly at the session's access level;
    a query that fails gives a file saying why."""
    run = functools.partial(database().run, query, access_level(), **params)

    def made() -> bytes:
        try:
            return run().to_csv(index=False).encode("utf-8")
        except QueryError as error:
            return pd.DataFrame({"error": [str(error)]}).to_csv(index=False).encode("utf-8")

    st.download_button(label, data=made, file_name=file_name, mime="text/csv", key=key, on_click="ignore",
                       icon=":material/download:")


def chart_config(filename: str) -> dict:
    """Plotly chart options: the modebar's camera button saves a PNG in the browser (no server-side
    image export is needed), named after the chart and at twice the screen resolution."""
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2}}


def record_shown(dataset_id: str) -> None:
    shown = st.session_state.setdefault(SHOWN_KEY, [])
    if dataset_id not in shown:
        shown.append(dataset_id)


def freshness_text(cat: Catalog, dataset: Dataset, now: datetime | None = None) -> str:
    manifest = cat.manifest(dataset.id)
    if manifest is None:
        return "refresh date unknown"
    now = now or datetime.now(timezone.utc)
    days = manifest.age_days(now)
    age = "today" if days < 1 else f"{days:.0f} days ago"
    stale = " (older than its expected refresh)" if days > dataset.refresh_days else ""
    return f"refreshed {manifest.refreshed:%d %b %Y} ({age}){stale}"


def source_note(cat: Catalog, dataset: Dataset) -> None:
    """One line under a chart or map: source, licence, freshness, and synthetic if it is."""
    record_shown(dataset.id)
    synthetic = "**Synthetic demo data.** " if dataset.synthetic else ""
    st.caption(f"{synthetic}Source: {dataset.publisher}, {dataset.title} · Licence: {dataset.licence.title} · "
               f"{freshness_text(cat, dataset)}")


def synthetic_banner(cat: Catalog, placeholder) -> None:
    shown = [cat.datasets[dataset_id] for dataset_id in st.session_state.get(SHOWN_KEY, [])]
    synthetic = [dataset.title for dataset in shown if dataset.synthetic]
    if synthetic:
        placeholder.warning(
            "**Demo data, not real measurements.** This page shows synthetic data made up by the "
            f"dashboard's demo generator: {', '.join(synthetic)}. Do not quote these figures.",
            icon=":material/science:")


def sentence_case(text: str) -> str:
    """The first letter upper case and the rest as written (str.capitalize would turn "Nov" into "nov")."""
    return text[:1].upper() + text[1:]


def footer(cat: Catalog) -> None:
    # After the page has run, so the link carries its selections as well as the shared filters.
    share_link(cat, database())
    shown = [cat.datasets[dataset_id] for dataset_id in st.session_state.get(SHOWN_KEY, [])]
    st.divider()
    lines = ["**Sources and licences of the data on this page**"]
    for dataset in shown:
        kind = "synthetic" if dataset.synthetic else "real"
        link = f" ([source]({dataset.source_url}))" if dataset.source_url else ""
        lines.append(f"- {dataset.title} ({kind}): {dataset.publisher}{link}. "
                     f"Licence: [{dataset.licence.title}]({dataset.licence.url}). {dataset.attribution} "
                     f"{sentence_case(freshness_text(cat, dataset))}.")
    lines.append(f"- {sentence_case(cat.city.area_label_plural)} boundaries: {cat.city.boundaries_attribution}")
    st.markdown("\n".join(lines))


def show_problems(db: Database) -> None:
    for problem in db.problems:
        st.error(f"Some data could not be loaded. {problem.explain()}", icon=":material/error:")


def escape(text: object) -> str:
    return html.escape(str(text))



def query_failed(error: QueryError) -> None:
    st.error(str(error), icon=":material/timer_off:")
