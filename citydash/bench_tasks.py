"""The bench's measurements that must each run in a process of their own (so that the peak memory
of a process is the peak of that one thing): `python -m citydash.bench_tasks TASK IN.json OUT.json`.

Tasks:
  app      every page registered in dashboard.py under Streamlit's AppTest: each page's rerun
           time after a scripted series of filter changes (cache misses, then the same series
           again from the cache), every query it ran, and the size of its map layers.
  queries  each query the pages ran, timed through our layer, straight on DuckDB, and with the
           rollups computed from the raw observations instead of read from their files.
  ours     the overview's interactions through citydash.data alone (no Streamlit).
  pandas   the same interactions the common way: read the parquet, filter, group, in pandas.

The parent (citydash.bench) starts these, reads ru_maxrss from os.wait4 and prints the tables.
"""

from __future__ import annotations

import json
import os
import pickle
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
# AppTest must start from a folder without a pages/ directory (see tests/apptest/entry.py).
ENTRY = REPO_DIR / "tests" / "apptest" / "entry.py"
FILTER_KINDS = ("boroughs", "dates", "metric")
WINDOWS_DAYS = (30, 90, 14, 60, 120, 45, 7, 180)


@dataclass(frozen=True)
class FilterState:
    boroughs: tuple[str, ...]
    start: date
    end: date
    metric: str


def borough_choices(codes: list[str], offset: int) -> list[tuple[str, ...]]:
    """Selections of one, several and no boroughs (the whole city, what a page opens on and its
    largest answer), rotated by offset so pages differ."""
    if not codes:
        return [()]
    rotated = codes[offset % len(codes):] + codes[:offset % len(codes)]
    picks = [tuple(rotated[:1]), tuple(rotated[1:4]), (), tuple(rotated[4:12]), tuple(rotated[12:13]),
             tuple(rotated[13:15]), tuple(rotated[15:20]), tuple(rotated[20:21])]
    return list(dict.fromkeys(picks))


def date_choices(first_day: date, last_day: date, offset: int) -> list[tuple[date, date]]:
    """Periods of different lengths ending at different days, all inside the data's coverage."""
    span = (last_day - first_day).days
    periods = []
    for index, window in enumerate(WINDOWS_DAYS):
        # Never the whole coverage (the default filters' period) and never longer than it.
        window = min(window, max(1, span * 2 // 3))
        end = last_day - timedelta(days=(offset * 3 + index * 11) % max(span - window + 1, 1))
        periods.append((max(first_day, end - timedelta(days=window)), end))
    return periods


def filter_script(initial: FilterState, codes: list[str], metrics: list[str], first_day: date, last_day: date,
                  steps: int, offset: int) -> list[tuple[str, object, FilterState]]:
    """A series of single filter changes, cycling boroughs, dates and metric, whose every state is
    new (each kind walks its own list forwards), so that each rerun misses st.cache_data.

    Returns (kind, widget value, state after the change) per step."""
    boroughs = borough_choices(codes, offset)
    periods = date_choices(first_day, last_day, offset)
    metric_order = metrics[offset % len(metrics):] + metrics[:offset % len(metrics)]
    state = initial
    seen = {initial}
    # A borough or date change must also ask for boroughs and a period not asked before: a page
    # that ignores the metric would otherwise answer a repeated pair from the cache, and miss it on
    # fewer changes than the script makes of those kinds.
    asked = {_asked(initial)}
    changes = []
    counters = {kind: 0 for kind in FILTER_KINDS}
    options = {"boroughs": len(boroughs), "dates": len(periods), "metric": len(metric_order)}
    for step in range(steps):
        kind = FILTER_KINDS[step % len(FILTER_KINDS)]
        # The next option of this kind that makes a state not seen yet (tiny data may have none).
        for _ in range(options[kind]):
            index = counters[kind]
            counters[kind] += 1
            if kind == "boroughs":
                value = list(boroughs[index % len(boroughs)])
                candidate = FilterState(tuple(value), state.start, state.end, state.metric)
            elif kind == "dates":
                value = periods[index % len(periods)]
                candidate = FilterState(state.boroughs, value[0], value[1], state.metric)
            else:
                value = metric_order[(index + 1) % len(metric_order)]
                candidate = FilterState(state.boroughs, state.start, state.end, value)
            if candidate not in seen and (kind == "metric" or _asked(candidate) not in asked):
                break
        state = candidate
        seen.add(state)
        asked.add(_asked(state))
        changes.append((kind, value, state))
    return changes


def _asked(state: FilterState) -> tuple:
    return state.boroughs, state.start, state.end


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p95 of 12 samples is the 12th): no interpolation between reruns."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------------------------
# app: the pages under AppTest


@dataclass
class QueryCall:
    page: str
    query: str
    params: dict
    seconds: float
    rows: int


def _record_queries(calls: list[QueryCall], current_page: list[str]) -> None:
    """Time every query the app really runs (a st.cache_data hit runs none)."""
    from citydash import data

    original = data.Database.run

    def timed_run(self, query, access="public", **params):
        started = time.perf_counter()
        frame = original(self, query, access=access, **params)
        calls.append(QueryCall(current_page[0], query, params, time.perf_counter() - started, len(frame)))
        return frame

    data.Database.run = timed_run


def _record_pages(registered: list) -> None:
    """Keep the pages dashboard.py hands to st.navigation, whatever they are when it runs."""
    import streamlit

    original = streamlit.navigation

    def recording(pages, **kwargs):
        flat = [page for group in pages.values() for page in group] if isinstance(pages, dict) else list(pages)
        registered[:] = flat
        return original(pages, **kwargs)

    streamlit.navigation = recording


def _compile_scripts_once() -> None:
    """AppTest compiles the entry script and the page again on every rerun (a new ScriptCache
    each time, 3-6 ms); the served app compiles each once. Share one cache, as the server does."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


def _map_bytes(app) -> int:
    """Bytes of the pydeck JSON of every map on the page (what the browser gets for its maps)."""
    return sum(len(element.proto.json.encode("utf-8")) for element in app.get("deck_gl_json_chart"))


def _errors(app) -> list[str]:
    return [f"{element.value} ({' / '.join(line.strip() for line in element.stack_trace[-2:])})"[:400]
            for element in app.exception]


def _apply(app, kind: str, value) -> None:
    if kind == "boroughs":
        app.sidebar.multiselect(key="filters_boroughs").set_value(value)
    elif kind == "dates":
        app.sidebar.date_input(key="filters_dates").set_value(tuple(value))
    else:
        app.sidebar.selectbox(key="filters_metric").set_value(value)


def _filter_reruns(app, calls: list[QueryCall], initial: FilterState, script: list) -> dict:
    """The script's filter changes on the page as it stands (each a cache miss), then the same
    changes again from the same start (each cached); errors and the largest maps seen."""
    errors = _errors(app)
    map_bytes = _map_bytes(app)
    reruns = []
    for cached in (False, True):
        if cached:
            _apply(app, "boroughs", list(initial.boroughs))
            _apply(app, "dates", (initial.start, initial.end))
            _apply(app, "metric", initial.metric)
            app.run()
        for kind, value, _state in script:
            before = len(calls)
            _apply(app, kind, value)
            started, cpu_started = time.perf_counter(), time.process_time()
            app.run()
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
            errors += _errors(app)
            map_bytes = max(map_bytes, _map_bytes(app))
            reruns.append({"kind": kind, "cached_pass": cached, "seconds": seconds, "cpu_seconds": cpu_seconds,
                           "queries": len(calls) - before,
                           "query_seconds": sum(call.seconds for call in calls[before:])})
    return {"reruns": reruns, "errors": errors[:5], "map_bytes": map_bytes}


def task_app(settings: dict) -> dict:
    """Every page of the app: first render, reruns after filter changes (misses), then cached."""
    os.environ["CITYDASH_EXTRACTS"] = settings["extracts"]
    os.environ["CITYDASH_QUERY_TIMEOUT_S"] = str(settings.get("query_timeout_s", 120))
    # The served app hides error details from browsers; the bench reports what went wrong.
    os.environ["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"
    os.chdir(REPO_DIR)
    from streamlit.testing.v1 import AppTest

    from citydash.catalog import load_catalog
    from citydash.data import Database
    from citydash.ui import sections_offered_key

    calls: list[QueryCall] = []
    current_page = ["(frame)"]
    registered: list = []
    _record_queries(calls, current_page)
    _record_pages(registered)
    _compile_scripts_once()
    timeout = settings.get("apptest_timeout_s", 180)
    app = AppTest.from_file(str(ENTRY), default_timeout=timeout)
    started = time.perf_counter()
    app.run()
    first_run_s = time.perf_counter() - started
    pages = [{"title": page.title, "url_path": page._url_path, "path": str(page._page),
              "default": bool(page._default)} for page in registered if isinstance(page._page, Path)]
    catalog = load_catalog(REPO_DIR / "data", extracts_dir=Path(settings["extracts"]))
    database = Database(catalog)
    coverage = database.run("data_coverage")
    first_day = coverage["first_day"].iloc[0].date() if hasattr(coverage["first_day"].iloc[0], "date") \
        else coverage["first_day"].iloc[0]
    last_day = coverage["last_day"].iloc[0].date() if hasattr(coverage["last_day"].iloc[0], "date") \
        else coverage["last_day"].iloc[0]
    areas = database.run("boroughs")
    codes = areas["borough_code"].tolist()
    metrics = [f"{metric.dataset}.{metric.id}" for metric in catalog.metrics("public")
               if metric.dataset in database.available]
    database.close()
    calls.clear()
    facts = {"first_run_s": first_run_s, "coverage": [first_day.isoformat(), last_day.isoformat()],
             "metrics": metrics, "codes": codes, "borough_names": areas["borough_name"].tolist(),
             "initial_metric": app.session_state["filters"].metric, "pages": pages}
    if settings.get("pages_only"):
        return facts

    results = []
    script_offset = 0
    for index, page in enumerate(pages):
        current_page[0] = page["title"]
        filters = app.session_state["filters"]
        initial = FilterState(tuple(filters.boroughs), filters.start, filters.end, filters.metric)
        started = time.perf_counter()
        if not page["default"] or index:
            app.switch_page(page["path"])
        app.run()
        first_render_s = time.perf_counter() - started
        print(f"bench: {page['title']} first render {first_render_s:.2f} s", file=sys.stderr, flush=True)
        section_key = f"{page['url_path']}_section"
        offered_key = sections_offered_key(section_key)
        sections = app.session_state[offered_key] if offered_key in app.session_state else (None,)
        for section in sections:
            if section is not None and section != app.session_state[section_key]:
                app.session_state[section_key] = section
                started = time.perf_counter()
                app.run()
                first_render_s = time.perf_counter() - started
            script_offset += 1
            title = page["title"] if section is None else f"{page['title']} · {section}"
            results.append({**page, "title": title, "section": section, "first_render_s": first_render_s,
                            **_filter_reruns(app, calls, initial, filter_script(
                                initial, codes, metrics, first_day, last_day, settings["steps"], script_offset))})
        # Each page starts from the same filters, so the pages' scripts are comparable.
        _apply(app, "boroughs", list(initial.boroughs))
        _apply(app, "dates", (initial.start, initial.end))
        _apply(app, "metric", initial.metric)

    with open(settings["calls_out"], "wb") as handle:
        # Plain tuples: this module runs as __main__, whose classes do not unpickle elsewhere.
        pickle.dump([(call.page, call.query, call.params, call.seconds, call.rows) for call in calls], handle)
    return {**facts, "pages": results}


# ---------------------------------------------------------------------------------------------
# queries: each query three ways


def _timed(function, repeats: int) -> tuple[float | None, str | None]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        try:
            function()
        except Exception as error:  # noqa: BLE001 - a failed variant is reported, not fatal
            return None, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), None


def _call_key(call: QueryCall) -> tuple:
    return call.query, repr(sorted(call.params.items()))


def task_queries(settings: dict) -> dict:
    from citydash.catalog import load_catalog
    from citydash.data import Database

    with open(settings["calls_in"], "rb") as handle:
        calls = [QueryCall(*row) for row in pickle.load(handle)]
    catalog = load_catalog(REPO_DIR / "data", extracts_dir=Path(settings["extracts"]))
    ours = Database(catalog, timeout_s=settings["timeout_s"])
    raw = Database(catalog, timeout_s=settings["timeout_s"], derive_rollups=True)
    distinct: dict[tuple, QueryCall] = {}
    for call in calls:
        distinct.setdefault(_call_key(call), call)
    per_query: dict[str, dict] = {}
    raw_done: dict[str, int] = {}
    for call in distinct.values():
        entry = per_query.setdefault(call.query, {"query": call.query, "calls": 0, "ours": [], "direct": [],
                                                  "raw": [], "rows": [], "errors": []})
        if entry["calls"] >= settings["max_calls_per_query"]:
            continue
        entry["calls"] += 1
        entry["rows"].append(call.rows)
        ours_s, error = _timed(lambda: ours.run(call.query, **call.params), settings["repeats"])
        direct_s, _ = _timed(lambda: ours.run_direct(call.query, **call.params), settings["repeats"])
        if ours_s is not None:
            entry["ours"].append(ours_s)
        if direct_s is not None:
            entry["direct"].append(direct_s)
        if error:
            entry["errors"].append(error)
        # Without rollups each call scans the raw observations: a few calls per query tell enough.
        if raw_done.get(call.query, 0) < settings["raw_calls_per_query"]:
            raw_done[call.query] = raw_done.get(call.query, 0) + 1
            raw_s, raw_error = _timed(lambda: raw.run(call.query, **call.params), settings["raw_repeats"])
            if raw_s is not None:
                entry["raw"].append(raw_s)
            elif raw_error:
                entry["errors"].append(f"without rollups: {raw_error}")
    ours.close()
    raw.close()
    rows = []
    for entry in per_query.values():
        rows.append({"query": entry["query"], "calls": entry["calls"], "rows": _median(entry["rows"]),
                     "ours_s": _median(entry["ours"]), "direct_s": _median(entry["direct"]),
                     "raw_s": _median(entry["raw"]), "errors": entry["errors"][:2]})
    return {"queries": rows}


# ---------------------------------------------------------------------------------------------
# ours / pandas: the overview's interactions, two ways, each in its own process


def _states(settings: dict) -> list[FilterState]:
    return [FilterState(tuple(state["boroughs"]), date.fromisoformat(state["start"]),
                        date.fromisoformat(state["end"]), state["metric"]) for state in settings["states"]]


def task_ours(settings: dict) -> dict:
    from citydash.catalog import load_catalog
    from citydash.data import Database

    imports_kb = _rss_kb()
    started = time.perf_counter()
    catalog = load_catalog(REPO_DIR / "data", extracts_dir=Path(settings["extracts"]))
    database = Database(catalog, timeout_s=600)
    load_s = time.perf_counter() - started
    seconds = []
    for state in _states(settings):
        metric = catalog.metric(*state.metric.split(".", 1))
        params = {"dataset": metric.dataset, "metric": metric.id, "aggregation": metric.aggregation,
                  "area_aggregation": metric.area_aggregation, "start": state.start, "end": state.end}
        started = time.perf_counter()
        database.run("metric_by_borough", **params)
        database.run("metric_summary", **params, boroughs=list(state.boroughs))
        database.run("metric_daily", **params, boroughs=list(state.boroughs))
        seconds.append(time.perf_counter() - started)
    return {"load_s": load_s, "interaction_s": seconds, "imports_kb": imports_kb}


def _combine(frame, aggregation: str, area_aggregation: str):
    """The value of a group of per-entity rows (n, total, peak), as the SQL's case expression."""
    if aggregation == "mean":
        return frame["total"].sum() / frame["n"].sum() if frame["n"].sum() else float("nan")
    if aggregation == "sum":
        return frame["total"].sum()
    return frame["peak"].sum() if area_aggregation == "sum" else frame["peak"].max()


def _rss_kb(field: str = "VmRSS") -> int:
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def _pandas_way(settings: dict, keep: str) -> dict:
    """The common way: each dataset read whole into pandas, local days computed once, then for each
    interaction filter and group in pandas.

    keep="resource": the frames are held as they are (what st.cache_resource does, no copy);
    keep="data": the frames are kept by Streamlit's own st.cache_data, which hands every caller a
    fresh copy of the cached value (it stores it pickled), as most Streamlit dashboards do."""
    import pandas as pd

    from citydash.catalog import load_catalog

    if keep == "data":
        import streamlit as st
    imports_kb = _rss_kb()
    catalog = load_catalog(REPO_DIR / "data", extracts_dir=Path(settings["extracts"]))
    tz = catalog.city.timezone

    def read(dataset: str) -> pd.DataFrame:
        readings = pd.read_parquet(catalog.extract_path(dataset))
        entities = pd.read_parquet(catalog.extract_path(dataset, "entities"), columns=["entity_id", "borough_code"])
        readings["day"] = readings["ts"].dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None) \
            .dt.normalize()
        return readings.merge(entities, on="entity_id", how="left")

    held: dict[str, pd.DataFrame] = {}
    cached_read = st.cache_data(max_entries=8, show_spinner=False)(read) if keep == "data" else None

    def frame_for(dataset: str) -> pd.DataFrame:
        if cached_read is not None:
            return cached_read(dataset)
        if dataset not in held:
            held[dataset] = read(dataset)
        return held[dataset]

    load_s = 0.0
    seconds = []
    loaded: set[str] = set()
    for state in _states(settings):
        metric = catalog.metric(*state.metric.split(".", 1))
        if metric.dataset not in loaded:
            started = time.perf_counter()
            frame_for(metric.dataset)
            loaded.add(metric.dataset)
            load_s += time.perf_counter() - started
        started = time.perf_counter()
        readings = frame_for(metric.dataset)
        chosen = readings[(readings["metric"] == metric.id)
                          & (readings["day"] >= pd.Timestamp(state.start))
                          & (readings["day"] <= pd.Timestamp(state.end))]
        per_entity = chosen.groupby(["borough_code", "entity_id"], observed=True)["value"].agg(
            n="count", total="sum", peak="max").reset_index()
        by_borough = per_entity.groupby("borough_code").apply(
            lambda group: _combine(group, metric.aggregation, metric.area_aggregation), include_groups=False)
        selected = per_entity if not state.boroughs else per_entity[per_entity["borough_code"].isin(state.boroughs)]
        summary = {"city": _combine(per_entity, metric.aggregation, metric.area_aggregation),
                   "selected": _combine(selected, metric.aggregation, metric.area_aggregation)}
        per_entity_day = chosen.groupby(["day", "borough_code", "entity_id"], observed=True)["value"].agg(
            n="count", total="sum", peak="max").reset_index()
        picked = per_entity_day if not state.boroughs else \
            per_entity_day[per_entity_day["borough_code"].isin(state.boroughs)]
        daily = [per_entity_day.groupby("day").apply(
                     lambda group: _combine(group, metric.aggregation, metric.area_aggregation), include_groups=False),
                 picked.groupby("day").apply(
                     lambda group: _combine(group, metric.aggregation, metric.area_aggregation), include_groups=False)]
        seconds.append(time.perf_counter() - started)
        assert len(by_borough) >= 0 and len(summary) == 2 and len(daily) == 2
    return {"load_s": load_s, "interaction_s": seconds, "imports_kb": imports_kb}


def task_pandas(settings: dict) -> dict:
    return _pandas_way(settings, keep="resource")


def task_pandas_cache_data(settings: dict) -> dict:
    return _pandas_way(settings, keep="data")


TASKS = {"app": task_app, "queries": task_queries, "ours": task_ours, "pandas": task_pandas,
         "pandas_cache_data": task_pandas_cache_data}


def main(argv: list[str]) -> int:
    task, settings_path, out_path = argv
    settings = json.loads(Path(settings_path).read_text())
    result = TASKS[task](settings)
    # This process's own peak since it started (wait4's ru_maxrss can carry the parent's size
    # over from the fork that started it).
    Path(out_path).write_text(json.dumps({**result, "vm_hwm_kb": _rss_kb("VmHWM")}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

